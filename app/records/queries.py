"""Read-only questions other features ask of the records feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.extensions import local_day_start
from app.people.models import Department
from app.records.models import Record, RecordType


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
