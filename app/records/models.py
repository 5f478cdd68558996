"""The record plan (记录清单) and the records filed against it (PRODUCT.md §4).

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail.models import ACTION_LABELS
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

for _action, _label in {
    "record_type_created": N_("Record type created"),
    "record_type_changed": N_("Record type changed"),
    "record_form_changed": N_("Record form changed"),
    "record_filed": N_("Record filed"),
    "record_changed": N_("Draft record changed"),
    "record_completed": N_("Record completed"),
    "record_amended": N_("Record amended"),
}.items():
    ACTION_LABELS.setdefault(_action, _label)


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
