"""Read-only questions other features ask of the audits feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audits.models import Audit, AuditDepartment
from app.people.models import Department

HELD_STATUSES = ("reporting", "closed")


def programme_completion(
    session: Session, start: date, end: date, *, department: str | None = None
) -> tuple[int, int]:
    """``(planned, held)``: the audits of the programme planned to end in [start, end)
    (cancelled ones aside), and how many of them were carried out (reporting or closed).
    ``department``: audits of that auditee department."""
    stmt = select(
        func.count(Audit.id), func.count(Audit.id).filter(Audit.status.in_(HELD_STATUSES))
    ).where(Audit.planned_end >= start, Audit.planned_end < end, Audit.status != "cancelled")
    if department is not None:
        stmt = (
            stmt.join(AuditDepartment, AuditDepartment.audit_id == Audit.id)
            .join(Department, Department.id == AuditDepartment.department_id)
            .where(Department.code == department)
        )
    planned, held = session.execute(stmt).one()
    return int(planned or 0), int(held or 0)
