"""What ``create_app()`` leaves for later: the OpenAPI document's operations and the URL
builders, both made at their first use (every test, command and worker makes an app)."""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from werkzeug.routing import Rule

from app import create_app


def _config(tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "QDMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "QDMS_DOCS_STORE": str(tmp_path / "docs_store"),
        "QDMS_INDEX_DIR": str(tmp_path / "index"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/qdms.sqlite3",
    }


def test_the_openapi_operations_are_written_at_the_first_read(monkeypatch, tmp_path):
    """Does create_app() leave the API's operations out of the OpenAPI document until it is
    first read, and does that read then write every blueprint's operations, once?"""
    written: list[str] = []
    register = Blueprint.register_views_in_doc

    def counting(self, *args, **kwargs):
        written.append(kwargs["name"])
        return register(self, *args, **kwargs)

    monkeypatch.setattr(Blueprint, "register_views_in_doc", counting)
    app = create_app(_config(tmp_path))
    assert written == []
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert len(written) == len(set(written)) >= 8, written
    assert [tag["name"] for tag in doc["tags"]] == written
    assert "/api/v1/documents/{number}" in doc["paths"]
    app.test_client().get("/api/v1/openapi.json")
    assert len(written) == len(set(written)), "the operations were written twice"


def test_url_builders_are_compiled_at_the_first_url_for(monkeypatch, tmp_path):
    """Does create_app() compile no URL builder, does url_for compile only the one it
    needs, and does every rule's lazy builder make the URL Werkzeug's eager one makes?"""
    compiled: list[str] = []
    compile_builder = Rule._compile_builder

    def counting(self, append_unknown=True):
        compiled.append(self.endpoint)
        return compile_builder(self, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    app = create_app(_config(tmp_path))
    assert compiled == []
    with app.test_request_context():
        assert url_for("auth.login", next="/x y") == "/login?next=/x+y"
        assert compiled == ["auth.login"]
        assert url_for("auth.login") == "/login"
    monkeypatch.setattr(Rule, "_compile_builder", compile_builder)
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        values = {name: "1" for name in rule.arguments} | {"extra": "a b"}
        eager = compile_builder(rule, True)
        assert rule.build(values) == eager(rule, **values), rule.rule


def test_sqlite_syncs_every_commit_unless_told_otherwise(tmp_path):
    """Does SQLite sync every commit to disk by default (PRAGMA synchronous FULL), and only
    at checkpoints when QDMS_SQLITE_SYNCHRONOUS is NORMAL (the tests)?"""
    from sqlalchemy import text

    from app.extensions import db

    found = {}
    for setting in ("FULL", "NORMAL", None):
        (tmp_path / str(setting)).mkdir()
        config = _config(tmp_path / str(setting))
        if setting:
            config["QDMS_SQLITE_SYNCHRONOUS"] = setting
        app = create_app(config)
        with app.app_context():
            found[setting] = db.session.execute(text("PRAGMA synchronous")).scalar()
            db.session.remove()
            db.engine.dispose()
    assert found == {"FULL": 2, "NORMAL": 1, None: 2}
