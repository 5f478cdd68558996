"""Read-only questions other features ask of the distribution feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.distribution.models import Acknowledgement, ControlledCopy
from app.people.models import Department


@dataclass(frozen=True)
class DistributionFigures:
    """Acknowledgement and recall over a period (the management review's document control)."""

    acknowledgements_due: int  # read-and-understood tasks due in the period (not cancelled)
    acknowledgements_done: int  # of those, done
    recalls_outstanding: int  # copies whose recall is open at the time of asking


def distribution_figures(session: Session, start: date, end: date) -> DistributionFigures:
    by_status = dict(
        session.execute(
            select(Acknowledgement.status, func.count())
            .where(Acknowledgement.due_date >= start, Acknowledgement.due_date <= end)
            .group_by(Acknowledgement.status)
        ).all()
    )
    due = sum(n for status, n in by_status.items() if status not in ("cancelled", "superseded"))
    recalls = session.scalar(
        select(func.count())
        .select_from(ControlledCopy)
        .where(ControlledCopy.status == "recall_open")
    )
    return DistributionFigures(
        acknowledgements_due=due,
        acknowledgements_done=by_status.get("done", 0),
        recalls_outstanding=recalls or 0,
    )


def acknowledgement_completion(
    session: Session, start: date, end: date, *, department: str | None = None
) -> tuple[int, int]:
    """``(due, done)``: read-and-understood tasks due in [start, end) (those ended by a
    new revision or cancelled aside), and how many of them are signed."""
    stmt = select(
        func.count(Acknowledgement.id),
        func.count(Acknowledgement.id).filter(Acknowledgement.status == "done"),
    ).where(
        Acknowledgement.due_date >= start,
        Acknowledgement.due_date < end,
        Acknowledgement.status.in_(("open", "overdue", "done")),
    )
    if department is not None:
        stmt = stmt.join(Department, Department.id == Acknowledgement.department_id).where(
            Department.code == department
        )
    due, done = session.execute(stmt).one()
    return int(due or 0), int(done or 0)
