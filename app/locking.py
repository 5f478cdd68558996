"""One change at a time per object: take its row, then decide on what is committed now.

A state-changing service starts with ``lock(session, obj)`` on the object whose state it
checks (a document for its workflow, a copy, an acknowledgement, a record, a destruction
batch, a legal hold). From then until the request commits or rolls back, every other
transaction that locks the same object waits; when it gets its turn it reads what the
first one committed, so its checks fail (``InvalidTransition``, 409) and it writes
nothing. A double-click, or ten parallel requests, sign once (docs/adr/0037).

- **PostgreSQL**: ``SELECT … FOR UPDATE`` of the row (READ COMMITTED: the statements
  after it see what the previous holder committed).
- **SQLite**: an ``UPDATE`` of the row that changes nothing. It opens the write
  transaction (the database has one writer; ``busy_timeout`` makes the next one wait) and
  in WAL mode its snapshot is taken once the lock is held, so it reads the latest commit.

Then everything the session holds is expired (pending changes flushed first), so the
service's checks read the rows again instead of what was loaded before the lock.
"""

from __future__ import annotations

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session


def lock(session: Session, obj) -> None:
    """Take ``obj``'s row for the rest of this transaction and re-read the session's
    objects. Call it before checking the state a change depends on."""
    state = inspect(obj)
    if state.identity is None:  # not in the database yet: nobody else can see it
        return
    mapper = state.mapper
    table = mapper.local_table
    (key,) = mapper.primary_key
    (ident,) = state.identity
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(key).where(key == ident).with_for_update())
    else:
        session.execute(update(table).where(key == ident).values({key.name: key}))
    session.expire_all()
