"""Keeping the index in step with the database (side effects after commit: docs/adr/0027).

1. ``after_flush``: every changed object of a watched model (registry.keys_for) adds its
   keys to the session — all flushes of the transaction, not just the last.
2. ``before_commit``: the transaction's last changes are flushed and its keys written to
   ``search_queue`` in the same transaction: if the database change commits, so does the
   note that the index owes it.
3. ``after_commit``: the keys are applied to the index at once (a separate session reads
   the items), and their queue rows marked done. A failure — the index locked for longer
   than the writer waits, a full disk, the process killed — leaves the rows pending with
   the attempt counted and the error recorded. Every later write that reaches the index
   then also applies up to ``CATCH_UP_BATCH`` of those rows (the oldest first, each tried at
   most ``CATCH_UP_ATTEMPTS`` times this way, so a row that keeps failing never slows every
   request); ``qdms sweep`` (``retry_pending``: all of them) and ``qdms reindex`` catch up
   with the rest. The database change itself is never undone.
   ``after_rollback`` forgets the keys.

Only this module and the routes know about Flask (the app owns the IndexStore).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import delete, event, func, insert, or_, select, update
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index

from app.errors import N_, DomainError
from app.extensions import utcnow
from app.search import postings, registry
from app.search.index import IndexStore, IndexUnavailable
from app.search.models import SearchQueueItem

log = logging.getLogger(__name__)

_KEYS = "qdms_search_keys"
_QUEUED = "qdms_search_queued"
RETRY_BATCH = 500
# What a later write catches up with after its own rows, at most: bounded, so that a
# backlog after a crash costs one request a fraction of a second, not the whole backlog.
CATCH_UP_BATCH = 50
CATCH_UP_ATTEMPTS = 5
MAX_ERROR = 2000
# Segments up to this size get their postings compiled right after the commit that wrote
# them (milliseconds); a larger one, from a merge, waits for `qdms sweep` (seconds).
COMPILE_IN_REQUEST_MAX_DOCS = 20_000


# -- index records ---------------------------------------------------------------------


def _document(kind: str, item_id: int, fields: dict) -> dict:
    doc = dict(fields)
    doc["uid"] = f"{kind}:{item_id}"
    doc["kind"] = kind
    doc["live"] = "1" if fields.get("live") else "0"
    doc["history"] = "1" if fields.get("history") else "0"
    doc["scope"] = " ".join(fields.get("scope") or ["all"])
    return {k: v for k, v in doc.items() if v is not None}


def write_items(session: Session, writer, keys: Iterable[tuple[str, int]]) -> int:
    """(Re)index or remove the items behind ``keys`` with an open Whoosh writer. Each item
    is written once: Whoosh's update_document cannot replace a document added by the same
    writer, so an item reached through two keys would be indexed twice."""
    by_kind: dict[str, set[int]] = defaultdict(set)
    for kind, item_id in keys:
        by_kind[kind].add(item_id)
    items: dict[str, tuple[registry.Builder, set[int]]] = {}
    for kind, ids in by_kind.items():
        builder, item_ids = registry.resolve(session, kind, sorted(ids))
        if builder is None:
            log.warning("search: no record builder for %r, %d keys ignored", kind, len(ids))
            continue
        items.setdefault(builder.kind, (builder, set()))[1].update(item_ids)
    written = 0
    for builder, ids in items.values():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            for item_id, fields in builder.load(session, ordered[start : start + 500]).items():
                if fields is None:
                    writer.delete_by_term("uid", f"{builder.kind}:{item_id}")
                else:
                    writer.update_document(**_document(builder.kind, item_id, fields))
                written += 1
    return written


# -- the queue -------------------------------------------------------------------------


def _collect(session: Session, flush_context) -> None:
    keys = session.info.setdefault(_KEYS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, SearchQueueItem):
            keys.update(registry.keys_for(obj))


def _persist(session: Session) -> None:
    session.flush()  # the commit's own flush would come after this hook
    keys = session.info.pop(_KEYS, None)
    if not keys:
        return
    now = utcnow()
    ids = session.scalars(
        insert(SearchQueueItem).returning(SearchQueueItem.id),
        [{"kind": k, "item_id": i, "queued_at": now, "attempts": 0} for k, i in sorted(keys)],
    ).all()
    session.info.setdefault(_QUEUED, []).extend(ids)


def _forget(session: Session, previous_transaction=None) -> None:
    session.info.pop(_KEYS, None)
    session.info.pop(_QUEUED, None)


def _applied(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if not queued:
        return
    if not has_app_context() or not current_app.config.get("QDMS_SEARCH_AFTER_COMMIT", True):
        return  # the rows stay pending: retry_pending / reindex apply them
    store = store_for(current_app)
    bind = session.get_bind()
    if process_queue(bind, store, queued):  # the index takes writes again: catch up
        process_queue(bind, store, limit=CATCH_UP_BATCH, max_attempts=CATCH_UP_ATTEMPTS)


def install(sessions) -> None:
    """Listen on the app's sessions (``sessions``: its scoped session or sessionmaker;
    idempotent): the index follows what the app commits."""
    if not event.contains(sessions, "after_flush", _collect):
        event.listen(sessions, "after_flush", _collect)
        event.listen(sessions, "before_commit", _persist)
        event.listen(sessions, "after_commit", _applied)
        event.listen(sessions, "after_rollback", _forget)


def store_for(app) -> IndexStore:
    store = app.extensions.get("qdms_search")
    if store is None:
        store = app.extensions["qdms_search"] = IndexStore(app.config["QDMS_INDEX_DIR"])
    return store


# -- applying --------------------------------------------------------------------------


def process_queue(
    bind,
    store: IndexStore,
    ids: list[int] | None = None,
    *,
    limit: int = RETRY_BATCH,
    max_attempts: int | None = None,
) -> int:
    """Apply pending queue rows (``ids``, or the oldest pending ones; at most ``limit``,
    with ``max_attempts`` only those tried fewer times) to the index in their own session;
    mark them done, or count the attempt and record the error. Never raises: the
    database change they follow is committed whatever happens here. Returns the number
    of rows applied."""
    with Session(bind=bind) as session:
        query = select(SearchQueueItem).where(SearchQueueItem.done_at.is_(None))
        query = query.where(SearchQueueItem.id.in_(ids)) if ids is not None else query
        if max_attempts is not None:
            query = query.where(SearchQueueItem.attempts < max_attempts)
        rows = session.scalars(query.order_by(SearchQueueItem.id).limit(limit)).all()
        if not rows:
            return 0
        try:
            store.index()
        except IndexUnavailable as exc:  # the rows wait: the rebuild replays the queue
            rebuild_in_background(bind, store, exc)
            return 0
        row_ids = [r.id for r in rows]
        keys = {(r.kind, r.item_id) for r in rows}
        try:
            with store.writer() as writer:
                write_items(session, writer, keys)
        except Exception as exc:  # recorded on the rows and logged: see the docstring
            session.rollback()
            log.warning("search: %d index updates left pending: %s", len(row_ids), exc)
            session.execute(
                update(SearchQueueItem)
                .where(SearchQueueItem.id.in_(row_ids))
                .values(
                    attempts=SearchQueueItem.attempts + 1,
                    last_error=f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR],
                )
            )
            session.commit()
            return 0
        session.execute(
            update(SearchQueueItem)
            .where(SearchQueueItem.id.in_(row_ids))
            .values(done_at=utcnow(), attempts=SearchQueueItem.attempts + 1, last_error=None)
        )
        session.commit()
    # A request waits for its own small segment, not for a large merged one (qdms sweep).
    store.compile_postings(max_docs=COMPILE_IN_REQUEST_MAX_DOCS)
    return len(row_ids)


def retry_pending(bind, store: IndexStore) -> int:
    """Apply everything still pending (a crash, a lock held too long); returns the count."""
    total = 0
    while applied := process_queue(bind, store):
        total += applied
    return total


def pending_count(session: Session) -> int:
    return session.scalar(
        select(func.count(SearchQueueItem.id)).where(SearchQueueItem.done_at.is_(None))
    )


def prune(session: Session, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete done queue rows older than ``older_than`` (bookkeeping, not history)."""
    result = session.execute(
        delete(SearchQueueItem).where(
            SearchQueueItem.done_at.is_not(None), SearchQueueItem.done_at < utcnow() - older_than
        )
    )
    return result.rowcount or 0


# -- rebuilding ------------------------------------------------------------------------


@contextmanager
def _rebuild_lock(store: IndexStore, wait: bool):
    store.root.mkdir(parents=True, exist_ok=True)
    with open(store.root / "rebuild.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def rebuild(
    session: Session,
    store: IndexStore,
    progress: Callable[[int], None] | None = None,
    *,
    wait: bool = True,
    procs: int = 1,
) -> int:
    """Build a new generation of the index from the database and swap it in atomically
    (index.IndexStore). Changes committed meanwhile are caught up from the queue
    afterwards. Returns the number of items indexed; -1 when another process is already
    rebuilding and ``wait`` is False.

    ``procs`` > 1 analyses and pools postings in that many forked worker processes
    (Whoosh's MpWriter), each writing its own segment: about twice as fast on two cores
    (measured in issue 6). Only for the command line: a web worker does not fork."""
    with _rebuild_lock(store, wait) as locked:
        if not locked:
            return -1
        started = utcnow()
        generation = store.new_generation()
        indexed = 0
        try:
            ix = whoosh_index.open_dir(str(generation.path))
            options = {"procs": procs, "limitmb": 128, "multisegment": True}
            with store.writer(ix, **(options if procs > 1 else {"limitmb": 256})) as writer:
                for builder in registry.builders():
                    for ids in builder.all_ids(session):
                        for item_id, fields in builder.load(session, ids).items():
                            if fields is not None:
                                writer.add_document(**_document(builder.kind, item_id, fields))
                                indexed += 1
                        session.expunge_all()  # a batch's rows are not needed again
                        if progress is not None:
                            progress(len(ids))
            ix.close()
            postings.compile_segments(generation.path)
        except BaseException:
            store.discard(generation)
            raise
        store.publish(generation)
        # Whatever was applied to the old generation after the rebuild started, or is
        # still pending, goes into the new one.
        session.execute(
            update(SearchQueueItem)
            .where(or_(SearchQueueItem.done_at.is_(None), SearchQueueItem.done_at >= started))
            .values(done_at=None)
        )
        session.commit()
        retry_pending(session.get_bind(), store)
        return indexed


class SearchRebuilding(DomainError):
    """The index is missing or unusable and is being rebuilt (in the background)."""

    status = 503
    code = "search_rebuilding"


def ensure_index(session: Session, store: IndexStore, *, wait: float | None = 0.0) -> None:
    """Make sure a usable index exists. A missing one, one of another schema version or
    one that cannot be read is rebuilt from the database in a thread of its own (logged),
    never inside the caller's transaction; the caller waits at most ``wait`` seconds for
    it (None: until it is done — the command line) and is otherwise told that search is
    being rebuilt (``SearchRebuilding``, 503) while the rebuild goes on."""
    try:
        store.index()
        return
    except IndexUnavailable as exc:
        reason = exc
    rebuilding = rebuild_in_background(session.get_bind(), store, reason)
    rebuilding.join(wait)
    try:
        store.index()
    except IndexUnavailable:
        raise SearchRebuilding(
            N_("Search is being rebuilt; please try again in a few minutes.")
        ) from None


_REBUILDS: dict[str, threading.Thread] = {}
_REBUILDS_LOCK = threading.Lock()


def rebuild_in_background(bind, store: IndexStore, reason) -> threading.Thread:
    """The thread rebuilding ``store`` in this process (started now unless one runs); its
    own session reads the database. Another process rebuilding is waited for by the
    file lock, not twice."""
    key = str(store.root)
    with _REBUILDS_LOCK:
        running = _REBUILDS.get(key)
        if running is not None and running.is_alive():
            return running
        if store.current_name() is not None:
            log.warning("search index unusable (%s): rebuilding it from the database", reason)

        def run() -> None:
            t0 = time.perf_counter()
            try:
                with Session(bind=bind) as own:
                    count = rebuild(own, store)
            except Exception:  # a thread of its own: logged here, the next search retries
                log.exception("search: rebuilding the index failed")
                return
            if count >= 0:
                log.info("search index built: %d items in %.1f s", count, time.perf_counter() - t0)

        thread = threading.Thread(target=run, name="qdms-search-rebuild", daemon=True)
        _REBUILDS[key] = thread
        thread.start()
        return thread
