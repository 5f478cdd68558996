"""Atomic counters for human numbers (document, form, record numbers).

``next_value`` increments a named counter with one ``UPDATE … RETURNING`` in the caller's
transaction. On PostgreSQL the row lock makes concurrent callers wait until the holder
commits; on SQLite the database write lock does the same. So committed numbers are
unique and consecutive. A transaction that rolls back takes its increment with it (its
number was never used); a committed number is never handed out again, whatever later
happens to what it numbers (a cancelled draft keeps its number).
"""

from __future__ import annotations

from sqlalchemy import Integer, String, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db


class NumberSequence(db.Model):
    __tablename__ = "number_sequence"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<NumberSequence {self.key}={self.last_value}>"


def next_value(session: Session, key: str) -> int:
    """The next value of counter ``key`` (1 for a new counter)."""
    stmt = (
        update(NumberSequence)
        .where(NumberSequence.key == key)
        .values(last_value=NumberSequence.last_value + 1)
        .returning(NumberSequence.last_value)
    )
    value = session.execute(stmt).scalar()
    if value is None:
        # First use: create the row without racing a concurrent creator, then increment.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(NumberSequence)
            .values(key=key, last_value=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        value = session.execute(stmt).scalar_one()
    return value
