"""The complaints API: the rows of API.md's "Complaints" section, the status following the
steps, the close rule, compensation approval, personal data, and bad input."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest

from app.complaints.models import ComplaintStep
from app.extensions import db, utcnow
from tests.complaint_helpers import make_complaint_org
from tests.conftest import PASSWORD


@pytest.fixture
def org(app):
    return make_complaint_org()


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


def _intake(client, headers, **over):
    body = {
        "channel": "hotline",
        "category": "SVC",
        "customer": {"name": "王芳", "contact": "13800000001"},
        "site": "人民路营业厅",
        "request": "退还多收的费用",
        **over,
    }
    return client.post("/api/v1/complaints", json=body, headers=headers)


def test_a_case_walks_from_intake_to_closed(client, tokens):
    """Does a case go received → acknowledged → resolved → followed_up → closed through the
    API, with its clocks met and first-contact resolution derived?"""
    r = _intake(client, tokens["reporter"])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    number = body["number"]
    assert number.startswith("CMP-") and len(number) == len("CMP-2026-00001")
    assert body["status"] == "received" and body["department"] == "CS"
    assert [c["step"] for c in body["clocks"]] == ["apology", "restoration", "follow_up"]
    assert all(c["due_at"].endswith("Z") and c["met"] is None for c in body["clocks"])
    base = f"/api/v1/complaints/{number}"
    steps = [
        ({"step": "apology", "note": "当面致歉"}, "acknowledged"),
        ({"step": "empathy", "note": "理解顾客心情"}, "acknowledged"),
        ({"step": "restoration", "note": "已退款"}, "resolved"),
        ({"step": "compensation", "note": "赠送小礼品", "value": "20"}, "resolved"),
        ({"step": "follow_up", "note": "电话回访", "satisfaction": 5}, "followed_up"),
    ]
    for payload, status in steps:
        r = client.post(f"{base}/steps", json=payload, headers=tokens["head"])
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["status"] == status
    detail = client.get(base, headers=tokens["head"]).get_json()
    assert detail["first_contact_resolution"] is True
    assert [c["met"] for c in detail["clocks"]] == [True, True, True]
    assert detail["satisfaction"] == 5 and detail["missing_steps"] == []
    r = client.post(f"{base}/close", json={}, headers=tokens["head"])
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    # a double entry of a step is refused, and a closed case takes no more
    r = client.post(f"{base}/close", json={}, headers=tokens["head"])
    assert r.status_code == 409


def test_closing_with_steps_skipped_needs_a_reason(client, tokens):
    """Is a close without all five steps refused (400, naming them) until a reason is
    given, and is a repeated step a 409?"""
    number = _intake(client, tokens["reporter"]).get_json()["number"]
    base = f"/api/v1/complaints/{number}"
    client.post(f"{base}/steps", json={"step": "apology"}, headers=tokens["head"])
    r = client.post(f"{base}/steps", json={"step": "apology"}, headers=tokens["head"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    r = client.post(
        f"{base}/close", json={}, headers={**tokens["head"], "Accept-Language": "zh-CN"}
    )
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["fields"] == {"reason": "必填"} and "原因" in error["message"]
    assert client.get(base, headers=tokens["head"]).get_json()["status"] == "acknowledged"
    r = client.post(f"{base}/close", json={"reason": "轻微投诉"}, headers=tokens["head"])
    assert r.status_code == 200 and r.get_json()["close_reason"] == "轻微投诉"


def test_compensation_above_the_value_needs_the_heads_signature(client, tokens):
    """Does a compensation above the set value wait for the head's signed approval, and
    block closing until then?"""
    number = _intake(client, tokens["reporter"]).get_json()["number"]
    base = f"/api/v1/complaints/{number}"
    r = client.post(
        f"{base}/steps",
        json={"step": "compensation", "value": "500", "note": "退还一个月费用"},
        headers=tokens["reporter"],
    )
    assert r.status_code == 200
    assert r.get_json()["steps"][0]["approval"] == "pending"
    r = client.post(f"{base}/close", json={"reason": "已补偿"}, headers=tokens["head"])
    assert r.status_code == 409
    r = client.post(
        f"{base}/compensation/approve", json={"password": PASSWORD}, headers=tokens["officer"]
    )
    assert r.status_code == 403
    r = client.post(
        f"{base}/compensation/approve", json={"password": "wrong"}, headers=tokens["head"]
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "signature_failed"
    r = client.post(
        f"{base}/compensation/approve", json={"password": PASSWORD}, headers=tokens["head"]
    )
    assert r.status_code == 200 and r.get_json()["steps"][0]["approval"] == "approved"


def test_personal_data_is_masked_for_another_department(client, tokens):
    """Does staff of another department see the case without the customer's name and
    contact, in the case, the list and the export, while the department and auditors see
    them?"""
    number = _intake(client, tokens["reporter"]).get_json()["number"]
    outsider = client.get(f"/api/v1/complaints/{number}", headers=tokens["outsider"]).get_json()
    assert outsider["customer"] == {"name": "王***", "contact": "***", "masked": True}
    listed = client.get("/api/v1/complaints", headers=tokens["outsider"]).get_json()
    assert "13800000001" not in str(listed) and "王芳" not in str(listed)
    r = client.get("/api/v1/complaints/export.xlsx", headers=tokens["outsider"])
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row]
    assert "王芳" not in cells and "13800000001" not in cells and "王***" in cells
    for who in ("head", "owner", "auditor", "officer"):
        seen = client.get(f"/api/v1/complaints/{number}", headers=tokens[who]).get_json()
        assert seen["customer"]["name"] == "王芳", who
    r = client.get("/api/v1/complaints/export.xlsx", headers=tokens["auditor"])
    cells = [
        str(c.value)
        for row in openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows()
        for c in row
    ]
    assert "王芳" in cells and "13800000001" in cells


def test_bad_input_is_a_4xx_in_the_users_language_and_writes_nothing(client, tokens):
    """Do bad fields give 400 with the field named, in Chinese, and no case?"""
    zh = {**tokens["reporter"], "Accept-Language": "zh-CN"}
    bad = [
        {"category": "NOPE"},
        {"channel": "pigeon"},
        {"customer": {"name": "  "}},
        {"request": ""},
        {"received_at": (utcnow() + timedelta(days=2)).isoformat()},
        {"received_at": "2026-13-01T00:00:00Z"},
        {"department": "XX"},
    ]
    for over in bad:
        r = _intake(client, zh, **over)
        assert r.status_code == 400, (over, r.get_json())
        assert r.get_json()["error"]["message"]
    assert client.get("/api/v1/complaints", headers=zh).get_json()["total"] == 0
    number = _intake(client, zh).get_json()["number"]
    base = f"/api/v1/complaints/{number}/steps"
    for payload in (
        {"step": "follow_up", "satisfaction": 9},
        {"step": "compensation"},
        {"step": "compensation", "value": "-3"},
        {"step": "apology", "at": "2000-01-01T00:00:00Z"},
        {"step": "bow"},
    ):
        r = client.post(base, json=payload, headers={**tokens["head"], "Accept-Language": "zh-CN"})
        assert r.status_code == 400, (payload, r.get_json())
    # follow-up before the case is resolved: the transition is refused
    r = client.post(base, json={"step": "follow_up", "satisfaction": 4}, headers=tokens["head"])
    assert r.status_code == 409
    assert db.session.query(ComplaintStep).count() == 0


def test_categories_are_kept_by_officers(client, tokens):
    """Does an officer add a category with its clocks, and is anyone else refused?"""
    body = {
        "code": "WAIT",
        "name": "排队等候",
        "clocks": [
            {"step": "apology", "within_hours": 1},
            {"step": "restoration", "within_hours": 4},
        ],
    }
    assert (
        client.post("/api/v1/complaint-categories", json=body, headers=tokens["head"]).status_code
        == 403
    )
    r = client.post("/api/v1/complaint-categories", json=body, headers=tokens["officer"])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["clocks"] == [
        {"step": "apology", "within_hours": 1},
        {"step": "restoration", "within_hours": 4},
    ]
    codes = [
        c["code"]
        for c in client.get("/api/v1/complaint-categories", headers=tokens["outsider"]).get_json()[
            "items"
        ]
    ]
    assert codes == ["FAC", "SVC", "WAIT"]
    r = client.post(
        "/api/v1/complaint-categories",
        json={**body, "clocks": [{"step": "apology", "within_hours": 0}]},
        headers=tokens["officer"],
    )
    assert r.status_code == 400


def test_list_filters_and_pages(client, tokens):
    """Do the list's filters and pages answer as documented?"""
    for i in range(3):
        _intake(client, tokens["reporter"], channel="counter" if i else "hotline")
    r = client.get("/api/v1/complaints?channel=counter&per_page=1", headers=tokens["head"])
    body = r.get_json()
    assert (body["total"], len(body["items"]), body["per_page"]) == (2, 1, 1)
    assert (
        client.get("/api/v1/complaints?status=closed", headers=tokens["head"]).get_json()["total"]
        == 0
    )
    assert (
        client.get("/api/v1/complaints?breached=true", headers=tokens["head"]).get_json()["total"]
        == 0
    )
    assert (
        client.get("/api/v1/complaints?department=QA", headers=tokens["head"]).get_json()["total"]
        == 0
    )
    assert client.get("/api/v1/complaints?status=bogus", headers=tokens["head"]).status_code == 400
