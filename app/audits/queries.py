"""Read-only questions other features ask of the audits feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audits.models import Audit, AuditDepartment, Finding
from app.extensions import local_day_start
from app.people.models import Department


@dataclass(frozen=True)
class AuditFigures:
    """Internal audits of a period (management review 9.3.2 c6 and f)."""

    planned: int  # audits planned to start in the period, not cancelled
    completed: int  # of those, closed or reporting
    cancelled: int
    findings_by_grade: dict[str, int]
    findings_by_clause: dict[str, int]  # clause → major and minor NC findings, most first
    ofis: tuple[tuple[str, str, str], ...]  # (audit number, clause, statement), newest first


def audit_figures(session: Session, start: date, end: date, *, ofi_limit: int = 20) -> AuditFigures:
    """Programme completion and findings between ``start`` and ``end`` (inclusive)."""
    lo = local_day_start(start)
    hi = local_day_start(end + timedelta(days=1))
    by_status = dict(
        session.execute(
            select(Audit.status, func.count())
            .where(Audit.planned_start >= start, Audit.planned_start <= end)
            .group_by(Audit.status)
        ).all()
    )
    in_period = (Finding.raised_at >= lo, Finding.raised_at < hi, Finding.status != "withdrawn")
    grades = dict(
        session.execute(
            select(Finding.grade, func.count()).where(*in_period).group_by(Finding.grade)
        ).all()
    )
    n = func.count().label("n")
    clauses = session.execute(
        select(Finding.clause, n)
        .where(*in_period, Finding.grade.in_(("major_nc", "minor_nc")))
        .group_by(Finding.clause)
        .order_by(n.desc(), Finding.clause)
    ).all()
    ofis = session.execute(
        select(Audit.number, Finding.clause, Finding.statement)
        .join(Audit, Audit.id == Finding.audit_id)
        .where(*in_period, Finding.grade == "ofi")
        .order_by(Finding.raised_at.desc(), Finding.id.desc())
        .limit(ofi_limit)
    ).all()
    cancelled = by_status.get("cancelled", 0)
    return AuditFigures(
        planned=sum(by_status.values()) - cancelled,
        completed=by_status.get("closed", 0) + by_status.get("reporting", 0),
        cancelled=cancelled,
        findings_by_grade=grades,
        findings_by_clause=dict(clauses),
        ofis=tuple(tuple(row) for row in ofis),
    )


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
