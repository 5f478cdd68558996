"""Scheduled work of the risk-point register for `qdms sweep`: periodic review reminders.

Reminders go to the mail outbox (app.notifications), to the risk point's owner (or, when
the owner's account is closed, the head of its department): once a week before the review
falls due, on the due date, and again each week it stays undone. Each has a dedupe key, so
running the sweep twice on a day sends it once.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.errors import N_
from app.notifications import services as mail
from app.risks.services import due_reviews

NOTICE_DAYS = 7  # the owner hears of a coming review a week ahead


def remind_reviews(session: Session, today: date) -> int:
    """Queue the owners' reminders of reviews due within a week or overdue."""
    queued = 0
    for risk in due_reviews(session, today + timedelta(days=NOTICE_DAYS)):
        recipient = risk.owner if risk.owner.is_active else risk.department.head
        if recipient is None or not recipient.is_active:
            continue
        if risk.review_date > today:
            stage = "soon"
            subject = N_("Risk review coming up: %(number)s %(process)s")
            body = N_(
                "The periodic review of risk point %(number)s (%(process)s, score "
                "%(score)s) is due on %(day)s. Please check its cause, consequence, scores "
                "and control measures and record the review."
            )
        else:
            stage = f"w{(today - risk.review_date).days // 7}"
            subject = N_("Risk review due: %(number)s %(process)s")
            body = N_(
                "The periodic review of risk point %(number)s (%(process)s, score "
                "%(score)s) was due on %(day)s. Please check its cause, consequence, scores "
                "and control measures and record the review."
            )
        message = mail.queue(
            session,
            recipient,
            kind="risk_review_due",
            subject=subject,
            body=body,
            object_ref=risk.ref,
            dedupe_key=f"risk_review:{risk.number}:{risk.review_date}:{stage}:{recipient.id}",
            number=risk.number,
            process=risk.process,
            score=risk.score,
            day=risk.review_date.isoformat(),
        )
        queued += message is not None
    return queued
