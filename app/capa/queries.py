"""Read-only questions other features ask of the capa feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.capa.models import NcAction, NcVerification, Nonconformity
from app.extensions import local_day_start
from app.people.models import Department


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's days (the organisation's calendar) as a half-open range of UTC instants."""
    return (
        local_day_start(start),
        local_day_start(end + timedelta(days=1)),
    )


@dataclass(frozen=True)
class NcFigures:
    """Nonconformities of a period (management review 9.3.2 c4, c7)."""

    opened: int
    closed: int
    open_at_end: int
    major: int
    minor: int
    by_source: dict[str, int]
    by_department: dict[str, int]  # department code → opened
    actions_due: int  # actions due in the period
    actions_overdue: int  # due by the period's end and not done by then
    verified_effective: int
    verified_not_effective: int
    root_causes: dict[str, int]  # cause category → NCs analysed with it, most first


def nc_figures(session: Session, start: date, end: date, *, source: str | None = None) -> NcFigures:
    """What happened to nonconformities between ``start`` and ``end`` (inclusive), all by
    SQL aggregates except the root-cause categories (one column of the period's NCs)."""
    lo, hi = _bounds(start, end)
    where = [] if source is None else [Nonconformity.source == source]
    in_period = and_(Nonconformity.reported_at >= lo, Nonconformity.reported_at < hi, *where)
    opened = dict(
        session.execute(
            select(Nonconformity.severity, func.count())
            .where(in_period)
            .group_by(Nonconformity.severity)
        ).all()
    )
    by_source = dict(
        session.execute(
            select(Nonconformity.source, func.count())
            .where(in_period)
            .group_by(Nonconformity.source)
        ).all()
    )
    by_department = dict(
        session.execute(
            select(Department.code, func.count())
            .select_from(Nonconformity)
            .join(Department, Department.id == Nonconformity.department_id)
            .where(in_period)
            .group_by(Department.code)
        ).all()
    )
    closed = session.scalar(
        select(func.count())
        .select_from(Nonconformity)
        .where(Nonconformity.closed_at >= lo, Nonconformity.closed_at < hi, *where)
    )
    open_at_end = session.scalar(
        select(func.count())
        .select_from(Nonconformity)
        .where(
            Nonconformity.reported_at < hi,
            Nonconformity.status != "rejected",
            or_(Nonconformity.closed_at.is_(None), Nonconformity.closed_at >= hi),
            *where,
        )
    )
    action_where = [NcAction.due_date >= start, NcAction.due_date <= end]
    nc_filter = (
        [NcAction.nc_id.in_(select(Nonconformity.id).where(*where))] if source is not None else []
    )
    actions_due = session.scalar(
        select(func.count()).select_from(NcAction).where(*action_where, *nc_filter)
    )
    actions_overdue = session.scalar(
        select(func.count())
        .select_from(NcAction)
        .where(
            NcAction.due_date <= end,
            or_(NcAction.status == "open", NcAction.done_at >= hi),
            NcAction.due_date >= start - timedelta(days=366),
            *nc_filter,
        )
    )
    verifications = dict(
        session.execute(
            select(NcVerification.effective, func.count())
            .where(
                NcVerification.verified_at >= lo,
                NcVerification.verified_at < hi,
                *(
                    [NcVerification.nc_id.in_(select(Nonconformity.id).where(*where))]
                    if source is not None
                    else []
                ),
            )
            .group_by(NcVerification.effective)
        ).all()
    )
    causes: Counter[str] = Counter()
    for (raw,) in session.execute(
        select(Nonconformity.categories_json).where(
            in_period, Nonconformity.categories_json.is_not(None)
        )
    ):
        try:
            values = json.loads(raw)
        except ValueError:  # a damaged value counts for no category
            values = []
        if isinstance(values, list):
            causes.update(v for v in values if isinstance(v, str))
    return NcFigures(
        opened=sum(opened.values()),
        closed=closed or 0,
        open_at_end=open_at_end or 0,
        major=opened.get("major", 0),
        minor=opened.get("minor", 0),
        by_source=by_source,
        by_department=by_department,
        actions_due=actions_due or 0,
        actions_overdue=actions_overdue or 0,
        verified_effective=verifications.get(True, 0),
        verified_not_effective=verifications.get(False, 0),
        root_causes=dict(causes.most_common()),
    )


def improvement_actions(session: Session, start: date, end: date) -> int:
    """Improvement actions (type ``improvement``) planned with a due date in the period."""
    return (
        session.scalar(
            select(func.count())
            .select_from(NcAction)
            .where(
                NcAction.type == "improvement", NcAction.due_date >= start, NcAction.due_date <= end
            )
        )
        or 0
    )


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
