"""The audit pages: plan from the clause library, fill the checklist, answer a finding,
sign and download the report, the programme's coverage — and no English left in the
Chinese pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.audits import services
from app.extensions import db, local_today
from tests.audit_helpers import PASSWORD, make_org, make_records, new_audit, walk


@pytest.fixture
def org(app):
    return make_org()


def _login(client, user):
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    r = client.form_post("/login", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302


def _visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|details)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_plan_fill_answer_sign_through_the_pages(client, org):
    """Can the officer plan from the library, the auditor fill the checklist (a major NC
    with a linked record, a bad link refused with 400), the head answer, and the lead
    auditor sign and download the report, all through the pages?"""
    recs = make_records(org)
    _login(client, org.officer)
    start = (local_today() + timedelta(days=1)).isoformat()
    r = client.form_post(
        "/audits/new",
        {
            "type": "internal",
            "title": "页面内审",
            "objectives": "目标",
            "scope": "范围",
            "clauses": ["7.5.3"],
            "departments": ["CS"],
            "lead_auditor": "auditor",
            "planned_start": start,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    number = r.headers["Location"].rsplit("/", 1)[-1]
    r = client.form_post("/audits/new", {"title": "缺字段"})
    assert r.status_code == 400
    _login(client, org.auditor)
    assert client.form_post(f"/audits/{number}/move/prepare").status_code == 302
    assert client.form_post(f"/audits/{number}/move/start").status_code == 302
    a = services.get_audit(db.session, number)
    first, *rest = [i.id for i in a.items]
    r = client.form_post(
        f"/audits/{number}/checklist/{first}",
        {"verdict": "major_nc", "evidence": "证据", "links": "record:REC-NOPE-2026-0001"},
    )
    assert r.status_code == 400
    r = client.form_post(
        f"/audits/{number}/checklist/{first}",
        {
            "verdict": "major_nc",
            "evidence": "作废版本在用",
            "links": f"record:{recs['CS']}",
            "done": "1",
        },
    )
    assert r.status_code == 302
    assert client.form_post(f"/audits/{number}/move/report").status_code == 409
    for item_id in rest:
        client.form_post(
            f"/audits/{number}/checklist/{item_id}",
            {"verdict": "conforming", "evidence": "抽查", "done": "1"},
        )
    r = client.form_post(f"/audits/{number}/move/report", {"conclusions": "基本符合"})
    assert r.status_code == 302
    page = client.get(f"/audits/{number}/checklist")
    assert page.status_code == 200 and "作废版本在用" in page.get_data(as_text=True)
    db.session.expire_all()
    finding = services.get_audit(db.session, number).findings[0]
    _login(client, org.head)
    r = client.form_post(
        f"/audits/{number}/findings/{finding.id}/response", {"decision": "dispute", "reason": ""}
    )
    assert r.status_code == 400
    r = client.form_post(f"/audits/{number}/findings/{finding.id}/response", {"decision": "accept"})
    assert r.status_code == 302
    _login(client, org.auditor)
    assert client.form_post(f"/audits/{number}/sign", {"password": "bad"}).status_code == 403
    assert client.form_post(f"/audits/{number}/sign", {"password": PASSWORD}).status_code == 302
    r = client.get(f"/audits/{number}/report.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_chinese_pages_have_no_english_left(client, org):
    """Do the audit list, plan form, audit page, checklist, programme and library read
    wholly in Chinese (numbers, codes and the test's names aside)?"""
    planned = new_audit(org)
    running = walk(org, new_audit(org, departments=("CS", "QA")), "prepared")
    services.justify(db.session, org.officer, running, text="理由")
    services.start(db.session, org.auditor, running)
    services.record_item(
        db.session, org.auditor, running, running.items[0], verdict="minor_nc", evidence="证据"
    )
    db.session.commit()
    reporting = walk(org, new_audit(org), "reporting")
    _login(client, org.auditor)
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    allowed = {"AUD", "NC", "CS", "QA", "PDF", "CSV", "Excel", "qdms", "English", "ISO", "SVC"}
    allowed |= {"Auditor", "Officer", "Head", "Reporter", "Owner", "Outsider"}
    allowed |= {"auditor", "head", "owner", "officer", "reporter", "outsider"}  # usernames
    allowed |= {"document", "record", "revision", "GB", "OFI", "NC"}
    year = planned.planned_start.year
    pages = ["/audits", "/audits/new", f"/audit-programme/{year}", "/audit-criteria"]
    for a in (planned, running, reporting):
        pages += [f"/audits/{a.number}", f"/audits/{a.number}/checklist"]
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, page
        words = set(re.findall(r"[A-Za-z]{2,}", _visible_text(r.get_data(as_text=True))))
        assert words <= allowed, (page, words - allowed)


def test_dashboard_card_for_the_auditor(client, org):
    """Does the auditor's dashboard card count their open audits, items to do and
    findings awaiting response, and the auditee head's the findings to answer?"""
    a = walk(org, new_audit(org), "in_progress")
    services.record_item(
        db.session, org.auditor, a, a.items[0], verdict="minor_nc", evidence="证据"
    )
    db.session.commit()
    summary = services.my_summary(db.session, org.auditor)
    assert summary == {"audits": 1, "todo": len(a.items) - 1, "awaiting": 1, "to_answer": 0}
    assert services.my_summary(db.session, org.head)["to_answer"] == 1
    _login(client, org.auditor)
    page = client.get("/").get_data(as_text=True)
    assert 'id="audit-card"' in page and 'id="count-findings-awaiting"' in page


def test_bad_date_and_coverage_downloads(client, org):
    """Is a malformed date a 400 in the reader's language, and does the programme's
    coverage matrix download as .xlsx and PDF?"""
    a = new_audit(org)
    _login(client, org.officer)
    r = client.form_post(f"/audits/{a.number}/clone", {"planned_start": "2026-13-45"})
    assert r.status_code == 400
    year = a.planned_start.year
    r = client.get(f"/audit-programme/{year}?format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    r = client.get(f"/audit-programme/{year}?format=pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_import_criteria_page(client, org):
    """Does the officer import criteria from the library page, a bad row answered 400
    naming its line and nothing written?"""
    import io

    _login(client, org.officer)
    bad = io.BytesIO("code,title_zh\nX-1,甲\n,乙\n".encode())
    r = client.form_post(
        "/audit-criteria/import",
        {"standard": "客户规范", "file": (bad, "c.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "3" in r.get_data(as_text=True)
    assert services.standards(db.session) == ["ISO 9001:2015"]
    good = io.BytesIO("code,title_zh,questions\nX-1,甲,问一|问二\n".encode())
    r = client.form_post(
        "/audit-criteria/import",
        {"standard": "客户规范", "file": (good, "c.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    assert services.standards(db.session) == ["ISO 9001:2015", "客户规范"]


def test_officer_edits_a_criterion_on_its_page(client, org):
    """Does the library offer the officer an Edit button per criterion, does the form show
    the questions one a line ("中文 | English") and save them, and is an emptied title a 400
    in Chinese that changes nothing?"""
    crit = next(c for c in db.session.scalars(services.criteria_stmt()) if c.code == "9.2")
    _login(client, org.officer)
    page = client.get("/audit-criteria").get_data(as_text=True)
    assert f"/audit-criteria/{crit.id}/edit" in page and "/audit-criteria/new" in page
    form = client.get(f"/audit-criteria/{crit.id}/edit").get_data(as_text=True)
    assert f"{crit.questions[0]['zh']} | {crit.questions[0]['en']}" in form
    r = client.form_post(
        f"/audit-criteria/{crit.id}/edit",
        {"title_zh": "", "title_en": "Internal audit", "questions": "问一", "document": ""},
    )
    assert r.status_code == 400 and "the Chinese title is missing" in r.get_data(as_text=True)
    db.session.expire_all()
    assert crit.title_zh and len(crit.questions) >= 2
    r = client.form_post(
        f"/audit-criteria/{crit.id}/edit",
        {
            "title_zh": "内部审核",
            "title_en": "Internal audit",
            "questions": "审核方案是否覆盖全部部门？ | Does the programme cover every department?"
            "\n\n问二",
            "document": "",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert crit.questions == [
        {"zh": "审核方案是否覆盖全部部门？", "en": "Does the programme cover every department?"},
        {"zh": "问二", "en": None},
    ]
