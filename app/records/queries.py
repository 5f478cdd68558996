"""Read-only questions other features ask of the records feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.extensions import local_day_start
from app.people.models import Department
from app.records.models import Record, RecordType


@dataclass(frozen=True)
class RecordFigures:
    """Records completed over a period: the monitoring and measurement results kept
    (management review 9.3.2 c3, c5)."""

    completed: int
    by_type: tuple[tuple[str, str, int], ...]  # (code, name, count), most first
    by_department: dict[str, int]  # department code → completed


def record_figures(session: Session, start: date, end: date, *, top: int = 10) -> RecordFigures:
    lo = local_day_start(start)
    hi = local_day_start(end + timedelta(days=1))
    in_period = (Record.completed_at >= lo, Record.completed_at < hi)
    n = func.count().label("n")
    by_type_id = session.execute(
        select(Record.record_type_id, n)
        .where(*in_period)
        .group_by(Record.record_type_id)
        .order_by(n.desc())
    ).all()
    names = {
        t.id: (t.code, t.name)
        for t in session.scalars(
            select(RecordType).where(RecordType.id.in_([i for i, _ in by_type_id[:top]]))
        )
    }
    by_department = dict(
        session.execute(
            select(Department.code, func.count())
            .select_from(Record)
            .join(Department, Department.id == Record.department_id)
            .where(*in_period)
            .group_by(Department.code)
        ).all()
    )
    return RecordFigures(
        completed=sum(count for _, count in by_type_id),
        by_type=tuple((*names[i], count) for i, count in by_type_id[:top] if i in names),
        by_department=by_department,
    )


def number_field_values(
    session: Session,
    record_type: str,
    field: str,
    start: date,
    end: date,
    *,
    department: str | None = None,
) -> list[float]:
    """The numbers in ``field`` of the completed records of type ``record_type`` filed in
    [start, end), amendments applied; records where the field is empty or not a number
    are left out."""
    stmt = (
        select(Record)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(
            RecordType.code == record_type,
            Record.status == "complete",
            Record.created_at >= local_day_start(start),
            Record.created_at < local_day_start(end),
        )
        .options(selectinload(Record.amendments))
    )
    if department is not None:
        stmt = stmt.join(Department, Department.id == Record.department_id).where(
            Department.code == department
        )
    out = []
    for record in session.scalars(stmt):
        value = record.current_values.get(field)
        if isinstance(value, bool) or value is None:
            continue
        try:
            out.append(float(value))
        except (TypeError, ValueError):
            continue
    return out


def number_fields(session: Session, record_type: str) -> list[str]:
    """The names of the number fields of the record type's current form (empty when
    there is no such type)."""
    rtype = session.scalar(select(RecordType).where(RecordType.code == record_type))
    if rtype is None:
        return []
    return [f["name"] for f in rtype.schema.fields if f.get("type") == "number"]


def number_field_means(
    session: Session, record_type: str, fields: list[str], start: date, end: date
) -> dict[str, tuple[float | None, int]]:
    """Field → (mean, count) of the numbers in ``fields`` of the completed records of type
    ``record_type`` filed in [start, end), amendments applied: ``number_field_values`` for
    several fields in one pass over the records (a survey's dimensions)."""
    stmt = (
        select(Record)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(
            RecordType.code == record_type,
            Record.status == "complete",
            Record.created_at >= local_day_start(start),
            Record.created_at < local_day_start(end),
        )
        .options(selectinload(Record.amendments))
    )
    sums = dict.fromkeys(fields, 0.0)
    counts = dict.fromkeys(fields, 0)
    for record in session.scalars(stmt):
        values = record.current_values
        for name in fields:
            value = values.get(name)
            if isinstance(value, bool) or value is None:
                continue
            try:
                sums[name] += float(value)
            except (TypeError, ValueError):
                continue
            counts[name] += 1
    return {
        name: (round(sums[name] / counts[name], 2) if counts[name] else None, counts[name])
        for name in fields
    }
