"""The permission matrix: every route and API endpoint, as every role."""

from __future__ import annotations

import pytest

from app.people.models import ROLES

# The HTML routes that exist, with the expected status for each role (default 200).
# GET only; state-changing POSTs are covered by the feature tests.
PAGES = {
    "/": {},
    "/profile": {},
    "/audit-trail": {"author": 403, "approver": 403, "staff": 403},
    "/admin/departments": {r: 403 for r in ROLES if r != "admin"},
    "/admin/departments/new": {r: 403 for r in ROLES if r != "admin"},
    "/admin/departments/CS/edit": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users/new": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users/someone/edit": {r: 403 for r in ROLES if r != "admin"},
}

API = {
    "/api/v1/me": {},
    "/api/v1/departments": {},
    "/api/v1/users": {},
    "/api/v1/audit-trail": {"author": 403, "approver": 403, "staff": 403},
}

# Endpoints that must not appear in the tables above: public or POST-only.
NOT_GET_PAGES = {
    "auth.login",
    "auth.logout",
    "auth.switch_language",
    "auth.profile_language",
    "auth.profile_password",
    "auth.profile_token_create",
    "auth.profile_token_revoke",
    "people.user_reset_password",
    "static",
    "bootstrap.static",
    "api.openapi",
}


def test_the_matrix_covers_every_route(app):
    """Is every registered route either in the matrix or known to be public/POST-only?"""
    listed = set(PAGES) | set(API)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_GET_PAGES:
            continue
        concrete = rule.rule.replace("<code>", "CS").replace("<username>", "someone")
        assert concrete in listed, f"{rule.rule} ({rule.endpoint}) is not in the permission matrix"


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(role, login_as, make_user):
    """Does each page give each role exactly the expected status?"""
    make_user("someone", roles=("staff",))
    client = login_as(f"user_{role}", roles=(role,))
    for path, expected in PAGES.items():
        assert client.get(path).status_code == expected.get(role, 200), (role, path)


@pytest.mark.parametrize("role", ROLES)
def test_api_as_each_role(role, client, api_token):
    """Does each endpoint give each role exactly the expected status?"""
    headers = api_token(f"user_{role}", roles=(role,))
    for path, expected in API.items():
        assert client.get(path, headers=headers).status_code == expected.get(role, 200), (
            role,
            path,
        )


def test_anonymous_visitors_are_sent_to_login(client):
    """Is every page closed to an anonymous visitor (redirect to login), every endpoint 401?"""
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    for path in API:
        assert client.get(path).status_code == 401, path
