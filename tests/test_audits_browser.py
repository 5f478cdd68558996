"""Acceptance point 1 of internal audits in the real UI, in Chinese, in headless Debian
Chromium: the officer plans an audit from the clause library; the auditor fills the
checklist on a 390 px phone screen (one major NC with a linked record); the auditee head
accepts the finding; the lead auditor signs and downloads the report, whose PDF holds
every ISO 19011 6.5.1 heading, the finding, its evidence and the signature."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from pypdf import PdfReader
from sqlalchemy import select

from app.audits.models import Audit
from app.extensions import db, local_today
from app.people.models import Department
from tests.conftest import PASSWORD
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)
from tests.test_pdf_browser import _log_in

HEADINGS = (
    "审核目标",
    "审核范围",
    "受审核方",
    "审核委托方",
    "审核组和参与人员",
    "日期和地点",
    "审核准则",
    "审核发现及证据",
    "审核结论",
    "各条款符合程度",
    "未解决的分歧意见",
    "抽样声明",
    "签名",
)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_audit_planned_run_answered_and_signed_in_chinese(live_server, make_user):  # noqa: F811
    """Can the officer plan from the library, the auditor fill the checklist on a phone
    (a major NC with a linked record), the head accept it and the lead auditor sign and
    download a report holding every 6.5.1 heading, the finding, evidence and signature?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    from app.records import services as records
    from app.storage import get_store

    officer = make_user("officer", roles=("officer",), department="QA", language="zh_CN")
    make_user("emma", roles=("auditor",), department="QA", full_name="周审核", language="zh_CN")
    head = make_user("liu", roles=("staff",), department="CS", full_name="刘洋", language="zh_CN")
    db.session.scalar(select(Department).where(Department.code == "CS")).head_id = head.id
    rtype = records.create_type(
        db.session,
        officer,
        {
            "code": "REC-CS-07",
            "name": "回拨登记",
            "department": "CS",
            "fields": [{"name": "note", "label": "备注", "type": "text"}],
            "retention": {"years": 3},
        },
    )
    record = records.file_record(db.session, get_store(current_app), officer, rtype, {"note": "x"})
    db.session.commit()
    start = (local_today() + timedelta(days=1)).isoformat()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:

            def as_user(username, **context):
                page = _watch(browser.new_context(locale="zh-CN", **context), problems)
                _log_in(page, live_server, username)
                return page

            page = as_user("officer")
            page.click("#nav-improvement")
            page.click("#nav-audits")
            page.click("#plan-audit")
            expect(page.locator("h1")).to_have_text("计划审核")
            page.fill("#title", "客户服务部内审")
            page.fill("#objectives", "验证文件控制")
            page.fill("#scope", "营业厅")
            page.fill("#planned_start", start)
            page.select_option("#lead_auditor", value="emma")
            page.select_option("#departments", ["CS"])
            page.check("input[name=clauses][value='7.5.3']")
            page.click("#plan-submit")
            number = page.locator("h1 code").inner_text()
            assert number.startswith("AUD-")
            page.click("#action-prepare")  # the officer may run it too

            phone = as_user("emma", viewport={"width": 390, "height": 844})
            phone.goto(f"{live_server}/audits/{number}")
            phone.click("#action-start")
            phone.click("#open-checklist")
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            forms = phone.locator(".item-form")
            count = forms.count()
            assert count == 3
            first = forms.nth(0)
            first.locator("select[name=verdict]").select_option("major_nc")
            first.locator("textarea[name=evidence]").fill("现场使用作废版本的回拨记录表")
            first.locator("input[name=links]").fill(f"record:{record.number}")
            first.locator("button").click()
            for n in range(1, count):
                form = phone.locator(".item-form").nth(n)
                form.locator("select[name=verdict]").select_option("conforming")
                form.locator("textarea[name=evidence]").fill("抽查 3 份记录")
                form.locator("button").click()
            expect(phone.locator("#progress")).to_contain_text("3 / 3")
            phone.goto(f"{live_server}/audits/{number}")
            phone.fill("#report-conclusions", "文件控制存在严重不符合。")
            phone.click("#action-report")

            auditee = as_user("liu")
            auditee.goto(f"{live_server}/audits/{number}")
            auditee.locator(".finding-response button[value=accept]").click()
            expect(auditee.locator("#findings")).to_contain_text("已接受")

            phone.goto(f"{live_server}/audits/{number}")
            phone.fill("#sign-password", PASSWORD)
            phone.click("#sign-report")
            expect(phone.locator("#report-signed")).to_contain_text("周审核")
            with phone.expect_download() as download:
                phone.click("#download-report")
            data = Path(download.value.path()).read_bytes()
        finally:
            browser.close()
    assert problems == []
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for heading in HEADINGS:
        assert heading in text, heading
    a = db.session.scalar(select(Audit).where(Audit.number == number))
    assert a.findings[0].label in text and "作废版本" in text and "周审核" in text
