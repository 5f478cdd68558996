"""The app factory, configuration, error pages, and migrations."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


def test_configuration_from_environment(monkeypatch, tmp_path):
    """Do the QDMS_* variables of README.md configure the app, and overrides win?"""
    monkeypatch.setenv("QDMS_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("QDMS_DOCS_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("QDMS_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("QDMS_TIMEZONE", "Europe/London")
    monkeypatch.setenv("QDMS_SESSION_TIMEOUT_MINUTES", "45")
    monkeypatch.setenv("QDMS_INSTANCE_DIR", str(tmp_path / "inst"))
    app = create_app({"QDMS_TIMEZONE": "UTC"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.sqlite3"
    assert app.config["QDMS_DOCS_STORE"] == str(tmp_path / "store")
    assert app.config["QDMS_INDEX_DIR"] == str(tmp_path / "idx")
    assert app.config["QDMS_TIMEZONE"] == "UTC"
    assert app.config["QDMS_SESSION_TIMEOUT_MINUTES"] == 45


def test_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    """Without QDMS_SECRET_KEY, is a random key generated in the instance dir and reused?"""
    monkeypatch.delenv("QDMS_SECRET_KEY", raising=False)
    cfg = {"QDMS_INSTANCE_DIR": str(tmp_path / "inst")}
    a = create_app(cfg).config["SECRET_KEY"]
    b = create_app(cfg).config["SECRET_KEY"]
    assert a == b and len(a) == 64
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_runs_with_wal_and_foreign_keys(app):
    """Is SQLite used with WAL journaling and foreign keys enforced?"""
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unexpected_error_is_a_500_page_without_traceback(app, client, caplog):
    """Does an unhandled exception give a translated 500 page (and JSON under /api), logged?"""

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        r = client.get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    assert "Something went wrong" in body
    assert any("secret internals" in str(rec.exc_info) for rec in caplog.records)


def test_migrations_are_the_schema_and_downgrade_cleanly(app):
    """Do the migrations build exactly the models' tables, and does downgrade remove them?"""
    from flask_migrate import downgrade, upgrade

    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    db.session.remove()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_models_and_migrations_agree(app):
    """Would autogenerate find nothing to migrate (models and migrations in step)?"""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_times_are_stored_in_utc_and_shown_in_the_organisation_zone(app):
    """Is a UTC timestamp shown in QDMS_TIMEZONE (Asia/Shanghai by default, UTC+8)?"""
    from datetime import UTC, datetime

    from app.i18n import localtime

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert localtime(datetime(2026, 1, 1, 20, 30, tzinfo=UTC)) == "2026-01-02 04:30"


def test_days_are_the_organisation_days(app, tmp_path):
    """Are "today" and the day of a timestamp reckoned in QDMS_TIMEZONE (what numbers,
    effective dates and retention use), not in UTC or the server's zone?"""
    from datetime import UTC, datetime, timedelta

    from app.extensions import local_date, local_today, set_timezone

    new_year_in_shanghai = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
    assert local_date(new_year_in_shanghai).isoformat() == "2027-01-01"
    try:
        other = create_app({"QDMS_TIMEZONE": "Pacific/Kiritimati", "QDMS_INSTANCE_DIR": tmp_path})
        assert other.config["QDMS_TIMEZONE"] == "Pacific/Kiritimati"  # UTC+14
        assert local_today() == (datetime.now(UTC) + timedelta(hours=14)).date()
        assert local_date(new_year_in_shanghai).isoformat() == "2027-01-01"
        create_app({"QDMS_TIMEZONE": "Etc/GMT+12", "QDMS_INSTANCE_DIR": tmp_path})  # UTC-12
        assert local_today() == (datetime.now(UTC) - timedelta(hours=12)).date()
        assert local_date(new_year_in_shanghai).isoformat() == "2026-12-31"
    finally:
        set_timezone(app.config["QDMS_TIMEZONE"])
    with pytest.raises(ValueError, match="QDMS_TIMEZONE='Mars/Olympus' is not a time zone"):
        create_app({"QDMS_TIMEZONE": "Mars/Olympus", "QDMS_INSTANCE_DIR": tmp_path})
