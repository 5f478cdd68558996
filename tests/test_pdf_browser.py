"""Printing in the real UI, in headless Debian Chromium: the officer prints a controlled
copy from the copy page, a CS reader downloads the uncontrolled PDF from the document
page in Chinese; both files are read back. No console error, no CSP violation."""

from __future__ import annotations

import io
import os

import pytest
from pypdf import PdfReader

from app.distribution import services as distribution
from app.extensions import db
from tests.conftest import PASSWORD
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)


def _log_in(page, base: str, username: str):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def _texts(path) -> list[str]:
    with open(path, "rb") as fh:
        return [p.extract_text() for p in PdfReader(io.BytesIO(fh.read())).pages]


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_print_controlled_copy_and_download_pdf(
    live_server,  # noqa: F811
    make_user,
    make_document,
    tmp_path,
):
    """Does "Print controlled copy" give the officer the copy's PDF, and "Download PDF" a
    reader the uncontrolled print in their language?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    officer = make_user("qa", roles=("officer",), department="QA", full_name="Quality Officer")
    make_user("lina", roles=("staff",), department="CS", full_name="陈丽娜", language="zh_CN")
    doc = make_document(effective=True)
    distribution.issue(
        db.session,
        officer,
        doc.current_revision,
        distribution=distribution.parse_distribution(
            db.session, [{"location": "前台", "custodian": "lina", "medium": "paper"}]
        ),
    )
    db.session.commit()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", accept_downloads=True)
            page = _watch(context, problems)
            _log_in(page, live_server, "qa")
            page.goto(f"{live_server}/copies/QP-CS-001-A0-C01")
            expect(page.locator("#print-panel")).to_contain_text("QP-CS-001-A0-C01")
            with page.expect_download() as info:
                page.click("#print-copy")
            download = info.value
            assert download.suggested_filename == "QP-CS-001-A0-C01.pdf"
            path = tmp_path / "copy.pdf"
            download.save_as(path)
            pages = _texts(path)
            assert all("QP-CS-001-A0-C01" in text for text in pages)
            assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
            # the print is in the copy's history
            page.reload()
            expect(page.locator("body")).to_contain_text(
                "Quality Officer printed controlled copy QP-CS-001-A0-C01"
            )
            context.close()

            context = browser.new_context(locale="zh-CN", accept_downloads=True)
            page = _watch(context, problems)
            _log_in(page, live_server, "lina")
            page.goto(f"{live_server}/documents/QP-CS-001")
            expect(page.locator("#current-pdf")).to_have_text("下载 PDF")
            with page.expect_download() as info:
                page.click("#current-pdf")
            path = tmp_path / "read.pdf"
            info.value.save_as(path)
            pages = _texts(path)
            assert "非受控文件" in pages[0] and "陈丽娜" in pages[0]
            assert f"第 1 页 共 {len(pages)} 页" in pages[0]
            # a staff member sees no print button on the copy they hold
            page.goto(f"{live_server}/copies/QP-CS-001-A0-C01")
            expect(page.locator("#print-copy")).to_have_count(0)
        finally:
            browser.close()
    assert problems == []
