"""Internal audits (内部审核, ISO 9001 9.2, ISO 19011): the criteria library, audits with
their team, auditee departments and chosen criteria, checklist items and findings.

An audit's ``status`` changes only through ``app.audits.services._move``; a finding's
through its own services. Each major or minor NC finding points to the nonconformity it
opened (``nc_id``), and the NC carries a link back (``audit:AUD-yyyy-nnn``).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.capa import models as capa_models
from app.capa.models import Nonconformity
from app.documents.models import Document
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User
from app.signatures.models import Signature

DEFAULT_STANDARD = "ISO 9001:2015"
TYPES = {
    "internal": N_("Internal audit"),
    "supplier": N_("Supplier audit"),
    "certification": N_("Certification audit"),
    "walkthrough": N_("Process walk-through"),
}
STATUSES = {
    "planned": N_("Planned"),
    "prepared": N_("Prepared"),
    "in_progress": N_("In progress"),
    "reporting": N_("Reporting"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
VERDICTS = {
    "conforming": N_("Conforming"),
    "major_nc": N_("Major nonconformity"),
    "minor_nc": N_("Minor nonconformity"),
    "observation": N_("Observation"),
    "ofi": N_("Opportunity for improvement"),
    "na": N_("Not applicable"),
}
NC_VERDICTS = {"major_nc": "major", "minor_nc": "minor"}
FINDING_STATUSES = {
    "open": N_("Awaiting response"),
    "accepted": N_("Accepted"),
    "disputed": N_("Disputed"),
    "confirmed": N_("Confirmed by the lead auditor"),
    "withdrawn": N_("Withdrawn"),
}
PRIORITY_LEVELS = {
    "high": N_("High priority"),
    "medium": N_("Medium priority"),
    "low": N_("Low priority"),
}
CRITERION_KINDS = {"clause": N_("Clause"), "service": N_("Service process")}

# The NC's link back to the audit that raised it reads "Audit AUD-2026-001" on the NC
capa_models.LINK_KINDS.setdefault("audit", N_("Audit"))


def normalise_number(typed: str | None) -> str:
    """``AUD-2026-001`` from what people type: ``aud-2026-001``, ``2026-001``, ``2026-1``."""
    text = (typed or "").strip().upper()
    if text.startswith("AUD-"):
        text = text[4:]
    year, _, seq = text.partition("-")
    if text.isascii() and year.isdigit() and len(year) == 4 and seq.isdigit() and len(seq) <= 9:
        return f"AUD-{year}-{int(seq):03d}"
    return (typed or "").strip().upper()


def _typed_numbers(session, typed: str) -> list[str]:
    return [normalise_number(typed)]


labels.register_kind("audit", labels.Kind(endpoint="audits.detail", find=_typed_numbers))
labels.register_kind("criterion", labels.Kind(typed=False))
labels.register_actions(
    {
        "audit_planned": (N_("Audit planned"), N_("%(actor)s planned %(object)s")),
        "audit_prepared": (N_("Audit prepared"), N_("%(actor)s prepared %(object)s")),
        "audit_started": (N_("Audit started"), N_("%(actor)s started %(object)s")),
        "audit_reporting": (
            N_("Audit in reporting"),
            N_("%(actor)s finished the checklist of %(object)s"),
        ),
        "audit_closed": (N_("Audit closed"), N_("%(actor)s closed %(object)s")),
        "audit_cancelled": (N_("Audit cancelled"), N_("%(actor)s cancelled %(object)s")),
        "audit_justified": (
            N_("Independence justified"),
            N_("%(actor)s recorded why the team of %(object)s may audit its own department"),
        ),
        "audit_item_added": (
            N_("Checklist item added"),
            N_("%(actor)s added an item to %(object)s"),
        ),
        "audit_item_changed": (
            N_("Checklist item changed"),
            N_("%(actor)s changed an item of %(object)s"),
        ),
        "audit_item_removed": (
            N_("Checklist item removed"),
            N_("%(actor)s removed an item of %(object)s"),
        ),
        "audit_finding_raised": (
            N_("Finding raised"),
            N_("%(actor)s raised a finding in %(object)s"),
        ),
        "audit_finding_response": (
            N_("Finding answered"),
            N_("%(actor)s answered a finding of %(object)s"),
        ),
        "audit_finding_resolved": (
            N_("Disputed finding decided"),
            N_("%(actor)s decided a disputed finding of %(object)s"),
        ),
        "audit_attachment_added": (
            N_("Attachment added"),
            N_("%(actor)s attached %(attachment)s to an item of %(object)s"),
        ),
        "audit_report_issued": (
            N_("Audit report issued"),
            N_("The report of %(object)s was issued"),
        ),
        "criteria_imported": (N_("Criteria imported"), N_("%(actor)s imported audit criteria")),
        "criterion_added": (N_("Criterion added"), N_("%(actor)s added criterion %(object)s")),
        "criterion_changed": (
            N_("Criterion changed"),
            N_("%(actor)s changed criterion %(object)s"),
        ),
    }
)
labels.register_fields(
    {
        "number": N_("Number"),
        "status": labels.coded(N_("Status"), STATUSES),
        "type": labels.coded(N_("Audit type"), TYPES),
        "title": N_("Title"),
        "objectives": N_("Objectives"),
        "scope": N_("Scope"),
        "client": N_("Audit client"),
        "places": N_("Places"),
        "clauses": N_("Criteria"),
        "departments": N_("Auditee departments"),
        "lead_auditor": labels.user(N_("Lead auditor")),
        "team": N_("Audit team"),
        "planned_start": labels.date(N_("Planned start")),
        "planned_end": labels.date(N_("Planned end")),
        "justification": N_("Independence justification"),
        "conclusions": N_("Conclusions"),
        "cloned_from": N_("Cloned from"),
        "item": labels.internal(N_("Item no.")),
        "clause": N_("Clause"),
        "question": N_("Question"),
        "position": labels.internal(N_("Position")),
        "done": N_("Done"),
        "verdict": labels.coded(N_("Verdict"), VERDICTS),
        "evidence": N_("Evidence"),
        "links": N_("Examined"),
        "finding": N_("Finding"),
        "nonconformity": N_("Nonconformity"),
        "decision": labels.coded(N_("Decision"), FINDING_STATUSES),
        "recipients": N_("Issued to"),
        "attachment": N_("Attachment"),
        "sha256": labels.internal(N_("SHA-256 of the file")),
    },
    kind="audit",
)
labels.register_fields(
    {
        "standard": N_("Standard"),
        "count": N_("Number of criteria"),
        "code": N_("Clause"),
        "title": N_("Title"),
        "title_en": N_("English title"),
        "questions": N_("Questions"),
        "document": N_("Source document"),
    },
    kind="criterion",
)


class Criterion(db.Model):
    """One audit criterion of the library: an ISO 9001 clause, a service-process topic, or
    an imported criterion; its short titles and our own audit questions."""

    __tablename__ = "audit_criterion"
    __table_args__ = (UniqueConstraint("standard", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard: Mapped[str] = mapped_column(String(64), default=DEFAULT_STANDARD)
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="clause")
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    # [{"zh": …, "en": …}, …]
    questions_json: Mapped[str] = mapped_column(Text, default="[]")
    position: Mapped[int] = mapped_column(Integer, default=0)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))

    document: Mapped[Document | None] = relationship()

    def __repr__(self) -> str:
        return f"<Criterion {self.standard} {self.code}>"

    @property
    def questions(self) -> list[dict]:
        return json.loads(self.questions_json or "[]")

    def title(self, lang: str = "zh") -> str:
        return (self.title_en if lang == "en" else self.title_zh) or self.title_zh


class Audit(db.Model):
    """One audit, ``AUD-{yyyy}-{seq:03}``: what, who, when; its checklist and findings."""

    __tablename__ = "audit"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        Index("ix_audit_year_status", "year", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16), default="internal")
    title: Mapped[str] = mapped_column(String(300))
    objectives: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(Text)
    places: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    lead_auditor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    planned_start: Mapped[date] = mapped_column(Date, index=True)
    planned_end: Mapped[date] = mapped_column(Date)
    independence_justification: Mapped[str | None] = mapped_column(Text)
    justified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    conclusions: Mapped[str | None] = mapped_column(Text)
    cloned_from_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))

    lead_auditor: Mapped[User] = relationship(foreign_keys=[lead_auditor_id])
    justified_by: Mapped[User | None] = relationship(foreign_keys=[justified_by_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    report_signature: Mapped[Signature | None] = relationship()
    departments: Mapped[list[Department]] = relationship(
        secondary="audit_department", order_by="Department.code"
    )
    team: Mapped[list[User]] = relationship(secondary="audit_team_member", order_by="User.username")
    criteria: Mapped[list[Criterion]] = relationship(
        secondary="audit_criterion_choice", order_by="Criterion.position"
    )
    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="audit", order_by="ChecklistItem.position"
    )
    findings: Mapped[list[Finding]] = relationship(back_populates="audit", order_by="Finding.seq")

    def __repr__(self) -> str:
        return f"<Audit {self.number} {self.status}>"

    @property
    def ref(self) -> str:
        return f"audit:{self.number}"

    @property
    def auditors(self) -> list[User]:
        """The lead auditor and the team, each once."""
        people = [self.lead_auditor] + [u for u in self.team if u.id != self.lead_auditor_id]
        return people

    @property
    def items_to_do(self) -> int:
        return sum(1 for item in self.items if not item.done)

    def audit_state(self) -> dict:
        return {
            "number": self.number,
            "type": self.type,
            "title": self.title,
            "objectives": self.objectives,
            "scope": self.scope,
            "clauses": [c.code for c in self.criteria],
            "departments": [d.code for d in self.departments],
            "lead_auditor": self.lead_auditor.username,
            "team": [u.username for u in self.team],
            "planned_start": self.planned_start.isoformat(),
            "planned_end": self.planned_end.isoformat(),
            "status": self.status,
        }


class AuditDepartment(db.Model):
    __tablename__ = "audit_department"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id"), primary_key=True, index=True
    )

    def __repr__(self) -> str:
        return f"<AuditDepartment {self.audit_id} {self.department_id}>"


class AuditTeamMember(db.Model):
    __tablename__ = "audit_team_member"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)

    def __repr__(self) -> str:
        return f"<AuditTeamMember {self.audit_id} {self.user_id}>"


class AuditCriterionChoice(db.Model):
    __tablename__ = "audit_criterion_choice"

    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("audit_criterion.id"), primary_key=True, index=True
    )

    def __repr__(self) -> str:
        return f"<AuditCriterionChoice {self.audit_id} {self.criterion_id}>"


class ChecklistItem(db.Model):
    """One question of an audit's checklist: its progress (done or not) apart from its
    verdict, the evidence notes and what was examined (object references)."""

    __tablename__ = "audit_checklist_item"
    __table_args__ = (Index("ix_audit_checklist_item_audit_position", "audit_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("audit_criterion.id"))
    clause: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    question_en: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(16))
    evidence: Mapped[str | None] = mapped_column(Text)
    links_json: Mapped[str] = mapped_column(Text, default="[]")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    audit: Mapped[Audit] = relationship(back_populates="items")
    criterion: Mapped[Criterion | None] = relationship()
    attachments: Mapped[list[ItemAttachment]] = relationship(
        back_populates="item", order_by="ItemAttachment.id"
    )

    def __repr__(self) -> str:
        return f"<ChecklistItem {self.id} of {self.audit_id} {self.clause}>"

    @property
    def links(self) -> list[str]:
        return json.loads(self.links_json or "[]")

    def text(self, lang: str = "zh") -> str:
        return (self.question_en if lang == "en" and self.question_en else self.question) or ""

    def audit_state(self) -> dict:
        return {
            "item": self.id,
            "clause": self.clause,
            "question": self.question,
            "done": self.done,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "links": self.links,
        }


class Finding(db.Model):
    """A finding raised by a checklist verdict: its grade, criterion and evidence, the
    nonconformity it opened, and the auditee's response."""

    __tablename__ = "audit_finding"
    __table_args__ = (UniqueConstraint("audit_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("audit_checklist_item.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16))  # a verdict of VERDICTS
    clause: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    response_reason: Mapped[str | None] = mapped_column(Text)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[Audit] = relationship(back_populates="findings")
    item: Mapped[ChecklistItem] = relationship()
    department: Mapped[Department] = relationship()
    nc: Mapped[Nonconformity | None] = relationship()
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    def __repr__(self) -> str:
        return f"<Finding {self.audit_id}/{self.seq} {self.grade} {self.status}>"

    @property
    def label(self) -> str:
        return f"{self.audit.number}-F{self.seq:02d}"


ATTACHMENT_MIMETYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


class ItemAttachment(db.Model):
    """A photo or scan attached to a checklist item: checked by its content (PDF, JPEG,
    PNG), stored once in docs_store by its SHA-256."""

    __tablename__ = "audit_item_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("audit_checklist_item.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[ChecklistItem] = relationship(back_populates="attachments")

    def __repr__(self) -> str:
        return f"<ItemAttachment {self.id} of item {self.item_id} {self.name}>"
