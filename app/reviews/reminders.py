"""Scheduled work of management reviews for `qdms sweep`: the owner of a review's action
hears of it a week before it is due, and once a week while it is overdue. Each reminder
has a dedupe key, so running the sweep twice on a day sends it once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import N_
from app.notifications import services as mail
from app.reviews.models import ReviewDecision

REMIND_DAYS_BEFORE = 7


def sweep(session: Session, today: date) -> int:
    """Queue the owners' reminders of open review actions; the number queued."""
    queued = 0
    due = session.scalars(
        select(ReviewDecision)
        .where(
            ReviewDecision.status == "open",
            ReviewDecision.owner_id.is_not(None),
            ReviewDecision.due_date <= today + timedelta(days=REMIND_DAYS_BEFORE),
        )
        .options(selectinload(ReviewDecision.review), selectinload(ReviewDecision.owner))
    )
    for d in due:
        if not d.owner.is_active:
            continue
        overdue = d.due_date < today
        key = (
            f"review_action_overdue:{d.label}:w{(today - d.due_date).days // 7}"
            if overdue
            else f"review_action_due:{d.label}:{d.due_date}"
        )
        message = mail.queue(
            session,
            d.owner,
            kind="review_action",
            subject=(
                N_("Management review action %(label)s is overdue")
                if overdue
                else N_("Management review action %(label)s is due on %(day)s")
            ),
            body=N_(
                "The management review %(number)s decided: %(text)s. You are its owner; it "
                "is due on %(day)s. Please record it done with its evidence in My actions."
            ),
            object_ref=d.review.ref,
            dedupe_key=key,
            label=d.label,
            number=d.review.number,
            text=d.text,
            day=d.due_date.isoformat(),
        )
        queued += message is not None
    return queued
