"""The nonconformity pages: report a problem, the register and its downloads, an NC's
steps through their forms, my actions — in both languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.capa.models import Nonconformity
from app.extensions import db, local_today
from tests.capa_helpers import make_org, walk
from tests.conftest import PASSWORD


@pytest.fixture
def org(app):
    return make_org()


def _login(client, user):
    r = client.form_post("/login", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302


def test_report_a_problem_from_the_menu(client, org):
    """Can a staff member reach "Report a problem" from the menu and report one?"""
    _login(client, org.reporter)
    page = client.get("/").get_data(as_text=True)
    assert 'id="nav-report-problem"' in page
    r = client.form_post(
        "/nonconformities/report",
        {
            "description": "叫号机故障",
            "department": "CS",
            "severity": "minor",
            "source": "internal",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    nc = db.session.scalar(db.select(Nonconformity))
    assert r.headers["Location"].endswith(f"/nonconformities/{nc.number}")
    assert nc.reported_by_id == org.reporter.id and nc.status == "reported"


def test_walk_through_the_forms_in_chinese(client, org):
    """Do the step forms take an NC from reported to closed, the page in Chinese?"""
    nc = walk(org, "reported")
    url = f"/nonconformities/{nc.number}"
    _login(client, org.head)
    client.form_post("/language", {"lang": "zh_CN"})
    page = client.get(url).get_data(as_text=True)
    assert "纠正" in page  # the containment step, in Chinese
    assert client.form_post(f"{url}/containment", {"text": ""}).status_code == 400
    assert client.form_post(f"{url}/containment", {"text": "暂停该窗口"}).status_code == 302
    r = client.form_post(
        f"{url}/analysis",
        {"why1": "培训不足", "categories": "people", "similar_elsewhere": "其他网点也可能"},
    )
    assert r.status_code == 302
    today = local_today()
    plan = {
        "actions-0-text": "全员培训",
        "actions-0-type": "corrective",
        "actions-0-owner": org.owner.username,
        "actions-0-due_date": today.isoformat(),
        "criterion": "一个月内无同类问题",
        "check_date": today.isoformat(),
        "rule_kind": "no_new_nc",
        "rule_days": "30",
        "rule_department": "CS",
        "password": "wrong",
    }
    assert client.form_post(f"{url}/plan", plan).status_code == 403
    db.session.refresh(nc)
    assert nc.status == "analysed"
    assert client.form_post(f"{url}/plan", {**plan, "password": PASSWORD}).status_code == 302
    db.session.refresh(nc)
    assert nc.status == "action_planned"
    # the owner does the action from "My actions"
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    _login(client, org.owner)
    mine = client.get("/my-actions").get_data(as_text=True)
    assert "全员培训" in mine
    action = nc.actions[0].id
    assert client.form_post(f"/actions/{action}/done", {"evidence": ""}).status_code == 400
    assert (
        client.form_post(f"/actions/{action}/done", {"evidence": "培训签到表"}).status_code == 302
    )
    db.session.refresh(nc)
    assert nc.status == "verifying" and nc.check.outcome == "met"
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    _login(client, org.head)
    page = client.get(url).get_data(as_text=True)
    assert 'data-outcome="met"' in page and 'id="verification-form"' in page
    r = client.form_post(
        f"{url}/verification", {"effective": "yes", "evidence": "无复发", "password": PASSWORD}
    )
    assert r.status_code == 302
    db.session.refresh(nc)
    assert nc.status == "closed"
    page = client.get(url).get_data(as_text=True)
    assert 'id="closing-prompts"' in page and 'id="amend-form"' in page


def test_register_filters_and_downloads(client, org):
    """Does the register filter by status and department and download CSV, .xlsx, PDF?"""
    walk(org, "reported")
    walk(org, "contained")
    _login(client, org.officer)
    page = client.get("/nonconformities?status=contained&department=CS").get_data(as_text=True)
    assert page.count('href="/nonconformities/NC-') == 1
    for fmt, mimetype in (
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats"),
        ("pdf", "application/pdf"),
    ):
        r = client.get(f"/nonconformities?format={fmt}&status=reported")
        assert r.status_code == 200 and r.mimetype.startswith(mimetype), fmt
    assert "窗口服务态度差".encode() in client.get("/nonconformities?format=csv").data


def test_reopened_nc_shows_its_history(client, org):
    """Does a reopened NC show the old plan, the failed check and the new-plan form?"""
    nc = walk(org, "verifying", rule={"kind": "no_new_nc", "department": "CS", "days": 30})
    from app.capa import services

    services.report(db.session, org.reporter, description="再次发生", department=org.cs)
    db.session.commit()
    services.evaluate_rule(db.session, nc, today=local_today() + timedelta(days=10))
    services.verify(
        db.session, org.officer, nc, effective=False, evidence="重复", password=PASSWORD
    )
    db.session.commit()
    _login(client, org.head)
    page = client.get(f"/nonconformities/{nc.number}").get_data(as_text=True)
    assert 'data-outcome="not_met"' in page and 'data-effective="no"' in page
    assert 'id="plan-form"' in page


def _closed(org):
    from app.capa import services

    nc = walk(org, "verifying")
    services.verify(db.session, org.officer, nc, effective=True, evidence="好", password=PASSWORD)
    db.session.commit()
    return nc


def test_closing_prompt_creates_and_links_a_risk_point(client, org):
    """Does the closed NC's prompt create a risk point of its department, linked to it,
    and link an existing one — with the hit count rising?"""
    from app.risks import services as risks

    nc = _closed(org)
    _login(client, org.head)
    url = f"/nonconformities/{nc.number}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="risk-create-form"' in page and "培训窗口人员" in page  # controls prefilled
    r = client.form_post(
        f"{url}/risk-points/new",
        {
            "process": "窗口服务",
            "cause": "培训不足",
            "consequence": "顾客投诉",
            "likelihood": "3",
            "severity": "4",
            "controls": "定期培训",
            "owner": org.head.username,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    (risk,) = risks.risk_points_for(db.session, nc.ref)
    assert risk.department_id == org.cs.id and risk.hits == 1
    # linking it again: a 409 naming it; another NC links it too: two hits
    assert client.form_post(f"{url}/risk-points/link", {"risk": risk.number}).status_code == 409
    other = _closed(org)
    r = client.form_post(f"/nonconformities/{other.number}/risk-points/link", {"risk": risk.number})
    assert r.status_code == 302
    db.session.refresh(risk)
    assert risk.hits == 2
    assert 'id="linked-risk-points"' in client.get(url).get_data(as_text=True)


def test_start_a_revision_prompt_prefills_the_reason(client, org, make_document):
    """Does "start a revision" of a linked document open the revision form with the NC
    number in its change reason?"""
    from app.capa import services

    doc = make_document("QP", "CS")
    nc = _closed(org)
    db.session.add(services.NcLink(nc=nc, object_ref=doc.ref, created_by_id=org.head.id))
    db.session.commit()
    _login(client, org.officer)
    page = client.get(f"/nonconformities/{nc.number}").get_data(as_text=True)
    assert "start-revision" in page
    reason = f"Corrective action of {nc.number}"
    form = client.get(f"/documents/{doc.number}/revisions/new?reason={reason}").get_data(
        as_text=True
    )
    assert nc.number in form


def _visible_text(html: str) -> str:
    """The text a reader sees: no tags, scripts, styles or attribute values, nor the
    trail's folded details (hashes and codes, for those who audit the trail)."""
    html = re.sub(r"(?s)<(script|style|details)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_chinese_pages_have_no_english_left(client, org, make_document):
    """Do the register, my actions, report a problem and NCs in every state read wholly
    in Chinese (numbers, codes and the test's own names aside)?"""
    from app.capa import services

    doc = make_document("QP", "CS")
    closed = _closed(org)
    db.session.add(services.NcLink(nc=closed, object_ref=doc.ref, created_by_id=org.head.id))
    services.amend(db.session, org.head, closed, text="补充", reason="笔误")
    reopened = walk(org, "verifying", rule={"kind": "no_new_nc", "department": "CS", "days": 30})
    services.evaluate_rule(db.session, reopened, today=local_today() + timedelta(days=10))
    services.verify(
        db.session, org.officer, reopened, effective=False, evidence="重复", password=PASSWORD
    )
    rejected = walk(org, "reported")
    services.reject(db.session, org.officer, rejected, reason="不是", password=PASSWORD)
    planned = walk(org, "action_planned")
    contained = walk(org, "contained")
    reported = walk(org, "reported")
    analysed = walk(org, "analysed")
    db.session.commit()
    _login(client, org.head)
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    allowed = {"NC", "QP", "CS", "QA", "CSV", "Excel", "PDF", "qdms", "English", "ISO"}
    allowed |= {"Department", "Head", "Owner", "Officer", "Reporter", "Author"}
    allowed |= {"Auditor", "Outsider"}  # the owner choices: the test's people
    allowed |= {"head", "owner", "officer", "reporter", "author", "auditor", "outsider"}
    pages = [
        "/nonconformities",
        "/nonconformities/report",
        "/my-actions",
        "/my-actions?status=done",
    ]
    pages += [
        f"/nonconformities/{nc.number}"
        for nc in (closed, reopened, rejected, planned, contained, reported, analysed)
    ]
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, page
        words = set(re.findall(r"[A-Za-z]{2,}", _visible_text(r.get_data(as_text=True))))
        assert words <= allowed, (page, words - allowed)
