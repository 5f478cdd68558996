"""One unit of work per request (or CLI command), and side effects after its commit.

- **One commit, at the boundary.** Services ``flush()``; views never commit. After a
  request, ``finish`` commits what it wrote when the answer is a success (or a redirect),
  and rolls back when the answer is an error — a view that re-renders a form with 400
  leaves nothing half-written. A write that must survive an error answer (a failed login
  is counted although the answer is 401) is asked for with ``keep()``. A commit that fails
  (a unique index, a serialisation failure) becomes the error answer, not a 500.
- **Side effects after commit.** ``after_commit(session, work)`` queues a callable that
  runs once the transaction has committed — removing destroyed files, laying out an
  upload to count its pages, delivering mail — and is dropped if it rolls back: a
  rolled-back request sends nothing, removes nothing, indexes nothing. The search queue
  (``app.search.sync``) works the same way with a table, so that an index update missed
  by a crash is retried.

Work queued here runs outside the transaction, in the request (or command) that queued
it, after the answer is decided; it must not use the committed session (open its own)
and a failure is logged, never raised: what it follows is already committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, g
from flask import session as cookie
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.error_pages import answer_for

log = logging.getLogger(__name__)

_WORK = "qdms_after_commit"
_END_WORK = "qdms_after_end"


def after_commit(session: Session, work: Callable[[], object]) -> None:
    """Run ``work`` after ``session``'s transaction commits; drop it on rollback."""
    session.info.setdefault(_WORK, []).append(work)


def after_end(session: Session, work: Callable[[], object]) -> None:
    """Run ``work`` once ``session``'s transaction has ended, committed or rolled back: for
    what must be written although the request fails (a wrong signature password is
    counted and audited in a transaction of its own, opened by ``work``, after the
    request's own has let go of its locks)."""
    session.info.setdefault(_END_WORK, []).append(work)


def _run_all(session: Session, key: str) -> None:
    for work in session.info.pop(key, []):
        try:
            work()
        except Exception:  # what it follows is decided: log, never undo it
            log.exception("work after the transaction failed: %r", work)


def _run(session: Session) -> None:
    _run_all(session, _WORK)
    _run_all(session, _END_WORK)


def _drop(session: Session) -> None:
    session.info.pop(_WORK, None)
    _run_all(session, _END_WORK)


def install(session_factory) -> None:
    """Listen on the sessions of ``session_factory`` (the app's scoped session; idempotent)."""
    if not event.contains(session_factory, "after_commit", _run):
        event.listen(session_factory, "after_commit", _run)
        event.listen(session_factory, "after_rollback", _drop)


def keep() -> None:
    """Commit this request's writes even though its answer is an error (a failed login
    is counted and audited although the answer is 401)."""
    g.qdms_keep_writes = True


def finish(session: Session, status: int) -> None:
    """The end of a request's unit of work: commit on success, roll back on an error
    answer (unless ``keep()`` was called). Raises what the commit raises."""
    if status < 400 or g.get("qdms_keep_writes"):
        session.commit()
    else:
        session.rollback()


def init_app(app, session) -> None:
    """Commit or roll back at the end of every request of ``app`` (see the module)."""
    install(session)

    @app.after_request
    def _finish_unit_of_work(response):
        try:
            finish(session, response.status_code)
        except Exception as exc:  # answered as an error (app.error_pages), never lost
            session.rollback()
            cookie.pop("_flashes", None)  # "saved" must not be shown for what was not
            return current_app.make_response(answer_for(exc))
        return response
