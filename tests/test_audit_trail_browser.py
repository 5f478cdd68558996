"""The audit trail in the real UI, in headless Debian Chromium, in Chinese: events read
as sentences with labels, hashes wait behind "details", a number typed as people know it
and a date range filter the list, and the CSV, Excel and PDF downloads hold the filtered
events. No console error, no CSP violation."""

from __future__ import annotations

import csv
import io
import os
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app.extensions import local_today
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)
from tests.test_pdf_browser import _log_in


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_trail_in_chinese_reads_filters_and_downloads(
    live_server,  # noqa: F811
    make_user,
    make_document,
    tmp_path,
):
    """Can a Chinese auditor read the trail as sentences, open an event's details, find a
    document's events by typing its number in lower case, narrow them to a date range, and
    download exactly those events as CSV, Excel and PDF?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    make_user("approver", roles=("approver",), department="QA", full_name="陈建国")
    make_document(effective=True)
    make_document(title="服务补救程序")  # QP-CS-002, a draft: filtered out below
    make_user("emma", roles=("auditor",), department="QA", full_name="李审核", language="zh_CN")
    today = local_today().isoformat()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="zh-CN", accept_downloads=True)
            page = _watch(context, problems)
            _log_in(page, live_server, "emma")
            page.goto(f"{live_server}/audit-trail")
            expect(page.get_by_role("heading", level=1)).to_have_text("审计追踪")
            rows = page.locator("tr.trail-event")
            approval = rows.filter(has_text="陈建国 批准了 QP-CS-001 A/0")
            expect(approval).to_have_count(1)
            expect(approval.locator(".trail-changes")).to_have_text("状态：审批中 → 已批准")
            expect(rows.filter(has_text="QP-CS-002")).not_to_have_count(0)
            visible = page.inner_text("main")  # what shows: closed "details" do not
            assert "revision_approved" not in visible and "document:" not in visible

            # the signature's hash is behind "详情" until opened
            signed = rows.filter(has_text="陈建国 签署了 QP-CS-001 A/0：已批准")
            details = signed.locator("details")
            digest = details.locator("dd").filter(has_text=re.compile(r"^[0-9a-f]{64}$")).first
            expect(digest).to_be_hidden()
            details.locator("summary").click()
            expect(digest).to_be_visible()
            expect(details.locator("dt", has_text="签署内容的 SHA-256")).to_be_visible()

            # a number typed as people know it, in lower case, without a prefix
            page.fill("#object", "qp-cs-001")
            page.click("#trail-filter")
            expect(rows.filter(has_text="QP-CS-002")).to_have_count(0)
            count = rows.count()
            assert count >= 6
            expect(rows.filter(has_text="QP-CS-001")).to_have_count(count)

            # a date range: today keeps them all, a past range none
            page.fill("#from", "2020-01-01")
            page.fill("#to", "2020-12-31")
            page.click("#trail-filter")
            expect(page.locator("#trail-empty")).to_be_visible()
            expect(rows).to_have_count(0)
            page.fill("#from", today)
            page.fill("#to", today)
            page.click("#trail-filter")
            expect(rows).to_have_count(count)
            assert f"from={today}" in page.url and "object=qp-cs-001" in page.url

            # the downloads hold exactly these events
            files = {}
            for fmt in ("csv", "xlsx", "pdf"):
                with page.expect_download() as info:
                    page.click(f"#trail-{fmt}")
                download = info.value
                assert download.suggested_filename == f"audit-trail-{today}.{fmt}"
                files[fmt] = tmp_path / download.suggested_filename
                download.save_as(files[fmt])
            table = list(csv.reader(io.StringIO(files["csv"].read_text(encoding="utf-8-sig"))))
            assert table[0][:2] == ["时间", "用户"] and len(table) == count + 1
            assert any(row[4] == "陈建国 批准了 QP-CS-001 A/0" for row in table)
            assert not any("QP-CS-002" in cell for row in table for cell in row)
            sheet = load_workbook(files["xlsx"]).active
            assert sheet.max_row == count + 1
            pages = [pg.extract_text() for pg in PdfReader(str(files["pdf"])).pages]
            assert f"第 1 页 共 {len(pages)} 页" in pages[0] and "审计追踪" in pages[0]
            assert "qp-cs-001" in pages[0]  # the filters, under the title
            context.close()
        finally:
            browser.close()
    assert problems == [], "browser reported errors:\n" + "\n".join(problems)
