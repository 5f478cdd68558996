"""Backup and restore (`qdms backup FILE`, `qdms restore FILE`): a round trip on each
database, a backup taken under a load of writes, damaged and forged archives, targets
that are not empty, and backups that must refuse."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
import time
import uuid

import pytest
from sqlalchemy import func, inspect, select, table, update

from app import backup as backups
from app import create_app
from app.documents import services as documents
from app.documents.models import Revision
from app.extensions import db, utcnow
from app.people.models import Department, User
from app.records import services as records
from app.records.models import Record
from app.search import services as search
from app.search import sync
from app.storage import FileStore, StoredBlob, store_bytes
from app.uploads import check_scan, check_upload

from .conftest import _base_config, _pg_admin, _pg_url, _sqlalchemy_url

TITLE = "Zephyr calibration procedure"


def png(seed: str, size: int = 2000) -> bytes:
    """A real PNG of about ``size`` bytes (grey noise), different for every seed."""
    from PIL import Image

    filler = hashlib.sha256(seed.encode()).digest() * (size // 32)
    out = io.BytesIO()
    Image.frombytes("L", (32, len(filler) // 32), filler).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def populated(app, make_document, make_user, store):
    """An instance with effective documents (files, signatures), a record with a scan,
    and their audit events; returns the document searched for afterwards."""
    make_user("officer", roles=("officer",), department="QA")
    make_user("cs_staff", roles=("staff",), department="CS")
    doc = make_document(title=TITLE, effective=True)
    make_document(title="客户投诉处理程序", effective=True)
    officer = _user("officer")
    rtype = records.create_type(
        db.session,
        officer,
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "CS",
            "retention": {"years": 3, "from": "completed"},
            "fields": [{"name": "customer", "label": "顾客", "type": "text"}],
        },
    )
    scan = check_scan(png("first"), "scan.png", max_bytes=10**7)
    records.file_record(db.session, store, _user("cs_staff"), rtype, {"customer": "甲"}, scan=scan)
    db.session.commit()
    return doc


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def empty_instance(tmp_path, backend, request):
    """``make(kind)``: an app over a new, empty database (no tables), an empty docs_store
    and an empty index folder."""
    made_dbs: list[str] = []
    apps = []

    def make(kind: str | None = None):
        kind = kind or backend
        root = tmp_path / f"target-{len(apps)}"
        root.mkdir()
        if kind == "sqlite":
            url = f"sqlite:///{root / 'qdms.sqlite3'}"
        else:
            request.getfixturevalue("pg_template")  # skipped (or failed) without a server
            name = f"qdms_r_{uuid.uuid4().hex[:12]}"
            with _pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            made_dbs.append(name)
            url = _sqlalchemy_url(_pg_url(name))
        target = create_app({**_base_config(root), "SQLALCHEMY_DATABASE_URI": url})
        apps.append(target)
        return target

    yield make
    for target in apps:
        with target.app_context():
            db.engine.dispose()
    for name in made_dbs:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(table(name)))
            for name in inspect(conn).get_table_names()
        }


def _file_hashes(root) -> dict[str, str]:
    """sha256 of every file under the store's objects/, by file name."""
    objects = root / "objects"
    if not objects.exists():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in objects.rglob("*/*/*")}


def _manifest(archive) -> dict:
    with tarfile.open(archive, "r:*") as tar:
        return json.loads(tar.extractfile(backups.MANIFEST).read())


def _is_empty(target) -> bool:
    """No table in the database, and no docs_store folder at all (as made)."""
    with target.app_context():
        tables = inspect(db.engine).get_table_names()
        db.engine.dispose()
    return tables == [] and not os.path.exists(target.config["QDMS_DOCS_STORE"])


def _run(target, *args):
    """Run a `qdms` command against ``target`` (its own app context: a command uses the
    app whose context is current, and the test holds the source's)."""
    with target.app_context():
        result = target.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        db.engine.dispose()
    assert "Traceback" not in result.output
    return result


def test_round_trip_restores_rows_files_chain_and_search(
    app, runner, store, populated, empty_instance, tmp_path
):
    """Does a backup restored into an empty instance give the same row counts and file
    hashes, pass `qdms verify` and `qdms check`, and find a document by search?"""
    number = populated.number
    archive = tmp_path / "qdms-backup.tar.gz"
    made = runner.invoke(args=["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output
    manifest = _manifest(archive)
    source_counts = _counts(db.engine)
    assert manifest["tables"] == source_counts  # nothing wrote meanwhile
    assert manifest["backend"] == db.engine.dialect.name
    assert len(manifest["files"]) == len(_file_hashes(store.root)) >= 3

    target = empty_instance()
    restored = _run(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "audit trail intact" in restored.output
    assert _run(target, "verify").exit_code == 0
    checked = _run(target, "check")
    assert checked.exit_code == 0 and f"all {len(manifest['files'])} stored" in checked.output
    with target.app_context():
        assert _counts(db.engine) == source_counts
        target_store = FileStore(target.config["QDMS_DOCS_STORE"])
        assert _file_hashes(target_store.root) == _file_hashes(store.root)
        assert all(sha == digest for sha, digest in _file_hashes(target_store.root).items())
        index = sync.store_for(target)
        assert index.current_name() is not None  # rebuilt by the restore, not on first use
        officer = db.session.scalar(select(User).where(User.username == "officer"))
        found = search.search(db.session, index, officer, "zephyr")
        assert [h.number for h in found.hits] == [number]
        db.session.remove()


def test_backup_under_concurrent_writes_restores_consistently(
    app, app_config, runner, store, populated, empty_instance, tmp_path, make_docx, monkeypatch
):
    """Acceptance: a backup taken while a load of writes runs (records with scans, new
    documents with revision files, their audit events) restores to an instance where
    `qdms verify` and `qdms check` pass, every table's row count is the manifest's and
    every file hash matches."""
    # Enough stored files that copying them takes a while (writes go on meanwhile).
    for i in range(60):
        store_bytes(db.session, store, os.urandom(50_000) + str(i).encode())
    db.session.commit()
    writer_app = create_app(app_config)
    staff_id, author_id = _user("cs_staff").id, _user("author").id
    rtype_id = db.session.scalar(select(Record.record_type_id))
    stop = threading.Event()
    commits: list[float] = []
    errors: list[BaseException] = []

    def write_load():
        from app.records.models import RecordType

        with writer_app.app_context():
            try:
                i = 0
                while not stop.is_set():
                    i += 1
                    staff, author = db.session.get(User, staff_id), db.session.get(User, author_id)
                    rtype = db.session.get(RecordType, rtype_id)
                    scan = check_scan(png(f"load {i}"), "scan.png", max_bytes=10**7)
                    records.file_record(
                        db.session, store, staff, rtype, {"customer": f"顾客 {i}"}, scan=scan
                    )
                    db.session.commit()
                    commits.append(time.monotonic())
                    dept = db.session.scalar(select(Department).where(Department.code == "CS"))
                    doc = documents.create_document(
                        db.session, author, type_code="QP", title=f"程序 {i}", department=dept
                    )
                    upload = check_upload(make_docx((f"第 {i} 版",)), "a.docx", max_bytes=10**7)
                    documents.add_revision(
                        db.session,
                        author,
                        doc,
                        store,
                        change_summary="新版",
                        change_reason="负载",
                        upload=upload,
                    )
                    db.session.commit()
                    commits.append(time.monotonic())
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    # However fast this machine copies, some writes commit between the snapshot and the
    # end of the copy: the first file copied waits for three more commits.
    copy_file = backups._add_stored_file
    waited = []

    def copy_after_some_writes(*args):
        if not waited:
            waited.append(len(commits))
            deadline = time.monotonic() + 30
            while len(commits) < waited[0] + 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        return copy_file(*args)

    monkeypatch.setattr(backups, "_add_stored_file", copy_after_some_writes)
    writer = threading.Thread(target=write_load)
    writer.start()
    try:
        while len(commits) < 4 and writer.is_alive():
            time.sleep(0.02)
        archive = tmp_path / "under-load.tar"
        started = time.monotonic()
        made = runner.invoke(args=["backup", str(archive)])
        finished = time.monotonic()
        while len([t for t in commits if t > finished]) < 2 and writer.is_alive():
            time.sleep(0.02)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert errors == []
    assert made.exit_code == 0, made.output
    during = [t for t in commits if started < t < finished]
    assert len(during) >= 3, f"only {len(during)} commits during the backup"

    manifest = _manifest(archive)
    live = _counts(db.engine)
    assert live["record"] > manifest["tables"]["record"]  # the live database kept writing
    assert live["audit_event"] > manifest["tables"]["audit_event"]

    target = empty_instance()
    restored = _run(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert _run(target, "verify").exit_code == 0
    assert _run(target, "check").exit_code == 0
    with target.app_context():
        assert _counts(db.engine) == manifest["tables"]
        # Every record's scan and every revision's file came with the snapshot, intact.
        target_store = FileStore(target.config["QDMS_DOCS_STORE"])
        scans = db.session.scalars(
            select(Record.scan_sha256).where(Record.scan_sha256.is_not(None))
        )
        files = db.session.scalars(
            select(Revision.file_sha256).where(Revision.file_sha256.is_not(None))
        )
        named = [*scans, *files]
        assert len(named) >= manifest["tables"]["record"]
        for sha in named:
            assert hashlib.sha256(target_store.read(sha)).hexdigest() == sha
        db.session.remove()
    restored_hashes = _file_hashes(FileStore(target.config["QDMS_DOCS_STORE"]).root)
    assert restored_hashes == {f["sha256"]: f["sha256"] for f in manifest["files"]}
    source_hashes = _file_hashes(store.root)
    assert all(source_hashes[sha] == sha for sha in restored_hashes)


def _rewrite(archive, out, change: dict) -> None:
    """Copy ``archive`` to ``out`` with some members' bytes replaced."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()
            data = change.get(member.name, data)
            info = tarfile.TarInfo(member.name)
            info.size, info.mtime = len(data), member.mtime
            dst.addfile(info, io.BytesIO(data))


def _flip(archive, out, member_name: str) -> None:
    with tarfile.open(archive) as tar:
        offset = tar.getmember(member_name).offset_data + 7
    data = bytearray(archive.read_bytes())
    data[offset] ^= 0xFF
    out.write_bytes(bytes(data))


def test_damaged_or_forged_archives_fail_cleanly_and_write_nothing(
    app, runner, populated, empty_instance, tmp_path
):
    """Does a flipped byte, a truncation, an edited or a forged manifest make the restore
    exit non-zero naming the problem, with the target database and docs_store still
    empty?"""
    archive = tmp_path / "good.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    manifest = _manifest(archive)
    a_file = backups.file_member(manifest["files"][0]["sha256"])
    db_member = manifest["database"]["member"]
    body = (tmp_path / "good.tar").read_bytes()
    with tarfile.open(archive) as tar:
        boundary = tar.getmember(a_file).offset  # the archive cut just before a member

    edited = json.loads(json.dumps(manifest))
    edited["tables"]["audit_event"] += 1
    edited_body = json.dumps(edited).encode()
    forged_file = json.loads(json.dumps(manifest))
    forged_file["files"][0]["sha256"] = "0" * 64
    forged_body = json.dumps(forged_file).encode()

    def consistent(new_body: bytes) -> dict:
        digest = hashlib.sha256(new_body).hexdigest().encode()
        return {backups.MANIFEST: new_body, backups.MANIFEST_SUM: digest}

    cases = {
        "file-flipped.tar": (
            lambda p: _flip(archive, p, a_file),
            f"{a_file} does not match its SHA-256",
        ),
        "db-flipped.tar": (
            lambda p: _flip(archive, p, db_member),
            f"{db_member} does not match its SHA-256",
        ),
        "half.tar": (lambda p: p.write_bytes(body[: len(body) // 2]), "good"),
        "cut.tar": (lambda p: p.write_bytes(body[:boundary]), "is missing"),
        "half.tar.gz": (
            lambda p: p.write_bytes(gzip.compress(body)[: len(gzip.compress(body)) // 2]),
            "damaged or truncated",
        ),
        "not-a-tar.tar": (lambda p: p.write_bytes(b"x" * 5000), "damaged or truncated"),
        "manifest-edited.tar": (
            lambda p: _rewrite(archive, p, {backups.MANIFEST: edited_body}),
            "manifest.json does not match its SHA-256",
        ),
        "manifest-forged-file.tar": (
            lambda p: _rewrite(archive, p, consistent(forged_body)),
            f"{a_file} is not in the manifest",
        ),
        # A forged manifest that agrees with every member: only the database itself can
        # tell (SQLite before writing, PostgreSQL after loading, then undone).
        "manifest-forged-count.tar": (
            lambda p: _rewrite(archive, p, consistent(edited_body)),
            "table audit_event has",
        ),
    }
    target = empty_instance()
    assert _is_empty(target)
    for name, (make, expected) in cases.items():
        bad = tmp_path / name
        make(bad)
        result = _run(target, "restore", str(bad))
        assert result.exit_code == 1, (name, result.output)
        assert "restore failed" in result.output, (name, result.output)
        if name == "half.tar":  # a cut inside a member or inside the end blocks
            assert "damaged or truncated" in result.output or "is missing" in result.output
        else:
            assert expected in result.output, (name, result.output)
        assert _is_empty(target), name
    # The good archive still restores into the same target: nothing was left behind.
    assert _run(target, "restore", str(archive)).exit_code == 0


def test_restore_refuses_a_target_that_is_not_empty(
    app, runner, populated, empty_instance, tmp_path
):
    """Is a restore into a database with tables, or a docs_store with files, refused with
    a clear message and nothing changed?"""
    from flask_migrate import upgrade

    archive = tmp_path / "b.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0

    migrated = empty_instance()
    with migrated.app_context():
        upgrade()
        before = _counts(db.engine)
        db.engine.dispose()
    result = _run(migrated, "restore", str(archive))
    assert result.exit_code == 1 and "target database is not empty" in result.output
    with migrated.app_context():
        assert _counts(db.engine) == before
        db.engine.dispose()

    with_files = empty_instance()
    FileStore(with_files.config["QDMS_DOCS_STORE"]).put(b"someone else's file")
    result = _run(with_files, "restore", str(archive))
    assert result.exit_code == 1 and "docs_store" in result.output and "not empty" in result.output
    with with_files.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_restore_refuses_another_database_kind(
    app, runner, populated, empty_instance, tmp_path, backend
):
    """Is a SQLite backup refused by a PostgreSQL target (and the other way round)?"""
    archive = tmp_path / "b.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    other = empty_instance("postgresql" if backend == "sqlite" else "sqlite")
    result = _run(other, "restore", str(archive))
    assert result.exit_code == 1
    assert f"is a {backend} backup" in result.output
    assert _is_empty(other)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_backup_refuses_and_leaves_no_half_archive(app, runner, store, populated, tmp_path):
    """Does a backup refuse an existing FILE, and stop on a corrupted or missing stored
    file naming it, leaving neither FILE nor temporary files behind?"""
    out = tmp_path / "backups"
    out.mkdir()
    existing = out / "old.tar"
    existing.write_bytes(b"an older archive")
    result = runner.invoke(args=["backup", str(existing)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert existing.read_bytes() == b"an older archive"

    sha = db.session.scalar(select(StoredBlob.sha256).order_by(StoredBlob.sha256))
    path = store.path_for(sha)
    good = path.read_bytes()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    result = runner.invoke(args=["backup", str(out / "new.tar")])
    assert result.exit_code == 1, result.output
    assert f"stored file {sha} does not match its SHA-256" in result.output
    assert "Traceback" not in result.output
    assert _leftovers(out) == ["old.tar"]

    path.unlink()
    result = runner.invoke(args=["backup", str(out / "new.tar")])
    assert result.exit_code == 1 and f"stored file {sha} is missing" in result.output
    assert _leftovers(out) == ["old.tar"]


def test_a_file_destroyed_during_the_backup_starts_it_again(
    app, runner, store, populated, tmp_path, monkeypatch
):
    """When a destruction commits and removes a file between the snapshot and its copy,
    is the backup taken again from a new snapshot (without that file), not failed?"""
    sha = db.session.scalar(select(Record.scan_sha256))
    snapshot = backups._snapshot
    taken = []

    def snapshot_then_destroy(engine, backend, db_file):
        facts = snapshot(engine, backend, db_file)
        if not taken:  # what a destruction does: mark the blob, commit, unlink the file
            with engine.begin() as conn:
                conn.execute(
                    update(StoredBlob).where(StoredBlob.sha256 == sha).values(destroyed_at=utcnow())
                )
            store.remove(sha)
        taken.append(facts)
        return facts

    monkeypatch.setattr(backups, "_snapshot", snapshot_then_destroy)
    archive = tmp_path / "b.tar"
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert len(taken) == 2
    assert sha in {s for s, _ in taken[0]["files"]}
    listed = {f["sha256"] for f in _manifest(archive)["files"]}
    assert sha not in listed and listed
