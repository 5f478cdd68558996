"""Backup and restore: one archive of a database snapshot and every stored file it names.

An archive is a tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``)::

    manifest.json             what is inside: versions, backend, time, row counts, files
    manifest.sha256           the SHA-256 of manifest.json
    database/qdms.sqlite3     SQLite: a copy made with SQLite's online backup API
    database/qdms.pgdump      PostgreSQL: ``pg_dump --format=custom`` of one snapshot
    files/ab/cd/<sha256>      every live stored file the snapshot's ``stored_blob`` names

Guarantees:

- **Consistent while the app serves.** The database copy is one snapshot (SQLite: the
  backup API copies under one read transaction, WAL lets writers go on; PostgreSQL: a
  REPEATABLE READ transaction exports its snapshot and ``pg_dump --snapshot`` dumps
  exactly it). Row counts and the file list are read from the same snapshot. Files are
  written before the rows that name them commit and never change, so every file the
  snapshot names is on disk; each is hashed while it is copied and a mismatch stops the
  backup. A file removed by a destruction committed during the backup starts the backup
  again from a new snapshot.
- **All or nothing.** The archive is written to a temporary file beside ``FILE``, synced
  and renamed: ``FILE`` is either absent or a complete archive.
- **Restore verifies before it writes.** Into an empty instance only (no tables, no
  stored files); every member's size and SHA-256 are checked against the manifest (and
  the manifest against its own hash) before anything is written; a SQLite database is
  also checked (row counts, file list, audit chain) on a staging copy first. Then the
  files go through the store's atomic writer, the database is loaded, and the row counts,
  the file list, the audit chain (``verify_chain``) and every file (``storage.check``)
  are checked in the target. Any problem is a :class:`BackupError` naming the first
  mismatch, and what had been written is removed again, so the target is left empty.
  Last, the search index is rebuilt from the restored database.

Flask-free: callers pass the engine, the file store and the index store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.audit_trail.models import ChainHead
from app.audit_trail.services import verify_chain
from app.config import PROJECT_ROOT
from app.search import registry, sync
from app.search.index import IndexStore
from app.storage import FileStore, StoredBlob
from app.storage import check as check_store

FORMAT = "qdms-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
DATABASE_MEMBER = {"sqlite": "database/qdms.sqlite3", "postgresql": "database/qdms.pgdump"}
MANIFEST_LIMIT = 512 * 1024 * 1024  # ~5 million files; a larger one is not ours
ATTEMPTS = 3  # snapshots tried when destructions keep removing files during the copy
_CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# ``progress(label, total)`` returns a context manager giving ``update(n)``: the CLI passes
# click's progress bar; None shows nothing.
Progress = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


class BackupError(Exception):
    """A backup or restore that stopped; the message names the problem."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict
    size: int  # bytes of the archive


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict
    events: int  # audit events verified
    files: int  # stored files checked
    indexed: int  # search items indexed


def file_member(sha256: str) -> str:
    return f"files/{sha256[:2]}/{sha256[2:4]}/{sha256}"


# -- backup ------------------------------------------------------------------------------


class _FileVanished(Exception):
    """A file the snapshot names was removed by a destruction committed since."""


def backup(
    engine: Engine, store: FileStore, path: str | os.PathLike, progress: Progress | None = None
) -> BackupResult:
    """Write one archive of a snapshot of ``engine``'s database and the stored files it
    names to ``path``, which must not exist yet. Raises BackupError."""
    target = Path(path)
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new name (e.g. with the date)")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    backend = _backend(engine)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _backup_once(engine, backend, store, target, progress)
        except SQLAlchemyError as exc:
            raise BackupError(f"database error: {_first_line(exc)}") from exc
        except _FileVanished as exc:
            if attempt == ATTEMPTS:
                raise BackupError(
                    f"stored file {exc} was destroyed during the backup, {ATTEMPTS} times in "
                    "a row: run the backup again when the destructions are done"
                ) from exc
    raise AssertionError("unreachable")


def _backup_once(
    engine: Engine, backend: str, store: FileStore, target: Path, progress: Progress | None
) -> BackupResult:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".qdms-backup-") as work:
            db_file = Path(work) / Path(DATABASE_MEMBER[backend]).name
            facts = _snapshot(engine, backend, db_file)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "qdms_version": _qdms_version(),
                "alembic_revision": facts["alembic_revision"],
                "backend": backend,
                "created_at": facts["created_at"],
                "database": {
                    "member": DATABASE_MEMBER[backend],
                    "sha256": _sha256_file(db_file),
                    "size": db_file.stat().st_size,
                },
                "tables": facts["tables"],
                "audit_chain": facts["audit_chain"],
                "files": [{"sha256": sha, "size": size} for sha, size in facts["files"]],
            }
            gzip = target.name.endswith((".gz", ".tgz"))
            _write_archive(tmp, gzip, manifest, db_file, store, engine, progress)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(target, manifest, target.stat().st_size)


def _snapshot(engine: Engine, backend: str, db_file: Path) -> dict:
    """Copy the database to ``db_file`` and return what the copy holds (row counts, live
    files, migration, chain head), all read from the same snapshot."""
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if backend == "sqlite":
        if not Path(_sqlite_path(engine)).is_file():  # connecting would create an empty one
            raise BackupError(f"there is no database at {_sqlite_path(engine)}")
        source = sqlite3.connect(_sqlite_path(engine), timeout=30)
        dest = sqlite3.connect(db_file)
        try:
            source.backup(dest)  # all pages in one step: one read transaction
        except sqlite3.Error as exc:
            raise BackupError(f"could not copy the SQLite database: {exc}") from exc
        finally:
            dest.close()
            source.close()
        copy = create_engine(f"sqlite:///{db_file}")
        try:
            with copy.connect() as conn:
                return {"created_at": created_at, **_facts(conn)}
        finally:
            copy.dispose()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            facts = {"created_at": created_at, **_facts(conn)}
            # The exporting transaction stays open until pg_dump has dumped its snapshot.
            _pg_tool(
                "pg_dump",
                engine,
                # A schema change holding a table lock fails the backup instead of
                # hanging it.
                [
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--lock-wait-timeout=60s",
                    f"--file={db_file}",
                ],
            )
    return facts


def _facts(conn: Connection) -> dict:
    tables = {
        name: conn.scalar(select(func.count()).select_from(table(name)))
        for name in sorted(inspect(conn).get_table_names())
    }
    if "alembic_version" not in tables or "stored_blob" not in tables:
        raise BackupError("the database has no qdms schema: run `qdms db upgrade` first")
    files = conn.execute(
        select(StoredBlob.sha256, StoredBlob.size)
        .where(StoredBlob.destroyed_at.is_(None))
        .order_by(StoredBlob.sha256)
    ).all()
    head = conn.execute(select(ChainHead.last_seq, ChainHead.last_hash)).first()
    return {
        "alembic_revision": conn.scalar(text("SELECT version_num FROM alembic_version")),
        "tables": tables,
        "files": [(sha, size) for sha, size in files],
        "audit_chain": {"events": head[0], "last_hash": head[1]} if head else None,
    }


def _write_archive(
    tmp: Path,
    gzip: bool,
    manifest: dict,
    db_file: Path,
    store: FileStore,
    engine: Engine,
    progress: Progress | None,
) -> None:
    body = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    mode = "w:gz" if gzip else "w"
    mtime = datetime.now(UTC).timestamp()
    with open(tmp, "wb") as raw:
        with tarfile.open(fileobj=raw, mode=mode, format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_info(MANIFEST, len(body), mtime), io.BytesIO(body))
            digest = (hashlib.sha256(body).hexdigest() + "\n").encode()
            tar.addfile(_info(MANIFEST_SUM, len(digest), mtime), io.BytesIO(digest))
            with open(db_file, "rb") as fh:
                size = manifest["database"]["size"]
                tar.addfile(_info(manifest["database"]["member"], size, mtime), fh)
            files = manifest["files"]
            with _bar(progress, "Copying files", len(files)) as update:
                for entry in files:
                    _add_stored_file(tar, store, engine, entry["sha256"], entry["size"], mtime)
                    update(1)
        raw.flush()
        os.fsync(raw.fileno())


def _add_stored_file(
    tar: tarfile.TarFile, store: FileStore, engine: Engine, sha: str, size: int, mtime: float
) -> None:
    try:
        fh = open(store.path_for(sha), "rb")  # noqa: SIM115 (closed below, after the copy)
    except FileNotFoundError:
        if _destroyed_since(engine, sha):
            raise _FileVanished(sha) from None
        raise BackupError(
            f"stored file {sha} is missing from the docs_store (`qdms check` lists every "
            "problem); nothing was written"
        ) from None
    with fh:
        if os.fstat(fh.fileno()).st_size != size:
            raise _corrupted(sha)
        reader = _HashingReader(fh)
        tar.addfile(_info(file_member(sha), size, mtime), reader)
        if reader.hash.hexdigest() != sha:
            raise _corrupted(sha)


def _corrupted(sha: str) -> BackupError:
    return BackupError(
        f"stored file {sha} does not match its SHA-256 (`qdms check` lists every problem); "
        "nothing was written"
    )


def _destroyed_since(engine: Engine, sha: str) -> bool:
    with engine.connect() as conn:
        row = conn.execute(select(StoredBlob.destroyed_at).where(StoredBlob.sha256 == sha)).first()
    return row is None or row[0] is not None


class _HashingReader:
    def __init__(self, fh):
        self.fh = fh
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.hash.update(data)
        return data


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    return info


# -- restore -----------------------------------------------------------------------------


def restore(
    engine: Engine,
    store: FileStore,
    index: IndexStore,
    path: str | os.PathLike,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore the archive at ``path`` into the empty instance of ``engine`` and ``store``,
    verified as the module docstring says, and rebuild the search index. Raises
    BackupError naming the first problem; the target is then left as empty as it was."""
    try:
        return _restore(engine, store, index, Path(path), progress)
    except SQLAlchemyError as exc:
        raise BackupError(f"database error: {_first_line(exc)}") from exc


def _restore(
    engine: Engine, store: FileStore, index: IndexStore, archive: Path, progress: Progress | None
) -> RestoreResult:
    backend = _backend(engine)
    _require_empty(engine, store)
    staging_root = store.root / "tmp"
    created = [p for p in (store.root, staging_root) if not p.exists()]
    staging_root.mkdir(parents=True, exist_ok=True)
    try:
        return _restore_from(engine, backend, store, index, archive, staging_root, progress)
    except BaseException:
        for folder in reversed(created):  # a refused restore leaves no trace
            with suppress(OSError):
                folder.rmdir()
        raise


def _restore_from(
    engine: Engine,
    backend: str,
    store: FileStore,
    index: IndexStore,
    archive: Path,
    staging_root: Path,
    progress: Progress | None,
) -> RestoreResult:
    with tempfile.TemporaryDirectory(dir=staging_root, prefix="restore-") as work:
        db_file = Path(work) / "database"
        manifest = _verify_archive(archive, backend, db_file, progress)
        if backend == "sqlite":
            _check_staged_sqlite(db_file, manifest)
        written: list[str] = []
        try:
            _restore_files(archive, manifest, store, written, progress)
            _load_database(engine, backend, db_file)
            events, files = _check_restored(engine, store, manifest)
        except BaseException as exc:
            try:
                _undo(engine, store, written)
            except Exception as undo_exc:
                raise BackupError(
                    f"{exc}; and what was restored could not be removed again ({undo_exc}): "
                    "empty the target database and docs_store by hand"
                ) from exc
            raise
    with Session(bind=engine) as session:
        try:
            indexed = _rebuild_index(session, index, progress)
        except Exception as exc:  # the data is restored and verified: say what to do
            raise BackupError(
                f"restored and verified, but the search index could not be rebuilt ({exc}): "
                "run `qdms reindex`"
            ) from exc
    return RestoreResult(manifest, events, files, indexed)


def _require_empty(engine: Engine, store: FileStore) -> None:
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the target database: {_first_line(exc)}") from exc
    if tables:
        raise BackupError(
            f"the target database is not empty ({len(tables)} tables): restore only into an "
            "empty database (PostgreSQL: a new database from `createdb`; SQLite: a path "
            "with no file)"
        )
    for folder in ("objects", "pdf-cache"):
        root = store.root / folder
        if root.exists() and any(p.is_file() for p in root.rglob("*")):
            raise BackupError(
                f"the target docs_store {store.root} is not empty ({folder}/ holds files): "
                "restore only into an empty docs_store"
            )


def _verify_archive(archive: Path, backend: str, db_file: Path, progress: Progress | None) -> dict:
    """Check every member against the manifest and copy the database member to
    ``db_file``; nothing is written to the instance. Returns the manifest."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifest = _read_manifest(tar, backend)
            expected = {manifest["database"]["member"]: manifest["database"]}
            expected.update({file_member(f["sha256"]): f for f in manifest["files"]})
            with _bar(progress, "Verifying", len(expected)) as update:
                for position, member in enumerate(tar):
                    if position < 2:  # manifest.json and manifest.sha256, read above
                        continue
                    entry = expected.pop(member.name, None)
                    if entry is None:
                        raise BackupError(
                            f"archive member {member.name} is not in the manifest (or is "
                            "there twice)"
                        )
                    if not member.isfile() or member.size != entry["size"]:
                        raise BackupError(
                            f"archive member {member.name} does not match the manifest (size)"
                        )
                    is_db = member.name == manifest["database"]["member"]
                    with open(db_file, "wb") if is_db else nullcontext() as out:
                        digest = _sha256_stream(tar.extractfile(member), out)
                    if digest != entry["sha256"]:
                        raise BackupError(
                            f"archive member {member.name} does not match its SHA-256 in "
                            "the manifest"
                        )
                    update(1)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and not _archive_read_error(exc):
            raise
        raise BackupError(f"{archive} is damaged or truncated: {exc}") from exc
    if expected:
        raise BackupError(
            f"archive member {min(expected)} is missing (the archive is damaged, "
            "truncated or incomplete)"
        )
    return manifest


def _archive_read_error(exc: OSError) -> bool:
    # tarfile and gzip report a short or garbled stream as a bare OSError / BadGzipFile.
    return exc.errno is None


def _read_manifest(tar: tarfile.TarFile, backend: str) -> dict:
    first, second = tar.next(), tar.next()
    if first is None or first.name != MANIFEST or second is None or second.name != MANIFEST_SUM:
        raise BackupError("not a qdms backup: the archive does not start with manifest.json")
    if first.size > MANIFEST_LIMIT:
        raise BackupError(f"manifest.json is {first.size} bytes: not a qdms backup manifest")
    body = tar.extractfile(first).read()
    recorded = tar.extractfile(second).read().decode("ascii", "replace").strip()
    if hashlib.sha256(body).hexdigest() != recorded:
        raise BackupError("manifest.json does not match its SHA-256 (manifest.sha256)")
    try:
        manifest = json.loads(body)
        _check_manifest_shape(manifest)
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"manifest.json is not a qdms backup manifest ({exc})") from exc
    if manifest["backend"] != backend:
        raise BackupError(
            f"this archive is a {manifest['backend']} backup and the target is {backend}: "
            "restore it into a database of the same kind"
        )
    head = _migrations_head()
    if manifest["alembic_revision"] != head:
        raise BackupError(
            f"the archive's schema is migration {manifest['alembic_revision']} (qdms "
            f"{manifest['qdms_version']}) and this qdms is at {head}: restore with the qdms "
            "version that wrote it, then run `qdms db upgrade`"
        )
    return manifest


def _check_manifest_shape(m: dict) -> None:
    if m["format"] != FORMAT or m["format_version"] != FORMAT_VERSION:
        raise ValueError(f"format {m['format']} {m['format_version']}")
    if m["backend"] not in DATABASE_MEMBER or m["database"]["member"] != DATABASE_MEMBER.get(
        m["backend"]
    ):
        raise ValueError("database member")
    seen = set()
    for entry in [m["database"], *m["files"]]:
        size = entry["size"]
        if not _HEX64.match(entry["sha256"]) or not isinstance(size, int) or size < 0:
            raise ValueError("a file entry")
    for entry in m["files"]:
        if entry["sha256"] in seen:
            raise ValueError(f"file {entry['sha256']} listed twice")
        seen.add(entry["sha256"])
    if not all(isinstance(n, int) for n in m["tables"].values()):
        raise ValueError("row counts")
    for key in ("alembic_revision", "qdms_version", "created_at", "audit_chain"):
        if key not in m:
            raise KeyError(key)


def _check_staged_sqlite(db_file: Path, manifest: dict) -> None:
    """Everything that can be checked on the database before it is written: the copy is
    opened where it was staged."""
    staged = create_engine(f"sqlite:///{db_file}")
    try:
        _check_database(staged, manifest)
    except SQLAlchemyError as exc:
        raise BackupError(f"the archive's database cannot be read: {exc}") from exc
    finally:
        staged.dispose()


def _check_database(engine: Engine, manifest: dict) -> int:
    """Row counts, the live file list and the audit chain against the manifest; returns
    the number of events verified."""
    with engine.connect() as conn:
        facts = _facts(conn)
    if facts["alembic_revision"] != manifest["alembic_revision"]:
        raise BackupError(
            f"the database is at migration {facts['alembic_revision']}, the manifest says "
            f"{manifest['alembic_revision']}"
        )
    for name in sorted(set(facts["tables"]) | set(manifest["tables"])):
        have, want = facts["tables"].get(name), manifest["tables"].get(name)
        if have != want:
            raise BackupError(f"table {name} has {have} rows, the manifest says {want}")
    listed = {(f["sha256"], f["size"]) for f in manifest["files"]}
    known = set(facts["files"])
    if known != listed:
        sha = min(s for s, _ in known ^ listed)
        raise BackupError(f"stored file {sha}: the database and the manifest disagree")
    if facts["audit_chain"] != manifest["audit_chain"]:
        raise BackupError("the audit chain head does not match the manifest")
    with Session(bind=engine) as session:
        result = verify_chain(session)
    if not result.ok:
        raise BackupError(f"audit trail BROKEN: {result.problem}")
    return result.checked


def _restore_files(
    archive: Path, manifest: dict, store: FileStore, written: list[str], progress
) -> None:
    wanted = {file_member(f["sha256"]): f["sha256"] for f in manifest["files"]}
    try:
        with (
            tarfile.open(archive, "r:*") as tar,
            _bar(progress, "Restoring files", len(wanted)) as update,
        ):
            for member in tar:
                sha = wanted.pop(member.name, None)
                if sha is None:
                    continue
                put = store.put(tar.extractfile(member).read())
                written.append(put.sha256)
                if put.sha256 != sha:  # the archive changed since it was verified
                    raise BackupError(f"archive member {member.name} changed while restoring")
                update(1)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} could not be read again: {exc}") from exc
    if wanted:
        raise BackupError(f"archive member {min(wanted)} disappeared while restoring")


def _load_database(engine: Engine, backend: str, db_file: Path) -> None:
    engine.dispose()
    if backend == "sqlite":
        source = sqlite3.connect(db_file)
        dest = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
    else:
        _pg_tool(
            "pg_restore",
            engine,
            ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"],
            str(db_file),
        )
    engine.dispose()


def _check_restored(engine: Engine, store: FileStore, manifest: dict) -> tuple[int, int]:
    events = _check_database(engine, manifest)
    with Session(bind=engine) as session:
        report = check_store(session, store)
    if not report.ok:
        sha, problem = report.problems[0]
        raise BackupError(f"stored file {sha} is {problem} after the restore")
    if report.unreferenced:
        raise BackupError(f"stored file {report.unreferenced[0]} is not in the database")
    return events, report.checked


def _undo(engine: Engine, store: FileStore, written: list[str]) -> None:
    """Leave the target as empty as it was: the restore refused anything else."""
    for sha in written:
        path = store.path_for(sha)
        path.unlink(missing_ok=True)
        for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
            with suppress(OSError):  # not empty: another file is still there
                folder.rmdir()
    engine.dispose()
    if engine.dialect.name == "sqlite":
        empty = sqlite3.connect(":memory:")
        dest = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            empty.backup(dest)  # the whole file becomes an empty database
        finally:
            dest.close()
            empty.close()
        return
    with engine.begin() as conn:
        inspector = inspect(conn)
        for name in inspector.get_view_names():
            conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}" CASCADE')
        for name in inspector.get_table_names():
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        for name in inspector.get_sequence_names():
            conn.exec_driver_sql(f'DROP SEQUENCE IF EXISTS "{name}" CASCADE')
        # the functions the restore brought (the triggers' of migration 0013), not those
        # of extensions
        functions = conn.exec_driver_sql(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
        ).scalars()
        for signature in list(functions):
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    engine.dispose()


def _rebuild_index(session: Session, index: IndexStore, progress: Progress | None) -> int:
    """What `qdms reindex` does: a new generation, swapped in when complete."""
    total = sum(b.count(session) for b in registry.builders())
    with _bar(progress, "Indexing", total) as update:
        return sync.rebuild(session, index, progress=update)


# -- helpers -----------------------------------------------------------------------------


def _backend(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DATABASE_MEMBER:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupError("backups need a SQLite database file, not an in-memory database")
    return path


def _pg_tool(tool: str, engine: Engine, args: list[str], *more: str) -> None:
    """Run pg_dump or pg_restore against ``engine``'s database. The password goes through
    the environment, not the command line (which other users can read in ``ps``)."""
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(
            f"{tool} was not found: install the PostgreSQL client programs of the server's "
            "major version (Debian: postgresql-client)"
        )
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run(  # noqa: S603 (a fixed program, no shell)
        [binary, f"--dbname={dsn}", *args, *more], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{tool} failed: {lines[0] if lines else f'exit {done.returncode}'}")


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement and background link."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def _migrations_head() -> str:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()


def _qdms_version() -> str:
    try:
        return metadata.version("qdms")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return _sha256_stream(fh, None)


def _sha256_stream(fh, out) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _bar(progress: Progress | None, label: str, total: int) -> Iterator[Callable[[int], None]]:
    if progress is None:
        yield lambda n: None
        return
    with progress(label, total) as update:
        yield update
