"""Complaint cases: the transition table, clocks and the sweep's breaches (idempotent),
repeats, nonconformities linked both ways, and the automatic rule (docs/adr/0046)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.capa.models import NcLink
from app.capa.services import get_nc
from app.complaints import reminders, services
from app.complaints.models import STATUSES
from app.errors import Conflict, InvalidTransition, PermissionDenied
from app.extensions import db, local_today, utcnow
from app.notifications.models import OutboxMessage
from tests.complaint_helpers import make_complaint_org, step, take


@pytest.fixture
def org(app):
    return make_complaint_org()


def test_transition_table_reaches_every_status():
    """Does the table name only known statuses, and can every status be reached?"""
    targets = {dst for _sources, dst in services.TRANSITIONS.values()}
    sources = {s for sources, _dst in services.TRANSITIONS.values() for s in sources}
    assert targets | {"received"} == set(STATUSES)
    assert sources <= set(STATUSES)
    assert ("closed", "restoring") in services.ALLOWED_EDGES


def test_the_sweep_marks_breaches_mails_escalates_once(org):
    """Does a later sweep mark the overdue clocks, mail the handler and the head, escalate
    the case — and a second sweep do nothing new?"""
    c = take(org, at=utcnow() - timedelta(minutes=10))
    c.handler = org.owner
    db.session.commit()
    step(org, c, "apology")
    later = local_today() + timedelta(days=2)
    queued = reminders.sweep(db.session, later)
    db.session.commit()
    c = services.get_complaint(db.session, c.number)
    assert c.breached and c.status == "escalated"
    clocks = {k.step: k for k in c.clocks}
    assert clocks["restoration"].breach_noticed_at is not None
    assert clocks["follow_up"].breach_noticed_at is None  # due in 7 days
    assert clocks["apology"].breach_noticed_at is None  # done in time
    kinds = sorted(
        db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.object_ref == c.ref))
    )
    assert kinds == ["complaint_breached", "complaint_escalated"] and queued == 2
    assert reminders.sweep(db.session, later) == 0
    db.session.commit()
    events = db.session.scalar(
        select(func.count(Event.id)).where(
            Event.object_ref == c.ref, Event.action == "complaint_clock_breached"
        )
    )
    assert events == 1
    assert services.nc_offered(c)


def test_open_nc_links_both_ways_once(org):
    """Does "open a nonconformity" report an NC of source complaint linked to the case, and
    the case keep its number; a second attempt 409; staff may not?"""
    c = take(org)
    with pytest.raises(PermissionDenied):
        services.open_nc(db.session, org.reporter, c)
    db.session.rollback()
    nc = services.open_nc(db.session, org.officer, c)
    db.session.commit()
    nc = get_nc(db.session, nc.number)
    assert nc.source == "complaint" and nc.department_id == org.cs.id
    assert [link.object_ref for link in nc.links] == [c.ref]
    assert services.get_complaint(db.session, c.number).nc_number == nc.number
    with pytest.raises(Conflict):
        services.open_nc(db.session, org.officer, services.get_complaint(db.session, c.number))


def test_a_repeat_is_detected_and_the_rule_opens_an_nc(org):
    """Is the same customer's complaint of the same category within the window a repeat
    (and another category not), and does the officer's rule open the NC by itself?"""
    first = take(org)
    other = take(org, category="FAC")
    assert not other.is_repeat
    services.save_settings(
        db.session,
        org.officer,
        approval_above=200,
        repeat_days=30,
        first_contact_minutes=30,
        auto_nc_on_breach=False,
        auto_nc_on_repeat=True,
    )
    db.session.commit()
    again = take(org, site="别的网点")
    assert again.is_repeat and again.repeat_of_id == first.id
    assert again.nc_number is not None
    assert (
        db.session.scalar(select(func.count(NcLink.id)).where(NcLink.object_ref == again.ref)) == 1
    )
    # the same site and category from another customer is a repeat too
    by_site = take(org, name="李雷", contact="13700000002", site="别的网点")
    assert by_site.is_repeat


def test_steps_follow_the_table(org):
    """Does restoration under way make the case restoring, and may a reopened case take
    its steps again?"""
    c = take(org)
    step(org, c, "restoration", done=False, note="正在处理")
    assert c.status == "restoring" and not c.resolved_at
    with pytest.raises(Conflict):
        services.record_step(db.session, org.head, c, step="restoration", done=False)
    db.session.rollback()
    c = services.get_complaint(db.session, c.number)
    step(org, c, "restoration", note="已修复")
    assert c.status == "resolved"
    services.reopen(db.session, org.head, c, reason="顾客再次反映")
    db.session.commit()
    assert c.status == "restoring" and c.reopened == 1
    step(org, c, "restoration", note="彻底修复")
    assert c.status == "resolved" and not c.first_contact
    services.close(db.session, org.head, c, reason="已解决")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.record_step(db.session, org.head, c, step="empathy")


def test_the_audit_programme_counts_open_complaints_as_a_reason(org):
    """Does a department's audit priority count its complaints of the last twelve months
    still open, and stop counting one once it is closed?"""
    from app.audits import services as audits

    before = audits.priorities(db.session)["CS"]
    c = take(org)
    take(org, department=org.qa)
    after = audits.priorities(db.session)["CS"]
    assert after["open_complaints"] == before["open_complaints"] + 1
    assert after["score"] == before["score"] + 1
    step(org, c, "apology")
    services.close(db.session, org.head, c, reason="轻微")
    db.session.commit()
    assert audits.priorities(db.session)["CS"]["open_complaints"] == before["open_complaints"]
    later = audits.priorities(db.session, today=local_today() + timedelta(days=400))
    assert later["QA"]["open_complaints"] == 0
