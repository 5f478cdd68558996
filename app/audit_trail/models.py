from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db

GENESIS_HASH = "0" * 64

# Models whose rows are never changed or deleted once written (the history): events here,
# and those other features mark with ``@append_only`` (signatures). The session refuses
# any ORM update or delete of them (``services.install_guards``).
APPEND_ONLY: set[type] = set()


def append_only(model: type) -> type:
    """Class decorator: rows of ``model`` are immutable history."""
    APPEND_ONLY.add(model)
    return model


@append_only
class Event(db.Model):
    """One audit event. Never updated or deleted; each carries the hash of the one before."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # the trail's filters: one user, one action (both read newest first), a date range
        Index("ix_audit_event_actor_seq", "actor_username", "seq"),
        Index("ix_audit_event_action_seq", "action", "seq"),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_username: Mapped[str | None] = mapped_column(String(64))
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: SHA-256 of most fields (events written before migration 0013); 2: HMAC-SHA-256
    # with the audit key of every field (services.seal)
    hash_version: Mapped[int] = mapped_column(Integer, default=2)

    def __repr__(self) -> str:
        return f"<Event #{self.seq} {self.action} {self.object_ref}>"


class ChainHead(db.Model):
    """The single row that serialises appends and remembers the newest event.

    Appending starts with an UPDATE of this row, which takes a row lock on PostgreSQL
    (and the write lock on SQLite), so two transactions can never chain onto the same
    predecessor; it also lets ``qdms verify`` notice events removed from the end.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # the first event hashed with the key (version 2) and the first signature sealed:
    # those before were written by an older qdms and are checked the older way
    keyed_from: Mapped[int] = mapped_column(Integer, default=1)
    signatures_sealed_from: Mapped[int] = mapped_column(Integer, default=1)
    # HMAC with the audit key of the four columns above: the head cannot be moved back
    # (events removed from the end) without the key
    mac: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<ChainHead #{self.last_seq}>"


class ChangeMark(db.Model):
    """The newest event of each object kind (``object_ref``'s prefix): written with the
    event (the chain head already serialises appends, so this adds no waiting), read by
    caches of figures over live data that only need to know whether *their* kinds changed
    (app.kpis: a recorded document revision does not recompute the complaint KPIs).

    Not history: one row per kind, overwritten; the events themselves stay in the chain.
    """

    __tablename__ = "audit_change_mark"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
