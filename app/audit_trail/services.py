"""Writing and verifying the audit trail.

Guarantees: every event is written in the caller's transaction (so it commits or rolls
back with the change it describes), events are numbered without gaps, and each event's
hash is an HMAC, with the audit key (``QDMS_AUDIT_KEY``, kept outside the database), of
every one of its fields and the previous event's hash. The chain head carries an HMAC
too, so events cannot be removed from the end, and checkpoints of the head written
outside the database (``app.audit_trail.checkpoints``) catch a trail rewritten whole.
``verify_chain`` finds the first event that was altered, inserted or removed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit_trail.labels import ACTIONS, KINDS, LOGIN_ACTIONS, check_event, split_ref
from app.audit_trail.models import APPEND_ONLY, GENESIS_HASH, ChainHead, ChangeMark, Event
from app.errors import N_, ValidationFailed
from app.extensions import local_day_start, utcnow

HASH_VERSION = 2  # 1: plain SHA-256 of most fields (before migration 0013)

_KEY: list[bytes] = []  # the audit key of this process (use_key), at most one


def use_key(key: str | bytes) -> None:
    """Key the trail with ``key`` (the app's QDMS_AUDIT_KEY; set by the app factory)."""
    _KEY[:] = [key.encode("utf-8") if isinstance(key, str) else bytes(key)]


def mac(purpose: str, payload) -> str:
    """HMAC-SHA-256, with the audit key, of ``purpose`` and ``payload`` as canonical JSON:
    what seals events, the chain head, checkpoints, signatures and cached PDFs."""
    if not _KEY:
        raise RuntimeError("the audit key is not set (app.audit_trail.services.use_key)")
    message = canonical_json([purpose, payload]).encode("utf-8")
    return hmac.new(_KEY[0], message, hashlib.sha256).hexdigest()


def canonical_json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def format_at(at: datetime) -> str:
    """A UTC time as the seals hash it (microseconds, a Z)."""
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
    """Version 1, for events written before migration 0013: SHA-256, no key, no actor id."""
    payload = canonical_json(
        {
            "seq": seq,
            "at": format_at(at),
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


def seal(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_username: str | None,
    object_ref: str,
    action: str,
    before: str | None,
    after: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    """Version 2: the HMAC, with the audit key, of every field of the event."""
    return mac(
        "event",
        {
            "v": HASH_VERSION,
            "seq": seq,
            "at": format_at(at),
            "actor_id": actor_id,
            "actor": actor_username,
            "object": object_ref,
            "action": action,
            "before": before,
            "after": after,
            "reason": reason,
            "prev": prev_hash,
        },
    )


def head_mac(last_seq: int, last_hash: str, keyed_from: int, signatures_sealed_from: int) -> str:
    """The chain head's seal: moving it back (removing events from the end) needs the key."""
    return mac("head", [last_seq, last_hash, keyed_from, signatures_sealed_from])


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
    """Append one event in the current transaction. ``actor`` is a User or None (system).

    Raises :class:`~app.audit_trail.labels.UnlabelledEvent` (before writing anything) for
    an action, object kind, field or coded value the trail has no words for.
    """
    check_event(object_ref, action, before, after)
    # The UPDATE comes first: it serialises concurrent appends (see ChainHead).
    row = session.execute(
        update(ChainHead)
        .where(ChainHead.id == 1)
        .values(last_seq=ChainHead.last_seq + 1)
        .returning(
            ChainHead.last_seq,
            ChainHead.last_hash,
            ChainHead.keyed_from,
            ChainHead.signatures_sealed_from,
        )
    ).one()
    seq, prev_hash, keyed_from, signatures_from = row
    at = utcnow()
    fields = {
        "seq": seq,
        "at": at,
        "actor_id": actor.id if actor is not None else None,
        "actor_username": actor.username if actor is not None else None,
        "object_ref": object_ref,
        "action": action,
        "before": canonical_json(before),
        "after": canonical_json(after),
        "reason": reason,
        "prev_hash": prev_hash,
    }
    digest = seal(**fields)
    ev = Event(hash=digest, hash_version=HASH_VERSION, **fields)
    session.add(ev)
    session.execute(
        update(ChainHead)
        .where(ChainHead.id == 1)
        .values(last_hash=digest, mac=head_mac(seq, digest, keyed_from, signatures_from))
    )
    _mark_change(session, split_ref(object_ref)[0], seq)
    session.flush()
    return ev


def _mark_change(session: Session, kind: str, seq: int) -> None:
    """Remember ``seq`` as the newest event of ``kind`` (see ChangeMark)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ChangeMark).values(kind=kind, seq=seq)
    session.execute(stmt.on_conflict_do_update(index_elements=["kind"], set_={"seq": seq}))


def change_marks(session: Session) -> dict[str, int]:
    """Object kind -> the sequence number of its newest event (kinds with no event since
    marks began are absent: read them as 0)."""
    return dict(session.execute(select(ChangeMark.kind, ChangeMark.seq)).all())


def event_hash(ev: Event) -> str:
    """What ``ev``'s hash should be, by the formula of its version."""
    common = {
        "seq": ev.seq,
        "at": ev.at,
        "actor_username": ev.actor_username,
        "object_ref": ev.object_ref,
        "action": ev.action,
        "before": ev.before,
        "after": ev.after,
        "reason": ev.reason,
        "prev_hash": ev.prev_hash,
    }
    if ev.hash_version == 1:
        return compute_hash(**common)
    return seal(actor_id=ev.actor_id, **common)


@dataclass(frozen=True)
class Checkpoint:
    """The chain head as it was at a moment, kept outside the database (checkpoints.py)."""

    seq: int
    hash: str
    keyed_from: int
    written_at: str
    where: str  # where it was read from, to name it


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    broken_seq: int | None = None


def verify_chain(session: Session, checkpoints: Iterable[Checkpoint] = ()) -> VerifyResult:
    """Walk the whole chain in order; report the first event that does not fit, then the
    chain head and the ``checkpoints`` (each must name an event of the chain as it is)."""
    head = session.get(ChainHead, 1)
    keyed_from = head.keyed_from if head else 1
    wanted: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        if cp.keyed_from != keyed_from:
            return VerifyResult(
                False,
                0,
                f"the chain head was altered: the checkpoint of {cp.written_at} ({cp.where}) "
                f"has keyed events from #{cp.keyed_from}, the head from #{keyed_from}",
            )
        wanted.setdefault(cp.seq, []).append(cp)
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
        if (ev.hash_version == HASH_VERSION) != (ev.seq >= keyed_from):
            return VerifyResult(
                False,
                checked,
                f"event #{ev.seq} (id {ev.id}) was altered: its hash version "
                f"{ev.hash_version} is not the one of its place in the chain",
                ev.seq,
            )
        if not hmac.compare_digest(event_hash(ev), ev.hash):
            return VerifyResult(
                False,
                checked,
                f"event #{ev.seq} (id {ev.id}) was altered: its hash does not match its fields",
                ev.seq,
            )
        for cp in wanted.get(ev.seq, ()):
            if cp.hash != ev.hash:
                return VerifyResult(
                    False,
                    checked,
                    f"event #{ev.seq} differs from the checkpoint of {cp.written_at} "
                    f"({cp.where}): the trail up to it was rewritten",
                    ev.seq,
                )
        prev = ev.hash
        expected_seq += 1
        checked += 1
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
    if head is not None and not _head_sealed(head):
        return VerifyResult(
            False,
            checked,
            f"the chain head (#{head.last_seq}) was altered: its seal does not match "
            "(events removed from the end and the head moved back?)",
            head.last_seq,
        )
    beyond = [cp for cps in wanted.values() for cp in cps if cp.seq > checked]
    if beyond:
        cp = max(beyond, key=lambda c: c.seq)
        return VerifyResult(
            False,
            checked,
            f"event #{checked + 1} is missing: the checkpoint of {cp.written_at} ({cp.where}) "
            f"records {cp.seq} events, the chain has {checked}",
            checked + 1,
        )
    return VerifyResult(True, checked)


def _head_sealed(head: ChainHead) -> bool:
    fields = (head.last_seq, head.last_hash, head.keyed_from, head.signatures_sealed_from)
    if head.mac is None:  # a new trail, before its first event
        return fields == (0, GENESIS_HASH, 1, 1)
    return hmac.compare_digest(head.mac, head_mac(*fields))


def events_for(object_ref: str | None, *, newest_first: bool = False):
    """The events of one object (or all), oldest first unless ``newest_first``."""
    stmt = select(Event).order_by(Event.seq.desc() if newest_first else Event.seq)
    if object_ref:
        stmt = stmt.where(Event.object_ref == object_ref)
    return stmt


# Filtering ------------------------------------------------------------------------------

# "QP-CS-002 A/0" (or "QP-CS-002 A0"): a number and a revision label
_REVISION = re.compile(r"^(?P<number>\S+)\s+(?P<major>[A-Za-z]{1,3})/?(?P<minor>\d{1,3})$")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}
_FIRST_YEAR, _LAST_YEAR = 1900, 9998
_MAX_TYPED = 200


@dataclass
class TrailFilters:
    """The trail's filters, checked. ``refs``/``usernames`` are None when not filtered on."""

    object: str = ""  # as typed
    refs: list[str] | None = None  # the objects it names (may be empty: nothing found)
    revision: tuple[str, str] | None = None  # (the field naming the revision, its label)
    user: str = ""  # as typed
    usernames: list[str] | None = None
    action: str | None = None
    start: date | None = None  # inclusive, the organisation's calendar day
    end: date | None = None  # inclusive
    include_logins: bool = False
    args: dict = field(default_factory=dict)  # the query arguments in use (links, downloads)

    def apply(self, stmt):
        """``stmt`` (a select of Event) narrowed by these filters, all in SQL."""
        if self.refs is not None:
            stmt = stmt.where(Event.object_ref.in_(self.refs))
        if self.revision is not None:
            key, label = self.revision
            # the stored JSON is canonical: '"label":"A/0"' appears exactly so
            pattern = "%" + _like_escape(canonical_json({key: label})[1:-1]) + "%"
            stmt = stmt.where(
                or_(Event.after.like(pattern, escape="\\"), Event.before.like(pattern, escape="\\"))
            )
        if self.usernames is not None:
            stmt = stmt.where(Event.actor_username.in_(self.usernames))
        if self.action is not None:
            stmt = stmt.where(Event.action == self.action)
        elif not self.include_logins:
            stmt = stmt.where(Event.action.not_in(sorted(LOGIN_ACTIONS)))
        if self.start is not None:
            stmt = stmt.where(Event.at >= local_day_start(self.start))
        if self.end is not None:
            stmt = stmt.where(Event.at < local_day_start(self.end + timedelta(days=1)))
        return stmt


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve_object(session: Session, typed: str) -> tuple[list[str], tuple[str, str] | None]:
    """The objects a typed number or name stands for, as the trail knows them.

    ``QP-CS-002``, ``qp-cs-002``, ``document:QP-CS-002``, a record or copy number, a
    username or a person's full name: the refs with events among every kind registered as
    ``typed`` (one indexed lookup). ``QP-CS-002 A/0`` also returns the revision to narrow
    to. A ref of a kind nobody registered is taken as written.
    """
    typed = " ".join(typed.split())
    revision = None
    match = _REVISION.match(typed)
    kinds = {prefix: kind for prefix, kind in KINDS.items() if kind.typed}
    if match:
        typed = match["number"]
        kinds = {p: k for p, k in kinds.items() if k.revision_key}
    prefix, colon, key = typed.partition(":")
    if colon and prefix in KINDS:
        kinds = {prefix: KINDS[prefix]}
    else:
        key = typed
    candidates = {typed}
    for prefix, kind in kinds.items():
        keys = {key, key.upper(), key.lower()}
        if kind.find is not None:
            keys |= set(kind.find(session, key))
        candidates |= {f"{prefix}:{k}" for k in keys}
        if match:
            label = f"{match['major'].upper()}/{match['minor']}"
            revision = (kind.revision_key, label)
    found = session.scalars(
        select(Event.object_ref).where(Event.object_ref.in_(sorted(candidates))).distinct()
    ).all()
    return sorted(found), revision


def _typed(args: Mapping, name: str) -> str:
    """A typed filter value, spaces squeezed; refuses what no name or number holds."""
    raw = " ".join((args.get(name) or "").split())
    if len(raw) > _MAX_TYPED or any(ord(c) < 32 for c in raw):
        raise ValidationFailed(
            N_("Please type a number or a name of at most %(max)s characters."),
            fields={name: N_("invalid")},
            max=_MAX_TYPED,
        )
    return raw


def _day(args: Mapping, name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw) else None
    except ValueError:
        day = None
    if day is None or not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise ValidationFailed(
            N_("%(value)s is not a date: please write it as YYYY-MM-DD."),
            fields={name: N_("invalid")},
            value=raw[:40],
        )
    return day


def parse_filters(session: Session, args: Mapping) -> TrailFilters:
    """The filters of the trail from query arguments (``object``, ``user``, ``action``,
    ``from``, ``to``, ``include_logins``); a bad value raises ValidationFailed naming it.

    ``user`` is a username or a full name, as typed; an action is a registered code;
    dates are the organisation's calendar days, both included.
    """
    found = TrailFilters()
    typed = _typed(args, "object")
    if typed:
        found.object = typed
        found.refs, found.revision = resolve_object(session, typed)
        found.args["object"] = typed
    user_typed = _typed(args, "user")
    if user_typed:
        kind = KINDS.get("user")
        usernames = list(kind.find(session, user_typed)) if kind and kind.find else []
        if not usernames:
            raise ValidationFailed(
                N_("No user named %(username)s."),
                fields={"user": N_("unknown")},
                username=user_typed[:80],
            )
        found.user, found.usernames = user_typed, sorted(usernames)
        found.args["user"] = user_typed
    action = (args.get("action") or "").strip()
    if action:
        if action not in ACTIONS:
            raise ValidationFailed(N_("Unknown action."), fields={"action": N_("invalid")})
        found.action = found.args["action"] = action
    found.start, found.end = _day(args, "from"), _day(args, "to")
    if found.start and found.end and found.start > found.end:
        raise ValidationFailed(
            N_("The start date is after the end date."), fields={"from": N_("invalid")}
        )
    for name, day in (("from", found.start), ("to", found.end)):
        if day:
            found.args[name] = day.isoformat()
    raw = (args.get("include_logins") or "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ValidationFailed(
            N_("include_logins is true or false."), fields={"include_logins": N_("invalid")}
        )
    found.include_logins = raw in _TRUE
    if found.include_logins:
        found.args["include_logins"] = "1"
    return found


def filtered_events(filters: TrailFilters, *, newest_first: bool = False):
    """The filtered events as one statement (count and paginate it in SQL)."""
    return filters.apply(events_for(None, newest_first=newest_first))


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an immutable history row."""


def _guard_history(session: Session, flush_context, instances) -> None:
    immutable = tuple(APPEND_ONLY)
    for obj in session.deleted:
        if isinstance(obj, immutable):
            raise AppendOnlyViolation(f"{obj!r} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, immutable) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{obj!r} cannot be changed")


def install_guards(sessions) -> None:
    """Refuse, at flush time, any ORM update or delete of history rows in the app's
    sessions (``sessions``: its scoped session or sessionmaker; idempotent)."""
    if not sa_event.contains(sessions, "before_flush", _guard_history):
        sa_event.listen(sessions, "before_flush", _guard_history)
