from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import N_
from app.extensions import UTCDateTime, db

GENESIS_HASH = "0" * 64

# How actions read on screen; features add theirs. Unknown actions show their code.
ACTION_LABELS = {
    "created": N_("Added"),
    "updated": N_("Changed"),
    "login": N_("Logged in"),
    "logout": N_("Logged out"),
    "login_failed": N_("Failed login"),
    "locked": N_("Account locked"),
    "login_refused_locked": N_("Login refused (locked)"),
    "password_changed": N_("Password changed"),
    "password_reset": N_("Password reset by administrator"),
    "token_created": N_("API token created"),
    "token_revoked": N_("API token revoked"),
    "signed": N_("Signed"),
    "copy_printed": N_("Controlled copy printed"),
}


class Event(db.Model):
    """One audit event. Never updated or deleted; each carries the hash of the one before."""

    __tablename__ = "audit_event"

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

    def __repr__(self) -> str:
        return f"<Event #{self.seq} {self.action} {self.object_ref}>"

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for every field that differs — what a reader wants to see."""
        before = json.loads(self.before) if self.before else {}
        after = json.loads(self.after) if self.after else {}
        if not isinstance(before, dict) or not isinstance(after, dict):
            return [("", before or None, after or None)]
        return [
            (key, before.get(key), after.get(key))
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)
        ]


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

    def __repr__(self) -> str:
        return f"<ChainHead #{self.last_seq}>"
