"""Nonconformities (不符合), their actions, plans, effectiveness checks and verifications.

History is kept as rows: each approved plan is a ``NcPlan`` of its round, each
evaluation of a data rule an ``EffectivenessCheck``, each verifier's decision an
``NcVerification``; a reopened NC starts a new round and keeps the old ones. The NC's
``status`` changes only through ``app.capa.services._move``.
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

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User
from app.signatures.models import Signature

SOURCES = {
    "audit": N_("Audit finding"),
    "complaint": N_("Customer complaint"),
    "internal": N_("Internal report"),
    "review": N_("Management review"),
    "kpi": N_("KPI below target"),
    "supplier": N_("Supplier"),
}
SEVERITIES = {"major": N_("Major"), "minor": N_("Minor")}
STATUSES = {
    "reported": N_("Reported"),
    "contained": N_("Contained"),
    "analysed": N_("Analysed"),
    "action_planned": N_("Action planned"),
    "implemented": N_("Implemented"),
    "verifying": N_("Verifying"),
    "closed": N_("Closed"),
    "rejected": N_("Rejected"),
}
OPEN_STATUSES = frozenset(STATUSES) - {"closed", "rejected"}
CAUSE_CATEGORIES = {
    "people": N_("People"),
    "method": N_("Method"),
    "equipment": N_("Equipment"),
    "material": N_("Material"),
    "environment": N_("Environment"),
    "measurement": N_("Measurement"),
}
ACTION_TYPES = {
    "correction": N_("Correction"),
    "corrective": N_("Corrective action"),
    "preventive": N_("Preventive action"),
    "improvement": N_("Improvement"),
}
ACTION_STATUSES = {"open": N_("Open"), "done": N_("Done")}
CHECK_OUTCOMES = {
    "met": N_("Criterion met"),
    "not_met": N_("Criterion not met"),
    "unavailable": N_("Could not be evaluated"),
}
# What an NC is linked to (the object kinds of the audit trail), in words
LINK_KINDS = {
    "document": N_("Document"),
    "record": N_("Record"),
    "risk_point": N_("Risk point"),
}


def _link_words(value, key, ctx) -> str:
    """``risk_point:RP-001`` as people read it: "Risk point RP-001"."""
    kind, _, number = str(value).partition(":")
    label = LINK_KINDS.get(kind)
    return f"{ctx.gettext(label)} {number}" if label else str(value)


def normalise_number(typed: str | None) -> str:
    """``NC-2026-0007`` from what people type: ``nc-2026-0007``, ``2026-0007``,
    ``2026-7``."""
    text = (typed or "").strip().upper()
    if text.startswith("NC-"):
        text = text[3:]
    year, _, seq = text.partition("-")
    if text.isascii() and year.isdigit() and len(year) == 4 and seq.isdigit() and len(seq) <= 9:
        return f"NC-{year}-{int(seq):04d}"
    return (typed or "").strip().upper()


def _typed_numbers(session, typed: str) -> list[str]:
    """The audit trail's filter: ``2026-7`` names NC-2026-0007."""
    return [normalise_number(typed)]


labels.register_kind("nonconformity", labels.Kind(endpoint="capa.detail", find=_typed_numbers))
labels.register_actions(
    {
        "nc_reported": (N_("Nonconformity reported"), N_("%(actor)s reported %(object)s")),
        "nc_contained": (
            N_("Containment recorded"),
            N_("%(actor)s recorded the containment of %(object)s"),
        ),
        "nc_analysed": (
            N_("Root cause analysed"),
            N_("%(actor)s recorded the root cause of %(object)s"),
        ),
        "nc_action_planned": (
            N_("Action plan approved"),
            N_("%(actor)s approved the action plan of %(object)s"),
        ),
        "nc_implemented": (
            N_("All actions done"),
            N_("Every action of %(object)s is done"),
        ),
        "nc_verifying": (
            N_("Effectiveness check due"),
            N_("The effectiveness check of %(object)s is due"),
        ),
        "nc_closed": (
            N_("Nonconformity closed"),
            N_("%(actor)s verified %(object)s as effective and closed it"),
        ),
        "nc_reopened": (
            N_("Reopened: not effective"),
            N_("%(actor)s found the actions of %(object)s not effective; the plan is reopened"),
        ),
        "nc_rejected": (
            N_("Nonconformity rejected"),
            N_("%(actor)s rejected %(object)s as not a nonconformity"),
        ),
        "nc_action_done": (
            N_("Action done"),
            N_("%(actor)s recorded an action of %(object)s as done"),
        ),
        "nc_rule_evaluated": (
            N_("Effectiveness rule evaluated"),
            N_("The effectiveness rule of %(object)s was evaluated"),
        ),
        "nc_amended": (N_("Nonconformity amended"), N_("%(actor)s amended %(object)s")),
        "nc_linked": (N_("Link added"), N_("%(actor)s linked %(object)s to %(link)s")),
    }
)
labels.register_fields(
    {
        "status": labels.coded(N_("Status"), STATUSES),
        "source": labels.coded(N_("Source"), SOURCES),
        "severity": labels.coded(N_("Severity"), SEVERITIES),
        "description": N_("Description"),
        "department": labels.department(N_("Department")),
        "links": labels.Field(
            N_("Concerns"),
            format=lambda v, k, ctx: ", ".join(_link_words(item, k, ctx) for item in (v or [])),
        ),
        "link": labels.Field(N_("Link"), format=_link_words),
        "containment": N_("Containment"),
        "whys": N_("Why? (5 whys)"),
        "categories": labels.coded(N_("Cause categories"), CAUSE_CATEGORIES),
        "similar": N_("Similar nonconformities"),
        "similar_elsewhere": N_("Could it occur elsewhere?"),
        "round": N_("Plan round"),
        "criterion": N_("Effectiveness criterion"),
        "rule": labels.internal(N_("Data rule")),
        "check_date": labels.date(N_("Check date")),
        "actions": N_("Actions"),
        "action": N_("Action"),
        "type": labels.coded(N_("Action type"), ACTION_TYPES),
        "owner": labels.user(N_("Owner")),
        "due_date": labels.date(N_("Due date")),
        "text": N_("Text"),
        "evidence": N_("Evidence"),
        "effective": N_("Effective"),
        "outcome": labels.coded(N_("Outcome"), CHECK_OUTCOMES),
        "matches": N_("Matching items"),
        "amendment": N_("Amendment"),
    },
    kind="nonconformity",
)


def _json_list(value: str | None) -> list:
    return json.loads(value) if value else []


class Nonconformity(db.Model):
    """One nonconformity, ``NC-{yyyy}-{seq:04}``: what happened, where, how bad; then its
    containment, analysis and plan rounds."""

    __tablename__ = "nonconformity"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # the register filtered by status and department, newest first; with the id the
        # visibility test and the count read the index alone (benchmarks/capa.py)
        Index("ix_nonconformity_status_department", "status", "department_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(8), index=True)
    description: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="reported")
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    containment: Mapped[str | None] = mapped_column(Text)
    contained_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    contained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    whys_json: Mapped[str | None] = mapped_column(Text)
    categories_json: Mapped[str | None] = mapped_column(Text)
    similar_json: Mapped[str | None] = mapped_column(Text)
    similar_elsewhere: Mapped[str | None] = mapped_column(Text)
    analysed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the current plan round: 0 before the first plan, +1 each time a check reopens it
    round: Mapped[int] = mapped_column(Integer, default=0)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])
    contained_by: Mapped[User | None] = relationship(foreign_keys=[contained_by_id])
    analysed_by: Mapped[User | None] = relationship(foreign_keys=[analysed_by_id])
    links: Mapped[list[NcLink]] = relationship(back_populates="nc", order_by="NcLink.id")
    actions: Mapped[list[NcAction]] = relationship(back_populates="nc", order_by="NcAction.id")
    plans: Mapped[list[NcPlan]] = relationship(back_populates="nc", order_by="NcPlan.round")
    checks: Mapped[list[EffectivenessCheck]] = relationship(
        back_populates="nc", order_by="EffectivenessCheck.id"
    )
    verifications: Mapped[list[NcVerification]] = relationship(
        back_populates="nc", order_by="NcVerification.id"
    )
    amendments: Mapped[list[NcAmendment]] = relationship(
        back_populates="nc", order_by="NcAmendment.id"
    )

    def __repr__(self) -> str:
        return f"<Nonconformity {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"nonconformity:{self.number}"

    @property
    def whys(self) -> list[str]:
        return _json_list(self.whys_json)

    @property
    def categories(self) -> list[str]:
        return _json_list(self.categories_json)

    @property
    def similar(self) -> list[str]:
        return _json_list(self.similar_json)

    @property
    def plan(self) -> NcPlan | None:
        """The plan of the current round (None before one is approved, or after a reopen
        until the new one is)."""
        return next((p for p in self.plans if p.round == self.round), None)

    @property
    def current_actions(self) -> list[NcAction]:
        return [a for a in self.actions if a.round == self.round]

    @property
    def open_actions(self) -> list[NcAction]:
        return [a for a in self.actions if a.status == "open"]

    @property
    def check(self) -> EffectivenessCheck | None:
        """The latest evaluation of the current round's data rule."""
        mine = [c for c in self.checks if c.round == self.round]
        return mine[-1] if mine else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def audit_state(self) -> dict:
        return {
            "number": self.number,
            "source": self.source,
            "severity": self.severity,
            "description": self.description,
            "department": self.department.code,
            "status": self.status,
            "links": [link.object_ref for link in self.links],
        }


class NcLink(db.Model):
    """What the NC concerns: an object reference (``document:QP-CS-001``,
    ``record:REC-…``; later complaints and audit findings)."""

    __tablename__ = "nc_link"
    __table_args__ = (UniqueConstraint("nc_id", "object_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    nc: Mapped[Nonconformity] = relationship(back_populates="links")

    def __repr__(self) -> str:
        return f"<NcLink {self.nc_id} → {self.object_ref}>"

    @property
    def kind(self) -> str:
        return self.object_ref.partition(":")[0]

    @property
    def key(self) -> str:
        return self.object_ref.partition(":")[2]


class NcPlan(db.Model):
    """An approved action plan of one round: the effectiveness criterion (text), its
    optional data rule and the check date, signed by the approver."""

    __tablename__ = "nc_plan"
    __table_args__ = (UniqueConstraint("nc_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    criterion: Mapped[str] = mapped_column(Text)
    rule_json: Mapped[str | None] = mapped_column(Text)
    check_date: Mapped[date] = mapped_column(Date, index=True)
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"))

    nc: Mapped[Nonconformity] = relationship(back_populates="plans")
    approved_by: Mapped[User] = relationship()
    signature: Mapped[Signature] = relationship()

    def __repr__(self) -> str:
        return f"<NcPlan {self.nc_id} round {self.round}>"

    @property
    def rule(self) -> dict | None:
        return json.loads(self.rule_json) if self.rule_json else None


class NcAction(db.Model):
    """One action of a plan: correction, corrective, preventive or improvement; an owner,
    a due date, and, once done, its evidence."""

    __tablename__ = "nc_action"
    __table_args__ = (
        Index("ix_nc_action_owner_status_due", "owner_id", "status", "due_date"),
        Index("ix_nc_action_owner_status_done", "owner_id", "status", "done_at"),  # 0017
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    evidence: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    nc: Mapped[Nonconformity] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def __repr__(self) -> str:
        return f"<NcAction {self.id} of {self.nc_id} {self.status}>"

    def is_overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_date < today

    def audit_state(self) -> dict:
        return {
            "action": self.id,
            "type": self.type,
            "text": self.text,
            "owner": self.owner.username,
            "due_date": self.due_date.isoformat(),
        }


class EffectivenessCheck(db.Model):
    """One evaluation of a round's data rule, with its evidence (the matching items)."""

    __tablename__ = "nc_effectiveness_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    evaluated_on: Mapped[date] = mapped_column(Date)
    window_from: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))  # see CHECK_OUTCOMES
    evidence_json: Mapped[str] = mapped_column(Text, default="[]")
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    nc: Mapped[Nonconformity] = relationship(back_populates="checks")

    def __repr__(self) -> str:
        return f"<EffectivenessCheck {self.nc_id} round {self.round} {self.outcome}>"

    @property
    def evidence(self) -> list[dict]:
        return json.loads(self.evidence_json or "[]")


class NcVerification(db.Model):
    """The verifier's signed decision on one round: effective (closed) or not (reopened)."""

    __tablename__ = "nc_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    effective: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str] = mapped_column(Text)
    check_id: Mapped[int | None] = mapped_column(ForeignKey("nc_effectiveness_check.id"))
    verified_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"))

    nc: Mapped[Nonconformity] = relationship(back_populates="verifications")
    check: Mapped[EffectivenessCheck | None] = relationship()
    verified_by: Mapped[User] = relationship()
    signature: Mapped[Signature] = relationship()

    def __repr__(self) -> str:
        return f"<NcVerification {self.nc_id} round {self.round} {self.effective}>"


class NcAmendment(db.Model):
    """An amendment of a closed (or rejected) NC: added text with its reason; the NC
    itself is not changed."""

    __tablename__ = "nc_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    nc: Mapped[Nonconformity] = relationship(back_populates="amendments")
    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<NcAmendment {self.nc_id} {self.at}>"
