"""The nonconformity pages: report a problem, the register and its downloads, an NC's
steps through their forms, my actions — in both languages."""

from __future__ import annotations

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
