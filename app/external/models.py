"""The register of external documents, their editions, currency checks and citations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.documents.models import Document
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User

KINDS = {
    "standard": N_("Standard"),
    "regulation": N_("Law or regulation"),
    "customer_specification": N_("Customer specification"),
    "other": N_("Other"),
}

STATUSES = {"current": N_("Current"), "withdrawn": N_("Withdrawn")}

EDITION_STATUSES = {"current": N_("Current edition"), "superseded": N_("Superseded")}

CHECK_OUTCOMES = {
    "current": N_("Still the current edition"),
    "newer_edition": N_("A newer edition exists"),
}

FILE_MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

labels.register_kind("external", labels.Kind(endpoint="external.detail"))
labels.register_actions(
    {
        "withdrawn": (N_("Withdrawn"), N_("%(actor)s withdrew %(object)s")),
        "edition_recorded": (
            N_("Edition recorded"),
            N_("%(actor)s recorded a new edition of %(object)s"),
        ),
        "currency_checked": (
            N_("Currency checked"),
            N_("%(actor)s checked whether %(object)s is the current edition"),
        ),
        "citation_added": (
            N_("Cited by a document"),
            N_("%(actor)s recorded that %(document)s cites %(object)s"),
        ),
        "citation_removed": (
            N_("Citation removed"),
            N_("%(actor)s recorded that %(document)s no longer cites %(object)s"),
        ),
        "external_cited": (
            N_("External document cited"),
            N_("%(actor)s recorded that %(object)s cites %(external)s"),
        ),
        "external_uncited": (
            N_("External document no longer cited"),
            N_("%(actor)s recorded that %(object)s no longer cites %(external)s"),
        ),
    }
)
labels.register_fields(
    {
        "status": labels.coded(N_("Status"), {**EDITION_STATUSES, **STATUSES}),
        "kind": labels.coded(N_("Kind"), KINDS),
    },
    kind="external",
)
labels.register_fields(
    {
        "reference": N_("Reference"),
        "publisher": N_("Publisher"),
        "holder": labels.user(N_("Holder")),
        "check_interval_months": N_("Check interval (months)"),
        "next_check_date": labels.date(N_("Next check")),
        "edition": N_("Edition"),
        "published_on": labels.date(N_("Published on")),
        "effective_on": labels.date(N_("Effective from")),
        "received_on": labels.date(N_("Received on")),
        "outcome": labels.coded(N_("Outcome"), CHECK_OUTCOMES),
        "last_checked_on": labels.date(N_("Last checked")),
        "document": N_("Document"),
        "external": N_("External document"),
    }
)


class ExternalDocument(db.Model):
    """One entry of the register: what the external document is, who holds it, and when
    to check whether the publisher has issued a newer edition."""

    __tablename__ = "external_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # EXT-0001, never reused
    reference: Mapped[str] = mapped_column(String(120), index=True)  # GB/T 19001-2016
    title: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    check_interval_months: Mapped[int] = mapped_column(Integer, default=12)
    next_check_date: Mapped[date | None] = mapped_column(Date, index=True)
    last_checked_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="current", index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship()
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    editions: Mapped[list[ExternalEdition]] = relationship(
        back_populates="external_document", order_by="ExternalEdition.id"
    )
    checks: Mapped[list[ExternalCheck]] = relationship(
        back_populates="external_document", order_by="ExternalCheck.id"
    )

    def __repr__(self) -> str:
        return f"<ExternalDocument {self.number} {self.reference}>"

    @property
    def ref(self) -> str:
        return f"external:{self.number}"

    @property
    def current_edition(self) -> ExternalEdition | None:
        return next((e for e in self.editions if e.status == "current"), None)

    def is_check_due(self, today: date) -> bool:
        return (
            self.status == "current"
            and self.next_check_date is not None
            and self.next_check_date <= today
        )

    def audit_state(self) -> dict:
        return {
            "number": self.number,
            "reference": self.reference,
            "title": self.title,
            "publisher": self.publisher,
            "kind": self.kind,
            "department": self.department.code,
            "holder": self.holder.username,
            "location": self.location,
            "check_interval_months": self.check_interval_months,
            "next_check_date": self.next_check_date.isoformat() if self.next_check_date else None,
            "status": self.status,
        }


class ExternalEdition(db.Model):
    """One edition (版本) of an external document, tracked like a revision: recording a
    new one supersedes the current one. Never deleted; only its status changes."""

    __tablename__ = "external_edition"
    __table_args__ = (
        UniqueConstraint("external_document_id", "edition"),
        # At most one current edition per entry, enforced by the database too.
        Index(
            "uq_external_edition_current",
            "external_document_id",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_document_id: Mapped[int] = mapped_column(
        ForeignKey("external_document.id"), index=True
    )
    edition: Mapped[str] = mapped_column(String(60))  # "2016", "V3.0", "2013 修正"
    reference: Mapped[str] = mapped_column(String(120))  # the designation of this edition
    published_on: Mapped[date | None] = mapped_column(Date)  # 发布日期
    effective_on: Mapped[date | None] = mapped_column(Date)  # 实施日期
    received_on: Mapped[date] = mapped_column(Date)
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_blob.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_kind: Mapped[str | None] = mapped_column(String(8))  # "docx" | "pdf"
    page_count: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="current")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    external_document: Mapped[ExternalDocument] = relationship(back_populates="editions")
    recorded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ExternalEdition {self.external_document_id} {self.edition} {self.status}>"

    def audit_state(self) -> dict:
        return {
            "edition": self.edition,
            "reference": self.reference,
            "published_on": self.published_on.isoformat() if self.published_on else None,
            "effective_on": self.effective_on.isoformat() if self.effective_on else None,
            "received_on": self.received_on.isoformat(),
            "file_sha256": self.file_sha256,
            "file_name": self.file_name,
            "status": self.status,
        }


class ExternalCheck(db.Model):
    """A recorded "is there a newer edition?" check. History: never changed."""

    __tablename__ = "external_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_document_id: Mapped[int] = mapped_column(
        ForeignKey("external_document.id"), index=True
    )
    checked_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))  # see CHECK_OUTCOMES
    note: Mapped[str | None] = mapped_column(Text)
    next_check_date: Mapped[date | None] = mapped_column(Date)  # what the check set
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    external_document: Mapped[ExternalDocument] = relationship(back_populates="checks")
    checked_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ExternalCheck {self.external_document_id} {self.checked_on} {self.outcome}>"


class ExternalCitation(db.Model):
    """An internal controlled document cites an external one (the quality manual cites
    GB/T 19001-2016)."""

    __tablename__ = "external_citation"
    __table_args__ = (UniqueConstraint("document_id", "external_document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    external_document_id: Mapped[int] = mapped_column(
        ForeignKey("external_document.id"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[Document] = relationship()
    external_document: Mapped[ExternalDocument] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ExternalCitation {self.document_id} → {self.external_document_id}>"
