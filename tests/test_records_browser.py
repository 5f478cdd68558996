"""Records in the real UI, in headless Debian Chromium: a member of customer service files
a complaint through the form generated from the demo complaint type (the five
service-recovery steps), sees the missing fields marked, completes and signs it; the
officer adds a field with the form builder. No console error, no CSP violation."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from app.demo import records as demo_records
from app.extensions import db
from app.records import services
from app.records.models import Record, RecordType
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
def test_file_a_complaint_through_the_generated_form(
    live_server,  # noqa: F811
    make_user,
):
    """Can customer service file a complaint with its service-recovery steps, be told
    what is missing, sign and complete it; and can the officer add a field to the form?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    officer = make_user("officer", roles=("officer",), department="QA", language="zh_CN")
    make_user("lina", roles=("staff",), department="CS", full_name="陈丽娜", language="zh_CN")
    services.create_type(
        db.session,
        officer,
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "CS",
            "retention": {"years": 3, "from": "completed"},
            "fields": demo_records.fields("顾客投诉登记表"),
        },
    )
    db.session.commit()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _watch(browser.new_context(locale="zh-CN"), problems)
            _log_in(page, live_server, "lina")
            page.goto(f"{live_server}/records")
            page.click("#file-record")
            page.click("a[data-type='QP-CS-001-F01']")
            expect(page.locator("h1")).to_contain_text("顾客投诉登记表")
            page.fill("#f-customer", "杭州恒信物业 陈女士")
            page.select_option("#f-channel", label="热线 Hotline")
            page.click("#save-complete")  # date, level, description, handler missing
            expect(page.locator("[data-field='received_on'] .invalid-feedback")).to_have_text(
                "必填"
            )
            expect(page.locator("[data-field='description'] .invalid-feedback")).to_have_text(
                "必填"
            )
            expect(page.locator("#f-customer")).to_have_value("杭州恒信物业 陈女士")  # kept
            page.fill("#f-received_on", "2026-11-02")
            page.select_option("#f-level", label="重大 Major")
            page.fill("#f-description", "小区门禁系统故障两天未修复，报修后无人回电。")
            for step, text in (
                ("apology", "当即致歉"),
                ("restoration", "4 小时内更换读卡模块"),
                ("empathy", "说明延误原因"),
                ("compensation", "赠送一个月免费维护"),
                ("follow_up", "三个工作日后回访，顾客满意"),
            ):
                page.fill(f"#f-{step}_action", text)
                page.fill(f"#f-{step}_on", "2026-11-03")
            page.select_option("#f-handler", value="lina")
            page.check("#f-handler_signature")
            page.fill("#password", PASSWORD)
            page.click("#save-complete")
            expect(page.locator("#record-status")).to_have_text("已完成")
            number = page.locator("#record-number").inner_text()
            expect(page.locator("#record-values")).to_contain_text("赠送一个月免费维护")
            expect(page.locator("#record-values")).to_contain_text("陈丽娜")

            context = browser.new_context(locale="zh-CN")
            builder = _watch(context, problems)
            _log_in(builder, live_server, "officer")
            builder.goto(f"{live_server}/records/plan/QP-CS-001-F01/edit")
            rows = builder.locator("#form-builder tbody tr")
            count = rows.count()
            builder.click("#add-field")
            last = rows.nth(count)
            last.locator("[data-k=name]").fill("satisfied")
            last.locator("[data-k=label]").fill("顾客是否满意")
            last.locator("[data-k=type]").select_option("yes_no")
            builder.click("#save-record-type")
            expect(builder.locator("#record-plan")).to_contain_text("第 2 版")
        finally:
            browser.close()
    # the first submission is answered 400 with the form and its errors, by design
    expected = "status of 400 (BAD REQUEST) @ {'url': '" + live_server + "/records/new/"
    assert [p for p in problems if expected not in p] == []
    assert len(problems) == 1
    record = db.session.scalar(select(Record).where(Record.number == number))
    assert record.status == "complete" and record.values["handler_signature"]["username"] == "lina"
    assert record.schema.version == 1  # filed with the first form
    rtype = db.session.scalar(select(RecordType))
    assert rtype.schema.version == 2 and rtype.schema.fields[-1]["name"] == "satisfied"
