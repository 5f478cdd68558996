"""Searching in the real UI, in headless Debian Chromium: "/" puts the cursor in the header's
search box, Enter shows highlighted results with facets, a facet narrows them, the keyboard
reaches a result, and a number typed exactly opens its document. No console error, no CSP
violation."""

from __future__ import annotations

import os

import pytest

from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)
from tests.test_pdf_browser import _log_in
from tests.test_search import COMPLAINTS, SATISFACTION, _revise


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_search_from_the_header_in_chinese(
    live_server,  # noqa: F811
    make_user,
    make_department,
    make_document,
    make_docx,
    store,
):
    """Can a Chinese-speaking staff member find a procedure by a word they remember,
    narrow by department, open a result with the keyboard, and jump by number?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    make_department("MK", "市场部")
    make_user("author", roles=("author", "staff"), department="CS")
    make_user("approver", roles=("approver",), department="QA")
    make_user("lina", roles=("staff",), department="CS", full_name="陈丽娜", language="zh_CN")
    complaints = make_document(department="CS", title="顾客投诉处理程序")
    _revise(complaints, store, make_docx, COMPLAINTS)
    satisfaction = make_document(department="MK", title="顾客满意度测量程序")
    _revise(satisfaction, store, make_docx, SATISFACTION)

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _watch(browser.new_context(locale="zh-CN"), problems)
            _log_in(page, live_server, "lina")
            page.goto(f"{live_server}/documents")
            page.keyboard.press("/")
            expect(page.locator("#header-q")).to_be_focused()
            page.keyboard.type("顾客")
            page.keyboard.press("Enter")
            expect(page.locator("#result-count")).to_have_text("2 条结果")
            expect(page.locator("#results mark").first).to_have_text("顾客")
            expect(page.locator("#facet-department")).to_contain_text("市场部 (1)")
            page.locator("#facet-department a", has_text="市场部").click()
            expect(page.locator("#result-count")).to_have_text("1 条结果")
            expect(page.locator("#results")).to_contain_text("QP-MK-001")
            expect(page.locator("#results")).not_to_contain_text("QP-CS-001")
            page.locator("#results a").first.focus()
            page.keyboard.press("Enter")
            expect(page).to_have_url(f"{live_server}/documents/QP-MK-001/revisions/A0")
            page.fill("#header-q", "qp-cs-001")
            page.keyboard.press("Enter")
            expect(page).to_have_url(f"{live_server}/documents/QP-CS-001")
            page.goto(f"{live_server}/search?q=complant")
            expect(page.locator("#result-count")).to_have_text("0 条结果")
        finally:
            browser.close()
    assert problems == []
