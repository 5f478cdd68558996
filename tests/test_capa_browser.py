"""A nonconformity in the real UI, in Chinese, in headless Debian Chromium: a staff member
reports a problem from the menu; the department head records the containment, a 5-why
analysis and signs the plan; the owner does the action from "My actions" with evidence;
the officer signs the verification; the NC is closed. No console error, no CSP violation."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from app.capa.models import Nonconformity
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


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_nc_from_report_to_closed_in_chinese(live_server, make_user):  # noqa: F811
    """Can an NC walk from a staff member's report through containment, 5-why analysis, a
    signed plan, a done action and a signed verification to closed, all in Chinese?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    make_user("officer", roles=("officer",), department="QA", language="zh_CN")
    head = make_user("liu", roles=("staff",), department="CS", full_name="刘洋", language="zh_CN")
    make_user("zhang", roles=("staff",), department="CS", full_name="张伟", language="zh_CN")
    make_user("li", roles=("staff",), department="CS", full_name="李明", language="zh_CN")
    db.session.scalar(select(Department).where(Department.code == "CS")).head_id = head.id
    db.session.commit()
    today = local_today().isoformat()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:

            def as_user(username):
                page = _watch(browser.new_context(locale="zh-CN"), problems)
                _log_in(page, live_server, username)
                return page

            staff = as_user("zhang")
            staff.click("#nav-improvement")
            staff.click("#nav-report-problem")
            expect(staff.locator("h1")).to_have_text("报告问题")
            staff.fill("#description", "营业厅叫号机卡纸，顾客在窗口前排队。")
            staff.click("#report-submit")
            expect(staff.locator("#nc-status")).to_have_text("已报告")
            number = staff.locator("h1 code").inner_text()

            page = as_user("liu")
            page.goto(f"{live_server}/nonconformities/{number}")
            page.fill("#text", "更换备用叫号机，安排引导员分流。")
            page.click("#containment-form button[type=submit]")
            expect(page.locator("#nc-status")).to_have_text("已控制")
            for n, why in enumerate(["卡纸", "纸卷规格不符", "采购未核对规格"], start=1):
                page.fill(f"#why{n}", why)
            page.check("#categories-3")  # material
            page.fill("#similar_elsewhere", "其他营业厅使用同型号叫号机，可能同样发生。")
            page.click("#analysis-form button[type=submit]")
            expect(page.locator("#nc-status")).to_have_text("已分析")
            page.fill("#actions-0-text", "按规格重新采购纸卷并核对")
            page.select_option("#actions-0-owner", value="li")
            page.fill("#actions-0-due_date", today)
            page.fill("#criterion", "一个月内叫号机无卡纸")
            page.fill("#check_date", today)
            page.fill("#password", PASSWORD)
            page.click("#approve-plan")
            expect(page.locator("#nc-status")).to_have_text("已制定措施")
            expect(page.locator("#nc-signatures")).to_contain_text("批准了行动计划")

            owner = as_user("li")
            owner.click("#nav-improvement")
            owner.click("#nav-my-actions")
            expect(owner.locator("#my-actions")).to_contain_text("按规格重新采购纸卷并核对")
            owner.locator("#my-actions textarea").fill("采购单 PO-1187，规格已核对")
            owner.click("#my-actions button[type=submit]")
            expect(owner.locator("#no-actions")).to_be_visible()

            officer = as_user("officer")
            officer.goto(f"{live_server}/nonconformities/{number}")
            expect(officer.locator("#nc-status")).to_have_text("验证中")
            officer.check("#effective-0")
            officer.fill("#evidence", "抽查一个月运行记录，无卡纸。")
            officer.fill("#password", PASSWORD)
            officer.click("#sign-verification")
            expect(officer.locator("#nc-status")).to_have_text("已关闭")
            expect(officer.locator("#closing-prompts")).to_be_visible()
            expect(officer.locator("#nc-history")).to_contain_text("验证")
        finally:
            browser.close()
    assert problems == []
    nc = db.session.scalar(select(Nonconformity).where(Nonconformity.number == number))
    assert nc.status == "closed" and nc.whys == ["卡纸", "纸卷规格不符", "采购未核对规格"]
