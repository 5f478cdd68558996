"""The audit API: the "Audits" rows of API.md end to end, the gates as HTTP answers
(409 report with items to do, 409 start without independence, 400 links), and the report
PDF read back."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app.extensions import db, local_today
from tests.audit_helpers import PASSWORD, make_org, make_records, plan_nc


@pytest.fixture
def org(app):
    return make_org()


@pytest.fixture
def tokens(org):
    from app.auth import services as auth

    out = {}
    for user in (org.officer, org.head, org.reporter, org.outsider, org.auditor):
        out[user.username] = {
            "Authorization": f"Bearer {auth.create_token(db.session, None, user, 't')}"
        }
    db.session.commit()
    return out


def _body(departments=("CS",), **kw):
    start = local_today() + timedelta(days=3)
    return {
        "type": "internal",
        "title": "客户服务部内审",
        "objectives": "验证投诉处理过程",
        "scope": "投诉处理与服务补救",
        "clauses": ["7.5.3", "SVC-2"],
        "departments": list(departments),
        "lead_auditor": "auditor",
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(days=1)).isoformat(),
        **kw,
    }


def test_full_audit_through_the_api(client, org, tokens):
    """Can an audit be planned, run (a major NC with a linked record), answered, signed,
    closed and its report PDF read back with every 6.5.1 heading, the finding, its
    evidence and the signature?"""
    recs = make_records(org)
    auditor, head = tokens["auditor"], tokens["head"]
    r = client.get("/api/v1/clauses", headers=tokens["reporter"])
    assert r.status_code == 200 and r.json[0]["code"] == "4.1"
    r = client.post("/api/v1/audits", json=_body(), headers=tokens["officer"])
    assert r.status_code == 201, r.json
    number = r.json["number"]
    assert number.startswith("AUD-") and r.json["warnings"] == []
    assert len(r.json["checklist"]) == 5
    r = client.post(
        f"/api/v1/audits/{number}/checklist",
        json={"clause": "8.5", "question": "抽查服务记录"},
        headers=auditor,
    )
    assert r.status_code == 201
    for action in ("prepare", "start"):
        r = client.post(f"/api/v1/audits/{number}/{action}", json={}, headers=auditor)
        assert r.status_code == 200, r.json
    items = client.get(f"/api/v1/audits/{number}", headers=auditor).json["checklist"]
    first = items[0]["id"]
    r = client.patch(
        f"/api/v1/audits/{number}/checklist/{first}",
        json={
            "verdict": "major_nc",
            "evidence": "现场发现作废版本仍在使用",
            "links": [f"record:{recs['CS']}"],
        },
        headers=auditor,
    )
    assert r.status_code == 200, r.json
    assert r.json["nonconformity"].startswith("NC-") and r.json["finding"]["grade"] == "major_nc"
    r = client.post(f"/api/v1/audits/{number}/report", json={}, headers=auditor)
    assert r.status_code == 409 and r.json["error"]["code"] == "invalid_transition"
    for item in items[1:]:
        r = client.patch(
            f"/api/v1/audits/{number}/checklist/{item['id']}",
            json={"verdict": "conforming", "evidence": "抽查 3 份"},
            headers=auditor,
        )
        assert r.status_code == 200
    r = client.post(
        f"/api/v1/audits/{number}/report", json={"conclusions": "体系基本有效"}, headers=auditor
    )
    assert r.json["status"] == "reporting"
    finding = client.get(f"/api/v1/audits/{number}", headers=head).json["findings"][0]
    r = client.post(
        f"/api/v1/audits/{number}/findings/{finding['id']}/response",
        json={"decision": "accept"},
        headers=tokens["reporter"],
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/audits/{number}/findings/{finding['id']}/response",
        json={"decision": "accept"},
        headers=head,
    )
    assert r.status_code == 200 and r.json["status"] == "accepted"
    r = client.post(f"/api/v1/audits/{number}/sign", json={"password": "wrong"}, headers=auditor)
    assert r.status_code == 403 and r.json["error"]["code"] == "signature_failed"
    r = client.post(f"/api/v1/audits/{number}/sign", json={"password": PASSWORD}, headers=auditor)
    assert r.status_code == 200 and r.json["report_signed"] is True
    r = client.post(f"/api/v1/audits/{number}/close", json={}, headers=auditor)
    assert r.status_code == 409
    from app.capa.services import get_nc

    plan_nc(org, get_nc(db.session, finding["nonconformity"]))
    r = client.post(f"/api/v1/audits/{number}/close", json={}, headers=auditor)
    assert r.status_code == 200 and r.json["status"] == "closed"
    r = client.get(f"/api/v1/audits/{number}/report", headers=head)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    flat = text.replace("\n", " ")
    for heading in (
        "Audit objectives",
        "Audit scope",
        "Auditee",
        "Audit client",
        "Audit team and participants",
        "Dates and places",
        "Audit criteria",
        "Audit findings and evidence",
        "Audit conclusions",
        "Degree of conformity per clause",
        "Unresolved diverging opinions",
        "Sampling statement",
        "Signature",
    ):
        assert heading in flat, heading
    assert finding["label"] in flat and "作废版本" in flat and "Auditor" in flat
    assert "Page 1 of" in flat or "第 1 页" in flat or "1 /" in flat
    r = client.get(f"/api/v1/audits/{number}/report", headers=tokens["outsider"])
    assert r.status_code == 404


def test_independence_and_links_as_http(client, org, tokens):
    """Is `start` a 409 for an auditor of an audited department until the officer's
    justification, and a link to a missing record a 400 with the item unchanged?"""
    r = client.post("/api/v1/audits", json=_body(departments=("QA",)), headers=tokens["officer"])
    number = r.json["number"]
    assert [w["username"] for w in r.json["warnings"]] == ["auditor"]
    auditor = tokens["auditor"]
    client.post(f"/api/v1/audits/{number}/prepare", json={}, headers=auditor)
    r = client.post(f"/api/v1/audits/{number}/start", json={}, headers=auditor)
    assert r.status_code == 409 and "9.2.2" in r.json["error"]["message"]
    r = client.post(f"/api/v1/audits/{number}/justification", json={"text": "x"}, headers=auditor)
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/audits/{number}/justification",
        json={"text": "唯一的审核员"},
        headers=tokens["officer"],
    )
    assert r.status_code == 200
    assert (
        client.post(f"/api/v1/audits/{number}/start", json={}, headers=auditor).status_code == 200
    )
    item = client.get(f"/api/v1/audits/{number}", headers=auditor).json["checklist"][0]
    r = client.patch(
        f"/api/v1/audits/{number}/checklist/{item['id']}",
        json={"verdict": "conforming", "links": ["record:REC-NONE-2026-0001"]},
        headers=auditor,
    )
    assert r.status_code == 400 and "links" in r.json["error"]["fields"]
    after = client.get(f"/api/v1/audits/{number}", headers=auditor).json["checklist"][0]
    assert after == item


def test_list_programme_clone_and_import(client, org, tokens):
    """Do the list, programme, clone and criteria import answer as API.md says (a bad
    import row a 400 naming its line)?"""
    number = client.post("/api/v1/audits", json=_body(), headers=tokens["officer"]).json["number"]
    r = client.get("/api/v1/audits?status=planned", headers=tokens["reporter"])
    assert [a["number"] for a in r.json["items"]] == [number]
    assert client.get("/api/v1/audits", headers=tokens["outsider"]).json["total"] == 0
    year = int(number[4:8])
    r = client.get(f"/api/v1/audit-programmes/{year}", headers=tokens["auditor"])
    assert r.status_code == 200 and "QA" in r.json["uncovered"]["departments"]
    assert (
        client.get(f"/api/v1/audit-programmes/{year}", headers=tokens["reporter"]).status_code
        == 403
    )
    start = (local_today() + timedelta(days=370)).isoformat()
    r = client.post(
        f"/api/v1/audits/{number}/clone", json={"planned_start": start}, headers=tokens["officer"]
    )
    assert r.status_code == 201 and r.json["status"] == "planned"
    bad = io.BytesIO(b"code,title_zh,title_en,questions\nA-1,a,A,q\n,b,B,q\n")
    r = client.post(
        "/api/v1/clauses/import",
        data={"standard": "客户规范", "file": (bad, "c.csv")},
        headers=tokens["officer"],
    )
    assert r.status_code == 400 and "3" in r.json["error"]["message"]
    good = io.BytesIO(b'[{"code": "A-1", "title_zh": "a", "questions": ["q1", "q2"]}]')
    r = client.post(
        "/api/v1/clauses/import",
        data={"standard": "客户规范", "file": (good, "c.json")},
        headers=tokens["officer"],
    )
    assert r.status_code == 201 and r.json["added"] == 1
    assert (
        client.get("/api/v1/clauses?standard=客户规范", headers=tokens["reporter"]).json[0]["code"]
        == "A-1"
    )


def test_attachments_checked_by_content(client, org, tokens, pdf_bytes):
    """Is a PDF attached to an item in progress stored and downloadable, a file that is
    no PDF or image a 400 with nothing written, and an attachment before the start a
    409?"""
    number = client.post("/api/v1/audits", json=_body(), headers=tokens["officer"]).json["number"]
    auditor = tokens["auditor"]
    item = client.get(f"/api/v1/audits/{number}", headers=auditor).json["checklist"][0]["id"]
    url = f"/api/v1/audits/{number}/checklist/{item}/attachments"
    r = client.post(url, data={"file": (io.BytesIO(pdf_bytes), "现场.pdf")}, headers=auditor)
    assert r.status_code == 409
    for action in ("prepare", "start"):
        client.post(f"/api/v1/audits/{number}/{action}", json={}, headers=auditor)
    r = client.post(url, data={"file": (io.BytesIO(b"MZ not a pdf"), "x.pdf")}, headers=auditor)
    assert r.status_code == 400
    r = client.post(url, data={"file": (io.BytesIO(pdf_bytes), "现场.pdf")}, headers=auditor)
    assert r.status_code == 201, r.json
    att = r.json
    detail = client.get(f"/api/v1/audits/{number}", headers=auditor).json
    assert [a["id"] for a in detail["checklist"][0]["attachments"]] == [att["id"]]
    r = client.get(f"/api/v1/audits/{number}/attachments/{att['id']}", headers=tokens["head"])
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    r = client.get(f"/api/v1/audits/{number}/attachments/{att['id']}", headers=tokens["outsider"])
    assert r.status_code == 404


def test_add_and_edit_one_clause(client, org, tokens):
    """Does POST /clauses add one criterion (201; a code the standard has is a 400) and
    PATCH /clauses/{id} change only what it sends (officers; others 403)?"""
    body = {"standard": "服务规范", "code": "SV-1", "title_zh": "热线接通率"}
    r = client.post("/api/v1/clauses", json=body, headers=tokens["officer"])
    assert r.status_code == 201 and r.json["title"] == {"zh": "热线接通率", "en": "热线接通率"}
    assert client.post("/api/v1/clauses", json=body, headers=tokens["officer"]).status_code == 400
    cid = r.json["id"]
    patch = {"title_en": "Hotline answer rate", "questions": [{"zh": "怎么统计？", "en": "How?"}]}
    assert (
        client.patch(f"/api/v1/clauses/{cid}", json=patch, headers=tokens["auditor"]).status_code
        == 403
    )
    r = client.patch(f"/api/v1/clauses/{cid}", json=patch, headers=tokens["officer"])
    assert r.status_code == 200
    assert r.json["title"] == {"zh": "热线接通率", "en": "Hotline answer rate"}
    assert r.json["questions"] == [{"zh": "怎么统计？", "en": "How?"}]
    r = client.patch("/api/v1/clauses/999999", json=patch, headers=tokens["officer"])
    assert r.status_code == 404
    r = client.patch(f"/api/v1/clauses/{cid}", json={"document": "XX-9"}, headers=tokens["officer"])
    assert r.status_code == 400 and r.json["error"]["fields"].get("document")
