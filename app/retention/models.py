"""Retention, legal hold and destruction (docs/adr/0032, 0033).

- ``LegalHold``: a hold on one record, a whole record type or a document (all its
  revisions). While it is in force nothing it covers can be proposed or destroyed.
  Placing and lifting are signed and audited; a lifted hold stays, with who, when, why.
- ``Destruction``: a batch the officer proposes (items, method) and an approver —
  never the proposer — signs; approval removes the stored content.
- ``DestructionItem``: one record or document revision in a batch; once the batch is
  approved it is the item's tombstone: number, title, dates and the SHA-256 of what was
  destroyed (the record's content hash, every file's hash).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import User
from app.signatures.models import Signature

HOLD_KINDS = {
    "record": N_("Record"),
    "record_type": N_("Record type"),
    "document": N_("Document"),
}

ITEM_KINDS = {
    "record": N_("Record"),
    "revision": N_("Document revision"),
}

METHODS = {
    "secure_erase": N_("Secure erasure of electronic content"),
    "shredding": N_("Shredding"),
    "incineration": N_("Incineration"),
    "pulping": N_("Pulping"),
}

DESTRUCTION_STATUSES = {
    "proposed": N_("Awaiting approval"),
    "approved": N_("Destroyed"),
    "rejected": N_("Rejected"),
}

labels.register_kind("destruction", labels.Kind(endpoint="retention.destruction", arg="key"))
labels.register_actions(
    {
        "legal_hold_placed": (
            N_("Legal hold placed"),
            N_("%(actor)s placed a legal hold on %(object)s"),
        ),
        "legal_hold_lifted": (
            N_("Legal hold lifted"),
            N_("%(actor)s lifted the legal hold on %(object)s"),
        ),
        "destruction_proposed": (
            N_("Destruction proposed"),
            N_("%(actor)s proposed the destruction %(object)s"),
        ),
        "destruction_approved": (
            N_("Destruction approved"),
            N_("%(actor)s approved the destruction %(object)s"),
        ),
        "destruction_rejected": (
            N_("Destruction rejected"),
            N_("%(actor)s rejected the destruction %(object)s"),
        ),
        "destroyed": (
            N_("Destroyed (content removed)"),
            N_("%(actor)s destroyed the content of %(object)s"),
        ),
    }
)
labels.register_fields(
    {"status": labels.coded(N_("Status"), DESTRUCTION_STATUSES)}, kind="destruction"
)
labels.register_fields(
    {
        "hold": labels.internal(N_("Legal hold no.")),
        "method": labels.coded(N_("Method"), METHODS),
        "items": N_("Items"),
        "note": N_("Note"),
        "witness": N_("Witness"),
        "files_removed": N_("Files removed"),
        "destruction": N_("Destruction"),
        "item": N_("Item"),
        "files": labels.internal(N_("SHA-256 of the files")),
    }
)


class LegalHold(db.Model):
    """A hold on ``kind:key`` (``record:<number>``, ``record_type:<code>``,
    ``document:<number>``). In force while ``lifted_at`` is empty."""

    __tablename__ = "legal_hold"
    __table_args__ = (Index("ix_legal_hold_target", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    placed_signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"))
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
    lifted_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))

    placed_by: Mapped[User] = relationship(foreign_keys=[placed_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])
    placed_signature: Mapped[Signature] = relationship(foreign_keys=[placed_signature_id])
    lifted_signature: Mapped[Signature | None] = relationship(foreign_keys=[lifted_signature_id])

    def __repr__(self) -> str:
        return f"<LegalHold {self.id} {self.target}>"

    @property
    def ref(self) -> str:
        return f"legal_hold:{self.id}"

    @property
    def target(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


class Destruction(db.Model):
    """A destruction batch: proposed, then approved (content removed) or rejected."""

    __tablename__ = "destruction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # DES-2026-001
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    method: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    witness: Mapped[str | None] = mapped_column(String(200))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)

    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    signature: Mapped[Signature | None] = relationship()
    items: Mapped[list[DestructionItem]] = relationship(
        back_populates="destruction", order_by="DestructionItem.id"
    )

    def __repr__(self) -> str:
        return f"<Destruction {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"destruction:{self.number}"


class DestructionItem(db.Model):
    """One item of a batch; after approval, its tombstone."""

    __tablename__ = "destruction_item"
    __table_args__ = (Index("ix_destruction_item_object", "kind", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destruction.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "record" | "revision"
    object_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(80))  # QP-CS-001-F01-2026-0001, QP-CS-001 A/0
    title: Mapped[str] = mapped_column(String(300))
    type_code: Mapped[str] = mapped_column(String(40))
    created_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)  # completed / superseded / obsolete
    retain_until: Mapped[date] = mapped_column(Date)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    files_json: Mapped[str] = mapped_column(Text, default="[]")
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    destruction: Mapped[Destruction] = relationship(back_populates="items")

    def __repr__(self) -> str:
        return f"<DestructionItem {self.kind} {self.number}>"

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.object_id}"

    @property
    def files(self) -> list[dict]:
        """[{"sha256", "size", "name", "removed"}]: the files destroyed with the item
        (``removed`` false when another live item still uses the same bytes)."""
        return json.loads(self.files_json)
