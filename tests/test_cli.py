"""The `qdms` command line of docs/API.md."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit_trail.services import verify_chain
from app.extensions import db
from app.people.models import Department, User


def test_departments_and_users_create(runner):
    """Do `departments create` and `users create` add them, with several roles?"""
    r = runner.invoke(args=["departments", "create", "CS", "--name", "客户服务部"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        args=[
            "users",
            "create",
            "liming",
            "--name",
            "李明",
            "--department",
            "CS",
            "--role",
            "author",
            "--role",
            "staff",
            "--password",
            "long-password1",
        ]
    )
    assert r.exit_code == 0, r.output
    user = db.session.scalar(select(User).where(User.username == "liming"))
    assert user.roles == ["author", "staff"] and user.department.code == "CS"


def test_cli_errors_are_clear_and_write_nothing(runner):
    """Does bad input give a one-line error, exit non-zero, and leave nothing half-written?"""
    r = runner.invoke(
        args=[
            "users",
            "create",
            "x1",
            "--name",
            "X",
            "--department",
            "NOPE",
            "--role",
            "staff",
            "--password",
            "long-password1",
        ]
    )
    assert r.exit_code == 1 and "No department with code NOPE" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(
        args=["users", "create", "x1", "--name", "X", "--role", "wizard", "--password", "pw-long-1"]
    )
    assert r.exit_code == 1 and "Unknown role: wizard" in r.output
    r = runner.invoke(args=["departments", "create", "c s", "--name", "bad"])
    assert r.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0


def test_tokens_create_prints_the_token_last(runner, client, make_user):
    """Does `tokens create` print a working token as its last line?"""
    make_user("alice")
    r = runner.invoke(args=["tokens", "create", "alice"])
    assert r.exit_code == 0
    token = r.output.strip().splitlines()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "alice"
    listing = runner.invoke(args=["tokens", "list", "alice"]).output
    assert "alice" in listing and "active" in listing


def test_tokens_create_for_unknown_user(runner):
    """Is a token for an unknown user refused clearly?"""
    r = runner.invoke(args=["tokens", "create", "ghost"])
    assert r.exit_code == 1 and "No user named ghost" in r.output


def test_demo_is_idempotent_and_its_users_log_in(demo, runner, client):
    """Does `qdms demo` (seeded by the ``demo`` fixture with `qdms demo --first-start`, as
    `make run` does) give one user per role, add nothing when run again, and do they log in?"""
    from app.demo import DEMO_PASSWORD
    from app.people.models import ROLES

    n = db.session.scalar(select(func.count()).select_from(User))
    assert runner.invoke(args=["demo"]).output.strip() == "demo: nothing to add"
    assert db.session.scalar(select(func.count()).select_from(User)) == n
    users = db.session.scalars(select(User)).all()
    for role in ROLES:
        assert any(u.has_role(role) for u in users), role
    codes = set(db.session.scalars(select(Department.code)))
    assert {"CS", "QA", "OM", "MK"} <= codes
    assert all(d.head is not None for d in db.session.scalars(select(Department)))
    r = client.form_post("/login", {"username": "officer", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    assert verify_chain(db.session).ok
    first = runner.invoke(args=["demo", "--first-start"])
    assert "already has users" in first.output


def test_demo_logins_are_printed(runner):
    """Does `qdms demo-logins` (used by `make run`) list every demo user with the password?"""
    from app.demo import DEMO_PASSWORD

    out = runner.invoke(args=["demo-logins"]).output
    assert "officer" in out and "auditor" in out and DEMO_PASSWORD in out
