"""Account controls (issue 20): no open redirect after login, failures counted atomically,
signature guessing counted and reported, tokens that expire, sessions that end, the
password policy and the response headers."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.audit_trail.models import Event
from app.extensions import db, utcnow
from app.people.models import User
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
