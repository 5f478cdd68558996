"""The demo record plan and its records (data/records.toml).

Each record type is coded by its form document's number when the demo documents have one
(a form whose title is the type's name), by the code in the data otherwise. Everything goes
through ``app.records.services`` as staff would file it; signature fields are signed with
the demo password. Idempotent: a type that exists is left as it is, and records are filed
only with a type just created.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.documents.models import Document, DocumentType
from app.extensions import local_date, local_today
from app.people.models import User
from app.records import services
from app.records.models import Record, RecordType
from app.retention import services as retention
from app.storage import FileStore


def fields(name: str) -> list[dict]:
    """The form fields of the demo record type called ``name`` (tests and benchmarks file
    records against the demo's forms)."""
    (spec,) = [t for t in loader.records()["type"] if t["name"] == name]
    return spec["fields"]


def _code(session: Session, title: str, fallback: str) -> str:
    number = session.scalar(
        select(Document.number)
        .join(DocumentType, Document.type_id == DocumentType.id)
        .where(Document.title == title, DocumentType.code == "F")
    )
    return number or fallback


def _value(value, today: date):
    """A value from the data: ``{days_ago = N}`` is that day (``month = true``: its month)."""
    if isinstance(value, dict) and "days_ago" in value:
        day = today - timedelta(days=value["days_ago"])
        return f"{day.year}-{day.month:02d}" if value.get("month") else day.isoformat()
    if isinstance(value, dict):
        return {k: _value(v, today) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, today) for v in value]
    return value


def _file(session, store, rtype: RecordType, specs: list[dict], users, today) -> list[str]:
    """File a type's records; then backdate those filed ``on`` a past day, then place the
    legal holds."""
    added: list[str] = []
    backdated: list[tuple[Record, date]] = []
    holds: list[tuple[Record, str]] = []
    for spec in specs:
        filer = users.get(spec["by"])
        if filer is None:
            continue
        record = services.file_record(
            session,
            store,
            filer,
            rtype,
            _value(spec["values"], today),
            password=DEMO_PASSWORD,
            complete=spec.get("complete", False),
            today=spec.get("on"),
        )
        added.append(f"record {record.number}")
        if "on" in spec:
            backdated.append((record, spec["on"]))
        if "hold" in spec:
            holds.append((record, spec["hold"]))
    session.flush()
    for record, day in backdated:
        # created (and completed) that day, so its retention runs from then: the one place
        # the demo writes columns directly, because a record cannot be filed in the past
        made = datetime.combine(day, time(3, 0), tzinfo=UTC)
        completed = made if record.completed_at is not None else None
        session.execute(
            update(Record)
            .where(Record.id == record.id)
            .values(
                created_at=made,
                completed_at=completed,
                retain_until=services.retain_until(
                    rtype, local_date(made), completed and local_date(completed)
                ),
            )
        )
    for record, reason in holds:
        retention.place_hold(
            session, users["officer"], "record", record.number, reason, DEMO_PASSWORD
        )
        added.append(f"legal hold {record.number}")
    return added


def seed(session: Session, store: FileStore) -> list[str]:
    """Create the missing demo record types, and file their records; return what was added."""
    users = {u.username: u for u in session.scalars(select(User))}
    officer = users.get("officer")
    if officer is None:
        return []
    added: list[str] = []
    created: list[tuple[RecordType, list[dict]]] = []
    for spec in loader.records()["type"]:
        if spec.get("retired"):  # its records live on elsewhere (the complaint register)
            continue
        if session.scalar(select(RecordType).where(RecordType.name == spec["name"])):
            continue
        rtype = services.create_type(
            session,
            officer,
            {
                "code": _code(session, spec["name"], spec["code"]),
                "name": spec["name"],
                "name_en": spec.get("name_en"),
                "department": spec["department"],
                "retention": spec["retention"],
                "medium": spec["medium"],
                "location": spec["location"],
                "confidentiality": spec["confidentiality"],
                "fields": spec["fields"],
            },
        )
        created.append((rtype, spec.get("records", [])))
        added.append(f"record type {rtype.code}")
    today = local_today()
    for rtype, records in created:
        added += _file(session, store, rtype, records, users, today)
    return added
