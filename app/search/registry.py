"""Record builders: how each feature's items become index records.

A feature registers one ``Builder`` per kind it indexes in its ``search.py``
(``app/documents/search.py``, ``app/external/search.py``, ``app/records/search.py``) and
says which of its models, when changed, touch which items (``watch``); a feature built on
an indexed one adds watchers of its own models with :func:`watch` (distribution: a copy
issued widens a confidential revision's scope). The app factory imports the features'
``search.py`` modules. The search engine (this package) never imports a feature.

An index record is a plain dict of the schema's fields (``schema.make_schema``); ``uid``,
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
    watch: dict[type, Watcher] = field(default_factory=dict)
    # other queue kinds this builder resolves to its own ids: {"document.family": fn}
    expands: dict[str, Callable[[Session, list[int]], list[int]]] = field(default_factory=dict)
    # the search page: the kind's name (an N_ message), its status labels (N_ messages) and
    # its types' labels in a language: (session, language) → {code: label}
    title: str = ""
    statuses: dict[str, str] = field(default_factory=dict)
    type_labels: Callable[[Session, str], dict[str, str]] | None = None
    # "a typed number opens the item": (session, user, text) → the URL of the item whose
    # number ``text`` is, if ``user`` may open it; else None
    exact: Callable[[Session, object, str], str | None] | None = None


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
# watchers added by features built on an indexed one: model → [watcher]
_WATCHERS: dict[type, list[Watcher]] = {}


def register(builder: Builder) -> Builder:
    _BUILDERS[builder.kind] = builder
    return builder


def watch(model: type, watcher: Watcher) -> None:
    """A change to an object of ``model`` (a later feature's) touches the queue keys
    ``watcher`` gives; added at the feature's import (once: the same watcher twice is
    kept once)."""
    watchers = _WATCHERS.setdefault(model, [])
    if watcher not in watchers:
        watchers.append(watcher)


def builders() -> list[Builder]:
    return list(_BUILDERS.values())


def kinds() -> dict[str, str]:
    """Every kind of item in the index → what the search page calls it (an N_() id)."""
    return {b.kind: b.title or b.kind for b in _BUILDERS.values()}


def resolve(session: Session, kind: str, ids: list[int]) -> tuple[Builder | None, list[int]]:
    """A queue kind and its ids → the builder and the item ids to (re)index."""
    if kind in _BUILDERS:
        return _BUILDERS[kind], ids
    for b in _BUILDERS.values():
        if kind in b.expands:
            return b, b.expands[kind](session, ids)
    return None, []


def keys_for(obj) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    for b in _BUILDERS.values():
        watcher = b.watch.get(type(obj))
        if watcher is not None:
            keys.update(watcher(obj))
    for watcher in _WATCHERS.get(type(obj), ()):
        keys.update(watcher(obj))
    return keys
