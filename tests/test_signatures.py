"""The electronic-signature service."""

from __future__ import annotations

import hashlib
import re

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
    """Does a wrong password raise SignatureFailed and leave no signature and no event on
    what was to be signed — only the failed attempts on the signer (issue 20)?"""
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
    assert (_count(Event), _count(Signature)) == (before_events + 2, before_sigs)
    actions = db.session.execute(
        db.select(Event.object_ref, Event.action).where(Event.seq > before_events)
    ).all()
    assert [tuple(a) for a in actions] == [("user:chen", "signature_failed")] * 2


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


WRONG = {
    "en": "The password is not correct; nothing was signed.",
    "zh_CN": "密码不正确，未签署。",
}


def assert_wrong_password_at_the_field(html: str, language: str | None = None) -> None:
    """The page marks a password field invalid and says why beside it, in a sentence (in
    ``language``, by default the page's)."""
    language = language or ("zh_CN" if '<html lang="zh-CN">' in html else "en")
    sentence = f'<div class="invalid-feedback">{WRONG[language]}</div>'
    found = False
    for match in re.finditer(r'<input[^>]*name="password"[^>]*>', html):
        if "is-invalid" in match.group(0):
            found = sentence in html[match.end() : match.end() + 800]
            break
    assert found, html
    assert ">wrong<" not in html and ">不正确<" not in html


def test_a_wrong_password_is_a_sentence_beside_the_password_field(
    client, login_as, make_user, make_document, make_docx, store
):
    """Does every signing form — review, approval, withdrawal, periodic review, receipt,
    read and understood, legal hold, a record signed as me — answer a wrong password with a
    full sentence in the user's language beside the password field (and sign nothing)?"""
    from app.distribution import services as distribution
    from app.distribution.models import Acknowledgement
    from app.documents import services as documents
    from app.people.models import User
    from app.records import services as records
    from app.uploads import check_upload

    make_user("officer", roles=("officer",), department="QA", language="en")
    make_user("rita", roles=("staff",), department="CS", language="zh_CN")
    make_user("boss", roles=("approver",), department="QA", language="en")
    make_user("alice", roles=("staff",), department="CS", language="zh_CN")
    effective = make_document(effective=True, training_required=True)
    users = {u.username: u for u in db.session.scalars(select(User))}
    for title, reviewers in (("审核中的程序", [users["rita"]]), ("待批准的程序", [])):
        doc = make_document(title=title)
        rev = documents.add_revision(
            db.session,
            users["author"],
            doc,
            store,
            change_summary="首次发布",
            change_reason="新文件",
            upload=check_upload(make_docx((title,)), "a.docx", max_bytes=10**7),
        )
        documents.submit(
            db.session, users["author"], rev, reviewers=reviewers, approvers=[users["boss"]]
        )
    distribution.issue(
        db.session,
        users["officer"],
        effective.current_revision,
        distribution=distribution.parse_distribution(
            db.session,
            [{"user": "alice", "medium": "paper"}, {"user": "alice", "medium": "electronic"}],
        ),
    )
    rtype = records.create_type(
        db.session,
        users["officer"],
        {
            "code": "R-1",
            "name": "回访记录",
            "department": "CS",
            "retention": {"years": 1, "from": "created"},
            "fields": [
                {"name": "note", "label": "备注", "type": "text"},
                {"name": "signature", "label": "签名", "type": "signature"},
            ],
        },
    )
    db.session.commit()
    ack_id = db.session.scalar(select(Acknowledgement.id))
    before = _count(Signature)

    cases = [
        ("rita", "zh_CN", "/documents/QP-CS-002/revisions/A0/review", {"decision": "approve"}),
        ("boss", "en", "/documents/QP-CS-003/revisions/A0/approve", {"decision": "approve"}),
        ("officer", "en", "/documents/QP-CS-001/withdraw", {"reason": "不再使用"}),
        ("officer", "en", "/documents/QP-CS-001/confirm-review", {"comment": "仍适用"}),
        ("alice", "zh_CN", "/copies/QP-CS-001-A0-C01/receipt", {}),
        ("alice", "zh_CN", f"/acknowledgements/{ack_id}", {}),
        (
            "officer",
            "en",
            "/retention/holds",
            {"kind": "record_type", "key": rtype.code, "reason": "诉讼"},
        ),
        ("alice", "zh_CN", "/records/new/R-1", {"v.note": "已回访", "sign.signature": "1"}),
    ]
    for username, language, url, data in cases:
        login_as(username)
        r = client.form_post(url, {**data, "password": "not-my-password"})
        assert r.status_code == 403, (url, r.status_code)
        assert_wrong_password_at_the_field(r.get_data(as_text=True), language)
        client.form_post("/logout")
    assert _count(Signature) == before
