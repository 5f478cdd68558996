"""Retention, legal hold and destruction (docs/adr/0032, 0033). Free of Flask.

Guarantees:

- What is due: a *complete* record whose ``retain_until`` (its type's rule: N years after
  created or completed) has passed, and a *superseded or obsolete* document revision
  whose document's rule (N years after superseded or created; no rule: kept for ever)
  has run out. Drafts and revisions in force are never due.
- A legal hold in force on a record, its record type or a document blocks proposing and
  approving the destruction of what it covers. Placing and lifting are signed
  (meanings ``legal_hold`` / ``legal_hold_lifted``) and audited.
- Destruction is two people: the officer proposes a batch, an approver who is not the
  proposer signs it (``destruction_approved``, with the witness). Approval re-checks every
  item (still due, not held) and then, in the same transaction, empties the stored
  content: a record's values, amendments' values and scan; a revision's file and text;
  the tombstone (``DestructionItem``) keeps number, title, dates and SHA-256s. Files no
  live item still uses are marked destroyed in ``stored_blob``; the caller removes them
  from docs_store *after* the commit (:func:`remove_files`), and ``qdms sweep`` finishes
  any removal a crash interrupted (:func:`finish_removals`).
- Nothing here deletes a row. Services flush, never commit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.audit_trail import services as audit
from app.documents.models import Document, DocumentType, Revision
from app.errors import (
    N_,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    row_id,
)
from app.extensions import add_years, local_date, utcnow
from app.external.models import ExternalEdition
from app.locking import lock
from app.pdf import PdfCache
from app.people.models import User
from app.records.models import Record, RecordType
from app.retention.models import (
    DESTRUCTION_STATUSES,
    HOLD_KINDS,
    METHODS,
    Destruction,
    DestructionItem,
    LegalHold,
)
from app.sequences import next_value
from app.signatures import services as signatures
from app.storage import FileStore, StoredBlob
from app.unit_of_work import after_commit

MAX_REASON = 4000
MAX_BATCH = 5000
OPEN = ("proposed", "approved")  # an item in such a batch is not proposed again


def revision_rule(revision: Revision) -> dict:
    """The retention rule of a revision: its document's, else its type's ({} = for ever)."""
    doc = revision.document
    return doc.retention or doc.type.retention or {}


def revision_number(revision: Revision) -> str:
    return f"{revision.document.number} {revision.label}"


# -- what is due --------------------------------------------------------------------


@dataclass
class DueItem:
    kind: str  # "record" | "revision"
    object_id: int
    ref: str  # "record:QP-CS-001-F01-2026-0001" | "revision:QP-CS-001/A0"
    number: str
    title: str
    type_code: str
    department_id: int
    created_on: date
    ended_on: date | None
    retain_until: date
    holds: list[str] = field(default_factory=list)  # targets of the holds blocking it
    batch: str | None = None  # the open batch it is already in

    @property
    def on_hold(self) -> bool:
        return bool(self.holds)


@dataclass
class Holds:
    """The holds in force, by target."""

    targets: dict[str, list[LegalHold]]

    def blocking(self, *targets: str) -> list[str]:
        return [t for t in targets if t in self.targets]


def holds_in_force(session: Session) -> Holds:
    by_target: dict[str, list[LegalHold]] = defaultdict(list)
    for hold in session.scalars(
        select(LegalHold).where(LegalHold.lifted_at.is_(None)).order_by(LegalHold.id)
    ):
        by_target[hold.target].append(hold)
    return Holds(dict(by_target))


def _open_batches(session: Session, kind: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(DestructionItem.object_id, Destruction.number)
        .join(Destruction)
        .where(
            DestructionItem.kind == kind,
            DestructionItem.object_id.in_(ids),
            Destruction.status.in_(OPEN),
        )
    )
    return dict(rows.all())


def _record_due_stmt(today: date, type_code: str | None = None):
    stmt = (
        select(Record, RecordType.code)
        .join(RecordType, Record.record_type_id == RecordType.id)
        .where(Record.status == "complete", Record.retain_until <= today)
    )
    if type_code:
        stmt = stmt.where(RecordType.code == type_code.strip().upper())
    return stmt


def _record_item(record: Record, code: str) -> DueItem:
    return DueItem(
        kind="record",
        object_id=record.id,
        ref=f"record:{record.number}",
        number=record.number,
        title=record.title,
        type_code=code,
        department_id=record.department_id,
        created_on=local_date(record.created_at),
        ended_on=local_date(record.completed_at) if record.completed_at else None,
        retain_until=record.retain_until,
    )


def _revision_item(revision: Revision, until: date) -> DueItem:
    doc = revision.document
    ended = revision.superseded_at or revision.obsoleted_at
    return DueItem(
        kind="revision",
        object_id=revision.id,
        ref=f"revision:{doc.number}/{revision.path_label}",
        number=revision_number(revision),
        title=doc.title,
        type_code=doc.type.code,
        department_id=doc.department_id,
        created_on=local_date(revision.created_at),
        ended_on=local_date(ended) if ended else None,
        retain_until=until,
    )


def _retain_until(rule: dict, created: datetime, ended: datetime | None) -> date | None:
    if rule.get("years") is None:
        return None
    start = created if rule.get("from") == "created" else ended
    return None if start is None else add_years(local_date(start), int(rule["years"]))


def revision_retain_until(revision: Revision) -> date | None:
    """When a superseded / obsolete revision may be destroyed (None: not yet, or never)."""
    if revision.status not in ("superseded", "obsolete") or revision.destroyed_at is not None:
        return None
    return _retain_until(
        revision_rule(revision),
        revision.created_at,
        revision.superseded_at or revision.obsoleted_at,
    )


def revisions_due(session: Session, today: date) -> list[DueItem]:
    """Ended revisions past their rule: the dates and rules are read as plain columns (an
    organisation has tens of thousands of superseded revisions), the few due ones loaded."""
    rows = session.execute(
        select(
            Revision.id,
            Revision.created_at,
            Revision.superseded_at,
            Revision.obsoleted_at,
            Document.retention,
            DocumentType.retention,
        )
        .join(Document, Revision.document_id == Document.id)
        .join(DocumentType, Document.type_id == DocumentType.id)
        .where(Revision.status.in_(("superseded", "obsolete")), Revision.destroyed_at.is_(None))
    )
    due_on: dict[int, date] = {}
    for rev_id, created, superseded, obsoleted, own_rule, type_rule in rows:
        until = _retain_until(own_rule or type_rule or {}, created, superseded or obsoleted)
        if until is not None and until <= today:
            due_on[rev_id] = until
    if not due_on:
        return []
    revisions = session.scalars(
        select(Revision)
        .where(Revision.id.in_(list(due_on)))
        .options(selectinload(Revision.document).selectinload(Document.type))
    )
    items = [_revision_item(r, due_on[r.id]) for r in revisions]
    items.sort(key=lambda i: (i.retain_until, i.number))
    return items


def _annotate(session: Session, items: list[DueItem], holds: Holds) -> list[DueItem]:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item.object_id)
    batches = {kind: _open_batches(session, kind, ids) for kind, ids in by_kind.items()}
    for item in items:
        item.batch = batches[item.kind].get(item.object_id)
        if item.kind == "record":
            item.holds = holds.blocking(item.ref, f"record_type:{item.type_code}")
        else:
            item.holds = holds.blocking(f"document:{item.number.rsplit(' ', 1)[0]}")
    return items


@dataclass
class DuePage:
    items: list[DueItem]
    total: int


def due(
    session: Session,
    today: date,
    *,
    kind: str | None = None,
    type_code: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> DuePage:
    """Items whose retention has run out: document revisions first (there are few), then
    records by the day their retention ended; each marked with the holds blocking it and
    the open batch it is in."""
    if kind not in (None, "record", "revision"):
        raise ValidationFailed(N_("Unknown kind."), fields={"kind": N_("invalid")})
    revisions: list[DueItem] = []
    if kind in (None, "revision"):
        revisions = revisions_due(session, today)
        if type_code:
            revisions = [i for i in revisions if i.type_code == type_code.strip().upper()]
    record_total = 0
    records: list[DueItem] = []
    if kind in (None, "record"):
        stmt = _record_due_stmt(today, type_code)
        record_total = session.scalar(select(func.count()).select_from(stmt.subquery()))
        skip = max(0, offset - len(revisions))
        room = None if limit is None else max(0, limit - max(0, len(revisions) - offset))
        if room != 0:
            page = stmt.order_by(Record.retain_until, Record.id).offset(skip)
            if room is not None:
                page = page.limit(room)
            records = [_record_item(r, code) for r, code in session.execute(page)]
    window = revisions[offset : None if limit is None else offset + limit] + records
    return DuePage(
        _annotate(session, window, holds_in_force(session)), len(revisions) + record_total
    )


@dataclass
class SweepReport:
    records_due: int
    revisions_due: int
    on_hold: int
    proposed: int
    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return self.records_due + self.revisions_due


def sweep(session: Session, today: date) -> SweepReport:
    """What is due today, counted by type, with what holds block and what is already
    proposed (``qdms sweep``; the retention page lists the items)."""
    holds = holds_in_force(session)
    by_type: dict[str, int] = dict(
        session.execute(
            select(RecordType.code, func.count())
            .join(Record, Record.record_type_id == RecordType.id)
            .where(Record.status == "complete", Record.retain_until <= today)
            .group_by(RecordType.code)
        ).all()
    )
    records_due = sum(by_type.values())
    held_types = [c for c in by_type if f"record_type:{c}" in holds.targets]
    on_hold = sum(by_type[c] for c in held_types)
    held_numbers = [t.split(":", 1)[1] for t in holds.targets if t.startswith("record:")]
    if held_numbers:
        on_hold += session.scalar(
            _count(
                _record_due_stmt(today).where(
                    Record.number.in_(held_numbers),
                    RecordType.code.not_in(held_types) if held_types else True,
                )
            )
        )
    proposed = session.scalar(
        _count(
            _record_due_stmt(today).where(
                Record.id.in_(
                    select(DestructionItem.object_id)
                    .join(Destruction)
                    .where(DestructionItem.kind == "record", Destruction.status == "proposed")
                )
            )
        )
    )
    revisions = _annotate(session, revisions_due(session, today), holds)
    for item in revisions:
        by_type[item.type_code] = by_type.get(item.type_code, 0) + 1
    on_hold += sum(1 for i in revisions if i.on_hold)
    proposed += sum(1 for i in revisions if i.batch)
    return SweepReport(records_due, len(revisions), on_hold, proposed, by_type)


def _count(stmt):
    return select(func.count()).select_from(stmt.subquery())


# -- legal holds --------------------------------------------------------------------


def _target(session: Session, kind: str | None, key: str | None) -> tuple[str, str, object]:
    """(kind, key, the object) of an existing hold target."""
    kind = (kind or "").strip()
    key = (key or "").strip().upper()
    if kind not in HOLD_KINDS:
        raise ValidationFailed(
            N_("Place a hold on a record, a record type or a document."),
            fields={"kind": N_("invalid")},
        )
    model, column = {
        "record": (Record, Record.number),
        "record_type": (RecordType, RecordType.code),
        "document": (Document, Document.number),
    }[kind]
    obj = session.scalar(select(model).where(column == key)) if key else None
    if obj is None:
        raise ValidationFailed(
            N_("Nothing with the number %(key)s."), fields={"key": N_("not found")}, key=key
        )
    return kind, key, obj


def _reason(reason: str | None, name: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(N_("Please give the reason."), fields={name: N_("required")})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(N_("The reason is too long."), fields={name: N_("too long")})
    return reason


def _sign_hold(session: Session, actor: User, hold: LegalHold, meaning: str, reason, password):
    return signatures.sign(
        session,
        actor,
        password or "",
        meaning=meaning,
        object_ref=hold.target,
        content=json.dumps(
            {"target": hold.target, "hold": hold.id, "reason": reason}, ensure_ascii=False
        ),
    )


def _audit_hold(session: Session, actor: User, hold: LegalHold, action: str, sig, reason):
    audit.record(
        session,
        actor,
        hold.target,
        action,
        after={"hold": hold.id, "signature_id": sig.id},
        reason=reason,
    )


def place_hold(
    session: Session, actor: User, kind: str | None, key: str | None, reason: str | None, password
) -> LegalHold:
    """Put ``kind:key`` on hold (signed with ``password``). The same hold twice (a
    double-click: same target, same reason, still in force) is refused (409) before it
    signs; a second matter with its own reason may hold the same target too."""
    kind, key, target = _target(session, kind, key)
    reason = _reason(reason)
    lock(session, target)
    twin = session.scalar(
        select(LegalHold.id).where(
            LegalHold.kind == kind,
            LegalHold.key == key,
            LegalHold.reason == reason,
            LegalHold.lifted_at.is_(None),
        )
    )
    if twin is not None:
        raise InvalidTransition(N_("%(key)s is already on legal hold for this reason."), key=key)
    hold = LegalHold(kind=kind, key=key, reason=reason, placed_by_id=actor.id, placed_at=utcnow())
    sig = _sign_hold(session, actor, hold, "legal_hold", reason, password)
    hold.placed_signature_id = sig.id
    session.add(hold)
    session.flush()
    _audit_hold(session, actor, hold, "legal_hold_placed", sig, reason)
    return hold


def get_hold(session: Session, hold_id) -> LegalHold:
    hold = session.get(LegalHold, row_id(hold_id)) if row_id(hold_id) else None
    if hold is None:
        raise NotFound(N_("No legal hold %(id)s."), id=hold_id)
    return hold


def lift_hold(
    session: Session, actor: User, hold: LegalHold, reason: str | None, password
) -> LegalHold:
    """Lift a hold in force (signed); it stays listed as lifted."""
    lock(session, hold)
    if not hold.in_force:
        raise InvalidTransition(N_("This legal hold was already lifted."))
    reason = _reason(reason)
    sig = _sign_hold(session, actor, hold, "legal_hold_lifted", reason, password)
    hold.lifted_by_id = actor.id
    hold.lifted_at = utcnow()
    hold.lift_reason = reason
    hold.lifted_signature_id = sig.id
    session.flush()
    _audit_hold(session, actor, hold, "legal_hold_lifted", sig, reason)
    return hold


def holds_stmt(*, in_force_only: bool = False):
    """Legal holds, those in force first, newest first."""
    stmt = select(LegalHold).order_by(LegalHold.lifted_at.is_not(None), LegalHold.id.desc())
    if in_force_only:
        stmt = stmt.where(LegalHold.lifted_at.is_(None))
    return stmt


# -- destruction ----------------------------------------------------------------------


def _resolve(session: Session, ref: str) -> Record | Revision | None:
    kind, _, key = (ref or "").partition(":")
    key = key.strip().upper()
    if kind == "record":
        return session.scalar(select(Record).where(Record.number == key))
    if kind == "revision" and "/" in key:
        number, label = key.rsplit("/", 1)
        major = label.rstrip("0123456789")
        minor = label[len(major) :]
        if not major or not minor or len(minor) > 9:  # no revision has such a minor number
            return None
        return session.scalar(
            select(Revision)
            .join(Document, Revision.document_id == Document.id)
            .where(Document.number == number, Revision.major == major, Revision.minor == int(minor))
        )
    return None


def _as_due(obj: Record | Revision) -> DueItem | None:
    """The item as due today-or-not: None when it can never be destroyed (a draft, a
    revision in force, one kept for ever, one destroyed)."""
    if isinstance(obj, Record):
        if obj.status != "complete" or obj.retain_until is None:
            return None
        return _record_item(obj, obj.record_type.code)
    until = revision_retain_until(obj)
    return None if until is None else _revision_item(obj, until)


def _checked_items(
    session: Session, refs, today: date, *, batch: Destruction | None = None
) -> list[DueItem]:
    """The items behind ``refs``, each one due, not held and in no other open batch;
    otherwise one refusal naming every item and its problem."""
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise ValidationFailed(N_("Choose the items to destroy."), fields={"items": N_("required")})
    if len(refs) > MAX_BATCH:
        raise ValidationFailed(
            N_("At most %(max)s items in one batch."),
            fields={"items": N_("too many")},
            max=MAX_BATCH,
        )
    found = {ref: _resolve(session, ref) for ref in dict.fromkeys(refs)}  # one lookup each
    unknown = [ref for ref, obj in found.items() if obj is None]
    if unknown:
        raise ValidationFailed(
            N_("Some items were not found."), fields=dict.fromkeys(unknown, N_("not found"))
        )
    items, problems = [], {}
    for ref, obj in found.items():
        item = _as_due(obj)
        if item is None or item.retain_until > today:
            problems[ref] = N_("retention has not run out")
        else:
            items.append(item)
    _annotate(session, items, holds_in_force(session))
    for item in items:
        if item.on_hold:
            problems[item.ref] = N_("on legal hold")
        elif item.batch and (batch is None or item.batch != batch.number):
            problems[item.ref] = N_("already in another destruction batch")
    if problems:
        raise InvalidTransition(N_("Some items cannot be destroyed now."), fields=problems)
    return items


def get_destruction(session: Session, key) -> Destruction:
    """A batch by its id or its number (``DES-2026-001``). Only ASCII digits are an id, and
    only up to 2^31 − 1 (the database's integer): anything else is no batch (NotFound)."""
    key = str(key or "").strip().upper()
    if key.isascii() and key.isdigit():
        batch = session.get(Destruction, int(key)) if len(key) <= 10 and int(key) < 2**31 else None
    else:
        batch = session.scalar(select(Destruction).where(Destruction.number == key))
    if batch is None:
        raise NotFound(N_("No destruction %(number)s."), number=key)
    return batch


def list_destructions(session: Session, *, status: str | None = None):
    stmt = select(Destruction).order_by(Destruction.id.desc())
    if status:
        if status not in DESTRUCTION_STATUSES:
            raise ValidationFailed(N_("Unknown status."), fields={"status": N_("invalid")})
        stmt = stmt.where(Destruction.status == status)
    return stmt


def propose(
    session: Session,
    actor: User,
    refs,
    method: str | None,
    note: str | None,
    *,
    today: date,
) -> Destruction:
    """Propose destroying ``refs`` (``record:<number>``, ``revision:<number>/<A0>``) by
    ``method``. Every item must be due, free of holds and in no other open batch."""
    if not method:
        raise ValidationFailed(
            N_("Choose the method of destruction."), fields={"method": N_("required")}
        )
    if method not in METHODS:
        raise ValidationFailed(
            N_(
                "“%(method)s” is not a method of destruction: choose secure erasure, "
                "shredding, incineration or pulping."
            ),
            fields={"method": N_("not one of the methods of destruction")},
            method=str(method)[:40],
        )
    note = (note or "").strip() or None
    if note and len(note) > MAX_REASON:
        raise ValidationFailed(N_("The note is too long."), fields={"note": N_("too long")})
    # proposals take turns: the year's counter row is locked by taking the number (a
    # refused proposal rolls it back), so two cannot put one item in two batches
    seq = next_value(session, f"destruction:{today.year}")
    session.expire_all()
    items = _checked_items(session, refs, today)
    batch = Destruction(
        number=f"DES-{today.year}-{seq:03d}",
        status="proposed",
        method=method,
        note=note,
        proposed_by_id=actor.id,
        proposed_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    for item in items:
        session.add(
            DestructionItem(
                destruction_id=batch.id,
                kind=item.kind,
                object_id=item.object_id,
                number=item.number,
                title=item.title,
                type_code=item.type_code,
                created_on=item.created_on,
                ended_on=item.ended_on,
                retain_until=item.retain_until,
            )
        )
    session.flush()
    session.refresh(batch)
    audit.record(
        session,
        actor,
        batch.ref,
        "destruction_proposed",
        after={"method": method, "items": [i.number for i in items], "note": note},
    )
    return batch


def _must_be_proposed(batch: Destruction) -> None:
    if batch.status != "proposed":
        raise InvalidTransition(
            N_("Destruction %(number)s was already decided."), number=batch.number
        )


def reject(session: Session, actor: User, batch: Destruction, reason: str | None) -> Destruction:
    """Turn a proposal down (its items may be proposed again)."""
    lock(session, batch)
    _must_be_proposed(batch)
    batch.reject_reason = _reason(reason)
    batch.status = "rejected"
    batch.decided_by_id = actor.id
    batch.decided_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        batch.ref,
        "destruction_rejected",
        after={"status": "rejected"},
        reason=batch.reject_reason,
    )
    return batch


def _record_files(record: Record) -> list[dict]:
    files = []
    if record.scan_sha256:
        files.append({"sha256": record.scan_sha256, "name": record.scan_name})
    for f in record.schema.fields:
        value = record.values.get(f["name"])
        if f["type"] == "file" and isinstance(value, dict) and value.get("sha256"):
            files.append({"sha256": value["sha256"], "name": value.get("name")})
    return files


def _destroy_record(record: Record) -> tuple[str | None, list[dict]]:
    files = _record_files(record)
    record.values_json = "{}"
    record.scan_sha256 = None
    record.status = "destroyed"
    for amendment in record.amendments:
        amendment.values_json = "{}"
        amendment.reason = ""
    return record.content_sha256, files


def _destroy_revision(revision: Revision, now: datetime) -> tuple[str | None, list[dict]]:
    files = []
    if revision.file_sha256:
        files.append({"sha256": revision.file_sha256, "name": revision.file_name})
    sha = revision.file_sha256
    revision.file_sha256 = None
    revision.text = None
    revision.destroyed_at = now
    return sha, files


def _still_used(session: Session, shas: set[str]) -> set[str]:
    """Which of ``shas`` a live item still uses (content-addressed storage shares bytes)."""
    if not shas:
        return set()
    wanted = sorted(shas)
    used = set(
        session.scalars(select(Revision.file_sha256).where(Revision.file_sha256.in_(wanted)))
    )
    used |= set(
        session.scalars(
            select(Record.scan_sha256).where(
                Record.scan_sha256.in_(wanted), Record.status != "destroyed"
            )
        )
    )
    used |= set(
        session.scalars(
            select(ExternalEdition.file_sha256).where(ExternalEdition.file_sha256.in_(wanted))
        )
    )
    for sha in set(wanted) - used:  # files of file fields live inside the values
        if session.scalar(
            select(Record.id)
            .where(Record.status != "destroyed", Record.values_json.contains(sha))
            .limit(1)
        ):
            used.add(sha)
    return used


def approve(
    session: Session,
    actor: User,
    batch: Destruction,
    password: str | None,
    witness: str | None,
    *,
    today: date,
    store: FileStore,
) -> list[str]:
    """Sign and carry out a proposed destruction. The files no live item uses any more
    are removed from ``store`` once the transaction has committed (:func:`remove_files`,
    through the unit of work: a rollback removes nothing); returns their SHA-256s."""
    lock(session, batch)
    _must_be_proposed(batch)
    if actor.id == batch.proposed_by_id:
        raise PermissionDenied(
            N_("A destruction is approved by someone other than the person who proposed it.")
        )
    witness = (witness or "").strip()
    if not witness or len(witness) > 200:
        raise ValidationFailed(
            N_("Name the witness of the destruction."), fields={"witness": N_("required")}
        )
    refs = [_item_ref(session, i) for i in batch.items]
    _checked_items(session, refs, today, batch=batch)
    now = utcnow()
    sig = signatures.sign(
        session,
        actor,
        password or "",
        meaning="destruction_approved",
        object_ref=batch.ref,
        content=json.dumps(
            {
                "number": batch.number,
                "method": batch.method,
                "witness": witness,
                "items": [[i.kind, i.number] for i in batch.items],
            },
            ensure_ascii=False,
            sort_keys=True,
        ),
    )
    candidates: dict[str, dict] = {}
    for item in batch.items:
        if item.kind == "record":
            obj = session.get(Record, item.object_id)
            content_sha, files = _destroy_record(obj)
        else:
            obj = session.get(Revision, item.object_id)
            content_sha, files = _destroy_revision(obj, now)
        for f in files:
            blob = session.get(StoredBlob, f["sha256"])
            f["size"] = blob.size if blob else None
            candidates[f["sha256"]] = f
        item.content_sha256 = content_sha
        item.destroyed_at = now
        item.files_json = json.dumps(files, ensure_ascii=False)
        audit.record(
            session,
            actor,
            obj.ref,
            "destroyed",
            after={
                "destruction": batch.number,
                "item": item.number,
                "sha256": content_sha,
                "files": [f["sha256"] for f in files],
            },
        )
    session.flush()
    used = _still_used(session, set(candidates))
    removed = sorted(set(candidates) - used)
    for sha in removed:
        blob = session.get(StoredBlob, sha)
        if blob is not None:
            blob.destroyed_at = now
    for item in batch.items:
        item.files_json = json.dumps(
            [dict(f, removed=f["sha256"] in removed) for f in item.files], ensure_ascii=False
        )
    batch.status = "approved"
    batch.decided_by_id = actor.id
    batch.decided_at = now
    batch.witness = witness
    batch.signature_id = sig.id
    session.flush()
    audit.record(
        session,
        actor,
        batch.ref,
        "destruction_approved",
        after={"witness": witness, "signature_id": sig.id, "files_removed": len(removed)},
    )
    after_commit(session, lambda: remove_files(store, removed))
    return removed


def _item_ref(session: Session, item: DestructionItem) -> str:
    if item.kind == "record":
        return f"record:{item.number}"
    revision = session.get(Revision, item.object_id)
    return f"revision:{revision.document.number}/{revision.path_label}"


def remove_files(store: FileStore, shas: list[str], *, derived: bool = True) -> None:
    """Remove destroyed files from docs_store (after the commit that destroyed them) and,
    with ``derived``, the rendered PDFs that could hold their content."""
    for sha in shas:
        store.remove(sha)
    if derived and shas:
        PdfCache(store.root).clear()


def finish_removals(session: Session, store: FileStore) -> int:
    """Remove the files of destroyed blobs still in docs_store (a removal a crash
    interrupted). Returns how many were removed."""
    left = [
        sha
        for sha in session.scalars(
            select(StoredBlob.sha256).where(StoredBlob.destroyed_at.is_not(None))
        )
        if store.path_for(sha).exists()
    ]
    remove_files(store, left)
    return len(left)


def tombstones(session: Session, *, q: str | None = None):
    """Approved destruction items, newest first (the register of what was destroyed)."""
    stmt = (
        select(DestructionItem)
        .join(Destruction)
        .where(Destruction.status == "approved")
        .order_by(DestructionItem.destroyed_at.desc(), DestructionItem.id.desc())
    )
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                DestructionItem.number.icontains(q, autoescape=True),
                DestructionItem.title.icontains(q, autoescape=True),
            )
        )
    return stmt


def tombstone_for(session: Session, kind: str, object_id: int) -> DestructionItem | None:
    return session.scalar(
        select(DestructionItem)
        .join(Destruction)
        .where(
            DestructionItem.kind == kind,
            DestructionItem.object_id == object_id,
            Destruction.status == "approved",
        )
    )
