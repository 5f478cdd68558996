"""Writing and verifying the audit trail.

Guarantees: every event is written in the caller's transaction (so it commits or rolls
back with the change it describes), events are numbered without gaps, and each event's
hash covers its own fields and the previous event's hash. ``verify_chain`` finds the
first event that was altered, inserted or removed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit_trail.models import GENESIS_HASH, ChainHead, Event
from app.extensions import utcnow


def canonical_json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _format_at(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(
    *,
    seq: int,
    at: datetime,
    actor_username: str | None,
    object_ref: str,
    action: str,
    before: str | None,
    after: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    payload = canonical_json(
        {
            "seq": seq,
            "at": _format_at(at),
            "actor": actor_username,
            "object": object_ref,
            "action": action,
            "before": before,
            "after": after,
            "reason": reason,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor,
    object_ref: str,
    action: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
) -> Event:
    """Append one event in the current transaction. ``actor`` is a User or None (system)."""
    # The UPDATE comes first: it serialises concurrent appends (see ChainHead).
    row = session.execute(
        update(ChainHead)
        .where(ChainHead.id == 1)
        .values(last_seq=ChainHead.last_seq + 1)
        .returning(ChainHead.last_seq, ChainHead.last_hash)
    ).one()
    seq, prev_hash = row
    at = utcnow()
    fields = {
        "seq": seq,
        "at": at,
        "actor_username": actor.username if actor is not None else None,
        "object_ref": object_ref,
        "action": action,
        "before": canonical_json(before),
        "after": canonical_json(after),
        "reason": reason,
        "prev_hash": prev_hash,
    }
    digest = compute_hash(**fields)
    ev = Event(actor_id=actor.id if actor is not None else None, hash=digest, **fields)
    session.add(ev)
    session.execute(update(ChainHead).where(ChainHead.id == 1).values(last_hash=digest))
    session.flush()
    return ev


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    broken_seq: int | None = None


def verify_chain(session: Session) -> VerifyResult:
    """Walk the whole chain in order; report the first event that does not fit."""
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    for ev in session.scalars(select(Event).order_by(Event.seq)).yield_per(1000):
        if ev.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                f"event #{expected_seq} is missing (found #{ev.seq} after #{expected_seq - 1})",
                expected_seq,
            )
        if ev.prev_hash != prev:
            return VerifyResult(
                False, checked, f"event #{ev.seq} does not follow event #{ev.seq - 1}", ev.seq
            )
        digest = compute_hash(
            seq=ev.seq,
            at=ev.at,
            actor_username=ev.actor_username,
            object_ref=ev.object_ref,
            action=ev.action,
            before=ev.before,
            after=ev.after,
            reason=ev.reason,
            prev_hash=ev.prev_hash,
        )
        if digest != ev.hash:
            return VerifyResult(False, checked, f"event #{ev.seq} (id {ev.id}) was altered", ev.seq)
        prev = ev.hash
        expected_seq += 1
        checked += 1
    head = session.get(ChainHead, 1)
    last_seq = head.last_seq if head else 0
    if last_seq != checked:
        return VerifyResult(
            False,
            checked,
            f"event #{checked + 1} is missing (the chain head records {last_seq} events)",
            checked + 1,
        )
    if head is not None and head.last_hash != prev:
        return VerifyResult(False, checked, f"event #{checked} does not match the chain head")
    return VerifyResult(True, checked)


def events_for(object_ref: str | None, *, newest_first: bool = False):
    """The events of one object (or all), oldest first unless ``newest_first``."""
    stmt = select(Event).order_by(Event.seq.desc() if newest_first else Event.seq)
    if object_ref:
        stmt = stmt.where(Event.object_ref == object_ref)
    return stmt


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an immutable history row."""


def _guard_history(session: Session, flush_context, instances) -> None:
    from app.signatures.models import Signature

    immutable = (Event, Signature)
    for obj in session.deleted:
        if isinstance(obj, immutable):
            raise AppendOnlyViolation(f"{obj!r} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, immutable) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{obj!r} cannot be changed")


def install_guards() -> None:
    """Refuse, at flush time, any ORM update or delete of history rows."""
    if not sa_event.contains(Session, "before_flush", _guard_history):
        sa_event.listen(Session, "before_flush", _guard_history)
