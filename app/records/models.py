"""The record plan (记录清单) and the records filed against it (docs/adr/0030, 0031).

- ``RecordType``: one line of the plan — code (usually the form's number), name, owning
  department, retention rule, storage medium and location, confidentiality.
- ``RecordSchema``: the fields of a type's form, versioned: editing the form writes a
  new version; a record keeps the version it was filed with, so its fields never change
  meaning. Never updated once written.
- ``Record``: filed against a type, numbered ``{code}-{yyyy}-{seq:04}``; its values
  (JSON) and scan change only while ``draft``; ``complete`` freezes them.
- ``RecordAmendment``: a correction of a complete record — the new values of some
  fields, the reason, who and when (and the signature when a signature field changes).
  Append-only: the record shows its original values with the amendments beside them.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.names import in_language
from app.people.models import Department, User
from app.signatures.models import Signature

STATUSES = {
    "draft": N_("Draft"),
    "complete": N_("Completed"),
    "destroyed": N_("Destroyed"),
}

RETENTION_FROM = {
    "created": N_("after it was created"),
    "completed": N_("after it was completed"),
}

MEDIA = {
    "electronic": N_("Electronic"),
    "paper": N_("Paper"),
    "both": N_("Electronic and paper"),
}

CONFIDENTIALITY = {
    "internal": N_("Internal"),
    "confidential": N_("Confidential"),
}


class RecordType(db.Model):
    """One line of the record plan."""

    __tablename__ = "record_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # QP-CS-001-F01
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))  # optional: app/names.py
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    retention_years: Mapped[int] = mapped_column(Integer)
    retention_from: Mapped[str] = mapped_column(String(16), default="created")
    medium: Mapped[str] = mapped_column(String(16), default="electronic")
    location: Mapped[str | None] = mapped_column(String(200))
    confidentiality: Mapped[str] = mapped_column(String(16), default="confidential")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship()
    created_by: Mapped[User | None] = relationship()
    schemas: Mapped[list[RecordSchema]] = relationship(
        back_populates="record_type", order_by="RecordSchema.version"
    )

    def __repr__(self) -> str:
        return f"<RecordType {self.code}>"

    def name_in(self, language: str | None) -> str:
        return in_language(self.name, self.name_en, language)

    @property
    def ref(self) -> str:
        return f"record_type:{self.code}"

    @property
    def schema(self) -> RecordSchema:
        """The form new records are filed with (the latest version)."""
        return self.schemas[-1]

    def audit_state(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "department": self.department.code,
            "retention": {"years": self.retention_years, "from": self.retention_from},
            "medium": self.medium,
            "location": self.location,
            "confidentiality": self.confidentiality,
            "active": self.is_active,
        }


class RecordSchema(db.Model):
    """One version of a record type's form: the fields, as JSON (see app.records.fields)."""

    __tablename__ = "record_schema"
    __table_args__ = (UniqueConstraint("record_type_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type_id: Mapped[int] = mapped_column(ForeignKey("record_type.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    fields_json: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    record_type: Mapped[RecordType] = relationship(back_populates="schemas")

    def __repr__(self) -> str:
        return f"<RecordSchema {self.record_type_id} v{self.version}>"

    @property
    def fields(self) -> list[dict]:
        return json.loads(self.fields_json)


class Record(db.Model):
    """A filled form, a scan, or both, filed against a record type."""

    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("record_type_id", "year", "seq"),
        # the record list (services.list_stmt): by type and/or year, newest first
        Index("ix_record_type_year_id", "record_type_id", "year", "id"),
        Index("ix_record_year_id", "year", "id"),
        # the management review's records completed in a period, by type and department
        # (records.queries.record_figures), read from the index alone
        Index("ix_record_completed_at", "completed_at", "record_type_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)  # QP-CS-001-F01-2026-0001
    record_type_id: Mapped[int] = mapped_column(ForeignKey("record_type.id"))
    schema_id: Mapped[int] = mapped_column(ForeignKey("record_schema.id"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    title: Mapped[str] = mapped_column(String(300))
    values_json: Mapped[str] = mapped_column(Text, default="{}")
    scan_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_blob.sha256"))
    scan_name: Mapped[str | None] = mapped_column(String(255))
    scan_mimetype: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the canonical values and the scan's hash at completion: what was kept.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)

    record_type: Mapped[RecordType] = relationship()
    schema: Mapped[RecordSchema] = relationship()
    department: Mapped[Department] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    amendments: Mapped[list[RecordAmendment]] = relationship(
        back_populates="record", order_by="RecordAmendment.id"
    )

    def __repr__(self) -> str:
        return f"<Record {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"record:{self.number}"

    @property
    def values(self) -> dict:
        return json.loads(self.values_json)

    @property
    def current_values(self) -> dict:
        """The values with every amendment applied (the original stays in ``values``)."""
        merged = self.values
        for amendment in self.amendments:
            merged.update(amendment.values)
        return merged


class RecordAmendment(db.Model):
    """A correction of a complete record. Never updated or deleted."""

    __tablename__ = "record_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    values_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    record: Mapped[Record] = relationship(back_populates="amendments")
    user: Mapped[User] = relationship()
    signature: Mapped[Signature | None] = relationship()

    def __repr__(self) -> str:
        return f"<RecordAmendment {self.record_id} #{self.id}>"

    @property
    def values(self) -> dict:
        return json.loads(self.values_json)


# How the audit trail reads records' events ----------------------------------------------


def _form_labels(value, key, ctx) -> str:
    """A form definition (record type events) as the labels of its fields."""
    if not isinstance(value, list):
        return ctx.unlabelled(str(value))
    return ctx.join(str(f.get("label") or f.get("name")) for f in value if isinstance(f, dict))


def _filled_labels(value, key, ctx) -> str:
    """Field names of a record (filled, changed, amended) as the labels of its form."""
    forms = ctx.cache.setdefault("record_forms", {})
    if key not in forms:
        fields_json = ctx.session.scalar(
            select(RecordSchema.fields_json)
            .join(Record, Record.schema_id == RecordSchema.id)
            .where(Record.number == key)
        )
        forms[key] = {f["name"]: f["label"] for f in json.loads(fields_json or "[]")}
    names = forms[key]
    order = {name: i for i, name in enumerate(names)}  # as the form lists them
    items = sorted(value if isinstance(value, list) else [value], key=lambda n: order.get(n, 0))
    return ctx.join(names[n] if n in names else ctx.unlabelled(str(n)) for n in items)


def _years_after(value, key, ctx) -> str:
    if not isinstance(value, dict) or value.get("years") is None:
        return "—"
    text = ctx.gettext("%(years)s years", years=value["years"])
    when = RETENTION_FROM.get(value.get("from"))
    return f"{text} {ctx.gettext(when)}" if when else text


labels.register_kind("record", labels.Kind(endpoint="records.show"))
labels.register_kind("record_type", labels.Kind(pattern=N_("record type %(name)s")))
labels.register_actions(
    {
        "record_type_created": (N_("Record type created"), N_("%(actor)s added %(object)s")),
        "record_type_changed": (N_("Record type changed"), N_("%(actor)s changed %(object)s")),
        "record_form_changed": (
            N_("Record form changed"),
            N_("%(actor)s changed the form of %(object)s"),
        ),
        "record_filed": (N_("Record filed"), N_("%(actor)s filed %(object)s")),
        "record_changed": (
            N_("Draft record changed"),
            N_("%(actor)s changed the draft %(object)s"),
        ),
        "record_completed": (N_("Record completed"), N_("%(actor)s completed %(object)s")),
        "record_amended": (N_("Record amended"), N_("%(actor)s amended %(object)s")),
    }
)
labels.register_fields(
    {
        "fields": labels.Field(N_("Form fields"), format=_form_labels),
        "version": N_("Form version"),
        "retention": labels.Field(N_("Retention"), format=_years_after),
        "medium": labels.coded(N_("Medium"), MEDIA),
        "confidentiality": labels.coded(N_("Confidentiality"), CONFIDENTIALITY),
        "active": N_("Active"),
        "records_rescheduled": N_("Records given a new retention date"),
    },
    kind="record_type",
)
labels.register_fields(
    {
        "status": labels.coded(N_("Status"), STATUSES),
        "fields": labels.Field(N_("Fields"), format=_filled_labels),
        "values_sha256": labels.internal(N_("SHA-256 of the values")),
        "scan": labels.internal(N_("SHA-256 of the scan")),
        "retain_until": labels.date(N_("Retain until")),
        "amendment": labels.internal(N_("Amendment no.")),
    },
    kind="record",
)
