"""Scheduled distribution work for `qdms sweep`: overdue acknowledgements, their reminders
and escalation, and reminders of recalls still open after 7 days.

- An open task whose due date has passed becomes ``overdue``.
- The person is reminded 3 days before the due date, on the first day overdue and every
  week after.
- From 7 days overdue, the head of the person's department gets one weekly digest of the
  overdue tasks of their department.
- The holder of a recalled paper copy is reminded 7 days after the recall opened, and
  every week after, until the copy is returned.

Every mail carries a dedupe key, so running the sweep twice on a day sends nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from app.audit_trail import services as audit
from app.distribution.models import Acknowledgement, ControlledCopy, DistributionLine
from app.distribution.services import holders_to_tell
from app.documents.models import Revision
from app.errors import N_
from app.extensions import local_date
from app.names import Bilingual
from app.notifications import services as mail
from app.people.models import Department, User

DUE_SOON_DAYS = 3
ESCALATE_AFTER_DAYS = 7
RECALL_REMINDER_DAYS = 7


def mark_overdue(session: Session, today: date) -> int:
    count = session.execute(
        update(Acknowledgement)
        .where(Acknowledgement.status == "open", Acknowledgement.due_date < today)
        .values(status="overdue")
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        audit.record(
            session,
            None,
            "acknowledgements",
            "acknowledgements_overdue",
            after={"tasks": count, "today": today.isoformat()},
        )
    return count


def _tasks(session: Session, *where):
    return session.scalars(
        select(Acknowledgement)
        .where(*where)
        .options(
            joinedload(Acknowledgement.user),
            joinedload(Acknowledgement.revision).joinedload(Revision.document),
        )
        .order_by(Acknowledgement.due_date, Acknowledgement.id)
    ).all()


def remind_acknowledgements(session: Session, today: date) -> int:
    queued = 0
    for ack in _tasks(
        session,
        Acknowledgement.status == "open",
        Acknowledgement.due_date >= today,
        Acknowledgement.due_date <= today + timedelta(days=DUE_SOON_DAYS),
    ):
        doc = ack.revision.document
        queued += (
            mail.queue(
                session,
                ack.user,
                kind="acknowledgement_due",
                subject=N_("Read and sign by %(day)s: %(number)s %(title)s"),
                body=N_(
                    'Please read revision %(label)s of %(number)s %(title)s and sign "read and '
                    'understood" by %(day)s.'
                ),
                object_ref=ack.ref,
                dedupe_key=f"ack:{ack.id}:due",
                number=doc.number,
                title=doc.bilingual_title,
                label=ack.revision.label,
                day=ack.due_date.isoformat(),
            )
            is not None
        )
    escalations: dict[int, list[Acknowledgement]] = defaultdict(list)
    for ack in _tasks(session, Acknowledgement.status == "overdue"):
        doc = ack.revision.document
        late = (today - ack.due_date).days
        queued += (
            mail.queue(
                session,
                ack.user,
                kind="acknowledgement_overdue",
                subject=N_("Overdue: read and sign %(number)s %(title)s"),
                body=N_(
                    'Your "read and understood" signature for revision %(label)s of %(number)s '
                    "%(title)s was due on %(day)s. Please read it and sign now."
                ),
                object_ref=ack.ref,
                dedupe_key=f"ack:{ack.id}:overdue-w{(late - 1) // 7}",
                number=doc.number,
                title=doc.bilingual_title,
                label=ack.revision.label,
                day=ack.due_date.isoformat(),
            )
            is not None
        )
        if late >= ESCALATE_AFTER_DAYS and (ack.department_id or ack.user.department_id):
            escalations[ack.department_id or ack.user.department_id].append(ack)
    queued += _escalate(session, today, escalations)
    return queued


def _escalate(session: Session, today: date, escalations: dict[int, list]) -> int:
    """One weekly digest per department head of the tasks at least 7 days overdue."""
    queued = 0
    year, week, _ = today.isocalendar()
    for dept in session.scalars(select(Department).where(Department.id.in_(list(escalations)))):
        head: User | None = dept.head
        if head is None or not head.is_active:
            continue
        tasks = escalations[dept.id]
        listing = Bilingual(*(_listing(tasks, language) for language in ("zh_CN", "en")))
        queued += (
            mail.queue(
                session,
                head,
                kind="acknowledgement_escalation",
                subject=N_("%(count)s read-and-understood signatures overdue in %(department)s"),
                body=N_(
                    'These people of %(department)s have not signed "read and understood" more '
                    "than a week after the due date:\n%(listing)s"
                ),
                object_ref=f"department:{dept.code}",
                dedupe_key=f"ack-escalate:{dept.id}:{head.id}:{year}-w{week}",
                count=len(tasks),
                department=Bilingual(dept.name, dept.name_en),
                listing=listing,
            )
            is not None
        )
    return queued


def _listing(tasks: list[Acknowledgement], language: str) -> str:
    return "\n".join(
        f"- {a.user.full_name}: {a.revision.document.number} {a.revision.label} "
        f"{a.revision.document.title_in(language)} ({a.due_date.isoformat()})"
        for a in tasks
    )


def remind_recalls(session: Session, today: date) -> int:
    queued = 0
    copies = session.scalars(
        select(ControlledCopy)
        .where(ControlledCopy.status == "recall_open")
        .options(
            joinedload(ControlledCopy.line).joinedload(DistributionLine.department),
            joinedload(ControlledCopy.revision).joinedload(Revision.document),
        )
        .order_by(ControlledCopy.copy_no)
    ).all()
    for copy in copies:
        age = (today - local_date(copy.recall_opened_at)).days
        if age < RECALL_REMINDER_DAYS:
            continue
        doc = copy.revision.document
        week = (age - RECALL_REMINDER_DAYS) // 7
        for person in holders_to_tell(copy.line):
            queued += (
                mail.queue(
                    session,
                    person,
                    kind="recall_reminder",
                    subject=N_("Reminder: please return controlled copy %(copy)s"),
                    body=N_(
                        "Controlled copy %(copy)s of %(number)s %(title)s, revision %(label)s, "
                        "was recalled %(days)s days ago and has not been returned. Please hand it "
                        "to the quality officer."
                    ),
                    object_ref=copy.ref,
                    dedupe_key=f"recall:{copy.copy_no}:w{week}:{person.id}",
                    copy=copy.copy_no,
                    number=doc.number,
                    title=doc.bilingual_title,
                    label=copy.revision.label,
                    days=age,
                )
                is not None
            )
    return queued


def sweep(session: Session, today: date) -> tuple[int, int]:
    """(tasks made overdue, mails queued)"""
    overdue = mark_overdue(session, today)
    return overdue, remind_acknowledgements(session, today) + remind_recalls(session, today)
