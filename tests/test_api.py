"""API base: bearer tokens, the JSON error shape, languages, pagination, OpenAPI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken
from app.extensions import db


def _error(r):
    body = r.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer qdms_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "qdms_abc"},
    ],
)
def test_no_or_bad_token_is_401_with_the_json_error_shape(client, headers):
    """Is every request without a valid bearer token a 401 with {"error": {code, message}}?"""
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.mimetype == "application/json"
    assert _error(r)["code"] == "unauthorized" and _error(r)["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_error_message_follows_accept_language(client):
    """Is the error message in the language of Accept-Language?"""
    en = _error(client.get("/api/v1/me", headers={"Accept-Language": "en"}))["message"]
    zh = _error(client.get("/api/v1/me", headers={"Accept-Language": "zh-CN"}))["message"]
    assert en == "A valid API token is required."
    assert zh != en and any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_valid_token_authenticates(client, api_token):
    """Does a token from `create_token` identify its user, and record its last use?"""
    headers = api_token("zhang", roles=("staff", "author"))
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["username"] == "zhang" and body["roles"] == ["author", "staff"]
    token = db.session.scalar(select(ApiToken))
    assert token.last_used_at is not None
    assert token.token_hash not in headers["Authorization"]  # only the hash is stored


def test_token_last_use_is_kept_to_the_minute(app, api_token):
    """Is a token's last use written on its first use and then at most once a minute, so
    that reading through the API is not a write on every request?"""
    from datetime import timedelta

    from app.auth.services import user_for_token

    token = api_token("zhang")["Authorization"].split(" ", 1)[1]
    row = db.session.scalar(select(ApiToken))
    first = row.created_at + timedelta(hours=1)
    assert user_for_token(db.session, token, now=first).username == "zhang"
    assert row.last_used_at == first
    user_for_token(db.session, token, now=first + timedelta(seconds=59))
    assert row.last_used_at == first and not db.session.dirty
    later = first + timedelta(seconds=60)
    user_for_token(db.session, token, now=later)
    assert row.last_used_at == later


def test_revoked_token_and_inactive_user_are_refused(client, api_token, runner):
    """Does revoking a token (CLI) or deactivating its user end its access?"""
    headers = api_token("zhang")
    token = db.session.scalar(select(ApiToken))
    assert runner.invoke(args=["tokens", "revoke", str(token.id)]).exit_code == 0
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    headers = api_token("zhang")
    token.user.is_active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_api_does_not_use_the_browser_session(client, login_as):
    """Is a logged-in browser session not enough for the API (no ambient credentials)?"""
    login_as("alice")
    assert client.get("/api/v1/me").status_code == 401


def test_an_idle_browser_session_does_not_turn_api_answers_into_redirects(
    client, api_token, login_as
):
    """Does a request to any API blueprint carrying both a bearer token and the cookie of
    an idle browser session get its JSON answer (the API never reads the session), and
    stay out of the browser session's idle timeout?"""
    import time

    headers = api_token("zhang")
    login_as("alice")
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 31 * 60
    for path in ("/api/v1/copies", "/api/v1/records", "/api/v1/external-documents"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and r.mimetype == "application/json", path
    with client.session_transaction() as sess:
        assert "_user_id" in sess  # the browser session is untouched by API calls


def test_unknown_api_path_is_a_json_404(client, api_token):
    """Is an unknown endpoint a 404 in the JSON error shape, not an HTML page?"""
    r = client.get("/api/v1/no-such-thing", headers=api_token())
    assert r.status_code == 404 and _error(r)["code"] == "not_found"


def test_wrong_method_is_a_json_405(client, api_token):
    """Is a wrong method a 405 in the JSON error shape?"""
    r = client.delete("/api/v1/me", headers=api_token())
    assert r.status_code == 405 and _error(r)["code"] == "method_not_allowed"


def test_pagination_shape_and_bad_values(client, api_token, make_department):
    """Do lists answer {items, page, per_page, total}, and is a bad per_page a 400 naming it?"""
    headers = api_token()
    for code in ("QA", "OM", "MK"):
        make_department(code, f"Dept {code}")
    body = client.get("/api/v1/departments?per_page=2&page=2", headers=headers).get_json()
    assert body["total"] == 4 and body["page"] == 2 and body["per_page"] == 2
    assert [d["code"] for d in body["items"]] == ["OM", "QA"]
    for bad in ("0", "201", "x"):
        r = client.get(f"/api/v1/departments?per_page={bad}", headers=headers)
        assert r.status_code == 400
        error = _error(r)
        assert error["code"] == "validation_failed" and "per_page" in error["fields"]


def test_unknown_department_filter_is_404(client, api_token):
    """Does filtering users by an unknown department give a JSON 404?"""
    r = client.get("/api/v1/users?department=NOPE", headers=api_token())
    assert r.status_code == 404 and _error(r)["code"] == "not_found"


def test_user_directory_hides_contact_details_from_non_admins(client, api_token):
    """Do only administrators see e-mail addresses in the user list?"""
    staff = client.get("/api/v1/users", headers=api_token("zhang")).get_json()
    assert "email" not in staff["items"][0]
    admin = client.get("/api/v1/users", headers=api_token("root", roles=("admin",))).get_json()
    assert "email" in admin["items"][0]


def test_openapi_is_served_and_generated_from_the_views(client):
    """Is the OpenAPI document served without a token and does it describe every endpoint?"""
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/me", "/api/v1/departments", "/api/v1/users", "/api/v1/audit-trail"):
        assert path in doc["paths"], path
    assert {"Event", "User", "Department", "Error"} <= set(doc["components"]["schemas"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# the routes and the document are the same on both backends
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_api_endpoint_is_in_openapi(app, client):
    """Does every /api/v1 route and method (except the document itself) appear in the
    OpenAPI paths?"""
    import re

    doc = client.get("/api/v1/openapi.json").get_json()
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(rules) > 50
    for rule in rules:
        if rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], f"{rule.rule} is missing from openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], f"{method} {rule.rule} is undocumented"
