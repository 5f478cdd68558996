"""Scheduled work of internal audits for `qdms sweep`: the lead auditor hears of an audit
starting within a week, and of a report still unsigned 14 days after the audit's planned
end (then once a week). Each reminder has a dedupe key, so running the sweep twice on a
day sends it once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audits.models import Audit
from app.audits.services import REMIND_DAYS_BEFORE, UNSIGNED_DAYS_AFTER
from app.errors import N_
from app.notifications import services as mail


def sweep(session: Session, today: date) -> int:
    """Queue the lead auditors' reminders; the number queued."""
    queued = 0
    starting = session.scalars(
        select(Audit).where(
            Audit.status.in_(("planned", "prepared")),
            Audit.planned_start > today,
            Audit.planned_start <= today + timedelta(days=REMIND_DAYS_BEFORE),
        )
    )
    for a in starting:
        if not a.lead_auditor.is_active:
            continue
        message = mail.queue(
            session,
            a.lead_auditor,
            kind="audit_starting",
            subject=N_("Audit %(number)s starts on %(day)s"),
            body=N_(
                "Audit %(number)s (%(title)s) starts on %(day)s. Please check its "
                "checklist and the auditors' independence before it starts."
            ),
            object_ref=a.ref,
            dedupe_key=f"audit_starting:{a.number}:{a.planned_start}",
            number=a.number,
            title=a.title,
            day=a.planned_start.isoformat(),
        )
        queued += message is not None
    unsigned = session.scalars(
        select(Audit).where(
            Audit.status.in_(("in_progress", "reporting")),
            Audit.report_signature_id.is_(None),
            Audit.planned_end <= today - timedelta(days=UNSIGNED_DAYS_AFTER),
        )
    )
    for a in unsigned:
        if not a.lead_auditor.is_active:
            continue
        week = (today - a.planned_end).days // 7
        message = mail.queue(
            session,
            a.lead_auditor,
            kind="audit_report_unsigned",
            subject=N_("Audit report %(number)s not signed yet"),
            body=N_(
                "Audit %(number)s (%(title)s) ended on %(day)s and its report is not "
                "signed yet. Please finish the checklist, write the conclusions and sign."
            ),
            object_ref=a.ref,
            dedupe_key=f"audit_unsigned:{a.number}:w{week}",
            number=a.number,
            title=a.title,
            day=a.planned_end.isoformat(),
        )
        queued += message is not None
    return queued
