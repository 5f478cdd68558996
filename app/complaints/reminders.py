"""Scheduled work of complaints for `qdms sweep` (docs/adr/0046): every commitment clock
whose due time has passed without its step is marked breached (once: ``breach_noticed_at``),
the case is flagged, its handler is mailed, the head of its department is told and the case
escalated (when it is still before resolution); where the officer's rule says so, a
nonconformity is opened. Running the sweep twice marks and mails nothing new (the clocks
are marked, and every message has a dedupe key)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.audit_trail import services as audit
from app.complaints import services
from app.complaints.models import STEPS, Complaint, ComplaintClock
from app.errors import N_
from app.extensions import local_today, local_zone, utcnow
from app.notifications import services as mail
from app.people.models import Department

ESCALATE_FROM = services.TRANSITIONS["escalate"][0]


def sweep_time(day: date) -> datetime:
    """``qdms sweep --today DAY``: now's time of day on that day (today: now)."""
    now = utcnow()
    if day == local_today():
        return now
    local_now = now.astimezone(local_zone())
    return datetime.combine(day, local_now.timetz()).astimezone(now.tzinfo)


def _message(recipient, kind: str, subject: str, body: str, c: Complaint, key: str, **params):
    return {
        "recipient": recipient,
        "kind": kind,
        "subject": subject,
        "body": body,
        "object_ref": c.ref,
        "dedupe_key": key,
        "params": params,
    }


def sweep(session: Session, day: date) -> int:
    """Mark the breaches due by ``day``'s sweep time; returns the messages queued."""
    now = sweep_time(day)
    clocks = list(
        session.scalars(
            select(ComplaintClock)
            .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
            .where(
                ComplaintClock.done_at.is_(None),
                ComplaintClock.breach_noticed_at.is_(None),
                ComplaintClock.due_at < now,
                Complaint.status != "closed",
            )
            .options(
                selectinload(ComplaintClock.complaint).selectinload(Complaint.handler),
                selectinload(ComplaintClock.complaint)
                .selectinload(Complaint.department)
                .selectinload(Department.head),
            )
            .order_by(ComplaintClock.due_at, ComplaintClock.id)
        )
    )
    breached = [(k.id, k.complaint.number, k.step) for k in clocks]
    auto_nc = services.settings(session).auto_nc_on_breach
    messages = []
    for clock_id, number, step in breached:
        c = services.get_complaint(session, number)
        clock = session.get(ComplaintClock, clock_id)
        clock.breach_noticed_at = now
        c.breached = True
        session.flush()
        audit.record(session, None, c.ref, "complaint_clock_breached", after={"step": step})
        params = {
            "number": c.number,
            "step_label": STEPS[step],
            "due": clock.due_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M"),
        }
        if c.handler is not None and c.handler.is_active:
            messages.append(
                _message(
                    c.handler,
                    "complaint_breached",
                    N_("Commitment breached: %(number)s"),
                    N_(
                        'The commitment "%(step_label)s" of %(number)s was due at %(due)s '
                        "and is not recorded. Please contact the customer and record it."
                    ),
                    c,
                    f"complaint_breached:{c.number}:{step}:{c.handler.id}",
                    **params,
                )
            )
        head = c.department.head
        if head is not None and head.is_active and head.id != c.handler_id:
            messages.append(
                _message(
                    head,
                    "complaint_escalated",
                    N_("Complaint escalated: %(number)s"),
                    N_(
                        'The commitment "%(step_label)s" of %(number)s was due at %(due)s '
                        "and is not recorded: the complaint is escalated to you."
                    ),
                    c,
                    f"complaint_escalated:{c.number}:{step}:{head.id}",
                    **params,
                )
            )
        if c.status in ESCALATE_FROM:
            services.escalate(session, None, c, reason="complaint_breach")
        if auto_nc and c.nc_number is None:
            services.open_nc(session, None, c, reason="complaint_breach")
    return mail.queue_each(session, messages)
