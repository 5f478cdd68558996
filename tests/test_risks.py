"""The risk-point register: services, gates, links and hits, heat map, reviews, sweep."""

from __future__ import annotations

from datetime import date

import pytest

from app.audit_trail.models import Event
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.risks import services
from app.risks.models import RiskPoint, band_of

TODAY = date(2026, 12, 2)


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles=("officer",), department="QA")


@pytest.fixture
def make_risk(officer):
    from app.people.models import Department

    def make(likelihood=3, severity=4, process="投诉处理", department="QA", **kw):
        dept = db.session.scalar(db.select(Department).where(Department.code == department))
        risk = services.create_risk_point(
            db.session,
            officer,
            process=process,
            department=dept,
            cause=kw.pop("cause", "热线高峰时段人手不足"),
            consequence=kw.pop("consequence", "顾客等待超时，投诉升级"),
            likelihood=likelihood,
            severity=severity,
            controls=kw.pop("controls", "高峰排班；回拨机制"),
            owner=kw.pop("owner", officer),
            review_date=kw.pop("review_date", date(2027, 6, 1)),
            today=kw.pop("today", TODAY),
        )
        db.session.commit()
        return risk

    return make


def test_create_numbers_and_scores(make_risk):
    """Does a new risk point get the next RP number, score = likelihood × severity and an
    audit event?"""
    first = make_risk(3, 4)
    second = make_risk(5, 5)
    assert (first.number, first.score, first.band) == ("RP-001", 12, "high")
    assert (second.number, second.score, second.band) == ("RP-002", 25, "critical")
    assert services.hits(first) == 0
    events = db.session.scalars(db.select(Event).where(Event.object_ref == "risk_point:RP-001"))
    assert [e.action for e in events] == ["created"]
    assert services.get_risk_point(db.session, "rp-1").id == first.id


@pytest.mark.parametrize("field", ["likelihood", "severity"])
@pytest.mark.parametrize("value", [0, 6, "3.5", True, None])
def test_levels_outside_one_to_five_are_refused(make_risk, field, value):
    """Is a likelihood or severity outside 1–5 (or not a whole number) refused, naming the
    field, with nothing written?"""
    with pytest.raises(ValidationFailed) as err:
        make_risk(**{"likelihood": 3, "severity": 3, field: value})
    assert field in err.value.fields
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(RiskPoint.id))) == 0


def test_bands():
    """Do the score bands cover every product of two levels 1–5?"""
    assert [band_of(s) for s in (1, 4, 5, 9, 10, 16, 20, 25)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_link_is_idempotent_and_counts_hits(make_risk, officer):
    """Does linking count each distinct object once, audit once per pair, and is it found
    from the object's side?"""
    risk = make_risk()
    other = make_risk(1, 1)
    for ref in (
        "nonconformity:NC-2026-0001",
        "nonconformity:NC-2026-0001",
        "complaint:CMP-2026-00001",
    ):
        services.link(db.session, officer, risk, ref)
    services.link(db.session, officer, other, "nonconformity:NC-2026-0001")
    db.session.commit()
    assert services.hits(risk) == 2
    assert risk.hits == 2
    found = services.risk_points_for(db.session, "nonconformity:NC-2026-0001")
    assert [r.number for r in found] == ["RP-001", "RP-002"]
    linked = db.session.scalars(
        db.select(Event).where(Event.object_ref == risk.ref, Event.action == "risk_linked")
    ).all()
    assert len(linked) == 2


def test_link_checks_known_kinds(make_risk, officer):
    """Is a malformed reference, or a document that does not exist, refused?"""
    risk = make_risk()
    for bad in ("", "NC-2026-0001", "document:NOPE-1", "Nonconformity:NC-1"):
        with pytest.raises(ValidationFailed):
            services.link(db.session, officer, risk, bad)
    with pytest.raises(NotFound):
        services.unlink(db.session, officer, risk, "complaint:CMP-1")


def test_update_needs_reason_and_is_audited(make_risk, officer):
    """Does an update need a reason, recompute the score and write before/after?"""
    risk = make_risk(3, 4)
    values = dict(
        process=risk.process,
        department=risk.department,
        cause=risk.cause,
        consequence=risk.consequence,
        likelihood=2,
        severity=4,
        controls=risk.controls,
        owner=risk.owner,
        review_date=risk.review_date,
    )
    with pytest.raises(ValidationFailed) as err:
        services.update_risk_point(db.session, officer, risk, reason=" ", **values, today=TODAY)
    assert "reason" in err.value.fields
    db.session.rollback()
    services.update_risk_point(
        db.session, officer, risk, reason="新增回拨机制", **values, today=TODAY
    )
    db.session.commit()
    assert risk.score == 8
    ev = db.session.scalars(
        db.select(Event).where(Event.object_ref == risk.ref, Event.action == "updated")
    ).one()
    assert ev.reason == "新增回拨机制"
    assert '"likelihood":2' in ev.after and '"score":8' in ev.after


def test_review_moves_the_date_and_refuses_a_second_on_the_same_day(make_risk, officer):
    """Does a review move the review date, and is a second review on the same day a 409?"""
    risk = make_risk(review_date=date(2026, 12, 20))
    services.record_review(
        db.session,
        officer,
        risk,
        notes="控制措施有效",
        next_review_date=date(2027, 12, 1),
        today=TODAY,
    )
    db.session.commit()
    assert (risk.review_date, risk.last_reviewed_on) == (date(2027, 12, 1), TODAY)
    assert risk.reviews[0].previous_review_date == date(2026, 12, 20)
    with pytest.raises(Conflict):
        services.record_review(db.session, officer, risk, notes="again", today=TODAY)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        services.record_review(
            db.session, officer, risk, notes="x", reviewed_on=date(2026, 12, 3), today=TODAY
        )
    assert "reviewed_on" in err.value.fields


def test_heat_map_counts(make_risk):
    """Does the heat map count risk points per (likelihood, severity) cell?"""
    make_risk(3, 4)
    make_risk(3, 4)
    make_risk(5, 1)
    cells = services.heat_map(db.session)
    assert len(cells) == 25
    assert cells[(3, 4)] == 2 and cells[(5, 1)] == 1 and sum(cells.values()) == 3
    filtered = services.heat_map(db.session, services.list_stmt(band="high"))
    assert sum(filtered.values()) == 2
