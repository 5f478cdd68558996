"""Issue (发行), controlled copies (受控副本), recall (回收) and read-and-understood
acknowledgements (阅读确认) of document revisions.

An :class:`Issue` is one act of the officer: it sends a revision to a list of
:class:`DistributionLine` recipients (a department, a user or a named location, each with
a medium and a number of copies). Every copy gets a :class:`ControlledCopy` numbered
``{document}-{rev}-C{nn}`` in one sequence per revision. Electronic lines carry the
acknowledgement audience: each person in it gets an :class:`Acknowledgement` task when
the issue asks for training.

History is append-only: issues, lines and copies are never deleted; a copy's and a
task's state changes only through ``app.distribution.services`` and each change is an
audit event or a signature.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.documents.models import REVISION_STATUSES, Revision
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import Department, User
from app.signatures.models import Signature

MEDIA = {"paper": N_("Paper"), "electronic": N_("Electronic")}

RECIPIENT_KINDS = {
    "department": N_("Department"),
    "user": N_("Person"),
    "location": N_("Location"),
}

COPY_STATUSES = {
    "issued": N_("Issued"),
    "received": N_("Received"),
    "recall_open": N_("Recall open"),
    "returned": N_("Returned"),
    # an electronic copy ends by itself when its revision stops being in force
    "withdrawn": N_("Access withdrawn"),
}

DISPOSITIONS = {
    "destroyed": N_("Destroyed"),
    "kept_as_obsolete_reference": N_("Kept as marked obsolete reference"),
}

ACK_STATUSES = {
    "open": N_("Open"),
    "overdue": N_("Overdue"),
    "done": N_("Read and understood"),
    "superseded": N_("Superseded"),
    "cancelled": N_("Cancelled"),
}
LIVE_ACK_STATUSES = ("open", "overdue")

DEFAULT_ACKNOWLEDGE_DAYS = 14


def _ack_name(key: str, before: dict, after: dict) -> str | None:
    """A read-and-understood task is named by the revision it is about."""
    return after.get("revision") or before.get("revision")


def _recipients(value, key, ctx) -> str:
    """An issue's distribution: "Department 客户服务部: paper × 2 (custodian 张伟)"."""
    shown = []
    for spec in value if isinstance(value, list) else []:
        if "department" in spec:
            code = spec["department"]
            who = ctx.names("department", {code}).get(code, code)
        elif "user" in spec:
            who = ctx.user(spec["user"])
        else:
            who = spec.get("location") or "—"
        medium = MEDIA.get(spec.get("medium"))
        text = ctx.gettext(
            "%(recipient)s: %(medium)s × %(copies)s",
            recipient=who,
            medium=ctx.gettext(medium) if medium else ctx.unlabelled(str(spec.get("medium"))),
            copies=spec.get("copies", 1),
        )
        if spec.get("custodian"):
            text += " " + ctx.gettext("(custodian %(name)s)", name=ctx.user(spec["custodian"]))
        shown.append(text)
    return ctx.join(shown) if shown else ctx.unlabelled(str(value))


labels.register_kind(
    "copy",
    labels.Kind(
        pattern=N_("controlled copy %(name)s"), endpoint="distribution.copy", arg="copy_no"
    ),
)
labels.register_kind(
    "acknowledgement",
    labels.Kind(
        endpoint="distribution.acknowledgement",
        arg="ack_id",
        name_from_event=_ack_name,
        name_keys=("revision",),
        typed=False,
    ),
)
# the nightly sweep's events about every task at once
labels.register_kind(
    "acknowledgements", labels.Kind(pattern=N_("read-and-understood tasks"), typed=False)
)
labels.register_actions(
    {
        "issued": (N_("Issued"), N_("%(actor)s issued %(object)s")),
        "copy_received": (N_("Receipt signed"), N_("%(actor)s signed the receipt of %(object)s")),
        "copy_printed": (N_("Controlled copy printed"), N_("%(actor)s printed %(object)s")),
        "recall_opened": (N_("Recall opened"), N_("%(actor)s opened the recall of %(object)s")),
        "copy_returned": (
            N_("Copy returned"),
            N_("%(actor)s recorded the return of %(object)s"),
        ),
        "copy_withdrawn": (
            N_("Electronic access withdrawn"),
            N_("%(actor)s withdrew the electronic access to %(object)s"),
        ),
        "acknowledged": (
            N_("Read and understood"),
            N_("%(actor)s signed that they read and understood %(object)s"),
        ),
        "acknowledgements_closed": (
            N_("Acknowledgement tasks closed"),
            N_("%(actor)s closed the open read-and-understood tasks of %(object)s"),
        ),
        "acknowledgements_overdue": (
            N_("Acknowledgements became overdue"),
            N_("%(tasks)s read-and-understood tasks became overdue"),
        ),
    }
)
# why the system closed a person's tasks (also kept in Acknowledgement.close_reason)
labels.register_reasons(
    {"user deactivated": N_("user deactivated"), "left department": N_("left department")}
)
labels.register_fields({"status": labels.coded(N_("Status"), COPY_STATUSES)}, kind="copy")
for _kind in ("acknowledgement", "user"):  # a person's tasks close when they leave
    labels.register_fields({"status": labels.coded(N_("Status"), ACK_STATUSES)}, kind=_kind)
labels.register_fields(
    {
        "issue_id": labels.internal(N_("Issue no.")),
        "recipients": labels.Field(N_("Distribution"), format=_recipients),
        "copies": N_("Controlled copies"),
        "acknowledge_within_days": N_("Days to read and sign"),
        "tasks_opened": N_("Read-and-understood tasks opened"),
        "tasks": N_("Tasks"),
        "today": labels.date(N_("Date")),
        "copy_no": N_("Copy number"),
        "returned_by": N_("Returned by"),
        "disposition": labels.coded(N_("Disposition"), DISPOSITIONS),
        "revision": N_("Revision"),
        "revision_status": labels.coded(N_("Revision status"), REVISION_STATUSES),
    }
)


class Issue(db.Model):
    """One act of issuing a revision to a distribution (the first issue or an extension)."""

    __tablename__ = "issue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    training_required: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledge_within_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_ACKNOWLEDGE_DAYS)
    note: Mapped[str | None] = mapped_column(Text)

    revision: Mapped[Revision] = relationship()
    issued_by: Mapped[User | None] = relationship()
    lines: Mapped[list[DistributionLine]] = relationship(
        back_populates="issue", order_by="DistributionLine.id"
    )

    def __repr__(self) -> str:
        return f"<Issue {self.id} of revision {self.revision_id}>"


class DistributionLine(db.Model):
    """One recipient of an issue: a department, a person or a named location."""

    __tablename__ = "distribution_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(120))
    # who signs for the copies kept at a location
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    medium: Mapped[str] = mapped_column(String(12))
    copies: Mapped[int] = mapped_column(Integer, default=1)

    issue: Mapped[Issue] = relationship(back_populates="lines")
    department: Mapped[Department | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    custodian: Mapped[User | None] = relationship(foreign_keys=[custodian_id])

    def __repr__(self) -> str:
        return f"<DistributionLine {self.recipient_kind} {self.medium}×{self.copies}>"

    @property
    def holder_name(self) -> str:
        return holder_name_of(self)

    def name_in(self, language: str | None) -> str:
        """The holder in ``language`` (the ``local`` template filter)."""
        return holder_name_of(self, language)

    @property
    def holder_key(self) -> str:
        """A stable identifier of the holder for APIs and exports."""
        return f"{self.recipient_kind}:{recipient_of(self)}"


def recipient_of(line) -> str:
    """Who a line (or a checked ``LineSpec``: same attributes) names: a department code, a
    username or a location."""
    if line.department is not None:
        return line.department.code
    if line.user is not None:
        return line.user.username
    return line.location


def holder_name_of(line, language: str | None = None) -> str:
    """The holder as people read it (a department's name in ``language``; Chinese by
    default), for a line or a checked ``LineSpec``."""
    if line.department is not None:
        return f"{line.department.code} {line.department.name_in(language)}"
    if line.user is not None:
        return line.user.full_name
    return f"{line.location} ({line.custodian.full_name})"


def copy_number(revision, seq: int) -> str:
    """A copy's full number: ``{document}-{revision}-C{nn}``, e.g. ``QP-CS-001-A0-C01``."""
    return f"{revision.document.number}-{revision.path_label}-C{seq:02}"


class ControlledCopy(db.Model):
    """One numbered controlled copy (受控副本) of a revision, paper or electronic."""

    __tablename__ = "controlled_copy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    copy_no: Mapped[str] = mapped_column(String(96), unique=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("distribution_line.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    medium: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    recall_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_name: Mapped[str | None] = mapped_column(String(120))
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    return_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    disposition: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    revision: Mapped[Revision] = relationship()
    line: Mapped[DistributionLine] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    receipt_signature: Mapped[Signature | None] = relationship()
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])
    return_recorded_by: Mapped[User | None] = relationship(foreign_keys=[return_recorded_by_id])

    def __repr__(self) -> str:
        return f"<ControlledCopy {self.copy_no} {self.status}>"

    @property
    def ref(self) -> str:
        return f"copy:{self.copy_no}"

    @property
    def short_no(self) -> str:
        """``C01``: the copy's number within its revision (watermarks, file names)."""
        return f"C{self.seq:02}"


class Acknowledgement(db.Model):
    """A read-and-understood task (阅读确认) of one person for one revision."""

    __tablename__ = "acknowledgement"
    __table_args__ = (
        # one live or done task per person and revision; closed ones stay as history
        Index(
            "uq_acknowledgement_live",
            "revision_id",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'overdue', 'done')"),
            postgresql_where=text("status IN ('open', 'overdue', 'done')"),
        ),
        Index("ix_acknowledgement_user_status", "user_id", "status"),
        # covers the matrix: SQLite reads it in grouping order instead of sorting a
        # million rows (benchmarks/acknowledgements.py: 1.1 s → 0.4 s)
        Index(
            "ix_acknowledgement_revision_department",
            "revision_id",
            "department_id",
            "status",
            "due_date",
            "user_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id"), index=True)
    # the department the person was in when the task was opened (the matrix's row key)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    due_date: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(200))

    revision: Mapped[Revision] = relationship()
    user: Mapped[User] = relationship()
    department: Mapped[Department | None] = relationship()
    signature: Mapped[Signature | None] = relationship()

    def __repr__(self) -> str:
        return f"<Acknowledgement {self.id} {self.status}>"

    @property
    def ref(self) -> str:
        return f"acknowledgement:{self.id}"

    def state(self, today: date) -> str:
        """The status as the person sees it today: an open task past its date is overdue
        even before the nightly sweep has recorded it."""
        if self.status == "open" and self.due_date < today:
            return "overdue"
        return self.status
