"""Each computed KPI source on a small hand-counted data set, with its edge cases: a
period without cases is "no data" (None), never 0 % or 100 %."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import update

from app.audits.models import Audit
from app.capa import services as capa
from app.capa.models import NcAction, Nonconformity
from app.distribution.models import Acknowledgement, Issue
from app.documents.models import Document
from app.errors import ValidationFailed
from app.extensions import db
from app.kpis import sources as S
from app.kpis.periods import parse
from app.records import services as records
from app.records.models import Record
from app.storage import get_store
from tests.audit_helpers import new_audit
from tests.audit_helpers import walk as walk_audit
from tests.capa_helpers import make_org, walk
from tests.complaint_helpers import local, make_complaint_org, step, take

MARCH = parse("2026-03")
APRIL = parse("2026-04")
Q1 = parse("2026-Q1")


def value(name, period, department=None, params=None):
    return S.compute(db.session, name, period.start, period.end, department, params or {})


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_nc_closure_days_is_the_median_of_the_ncs_closed_in_the_period(app):
    """Closed in March after 2, 5 and 10 days (CS twice, QA once) → median 5; CS alone
    → 3.5 (2 and 5); April, when none closed → None."""
    org = make_org()
    made = []
    for days, dept, closed in (
        (2, org.cs, date(2026, 3, 3)),
        (5, org.cs, date(2026, 3, 20)),
        (10, org.qa, date(2026, 3, 31)),
        (1, org.qa, date(2026, 2, 28)),  # February: not counted
    ):
        nc = capa.report(db.session, org.reporter, description="x", department=dept)
        made.append((nc.id, days, closed))
    for nc_id, days, closed in made:
        db.session.execute(
            update(Nonconformity)
            .where(Nonconformity.id == nc_id)
            .values(
                status="closed", reported_at=at(closed) - timedelta(days=days), closed_at=at(closed)
            )
        )
    open_nc = capa.report(db.session, org.reporter, description="open", department=org.cs)
    assert open_nc.status == "reported"
    db.session.commit()
    assert value("nc_closure_days", MARCH) == 5
    assert value("nc_closure_days", MARCH, "CS") == 3.5
    assert value("nc_closure_days", APRIL) is None
    assert value("nc_closure_days", parse("2027-01")) is None  # not begun: no data


def test_overdue_actions_counts_those_due_before_the_end_and_not_done_by_then(app):
    """Two actions due 10 Jan: one open, one done 20 Feb; on 31 Jan both are overdue (2),
    at the end of February only the open one (1); December 2025 none (0, a count)."""
    org = make_org()
    a = walk(org, "action_planned")
    b = walk(org, "action_planned")
    (action_a,) = a.actions
    (action_b,) = b.actions
    db.session.execute(
        update(NcAction)
        .where(NcAction.id.in_([action_a.id, action_b.id]))
        .values(due_date=date(2026, 1, 10))
    )
    db.session.execute(
        update(NcAction)
        .where(NcAction.id == action_b.id)
        .values(status="done", done_at=at(date(2026, 2, 20)), evidence="记录")
    )
    db.session.commit()
    assert value("capa_overdue_actions", parse("2026-01")) == 2
    assert value("capa_overdue_actions", parse("2026-02")) == 1
    assert value("capa_overdue_actions", parse("2026-02"), "QA") == 0
    assert value("capa_overdue_actions", parse("2025-12")) == 0


def test_overdue_reviews_counts_documents_in_force_past_their_review_date(app, make_document):
    """Two effective documents of CS, reviews due 1 Mar and 1 May; a draft due 1 Jan:
    at the end of March 1 overdue, at the end of May 2; QA 0."""
    make_document(effective=True, title="甲")
    make_document(effective=True, title="乙")
    make_document(title="草稿")
    docs = db.session.scalars(db.select(Document).order_by(Document.id)).all()
    for doc, due in zip(docs, (date(2026, 3, 1), date(2026, 5, 1), date(2026, 1, 1)), strict=True):
        doc.review_due_date = due
    db.session.commit()
    assert value("documents_overdue_reviews", MARCH) == 1
    assert value("documents_overdue_reviews", parse("2026-05")) == 2
    assert value("documents_overdue_reviews", parse("2026-05"), "QA") == 0


def test_acknowledgement_completion_is_the_share_signed_of_those_due(app, make_document, make_user):
    """Due in March: 3 tasks (2 done, 1 overdue), 1 superseded (left out) → 66.67 %;
    April: none due → None, not 0 %."""
    doc = make_document(effective=True)
    rev = doc.current_revision
    issue = Issue(revision_id=rev.id)
    db.session.add(issue)
    db.session.flush()
    users = [make_user(f"reader{i}", roles=("staff",)) for i in range(4)]
    cs = users[0].department
    for user, status in zip(users, ("done", "done", "overdue", "superseded"), strict=True):
        db.session.add(
            Acknowledgement(
                revision_id=rev.id,
                user_id=user.id,
                issue_id=issue.id,
                department_id=cs.id,
                status=status,
                due_date=date(2026, 3, 15),
            )
        )
    db.session.commit()
    assert value("acknowledgement_completion", MARCH) == 66.67
    assert value("acknowledgement_completion", APRIL) is None
    assert value("acknowledgement_completion", Q1, cs.code) == 66.67


def test_audit_programme_completion_is_the_share_held_of_those_planned(app):
    """Planned to end in Q1: three audits (one held, one planned, one cancelled: left
    out) → 50 %; Q2 none → None."""
    org = make_org()
    held = new_audit(org)
    walk_audit(org, held, "reporting")
    planned = new_audit(org, departments=("QA",))
    cancelled = new_audit(org)
    db.session.execute(update(Audit).where(Audit.id == cancelled.id).values(status="cancelled"))
    db.session.execute(
        update(Audit)
        .where(Audit.id.in_([held.id, planned.id, cancelled.id]))
        .values(planned_start=date(2026, 2, 1), planned_end=date(2026, 2, 2))
    )
    db.session.commit()
    assert value("audit_programme_completion", Q1) == 50
    assert value("audit_programme_completion", Q1, "CS") == 100
    assert value("audit_programme_completion", Q1, "QA") == 0
    assert value("audit_programme_completion", parse("2026-Q2")) is None


def test_servqual_is_the_mean_score_of_the_dimension(app):
    """Three completed surveys in March (reliability 4, 5, 3 → 4; empathy mapped from the
    field "care": 2, 3, 4 → 3), a draft (left out); April: no surveys → None."""
    org = make_org()
    store = get_store(current_app)
    rtype = records.create_type(
        db.session,
        org.officer,
        {
            "code": "SV-01",
            "name": "满意度调查",
            "department": "CS",
            "fields": [
                {"name": "reliability", "label": "可靠性", "type": "number", "min": 1, "max": 5},
                {"name": "care", "label": "关怀", "type": "number", "min": 1, "max": 5},
            ],
            "retention": {"years": 3},
        },
    )
    made = [
        records.file_record(
            db.session, store, org.officer, rtype, {"reliability": r, "care": c}, complete=done
        )
        for r, c, done in ((4, 2, True), (5, 3, True), (3, 4, True), (1, 1, False))
    ]
    db.session.execute(
        update(Record)
        .where(Record.id.in_([r.id for r in made]))
        .values(created_at=at(date(2026, 3, 9)))
    )
    db.session.commit()
    params = {"record_type": "SV-01"}
    assert value("servqual_reliability", MARCH, params=params) == 4
    assert value("servqual_empathy", MARCH, params={**params, "field": "care"}) == 3
    assert value("servqual_reliability", APRIL, params=params) is None
    assert value("servqual_reliability", MARCH, "QA", params=params) is None


@pytest.fixture
def complaints_march(app):
    """Three cases received in March 2026, one in February (left out); April has none.

    ====  ===  ====  ==========================================================
    case  cat  dept  steps (SVC clocks: apology 1 h, restoration 24 h,
                     follow-up 168 h; FAC: apology 2 h)
    ====  ===  ====  ==========================================================
    A     SVC  CS    received 03-02 09:00; apology 09:10, restoration 09:20
                     (first contact), follow-up 03-05 satisfaction 5: 3 of 3 met
    B     SVC  CS    received 03-03 10:00; apology 12:00 (late), restoration
                     03-04 09:00, follow-up 03-19 (late) satisfaction 3: 1 of 3
    C     FAC  QA    received 03-10 08:00; apology 08:30: 1 of 1 met
    ====  ===  ====  ==========================================================

    By hand — first contact 1 of 3 (33.33 %), CS 1 of 2 (50 %); cases with every decided
    clock met: A and C of 3 (66.67 %), CS 1 of 2 (50 %); apology clocks met 2 of 3
    (66.67 %), restoration 2 of 2 (100 %), follow-up 1 of 2 (50 %); satisfaction (5 + 3)
    / 2 = 4; received 3 (SVC 2, FAC 1)."""
    org = make_complaint_org()
    take(org, at=local(2026, 2, 27, 9, 0), name="钱七", contact="13100000007")
    a = take(org, at=local(2026, 3, 2, 9, 0))
    step(org, a, "apology", at=local(2026, 3, 2, 9, 10))
    step(org, a, "restoration", at=local(2026, 3, 2, 9, 20))
    step(org, a, "follow_up", at=local(2026, 3, 5, 10, 0), satisfaction=5)
    b = take(org, at=local(2026, 3, 3, 10, 0), name="李雷", contact="13700000002")
    step(org, b, "apology", at=local(2026, 3, 3, 12, 0))
    step(org, b, "restoration", at=local(2026, 3, 4, 9, 0))
    step(org, b, "follow_up", at=local(2026, 3, 19, 12, 0), satisfaction=3)
    c = take(
        org,
        category="FAC",
        department=org.qa,
        at=local(2026, 3, 10, 8, 0),
        name="周明",
        contact="13600000004",
    )
    step(org, c, "apology", at=local(2026, 3, 10, 8, 30), actor=org.officer)
    return org


def test_complaint_first_contact_resolution(complaints_march):
    """1 of 3 received in March resolved at first contact; CS 1 of 2; April: no data."""
    assert value("complaint_first_contact_resolution", MARCH) == 33.33
    assert value("complaint_first_contact_resolution", MARCH, "CS") == 50
    assert value("complaint_first_contact_resolution", APRIL) is None


def test_complaint_commitment_fulfilment_overall_and_per_commitment(complaints_march):
    """Cases 2 of 3 (CS 1 of 2); apology 2 of 3, restoration 2 of 2, follow-up 1 of 2;
    a commitment no case of the period had (compensation): no data; April: no data."""
    name = "complaint_commitment_fulfilment"
    assert value(name, MARCH) == 66.67
    assert value(name, MARCH, "CS") == 50
    assert value(name, MARCH, params={"step": "apology"}) == 66.67
    assert value(name, MARCH, params={"step": "restoration"}) == 100
    assert value(name, MARCH, params={"step": "follow_up"}) == 50
    assert value(name, MARCH, params={"step": "compensation"}) is None
    assert value(name, APRIL) is None


def test_complaint_satisfaction_and_counts(complaints_march):
    """Satisfaction (5 + 3) / 2 = 4, FAC none scored → no data; received 3, SVC 2, FAC
    1; April: satisfaction no data, received 0 (a count)."""
    assert value("complaint_satisfaction", MARCH) == 4
    assert value("complaint_satisfaction", MARCH, params={"category": "FAC"}) is None
    assert value("complaint_satisfaction", APRIL) is None
    assert value("complaint_count", MARCH) == 3
    assert value("complaint_count", MARCH, params={"category": "SVC"}) == 2
    assert value("complaint_count", MARCH, params={"category": "FAC"}) == 1
    assert value("complaint_count", APRIL) == 0
    assert value("complaint_count", Q1) == 4  # with February's


def test_source_parameters_are_checked(complaints_march):
    """An unknown category or step, a parameter the source does not take, a SERVQUAL
    source without its record type: a 400 naming the parameter."""
    for name, params, field in (
        ("complaint_count", {"category": "NOPE"}, "params.category"),
        ("complaint_commitment_fulfilment", {"step": "dance"}, "params.step"),
        ("nc_closure_days", {"category": "SVC"}, "params.category"),
        ("servqual_empathy", {}, "params.record_type"),
    ):
        with pytest.raises(ValidationFailed) as err:
            S.clean_params(db.session, name, params)
        assert field in err.value.fields
    assert S.clean_params(db.session, "complaint_count", {"category": "svc"}) == {"category": "SVC"}
