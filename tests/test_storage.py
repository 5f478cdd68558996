"""docs_store: content addressing, atomic writes, verified reads, `qdms check`."""

from __future__ import annotations

import hashlib

import pytest

from app import storage
from app.extensions import db


@pytest.fixture
def store(app):
    return storage.get_store(app)


def test_put_and_read_round_trip(store, tmp_path):
    """Is a file stored under its SHA-256, inside the configured store, and read back intact?"""
    data = "服务补救程序 QP-CS-001".encode() * 100
    put = store.put(data)
    assert put.sha256 == hashlib.sha256(data).hexdigest() and put.size == len(data)
    path = store.path_for(put.sha256)
    assert path.is_relative_to(tmp_path / "docs_store")
    assert store.read(put.sha256, put.size) == data
    assert not list((tmp_path / "docs_store" / "tmp").iterdir())  # no temp files left
    assert store.put(data) == put  # idempotent


def test_read_refuses_a_corrupted_file(store):
    """Does reading a file whose bytes changed raise FileCorrupted instead of returning them?"""
    put = store.put(b"original bytes")
    store.path_for(put.sha256).write_bytes(b"tampered bytes")
    with pytest.raises(storage.FileCorrupted):
        store.read(put.sha256)


def test_read_of_a_missing_file(store):
    """Does a missing file raise FileMissing?"""
    with pytest.raises(storage.FileMissing):
        store.read("a" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "abc", "a" * 63 + "/"])
def test_paths_cannot_escape_the_store(store, bad):
    """Are non-digest names refused before any path is built?"""
    with pytest.raises(storage.StorageError):
        store.path_for(bad)


def test_check_passes_then_fails_on_altered_and_missing_files(app, runner, store):
    """Does `qdms check` pass on intact files and fail naming an altered or missing one?"""
    a = storage.store_bytes(db.session, store, b"first file")
    b = storage.store_bytes(db.session, store, b"second file")
    db.session.commit()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0 and "all 2 stored files intact" in result.output

    store.path_for(a.sha256).write_bytes(b"first file, edited")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"corrupted: {a.sha256}" in result.output

    store.path_for(b.sha256).unlink()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"missing: {b.sha256}" in result.output


def test_check_reports_unreferenced_files_without_failing(runner, store):
    """Is a file on disk that the database does not know reported, but not an error?"""
    put = store.put(b"orphan left by a rolled-back transaction")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0
    assert f"unreferenced (not in the database, harmless): {put.sha256}" in result.output
