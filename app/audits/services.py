"""Internal audits, ISO 9001 9.2 and ISO 19011 (docs/adr/0045).

Lifecycle::

    planned → prepared → in_progress → reporting → closed
    planned | prepared | in_progress → cancelled

``TRANSITIONS`` is the whole table; ``_move`` is the only place an audit's status changes
and refuses anything not in the table with :class:`InvalidTransition` (409). Gates:

- ``prepare``: the checklist has at least one item;
- ``start``: no auditor belongs to an audited department, unless an officer recorded a
  justification (ISO 9001 9.2.2c) — refused with a 409 naming the auditor otherwise;
- ``report``: no checklist item is still to do;
- ``close``: the lead auditor signed the report, no finding awaits the lead auditor's
  decision, and every nonconformity raised by a standing finding has an approved action
  plan (owners and due dates).

Every state-changing service locks the audit's row first (``app.locking``): of two racing
requests one changes it, the other reads the committed state and gets a 409. Checklist
items are added, edited, reordered and removed only before the audit starts; verdicts,
evidence and links only while it is in progress. A major or minor NC verdict raises a
finding and opens a nonconformity (source ``audit``) through ``app.capa.services`` in the
same transaction, so an error anywhere writes nothing. Services flush and never commit.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from app import inputs
from app.audit_trail import services as audit
from app.audit_trail.lifecycle import Lifecycle
from app.audit_trail.services import canonical_json
from app.audits.models import (
    ATTACHMENT_MIMETYPES,
    DEFAULT_STANDARD,
    NC_VERDICTS,
    STATUSES,
    TYPES,
    VERDICTS,
    Audit,
    AuditCriterionChoice,
    AuditDepartment,
    AuditTeamMember,
    ChecklistItem,
    Criterion,
    Finding,
    ItemAttachment,
    normalise_number,
)
from app.audits.permissions import can_view_audit
from app.capa import services as capa
from app.capa.models import OPEN_STATUSES, NcLink, Nonconformity
from app.complaints import queries as complaint_queries
from app.documents.models import Document, Revision
from app.documents.permissions import can_view_document, can_view_revision
from app.errors import N_, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import local_day_start, local_today, utcnow
from app.locking import lock
from app.notifications import services as mail
from app.people.models import Department, User, UserRole
from app.records.models import Record
from app.records.permissions import can_view_record
from app.risks.models import RiskPoint
from app.sequences import next_value
from app.signatures.services import sign
from app.storage import FileStore, store_bytes
from app.uploads import CheckedFile

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "prepare": (frozenset({"planned"}), "prepared"),
    "start": (frozenset({"prepared"}), "in_progress"),
    "report": (frozenset({"in_progress"}), "reporting"),
    "close": (frozenset({"reporting"}), "closed"),
    "cancel": (frozenset({"planned", "prepared", "in_progress"}), "cancelled"),
}
EVENTS = {
    "prepare": "audit_prepared",
    "start": "audit_started",
    "report": "audit_reporting",
    "close": "audit_closed",
    "cancel": "audit_cancelled",
}
ACTION_LABELS = {
    "prepare": N_("prepared"),
    "start": N_("started"),
    "report": N_("moved to reporting"),
    "close": N_("closed"),
    "cancel": N_("cancelled"),
}
ALLOWED_EDGES = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
STAMPS = {"in_progress": "started_at", "reporting": "ended_at", "closed": "closed_at"}
STAMPS["cancelled"] = "cancelled_at"
EDITABLE = frozenset({"planned", "prepared"})
PLANNED_NC = frozenset({"action_planned", "implemented", "verifying", "closed"})
MAX_TEXT = 8000
MAX_ITEMS = 500
MAX_LINKS = 30
MAX_ATTACHMENTS = 10
REMIND_DAYS_BEFORE = 7
UNSIGNED_DAYS_AFTER = 14


# the only place a status changes: the table checked, the time stamped, the trail written
_move = Lifecycle(TRANSITIONS, STATUSES, ACTION_LABELS, EVENTS, STAMPS).move


# Loading ---------------------------------------------------------------------------------


def get_audit(session: Session, number: str) -> Audit:
    a = session.scalar(
        select(Audit)
        .where(Audit.number == normalise_number(number))
        .options(
            selectinload(Audit.items),
            selectinload(Audit.findings),
            selectinload(Audit.departments),
            selectinload(Audit.team),
            selectinload(Audit.criteria),
        )
    )
    if a is None:
        raise NotFound(N_("No audit %(number)s."), number=number)
    return a


def visible_audit(session: Session, user: User, number: str) -> Audit:
    """The audit for a reader who may see it; otherwise NotFound (404)."""
    a = get_audit(session, number)
    if not can_view_audit(user, a):
        raise NotFound(N_("No audit %(number)s."), number=number)
    return a


def get_item(a: Audit, item_id) -> ChecklistItem:
    item = next((i for i in a.items if i.id == item_id), None)
    if item is None:
        raise NotFound(N_("No such checklist item."))
    return item


def get_finding(a: Audit, finding_id) -> Finding:
    finding = next((f for f in a.findings if f.id == finding_id), None)
    if finding is None:
        raise NotFound(N_("No such finding."))
    return finding


def list_stmt(
    *, where, year: int | None = None, status: str | None = None, department: str | None = None
) -> Select:
    stmt = select(Audit).where(where)
    if year:
        stmt = stmt.where(Audit.year == year)
    if status:
        stmt = stmt.where(Audit.status == status)
    if department:
        stmt = stmt.where(
            Audit.id.in_(
                select(AuditDepartment.audit_id)
                .join(Department, Department.id == AuditDepartment.department_id)
                .where(Department.code == department.strip().upper())
            )
        )
    return stmt.order_by(Audit.planned_start.desc(), Audit.id.desc())


# Input helpers ---------------------------------------------------------------------------


def _text(value, field: str, message: str, *, required: bool = True, max_len: int = MAX_TEXT):
    return inputs.text(value, field, message, required=required, max_len=max_len)


def _departments(session: Session, codes) -> list[Department]:
    out: list[Department] = []
    for code in codes or []:
        dept = capa.department_by_code(session, code, "departments")
        if dept not in out:
            out.append(dept)
    if not out:
        raise ValidationFailed(
            N_("Please choose the departments to audit."), fields={"departments": N_("required")}
        )
    return out


def _criteria(session: Session, codes, standard: str = DEFAULT_STANDARD) -> list[Criterion]:
    wanted = [str(c).strip() for c in codes or [] if str(c).strip()]
    if not wanted:
        raise ValidationFailed(
            N_("Please choose the clauses to audit against."), fields={"clauses": N_("required")}
        )
    found = {
        c.code: c
        for c in session.scalars(
            select(Criterion).where(Criterion.code.in_(wanted), Criterion.standard == standard)
        )
    }
    if len(found) < len(set(wanted)):
        # the criteria of other standards, for codes no clause of the default one has
        for c in session.scalars(select(Criterion).where(Criterion.code.in_(wanted))):
            found.setdefault(c.code, c)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed(
            N_("No clause %(code)s in the library."),
            fields={"clauses": N_("invalid")},
            code=missing[0],
        )
    out: list[Criterion] = []
    for code in wanted:
        if found[code] not in out:
            out.append(found[code])
    return sorted(out, key=lambda c: (c.standard != standard, c.position))


def _dates(start, end) -> tuple[date, date]:
    if not isinstance(start, date):
        raise ValidationFailed(
            N_("Please give the planned start."), fields={"planned_start": N_("required")}
        )
    if not isinstance(end, date):
        end = start
    if end < start:
        raise ValidationFailed(
            N_("The audit cannot end before it starts."), fields={"planned_end": N_("invalid")}
        )
    return start, end


def independence_conflicts(a: Audit) -> list[User]:
    """The auditors (lead and team) who belong to a department the audit covers."""
    depts = {d.id for d in a.departments}
    heads = {d.head_id for d in a.departments}
    return [u for u in a.auditors if u.department_id in depts or u.id in heads]


def warnings_for(a: Audit) -> list[dict]:
    """What the planner should know: auditors auditing their own department."""
    return [
        {
            "code": "independence",
            "username": u.username,
            "message": N_("%(name)s belongs to an audited department (ISO 9001 9.2.2c)."),
            "name": u.full_name,
        }
        for u in independence_conflicts(a)
    ]


# Planning --------------------------------------------------------------------------------


def plan(
    session: Session,
    actor: User,
    *,
    type: str = "internal",
    title: str,
    objectives: str,
    scope: str,
    clauses: list[str],
    departments: list[str],
    lead_auditor: str,
    team: list[str] | None = None,
    planned_start: date,
    planned_end: date | None = None,
    client: str | None = None,
    places: str | None = None,
    independence_justification: str | None = None,
    standard: str = DEFAULT_STANDARD,
) -> Audit:
    """Plan an audit (officers and auditors); its checklist is generated from the chosen
    criteria's questions. It gets the next ``AUD-{yyyy}-{seq:03}`` of its start's year.
    An auditor of an audited department is a warning (``warnings_for``), not an error."""
    if type not in TYPES:
        raise ValidationFailed(
            N_("Please choose the audit type."), fields={"type": N_("not one of the choices")}
        )
    title = _text(title, "title", N_("Please give the audit a title."), max_len=300)
    objectives = _text(objectives, "objectives", N_("Please state the audit objectives."))
    scope = _text(scope, "scope", N_("Please state the audit scope."))
    client = _text(client, "client", "", required=False)
    places = _text(places, "places", "", required=False)
    justification = _text(
        independence_justification, "independence_justification", "", required=False
    )
    if justification and not actor.has_role("officer"):
        raise PermissionDenied(N_("Only a quality officer may justify an auditor's independence."))
    criteria = _criteria(session, clauses, standard)
    depts = _departments(session, departments)
    lead = capa.user_by_username(session, lead_auditor, "lead_auditor")
    members: list[User] = []
    for name in team or []:
        member = capa.user_by_username(session, name, "team")
        if member.id != lead.id and member not in members:
            members.append(member)
    start, end = _dates(planned_start, planned_end)
    year = start.year
    seq = next_value(session, f"audit:{year}")
    a = Audit(
        number=f"AUD-{year}-{seq:03d}",
        year=year,
        seq=seq,
        type=type,
        title=title,
        objectives=objectives,
        scope=scope,
        client=client,
        places=places,
        status="planned",
        lead_auditor=lead,
        planned_start=start,
        planned_end=end,
        independence_justification=justification,
        justified_by=actor if justification else None,
        created_by=actor,
    )
    session.add(a)
    session.flush()
    for dept in depts:
        session.add(AuditDepartment(audit_id=a.id, department_id=dept.id))
    for member in members:
        session.add(AuditTeamMember(audit_id=a.id, user_id=member.id))
    for c in criteria:
        session.add(AuditCriterionChoice(audit_id=a.id, criterion_id=c.id))
    position = 0
    for c in criteria:
        for q in c.questions:
            position += 1
            session.add(
                ChecklistItem(
                    audit_id=a.id,
                    criterion_id=c.id,
                    clause=c.code,
                    question=q.get("zh") or q.get("en") or "",
                    question_en=q.get("en"),
                    position=position,
                )
            )
    session.flush()
    session.expire(a)
    state = a.audit_state()
    if justification:
        state["justification"] = justification
    audit.record(session, actor, a.ref, "audit_planned", after=state)
    return a


def justify(session: Session, actor: User, a: Audit, *, text: str) -> Audit:
    """The officer records why an auditor may audit their own department (9.2.2c)."""
    lock(session, a)
    if not actor.has_role("officer"):
        raise PermissionDenied(N_("Only a quality officer may justify an auditor's independence."))
    if a.status not in EDITABLE:
        raise InvalidTransition(
            N_("%(number)s has started: the checklist and the plan can no longer change."),
            number=a.number,
        )
    text = _text(text, "text", N_("Please give the justification."))
    a.independence_justification = text
    a.justified_by = actor
    session.flush()
    audit.record(session, actor, a.ref, "audit_justified", after={"justification": text})
    return a


# Checklist ---------------------------------------------------------------------------------


def _require_editable(a: Audit) -> None:
    if a.status not in EDITABLE:
        raise InvalidTransition(
            N_("%(number)s has started: the checklist and the plan can no longer change."),
            number=a.number,
        )


def add_item(
    session: Session, actor: User, a: Audit, *, clause: str, question: str
) -> ChecklistItem:
    """Add a question to the checklist (before the audit starts), at its end."""
    lock(session, a)
    _require_editable(a)
    clause = _text(clause, "clause", N_("Please give the clause."), max_len=32)
    question = _text(question, "question", N_("Please write the question."))
    if len(a.items) >= MAX_ITEMS:
        raise ValidationFailed(N_("The checklist is full."), fields={"question": N_("too long")})
    criterion = next((c for c in a.criteria if c.code == clause), None)
    item = ChecklistItem(
        audit_id=a.id,
        criterion_id=criterion.id if criterion else None,
        clause=clause,
        question=question,
        position=max((i.position for i in a.items), default=0) + 1,
    )
    session.add(item)
    session.flush()
    audit.record(session, actor, a.ref, "audit_item_added", after=item.audit_state())
    return item


def edit_item(
    session: Session,
    actor: User,
    a: Audit,
    item: ChecklistItem,
    *,
    question: str | None = None,
    clause: str | None = None,
) -> ChecklistItem:
    """Reword a question or move it to another clause (before the audit starts)."""
    lock(session, a)
    _require_editable(a)
    before = item.audit_state()
    if question is not None:
        item.question = _text(question, "question", N_("Please write the question."))
        item.question_en = None
    if clause is not None:
        item.clause = _text(clause, "clause", N_("Please give the clause."), max_len=32)
    session.flush()
    audit.record(
        session, actor, a.ref, "audit_item_changed", before=before, after=item.audit_state()
    )
    return item


def remove_item(session: Session, actor: User, a: Audit, item: ChecklistItem) -> None:
    lock(session, a)
    _require_editable(a)
    state = item.audit_state()
    session.delete(item)
    session.flush()
    audit.record(session, actor, a.ref, "audit_item_removed", before=state)


def reorder(session: Session, actor: User, a: Audit, order: list[int]) -> list[ChecklistItem]:
    """Put the checklist in the order given (every item's id, once)."""
    lock(session, a)
    _require_editable(a)
    ids = [i.id for i in a.items]
    if sorted(order or []) != sorted(ids):
        raise ValidationFailed(
            N_("Give every item of the checklist once."), fields={"order": N_("invalid")}
        )
    by_id = {i.id: i for i in a.items}
    for position, item_id in enumerate(order, start=1):
        by_id[item_id].position = position
    session.flush()
    audit.record(session, actor, a.ref, "audit_item_changed", after={"position": order})
    session.expire(a, ["items"])
    return a.items


def resolve_link(session: Session, auditor: User, typed: str) -> str:
    """An object an auditor examined: ``document:QP-CS-001``, ``revision:QP-CS-001/A0`` or
    ``record:…``; it must exist and the auditor must be allowed to see it, else a 400
    (the same words either way: never reveal what the auditor may not see)."""
    text = (typed or "").strip() if isinstance(typed, str) else ""
    kind, _, key = text.partition(":")
    key = key.strip().upper()
    ref = None
    if kind == "document":
        doc = session.scalar(select(Document).where(Document.number == key))
        if doc is not None and can_view_document(auditor, doc):
            ref = f"document:{doc.number}"
    elif kind == "revision":
        number, _, label = key.rpartition("/")
        doc = session.scalar(select(Document).where(Document.number == number))
        if doc is not None:
            rev = next(
                (r for r in doc.revisions if r.path_label == label.replace("/", "")),
                None,
            )
            if isinstance(rev, Revision) and can_view_revision(auditor, rev):
                ref = f"revision:{doc.number}/{rev.path_label}"
    elif kind == "record":
        rec = session.scalar(select(Record).where(Record.number == key))
        if rec is not None and can_view_record(auditor, rec):
            ref = f"record:{rec.number}"
    if ref is None:
        raise ValidationFailed(
            N_(
                "Nothing you may see is called %(link)s: give document:, revision: or "
                "record: and its number."
            ),
            fields={"links": N_("invalid")},
            link=text or "—",
        )
    return ref


def attach(
    session: Session,
    store: FileStore,
    actor: User,
    a: Audit,
    item: ChecklistItem,
    checked: CheckedFile | None,
) -> ItemAttachment:
    """Attach a photo or scan (PDF, JPEG, PNG, already checked by its content) to an item
    while the audit is in progress; stored once in docs_store."""
    lock(session, a)
    if a.status != "in_progress":
        raise InvalidTransition(
            N_("%(number)s is %(status)s: the checklist is filled while the audit is in progress."),
            number=a.number,
            status=STATUSES[a.status],
        )
    if checked is None:
        raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
    if len(item.attachments) >= MAX_ATTACHMENTS:
        raise ValidationFailed(N_("Too many attachments."), fields={"file": N_("too long")})
    blob = store_bytes(session, store, checked.data)
    att = ItemAttachment(
        item_id=item.id,
        sha256=blob.sha256,
        name=checked.file_name[:255],
        mimetype=ATTACHMENT_MIMETYPES.get(checked.kind, "application/octet-stream"),
        size=len(checked.data),
        added_by_id=actor.id,
    )
    session.add(att)
    session.flush()
    audit.record(
        session,
        actor,
        a.ref,
        "audit_attachment_added",
        after={"item": item.id, "attachment": att.name, "sha256": att.sha256},
    )
    return att


def get_attachment(a: Audit, attachment_id) -> ItemAttachment:
    for item in a.items:
        for att in item.attachments:
            if att.id == attachment_id:
                return att
    raise NotFound(N_("No such attachment."))


@dataclass
class ItemResult:
    item: ChecklistItem
    finding: Finding | None = None


def record_item(
    session: Session,
    actor: User,
    a: Audit,
    item: ChecklistItem,
    *,
    done: bool | None = None,
    verdict: str | None = None,
    evidence: str | None = None,
    links: list[str] | None = None,
    department: str | None = None,
    raise_nc: bool = False,
) -> ItemResult:
    """Record progress, verdict, evidence and what was examined (while in progress).

    A major or minor NC verdict raises a finding and opens a nonconformity of the item's
    department (``department``, else the first audited one); an observation or OFI does
    when ``raise_nc`` is asked. An item with a finding keeps its verdict. Everything is
    checked before anything is written."""
    lock(session, a)
    if a.status != "in_progress":
        raise InvalidTransition(
            N_("%(number)s is %(status)s: the checklist is filled while the audit is in progress."),
            number=a.number,
            status=STATUSES[a.status],
        )
    before = item.audit_state()
    if verdict is not None and verdict not in VERDICTS:
        raise ValidationFailed(
            N_("Please choose the verdict."), fields={"verdict": N_("not one of the choices")}
        )
    has_finding = any(f.item_id == item.id for f in a.findings)
    if has_finding and verdict is not None and verdict != item.verdict:
        raise InvalidTransition(
            N_("This item raised a finding: its verdict can no longer change."),
        )
    new_evidence = _text(evidence, "evidence", "", required=False) if evidence is not None else None
    refs: list[str] | None = None
    if links is not None:
        if not isinstance(links, list) or len(links) > MAX_LINKS:
            raise ValidationFailed(N_("Too many links."), fields={"links": N_("too long")})
        refs = []
        for typed in links:
            ref = resolve_link(session, actor, typed)
            if ref not in refs:
                refs.append(ref)
    final_verdict = verdict if verdict is not None else item.verdict
    final_evidence = new_evidence if evidence is not None else item.evidence
    opens = not has_finding and (
        final_verdict in NC_VERDICTS or (raise_nc and final_verdict in ("observation", "ofi"))
    )
    dept = None
    if opens:
        if not final_evidence:
            raise ValidationFailed(
                N_("A finding needs its evidence."), fields={"evidence": N_("required")}
            )
        dept = (
            capa.department_by_code(session, department, "department")
            if department
            else a.departments[0]
        )
        if dept not in a.departments:
            raise ValidationFailed(
                N_("%(code)s is not audited here."),
                fields={"department": N_("invalid")},
                code=dept.code,
            )
    if done is not None:
        item.done = bool(done)
    if verdict is not None:
        item.verdict = verdict
        if done is None:
            item.done = True
    if evidence is not None:
        item.evidence = new_evidence
    if refs is not None:
        item.links_json = json.dumps(refs, ensure_ascii=False)
    item.updated_by_id = actor.id
    item.updated_at = utcnow()
    if item.done and not item.verdict:
        raise ValidationFailed(
            N_("An item is done once it has its verdict."), fields={"verdict": N_("required")}
        )
    session.flush()
    audit.record(
        session, actor, a.ref, "audit_item_changed", before=before, after=item.audit_state()
    )
    finding = _raise_finding(session, actor, a, item, dept) if opens else None
    return ItemResult(item, finding)


def _raise_finding(session: Session, actor: User, a: Audit, item: ChecklistItem, dept) -> Finding:
    seq = len(a.findings) + 1
    statement = f"{item.clause} {item.question}"
    finding = Finding(
        audit_id=a.id,
        seq=seq,
        item_id=item.id,
        grade=item.verdict,
        clause=item.clause,
        statement=statement,
        evidence=item.evidence,
        department_id=dept.id,
        status="open",
    )
    session.add(finding)
    session.flush()
    nc = capa.report(
        session,
        actor,
        description=f"{a.number}-F{seq:02d} [{item.clause}] {item.evidence}",
        department=dept,
        severity=NC_VERDICTS.get(item.verdict, "minor"),
        source="audit",
        links=[r for r in item.links if not r.startswith("revision:")],
    )
    session.add(NcLink(nc=nc, object_ref=a.ref, created_by_id=actor.id))
    finding.nc = nc
    session.flush()
    audit.record(session, actor, nc.ref, "nc_linked", after={"link": a.ref})
    audit.record(
        session,
        actor,
        a.ref,
        "audit_finding_raised",
        after={
            "finding": f"{a.number}-F{seq:02d}",
            "clause": item.clause,
            "verdict": item.verdict,
            "evidence": item.evidence,
            "nonconformity": nc.number,
        },
    )
    session.expire(a, ["findings"])
    return finding


# Findings ------------------------------------------------------------------------------------


def respond(
    session: Session, actor: User, a: Audit, finding: Finding, *, decision: str, reason: str | None
) -> Finding:
    """The auditee department's head accepts the finding, or disputes it with a reason
    (its nonconformity then waits for the lead auditor's decision)."""
    lock(session, a)
    if finding.department.head_id != actor.id:
        raise PermissionDenied(
            N_("Only the head of %(department)s may answer this finding."),
            department=finding.department.name,
        )
    if finding.status != "open":
        raise InvalidTransition(N_("This finding has already been answered."))
    if decision not in ("accept", "dispute"):
        raise ValidationFailed(
            N_("Please accept or dispute the finding."),
            fields={"decision": N_("not one of the choices")},
        )
    text = _text(
        reason,
        "reason",
        N_("Please say why you dispute the finding."),
        required=decision == "dispute",
    )
    finding.status = "accepted" if decision == "accept" else "disputed"
    finding.response_reason = text
    finding.responded_by = actor
    finding.responded_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        a.ref,
        "audit_finding_response",
        after={"finding": finding.label, "decision": finding.status},
        reason=text,
    )
    return finding


def resolve(
    session: Session, actor: User, a: Audit, finding: Finding, *, decision: str, reason: str | None
) -> Finding:
    """The lead auditor confirms a disputed finding (its NC goes on) or withdraws it (the
    NC is left to the officer's triage, which rejects it with a signature)."""
    lock(session, a)
    if actor.id != a.lead_auditor_id:
        raise PermissionDenied(N_("Only the lead auditor may decide a disputed finding."))
    if finding.status != "disputed":
        raise InvalidTransition(N_("Only a disputed finding is confirmed or withdrawn."))
    if decision not in ("confirm", "withdraw"):
        raise ValidationFailed(
            N_("Please confirm or withdraw the finding."),
            fields={"decision": N_("not one of the choices")},
        )
    text = _text(reason, "reason", N_("Please give the reason."))
    finding.status = "confirmed" if decision == "confirm" else "withdrawn"
    finding.resolved_by = actor
    finding.resolved_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        a.ref,
        "audit_finding_resolved",
        after={"finding": finding.label, "decision": finding.status},
        reason=text,
    )
    return finding


# Transitions -------------------------------------------------------------------------------


def prepare(session: Session, actor: User, a: Audit) -> Audit:
    lock(session, a)
    if a.status == "planned" and not a.items:
        raise InvalidTransition(N_("%(number)s has no checklist item yet."), number=a.number)
    _move(session, actor, a, "prepare")
    return a


def start(session: Session, actor: User, a: Audit) -> Audit:
    """Start the audit; refused while an auditor belongs to an audited department and no
    officer has recorded a justification."""
    lock(session, a)
    conflicts = independence_conflicts(a)
    if a.status == "prepared" and conflicts and not a.independence_justification:
        raise InvalidTransition(
            N_(
                "%(name)s belongs to an audited department: an officer must record a "
                "justification before the audit starts (ISO 9001 9.2.2c)."
            ),
            name=conflicts[0].full_name,
        )
    _move(session, actor, a, "start")
    return a


def to_reporting(
    session: Session, actor: User, a: Audit, *, conclusions: str | None = None
) -> Audit:
    """Finish the checklist: refused while an item is still to do."""
    lock(session, a)
    todo = a.items_to_do
    if a.status == "in_progress" and todo:
        raise InvalidTransition(N_("%(count)s checklist items are still to do."), count=todo)
    text = _text(conclusions, "conclusions", "", required=False)
    _move(session, actor, a, "report", after={"conclusions": text} if text else None)
    if text:
        a.conclusions = text
        session.flush()
    return a


def set_conclusions(session: Session, actor: User, a: Audit, *, text: str) -> Audit:
    """Write the report's conclusions (in reporting, before it is signed)."""
    lock(session, a)
    if a.status != "reporting" or a.report_signature_id:
        raise InvalidTransition(N_("The conclusions are written before the report is signed."))
    text = _text(text, "conclusions", N_("Please write the conclusions."))
    before = a.conclusions
    a.conclusions = text
    session.flush()
    audit.record(
        session,
        actor,
        a.ref,
        "audit_item_changed",
        before={"conclusions": before},
        after={"conclusions": text},
    )
    return a


def close_blockers(a: Audit) -> list[str]:
    """What still keeps the audit open (message ids with the NC number), empty when none."""
    out = []
    if a.report_signature_id is None:
        out.append((N_("The report is not signed."), {}))
    for f in a.findings:
        if f.status == "withdrawn":
            continue
        if f.status == "disputed":
            out.append(
                (
                    N_("Finding %(finding)s is disputed and awaits the lead auditor."),
                    {"finding": f.label},
                )
            )
        elif f.nc is not None and f.nc.status not in PLANNED_NC:
            out.append((N_("%(nc)s has no approved action plan yet."), {"nc": f.nc.number}))
    return out


def close(session: Session, actor: User, a: Audit) -> Audit:
    lock(session, a)
    if a.status == "reporting":
        blockers = close_blockers(a)
        if blockers:
            message, params = blockers[0]
            raise InvalidTransition(message, **params)
    _move(session, actor, a, "close")
    return a


def cancel(session: Session, actor: User, a: Audit, *, reason: str) -> Audit:
    lock(session, a)
    text = _text(reason, "reason", N_("Please give the reason."))
    if a.status == "in_progress" and a.findings:
        raise InvalidTransition(N_("An audit that raised findings is reported, not cancelled."))
    _move(session, actor, a, "cancel", reason=text)
    return a


ACTIONS = {"prepare": prepare, "start": start, "report": to_reporting, "close": close}


# The report -----------------------------------------------------------------------------------


def report_content(a: Audit) -> str:
    """What the lead auditor signs: the report's facts as canonical JSON."""
    return canonical_json(
        {
            "audit": a.number,
            "objectives": a.objectives,
            "scope": a.scope,
            "departments": [d.code for d in a.departments],
            "team": [u.username for u in a.auditors],
            "dates": [a.planned_start.isoformat(), a.planned_end.isoformat()],
            "criteria": [c.code for c in a.criteria],
            "items": [[i.clause, i.question, i.verdict, i.evidence or ""] for i in a.items],
            "findings": [[f.label, f.grade, f.status] for f in a.findings],
            "conclusions": a.conclusions or "",
            "decision": "audit_report_signed",
        }
    )


def sign_report(session: Session, actor: User, a: Audit, *, password: str):
    """The lead auditor signs the report (in reporting, once); it is then issued to the
    heads of the audited departments and the quality officers (recorded, mailed)."""
    lock(session, a)
    if actor.id != a.lead_auditor_id:
        raise PermissionDenied(N_("Only the lead auditor signs the report."))
    if a.status != "reporting":
        raise InvalidTransition(
            N_("%(number)s is %(status)s: the report is signed in reporting."),
            number=a.number,
            status=STATUSES[a.status],
        )
    if a.report_signature_id is not None:
        raise InvalidTransition(N_("The report of %(number)s is already signed."), number=a.number)
    sig = sign(
        session,
        actor,
        password,
        meaning="audit_report_signed",
        object_ref=a.ref,
        content=report_content(a),
    )
    a.report_signature = sig
    session.flush()
    recipients = report_recipients(session, a)
    audit.record(
        session,
        None,
        a.ref,
        "audit_report_issued",
        after={"recipients": [u.username for u in recipients]},
    )
    for user in recipients:
        mail.queue(
            session,
            user,
            kind="audit_report",
            subject=N_("Audit report %(number)s issued"),
            body=N_("The report of audit %(number)s (%(title)s) is signed and issued to you."),
            object_ref=a.ref,
            number=a.number,
            title=a.title,
        )
    return sig


def report_recipients(session: Session, a: Audit) -> list[User]:
    """The heads of the audited departments, top management and the quality officers."""
    people = [d.head for d in a.departments if d.head is not None and d.head.is_active]
    officers = session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(("management", "officer")), User.is_active.is_(True))
        .distinct()
        .order_by(User.username)
    )
    for u in officers:
        if u not in people:
            people.append(u)
    return people


# Clone ------------------------------------------------------------------------------------------


def clone(
    session: Session, actor: User, a: Audit, *, planned_start: date, planned_end: date | None
) -> Audit:
    """Next year's baseline: a new planned audit with the same scope, criteria, team and
    checklist (questions in order), verdicts, evidence and links empty."""
    start_, end_ = _dates(planned_start, planned_end)
    year = start_.year
    seq = next_value(session, f"audit:{year}")
    new = Audit(
        number=f"AUD-{year}-{seq:03d}",
        year=year,
        seq=seq,
        type=a.type,
        title=a.title,
        objectives=a.objectives,
        scope=a.scope,
        client=a.client,
        places=a.places,
        status="planned",
        lead_auditor_id=a.lead_auditor_id,
        planned_start=start_,
        planned_end=end_,
        cloned_from_id=a.id,
        created_by=actor,
    )
    session.add(new)
    session.flush()
    for d in a.departments:
        session.add(AuditDepartment(audit_id=new.id, department_id=d.id))
    for u in a.team:
        session.add(AuditTeamMember(audit_id=new.id, user_id=u.id))
    for c in a.criteria:
        session.add(AuditCriterionChoice(audit_id=new.id, criterion_id=c.id))
    for i in a.items:
        session.add(
            ChecklistItem(
                audit_id=new.id,
                criterion_id=i.criterion_id,
                clause=i.clause,
                question=i.question,
                question_en=i.question_en,
                position=i.position,
            )
        )
    session.flush()
    session.expire(new)
    audit.record(
        session,
        actor,
        new.ref,
        "audit_planned",
        after={**new.audit_state(), "cloned_from": a.number},
    )
    return new


# The clause library ------------------------------------------------------------------------------


def criteria_stmt(standard: str | None = DEFAULT_STANDARD) -> Select:
    stmt = select(Criterion)
    if standard:
        stmt = stmt.where(Criterion.standard == standard)
    return stmt.order_by(Criterion.standard, Criterion.position, Criterion.id)


def standards(session: Session) -> list[str]:
    return list(session.scalars(select(Criterion.standard).distinct().order_by(Criterion.standard)))


def _parse_rows(filename: str, data: bytes) -> list[tuple[int, dict]]:
    name = (filename or "").lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            N_("The file is not UTF-8 text."), fields={"file": N_("invalid")}
        ) from exc
    if name.endswith(".json"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(
                N_("Line %(line)s: the file is not valid JSON."),
                fields={"file": N_("invalid")},
                line=getattr(exc, "lineno", 1),
            ) from exc
        rows = parsed.get("criteria") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list):
            raise ValidationFailed(
                N_("Line %(line)s: expected a list of criteria."),
                fields={"file": N_("invalid")},
                line=1,
            )
        return [(n, r) for n, r in enumerate(rows, start=1)]
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        out = []
        for row in reader:
            questions = [q for q in (row.get("questions") or "").split("|") if q.strip()]
            out.append((reader.line_num, {**row, "questions": questions}))
        return out
    raise ValidationFailed(
        N_("Upload a .csv or .json file."), fields={"file": N_("not one of the choices")}
    )


class _BadCriterion(Exception):
    """A criterion's values are not acceptable: ``problem`` says why (an N_ message)."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field, self.problem = field, problem


def _criterion_values(session: Session, row) -> tuple[str, str, str, list[dict], int | None]:
    """One criterion's code, titles, questions and document id, checked: the same rules
    for an imported row and for the officer's form."""
    if not isinstance(row, dict):
        raise _BadCriterion("file", N_("each criterion is an object"))
    code = str(row.get("code") or "").strip()
    title_zh = str(row.get("title_zh") or row.get("title") or "").strip()
    title_en = str(row.get("title_en") or title_zh).strip()
    if not code or len(code) > 32:
        raise _BadCriterion("code", N_("the code is missing or too long"))
    if not title_zh or len(title_zh) > 200 or len(title_en) > 200:
        raise _BadCriterion("title_zh", N_("the Chinese title is missing or too long"))
    questions = []
    for q in row.get("questions") or []:
        if isinstance(q, dict):
            zh, en = str(q.get("zh") or q.get("en") or "").strip(), str(q.get("en") or "").strip()
        else:
            zh, en = str(q).strip(), ""
        if not zh or len(zh) > 2000:
            raise _BadCriterion("questions", N_("a question is empty or too long"))
        questions.append({"zh": zh, "en": en or None})
    doc_id = None
    if row.get("document"):
        doc_id = session.scalar(
            select(Document.id).where(Document.number == str(row["document"]).strip().upper())
        )
        if doc_id is None:
            raise _BadCriterion("document", N_("no such document"))
    return code, title_zh, title_en, questions, doc_id


def get_criterion(session: Session, criterion_id: int) -> Criterion:
    found = session.get(Criterion, criterion_id)
    if found is None:
        raise NotFound(N_("No such criterion."))
    return found


def save_criterion(
    session: Session, actor: User, *, criterion: Criterion | None, standard: str, values: dict
) -> Criterion:
    """The officer edits one criterion of the library (its titles, questions and source
    document; the code stays), or adds one to ``standard``. Audited with before and after;
    audits already planned keep their own checklist questions."""
    if criterion is not None:  # what the edit leaves out stays as it was
        values = {
            "title_zh": criterion.title_zh,
            "title_en": criterion.title_en,
            "questions": criterion.questions,
            "document": criterion.document.number if criterion.document else None,
            **values,
            "code": criterion.code,
        }
        standard = criterion.standard
    standard = _text(standard, "standard", N_("Please name the standard."), max_len=64)
    try:
        code, title_zh, title_en, questions, doc_id = _criterion_values(session, values)
    except _BadCriterion as why:
        raise ValidationFailed(why.problem, fields={why.field: N_("invalid")}) from None
    before = None
    if criterion is None:
        if session.scalar(
            select(Criterion.id).where(Criterion.standard == standard, Criterion.code == code)
        ):
            raise ValidationFailed(
                N_("The library already has criterion %(code)s in %(standard)s."),
                fields={"code": N_("invalid")},
                code=code,
                standard=standard,
            )
        position = session.scalar(
            select(func.max(Criterion.position)).where(Criterion.standard == standard)
        )
        criterion = Criterion(
            standard=standard, code=code, kind="clause", position=(position or 0) + 1
        )
        session.add(criterion)
    else:
        before = _criterion_snapshot(criterion)
    criterion.title_zh, criterion.title_en = title_zh, title_en
    criterion.questions_json = json.dumps(questions, ensure_ascii=False)
    criterion.document = session.get(Document, doc_id) if doc_id else None
    session.flush()
    audit.record(
        session,
        actor,
        f"criterion:{standard}:{code}",
        "criterion_added" if before is None else "criterion_changed",
        before=before,
        after=_criterion_snapshot(criterion),
    )
    return criterion


def _criterion_snapshot(c: Criterion) -> dict:
    """What the trail keeps of a criterion: its titles, its questions as they read in
    Chinese (with the English after " | ") and its source document's number."""
    return {
        "title": c.title_zh,
        "title_en": c.title_en,
        "questions": [q["zh"] + (f" | {q['en']}" if q.get("en") else "") for q in c.questions],
        "document": c.document.number if c.document else None,
    }


def import_criteria(
    session: Session, actor: User, *, filename: str, data: bytes, standard: str
) -> dict:
    """Import criteria (code, title_zh, title_en, questions, optional document) from CSV or
    JSON into ``standard``: all rows or none. A bad row is a 400 naming its line (the
    CSV line, or the JSON list position). Existing codes are updated, new ones added."""
    standard = _text(standard, "standard", N_("Please name the standard."), max_len=64)
    rows = _parse_rows(filename, data)
    if not rows:
        raise ValidationFailed(N_("The file has no criteria."), fields={"file": N_("required")})
    existing = {
        c.code: c for c in session.scalars(select(Criterion).where(Criterion.standard == standard))
    }
    position = max((c.position for c in existing.values()), default=0)
    added = updated = 0
    prepared = []
    for line, row in rows:
        try:
            prepared.append(_criterion_values(session, row))
        except _BadCriterion as why:
            raise ValidationFailed(
                N_("Line %(line)s: %(problem)s"),
                fields={"file": N_("invalid")},
                line=line,
                problem=why.problem,
            ) from None
    for code, title_zh, title_en, questions, doc_id in prepared:
        found = existing.get(code)
        if found is None:
            position += 1
            found = Criterion(standard=standard, code=code, kind="clause", position=position)
            session.add(found)
            existing[code] = found
            added += 1
        else:
            updated += 1
        found.title_zh, found.title_en = title_zh, title_en
        found.questions_json = json.dumps(questions, ensure_ascii=False)
        found.document_id = doc_id
    session.flush()
    audit.record(
        session,
        actor,
        f"criterion:{standard}",
        "criteria_imported",
        after={"standard": standard, "count": added + updated},
    )
    return {"standard": standard, "added": added, "updated": updated}


# The programme --------------------------------------------------------------------------------


def programme(session: Session, year: int, where) -> dict:
    """The year's audits and the coverage matrix (departments × months), with the clauses
    of the default standard and the active departments no audit of the year covers.
    Four queries whatever the year holds."""
    audits = list(
        session.scalars(
            select(Audit)
            .where(Audit.year == year, Audit.status != "cancelled", where)
            .options(selectinload(Audit.departments), selectinload(Audit.criteria))
            .order_by(Audit.planned_start, Audit.id)
        )
    )
    depts = list(
        session.scalars(
            select(Department).where(Department.is_active.is_(True)).order_by(Department.code)
        )
    )
    clauses = list(
        session.scalars(
            select(Criterion)
            .where(Criterion.standard == DEFAULT_STANDARD, Criterion.kind == "clause")
            .order_by(Criterion.position)
        )
    )
    coverage: dict[str, dict[int, list[str]]] = {d.code: {} for d in depts}
    covered_clauses: set[str] = set()
    for a in audits:
        for d in a.departments:
            coverage.setdefault(d.code, {}).setdefault(a.planned_start.month, []).append(a.number)
        covered_clauses.update(c.code for c in a.criteria)
    return {
        "year": year,
        "audits": audits,
        "departments": depts,
        "coverage": coverage,
        "uncovered_departments": [d for d in depts if not coverage.get(d.code)],
        "uncovered_clauses": [c for c in clauses if c.code not in covered_clauses],
    }


def priorities(session: Session, today: date | None = None) -> dict[str, dict]:
    """A priority per department (9.2.2a: the processes' importance, changes affecting the
    organisation, results of previous audits) from its open nonconformities, its risk
    points, its documents' revisions that took effect in the last twelve months and its
    customer complaints of the last twelve months still open, with the reasons: one
    grouped count each."""
    since = (today or local_today()) - timedelta(days=365)
    complaints = complaint_queries.open_by_department(session, local_day_start(since))
    ncs = dict(
        session.execute(
            select(Nonconformity.department_id, func.count())
            .where(Nonconformity.status.in_(OPEN_STATUSES))
            .group_by(Nonconformity.department_id)
        ).all()
    )
    risks = dict(
        session.execute(
            select(RiskPoint.department_id, func.count()).group_by(RiskPoint.department_id)
        ).all()
    )
    changes = dict(
        session.execute(
            select(Document.department_id, func.count(Revision.id))
            .join(Revision, Revision.document_id == Document.id)
            .where(Revision.effective_date.is_not(None), Revision.effective_date >= since)
            .group_by(Document.department_id)
        ).all()
    )
    out = {}
    for d in session.scalars(select(Department).where(Department.is_active.is_(True))):
        n, r, c = ncs.get(d.id, 0), risks.get(d.id, 0), changes.get(d.id, 0)
        k = complaints.get(d.id, 0)
        score = 2 * n + r + c + k
        out[d.code] = {
            "score": score,
            "level": "high" if score >= 6 else "medium" if score >= 2 else "low",
            "open_ncs": n,
            "risk_points": r,
            "document_changes": c,
            "open_complaints": k,
        }
    return out


def today() -> date:
    return local_today()


# The dashboard ------------------------------------------------------------------------------


def my_summary(session: Session, user: User) -> dict:
    """The auditor's card: open audits they lead or are in the team of, their checklist
    items still to do (audits in progress), findings awaiting the auditee's response in
    those audits, and findings awaiting this user's own response (as a department head).
    Four counting queries."""
    mine = select(Audit.id).where(
        Audit.status.in_(("planned", "prepared", "in_progress", "reporting")),
        (Audit.lead_auditor_id == user.id)
        | Audit.id.in_(select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == user.id)),
    )
    audits = session.scalar(select(func.count()).select_from(mine.subquery()))
    todo = session.scalar(
        select(func.count(ChecklistItem.id))
        .join(Audit, Audit.id == ChecklistItem.audit_id)
        .where(ChecklistItem.audit_id.in_(mine), Audit.status == "in_progress", ~ChecklistItem.done)
    )
    awaiting = session.scalar(
        select(func.count(Finding.id)).where(Finding.audit_id.in_(mine), Finding.status == "open")
    )
    to_answer = session.scalar(
        select(func.count(Finding.id))
        .join(Department, Department.id == Finding.department_id)
        .where(Department.head_id == user.id, Finding.status == "open")
    )
    return {"audits": audits, "todo": todo, "awaiting": awaiting, "to_answer": to_answer}
