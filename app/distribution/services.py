"""Issue, receipt, recall and read-and-understood acknowledgements (docs/adr/0023, 0024).

Guarantees:

- Only an approved (future effective date, so training can come first) or effective
  revision is issued. Each issue appends an :class:`Issue` with its lines; copies are
  numbered ``{document}-{rev}-C{nn}`` in one sequence per revision (extensions continue
  it), so a number is never given twice.
- A paper copy's receipt is the holder's electronic signature.
- When a revision stops being in force (superseded or withdrawn: the document workflow
  sends ``signals.revision_retired``, and ``revision_retired`` here runs in its
  transaction) every paper copy not yet returned gets an open recall, electronic copies
  end, and open acknowledgement tasks close; a successor that has not been issued yet is
  issued electronically to the same audience, so its tasks open at once.
- Acknowledgement tasks reach exactly the electronic audience: the active members of
  each department (at issue time, and people who join the department later while the
  revision is current) and each person named. One live task per person and revision.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app import signals
from app.audit_trail import services as audit
from app.distribution.models import (
    ACK_STATUSES,
    COPY_STATUSES,
    DEFAULT_ACKNOWLEDGE_DAYS,
    DISPOSITIONS,
    LIVE_ACK_STATUSES,
    MEDIA,
    Acknowledgement,
    ControlledCopy,
    DistributionLine,
    Issue,
    copy_number,
    holder_name_of,
    recipient_of,
)
from app.distribution.permissions import (
    can_issue,
    can_view_acknowledgement,
    can_view_copy,
    copy_in_force,
    holds,
    matrix_departments,
    visible_copies,
)
from app.documents.models import Document, Revision
from app.errors import (
    N_,
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    row_id,
)
from app.extensions import local_date, local_today, utcnow
from app.locking import lock
from app.names import Bilingual
from app.notifications import services as mail
from app.people.models import Department, User
from app.sequences import next_value
from app.signatures.services import sign

ISSUABLE = ("approved", "effective")
MAX_COPIES = 99
MAX_LINES = 200


@dataclass(frozen=True)
class LineSpec:
    """One checked recipient of an issue."""

    kind: str
    medium: str
    copies: int
    department: Department | None = None
    user: User | None = None
    location: str | None = None
    custodian: User | None = None

    @property
    def key(self) -> tuple:
        return (*recipient_key(self), self.medium)


def recipient_key(line) -> tuple:
    """Who a line (or a ``LineSpec``) names, comparably: ``(kind, id)`` for a department
    or a person, ``(kind, name)`` for a location, its name compared without case (the
    front desk is one place however it is typed)."""
    if line.department is not None:
        return ("department", line.department.id)
    if line.user is not None:
        return ("user", line.user.id)
    return ("location", (line.location or "").strip().casefold())


def _bad(index: int, field: str, message: str, **params) -> ValidationFailed:
    return ValidationFailed(
        N_("Recipient %(n)s: %(problem)s"),
        fields={f"distribution[{index}].{field}": N_("invalid")},
        n=index + 1,
        problem=message,
        **params,
    )


def parse_distribution(session: Session, entries) -> list[LineSpec]:
    """Check the recipients given to ``issue``: each entry is ``{"department": code}``,
    ``{"user": username}`` or ``{"location": name, "custodian": username}`` with
    ``medium`` (``paper`` or ``electronic``) and ``copies`` (paper: 1–99; electronic: one
    per recipient)."""
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed(
            N_("Name at least one recipient."), fields={"distribution": N_("required")}
        )
    if len(entries) > MAX_LINES:
        raise ValidationFailed(
            N_("At most %(n)s recipients per issue."),
            fields={"distribution": N_("too many")},
            n=MAX_LINES,
        )
    specs: list[LineSpec] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad(i, "recipient", N_("not a recipient"))
        kinds = [k for k in ("department", "user", "location") if entry.get(k)]
        if len(kinds) != 1:
            raise _bad(i, "recipient", N_("give one department, user or location"))
        kind = kinds[0]
        medium = entry.get("medium") or "paper"
        if not isinstance(medium, str) or medium not in MEDIA:
            raise _bad(i, "medium", N_("the medium is paper or electronic"))
        copies = _whole_number(entry.get("copies", 1))
        if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
            raise _bad(i, "copies", N_("the number of copies is 1 to 99"))
        if medium == "electronic" and copies != 1:
            raise _bad(i, "copies", N_("an electronic copy is one per recipient"))
        spec = {"kind": kind, "medium": medium, "copies": copies}
        value = str(entry[kind]).strip()
        if kind == "department":
            dept = session.scalar(select(Department).where(Department.code == value.upper()))
            if dept is None or not dept.is_active:
                raise _bad(i, "department", N_("no active department has this code"))
            spec["department"] = dept
        elif kind == "user":
            spec["user"] = _active_user(session, value, i, "user")
        else:
            if len(value) > 120:
                raise _bad(i, "location", N_("the location name is too long"))
            if not entry.get("custodian"):
                raise _bad(i, "custodian", N_("name the custodian who signs for the copies"))
            spec["location"] = value
            spec["custodian"] = _active_user(
                session, str(entry["custodian"]).strip(), i, "custodian"
            )
        line = LineSpec(**spec)
        if any(s.key == line.key for s in specs):
            raise _bad(i, kind, N_("this recipient is named twice"))
        specs.append(line)
    return specs


def _active_user(session: Session, username: str, index: int, field: str) -> User:
    user = session.scalar(select(User).where(User.username == username.lower()))
    if user is None or not user.is_active:
        raise _bad(index, field, N_("no active user has this username"))
    return user


def _whole_number(value):
    """``value``, or the number a short text of ASCII digits gives ("3" from a form);
    anything else as given, for the caller to refuse."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value) if len(value.strip()) <= 9 else value
    return value


def _check_days(days) -> int:
    if days in (None, ""):
        return DEFAULT_ACKNOWLEDGE_DAYS
    days = _whole_number(days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationFailed(
            N_("Acknowledge within 1 to 365 days."),
            fields={"acknowledge_within_days": N_("invalid")},
        )
    return days


def issue(
    session: Session,
    actor: User | None,
    revision: Revision,
    *,
    distribution: list[LineSpec],
    training_required: bool | None = None,
    acknowledge_within_days=None,
    note: str | None = None,
    today: date | None = None,
) -> Issue:
    """Issue ``revision`` to ``distribution`` (from :func:`parse_distribution`); a second
    call extends the distribution. Creates the copies and, when training is required, the
    acknowledgement tasks of the electronic audience. A recipient who already holds an
    electronic copy of the revision in force gets no second one: ``Conflict`` naming it,
    and nothing is issued."""
    today = today or local_today()
    days = _check_days(acknowledge_within_days)
    # Issues of one revision take turns (app.locking), so two officers issuing at once
    # cannot both give one recipient an electronic copy.
    lock(session, revision)
    if revision.status not in ISSUABLE:
        raise InvalidTransition(
            N_("Only an approved or effective revision can be issued; %(label)s is %(status)s."),
            label=revision.label,
            status=revision.status,
        )
    held = live_electronic_copies(session, revision)
    for i, spec in enumerate(distribution):
        copy = held.get(recipient_key(spec)) if spec.medium == "electronic" else None
        if copy is not None:
            raise Conflict(
                N_(
                    "Recipient %(n)s: %(holder)s already holds electronic copy %(copy)s of this "
                    "revision; one is enough."
                ),
                fields={f"distribution[{i}].{spec.kind}": N_("already holds an electronic copy")},
                n=i + 1,
                holder=holder_name_of(spec),
                copy=copy.copy_no,
            )
    if training_required is None:
        training_required = revision.document.training_required
    note = (note or "").strip() or None
    if note is not None and len(note) > 2000:
        raise ValidationFailed(N_("The note is too long."), fields={"note": N_("too long")})
    now = utcnow()
    record = Issue(
        revision=revision,
        issued_by=actor,
        issued_at=now,
        training_required=bool(training_required),
        acknowledge_within_days=days,
        note=note,
    )
    session.add(record)
    session.flush()
    copy_rows = []
    for spec in distribution:
        line = DistributionLine(
            issue_id=record.id,
            revision_id=revision.id,
            recipient_kind=spec.kind,
            department=spec.department,
            user=spec.user,
            location=spec.location,
            custodian=spec.custodian,
            medium=spec.medium,
            copies=spec.copies,
        )
        session.add(line)
        session.flush()
        for _ in range(spec.copies):
            seq = next_value(session, f"copy:{revision.id}")
            copy_rows.append(
                {
                    "copy_no": copy_number(revision, seq),
                    "revision_id": revision.id,
                    "line_id": line.id,
                    "seq": seq,
                    "medium": spec.medium,
                    "status": "issued",
                    "issued_by_id": actor.id if actor else None,
                    "issued_at": now,
                }
            )
    session.execute(insert(ControlledCopy), copy_rows)
    opened = (
        _open_tasks(session, record, _audience(session, distribution), today)
        if (record.training_required)
        else 0
    )
    audit.record(
        session,
        actor,
        revision.ref,
        "issued",
        after={
            "label": revision.label,
            "issue_id": record.id,
            "recipients": [_describe(spec) for spec in distribution],
            "copies": [row["copy_no"] for row in copy_rows],
            "training_required": record.training_required,
            "acknowledge_within_days": days,
            "tasks_opened": opened,
        },
        reason=note,
    )
    _notify_holders(session, revision, distribution)
    session.flush()
    return record


def live_electronic_copies(session: Session, revision: Revision) -> dict[tuple, ControlledCopy]:
    """The electronic copies of ``revision`` in force, by :func:`recipient_key` of their
    holder: one per recipient, which ``issue`` keeps so (across issues as within one)."""
    copies = session.scalars(
        select(ControlledCopy)
        .where(
            ControlledCopy.revision_id == revision.id,
            ControlledCopy.medium == "electronic",
            ControlledCopy.status.in_(("issued", "received")),
        )
        .options(*_with_holder())
        .order_by(ControlledCopy.seq)
    )
    held: dict[tuple, ControlledCopy] = {}
    for copy in copies:
        held.setdefault(recipient_key(copy.line), copy)
    return held


def _describe(spec: LineSpec) -> dict:
    out = {spec.kind: recipient_of(spec), "medium": spec.medium, "copies": spec.copies}
    if spec.custodian is not None:
        out["custodian"] = spec.custodian.username
    return out


def _audience(session: Session, distribution) -> dict[int, int | None]:
    """Who must read and acknowledge: {user id: department id} of the electronic lines."""
    dept_ids = [s.department.id for s in distribution if s.medium == "electronic" and s.department]
    people: dict[int, int | None] = {}
    if dept_ids:
        rows = session.execute(
            select(User.id, User.department_id).where(
                User.department_id.in_(dept_ids), User.is_active.is_(True)
            )
        )
        people.update({uid: did for uid, did in rows})
    for spec in distribution:
        if spec.medium == "electronic" and spec.user is not None:
            people[spec.user.id] = spec.user.department_id
    return people


def _open_tasks(session: Session, record: Issue, people: dict[int, int | None], today: date) -> int:
    """One task per person without a live or done task for the revision; bulk-inserted,
    and one mail per person telling them what to read."""
    if not people:
        return 0
    taken = set(
        session.scalars(
            select(Acknowledgement.user_id).where(
                Acknowledgement.revision_id == record.revision_id,
                Acknowledgement.status.in_((*LIVE_ACK_STATUSES, "done")),
            )
        )
    )
    new = [uid for uid in people if uid not in taken]
    if not new:
        return 0
    due = today + timedelta(days=record.acknowledge_within_days)
    now = utcnow()
    session.execute(
        insert(Acknowledgement),
        [
            {
                "revision_id": record.revision_id,
                "user_id": uid,
                "issue_id": record.id,
                "department_id": people[uid],
                "status": "open",
                "due_date": due,
                "created_at": now,
            }
            for uid in new
        ],
    )
    revision = record.revision
    mail.queue_many(
        session,
        new,
        kind="acknowledgement_open",
        subject=N_("Please read and acknowledge: %(number)s %(title)s"),
        body=N_(
            "Revision %(label)s of %(number)s %(title)s has been issued to you. Please read "
            'it and sign "read and understood" by %(day)s (qdms → Read & sign).'
        ),
        object_ref=revision.ref,
        number=revision.document.number,
        title=revision.document.bilingual_title,
        label=revision.label,
        day=due.isoformat(),
    )
    return len(new)


def holders_to_tell(line) -> list[User]:
    """The people told about a paper copy: the person, the custodian, or the department's
    head (else its members are not mailed one by one: the head passes it on)."""
    if line.user is not None:
        return [line.user]
    if line.custodian is not None:
        return [line.custodian]
    head = line.department.head if line.department is not None else None
    return [head] if head is not None and head.is_active else []


def _notify_holders(session: Session, revision: Revision, distribution) -> None:
    doc = revision.document
    paper = [s for s in distribution if s.medium == "paper"]
    for spec in paper:
        for person in holders_to_tell(spec):
            mail.queue(
                session,
                person,
                kind="copy_issued",
                subject=N_("Controlled copy issued: %(number)s %(label)s"),
                body=N_(
                    "Paper controlled copies of %(number)s %(title)s, revision %(label)s, are "
                    "issued to %(holder)s (number of copies: %(copies)s). Please sign the "
                    "receipt in qdms when you receive them."
                ),
                object_ref=revision.ref,
                number=doc.number,
                title=doc.bilingual_title,
                label=revision.label,
                copies=spec.copies,
                holder=Bilingual(holder_name_of(spec, "zh_CN"), holder_name_of(spec, "en")),
            )


# Receipt and return ------------------------------------------------------------------


def get_copy(session: Session, copy_no: str) -> ControlledCopy:
    copy = session.scalar(
        select(ControlledCopy)
        .where(ControlledCopy.copy_no == copy_no)
        .options(joinedload(ControlledCopy.line), joinedload(ControlledCopy.revision))
    )
    if copy is None:
        raise NotFound(N_("No controlled copy %(copy)s."), copy=copy_no)
    return copy


def visible_copy(session: Session, user: User, copy_no: str) -> ControlledCopy:
    """The copy, or NotFound when it does not exist or ``user`` may not see it."""
    copy = get_copy(session, copy_no.upper())
    if not can_view_copy(user, copy):
        raise NotFound(N_("No controlled copy %(copy)s."), copy=copy_no)
    return copy


def sign_receipt(session: Session, actor: User, copy: ControlledCopy, *, password: str):
    """The holder signs for a paper copy (签收)."""
    lock(session, copy)
    if copy.medium != "paper":
        raise InvalidTransition(N_("An electronic copy needs no receipt."))
    if not holds(actor, copy.line):
        raise PermissionDenied(
            N_("Only the holder of %(copy)s can sign its receipt."), copy=copy.copy_no
        )
    if copy.status != "issued":
        raise InvalidTransition(
            N_("Copy %(copy)s is %(status)s; its receipt cannot be signed."),
            copy=copy.copy_no,
            status=COPY_STATUSES[copy.status],
        )
    sig = sign(
        session,
        actor,
        password,
        meaning="received",
        object_ref=copy.ref,
        content=f"{copy.copy_no}|{copy.revision.file_sha256 or ''}",
    )
    copy.status = "received"
    copy.received_by = actor
    copy.received_at = sig.signed_at
    copy.receipt_signature_id = sig.id
    session.flush()
    audit.record(
        session,
        actor,
        copy.ref,
        "copy_received",
        before={"status": "issued"},
        after={"status": "received", "signature_id": sig.id},
    )
    return copy


def printable_copy(session: Session, actor: User, revision: Revision, copy_no: str):
    """The paper copy ``copy_no`` of ``revision`` (its full number or just ``C01``), for
    the quality officer to print as a controlled copy. Refused for an electronic copy, and
    for a copy or revision no longer in force (a recalled copy is never printed again)."""
    if not can_issue(actor):
        raise PermissionDenied(N_("Only the quality officer prints controlled copies."))
    wanted = (copy_no or "").strip().upper()
    if re.fullmatch(r"C\d+", wanted):
        wanted = copy_number(revision, int(wanted[1:]))
    copy = session.scalar(
        select(ControlledCopy).where(
            ControlledCopy.revision_id == revision.id, ControlledCopy.copy_no == wanted
        )
    )
    if copy is None:
        raise NotFound(
            N_("Revision %(label)s has no copy %(copy)s."), label=revision.label, copy=copy_no
        )
    if copy.medium != "paper":
        raise InvalidTransition(
            N_("%(copy)s is an electronic copy: it is read in qdms, not printed."),
            copy=copy.copy_no,
        )
    if not copy_in_force(copy):
        raise InvalidTransition(
            N_("%(copy)s is no longer in force: it cannot be printed as a controlled copy."),
            copy=copy.copy_no,
        )
    return copy


def record_print(session: Session, actor: User, copy: ControlledCopy) -> None:
    """Each print of a controlled copy is an audit event on the copy: a second print of the
    same copy number is visible to the auditor."""
    audit.record(session, actor, copy.ref, "copy_printed", after={"copy_no": copy.copy_no})


@signals.controlled_copy_print.connect
def print_controlled_copy(
    revision: Revision, *, session: Session, user: User, copy_no: str
) -> ControlledCopy:
    """The document print asks for a controlled copy (``signals.controlled_copy_print``):
    the printable copy, its print recorded (the request rolls back if the print fails)."""
    copy = printable_copy(session, user, revision, copy_no)
    record_print(session, user, copy)
    return copy


def record_return(
    session: Session,
    actor: User,
    copy: ControlledCopy,
    *,
    returned_by: str,
    disposition: str,
    note: str | None = None,
) -> ControlledCopy:
    """The officer records a recalled copy coming back: who returned it and whether it was
    destroyed or kept (marked) as an obsolete reference. Closes the copy's recall."""
    lock(session, copy)
    if copy.status != "recall_open":
        raise InvalidTransition(
            N_("Copy %(copy)s has no open recall (it is %(status)s)."),
            copy=copy.copy_no,
            status=COPY_STATUSES[copy.status],
        )
    returned_by = (returned_by or "").strip()
    if not returned_by or len(returned_by) > 120:
        raise ValidationFailed(
            N_("Say who returned the copy."), fields={"returned_by": N_("required")}
        )
    if disposition not in DISPOSITIONS:
        raise ValidationFailed(
            N_("The disposition is destroyed or kept as marked obsolete reference."),
            fields={"disposition": N_("invalid")},
        )
    person = session.scalar(select(User).where(User.username == returned_by.lower()))
    copy.status = "returned"
    copy.returned_at = utcnow()
    copy.returned_by_id = person.id if person else None
    copy.returned_by_name = person.full_name if person else returned_by
    copy.return_recorded_by_id = actor.id
    copy.disposition = disposition
    session.flush()
    audit.record(
        session,
        actor,
        copy.ref,
        "copy_returned",
        before={"status": "recall_open"},
        after={
            "status": "returned",
            "returned_by": copy.returned_by_name,
            "disposition": disposition,
        },
        reason=(note or "").strip() or None,
    )
    return copy


# When a revision stops being in force -------------------------------------------------


@signals.revision_retired.connect
def revision_retired(
    revision: Revision,
    *,
    session: Session,
    actor: User | None,
    successor: Revision | None = None,
    today: date | None = None,
) -> None:
    """The document workflow superseded or withdrew ``revision`` (``signals.
    revision_retired``, in its transaction): recalls its paper copies, ends its electronic
    copies, closes its open tasks, and (on supersession) gives the successor the same
    electronic audience."""
    today = today or local_today()
    now = utcnow()
    copies = session.scalars(
        select(ControlledCopy)
        .where(
            ControlledCopy.revision_id == revision.id,
            ControlledCopy.status.in_(("issued", "received")),
        )
        .options(joinedload(ControlledCopy.line))
        .order_by(ControlledCopy.seq)
    ).all()
    recalled: dict[int, list[str]] = {}
    for copy in copies:
        before = copy.status
        if copy.medium == "paper":
            copy.status, copy.recall_opened_at = "recall_open", now
            recalled.setdefault(copy.line_id, []).append(copy.copy_no)
            action = "recall_opened"
        else:
            copy.status, copy.withdrawn_at = "withdrawn", now
            action = "copy_withdrawn"
        audit.record(
            session,
            actor,
            copy.ref,
            action,
            before={"status": before},
            after={
                "status": copy.status,
                "revision": f"{revision.document.number} {revision.label}",
                "revision_status": revision.status,
            },
        )
    session.flush()
    _notify_recall(session, revision, copies, recalled)
    closing = "superseded" if successor is not None else "cancelled"
    closed = session.execute(
        update(Acknowledgement)
        .where(
            Acknowledgement.revision_id == revision.id,
            Acknowledgement.status.in_(LIVE_ACK_STATUSES),
        )
        .values(
            status=closing,
            closed_at=now,
            close_reason=f"{revision.label} {revision.status}",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        audit.record(
            session,
            actor,
            revision.ref,
            "acknowledgements_closed",
            after={"label": revision.label, "status": closing, "tasks": closed},
        )
    if successor is not None:
        _carry_forward(session, actor, revision, successor, today)


def _notify_recall(session, revision, copies, recalled: dict[int, list[str]]) -> None:
    lines = {c.line_id: c.line for c in copies}
    for line_id, numbers in recalled.items():
        for person in holders_to_tell(lines[line_id]):
            mail.queue(
                session,
                person,
                kind="recall_open",
                subject=N_("Please return obsolete copies of %(number)s %(label)s"),
                body=N_(
                    "Revision %(label)s of %(number)s %(title)s is no longer in force. Please "
                    "return these controlled copies to the quality officer: %(copies)s."
                ),
                object_ref=revision.ref,
                number=revision.document.number,
                title=revision.document.bilingual_title,
                label=revision.label,
                copies=", ".join(numbers),
            )


def _carry_forward(session, actor, previous: Revision, successor: Revision, today: date) -> None:
    """A successor not issued yet goes electronically to the previous electronic audience;
    paper copies wait for the officer (they are printed and numbered on issue)."""
    if session.scalar(select(Issue.id).where(Issue.revision_id == successor.id).limit(1)):
        return
    lines = session.scalars(
        select(DistributionLine)
        .where(DistributionLine.revision_id == previous.id, DistributionLine.medium == "electronic")
        .order_by(DistributionLine.id)
    ).all()
    specs, seen = [], set()
    for line in lines:
        if line.department is not None and not line.department.is_active:
            continue
        if line.user is not None and not line.user.is_active:
            continue
        spec = LineSpec(
            kind=line.recipient_kind,
            medium="electronic",
            copies=1,
            department=line.department,
            user=line.user,
            location=line.location,
            custodian=line.custodian,
        )
        if spec.key not in seen:
            seen.add(spec.key)
            specs.append(spec)
    if not specs:
        return
    last = session.scalars(
        select(Issue).where(Issue.revision_id == previous.id).order_by(Issue.id.desc()).limit(1)
    ).first()
    issue(
        session,
        actor,
        successor,
        distribution=specs,
        training_required=successor.document.training_required,
        acknowledge_within_days=last.acknowledge_within_days if last else None,
        note=f"carried forward from {previous.label}",
        today=today,
    )


# People joining or leaving -------------------------------------------------------------


@signals.membership_changed.connect
def membership_changed(
    user: User,
    *,
    session: Session,
    previous_department_id: int | None,
    was_active: bool,
    today: date | None = None,
) -> None:
    """A user was created, moved or (de)activated (``signals.membership_changed``, sent by
    the people service in its transaction): a person who leaves a department's audience
    (or the organisation) loses its open tasks; one who joins gets the tasks of the
    department's current documents."""
    today = today or local_today()
    now = utcnow()
    left_dept = previous_department_id is not None and (
        previous_department_id != user.department_id or not user.is_active
    )
    if not user.is_active and was_active:
        _close_tasks(session, user, Acknowledgement.user_id == user.id, now, "user deactivated")
    elif left_dept:
        # tasks that came from the old department's distribution (not those named to them)
        named = select(DistributionLine.revision_id).where(
            DistributionLine.user_id == user.id, DistributionLine.medium == "electronic"
        )
        _close_tasks(
            session,
            user,
            and_(
                Acknowledgement.user_id == user.id,
                Acknowledgement.department_id == previous_department_id,
                Acknowledgement.revision_id.not_in(named),
            ),
            now,
            "left department",
        )
    joined = (
        user.is_active
        and user.department_id is not None
        and (user.department_id != previous_department_id or not was_active)
    )
    if not joined:
        return
    issues = (
        session.scalars(
            select(Issue)
            .join(DistributionLine, DistributionLine.issue_id == Issue.id)
            .join(Revision, Revision.id == Issue.revision_id)
            .where(
                DistributionLine.department_id == user.department_id,
                DistributionLine.medium == "electronic",
                Issue.training_required.is_(True),
                Revision.status.in_(ISSUABLE),
            )
            .order_by(Issue.id)
        )
        .unique()
        .all()
    )
    for record in issues:
        _open_tasks(session, record, {user.id: user.department_id}, today)


def _close_tasks(session, user, where, now, reason: str) -> None:
    closed = session.execute(
        update(Acknowledgement)
        .where(where, Acknowledgement.status.in_(LIVE_ACK_STATUSES))
        .values(status="cancelled", closed_at=now, close_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        audit.record(
            session,
            None,
            f"user:{user.username}",
            "acknowledgements_closed",
            after={"status": "cancelled", "tasks": closed},
            reason=reason,
        )


# Acknowledgements ----------------------------------------------------------------------


def get_acknowledgement(session: Session, ack_id) -> Acknowledgement:
    ack_id = row_id(ack_id) or 0
    ack = session.get(Acknowledgement, ack_id) if ack_id else None
    if ack is None:
        raise NotFound(N_("No acknowledgement %(id)s."), id=ack_id)
    return ack


def visible_acknowledgement(session: Session, user: User, ack_id) -> Acknowledgement:
    """The task, or NotFound when it does not exist or ``user`` may not see it."""
    ack = get_acknowledgement(session, ack_id)
    if not can_view_acknowledgement(user, ack):
        raise NotFound(N_("No acknowledgement %(id)s."), id=ack_id)
    return ack


def sign_acknowledgement(
    session: Session, actor: User, ack: Acknowledgement, *, password: str
) -> Acknowledgement:
    """The person signs "read and understood" for the exact revision file."""
    lock(session, ack)
    if ack.user_id != actor.id:
        raise PermissionDenied(
            N_("Only %(name)s can sign this acknowledgement."), name=ack.user.full_name
        )
    if ack.status not in LIVE_ACK_STATUSES:
        raise InvalidTransition(
            N_("This acknowledgement is %(status)s; it cannot be signed."),
            status=ACK_STATUSES[ack.status],
        )
    revision = ack.revision
    sig = sign(
        session,
        actor,
        password,
        meaning="read_and_understood",
        object_ref=revision.ref,
        content=f"{revision.document.number}|{revision.label}|{revision.file_sha256 or ''}",
        about={"label": revision.label},
    )
    before = ack.status
    ack.status, ack.signed_at, ack.signature_id, ack.closed_at = (
        "done",
        sig.signed_at,
        sig.id,
        sig.signed_at,
    )
    session.flush()
    audit.record(
        session,
        actor,
        ack.ref,
        "acknowledged",
        before={"status": before},
        after={"status": "done", "revision": f"{revision.document.number} {revision.label}"},
    )
    return ack


def status_filter(status: str | None, today: date):
    """A WHERE clause for an acknowledgement status as people see it (see ``state``)."""
    if status in (None, "", "all"):
        return None
    if status == "open":
        return and_(Acknowledgement.status == "open", Acknowledgement.due_date >= today)
    if status == "overdue":
        return or_(
            Acknowledgement.status == "overdue",
            and_(Acknowledgement.status == "open", Acknowledgement.due_date < today),
        )
    if status == "live":
        return Acknowledgement.status.in_(LIVE_ACK_STATUSES)
    if status in ACK_STATUSES:
        return Acknowledgement.status == status
    raise ValidationFailed(
        N_("Unknown status %(status)s."), fields={"status": N_("invalid")}, status=status
    )


def acknowledgements_query(user_id: int | None, status: str | None, today: date):
    stmt = (
        select(Acknowledgement)
        .join(Acknowledgement.revision)
        .join(Revision.document)
        .options(
            joinedload(Acknowledgement.revision).joinedload(Revision.document),
            joinedload(Acknowledgement.user),
        )
    )
    if user_id is not None:
        stmt = stmt.where(Acknowledgement.user_id == user_id)
    clause = status_filter(status, today)
    if clause is not None:
        stmt = stmt.where(clause)
    live_first = case((Acknowledgement.status.in_(LIVE_ACK_STATUSES), 0), else_=1)
    return stmt.order_by(live_first, Acknowledgement.due_date, Acknowledgement.id)


def open_task_count(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Acknowledgement)
        .where(Acknowledgement.user_id == user.id, Acknowledgement.status.in_(LIVE_ACK_STATUSES))
    )


# Copies and recalls ---------------------------------------------------------------------


def _with_holder() -> tuple:
    """Loader options for showing copies: holder (department, person, custodian) and the
    document of the revision, in the same query."""
    line = joinedload(ControlledCopy.line)
    return (
        line.joinedload(DistributionLine.department),
        line.joinedload(DistributionLine.user),
        line.joinedload(DistributionLine.custodian),
        joinedload(ControlledCopy.revision).joinedload(Revision.document),
    )


def copies_query(
    user, *, document: str | None = None, status: str | None = None, holder: User | None = None
):
    stmt = (
        select(ControlledCopy)
        .join(ControlledCopy.line)
        .join(ControlledCopy.revision)
        .join(Revision.document)
        .where(visible_copies(user))
        .options(*_with_holder())
    )
    if document:
        stmt = stmt.where(Document.number == document.strip().upper())
    if status:
        if status not in COPY_STATUSES:
            raise ValidationFailed(
                N_("Unknown status %(status)s."), fields={"status": N_("invalid")}, status=status
            )
        stmt = stmt.where(ControlledCopy.status == status)
    if holder is not None:
        clauses = [
            DistributionLine.user_id == holder.id,
            DistributionLine.custodian_id == holder.id,
        ]
        if holder.department_id is not None:
            clauses.append(DistributionLine.department_id == holder.department_id)
        stmt = stmt.where(or_(*clauses))
    return stmt.order_by(Document.number, Revision.id, ControlledCopy.seq)


def recall_register(session: Session, today: date, language: str | None = None) -> dict:
    """Outstanding recalls: each open copy with its age, and the totals by holder (named
    in ``language``)."""
    copies = session.scalars(
        select(ControlledCopy)
        .where(ControlledCopy.status == "recall_open")
        .options(*_with_holder())
        .order_by(ControlledCopy.recall_opened_at, ControlledCopy.copy_no)
    ).all()
    # age in whole days since the recall opened (by its UTC date)
    rows = [{"copy": c, "age": (today - local_date(c.recall_opened_at)).days} for c in copies]
    by_holder = Counter(c.line.name_in(language) for c in copies)
    oldest: dict[str, int] = {}
    for row in rows:
        name = row["copy"].line.name_in(language)
        oldest[name] = max(oldest.get(name, 0), row["age"])
    return {
        "rows": rows,
        "by_holder": [
            {"holder": name, "count": count, "oldest": oldest[name]}
            for name, count in sorted(by_holder.items(), key=lambda kv: (-oldest[kv[0]], kv[0]))
        ],
    }


def open_recall_count(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ControlledCopy)
        .where(ControlledCopy.status == "recall_open")
    )


def distribution_of(session: Session, revision: Revision) -> list[ControlledCopy]:
    """Every copy of ``revision`` with its holder, in copy-number order."""
    return list(
        session.scalars(
            select(ControlledCopy)
            .where(ControlledCopy.revision_id == revision.id)
            .options(*_with_holder(), joinedload(ControlledCopy.received_by))
            .order_by(ControlledCopy.seq)
        )
    )


def holdings(session: Session, document: Document) -> list[ControlledCopy]:
    """Who holds what: the copies of any revision of ``document`` still out there (issued,
    received, or recalled and not yet back), newest revision first."""
    return list(
        session.scalars(
            select(ControlledCopy)
            .join(ControlledCopy.revision)
            .where(
                Revision.document_id == document.id,
                ControlledCopy.status.in_(("issued", "received", "recall_open")),
            )
            .options(*_with_holder(), joinedload(ControlledCopy.received_by))
            .order_by(Revision.id.desc(), ControlledCopy.seq)
        )
    )


def holders_of(session: Session, revision: Revision) -> list[dict]:
    """Who already holds ``revision``, one row per recipient in copy-number order: the
    electronic copy in force (``electronic``, a copy number or None) and the paper copies
    out (``paper``, copy numbers) — shown on the issue form."""
    rows: dict[tuple, dict] = {}
    for copy in distribution_of(session, revision):
        if copy.status not in ("issued", "received"):
            continue
        row = rows.setdefault(
            recipient_key(copy.line),
            {"holder": copy.line.holder_name, "electronic": None, "paper": []},
        )
        if copy.medium == "electronic":
            row["electronic"] = row["electronic"] or copy.copy_no
        else:
            row["paper"].append(copy.copy_no)
    return list(rows.values())


def previous_distribution(session: Session, revision: Revision) -> list[dict]:
    """The recipients of the document's latest issued earlier revision, as form rows, so
    a new revision is issued to the same people in one click — less the electronic
    recipients who already hold ``revision`` (the carried-forward issue gave it to them:
    one electronic copy per recipient)."""
    prev = session.scalar(
        select(Revision.id)
        .join(Issue, Issue.revision_id == Revision.id)
        .where(Revision.document_id == revision.document_id, Revision.id != revision.id)
        .order_by(Revision.id.desc())
        .limit(1)
    )
    if prev is None:
        return []
    held = live_electronic_copies(session, revision)
    rows: dict[tuple, dict] = {}  # one row per recipient and medium, copies added up
    for line in session.scalars(
        select(DistributionLine)
        .where(DistributionLine.revision_id == prev)
        .order_by(DistributionLine.id)
    ):
        if line.medium == "electronic" and recipient_key(line) in held:
            continue
        key = (line.recipient_kind, recipient_of(line), line.medium)
        row = rows.setdefault(
            key,
            {
                "kind": key[0],
                "who": key[1],
                "medium": key[2],
                "copies": 0,
                "custodian": line.custodian.username if line.custodian else "",
            },
        )
        row["copies"] += line.copies
    return list(rows.values())


# The matrix ------------------------------------------------------------------------------


def matrix(session: Session, user: User, today: date, *, department: str | None = None) -> dict:
    """Completion per document × department for the current revisions that require
    acknowledgement: {done, total} per cell; one aggregate query.

    The tasks are counted per revision and department on their own columns first, and
    only the few thousand cells are joined to their revision and document: joining each
    of a million tasks before grouping them by document number and title took seconds.
    """
    overdue = or_(
        Acknowledgement.status == "overdue",
        and_(Acknowledgement.status == "open", Acknowledgement.due_date < today),
    )
    counts = (
        select(
            Acknowledgement.revision_id,
            Acknowledgement.department_id,
            func.count().label("total"),
            func.sum(case((Acknowledgement.status == "done", 1), else_=0)).label("done"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
        )
        .where(
            Acknowledgement.status.in_(("done", *LIVE_ACK_STATUSES)),
            Acknowledgement.revision_id.in_(
                select(Revision.id).where(Revision.status.in_(ISSUABLE))
            ),
            matrix_departments(user),
        )
        .group_by(Acknowledgement.revision_id, Acknowledgement.department_id)
    )
    if department:
        counts = counts.where(
            Acknowledgement.department_id.in_(
                select(Department.id).where(Department.code == department)
            )
        )
    counts = counts.subquery()
    stmt = (
        select(
            Document.number,
            Document.title,
            Document.title_en,
            Revision.major,
            Revision.minor,
            counts.c.department_id,
            counts.c.total,
            counts.c.done,
            counts.c.overdue,
        )
        .select_from(counts)
        .join(Revision, Revision.id == counts.c.revision_id)
        .join(Document, Document.id == Revision.document_id)
        .order_by(Document.number, Revision.major, Revision.minor, counts.c.department_id)
    )
    # one row per current revision: an effective revision and its approved successor,
    # issued early for training, are two rows
    cells: dict[tuple, dict] = {}
    dept_ids: set[int | None] = set()
    for row in session.execute(stmt):
        doc = cells.setdefault(
            (row.number, row.major, row.minor),
            {
                "number": row.number,
                "title": Bilingual(row.title, row.title_en),
                "revision": f"{row.major}/{row.minor}",
                "cells": {},
                "done": 0,
                "total": 0,
                "overdue": 0,
            },
        )
        doc["cells"][row.department_id] = {
            "done": row.done,
            "total": row.total,
            "overdue": row.overdue,
        }
        doc["done"] += row.done
        doc["total"] += row.total
        doc["overdue"] += row.overdue
        dept_ids.add(row.department_id)
    depts = {
        d.id: d
        for d in session.scalars(
            select(Department).where(Department.id.in_([i for i in dept_ids if i]))
        )
    }
    columns = sorted((depts[i] for i in dept_ids if i in depts), key=lambda d: d.code)
    return {
        "documents": list(cells.values()),
        "departments": columns,
        "has_unassigned": None in dept_ids,
    }


def people_matrix_query(user: User, today: date, *, department: str | None = None):
    """Per person: open, overdue and done tasks for current revisions (one grouped row per
    person, for paging).

    Counted per person and department on the tasks' own columns first, then joined to the
    few thousand people (see ``matrix``)."""
    overdue = or_(
        Acknowledgement.status == "overdue",
        and_(Acknowledgement.status == "open", Acknowledgement.due_date < today),
    )
    counts = (
        select(
            Acknowledgement.user_id,
            Acknowledgement.department_id,
            func.sum(case((Acknowledgement.status == "done", 1), else_=0)).label("done"),
            func.sum(
                case((and_(Acknowledgement.status.in_(LIVE_ACK_STATUSES), ~overdue), 1), else_=0)
            ).label("open"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
        )
        .where(
            Acknowledgement.status.in_((*LIVE_ACK_STATUSES, "done")),
            Acknowledgement.revision_id.in_(
                select(Revision.id).where(Revision.status.in_(ISSUABLE))
            ),
            matrix_departments(user),
        )
        .group_by(Acknowledgement.user_id, Acknowledgement.department_id)
    )
    if department:
        counts = counts.where(
            Acknowledgement.department_id.in_(
                select(Department.id).where(Department.code == department)
            )
        )
    counts = counts.subquery()
    return (
        select(
            User.username,
            User.full_name,
            Department.code.label("department"),
            counts.c.done,
            counts.c.open,
            counts.c.overdue,
        )
        .select_from(counts)
        .join(User, User.id == counts.c.user_id)
        .outerjoin(Department, Department.id == counts.c.department_id)
        .order_by(Department.code, User.username)
    )


def training_history(session: Session, person: User) -> list[Acknowledgement]:
    return list(
        session.scalars(
            select(Acknowledgement)
            .where(Acknowledgement.user_id == person.id)
            .options(
                joinedload(Acknowledgement.revision).joinedload(Revision.document),
                joinedload(Acknowledgement.signature),
            )
            .order_by(Acknowledgement.created_at.desc(), Acknowledgement.id.desc())
        )
    )
