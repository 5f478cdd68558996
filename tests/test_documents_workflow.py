"""The revision workflow: labels, signed review and approval, effective dates, withdrawal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.documents import services
from app.errors import (
    Conflict,
    InvalidTransition,
    PermissionDenied,
    SignatureFailed,
    ValidationFailed,
)
from app.extensions import db, local_today
from app.signatures.models import Signature
from app.uploads import check_upload
from tests.conftest import PASSWORD


@pytest.fixture
def people(make_user):
    return {
        "author": make_user("author", roles=("author", "staff")),
        "reviewer": make_user("reviewer", roles=("staff",), full_name="审核人 Reviewer"),
        "approver": make_user("approver", roles=("approver",), department="QA", full_name="陈建国"),
        "approver2": make_user("approver2", roles=("approver",), department="QA"),
        "officer": make_user("officer", roles=("officer",), department="QA"),
    }


@pytest.fixture
def new_revision(store, make_docx, people):
    def add(doc, change_type="minor", text="服务补救"):
        rev = services.add_revision(
            db.session,
            people["author"],
            doc,
            store,
            change_type=change_type,
            change_summary="修改回访时限",
            change_reason="客户反馈",
            upload=check_upload(make_docx((text,)), "src.docx", max_bytes=10**7),
        )
        db.session.commit()
        return rev

    return add


def _through_approval(rev, people, **kw):
    services.submit(
        db.session,
        people["author"],
        rev,
        reviewers=[people["reviewer"]],
        approvers=[people["approver"]],
    )
    services.review(db.session, people["reviewer"], rev, decision="approve", password=PASSWORD)
    services.approve(db.session, people["approver"], rev, password=PASSWORD, **kw)
    db.session.commit()
    return rev


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_labels_go_a0_a1_b0_and_supersede(make_document, new_revision, people):
    """Do revisions go A/0 → A/1 → B/0, each superseding the previous in one step?"""
    doc = make_document("QP", "CS", author=people["author"])
    a0 = _through_approval(new_revision(doc), people)
    assert (a0.label, a0.status, a0.change_type) == ("A/0", "effective", "initial")
    assert doc.status == "effective" and doc.current_revision.label == "A/0"
    a1 = _through_approval(new_revision(doc, "minor"), people)
    assert (a1.label, a1.status, a0.status) == ("A/1", "effective", "superseded")
    b0 = _through_approval(new_revision(doc, "major"), people)
    assert (b0.label, b0.status, a1.status) == ("B/0", "effective", "superseded")
    assert a1.superseded_at == b0.effective_at  # the same transaction
    assert [r.status for r in doc.revisions].count("effective") == 1
    assert doc.review_due_date == services.add_months(local_today(), 24)
    assert verify_chain(db.session).ok


def test_every_signature_binds_the_file_hash(make_document, new_revision, people):
    """Do review and approval signatures record name, meaning and the hash of what was signed?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = _through_approval(new_revision(doc), people)
    sigs = db.session.scalars(select(Signature).where(Signature.object_ref == doc.ref)).all()
    assert [(s.username, s.meaning) for s in sigs] == [
        ("reviewer", "reviewed"),
        ("approver", "approved"),
    ]
    assert sigs[1].printed_name == "陈建国"
    assert len({s.content_sha256 for s in sigs}) == 2  # each covers its own decision
    assert all(p.signature_id for p in rev.participants)


def test_several_approvers_must_all_sign(make_document, new_revision, people):
    """With two approvers, does the revision stay in review until both have signed?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    services.submit(
        db.session,
        people["author"],
        rev,
        reviewers=[],
        approvers=[people["approver"], people["approver2"]],
    )
    services.approve(db.session, people["approver"], rev, password=PASSWORD)
    assert rev.status == "in_review"
    with pytest.raises(InvalidTransition):
        services.approve(db.session, people["approver"], rev, password=PASSWORD)
    services.approve(db.session, people["approver2"], rev, password=PASSWORD)
    assert rev.status == "effective"


def test_approval_waits_for_reviews(make_document, new_revision, people):
    """Is approval refused (409) while a reviewer has not yet signed?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    services.submit(
        db.session,
        people["author"],
        rev,
        reviewers=[people["reviewer"]],
        approvers=[people["approver"]],
    )
    with pytest.raises(InvalidTransition) as err:
        services.approve(db.session, people["approver"], rev, password=PASSWORD)
    assert "审核人 Reviewer" in str(err.value)


def test_rejection_returns_to_draft_with_the_comment(make_document, new_revision, people):
    """Does a rejection (signed, with a reason) send it back to draft, comment kept?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    services.submit(
        db.session,
        people["author"],
        rev,
        reviewers=[people["reviewer"]],
        approvers=[people["approver"]],
    )
    with pytest.raises(ValidationFailed):
        services.review(db.session, people["reviewer"], rev, decision="reject", password=PASSWORD)
    services.review(
        db.session,
        people["reviewer"],
        rev,
        decision="reject",
        password=PASSWORD,
        comment="第4.2条时限不明确",
    )
    db.session.commit()
    assert rev.status == "draft"
    (task,) = [p for p in rev.participants if p.role == "reviewer"]
    assert task.decision == "rejected" and task.comment == "第4.2条时限不明确"
    # resubmitting opens a new round; the old signatures stay
    services.submit(
        db.session,
        people["author"],
        rev,
        reviewers=[people["reviewer"]],
        approvers=[people["approver"]],
    )
    assert rev.review_round == 2 and len(rev.current_round()) == 2


def test_author_cannot_review_or_approve_their_own_revision(make_document, store, make_user):
    """Is naming the author as approver refused, even when the author is an approver?"""
    author = make_user("boss", roles=("author", "approver"))
    doc = make_document("QP", "CS", author=author)
    rev = services.add_revision(
        db.session, author, doc, store, change_summary="s", change_reason="r", from_template=True
    )
    with pytest.raises(ValidationFailed) as err:
        services.submit(db.session, author, rev, reviewers=[], approvers=[author])
    assert "own revision" in str(err.value)


def test_only_named_people_can_sign(make_document, new_revision, people):
    """Is a signature by someone not asked refused with PermissionDenied?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    services.submit(db.session, people["author"], rev, reviewers=[], approvers=[people["approver"]])
    with pytest.raises(PermissionDenied):
        services.approve(db.session, people["approver2"], rev, password=PASSWORD)


def test_wrong_password_changes_nothing(make_document, new_revision, people):
    """Does a wrong password at approval leave status, signatures and the revision's trail
    untouched, the one new event being the failed attempt on the signer (issue 20)?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    services.submit(db.session, people["author"], rev, reviewers=[], approvers=[people["approver"]])
    db.session.commit()
    counts = (_count(Signature), _count(Event))
    with pytest.raises(SignatureFailed):
        services.approve(db.session, people["approver"], rev, password="guess-again")
    db.session.rollback()
    signature, events = counts
    assert rev.status == "in_review" and (_count(Signature), _count(Event)) == (
        signature,
        events + 1,
    )
    last = db.session.scalar(select(Event).order_by(Event.seq.desc()).limit(1))
    assert (last.object_ref, last.action) == (
        f"user:{people['approver'].username}",
        "signature_failed",
    )


def test_future_effective_date_waits_for_the_sweep(make_document, new_revision, people):
    """Does approval with a future date stay approved until that date, then supersede?"""
    doc = make_document("QP", "CS", author=people["author"])
    _through_approval(new_revision(doc), people)
    later = local_today() + timedelta(days=10)
    rev = _through_approval(new_revision(doc), people, effective_date=later)
    assert rev.status == "approved" and doc.current_revision.label == "A/0"
    assert services.run_due_effective(db.session, later - timedelta(days=1)) == []
    assert services.run_due_effective(db.session, later) == [rev]
    db.session.commit()
    assert rev.status == "effective" and doc.revisions[0].status == "superseded"
    with pytest.raises(ValidationFailed):
        services.approve(
            db.session,
            people["approver"],
            rev,
            password=PASSWORD,
            effective_date=local_today() - timedelta(days=1),
        )


def test_only_one_open_revision_at_a_time(make_document, new_revision, people):
    """Is a second draft refused while one is open?"""
    doc = make_document("QP", "CS", author=people["author"])
    new_revision(doc)
    with pytest.raises(Conflict):
        new_revision(doc)


def test_withdrawal_makes_the_document_obsolete(make_document, new_revision, people):
    """Does withdrawal (signed, with reason) obsolete the revision and cancel open ones?"""
    doc = make_document("QP", "CS", author=people["author"])
    a0 = _through_approval(new_revision(doc), people)
    pending = _through_approval(
        new_revision(doc), people, effective_date=local_today() + timedelta(days=5)
    )
    with pytest.raises(ValidationFailed):
        services.withdraw(db.session, people["officer"], doc, reason="", password=PASSWORD)
    services.withdraw(db.session, people["officer"], doc, reason="业务取消", password=PASSWORD)
    db.session.commit()
    assert (a0.status, pending.status, doc.status) == ("obsolete", "cancelled", "obsolete")
    assert doc.current_revision is None
    assert services.run_due_effective(db.session, local_today() + timedelta(days=30)) == []
    with pytest.raises(InvalidTransition):
        new_revision(doc)
    with pytest.raises(InvalidTransition):
        services.withdraw(db.session, people["officer"], doc, reason="again", password=PASSWORD)


def test_illegal_transitions_raise(make_document, new_revision, people):
    """Are transitions outside the table refused with InvalidTransition?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc)
    with pytest.raises(InvalidTransition):
        services.review(db.session, people["reviewer"], rev, decision="approve", password=PASSWORD)
    _through_approval(rev, people)
    with pytest.raises(InvalidTransition):
        services.cancel(db.session, people["author"], rev, reason="too late")
    with pytest.raises(InvalidTransition):
        services.make_effective(db.session, None, rev, today=local_today())


def test_periodic_review_confirmation_moves_the_due_date(make_document, new_revision, people):
    """Does a signed "confirm without change" set the next review one interval from today?"""
    doc = make_document("QP", "CS", author=people["author"], review_interval_months=12)
    _through_approval(new_revision(doc), people)
    today = local_today() + timedelta(days=300)
    services.confirm_review(db.session, people["officer"], doc, password=PASSWORD, today=today)
    assert doc.review_due_date == services.add_months(today, 12)
    sig = db.session.scalars(select(Signature).order_by(Signature.id.desc())).first()
    assert sig.meaning == "review_confirmed"


def test_add_months_clamps_to_month_end():
    """Is 31 January + 1 month the end of February?"""
    assert services.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert services.add_months(date(2026, 11, 15), 24) == date(2028, 11, 15)


def test_invalid_transition_message_is_fully_translated(app, make_document, new_revision, people):
    """Is the illegal-transition message in Chinese including the status and the action?"""
    from app.i18n import translate_error

    doc = make_document("QP", "CS", author=people["author"])
    rev = _through_approval(new_revision(doc), people)
    with pytest.raises(InvalidTransition) as err:
        services.cancel(db.session, people["author"], rev, reason="x")
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_CN"):
        zh = translate_error(err.value)
    with app.test_request_context(), force_locale("en"):
        en = translate_error(err.value)
    assert zh == "版本 A/0 当前为“现行有效”，不能取消。"
    assert en == "Revision A/0 is Effective; it cannot be cancelled."


def test_draft_file_can_be_replaced_but_not_after_submission(
    make_document, new_revision, people, store, make_docx
):
    """Can a draft's file be replaced (old file kept, audited), and is it refused once in review?"""
    doc = make_document("QP", "CS", author=people["author"])
    rev = new_revision(doc, text="初稿")
    first = rev.file_sha256
    corrected = check_upload(make_docx(("修订稿",)), "v2.docx", max_bytes=10**7)
    services.replace_file(db.session, people["author"], rev, store, corrected)
    db.session.commit()
    assert rev.file_sha256 != first and "修订稿" in rev.text
    assert store.read(first)  # the earlier file stays stored
    event = db.session.scalars(select(Event).order_by(Event.seq.desc())).first()
    assert event.action == "revision_file_replaced" and first in event.before
    services.submit(db.session, people["author"], rev, reviewers=[], approvers=[people["approver"]])
    with pytest.raises(InvalidTransition):
        services.replace_file(db.session, people["author"], rev, store, corrected)
