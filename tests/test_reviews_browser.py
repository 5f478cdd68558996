"""Acceptance point 1 of the management review in the real UI, in Chinese, in headless
Debian Chromium: the officer plans and compiles the review, writes a narrative, names the
attendees and records a decision, holds the meeting; the chair (top management) signs the
minutes and downloads the report, whose PDF holds every 9.3.2 heading a–f, figures that
match hand-built data (3 complaints, 2 within commitment: 66.7 %), the charts, the
decision, the signature and "第 N 页 共 N 页"."""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.extensions import db, local_today, local_zone
from tests.complaint_helpers import make_complaint_org, step, take
from tests.conftest import PASSWORD
from tests.review_helpers import make_chair
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)
from tests.test_pdf_browser import _log_in

HEADINGS = (
    "9.3.2 a 以往管理评审所采取措施的情况",
    "9.3.2 b 与质量管理体系相关的内外部因素的变化",
    "9.3.2 c1 顾客满意和有关相关方的反馈",
    "9.3.2 c2 质量目标的实现程度",
    "9.3.2 c3 过程绩效以及产品和服务的合格情况",
    "9.3.2 c4 不合格以及纠正措施",
    "9.3.2 c5 监视和测量结果",
    "9.3.2 c6 审核结果",
    "9.3.2 c7 外部供方的绩效",
    "9.3.2 d 资源的充分性",
    "9.3.2 e 应对风险和机遇所采取措施的有效性",
    "9.3.2 f 改进的机会",
    "7.5 文件控制",
)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_review_planned_compiled_minuted_and_signed_in_chinese(live_server):  # noqa: F811
    """Can the officer plan, compile and minute a review and the chair sign it, and does
    the downloaded report hold every input heading, the live figures (66.7 % commitment
    fulfilment), the charts, the decision, the signature and "第 N 页 共 N 页"?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    org = make_complaint_org()
    org.officer.language = "zh_CN"
    make_chair(org)
    now = datetime.now(local_zone()).replace(microsecond=0)
    at = now - timedelta(hours=3)
    a = take(org, at=at)
    step(org, a, "apology", at=at + timedelta(minutes=10))
    b = take(org, channel="counter", name="李雷", contact="13700000002", at=at)
    step(org, b, "apology", at=at + timedelta(minutes=20))
    c = take(org, channel="online", name="周明", contact="13600000004", at=at)
    step(org, c, "apology", at=at + timedelta(hours=2))  # an hour late
    db.session.commit()
    today = local_today()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:

            def as_user(username):
                page = _watch(browser.new_context(locale="zh-CN"), problems)
                _log_in(page, live_server, username)
                return page

            page = as_user("officer")
            page.click("#nav-improvement")
            page.click("#nav-reviews")
            page.click("#plan-review")
            expect(page.locator("h1")).to_have_text("策划管理评审")
            page.fill("#period_start", (today - timedelta(days=30)).isoformat())
            page.fill("#period_end", today.isoformat())
            page.fill("#planned_date", (today + timedelta(days=3)).isoformat())
            page.select_option("#chair", value="gm")
            page.click("#plan-submit")
            number = page.locator("h1 code").inner_text()
            assert re.fullmatch(r"MR-\d{4}-01", number)
            page.click("#action-compile")
            expect(page.locator("#figure-c1-commitment .value")).to_have_text("66.7%")
            expect(page.locator("#figure-c1-received .value")).to_have_text("3")
            assert page.locator("#section-c1 img.chart-img").count() == 2
            page.fill("#narrative_c1", "服务承诺达成率偏低，需改进致歉时效。")
            page.select_option("#attendees", ["officer", "gm"])
            page.fill("#resources", "客服坐席充足。")
            page.click("#save-minutes")
            page.fill("#decision-text", "缩短致歉时限，建立超时预警。")
            page.select_option("#decision-category", "improvement")
            page.select_option("#decision-owner", "head")
            page.fill("#decision-due", (today + timedelta(days=60)).isoformat())
            page.click("#add-decision")
            expect(page.locator("#decisions")).to_contain_text("缩短致歉时限")
            page.click("#action-hold")
            expect(page.locator("h1")).to_contain_text("已召开")

            chair = as_user("gm")
            chair.goto(f"{live_server}/management-reviews/{number}")
            chair.fill("#approve-password", PASSWORD)
            chair.click("#action-approve")
            expect(chair.locator("#minutes-signature")).to_contain_text("黄志强")
            with chair.expect_download() as download:
                chair.click("#download-report")
            data = Path(download.value.path()).read_bytes()
        finally:
            browser.close()
    assert problems == []
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for heading in HEADINGS:
        assert heading in flat, heading
    assert "66.7%" in flat and "服务承诺达成率" in flat
    assert "投诉渠道分布" in flat and "各等级风险点" in flat  # chart titles (SVG text)
    assert "缩短致歉时限" in flat and "服务承诺达成率偏低" in flat
    assert "黄志强" in flat and "批准管理评审纪要" in flat
    n = len(reader.pages)
    assert f"第 {n} 页 共 {n} 页" in flat
