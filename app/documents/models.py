from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.names import Bilingual, in_language
from app.people.models import Department, User
from app.signatures.models import Signature

CONFIDENTIALITY = {
    "public": N_("Public"),
    "internal": N_("Internal"),
    "confidential": N_("Confidential"),
}

REVISION_STATUSES = {
    "draft": N_("Draft"),
    "in_review": N_("In review"),
    "approved": N_("Approved"),
    "effective": N_("Effective"),
    "superseded": N_("Superseded"),
    "obsolete": N_("Obsolete"),
    "cancelled": N_("Cancelled"),
}

DOCUMENT_STATUSES = {
    "draft": N_("Draft"),
    "effective": N_("Effective"),
    "obsolete": N_("Obsolete"),
}

CHANGE_TYPES = {"major": N_("Major change"), "minor": N_("Minor change")}
# Retention of a document revision: N years after it was created, or after it stopped
# being in force (superseded or made obsolete).
RETENTION_FROM = {"superseded": N_("after superseded"), "created": N_("after created")}


class DocumentType(db.Model):
    """A kind of document with its numbering pattern and defaults (editable by the admin)."""

    __tablename__ = "document_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    level: Mapped[int] = mapped_column(Integer)
    # e.g. "{type}-{dept}-{seq:03}", "{parent}-F{seq:02}", "EXT-{seq:04}"
    number_pattern: Mapped[str] = mapped_column(String(80))
    is_form: Mapped[bool] = mapped_column(Boolean, default=False)  # numbered under a parent
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    review_interval_months: Mapped[int] = mapped_column(Integer, default=24)
    # {"years": 3, "from": "superseded"}
    retention: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<DocumentType {self.code}>"

    def name_in(self, language: str | None) -> str:
        return in_language(self.name, self.name_en, language)

    def audit_state(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "level": self.level,
            "number_pattern": self.number_pattern,
            "review_interval_months": self.review_interval_months,
            "retention": self.retention,
            "is_active": self.is_active,
        }


class Document(db.Model):
    """The controlled identity: number, title, type, owner; its revisions carry the content."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))  # optional: app/names.py
    type_id: Mapped[int] = mapped_column(ForeignKey("document_type.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    confidentiality: Mapped[str] = mapped_column(String(16), default="internal")
    training_required: Mapped[bool] = mapped_column(Boolean, default=False)
    review_interval_months: Mapped[int] = mapped_column(Integer)
    review_due_date: Mapped[date | None] = mapped_column(Date, index=True)
    retention: Mapped[dict] = mapped_column(JSON, default=dict)
    # Kept in step by the services, so lists need no per-row revision queries.
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revision.id", use_alter=True, name="fk_document_current_revision_id_revision")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    type: Mapped[DocumentType] = relationship()
    department: Mapped[Department] = relationship()
    parent: Mapped[Document | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship()
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="document",
        foreign_keys="Revision.document_id",
        order_by="Revision.id",
    )
    current_revision: Mapped[Revision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True
    )

    def __repr__(self) -> str:
        return f"<Document {self.number}>"

    def title_in(self, language: str | None) -> str:
        return in_language(self.title, self.title_en, language)

    def name_in(self, language: str | None) -> str:
        """The title (the ``local`` template filter asks every object for ``name_in``)."""
        return self.title_in(language)

    @property
    def bilingual_title(self) -> Bilingual:
        return Bilingual(self.title, self.title_en)

    @property
    def ref(self) -> str:
        return f"document:{self.number}"


# Every electronic signature given on a revision (review, approval, rejection, withdrawal,
# periodic-review confirmation), so its history shows who signed what. Append-only.
revision_signature = Table(
    "revision_signature",
    db.metadata,
    Column("revision_id", ForeignKey("revision.id"), primary_key=True),
    Column("signature_id", ForeignKey("signature.id"), primary_key=True, index=True),
)


class Revision(db.Model):
    """One revision (版本) of a document. History: never deleted; state only via services."""

    __tablename__ = "revision"
    __table_args__ = (
        # A label is used once per document, except by cancelled drafts.
        Index(
            "uq_revision_live_label",
            "document_id",
            "major",
            "minor",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    major: Mapped[str] = mapped_column(String(4))
    minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    change_type: Mapped[str] = mapped_column(String(8))
    change_summary: Mapped[str] = mapped_column(Text)
    change_reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_blob.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_kind: Mapped[str | None] = mapped_column(String(8))  # "docx" | "pdf"
    text: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None] = mapped_column(Integer)
    review_round: Mapped[int] = mapped_column(Integer, default=0)
    effective_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    obsoleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set by an approved destruction (app.retention): file and text removed, tombstone kept
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    document: Mapped[Document] = relationship(
        back_populates="revisions", foreign_keys=[document_id]
    )
    author: Mapped[User] = relationship()
    participants: Mapped[list[RevisionParticipant]] = relationship(
        back_populates="revision", order_by="RevisionParticipant.id"
    )
    signatures: Mapped[list[Signature]] = relationship(
        secondary=revision_signature, order_by=Signature.id
    )

    def __repr__(self) -> str:
        return f"<Revision {self.document_id} {self.label} {self.status}>"

    @property
    def label(self) -> str:
        return f"{self.major}/{self.minor}"

    @property
    def path_label(self) -> str:
        """The label as written in URLs and copy numbers: ``A/0`` → ``A0``."""
        return f"{self.major}{self.minor}"

    @property
    def ref(self) -> str:
        return f"document:{self.document.number}"

    def current_round(self) -> list[RevisionParticipant]:
        return [p for p in self.participants if p.round == self.review_round]


class RevisionParticipant(db.Model):
    """A reviewer or approver asked to sign one review round of a revision."""

    __tablename__ = "revision_participant"
    __table_args__ = (UniqueConstraint("revision_id", "round", "user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # "reviewer" | "approver"
    decision: Mapped[str | None] = mapped_column(String(10))  # "approved" | "rejected"
    comment: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    effective_date: Mapped[date | None] = mapped_column(Date)  # proposed by an approver
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    revision: Mapped[Revision] = relationship(back_populates="participants")
    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<RevisionParticipant {self.role} {self.user_id} r{self.round}>"


# How the audit trail reads documents' events ---------------------------------------------


def _revision_name(key: str, before: dict, after: dict) -> str | None:
    """A revision's events name it by number and label: "QP-CS-002 A/0"."""
    label = after.get("label") or before.get("label")
    return f"{key} {label}" if isinstance(label, str) else None


def _years_after(froms: dict[str, str]):
    """Shows ``{"years": 3, "from": "superseded"}`` as "3 years after superseded"."""

    def show(value, key, ctx) -> str:
        if not isinstance(value, dict) or value.get("years") is None:
            return "—"
        when = froms.get(value.get("from"))
        text = ctx.gettext("%(years)s years", years=value["years"])
        return f"{text} {ctx.gettext(when)}" if when else text

    return show


labels.register_kind(
    "document",
    labels.Kind(
        endpoint="documents.show",
        name_from_event=_revision_name,
        name_keys=("label",),
        revision_key="label",
    ),
)
labels.register_kind("document_type", labels.Kind(pattern=N_("document type %(name)s")))
labels.register_actions(
    {
        "revision_created": (N_("Revision created"), N_("%(actor)s created %(object)s")),
        "revision_file_replaced": (
            N_("File replaced"),
            N_("%(actor)s replaced the file of %(object)s"),
        ),
        "revision_in_review": (
            N_("Submitted for review"),
            N_("%(actor)s submitted %(object)s for review"),
        ),
        # a rejection sends the revision back to its author as a draft
        "revision_draft": (N_("Rejected"), N_("%(actor)s rejected %(object)s")),
        "revision_approved": (N_("Approved"), N_("%(actor)s approved %(object)s")),
        "revision_effective": (N_("Made effective"), N_("%(actor)s made %(object)s effective")),
        "revision_superseded": (
            N_("Superseded"),
            N_("%(object)s was superseded (%(actor)s)"),
        ),
        "revision_obsolete": (N_("Made obsolete"), N_("%(actor)s made %(object)s obsolete")),
        "revision_cancelled": (N_("Cancelled"), N_("%(actor)s cancelled %(object)s")),
        "withdrawn": (N_("Withdrawn"), N_("%(actor)s withdrew %(object)s")),
        "periodic_review_confirmed": (
            N_("Periodic review confirmed"),
            N_("%(actor)s confirmed the periodic review of %(object)s"),
        ),
    }
)
labels.register_fields(
    {
        "status": labels.coded(N_("Status"), {**DOCUMENT_STATUSES, **REVISION_STATUSES}),
        "confidentiality": labels.coded(N_("Confidentiality"), CONFIDENTIALITY),
        "retention": labels.Field(N_("Retention"), format=_years_after(RETENTION_FROM)),
    },
    kind="document",
)
labels.register_fields(
    {"retention": labels.Field(N_("Retention"), format=_years_after(RETENTION_FROM))},
    kind="document_type",
)
labels.register_fields(
    {
        "type": N_("Type"),
        "parent": N_("Parent document"),
        "training_required": N_("Training required"),
        "review_interval_months": N_("Review interval (months)"),
        "label": N_("Revision"),
        "change_type": labels.coded(
            N_("Change type"), {"initial": N_("First issue"), **CHANGE_TYPES}
        ),
        "change_summary": N_("Change summary"),
        "file_sha256": labels.internal(N_("SHA-256 of the file")),
        "file_name": N_("File name"),
        "effective_date": labels.date(N_("Effective date")),
        "round": N_("Review round"),
        "reviewers": labels.user(N_("Reviewers")),
        "approvers": labels.user(N_("Approvers")),
        "superseded_by": N_("Superseded by"),
        "review_due_date": labels.date(N_("Review due")),
        "name_en": N_("English name"),
        "title_en": N_("English title"),
        "level": N_("Level"),
        "number_pattern": N_("Numbering pattern"),
    }
)
