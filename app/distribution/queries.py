"""Read-only questions other features ask of the distribution feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.distribution.models import Acknowledgement
from app.people.models import Department


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
