"""The nonconformity API: the rows of API.md's "Nonconformities, actions" section, its
gates as HTTP answers, and who may do what."""

from __future__ import annotations

import pytest

from app.extensions import db, local_today
from tests.capa_helpers import make_org
from tests.conftest import PASSWORD


@pytest.fixture
def org(app):
    return make_org()


@pytest.fixture
def tokens(org):
    from app.auth import services as auth

    out = {}
    for user in (org.officer, org.head, org.reporter, org.owner, org.outsider, org.auditor):
        out[user.username] = {
            "Authorization": f"Bearer {auth.create_token(db.session, None, user, 't')}"
        }
    db.session.commit()
    return out


def _plan(today, owner="owner", password=PASSWORD):
    return {
        "actions": [
            {
                "text": "培训",
                "owner": owner,
                "due_date": today.isoformat(),
                "type": "corrective",
            }
        ],
        "effectiveness": {"criterion": "无重复", "check_date": today.isoformat()},
        "password": password,
    }


def test_api_walks_an_nc_to_closed(client, tokens):
    """Does the API take an NC from a staff report to closed, with the answers of API.md?"""
    today = local_today()
    r = client.post(
        "/api/v1/nonconformities",
        json={"description": "窗口排队过长", "severity": "major", "links": []},
        headers=tokens["reporter"],
    )
    assert r.status_code == 201, r.get_json()
    number = r.get_json()["number"]
    assert number == f"NC-{today.year}-0001" and r.get_json()["status"] == "reported"
    assert r.get_json()["department"] == "CS" and r.get_json()["source"] == "internal"
    base = f"/api/v1/nonconformities/{number}"
    r = client.post(f"{base}/containment", json={"text": "加开窗口"}, headers=tokens["head"])
    assert r.get_json()["status"] == "contained"
    r = client.post(
        f"{base}/analysis",
        json={"whys": ["人手不足"], "categories": ["people"], "similar_elsewhere": "否"},
        headers=tokens["head"],
    )
    assert r.get_json()["status"] == "analysed"
    # the reporter may not approve the plan; a wrong password changes nothing
    assert (
        client.post(f"{base}/plan", json=_plan(today), headers=tokens["reporter"]).status_code
        == 403
    )
    r = client.post(f"{base}/plan", json=_plan(today, password="nope"), headers=tokens["head"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "signature_failed"
    assert client.get(base, headers=tokens["head"]).get_json()["status"] == "analysed"
    r = client.post(f"{base}/plan", json=_plan(today), headers=tokens["head"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "action_planned"
    assert [s["meaning"] for s in r.get_json()["signatures"]] == ["nc_plan_approved"]
    # my actions
    mine = client.get("/api/v1/actions", headers=tokens["owner"]).get_json()
    assert [a["nc"] for a in mine["items"]] == [number]
    action = mine["items"][0]["id"]
    assert client.get("/api/v1/actions?owner=owner", headers=tokens["reporter"]).status_code == 403
    r = client.post(
        f"/api/v1/actions/{action}/done", json={"evidence": ""}, headers=tokens["owner"]
    )
    assert r.status_code == 400 and "evidence" in r.get_json()["error"]["fields"]
    r = client.post(
        f"/api/v1/actions/{action}/done", json={"evidence": "培训记录"}, headers=tokens["owner"]
    )
    assert r.status_code == 200 and r.get_json()["status"] == "done"
    # the check date is today: straight to verifying
    assert client.get(base, headers=tokens["head"]).get_json()["status"] == "verifying"
    r = client.post(
        f"{base}/verification",
        json={"effective": True, "evidence": "无排队", "password": PASSWORD},
        headers=tokens["head"],
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "closed"
    assert (
        client.get("/api/v1/actions?status=done", headers=tokens["owner"]).get_json()["total"] == 1
    )


def test_api_gates_answer_400_or_409_naming_what_is_missing(client, tokens):
    """Do the API's gates answer 400 naming the field, and 409 out of order, in Chinese
    when asked?"""
    r = client.post("/api/v1/nonconformities", json={"description": "x"}, headers=tokens["head"])
    base = f"/api/v1/nonconformities/{r.get_json()['number']}"
    r = client.post(f"{base}/containment", json={"text": ""}, headers=tokens["head"])
    assert r.status_code == 400 and "text" in r.get_json()["error"]["fields"]
    r = client.post(
        f"{base}/analysis",
        json={"whys": ["a"], "similar_elsewhere": "b"},
        headers={**tokens["head"], "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_transition"
    client.post(f"{base}/containment", json={"text": "隔离"}, headers=tokens["head"])
    r = client.post(f"{base}/analysis", json={"similar_elsewhere": "b"}, headers=tokens["head"])
    assert r.status_code == 400
    assert {"whys", "categories"} <= set(r.get_json()["error"]["fields"])
    r = client.post(f"{base}/plan", json={"password": PASSWORD}, headers=tokens["head"])
    assert r.status_code == 400 and "actions" in r.get_json()["error"]["fields"]


def test_visibility_of_an_nc(client, tokens):
    """Is an NC of CS hidden (404) from QA staff but seen by the auditor and its reporter?"""
    r = client.post(
        "/api/v1/nonconformities", json={"description": "x"}, headers=tokens["reporter"]
    )
    base = f"/api/v1/nonconformities/{r.get_json()['number']}"
    assert client.get(base, headers=tokens["outsider"]).status_code == 404
    assert client.get(base, headers=tokens["auditor"]).status_code == 200
    assert client.get(base, headers=tokens["reporter"]).status_code == 200
    assert (
        client.get("/api/v1/nonconformities", headers=tokens["outsider"]).get_json()["total"] == 0
    )
    assert client.get("/api/v1/nonconformities", headers=tokens["auditor"]).get_json()["total"] == 1


def test_trail_finds_an_nc_by_its_number_typed_without_prefix(client, tokens):
    """Does the audit trail's object filter find an NC's events from 2026-1?"""
    r = client.post("/api/v1/nonconformities", json={"description": "x"}, headers=tokens["head"])
    number = r.get_json()["number"]
    year = number.split("-")[1]
    events = client.get(f"/api/v1/audit-trail?object={year}-1", headers=tokens["officer"])
    assert events.status_code == 200, events.get_json()
    body = events.get_json()
    items = body["items"] if isinstance(body, dict) else body
    assert {e["object"] for e in items} == {f"nonconformity:{number}"}
