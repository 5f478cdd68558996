"""The Whoosh index on disk: schema, generations, locking, searcher reuse.

With ``analysis``, ``query``, ``postings`` and ``schema``, the only modules that import Whoosh.

Layout of ``QDMS_INDEX_DIR``::

    CURRENT              the name of the live generation, replaced atomically (os.replace)
    gen-<n>/             a Whoosh index, with qdms-schema.json (SCHEMA_VERSION) beside it

- **Rebuild** (``qdms reindex``) writes a new generation and then points CURRENT at it:
  searches keep using the old one until the swap, never a half-built index. The previous
  generation stays until the next rebuild (a searcher opened before the swap may still
  read it); older ones are removed.
- **Schema version**: a generation whose qdms-schema.json does not match
  ``SCHEMA_VERSION``, or that Whoosh cannot open, is unusable: ``open_index`` says so and
  the caller rebuilds (with a logged warning) instead of failing the page.
- **Writers** from several processes take Whoosh's lock with back-off
  (``ix.writer(timeout=…)``); a commit is atomic (Whoosh writes the segment, then the
  table of contents), so a reader sees the index before or after it, never half of it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from app.search import postings
from app.search.schema import make_schema

log = logging.getLogger(__name__)

# Bump when the schema, the analyzer or what the record builders put in changes: every
# index built with another version is rebuilt.
SCHEMA_VERSION = 5
WRITE_LOCK_TIMEOUT = 30.0  # seconds a writer waits for another process's lock
_VERSION_FILE = "qdms-schema.json"
RETIRED_SEARCHER_SECONDS = 60.0


class _OpeningStorage(FileStorage):
    """A FileStorage that remembers the files opened while an index is being opened, so
    they can be closed when the opening fails (Whoosh leaves them to the collector)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.opened: list | None = []

    def open_file(self, name, **kwargs):
        f = super().open_file(name, **kwargs)
        if self.opened is not None:
            self.opened.append(f)
        return f

    def close_opened(self) -> None:
        for f in self.opened or ():
            f.close()
        self.opened = None


@dataclass
class Generation:
    path: Path
    name: str


class IndexUnavailable(Exception):
    """The live index is missing, of another schema version or unreadable."""


class IndexStore:
    """One index directory. Safe to share between threads of a process; every process
    opens its own."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._ix = None
        self._ix_name: str | None = None
        self._searcher = None
        self._retired: list[tuple[float, object]] = []

    # -- generations --------------------------------------------------------------------

    def current_name(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def new_generation(self) -> Generation:
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [int(p.name[4:]) for p in self.root.glob("gen-*") if p.name[4:].isdigit()]
        name = f"gen-{max(numbers, default=0) + 1}"
        path = self.root / name
        path.mkdir()
        whoosh_index.create_in(str(path), make_schema())
        (path / _VERSION_FILE).write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
        return Generation(path, name)

    def publish(self, generation: Generation) -> None:
        """Point CURRENT at ``generation`` atomically; drop generations older than the one
        it replaces."""
        previous = self.current_name()
        tmp = self.root / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(generation.name)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / "CURRENT")
        keep = {generation.name, previous}
        for path in self.root.glob("gen-*"):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        self.reset()

    def discard(self, generation: Generation) -> None:
        shutil.rmtree(generation.path, ignore_errors=True)

    # -- opening ------------------------------------------------------------------------

    def _open(self):
        name = self.current_name()
        if name is None:
            raise IndexUnavailable("no index yet")
        path = self.root / name
        try:
            version = json.loads((path / _VERSION_FILE).read_text()).get("schema_version")
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"{name}: no readable schema version ({exc})") from exc
        if version != SCHEMA_VERSION:
            raise IndexUnavailable(f"{name}: schema version {version}, expected {SCHEMA_VERSION}")
        storage = _OpeningStorage(str(path))
        try:
            ix = storage.open_index()
        except Exception as exc:  # Whoosh raises many kinds for a damaged index
            storage.close_opened()  # Whoosh leaves the file it could not read open
            raise IndexUnavailable(f"{name}: unreadable ({exc.__class__.__name__}: {exc})") from exc
        storage.opened = None
        return ix, name

    def usable(self) -> bool:
        """Whether the live index can be opened (and is of this schema version)."""
        try:
            self.index()
        except IndexUnavailable:
            return False
        return True

    def index(self):
        """The live Whoosh index (opened once per process, reopened after a swap)."""
        with self._lock:
            name = self.current_name()
            if self._ix is None or name != self._ix_name:
                self._close()
                self._ix, self._ix_name = self._open()
                postings.private_ok()  # checked (and a mismatch logged) once per process
            return self._ix

    def searcher(self):
        """A searcher kept between requests and replaced when a writer has committed
        (reopening one per query costs more than the query). The caller must
        not close it.

        Not ``Searcher.refresh()``: it reuses the readers of unchanged segments with their
        old deletion marks, so an updated document showed up twice (tests/test_search.py).
        A replaced searcher may still be in use by another thread: it is closed a minute
        later."""
        ix = self.index()
        with self._lock:
            if self._searcher is not None and not self._searcher.up_to_date():
                self._retire(self._searcher)
                self._searcher = None
            if self._searcher is None:
                self._searcher = ix.searcher()
                # where query._Segment finds the compiled postings (app.search.postings)
                self._searcher.qdms_folder = self.root / self._ix_name
            return self._searcher

    def _retire(self, searcher) -> None:
        now = time.monotonic()
        self._retired.append((now, searcher))
        while self._retired and self._retired[0][0] < now - RETIRED_SEARCHER_SECONDS:
            self._retired.pop(0)[1].close()

    def _close(self):
        if self._searcher is not None:
            self._retire(self._searcher)
        self._searcher = None
        self._ix = None
        self._ix_name = None

    def reset(self) -> None:
        with self._lock:
            self._close()

    # -- writing ------------------------------------------------------------------------

    def compile_postings(self, max_docs: int | None = None) -> int:
        """Compile the postings of the live generation's new segments (app.search.postings)."""
        name = self.current_name()
        return postings.compile_segments(self.root / name, max_docs) if name else 0

    def writer(self, ix=None, **kwargs):
        """A writer on the live index (or ``ix``), waiting up to WRITE_LOCK_TIMEOUT for
        another process's lock, with back-off. Raises ``whoosh.index.LockError``."""
        ix = ix if ix is not None else self.index()
        return ix.writer(timeout=WRITE_LOCK_TIMEOUT, delay=0.05, **kwargs)
