"""Read-only questions other features ask of the capa feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.capa.models import NcAction, Nonconformity
from app.extensions import local_day_start
from app.people.models import Department


def _in_department(stmt, column, department: str | None):
    if department is None:
        return stmt
    return stmt.join(Department, Department.id == column).where(Department.code == department)


def closure_days(
    session: Session, start: date, end: date, *, department: str | None = None
) -> list[float]:
    """For each NC closed in [start, end): the days from its report to its closure (the
    KPI "NC closure time" takes their median)."""
    stmt = select(Nonconformity.reported_at, Nonconformity.closed_at).where(
        Nonconformity.status == "closed",
        Nonconformity.closed_at >= local_day_start(start),
        Nonconformity.closed_at < local_day_start(end),
    )
    stmt = _in_department(stmt, Nonconformity.department_id, department)
    return [
        (closed - reported).total_seconds() / 86400 for reported, closed in session.execute(stmt)
    ]


def overdue_action_count(session: Session, at: date, *, department: str | None = None) -> int:
    """Corrective actions overdue on day ``at``: due before it and not done by then
    (done later, or still open). ``department``: the NC's department."""
    stmt = (
        select(func.count(NcAction.id))
        .join(Nonconformity, Nonconformity.id == NcAction.nc_id)
        .where(
            NcAction.due_date < at,
            or_(NcAction.status == "open", NcAction.done_at >= local_day_start(at)),
        )
    )
    stmt = _in_department(stmt, Nonconformity.department_id, department)
    return session.scalar(stmt) or 0
