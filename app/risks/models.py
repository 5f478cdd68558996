"""The risk-point register (服务风险点): service risks per process and department, their
periodic reviews, and the objects (nonconformities, complaints, documents, records) linked
to them. docs/adr/0043-risk-point-register.md."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User

SCALE = range(1, 6)  # likelihood and severity: 1 (rare, negligible) to 5 (almost certain, severe)

LIKELIHOOD_LABELS = {
    1: N_("Rare"),
    2: N_("Unlikely"),
    3: N_("Possible"),
    4: N_("Likely"),
    5: N_("Almost certain"),
}
SEVERITY_LABELS = {
    1: N_("Negligible"),
    2: N_("Minor"),
    3: N_("Moderate"),
    4: N_("Major"),
    5: N_("Severe"),
}

# Score bands of the 5×5 matrix (score = likelihood × severity): the colours of the heat
# map and the register's "score band" filter. (low, high) inclusive.
BANDS = {
    "low": (1, 4),
    "medium": (5, 9),
    "high": (10, 16),
    "critical": (20, 25),
}
BAND_LABELS = {
    "low": N_("Low risk"),
    "medium": N_("Medium risk"),
    "high": N_("High risk"),
    "critical": N_("Critical risk"),
}


# The kinds of object a risk point is linked to, in words ("nonconformity:NC-2026-0001" is
# shown as "Nonconformity NC-2026-0001"). A kind not named here is shown as written.
LINK_KINDS = {
    "document": N_("Document"),
    "record": N_("Record"),
    "nonconformity": N_("Nonconformity"),
    "complaint": N_("Complaint"),
    "finding": N_("Audit finding"),
}


def link_words(object_ref: str, gettext=lambda text: text) -> str:
    """``object_ref`` as people read it: its kind in words (translated by ``gettext``),
    then its number."""
    kind, _, key = object_ref.partition(":")
    label = LINK_KINDS.get(kind)
    return f"{gettext(label)} {key}" if label else object_ref


def normalise_number(typed: str | None) -> str:
    """``RP-001`` as typed in any case, with or without the prefix and leading zeros."""
    text = (typed or "").strip().upper()
    digits = text.removeprefix("RP").lstrip("-").strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= 9:
        return format_number(int(digits))
    return text


def format_number(seq: int) -> str:
    return f"RP-{seq:03}"


def band_of(score: int) -> str:
    """The band a score falls in (scores 17–19 cannot occur on a 5×5 matrix)."""
    for band, (_low, high) in BANDS.items():
        if score <= high:
            return band
    return "critical"


class RiskPoint(db.Model):
    """One service risk: where it arises (process, department), why (cause), what follows
    (consequence), how likely and how bad (1–5 each), what controls it, who owns it and
    when it is next reviewed. Changed only through app.risks.services."""

    __tablename__ = "risk_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # RP-001, never reused
    process: Mapped[str] = mapped_column(String(120), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    cause: Mapped[str] = mapped_column(Text)
    consequence: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(Integer)
    # likelihood × severity, kept as a column so the register filters and sorts by it
    score: Mapped[int] = mapped_column(Integer, index=True)
    controls: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    review_date: Mapped[date] = mapped_column(Date, index=True)  # the next periodic review
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviews: Mapped[list[RiskReview]] = relationship(
        back_populates="risk_point", order_by="RiskReview.reviewed_on.desc(), RiskReview.id.desc()"
    )
    links: Mapped[list[RiskLink]] = relationship(
        back_populates="risk_point", order_by="RiskLink.object_ref"
    )

    def __repr__(self) -> str:
        return f"<RiskPoint {self.number} {self.likelihood}×{self.severity}>"

    @property
    def ref(self) -> str:
        return f"risk_point:{self.number}"

    @property
    def band(self) -> str:
        return band_of(self.score)

    def is_review_due(self, today: date) -> bool:
        return self.review_date <= today

    def audit_state(self) -> dict:
        return {
            "number": self.number,
            "process": self.process,
            "department": self.department.code,
            "cause": self.cause,
            "consequence": self.consequence,
            "likelihood": self.likelihood,
            "severity": self.severity,
            "score": self.score,
            "controls": self.controls,
            "owner": self.owner.username,
            "review_date": self.review_date.isoformat(),
        }


class RiskLink(db.Model):
    """An object linked to a risk point, named by its audit-trail reference
    (``nonconformity:NC-2026-0001``, ``complaint:CMP-2026-00001``, ``document:QP-CS-001``).
    A plain string, so features built on top of risks link to it without risks knowing
    them. One row per pair; the number of rows is the risk point's hit count."""

    __tablename__ = "risk_link"
    __table_args__ = (UniqueConstraint("risk_point_id", "object_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_point.id"), index=True)
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    risk_point: Mapped[RiskPoint] = relationship(back_populates="links")
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<RiskLink {self.risk_point_id} → {self.object_ref}>"


class RiskReview(db.Model):
    """A periodic review of a risk point: who looked at it when, what they found, and when
    it is looked at next. History: never changed. One per risk point and day."""

    __tablename__ = "risk_review"
    __table_args__ = (UniqueConstraint("risk_point_id", "reviewed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_point.id"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    notes: Mapped[str] = mapped_column(Text)
    previous_review_date: Mapped[date] = mapped_column(Date)  # the date that was due
    next_review_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    risk_point: Mapped[RiskPoint] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<RiskReview {self.risk_point_id} {self.reviewed_on}>"


# The hit count: the number of distinct objects linked (one link row per pair).
RiskPoint.hits = column_property(
    select(func.count(RiskLink.id))
    .where(RiskLink.risk_point_id == RiskPoint.id)
    .correlate_except(RiskLink)
    .scalar_subquery(),
    deferred=False,
)


def hits(risk_point: RiskPoint) -> int:
    """The number of distinct objects linked to ``risk_point``."""
    return risk_point.hits


labels.register_kind(
    "risk_point",
    labels.Kind(
        pattern=N_("risk point %(name)s"),
        endpoint="risks.detail",
        # "RP-1" or "rp-001" typed in the trail's filter finds RP-001
        find=lambda session, typed: (
            [normalise_number(typed)] if typed.strip().upper().startswith("RP") else []
        ),
    ),
)
labels.register_actions(
    {
        "risk_linked": (
            N_("Object linked"),
            N_("%(actor)s linked %(linked_object)s to %(object)s"),
        ),
        "risk_unlinked": (
            N_("Link removed"),
            N_("%(actor)s removed the link of %(linked_object)s to %(object)s"),
        ),
        "risk_reviewed": (
            N_("Periodic review recorded"),
            N_("%(actor)s recorded a periodic review of %(object)s"),
        ),
    }
)
labels.register_fields(
    {
        "process": N_("Process"),
        "cause": N_("Cause"),
        "consequence": N_("Consequence"),
        "likelihood": N_("Likelihood"),
        "severity": N_("Severity"),
        "score": N_("Score"),
        "controls": N_("Control measures"),
        "owner": labels.user(N_("Owner")),
        "review_date": labels.date(N_("Next review")),
        "linked_object": labels.Field(
            N_("Linked object"), format=lambda value, key, ctx: link_words(value, ctx.gettext)
        ),
        "reviewed_on": labels.date(N_("Reviewed on")),
        "notes": N_("Review notes"),
        "next_review_date": labels.date(N_("Next review")),
        "previous_review_date": labels.date(N_("Review that was due")),
    },
    kind="risk_point",
)
