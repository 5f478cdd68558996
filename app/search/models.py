"""The search queue: which items the index must catch up with.

A row is written in the same transaction as the change it follows (``sync``), so a
committed change always leaves a trace even when the process dies before the index write;
the write marks it done. Rows are bookkeeping, not history: done rows older than a week
are pruned by ``qdms sweep``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db, utcnow


class SearchQueueItem(db.Model):
    __tablename__ = "search_queue"
    __table_args__ = (Index("ix_search_queue_pending", "done_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SearchQueueItem {self.kind}:{self.item_id} done={self.done_at is not None}>"
