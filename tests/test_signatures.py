"""The electronic-signature service."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.services import AppendOnlyViolation
from app.errors import SignatureFailed
from app.extensions import db
from app.signatures.models import Signature
from app.signatures.services import sign, signatures_for
from tests.conftest import PASSWORD


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_signature_records_name_time_meaning_and_hash(make_user):
    """Does a signature record printed name, UTC time, meaning and the SHA-256 of the content?"""
    user = make_user("chen", roles=("approver",), full_name="陈建国")
    content = "QP-CS-001 A/0 服务补救程序".encode()
    sig = sign(
        db.session,
        user,
        PASSWORD,
        meaning="approved",
        object_ref="document:QP-CS-001",
        content=content,
    )
    db.session.commit()
    assert sig.printed_name == "陈建国"
    assert sig.meaning == "approved"
    assert sig.content_sha256 == hashlib.sha256(content).hexdigest()
    assert sig.signed_at.utcoffset().total_seconds() == 0
    assert [s.id for s in signatures_for(db.session, "document:QP-CS-001")] == [sig.id]
    event = db.session.scalars(select(Event).order_by(Event.seq.desc())).first()
    assert event.action == "signed" and event.object_ref == "document:QP-CS-001"


def test_wrong_password_raises_and_writes_nothing(make_user):
    """Does a wrong password raise SignatureFailed and leave no signature and no event?"""
    user = make_user("chen", roles=("approver",))
    before_events, before_sigs = _count(Event), _count(Signature)
    with pytest.raises(SignatureFailed):
        sign(
            db.session,
            user,
            "not-my-password",
            meaning="approved",
            object_ref="document:X-1",
            content=b"x",
        )
    with pytest.raises(SignatureFailed):
        sign(db.session, user, "", meaning="approved", object_ref="document:X-1", content=b"x")
    db.session.commit()
    assert (_count(Event), _count(Signature)) == (before_events, before_sigs)


def test_inactive_signer_cannot_sign(make_user):
    """Can a deactivated user still sign with the right password? (No.)"""
    user = make_user("chen", roles=("approver",))
    user.is_active = False
    db.session.commit()
    with pytest.raises(SignatureFailed):
        sign(
            db.session, user, PASSWORD, meaning="approved", object_ref="document:X-1", content=b"x"
        )


def test_signatures_cannot_be_changed_or_deleted(make_user):
    """Is a stored signature immutable through the ORM?"""
    user = make_user("chen", roles=("approver",))
    sig = sign(
        db.session, user, PASSWORD, meaning="reviewed", object_ref="document:X-1", content=b"x"
    )
    db.session.commit()
    sig.meaning = "approved"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(sig)
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
