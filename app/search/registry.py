"""Record builders: how each feature's items become index records.

A feature registers one ``Builder`` per kind it indexes (``app/documents/search.py``,
``app/external/search.py``; records, findings and nonconformities later) and says which
of its models, when changed, touch which items (``watch``). The search module never
imports a feature's models.

An index record is a plain dict of the schema's fields (``index.make_schema``); ``uid``,
``kind``, ``live``, ``history`` and ``scope`` are filled in by ``sync`` from the
builder's answer (``live``: shown by default; ``history``: shown with
``include_history``; neither: never shown). The kinds a search may be narrowed to are
the registered builders' (``kinds``): a new builder needs nothing in this package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

# A change to an object of a watched model → the queue keys (kind, id) it touches. A key's
# kind is a builder's kind or one of its ``expands`` (e.g. all revisions of a document).
Watcher = Callable[[object], Iterable[tuple[str, int]]]


@dataclass
class Builder:
    kind: str
    # ids → {id: fields or None (the item is gone or must not be indexed)}
    load: Callable[[Session, list[int]], dict[int, dict | None]]
    # every id to index, in batches (a rebuild)
    all_ids: Callable[[Session], Iterator[list[int]]]
    count: Callable[[Session], int]
    label: str = ""  # what the search page calls this kind (an N_() message id)
    watch: dict[type, Watcher] = field(default_factory=dict)
    # other queue kinds this builder resolves to its own ids: {"document.family": fn}
    expands: dict[str, Callable[[Session, list[int]], list[int]]] = field(default_factory=dict)


def batched_ids(session: Session, stmt, column, size: int = 500) -> Iterator[list[int]]:
    """The ids ``stmt`` (a select of ``column``) yields, in batches, by keyset paging: for
    a builder's ``all_ids``."""
    last = 0
    while True:
        batch = session.scalars(stmt.where(column > last).order_by(column).limit(size)).all()
        if not batch:
            return
        yield list(batch)
        last = batch[-1]


_BUILDERS: dict[str, Builder] = {}


def register(builder: Builder) -> Builder:
    _BUILDERS[builder.kind] = builder
    return builder


def builders() -> list[Builder]:
    _load_features()
    return list(_BUILDERS.values())


def kinds() -> dict[str, str]:
    """Every kind of item in the index → its label (an N_() message id)."""
    _load_features()
    return {b.kind: b.label or b.kind for b in _BUILDERS.values()}


def resolve(session: Session, kind: str, ids: list[int]) -> tuple[Builder | None, list[int]]:
    """A queue kind and its ids → the builder and the item ids to (re)index."""
    _load_features()
    if kind in _BUILDERS:
        return _BUILDERS[kind], ids
    for b in _BUILDERS.values():
        if kind in b.expands:
            return b, b.expands[kind](session, ids)
    return None, []


def keys_for(obj) -> set[tuple[str, int]]:
    _load_features()
    keys: set[tuple[str, int]] = set()
    for b in _BUILDERS.values():
        watcher = b.watch.get(type(obj))
        if watcher is not None:
            keys.update(watcher(obj))
    return keys


_loaded = False


def _load_features() -> None:
    """Import the features' builders once (they register themselves)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from app.documents import search as _documents  # noqa: F401
    from app.external import search as _external  # noqa: F401
    from app.records import search as _records  # noqa: F401
