"""Scheduled work of the register of external documents for `qdms sweep`: reminders of
the currency checks that have come due.

Reminders go to the mail outbox (app.notifications), to the entry's holder: once per due
date, and again each week it stays undone (each has a dedupe key, so running the sweep
twice on a day sends it once).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.errors import N_
from app.external.services import due_currency_checks
from app.notifications import services as mail


def remind_currency_checks(session: Session, today: date) -> int:
    """External documents whose "check for a newer edition" date has come: their holder
    is reminded once per due date, and again each week it stays undone."""
    queued = 0
    for ext in due_currency_checks(session, today):
        week = (today - ext.next_check_date).days // 7
        message = mail.queue(
            session,
            ext.holder,
            kind="currency_check_due",
            subject=N_("Check for a newer edition: %(number)s %(reference)s"),
            body=N_(
                "The check for a newer edition of %(reference)s %(title)s (%(number)s) was "
                "due on %(day)s. Please check with the publisher and record the result."
            ),
            object_ref=f"external:{ext.number}",
            dedupe_key=f"currency:{ext.number}:{ext.next_check_date}:w{week}:{ext.holder_id}",
            number=ext.number,
            reference=ext.reference,
            title=ext.title,
            day=ext.next_check_date.isoformat(),
        )
        queued += message is not None
    return queued
