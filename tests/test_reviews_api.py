"""The management review API: the "Management review" rows of API.md end to end, the
frozen snapshot, the gates as HTTP answers, the carried actions (input a) and the report
PDF read back."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app.capa import services as capa
from app.extensions import db, local_today
from tests.review_helpers import PASSWORD, make_chair, make_org, tokens_for

CLAUSES = [
    "9.3.2 a",
    "9.3.2 b",
    "9.3.2 c1",
    "9.3.2 c2",
    "9.3.2 c3",
    "9.3.2 c4",
    "9.3.2 c5",
    "9.3.2 c6",
    "9.3.2 c7",
    "9.3.2 d",
    "9.3.2 e",
    "9.3.2 f",
    "7.5",
]


@pytest.fixture
def org(app):
    return make_org()


@pytest.fixture
def chair(org):
    return make_chair(org)


@pytest.fixture
def tokens(org, chair):
    return tokens_for(org.officer, org.owner, org.reporter, org.outsider, chair)


def _report_nc(org, source="internal"):
    nc = capa.report(
        db.session,
        org.reporter,
        source=source,
        description="窗口排队超过 30 分钟",
        department=org.cs,
        severity="minor",
    )
    db.session.commit()
    return nc


def _section(body, key):
    return next(s for s in body["inputs"] if s["key"] == key)


def _figure(section, key):
    return next(f for f in section["figures"] if f["key"] == key)["value"]


def _plan(client, tokens, days=200):
    today = local_today()
    r = client.post(
        "/api/v1/management-reviews",
        json={
            "period_start": (today - timedelta(days=days)).isoformat(),
            "period_end": today.isoformat(),
            "planned_date": (today + timedelta(days=3)).isoformat(),
            "chair": "gm",
        },
        headers=tokens["officer"],
    )
    assert r.status_code == 201, r.json
    return r.json["number"]


def test_full_review_through_the_api(client, org, chair, tokens):
    """Can a review be planned, compiled (every 9.3.2 input a–f and document control,
    frozen with a sha256), minuted, decided, signed by the chair and closed, its report read
    back with the headings, figures, decision, signature and "Page N of N"?"""
    _report_nc(org)
    _report_nc(org, source="supplier")
    officer = tokens["officer"]
    year = local_today().year
    number = _plan(client, tokens)
    assert number == f"MR-{year + (1 if (local_today() + timedelta(days=3)).year > year else 0)}-01"
    base = f"/api/v1/management-reviews/{number}"
    assert client.get(base, headers=officer).json["status"] == "planned"
    # not top management: refused
    r = client.post(
        "/api/v1/management-reviews",
        json={
            "period_start": "2026-01-01",
            "period_end": "2026-06-30",
            "planned_date": "2026-07-01",
            "chair": "officer",
        },
        headers=officer,
    )
    assert r.status_code == 400 and "chair" in r.json["error"]["fields"]
    # decisions wait for the inputs
    r = client.post(
        f"{base}/decisions", json={"text": "x", "category": "improvement"}, headers=officer
    )
    assert r.status_code == 409
    r = client.post(f"{base}/compile", json={}, headers=officer)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["status"] == "inputs_compiled" and len(body["sha256"]) == 64
    assert [s["clause"] for s in body["inputs"]] == CLAUSES
    for s in body["inputs"]:
        assert {"clause", "title", "figures", "tables", "charts"} <= set(s)
    c4 = _section(body, "c4")
    assert _figure(c4, "opened") == 2
    assert _figure(_section(body, "c7"), "opened") == 1
    # a second plain compile: 409 (recompile is explicit)
    assert client.post(f"{base}/compile", json={}, headers=officer).status_code == 409
    # minutes
    r = client.patch(
        base,
        json={
            "narratives": {"c4": "不符合项数量下降。", "a": "上次评审无遗留。"},
            "attendees": ["officer", "gm", "owner"],
            "external_issues": "新版服务标准发布",
            "resources": "客服人员充足",
        },
        headers=officer,
    )
    assert r.status_code == 200, r.json
    assert r.json["narratives"]["c4"] == "不符合项数量下降。"
    assert sorted(a["username"] for a in r.json["attendees"]) == ["gm", "officer", "owner"]
    r = client.patch(base, json={"narratives": {"zz": "x"}}, headers=officer)
    assert r.status_code == 400
    r = client.post(
        f"{base}/decisions",
        json={
            "text": "建立投诉回访制度",
            "category": "improvement",
            "owner": "owner",
            "due_date": (local_today() + timedelta(days=30)).isoformat(),
        },
        headers=officer,
    )
    assert r.status_code == 201, r.json
    assert r.json["label"] == f"{number}-D01" and r.json["status"] == "open"
    r = client.post(
        f"{base}/decisions", json={"text": "增加培训预算", "category": "resources"}, headers=officer
    )
    assert r.status_code == 201 and r.json["owner"] is None
    r = client.post(f"{base}/decisions", json={"text": "x", "category": "nope"}, headers=officer)
    assert r.status_code == 400
    # the owner sees the action in the shared list
    mine = client.get("/api/v1/actions", headers=tokens["owner"]).json
    assert [(a["source"], a["reference"]) for a in mine["items"]] == [
        ("management_review", f"{number}-D01")
    ]
    # approval: held first, the chair alone, the right password
    assert (
        client.post(
            f"{base}/approve", json={"password": PASSWORD}, headers=tokens["gm"]
        ).status_code
        == 409
    )
    assert client.post(f"{base}/hold", json={}, headers=officer).json["status"] == "held"
    assert (
        client.post(f"{base}/approve", json={"password": PASSWORD}, headers=officer).status_code
        == 403
    )
    r = client.post(f"{base}/approve", json={"password": "wrong"}, headers=tokens["gm"])
    assert r.status_code == 403 and r.json["error"]["code"] == "signature_failed"
    r = client.post(f"{base}/approve", json={"password": PASSWORD}, headers=tokens["gm"])
    assert r.status_code == 200, r.json
    assert r.json["status"] == "minutes_approved" and r.json["minutes_signed_by"] == "gm"
    assert r.json["report_sha256"]
    # approved: no more edits
    assert client.patch(base, json={"resources": "x"}, headers=officer).status_code == 409
    assert (
        client.post(
            f"{base}/decisions", json={"text": "y", "category": "improvement"}, headers=officer
        ).status_code
        == 409
    )
    # close waits for an owner of D02
    r = client.post(f"{base}/close", json={}, headers=officer)
    assert r.status_code == 409 and "D02" in r.json["error"]["message"]
    due = (local_today() + timedelta(days=60)).isoformat()
    r = client.patch(
        f"{base}/decisions/2", json={"owner": "owner", "due_date": due}, headers=officer
    )
    assert r.status_code == 400 and "reason" in r.json["error"]["fields"]
    r = client.patch(
        f"{base}/decisions/2",
        json={"owner": "owner", "due_date": due, "reason": "会后指定负责人"},
        headers=officer,
    )
    assert r.status_code == 200 and r.json["owner"] == "owner"
    r = client.post(f"{base}/close", json={}, headers=officer)
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert client.get(base, headers=officer).json["amendments"][0]["reason"] == "会后指定负责人"
    # the report: the kept record, in Chinese
    r = client.get(f"{base}/report", headers=tokens["gm"])
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for clause in CLAUSES:
        assert clause in text, clause
    assert "管理评审报告" in text and "建立投诉回访制度" in text and "黄志强" in text
    assert "不符合项数量下降" in text
    n = len(reader.pages)
    assert f"第 {n} 页 共 {n} 页" in text.replace("\n", " ") or f"第{n}页" in text
    # reading: outsiders get 404, top management reads
    assert client.get(base, headers=tokens["outsider"]).status_code == 404
    assert client.get("/api/v1/management-reviews", headers=tokens["outsider"]).json["total"] == 0


def test_the_snapshot_does_not_change_with_live_data(client, org, chair, tokens):
    """After compiling, do new NCs leave the frozen inputs and their hash as they were, and
    does a recompile make a new snapshot while keeping the old one?"""
    _report_nc(org)
    base = f"/api/v1/management-reviews/{_plan(client, tokens)}"
    first = client.post(f"{base}/compile", json={}, headers=tokens["officer"]).json
    assert _figure(_section(first, "c4"), "opened") == 1
    _report_nc(org)
    _report_nc(org)
    again = client.get(base, headers=tokens["officer"]).json
    assert again["inputs"] == first["inputs"] and again["sha256"] == first["sha256"]
    r = client.post(f"{base}/compile", json={"recompile": True}, headers=tokens["officer"]).json
    assert _figure(_section(r, "c4"), "opened") == 3
    assert [s["version"] for s in r["snapshots"]] == [1, 2]
    assert r["snapshots"][0]["sha256"] == first["sha256"] != r["sha256"]


def test_the_next_review_lists_the_previous_decisions_with_their_status(client, org, chair, tokens):
    """Does input a) of the next review list the previous review's decisions with their
    status now (one done with its evidence, one still open)?"""
    officer = tokens["officer"]
    first = _plan(client, tokens, days=400)
    base = f"/api/v1/management-reviews/{first}"
    client.post(f"{base}/compile", json={}, headers=officer)
    due = (local_today() + timedelta(days=20)).isoformat()
    ids = []
    for text in ("完善回访制度", "更新服务承诺"):
        r = client.post(
            f"{base}/decisions",
            json={"text": text, "category": "qms_change", "owner": "owner", "due_date": due},
            headers=officer,
        )
        ids.append(r.json["id"])
    r = client.post(
        f"/api/v1/management-review-actions/{ids[0]}/done",
        json={"evidence": "制度已发布"},
        headers=tokens["owner"],
    )
    assert r.status_code == 200 and r.json["status"] == "done"
    assert (
        client.post(
            f"/api/v1/management-review-actions/{ids[1]}/done",
            json={"evidence": "x"},
            headers=tokens["reporter"],
        ).status_code
        == 404
    )
    second = _plan(client, tokens, days=100)
    body = client.post(
        f"/api/v1/management-reviews/{second}/compile", json={}, headers=officer
    ).json
    a = _section(body, "a")
    rows = a["tables"][0]["rows"]
    assert [(row[0], row[1], row[5], row[6]) for row in rows] == [
        (f"{first}-D01", "完善回访制度", "Done", "制度已发布"),
        (f"{first}-D02", "更新服务承诺", "Open", ""),
    ]
    assert _figure(a, "done") == 1 and _figure(a, "open") == 1
    # on the page, in Chinese
    client.post("/language", data={"language": "zh_CN"})


def test_customer_feedback_figures_match_hand_built_complaints(client, app):
    """Three complaints of the period, two with every decided commitment met: does input c1
    say 3 received and 66.7 % commitment fulfilment (by category and channel), and does c2
    list the KPIs?"""
    from datetime import datetime

    from app.extensions import local_zone
    from tests.complaint_helpers import make_complaint_org, step, take

    org = make_complaint_org()
    make_chair(org)
    tokens = tokens_for(org.officer)
    now = datetime.now(local_zone()).replace(microsecond=0)
    at = now - timedelta(hours=3)
    a = take(org, at=at)
    step(org, a, "apology", at=at + timedelta(minutes=10))
    b = take(org, channel="counter", name="李雷", contact="13700000002", at=at)
    step(org, b, "apology", at=at + timedelta(minutes=20))
    c = take(org, channel="online", name="周明", contact="13600000004", at=at)
    step(org, c, "apology", at=at + timedelta(hours=2))  # an hour late
    number = _plan(client, tokens, days=30)
    body = client.post(
        f"/api/v1/management-reviews/{number}/compile", json={}, headers=tokens["officer"]
    ).json
    c1 = _section(body, "c1")
    assert _figure(c1, "received") == 3
    assert _figure(c1, "commitment") == 66.7
    tables = {t["key"]: t["rows"] for t in c1["tables"]}
    assert tables["categories"] == [["Service manner", 3, 0]]
    assert sorted(tables["channels"]) == [["Counter", 1, 0], ["Hotline", 1, 0], ["Online", 1, 0]]
    assert {ch["key"] for ch in c1["charts"]} == {"categories", "channels"}
    c2 = _section(body, "c2")
    assert _figure(c2, "kpis") == len(c2["tables"][0]["rows"])
