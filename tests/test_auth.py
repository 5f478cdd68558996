"""Login, lockout, CSRF, session timeout, logout, password change."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from app.audit_trail.models import Event
from app.extensions import db, utcnow
from app.people.models import User
from tests.conftest import PASSWORD


def _login(client, username, password):
    return client.form_post("/login", {"username": username, "password": password})


def _actions(object_ref):
    return [
        e.action for e in db.session.scalars(select(Event).where(Event.object_ref == object_ref))
    ]


def test_login_and_logout(client, make_user):
    """Does a correct password log in, land on the dashboard, and logout end the session?"""
    make_user("alice", full_name="Alice Wang")
    r = _login(client, "alice", PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "Alice Wang" in client.get("/").get_data(as_text=True)
    r = client.form_post("/logout")
    assert r.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    assert _actions("user:alice") == ["created", "login", "logout"]


def test_wrong_password_is_refused_with_a_message(client, make_user):
    """Does a wrong password give 401 with a clear message and no session?"""
    make_user("alice")
    r = _login(client, "alice", "nope-nope")
    assert r.status_code == 401
    assert "Invalid username or password." in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client):
    """Does an unknown username look exactly like a wrong password (no user enumeration)?"""
    r = _login(client, "ghost", "whatever1")
    assert r.status_code == 401
    assert "Invalid username or password." in r.get_data(as_text=True)


def test_lockout_after_five_failures_for_fifteen_minutes(client, make_user, app):
    """Do 5 failed logins lock the account for 15 minutes, even for the right password, audited?"""
    make_user("alice")
    for _ in range(4):
        assert _login(client, "alice", "bad-password").status_code == 401
    r = _login(client, "alice", "bad-password")
    assert "locked" in r.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.username == "alice"))
    db.session.refresh(user)
    remaining = user.locked_until - utcnow()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    # the right password does not help while locked
    r = _login(client, "alice", PASSWORD)
    assert r.status_code == 401 and "locked" in r.get_data(as_text=True)
    actions = _actions("user:alice")
    assert actions.count("login_failed") == 5
    assert "locked" in actions and "login_refused_locked" in actions
    # after the lock has run out, the right password works again
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _login(client, "alice", PASSWORD).status_code == 302


def test_admin_reset_lifts_a_lockout(client, make_user, login_as):
    """Can an administrator's password reset unlock a locked account?"""
    make_user("alice")
    for _ in range(5):
        _login(client, "alice", "bad-password")
    admin = login_as("boss", roles=("admin",))
    r = admin.form_post("/admin/users/alice/password", {"password": "brand-new-pass1"})
    assert r.status_code == 302
    admin.form_post("/logout")
    assert _login(client, "alice", "brand-new-pass1").status_code == 302


def test_csrf_token_is_required_on_forms(client, make_user):
    """Is a form post without (or with a wrong) CSRF token rejected with 400 and no effect?"""
    make_user("alice")
    r = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 400
    assert "The form has expired" in r.get_data(as_text=True)
    r = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert r.status_code == 400
    assert client.get("/").status_code == 302  # still logged out
    assert "login" not in _actions("user:alice")


def test_session_times_out_after_inactivity(client, login_as, app):
    """Is an idle session logged out after QDMS_SESSION_TIMEOUT_MINUTES, and an active one kept?"""
    login_as("alice")
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 29 * 60  # active 29 minutes ago: still fine
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 31 * 60
    r = client.get("/profile")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert "expired" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert _actions("user:alice")[-1] == "logout"


def test_session_timeout_is_configurable(app_config):
    """Does QDMS_SESSION_TIMEOUT_MINUTES set the idle limit?"""
    from app import create_app

    app = create_app({**app_config, "QDMS_SESSION_TIMEOUT_MINUTES": 5})
    assert app.permanent_session_lifetime == timedelta(minutes=5)
    assert app.config["QDMS_SESSION_TIMEOUT_MINUTES"] == 5


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    """Is an external ?next= ignored after login (no open redirect)?"""
    make_user("alice")
    token = client.csrf_token()
    r = client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "alice",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert r.headers["Location"] == "/"


def test_next_parameter_returns_to_the_page(client, make_user):
    """Does login return to the page that asked for it?"""
    make_user("alice")
    r = client.get("/profile")
    assert r.status_code == 302
    token = client.csrf_token()
    r = client.post(
        "/login",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD, "next": "/profile"},
    )
    assert r.headers["Location"] == "/profile"


def test_password_change_needs_the_current_password(login_as):
    """Does changing one's password require the current one and respect the minimum length?"""
    client = login_as("alice")
    r = client.form_post(
        "/profile/password",
        {
            "current_password": "wrong-one1",
            "new_password": "another-pass1",
            "confirm": "another-pass1",
        },
    )
    assert r.status_code == 400 and "current password is wrong" in r.get_data(as_text=True)
    r = client.form_post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
    )
    assert r.status_code == 400 and "at least 10 characters" in r.get_data(as_text=True)
    r = client.form_post(
        "/profile/password",
        {
            "current_password": PASSWORD,
            "new_password": "another-pass12",
            "confirm": "another-pass12",
        },
    )
    assert r.status_code == 302
    client.form_post("/logout")
    assert _login(client, "alice", PASSWORD).status_code == 401
    assert _login(client, "alice", "another-pass12").status_code == 302


def test_passwords_are_stored_as_argon2_hashes(make_user):
    """Is the stored password an argon2id hash, never the password itself?"""
    user = make_user("alice")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_inactive_user_cannot_log_in_and_loses_the_session(client, login_as, app):
    """Is a deactivated user refused at login and logged out of an existing session?"""
    login_as("alice")
    user = db.session.scalar(select(User).where(User.username == "alice"))
    user.is_active = False
    db.session.commit()
    assert client.get("/").status_code == 302
    assert _login(client, "alice", PASSWORD).status_code == 401


def test_security_headers(client):
    """Does every page carry a CSP without inline script, nosniff and frame denial?"""
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in r.get_data(as_text=True)
    assert 'style="' not in r.get_data(as_text=True)


def test_the_sweep_forgets_old_counters_of_unknown_names(app, runner):
    """Does `qdms sweep` drop the failure counters of names that are no account once a day
    has passed since their last failure, and keep recent ones and those still locked?"""
    from app.auth.models import LoginThrottle

    now = utcnow()
    db.session.add_all(
        [
            LoginThrottle(username="old", failed_logins=2, last_failed_at=now - timedelta(days=2)),
            LoginThrottle(username="recent", failed_logins=2, last_failed_at=now),
            LoginThrottle(
                username="locked",
                failed_logins=0,
                last_failed_at=now - timedelta(days=2),
                locked_until=now + timedelta(minutes=10),
            ),
        ]
    )
    db.session.commit()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    names = set(db.session.scalars(select(LoginThrottle.username)))
    assert names == {"recent", "locked"}
