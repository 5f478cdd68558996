"""Management review (管理评审, ISO 9001 9.3; docs/adr/0048).

A review ``MR-{yyyy}-{seq:02}`` covers a period and is chaired by top management. Its
``status`` changes only through ``app.reviews.services._move``. Compiling freezes a
snapshot of the inputs of 9.3.2 (``ReviewSnapshot``: JSON, sha256, append-only; a
recompile before the meeting adds a new one and keeps the old). The meeting adds
attendees, a narrative per input and decisions (9.3.3), each decision being an action
with an owner and a due date that the owner records done; after the chair signs the
minutes the review changes only by amendments (with a reason).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.audit_trail.models import append_only
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import User
from app.signatures import models as signature_models
from app.signatures.models import Signature

STATUSES = {
    "planned": N_("Planned"),
    "inputs_compiled": N_("Inputs compiled"),
    "held": N_("Held"),
    "minutes_approved": N_("Minutes approved"),
    "closed": N_("Closed"),
}
# ISO 9001 9.3.3: the outputs of the review
CATEGORIES = {
    "improvement": N_("Opportunity for improvement"),
    "qms_change": N_("Change to the quality management system"),
    "resources": N_("Resource need"),
}
ACTION_STATUSES = {"open": N_("Open"), "done": N_("Done")}
EDITABLE = frozenset({"planned", "inputs_compiled", "held"})

# The minutes are signed by the chair: a meaning of its own in the signature register
signature_models.MEANINGS.setdefault("review_minutes_approved", N_("Review minutes approved"))
signature_models.MEANINGS.setdefault("review_attended", N_("Attended the management review"))


def normalise_number(typed: str | None) -> str:
    """``MR-2026-01`` from what people type: ``mr-2026-01``, ``2026-01``, ``2026-1``."""
    text = (typed or "").strip().upper()
    if text.startswith("MR-"):
        text = text[3:]
    year, _, seq = text.partition("-")
    if text.isascii() and year.isdigit() and len(year) == 4 and seq.isdigit() and len(seq) <= 9:
        return f"MR-{year}-{int(seq):02d}"
    return (typed or "").strip().upper()


def _typed_numbers(session, typed: str) -> list[str]:
    return [normalise_number(typed)]


labels.register_kind(
    "management_review", labels.Kind(endpoint="reviews.detail", find=_typed_numbers)
)
labels.register_actions(
    {
        "review_planned": (N_("Review planned"), N_("%(actor)s planned %(object)s")),
        "review_compiled": (
            N_("Review inputs compiled"),
            N_("%(actor)s compiled the inputs of %(object)s"),
        ),
        "review_held": (N_("Review held"), N_("%(actor)s recorded %(object)s as held")),
        "review_minutes_approved": (
            N_("Review minutes approved"),
            N_("%(actor)s approved the minutes of %(object)s"),
        ),
        "review_closed": (N_("Review closed"), N_("%(actor)s closed %(object)s")),
        "review_changed": (N_("Review changed"), N_("%(actor)s changed %(object)s")),
        "review_decision_added": (
            N_("Review decision added"),
            N_("%(actor)s added a decision to %(object)s"),
        ),
        "review_action_done": (
            N_("Review action done"),
            N_("%(actor)s recorded an action of %(object)s as done"),
        ),
        "review_amended": (N_("Review amended"), N_("%(actor)s amended %(object)s")),
        "review_report_stored": (
            N_("Review report kept"),
            N_("The report of %(object)s was kept as a record"),
        ),
    }
)
labels.register_fields(
    {
        "number": N_("Number"),
        "status": labels.coded(N_("Status"), STATUSES),
        "period_start": labels.date(N_("Period start")),
        "period_end": labels.date(N_("Period end")),
        "planned_date": labels.date(N_("Planned date")),
        "chair": labels.user(N_("Chair")),
        "snapshot": labels.internal(N_("Snapshot no.")),
        "sha256": labels.internal(N_("SHA-256")),
        "narratives": N_("Narratives"),
        "attendees": N_("Attendees"),
        "external_issues": N_("Changes in external and internal issues"),
        "resources": N_("Adequacy of resources"),
        "decision": labels.internal(N_("Decision no.")),
        "text": N_("Text"),
        "category": labels.coded(N_("Decision category"), CATEGORIES),
        "owner": labels.user(N_("Owner")),
        "due_date": labels.date(N_("Due date")),
        "evidence": N_("Evidence"),
        "reason": N_("Reason"),
    },
    kind="management_review",
)


class ManagementReview(db.Model):
    """One management review, ``MR-{yyyy}-{seq:02}``: its period, chair and planned date,
    the entered inputs (b, d), narratives by input key, and its snapshots (the latest is
    current)."""

    __tablename__ = "management_review"
    __table_args__ = (UniqueConstraint("year", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date, index=True)
    planned_date: Mapped[date] = mapped_column(Date)
    chair_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    external_issues: Mapped[str | None] = mapped_column(Text)
    resources: Mapped[str | None] = mapped_column(Text)
    narratives_json: Mapped[str] = mapped_column(Text, default="{}")
    minutes_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    report_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_blob.sha256"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    compiled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chair: Mapped[User] = relationship(foreign_keys=[chair_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    minutes_signature: Mapped[Signature | None] = relationship()
    snapshots: Mapped[list[ReviewSnapshot]] = relationship(order_by="ReviewSnapshot.version")
    attendees: Mapped[list[ReviewAttendee]] = relationship(
        back_populates="review", order_by="ReviewAttendee.user_id"
    )
    decisions: Mapped[list[ReviewDecision]] = relationship(
        back_populates="review", order_by="ReviewDecision.seq"
    )
    amendments: Mapped[list[ReviewAmendment]] = relationship(order_by="ReviewAmendment.id")

    def __repr__(self) -> str:
        return f"<ManagementReview {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"management_review:{self.number}"

    @property
    def narratives(self) -> dict[str, str]:
        value = json.loads(self.narratives_json or "{}")
        return value if isinstance(value, dict) else {}

    @property
    def snapshot(self) -> ReviewSnapshot | None:
        """The current snapshot: the latest compile (earlier ones are kept)."""
        return self.snapshots[-1] if self.snapshots else None

    @property
    def inputs(self) -> dict | None:
        return self.snapshot.content if self.snapshot else None

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE

    def audit_state(self) -> dict:
        return {
            "number": self.number,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "planned_date": self.planned_date.isoformat(),
            "chair": self.chair.username,
            "status": self.status,
        }


@append_only
class ReviewSnapshot(db.Model):
    """The inputs of one compile, frozen: canonical JSON and its SHA-256. Never changed;
    a recompile adds a new version."""

    __tablename__ = "management_review_snapshot"
    __table_args__ = (UniqueConstraint("review_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_review.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    compiled_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    compiled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    compiled_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ReviewSnapshot {self.review_id} v{self.version}>"

    @property
    def content(self) -> dict:
        return json.loads(self.content_json)


class ReviewAttendee(db.Model):
    """A person at the meeting; their signature of attendance is optional."""

    __tablename__ = "management_review_attendee"

    review_id: Mapped[int] = mapped_column(ForeignKey("management_review.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))

    review: Mapped[ManagementReview] = relationship(back_populates="attendees")
    user: Mapped[User] = relationship()
    signature: Mapped[Signature | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReviewAttendee {self.review_id} {self.user_id}>"


class ReviewDecision(db.Model):
    """A decision of the review (9.3.3) and its action: text, category, owner, due date;
    open until its owner (or an officer) records it done with evidence."""

    __tablename__ = "management_review_decision"
    __table_args__ = (UniqueConstraint("review_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_review.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    evidence: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[ManagementReview] = relationship(back_populates="decisions")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def __repr__(self) -> str:
        return f"<ReviewDecision {self.review_id}#{self.seq} {self.status}>"

    @property
    def label(self) -> str:
        return f"{self.review.number}-D{self.seq:02d}"

    def is_overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_date is not None and self.due_date < today

    def audit_state(self) -> dict:
        return {
            "decision": self.seq,
            "text": self.text,
            "category": self.category,
            "owner": self.owner.username if self.owner else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
        }


@append_only
class ReviewAmendment(db.Model):
    """An amendment of approved minutes: added text with its reason."""

    __tablename__ = "management_review_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_review.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ReviewAmendment {self.review_id} {self.id}>"
