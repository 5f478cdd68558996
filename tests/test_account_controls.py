"""Account controls (issue 20): no open redirect after login, failures counted atomically,
signature guessing counted and reported, tokens that expire, sessions that end, the
password policy and the response headers."""

from __future__ import annotations

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.audit_trail.models import Event
from app.auth.models import ApiToken
from app.errors import SignatureFailed
from app.extensions import db, utcnow
from app.notifications.models import OutboxMessage
from app.people import services as people
from app.people.models import User
from app.signatures.models import Signature
from tests.conftest import PASSWORD

# Ways to write "another host" that a naive same-site check lets through; each must land
# on the dashboard instead.
OFF_SITE = [
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "/\\/evil.example/",
    "/%2F%2Fevil.example/",
    "/%2f/evil.example/",
    "/%5Cevil.example/",
    "/%5C%5Cevil.example/",
    "%2F%2Fevil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "/%09/evil.example/",
    "/%0d%0a/evil.example/",
    " //evil.example/",
    "/ /evil.example/",
    "/\u200b/evil.example/",
    "/\u3000/evil.example/",
    "\uff0f\uff0fevil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "",
]
SAME_SITE = ["/profile", "/documents?q=a%20b&page=2", "/search?q=%E6%9C%8D%E5%8A%A1", "/"]


def _login_with_next(client, target):
    token = client.csrf_token()
    return client.post(
        "/login",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD, "next": target},
    )


def test_login_never_redirects_off_site(client, make_user):
    """Does a login with any known open-redirect bypass in ``next`` land on the dashboard,
    while a plain path of this site (with its query) is still followed?"""
    make_user("alice")
    landed = {}
    for target in OFF_SITE + SAME_SITE:
        r = _login_with_next(client, target)
        assert r.status_code == 302, target
        landed[target] = r.headers["Location"]
        client.form_post("/logout")
    assert {t: landed[t] for t in OFF_SITE} == dict.fromkeys(OFF_SITE, "/")
    assert {t: landed[t] for t in SAME_SITE} == {t: t for t in SAME_SITE}


# -- failed logins are counted atomically (point 5) --------------------------------------


@contextmanager
def _serving(app):
    """``app`` served over HTTP by Werkzeug's threaded server (a thread per request)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _browser(base):
    """A requests session holding a login page's cookie and CSRF token."""
    browser = requests.Session()
    html = browser.get(f"{base}/login", timeout=30).text
    browser.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return browser


def _events(action, ref="user:alice"):
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).where(Event.object_ref == ref, Event.action == action)
    )


@pytest.mark.parametrize("backend", ["postgresql"])
def test_parallel_wrong_passwords_are_counted_one_by_one(app, make_user, backend):
    """With 20 wrong passwords sent at once (threshold 5), are exactly 5 failures counted
    and checked, the account locked once, and the other 15 refused as locked, unchecked?"""
    make_user("alice")
    n = 20
    with _serving(app) as base:
        browsers = [_browser(base) for _ in range(n)]
        barrier = threading.Barrier(n)

        def attempt(browser):
            barrier.wait(timeout=60)
            return browser.post(
                f"{base}/login",
                data={"csrf_token": browser.csrf, "username": "alice", "password": "wrong-guess-1"},
                allow_redirects=False,
                timeout=120,
            )

        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(attempt, browsers))
    assert [a.status_code for a in answers] == [401] * n
    locked = [a for a in answers if "This account is locked" in a.text]
    assert len(locked) == n - 4  # the 5th failure locks; the 15 after it find it locked
    assert _events("login_failed") == 5
    assert _events("locked") == 1
    assert _events("login_refused_locked") == n - 5
    user = db.session.scalar(select(User).where(User.username == "alice"))
    assert user.failed_logins == 0 and user.locked_until > utcnow()


def _login(client, username, password):
    return client.form_post("/login", {"username": username, "password": password})


def _flash(response) -> str:
    return re.search(r'class="alert[^"]*"[^>]*>\s*([^<]+?)\s*<', response.get_data(as_text=True))[1]


def test_unknown_name_is_locked_like_an_account(client, make_user):
    """Does a name that is no account get the same answers, lockout included, as an
    account after the same wrong passwords (no user enumeration)?"""
    make_user("alice")
    answers = {}
    for name in ("alice", "ghost"):
        answers[name] = [
            (r.status_code, _flash(r))
            for r in (_login(client, name, "wrong-guess-1") for _ in range(7))
        ]
    assert answers["alice"] == answers["ghost"]
    assert answers["ghost"][3] == (401, "Invalid username or password.")
    assert answers["ghost"][4][1].startswith("This account is locked")
    assert answers["ghost"][6][1].startswith("This account is locked")
    # the lock of a name that is no account does not lock anybody's login
    assert _login(client, "Ghost2", "wrong-guess-1").status_code == 401
    assert "Invalid username" in _flash(_login(client, "ghost2", "wrong-guess-1"))


# -- signature guessing (point 6) ---------------------------------------------------------


def _revision_awaiting_approval(client, api_token, make_user, make_docx):
    """QP-CS-001 A/0 submitted for approval by boss; the tokens of author and boss."""
    make_user("boss", roles=("approver",), department="QA")
    make_user("quality", roles=("officer",), department="QA")
    author, boss = api_token("author", roles=("author", "staff")), api_token("boss")
    r = client.post(
        "/api/v1/documents",
        json={"type": "QP", "department": "CS", "title": "顾客投诉处理程序"},
        headers=author,
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions",
        data={
            "change_summary": "首次发布",
            "change_reason": "新程序",
            "file": (io.BytesIO(make_docx(("服务补救五步法",))), "proc.docx"),
        },
        headers=author,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        json={"approvers": ["boss"]},
        headers=author,
    )
    assert r.status_code == 200, r.get_json()
    return boss


def test_signature_guessing_locks_the_account_and_tells_the_officer(
    client, api_token, make_user, make_docx
):
    """Do 30 wrong passwords to a sign endpoint count toward the lockout (5), each audited
    on the signer, lock the account, mail the quality officer once, and leave the token
    unusable while locked — with nothing signed?"""
    boss = _revision_awaiting_approval(client, api_token, make_user, make_docx)
    url = "/api/v1/documents/QP-CS-001/revisions/A0/approve"
    codes = [client.post(url, json={"password": f"guess-{i}"}, headers=boss) for i in range(30)]
    assert [r.status_code for r in codes[:5]] == [403] * 5
    assert {r.get_json()["error"]["code"] for r in codes[:5]} == {"signature_failed"}
    assert [r.status_code for r in codes[5:]] == [401] * 25  # locked: the token stops
    assert _events("signature_failed", "user:boss") == 5
    assert _events("locked", "user:boss") == 1
    assert _events("signed", "revision:QP-CS-001/A0") == 0
    db.session.rollback()
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "signature_lockout")
    ).all()
    assert [m.recipient.username for m in mail] == ["quality"]
    assert "boss" in mail[0].subject and "QP-CS-001" in mail[0].body
    # the right password is refused too while locked, at the sign endpoint and the login
    assert client.post(url, json={"password": PASSWORD}, headers=boss).status_code == 401
    r = _login(client, "boss", PASSWORD)
    assert r.status_code == 401 and "locked" in _flash(r)
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_a_signature_failure_counts_with_login_failures(client, make_user, app):
    """Do failed logins and failed signatures add up to one lockout count?"""
    from app.signatures.services import sign

    user = make_user("alice")
    for _ in range(3):
        assert _login(client, "alice", "wrong-guess-1").status_code == 401
    with pytest.raises(SignatureFailed):
        sign(db.session, user, "wrong-guess-1", meaning="approved", object_ref="x:1", content="x")
    db.session.rollback()  # the request's end: the failure is recorded after it
    db.session.refresh(user)
    assert user.failed_logins == 4 and user.locked_until is None
    r = _login(client, "alice", "wrong-guess-1")
    assert "locked" in _flash(r)


# -- API tokens expire, and stop for a locked or deactivated user (point 6) -------------


def test_api_tokens_expire_and_stop_for_locked_or_inactive_users(client, login_as, app):
    """Does a token made on the profile page work for QDMS_API_TOKEN_DAYS and then stop,
    and stop at once while its user is locked or deactivated?"""
    app.config["QDMS_API_TOKEN_DAYS"] = 7
    login_as("alice")
    html = client.form_post("/profile/tokens", {"name": "ci"}).get_data(as_text=True)
    headers = {"Authorization": "Bearer " + re.search(r'id="new-token">([^<]+)<', html)[1]}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
    user = db.session.scalar(select(User).where(User.username == "alice"))

    user.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    user.locked_until = None
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert "Expired" in client.get("/profile").get_data(as_text=True)

    token.expires_at = utcnow() + timedelta(days=1)
    user.is_active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


# -- logging out or a new password ends the other sessions (point 6) --------------------


def _second_browser(app, username="alice"):
    other = app.test_client()
    assert _login(other, username, PASSWORD).status_code == 302
    assert other.get("/profile").status_code == 200
    return other


def test_logout_ends_the_users_other_sessions(client, login_as, app):
    """When a user logs out in one browser, is the session in their other browser ended?"""
    login_as("alice")
    other = _second_browser(app)
    client.form_post("/logout")
    r = other.get("/profile")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_password_change_ends_the_other_sessions_but_not_this_one(client, login_as, app):
    """After a password change, does the session that changed it go on while the user's
    other sessions end?"""
    login_as("alice")
    other = _second_browser(app)
    r = client.form_post(
        "/profile/password",
        {
            "current_password": PASSWORD,
            "new_password": "a-new-secret-7",
            "confirm": "a-new-secret-7",
        },
    )
    assert r.status_code == 302
    assert client.get("/profile").status_code == 200
    r = other.get("/profile", follow_redirects=True)
    assert "Your session has ended. Please log in again." in r.get_data(as_text=True)


def test_an_administrators_password_reset_ends_the_users_sessions(client, login_as, app):
    """When an administrator sets a user's password, is the user's open session ended?"""
    login_as("alice")
    admin = app.test_client()  # the administrator, in a browser of their own
    people.create_user(
        db.session, None, username="root", full_name="Root", password=PASSWORD, roles=["admin"]
    )
    db.session.commit()
    assert _login(admin, "root", PASSWORD).status_code == 302
    r = admin.form_post("/admin/users/alice/password", {"password": "brand-new-pass1"})
    assert r.status_code == 302
    r = client.get("/profile")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


# -- the password policy (point 11) -------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw1", "at least 10 characters"),
        ("qwertyuiop", "most common"),
        ("1234567890", "most common"),
        ("Password123", "most common"),
        ("alice.wang1", "not be the username"),
        ("ALICE.WANG1", "not be the username"),
        ("correct\u200bhorse-9", "invisible or control"),
        ("correct\u200dhorse-9", "invisible or control"),
        ("correct\u202ehorse-9", "invisible or control"),
        ("correct\thorse-99", "invisible or control"),
        (PASSWORD, "differ from the current"),
    ],
)
def test_password_policy_refuses(client, login_as, password, message):
    """Is a new password refused (400, the reason named) when it is too short, common, the
    username, holds invisible characters, or is the current one?"""
    login_as("alice.wang1")
    r = client.form_post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": password, "confirm": password},
    )
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_passwords_are_unicode_normalised(client, login_as):
    """Is a password kept in NFKC form, so the same password typed in full-width
    characters or with a composed accent logs in either way?"""
    login_as("alice")
    new = "Ｃａｆｅ\u0301-ｓｅｃｒｅｔ-９"  # full-width, with a combining accent
    r = client.form_post(
        "/profile/password", {"current_password": PASSWORD, "new_password": new, "confirm": new}
    )
    assert r.status_code == 302
    client.form_post("/logout")
    assert _login(client, "alice", "Café-secret-9").status_code == 302


def test_demo_and_test_passwords_meet_the_policy():
    """Do the demo's and the tests' passwords pass the policy they are set under?"""
    from app.demo import DEMO_PASSWORD
    from app.passwords import check_password_policy

    for password in (DEMO_PASSWORD, PASSWORD):
        assert check_password_policy(password, 10, username="alice") == password


# -- response headers (point 11) ----------------------------------------------------------


def test_headers_hsts_permissions_no_server_version(app, client, make_user):
    """Does every answer carry a Permissions-Policy and no server version, and HSTS only
    when QDMS_SECURE_COOKIES is on?"""
    r = client.get("/login")
    assert "camera=()" in r.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in r.headers
    with _serving(app) as base:
        served = requests.get(f"{base}/login", timeout=30)
        assert not re.search(r"\d", served.headers.get("Server", "")), served.headers["Server"]
        app.config["SESSION_COOKIE_SECURE"] = True
        r = requests.get(f"{base}/login", timeout=30)
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_store_on_source_files_pdfs_and_api_json(client, login_as, make_document, api_token):
    """Are a revision's source file, its PDF and API JSON answered with no-store, while the
    site's own style sheet may be cached?"""
    make_document(effective=True)
    login_as("officer", roles=("officer",))
    for url in (
        "/documents/QP-CS-001/revisions/A0/file",
        "/documents/QP-CS-001/revisions/A0/pdf",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        assert "no-store" in r.headers["Cache-Control"], url
    r = client.get("/api/v1/me", headers=api_token())
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    with client.get("/static/app.css") as r:
        assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")
