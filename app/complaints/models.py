"""Customer complaints and service recovery (顾客投诉与服务补救, docs/adr/0046).

A complaint is a case, ``CMP-{yyyy}-{seq:05}``. Its category carries the service-commitment
clocks (e.g. apology within 1 hour, restoration within 24 hours); at intake each clock is
copied onto the case as a ``ComplaintClock`` with its due time, so a later change of the
category never rewrites what was promised to a customer, and the KPIs count clocks with
SQL aggregates (a clock is met when its step was recorded at or before its due time).
The five recovery steps are rows (``ComplaintStep``); the case's ``status`` changes only
through ``app.complaints.services._move``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.capa import models as capa_models
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User
from app.signatures.models import Signature

CHANNELS = {
    "hotline": N_("Hotline"),
    "counter": N_("Counter"),
    "online": N_("Online"),
    "letter": N_("Letter"),
    "gov_hotline": N_("12345 government hotline"),
    "on_site": N_("On site"),
}
# The five recovery steps of the seed material, in their usual order
STEPS = {
    "apology": N_("Apology"),
    "restoration": N_("Urgent restoration"),
    "empathy": N_("Empathy"),
    "compensation": N_("Symbolic compensation"),
    "follow_up": N_("Follow-up"),
}
STATUSES = {
    "received": N_("Newly received"),
    "acknowledged": N_("Acknowledged"),
    "restoring": N_("Restoring"),
    "resolved": N_("Resolved"),
    "followed_up": N_("Followed up"),
    "closed": N_("Closed"),
    "escalated": N_("Escalated"),
}
OPEN_STATUSES = frozenset(STATUSES) - {"closed"}
# Statuses a case has when it has been resolved (and not reopened since)
RESOLVED_STATUSES = frozenset({"resolved", "followed_up", "closed"})
APPROVALS = {
    "not_needed": N_("No approval needed"),
    "pending": N_("Awaiting approval"),
    "approved": N_("Approved"),
}


def normalise_number(typed: str | None) -> str:
    """``CMP-2026-00007`` from what people type: ``cmp-2026-00007``, ``2026-00007``,
    ``2026-7``."""
    text = (typed or "").strip().upper()
    if text.startswith("CMP-"):
        text = text[4:]
    year, _, seq = text.partition("-")
    if text.isascii() and year.isdigit() and len(year) == 4 and seq.isdigit() and len(seq) <= 9:
        return f"CMP-{year}-{int(seq):05d}"
    return (typed or "").strip().upper()


def _typed_numbers(session, typed: str) -> list[str]:
    """The audit trail's filter: ``2026-7`` names CMP-2026-00007."""
    return [normalise_number(typed)]


labels.register_kind("complaint", labels.Kind(endpoint="complaints.detail", find=_typed_numbers))
labels.register_kind("complaint_category", labels.Kind())
labels.register_kind("complaint_settings", labels.Kind(pattern=N_("the complaint settings")))
capa_models.LINK_KINDS.setdefault("complaint", N_("Customer complaint"))
labels.register_reasons(
    {
        "complaint_repeat": N_("A repeat complaint"),
        "complaint_breach": N_("A service commitment was breached"),
    }
)
labels.register_actions(
    {
        "complaint_received": (N_("Complaint received"), N_("%(actor)s received %(object)s")),
        "complaint_step": (
            N_("Recovery step recorded"),
            N_("%(actor)s recorded a step of %(object)s"),
        ),
        "complaint_acknowledged": (
            N_("Complaint acknowledged"),
            N_("%(actor)s apologised for %(object)s"),
        ),
        "complaint_restoring": (
            N_("Restoration under way"),
            N_("%(actor)s started restoring %(object)s"),
        ),
        "complaint_resolved": (N_("Complaint resolved"), N_("%(actor)s resolved %(object)s")),
        "complaint_followed_up": (
            N_("Customer followed up"),
            N_("%(actor)s followed up %(object)s with the customer"),
        ),
        "complaint_closed": (N_("Complaint closed"), N_("%(actor)s closed %(object)s")),
        "complaint_escalated": (N_("Complaint escalated"), N_("%(object)s was escalated")),
        "complaint_reopened": (N_("Complaint reopened"), N_("%(actor)s reopened %(object)s")),
        "complaint_compensation_approved": (
            N_("Compensation approved"),
            N_("%(actor)s approved the compensation of %(object)s"),
        ),
        "complaint_clock_breached": (
            N_("Commitment breached"),
            N_("A service commitment of %(object)s was breached"),
        ),
        "complaint_nc_opened": (
            N_("Nonconformity opened"),
            N_("%(actor)s opened a nonconformity from %(object)s"),
        ),
        "complaint_category_saved": (
            N_("Complaint category saved"),
            N_("%(actor)s saved the complaint category %(object)s"),
        ),
        "complaint_settings_saved": (
            N_("Complaint settings saved"),
            N_("%(actor)s saved the complaint settings"),
        ),
    }
)
labels.register_fields(
    {
        "status": labels.coded(N_("Status"), STATUSES),
        "channel": labels.coded(N_("Channel"), CHANNELS),
        "step": labels.coded(N_("Recovery step"), STEPS),
        "category": N_("Category"),
        "department": N_("Department"),
        "site": N_("Service site"),
        "commitment": N_("Commitment concerned"),
        "request": N_("What the customer asks for"),
        "handler": labels.user(N_("Handler")),
        "note": N_("Note"),
        "value": N_("Amount"),
        "satisfaction": N_("Satisfaction"),
        "nonconformity": N_("Nonconformity"),
        "clocks": N_("Commitment clocks"),
        "code": N_("Code"),
        "name": N_("Name"),
        "repeat_of": N_("Repeat of"),
    },
    kind="complaint",
)


def _clock_words(value, key, ctx) -> str:
    """``["apology:1", "restoration:24"]`` as people read it: "Apology 1 h, …"."""
    out = []
    for item in value or []:
        step, _, hours = str(item).partition(":")
        label = STEPS.get(step)
        if label is None or not hours.isdigit():
            out.append(str(item))
        else:
            out.append(f"{ctx.gettext(label)} {ctx.gettext(N_('%(h)s h')) % {'h': hours}}")
    return ", ".join(out)


labels.register_fields(
    {
        "code": N_("Code"),
        "name": N_("Name"),
        "clocks": labels.Field(N_("Commitment clocks"), format=_clock_words),
    },
    kind="complaint_category",
)
labels.register_fields(
    {
        "approval_above": N_("Compensation needs approval above"),
        "repeat_days": N_("Repeat window (days)"),
        "first_contact_minutes": N_("First contact (minutes)"),
        "auto_nc_on_breach": N_("Open a nonconformity on a breach"),
        "auto_nc_on_repeat": N_("Open a nonconformity on a repeat"),
    },
    kind="complaint_settings",
)


class ComplaintCategory(db.Model):
    """A kind of complaint with its service-commitment clocks (officers keep them)."""

    __tablename__ = "complaint_category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    clocks: Mapped[list[CategoryClock]] = relationship(
        back_populates="category", order_by="CategoryClock.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<ComplaintCategory {self.code}>"

    def name(self, locale: str | None) -> str:
        return self.name_en if (locale or "").startswith("en") else self.name_zh

    @property
    def ref(self) -> str:
        return f"complaint_category:{self.code}"

    def audit_state(self) -> dict:
        return {
            "code": self.code,
            "name": self.name_zh,
            "clocks": [f"{c.step}:{c.within_hours}" for c in self.clocks],
        }


class CategoryClock(db.Model):
    """One commitment of a category: step ``step`` within ``within_hours`` calendar hours of
    receipt."""

    __tablename__ = "complaint_category_clock"
    __table_args__ = (UniqueConstraint("category_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("complaint_category.id"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    within_hours: Mapped[int] = mapped_column(Integer)

    category: Mapped[ComplaintCategory] = relationship(back_populates="clocks")

    def __repr__(self) -> str:
        return f"<CategoryClock {self.category_id} {self.step} {self.within_hours}h>"


class ComplaintSettings(db.Model):
    """The officer's settings (one row, id 1): when compensation needs approval, what
    counts as a repeat, what resolves "at first contact", and whether a breach or a
    repeat opens a nonconformity by itself."""

    __tablename__ = "complaint_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approval_above: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("200"))
    repeat_days: Mapped[int] = mapped_column(Integer, default=30)
    first_contact_minutes: Mapped[int] = mapped_column(Integer, default=30)
    auto_nc_on_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_nc_on_repeat: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<ComplaintSettings above {self.approval_above} repeat {self.repeat_days}d>"


class Complaint(db.Model):
    """One complaint case."""

    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # the case list filtered by status and department, newest first (benchmarks/complaints.py)
        Index("ix_complaint_status_department_received", "status", "department_id", "received_at"),
        Index("ix_complaint_department_received", "department_id", "received_at"),
        Index("ix_complaint_category_received", "category_id", "received_at"),
        Index(
            "ix_complaint_channel_department_received", "channel", "department_id", "received_at"
        ),
        Index(
            "ix_complaint_breached_department_received", "breached", "department_id", "received_at"
        ),
        # repeat detection: the same customer (or site) and category lately
        Index("ix_complaint_customer_category", "customer_key", "category_id", "received_at"),
        Index("ix_complaint_site_category", "site", "category_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int] = mapped_column(ForeignKey("complaint_category.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    site: Mapped[str] = mapped_column(String(200), default="")
    commitment: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[str] = mapped_column(Text)
    # personal data: shown only to the handling department, officers and auditors
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_contact: Mapped[str] = mapped_column(String(200), default="")
    # the customer as repeat detection compares them (name and contact, normalised)
    customer_key: Mapped[str] = mapped_column(String(420))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # derived when the case resolves: restoration within the first contact, never reopened
    first_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)
    nc_number: Mapped[str | None] = mapped_column(String(32))

    category: Mapped[ComplaintCategory] = relationship()
    department: Mapped[Department] = relationship()
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    repeat_of: Mapped[Complaint | None] = relationship(remote_side=[id])
    steps: Mapped[list[ComplaintStep]] = relationship(
        back_populates="complaint", order_by="ComplaintStep.id"
    )
    clocks: Mapped[list[ComplaintClock]] = relationship(
        back_populates="complaint", order_by="ComplaintClock.due_at"
    )

    def __repr__(self) -> str:
        return f"<Complaint {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"complaint:{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def step(self, code: str) -> ComplaintStep | None:
        """The latest record of step ``code`` (a reopened case may record it again)."""
        found = [s for s in self.steps if s.step == code]
        return found[-1] if found else None

    def audit_state(self) -> dict:
        """What the trail keeps of the case: no personal data (the trail is read more widely
        than the case)."""
        return {
            "number": self.number,
            "channel": self.channel,
            "category": self.category.code,
            "department": self.department.code,
            "site": self.site,
            "status": self.status,
            "handler": self.handler.username if self.handler else None,
        }


class ComplaintStep(db.Model):
    """One recovery step taken: when, by whom, with a note; compensation with its value
    and approval, follow-up with the customer's satisfaction (1-5)."""

    __tablename__ = "complaint_step"
    __table_args__ = (Index("ix_complaint_step_complaint_step", "complaint_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    step: Mapped[str] = mapped_column(String(16))
    # the case's reopen count when recorded: a reopened case takes its steps again
    round: Mapped[int] = mapped_column(Integer, default=0)
    # restoration under way (the clock keeps running until it is recorded as done)
    in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    approval: Mapped[str] = mapped_column(String(16), default="not_needed")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="steps")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    signature: Mapped[Signature | None] = relationship()

    def __repr__(self) -> str:
        return f"<ComplaintStep {self.complaint_id} {self.step}>"


class ComplaintClock(db.Model):
    """A commitment of one case: step ``step`` due at ``due_at``; ``done_at`` is when the
    step was recorded (the step's own time), ``breach_noticed_at`` when the sweep marked
    and announced the breach."""

    __tablename__ = "complaint_clock"
    __table_args__ = (
        UniqueConstraint("complaint_id", "step"),
        # the sweep: open clocks past due not yet announced
        Index("ix_complaint_clock_open_due", "done_at", "breach_noticed_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    step: Mapped[str] = mapped_column(String(16))
    within_hours: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    complaint: Mapped[Complaint] = relationship(back_populates="clocks")

    def __repr__(self) -> str:
        return f"<ComplaintClock {self.complaint_id} {self.step} due {self.due_at}>"

    def met(self, now: datetime) -> bool | None:
        """True when recorded in time, False when late or overdue, None while pending."""
        if self.done_at is not None:
            return self.done_at <= self.due_at
        if self.breach_noticed_at is not None:  # the sweep (perhaps run for a later day)
            return False
        return False if now > self.due_at else None
