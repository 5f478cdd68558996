"""Parallel requests change a state once (issue 20, point 1 and acceptance 1).

Twenty requests of one action on one object start together (a barrier) on a second
application with a pool big enough for all of them, each in its own thread with its own
test client, so each is its own request, session and transaction, as under gunicorn's
workers. Exactly one succeeds; the others answer 409 and write nothing: the database
holds one signature and one transition event. On both backends: before the locks of
``app.locking`` each of these signed up to 20 times on PostgreSQL and on SQLite. The
last test shows the same with two sessions, step by step.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from app import create_app
from app.audit_trail.models import Event
from app.auth.models import ApiToken
from app.distribution import services as distribution
from app.distribution.models import Acknowledgement
from app.documents import services as documents
from app.documents.models import Revision
from app.errors import InvalidTransition
from app.extensions import db, local_today, utcnow
from app.people.models import User
from app.records import services as records
from app.records.models import Record
from app.retention import services as retention
from app.retention.models import Destruction, LegalHold
from app.signatures.models import Signature
from app.uploads import check_upload
from tests.conftest import PASSWORD

N = 20


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _race(app_config, url: str, headers: dict, **request) -> Counter:
    """POST ``url`` N times at once; the answers as a Counter of (status, error code)."""
    # a token's first use of the minute writes its row, which would queue the racers
    # before they read anything: mark the tokens used, as they are in a busy minute
    db.session.execute(update(ApiToken).values(last_used_at=utcnow()))
    db.session.commit()
    racer = create_app(
        {
            **app_config,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": N + 2, "max_overflow": 0},
        }
    )
    barrier = threading.Barrier(N)
    answers: list[tuple[int, str | None]] = []
    failures: list[BaseException] = []

    def one():
        client = racer.test_client()
        try:
            barrier.wait(timeout=60)
            response = client.post(url, headers=headers, **request)
            body = response.get_json(silent=True) or {}
            answers.append((response.status_code, body.get("error", {}).get("code")))
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    with racer.app_context():
        db.engine.dispose()
    assert failures == []
    db.session.rollback()  # read what the racers committed
    return Counter(answers)


def _one_won(answers: Counter, ok: int = 200, code: str = "invalid_transition") -> None:
    assert answers == Counter({(ok, None): 1, (409, code): N - 1}), answers


def _signatures(meaning: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Signature).where(Signature.meaning == meaning)
    )


def _events(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.action == action))


@pytest.fixture
def team(api_token, make_user):
    make_user("reviewer", roles=("staff",), department="CS")
    make_user("boss", roles=("approver",), department="QA")
    make_user("boss2", roles=("approver",), department="QA")
    return {
        "author": api_token("author", roles=("author", "staff")),
        "reviewer": api_token("reviewer"),
        "boss": api_token("boss"),
        "officer": api_token("officer", roles=("officer",)),
    }


def _draft(make_document, make_docx, store):
    """QP-CS-001 with a draft A/0 by the author."""
    doc = make_document()
    author = _user("author")
    revision = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="首次发布",
        change_reason="新程序",
        upload=check_upload(make_docx(("服务补救",)), "a.docx", max_bytes=10**7),
    )
    db.session.commit()
    return doc, revision


def _in_review(make_document, make_docx, store, *, reviewers=(), approvers=("boss",)):
    doc, revision = _draft(make_document, make_docx, store)
    documents.submit(
        db.session,
        _user("author"),
        revision,
        reviewers=[_user(u) for u in reviewers],
        approvers=[_user(u) for u in approvers],
    )
    db.session.commit()
    return doc, revision


def test_parallel_approvals_sign_once_and_make_effective_once(
    app_config, team, make_document, make_docx, store
):
    """Do 20 parallel approvals by the one approver give one "approved" signature, one
    approval and one revision_effective event, and nineteen 409s?"""
    _in_review(make_document, make_docx, store)
    answers = _race(
        app_config,
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        team["boss"],
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("approved") == 1
    assert _events("revision_approved") == 1
    assert _events("revision_effective") == 1
    assert db.session.scalar(select(Revision.status)) == "effective"


def test_parallel_approvals_by_one_of_two_approvers_sign_once(
    app_config, team, make_document, make_docx, store
):
    """With a second approver still to sign, do 20 parallel approvals by the first give
    one signature, its task decided once, and nineteen 409s?"""
    _, revision = _in_review(make_document, make_docx, store, approvers=("boss", "boss2"))
    answers = _race(
        app_config,
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        team["boss"],
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("approved") == 1
    assert _events("signed") == 1
    assert db.session.get(Revision, revision.id).status == "in_review"


def test_parallel_reviews_sign_once(app_config, team, make_document, make_docx, store):
    """Do 20 parallel reviews by the one reviewer give one "reviewed" signature?"""
    _in_review(make_document, make_docx, store, reviewers=("reviewer",))
    answers = _race(
        app_config,
        "/api/v1/documents/QP-CS-001/revisions/A0/review",
        team["reviewer"],
        json={"decision": "approve", "password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("reviewed") == 1
    assert _events("signed") == 1


def test_parallel_submissions_submit_once(app_config, team, make_document, make_docx, store):
    """Do 20 parallel submissions of one draft give one round of review (not a 500 from
    the participants' unique index)?"""
    _, revision = _draft(make_document, make_docx, store)
    answers = _race(
        app_config,
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        team["author"],
        json={"reviewers": ["reviewer"], "approvers": ["boss"]},
    )
    _one_won(answers)
    assert _events("revision_in_review") == 1
    revision = db.session.get(Revision, revision.id)
    assert revision.review_round == 1 and len(revision.participants) == 2


def test_parallel_new_revisions_start_one(app_config, team, make_document):
    """Do 20 parallel "new revision" requests start one draft (the others 409, none 500)?"""
    doc = make_document()
    answers = _race(
        app_config,
        f"/api/v1/documents/{doc.number}/revisions",
        team["author"],
        json={"from_template": True, "change_summary": "首次发布"},
    )
    _one_won(answers, ok=201, code="conflict")
    assert db.session.scalar(select(func.count()).select_from(Revision)) == 1
    assert _events("revision_created") == 1


def test_parallel_withdrawals_withdraw_once(app_config, team, make_document):
    """Do 20 parallel withdrawals give one "obsoleted" signature and one withdrawal?"""
    make_document(effective=True)
    answers = _race(
        app_config,
        "/api/v1/documents/QP-CS-001/withdraw",
        team["officer"],
        json={"reason": "合并到 QP-CS-002", "password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("obsoleted") == 1
    assert _events("withdrawn") == 1
    assert _events("revision_obsolete") == 1


@pytest.fixture
def issued(team, make_document, make_user):
    """QP-CS-001 in force, issued to alice on paper and electronically for training."""
    make_user("alice", department="CS")
    doc = make_document(effective=True, training_required=True)
    revision = doc.current_revision
    lines = distribution.parse_distribution(
        db.session,
        [
            {"user": "alice", "medium": "paper", "copies": 1},
            {"user": "alice", "medium": "electronic"},
        ],
    )
    distribution.issue(db.session, _user("officer"), revision, distribution=lines)
    db.session.commit()
    return doc


def test_parallel_receipts_sign_once(app_config, api_token, issued):
    """Do 20 parallel receipts of one paper copy give one "received" signature?"""
    answers = _race(
        app_config,
        "/api/v1/copies/QP-CS-001-A0-C01/receipt",
        api_token("alice"),
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("received") == 1
    assert _events("copy_received") == 1


def test_parallel_acknowledgements_sign_once(app_config, api_token, issued):
    """Do 20 parallel "read and understood" signatures of one task give one signature?"""
    ack = db.session.scalar(
        select(Acknowledgement).where(Acknowledgement.user_id == _user("alice").id)
    )
    answers = _race(
        app_config,
        f"/api/v1/acknowledgements/{ack.id}/sign",
        api_token("alice"),
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("read_and_understood") == 1
    assert _events("acknowledged") == 1


@pytest.fixture
def complaint(make_user, store):
    """A record type of the CS department and one draft record, filed by cs_staff."""
    make_user("officer", roles=("officer",), department="QA")
    staff = make_user("cs_staff", department="CS")
    rtype = records.create_type(
        db.session,
        _user("officer"),
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "CS",
            "retention": {"years": 3, "from": "completed"},
            "fields": [{"name": "customer", "label": "顾客", "type": "text", "required": True}],
        },
    )
    record = records.file_record(db.session, store, staff, rtype, {"customer": "陈女士"})
    db.session.commit()
    return record


def test_parallel_completions_complete_once(app_config, api_token, complaint):
    """Do 20 parallel "complete" requests of one draft record complete it once?"""
    answers = _race(
        app_config, f"/api/v1/records/{complaint.number}/complete", api_token("cs_staff")
    )
    _one_won(answers)
    assert _events("record_completed") == 1


@pytest.fixture
def due(complaint):
    """The record, complete since 2018 and kept 3 years: due for destruction."""
    record = db.session.get(Record, complaint.id)
    records.complete_record(db.session, _user("cs_staff"), record)
    db.session.commit()
    long_ago = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)
    db.session.execute(
        update(Record)
        .where(Record.id == record.id)
        .values(created_at=long_ago, completed_at=long_ago, retain_until=date(2021, 3, 1))
    )
    db.session.commit()
    return f"record:{record.number}"


def test_parallel_destruction_proposals_make_one_batch(app_config, api_token, due):
    """Do 20 parallel proposals of one due record make one batch (not 20 holding it)?"""
    answers = _race(
        app_config,
        "/api/v1/destructions",
        api_token("officer"),
        json={"items": [due], "method": "shredding"},
    )
    _one_won(answers, ok=201)
    assert db.session.scalar(select(func.count()).select_from(Destruction)) == 1
    assert _events("destruction_proposed") == 1


def test_parallel_destruction_approvals_sign_once(app_config, api_token, make_user, due):
    """Do 20 parallel approvals of one destruction give one signature and one
    destruction?"""
    make_user("approver", roles=("approver",), department="QA")
    batch = retention.propose(
        db.session, _user("officer"), [due], "shredding", None, today=local_today()
    )
    db.session.commit()
    answers = _race(
        app_config,
        f"/api/v1/destructions/{batch.number}/approve",
        api_token("approver"),
        json={"password": PASSWORD, "witness": "李四"},
    )
    _one_won(answers)
    assert _signatures("destruction_approved") == 1
    assert _events("destruction_approved") == 1


def test_parallel_legal_holds_place_one(app_config, api_token, complaint):
    """Do 20 parallel identical legal holds of one record (a double-click) place one hold
    with one signature, while a second matter (another reason) may still hold it?"""
    body = {"kind": "record", "key": complaint.number, "reason": "诉讼保全", "password": PASSWORD}
    answers = _race(app_config, "/api/v1/legal-holds", api_token("officer"), json=body)
    _one_won(answers, ok=201)
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 1
    assert _signatures("legal_hold") == 1
    assert _events("legal_hold_placed") == 1
    retention.place_hold(
        db.session, _user("officer"), "record", complaint.number, "审计调取", PASSWORD
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 2


def test_a_second_session_sees_the_first_approval_and_is_refused(
    app, make_user, make_document, make_docx, store
):
    """When two sessions load one revision in review and both approve, does the second,
    once the first has committed, refuse with InvalidTransition and write nothing?"""
    make_user("boss", roles=("approver",), department="QA")
    _, revision = _in_review(make_document, make_docx, store)
    boss_id, revision_id = _user("boss").id, revision.id
    new_session = db.session.session_factory
    with new_session() as first, new_session() as second:
        mine = second.get(Revision, revision_id)  # loaded before the first approval
        assert mine.status == "in_review" and mine.current_round()[0].decision is None
        theirs = first.get(Revision, revision_id)
        documents.approve(first, first.get(User, boss_id), theirs, password=PASSWORD)
        first.commit()
        with pytest.raises(InvalidTransition):
            documents.approve(second, second.get(User, boss_id), mine, password=PASSWORD)
        second.rollback()
    db.session.rollback()
    assert _signatures("approved") == 1
    assert _events("revision_effective") == 1
