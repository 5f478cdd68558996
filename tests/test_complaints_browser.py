"""A complaint in the real UI, in Chinese, in headless Debian Chromium: the hotline takes a
complaint through quick intake (keyboard only, Enter submits); the department head, its
default handler, records the apology and the restoration inside their clocks; a later
sweep marks another case's follow-up as breached and the officer opens a nonconformity
from it; the KPI dashboard's commitment fulfilment rate follows (100 % → 0 %). No console
error, no CSP violation."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.complaints import services
from app.extensions import db, local_today, utcnow
from app.kpis import services as kpis
from app.people.models import Department
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)
from tests.test_pdf_browser import _log_in


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_hotline_intake_recovery_and_a_breach_to_an_nc(app, live_server, make_user):  # noqa: F811
    """Can the hotline take a complaint in one short form, the handler record apology and
    restoration in time, the officer open an NC from a case the sweep found breached, and
    does the KPI dashboard's commitment fulfilment rate show the change?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    officer = make_user("officer", roles=("officer",), department="QA", language="zh_CN")
    head = make_user("liu", roles=("staff",), department="CS", full_name="刘洋", language="zh_CN")
    make_user("zhang", roles=("staff",), department="CS", full_name="张伟", language="zh_CN")
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    cs.head_id = head.id
    services.save_category(
        db.session,
        officer,
        code="SVC",
        name="服务态度",
        name_en="Service manner",
        clocks=[
            {"step": "apology", "within_hours": 1},
            {"step": "restoration", "within_hours": 24},
            {"step": "follow_up", "within_hours": 168},
        ],
    )
    kpis.create_kpi(
        db.session,
        officer,
        code="CMP-CF",
        name="服务承诺履行率",
        unit="%",
        direction="higher",
        period_kind="month",
        source="complaint_commitment_fulfilment",
        targets=[{"period": str(local_today().year), "target": 95, "warning": 85}],
    )
    # another case, restored but never followed up
    other = services.intake(
        db.session,
        head,
        category="SVC",
        customer_name="赵强",
        customer_contact="13900000009",
        department=cs,
        request="维修人员迟到两小时",
        received_at=utcnow() - timedelta(hours=2),
    )
    in_time = utcnow() - timedelta(hours=1, minutes=30)  # within the 1 h and 24 h clocks
    services.record_step(db.session, head, other, step="apology", note="致歉", at=in_time)
    services.record_step(db.session, head, other, step="restoration", note="已上门修复", at=in_time)
    db.session.commit()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:

            def as_user(username):
                page = _watch(browser.new_context(locale="zh-CN"), problems)
                _log_in(page, live_server, username)
                return page

            desk = as_user("officer")
            fulfilment = desk.locator('.kpi-card[data-code="CMP-CF"] .kpi-latest')
            desk.goto(f"{live_server}/kpis")
            expect(fulfilment).to_have_text("100%")  # the other case's clocks so far met

            hotline = as_user("zhang")
            hotline.click("#nav-improvement")
            hotline.click("#nav-complaint-new")
            expect(hotline.locator("h1")).to_have_text("受理投诉")
            # the customer's name has the focus; the rest is typed, Tab by Tab
            expect(hotline.locator("#customer_name")).to_be_focused()
            hotline.keyboard.type("王芳")
            hotline.keyboard.press("Tab")
            hotline.keyboard.type("13800000001")
            hotline.keyboard.press("Tab")
            expect(hotline.locator("#category")).to_be_focused()
            hotline.keyboard.press("Tab")
            hotline.keyboard.type("营业厅多收费用，要求退还")
            hotline.keyboard.press("Enter")
            expect(hotline.locator("#cmp-status")).to_have_text("新受理")
            number = hotline.locator("h1 code").inner_text()
            expect(hotline.locator("#cmp-customer")).to_have_text("王芳")

            page = as_user("liu")
            page.goto(f"{live_server}/complaints/{number}")
            expect(page.locator("#step")).to_have_value("apology")
            page.fill("#note", "向顾客诚恳致歉")
            page.click("#step-submit")
            expect(page.locator("#cmp-status")).to_have_text("已致歉受理")
            page.select_option("#step", value="restoration")
            page.fill("#note", "当场退还多收的费用")
            page.click("#step-submit")
            expect(page.locator("#cmp-status")).to_have_text("已解决")
            for step in ("apology", "restoration"):
                row = page.locator(f".cmp-clock-row[data-step={step}]")
                expect(row).to_have_attribute("data-met", "yes")
            expect(page.locator("#cmp-first-contact")).to_be_visible()
            desk.goto(f"{live_server}/kpis")
            expect(fulfilment).to_have_text("100%")  # both cases' clocks met so far

            later = (local_today() + timedelta(days=8)).isoformat()
            result = app.test_cli_runner().invoke(args=["sweep", "--today", later])
            assert result.exit_code == 0, result.output

            desk.goto(f"{live_server}/kpis")
            # a week on, neither case was followed up: the sweep marked both breached
            expect(fulfilment).to_have_text("0%")
            desk.goto(f"{live_server}/complaints/{other.number}")
            expect(desk.locator("#cmp-breached")).to_be_visible()
            follow_up = desk.locator(".cmp-clock-row[data-step=follow_up]")
            expect(follow_up).to_have_attribute("data-met", "no")
            expect(desk.locator("#description")).to_have_value(
                f"{other.number} [服务态度] 维修人员迟到两小时"
            )
            desk.click("#open-nc-submit")
            expect(desk.locator("#nc-status")).to_have_text("已报告")
            expect(desk.locator("body")).to_contain_text(other.number)
        finally:
            browser.close()
    assert problems == []
    db.session.expire_all()
    nc_number = services.get_complaint(db.session, other.number).nc_number
    assert nc_number and nc_number.startswith("NC-")
