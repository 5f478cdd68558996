"""Scheduled document work for `qdms sweep`: effective dates and periodic-review reminders
(the command then runs the scheduled work of the features built on documents: app/cli.py).

Reminders go to the mail outbox (app.notifications): 30 and 10 days before a document's
review is due, and once a week while it is overdue, to the owning department's head and
every quality officer. Each reminder has a dedupe key, so running the sweep twice on a day
(or catching up after missed days) sends each reminder once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents import services
from app.documents.models import Document
from app.errors import N_
from app.notifications import services as mail
from app.people.models import User, UserRole

REMINDER_DAYS = (30, 10)


@dataclass
class SweepReport:
    made_effective: list[str] = field(default_factory=list)
    reminders: int = 0


def _officers(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == "officer")),
            )
        )
    )


def _recipients(doc: Document, officers: list[User]) -> list[User]:
    people = {u.id: u for u in officers}
    head = doc.department.head
    if head is not None and head.is_active:
        people.setdefault(head.id, head)
    return list(people.values())


def _stage(due: date, today: date) -> str | None:
    """Which reminder is due today: the nearest threshold passed, or the week overdue."""
    days = (due - today).days
    if days < 0:
        return f"overdue-w{(-days - 1) // 7}"
    passed = [d for d in REMINDER_DAYS if days <= d]
    return f"d{min(passed)}" if passed else None


def remind_reviews(session: Session, today: date) -> int:
    officers = _officers(session)
    queued = 0
    for doc in services.reviews_due(session, today, within_days=max(REMINDER_DAYS)):
        stage = _stage(doc.review_due_date, today)
        if stage is None:
            continue
        overdue = stage.startswith("overdue")
        for person in _recipients(doc, officers):
            message = mail.queue(
                session,
                person,
                kind="review_overdue" if overdue else "review_due",
                subject=N_("Periodic review overdue: %(number)s")
                if overdue
                else N_("Periodic review due %(day)s: %(number)s"),
                body=N_(
                    "The periodic review of %(number)s %(title)s was due on %(day)s. Please "
                    "confirm it without change or start a new revision."
                )
                if overdue
                else N_(
                    "The periodic review of %(number)s %(title)s is due on %(day)s. Please "
                    "confirm it without change or start a new revision."
                ),
                object_ref=doc.ref,
                dedupe_key=f"review:{doc.number}:{doc.review_due_date}:{stage}:{person.id}",
                number=doc.number,
                title=doc.bilingual_title,
                day=doc.review_due_date.isoformat(),
            )
            queued += message is not None
    return queued


def sweep(session: Session, today: date) -> SweepReport:
    """Revisions whose effective date has come become effective (retiring their
    predecessors: ``signals.revision_retired``), then the review reminders."""
    report = SweepReport()
    for revision in services.run_due_effective(session, today):
        report.made_effective.append(f"{revision.document.number} {revision.label}")
    report.reminders = remind_reviews(session, today)
    return report
