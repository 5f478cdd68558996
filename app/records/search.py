"""Records in the search index (record builder, see app.search.registry).

One item per record: its number, title and the values of its fields as "label: value"
lines (amended values as they now stand, with the amendments' reasons), so an auditor
finds a complaint by the customer's name or a word of its description. The scope is
``permissions.index_scope`` (``can_view_record`` as index terms). Draft and complete
records are live; destroyed ones leave the index.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, selectinload

from app.errors import N_
from app.names import in_language
from app.records import fields as form_fields
from app.records.models import STATUSES, Record, RecordAmendment, RecordType
from app.records.permissions import index_scope
from app.search import registry

BATCH = 500


def load(session: Session, ids: list[int]) -> dict[int, dict | None]:
    records = session.scalars(
        select(Record)
        .where(Record.id.in_(ids))
        .options(
            selectinload(Record.amendments),
            selectinload(Record.record_type).selectinload(RecordType.department),
            selectinload(Record.schema),
        )
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for r in records:
        if r.status == "destroyed":
            continue  # None: removed from the index
        rtype = r.record_type
        body = form_fields.searchable_text(r.schema.fields, r.current_values)
        reasons = "\n".join(a.reason for a in r.amendments)
        out[r.id] = {
            "number": r.number,
            "title": r.title,
            "body": "\n".join(x for x in (body, r.scan_name or "", reasons) if x),
            "type": rtype.code,
            "department": rtype.department.code,
            "status": r.status,
            "year": str(r.year),
            "date": r.created_at.replace(tzinfo=None),
            "label": rtype.name,
            "url": f"/records/{r.number}",
            "live": True,
            "scope": index_scope(r),
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, select(Record.id), Record.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count(Record.id)))


def _type_records(session: Session, type_ids: list[int]) -> list[int]:
    return list(session.scalars(select(Record.id).where(Record.record_type_id.in_(type_ids))))


def _type_changed(rtype: RecordType) -> list[tuple[str, int]]:
    """Reindex a type's records only when what their index entries hold of the type
    changed (saving the plan's form sets every column; a type may have 100,000 records)."""
    state = inspect(rtype)
    watched = ("code", "name", "confidentiality", "department_id")
    if state.pending or any(state.attrs[a].history.has_changes() for a in watched):
        return [("record.type", rtype.id)]
    return []


registry.register(
    registry.Builder(
        kind="record",
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            Record: lambda r: [("record", r.id)],
            RecordAmendment: lambda a: [("record", a.record_id)],
            # a type's name or confidentiality shows in (and guards) its records
            RecordType: _type_changed,
        },
        expands={"record.type": _type_records},
        title=N_("Records"),
        statuses=STATUSES,
        # RecordType.name_in on the columns: the search page asks on every request
        type_labels=lambda session, language: {
            code: in_language(name, en, language)
            for code, name, en in session.execute(
                select(RecordType.code, RecordType.name, RecordType.name_en)
            )
        },
    )
)
