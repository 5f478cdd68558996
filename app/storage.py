"""docs_store: content-addressed, write-once, atomic and verified file storage.

Every file is kept at ``objects/ab/cd/<sha256>`` under the store root. Writing goes to a
temp file in the same file system, is fsynced and renamed into place, so a reader never
sees half a file. Reading re-hashes the bytes and refuses a file whose hash or size does
not match. Paths are built only from validated hex digests, so nothing can escape the
root. The database keeps every file's size and hash in ``stored_blob``; ``check`` compares
the two.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import UTCDateTime, db, utcnow

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class StorageError(Exception):
    pass


class FileMissing(StorageError):
    pass


class FileCorrupted(StorageError):
    pass


class StoredBlob(db.Model):
    """The database's record of one stored file."""

    __tablename__ = "stored_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<StoredBlob {self.sha256[:12]} {self.size}B>"


@dataclass(frozen=True)
class PutResult:
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if not _HEX64.match(sha256 or ""):
            raise StorageError("not a SHA-256 hex digest")
        return self.root / "objects" / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> PutResult:
        """Store ``data`` (idempotent: the same bytes land on the same path)."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if target.exists() and self._matches(target, sha, len(data)):
            return PutResult(sha, len(data))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return PutResult(sha, len(data))

    def read(self, sha256: str, size: int | None = None) -> bytes:
        """The stored bytes, after checking them against their hash (and size, if given)."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(f"{sha256} is missing from the store") from exc
        if hashlib.sha256(data).hexdigest() != sha256 or (size is not None and len(data) != size):
            raise FileCorrupted(f"{sha256} does not match its hash")
        return data

    def remove(self, sha256: str) -> None:
        """Remove a file. Only the approved destruction flow calls this."""
        self.path_for(sha256).unlink(missing_ok=True)

    def problem(self, sha256: str, size: int) -> str | None:
        """None when the file is present and intact; otherwise 'missing' or 'corrupted'."""
        path = self.path_for(sha256)
        if not path.exists():
            return "missing"
        return None if self._matches(path, sha256, size) else "corrupted"

    def all_digests(self):
        objects = self.root / "objects"
        if objects.exists():
            for path in objects.glob("*/*/*"):
                if _HEX64.match(path.name):
                    yield path.name

    @staticmethod
    def _matches(path: Path, sha256: str, size: int) -> bool:
        h = hashlib.sha256()
        n = 0
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
                n += len(chunk)
        return n == size and h.hexdigest() == sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_bytes(session: Session, store: FileStore, data: bytes) -> StoredBlob:
    """Write ``data`` to the store and make sure the database knows it.

    The file is written before the transaction commits; if the transaction rolls back,
    the file stays as an unreferenced object (harmless: content-addressed, and reported
    as unreferenced by ``check``), never as a database row without its file.
    """
    put = store.put(data)
    blob = session.get(StoredBlob, put.sha256)
    if blob is None:
        blob = StoredBlob(sha256=put.sha256, size=put.size)
        session.add(blob)
        session.flush()
    elif blob.destroyed_at is not None:  # the same bytes, destroyed once, stored anew
        blob.destroyed_at = None
        session.flush()
    return blob


@dataclass
class CheckReport:
    checked: int
    problems: list[tuple[str, str]]  # (sha256, "missing" | "corrupted")
    unreferenced: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(session: Session, store: FileStore) -> CheckReport:
    """Compare every file the database knows (and has not destroyed) with the store."""
    problems: list[tuple[str, str]] = []
    known: set[str] = set()
    checked = 0
    stmt = select(StoredBlob).where(StoredBlob.destroyed_at.is_(None)).order_by(StoredBlob.sha256)
    for blob in session.scalars(stmt).yield_per(500):
        known.add(blob.sha256)
        checked += 1
        issue = store.problem(blob.sha256, blob.size)
        if issue:
            problems.append((blob.sha256, issue))
    unreferenced = [d for d in store.all_digests() if d not in known]
    return CheckReport(checked, problems, unreferenced)


def get_store(app) -> FileStore:
    return FileStore(app.config["QDMS_DOCS_STORE"])
