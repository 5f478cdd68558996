"""Account controls (issue 20): no open redirect after login, failures counted atomically,
signature guessing counted and reported, tokens that expire, sessions that end, the
password policy and the response headers."""

from __future__ import annotations

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
