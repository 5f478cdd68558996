"""The whole document workflow in the real UI, in headless Debian Chromium.

An author registers a procedure, uploads its first .docx and sends it for review and
approval; a reviewer signs it from "My work"; the approver first signs with a wrong
password (refused, nothing changes), then with the right one, and the revision is
effective. The document page then shows every signature with the printed name, its
meaning and its time, in English and in Chinese.

The live server, the Chromium launch and the error watcher are those of
tests/test_browser.py (imported, not copied).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PASSWORD
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _translated,
    _watch,
    live_server,  # noqa: F401
    log_out,
)

AUTHOR = ("liming", "李明 Li Ming")
REVIEWER = ("wangfang", "王芳 Wang Fang")
APPROVER = ("zhangwei", "张伟 Zhang Wei")
TITLE = "客户投诉处理程序"
BODY = ("客户投诉处理程序", "接到投诉后 24 小时内联系客户并记录处理结果。")
TABLE = (("步骤", "责任人"), ("受理投诉", "客服专员"))
SIGNED_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _log_in(page, base: str, who: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/login")
    page.fill("#username", who[0])
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {who[1]}")


def _open_from_my_work(page, section: str, number: str):
    """Open revision A/0 of ``number`` from the "My work" list ``section`` (#reviews…)."""
    from playwright.sync_api import expect

    page.click("#nav-my-work")
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    link = page.locator(f"{section} a", has_text=number)
    expect(link).to_have_count(1)
    expect(link).to_contain_text("A/0")
    link.click()
    expect(page.locator("#revision-label")).to_have_text("A/0")


def _check_signature(span, who, label: str, tz: ZoneInfo, started, finished) -> None:
    """One signature on screen: printed name, username, meaning label, local time."""
    from playwright.sync_api import expect

    expect(span.locator("strong")).to_have_text(who[1])
    expect(span).to_contain_text(f"({who[0]})")
    expect(span).to_contain_text(f" · {label} · ")
    time = span.locator("time")
    expect(time).to_have_text(SIGNED_AT)
    shown = datetime.strptime(time.inner_text(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    stamp = datetime.fromisoformat(time.get_attribute("datetime"))
    if stamp.tzinfo is None:  # stored in UTC
        stamp = stamp.replace(tzinfo=UTC)
    # The text is the stored instant in the organisation's time zone, to the second …
    assert shown == stamp.astimezone(tz).replace(microsecond=0), (shown, stamp)
    # … and that instant is when the test signed (not a UTC/local mix-up).
    assert started.replace(microsecond=0) <= shown <= finished, (started, shown, finished)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_document_workflow_in_chromium(app, live_server, make_user, make_docx, tmp_path):  # noqa: F811
    """Create, upload, submit, review, approve with password, and see it effective."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    make_user(AUTHOR[0], roles=("author", "staff"), department="CS", full_name=AUTHOR[1])
    make_user(REVIEWER[0], roles=("staff",), department="CS", full_name=REVIEWER[1])
    make_user(APPROVER[0], roles=("approver", "staff"), department="QA", full_name=APPROVER[1])
    tz = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    source = tmp_path / "客户投诉处理程序.docx"
    source.write_bytes(make_docx(body=BODY, table=TABLE))

    zh = {m: _translated(m) for m in ("Reviewed", "Approved", "Effective")}
    untranslated = [m for m, text in zh.items() if text == m]
    assert not untranslated, f"not translated to zh_CN: {untranslated}"

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US")
            page = _watch(context, problems)

            # (1) The author registers a QP with a Chinese title …
            _log_in(page, live_server, AUTHOR)
            page.goto(f"{live_server}/documents")
            page.click("#new-document")
            expect(page.get_by_role("heading", level=1)).to_have_text("New document")
            expect(page.locator("#department")).to_have_value("CS")
            page.select_option("#type", "QP")
            page.fill("#title", TITLE)
            page.get_by_role("button", name="Register").click()

            # … lands on "New revision", uploads the .docx and creates the draft.
            expect(page.get_by_role("heading", level=1)).to_have_text("New revision")
            match = re.fullmatch(r"/documents/(QP-CS-\d{3})/revisions/new", urlsplit(page.url).path)
            assert match, page.url
            number = match.group(1)
            expect(page.locator(".alert-success")).to_contain_text(f"{number} registered.")
            expect(page.get_by_text("it will be revision A/0")).to_be_visible()
            expect(page.get_by_label("Upload a .docx or .pdf file")).to_be_checked()
            page.set_input_files("#file", str(source))
            page.fill("#change_summary", "首次发布：投诉受理、调查和回访。")
            page.fill("#change_reason", "建立客户投诉处理程序。")
            page.click("#create-revision")

            # The draft shows the .docx inline (mammoth's HTML: paragraphs and the table).
            expect(page.locator("#revision-label")).to_have_text("A/0")
            expect(page.locator(".alert-success")).to_contain_text("A/0 created as a draft")
            expect(page.locator(".status-draft")).to_have_text("Draft")
            content = page.locator("article#content")
            expect(content.locator("p", has_text=BODY[1])).to_have_count(1)
            expect(content.locator("table td", has_text="客服专员")).to_have_count(1)
            expect(page.get_by_text(source.name)).to_be_visible()

            # The author names a reviewer and an approver and submits.
            panel = page.locator("#submit-panel")
            expect(panel.locator("#approvers option")).to_have_count(1)  # approvers only
            panel.locator("#reviewers").select_option(REVIEWER[0])
            panel.locator("#approvers").select_option(APPROVER[0])
            panel.locator("#submit-revision").click()
            expect(page.locator(".alert-success")).to_contain_text(
                "A/0 was sent for review and approval."
            )
            expect(page.locator(".status-in_review")).to_have_text("In review")
            expect(page.locator("#submit-panel")).to_have_count(0)
            log_out(page, live_server)

            # (2) The reviewer finds it under "My work" and signs "Reviewed: I agree".
            _log_in(page, live_server, REVIEWER)
            _open_from_my_work(page, "#reviews", number)
            expect(page.locator("#approve-panel")).to_have_count(0)
            review = page.locator("#review-panel")
            review.get_by_label("Reviewed: I agree").check()
            review.locator("input[name=password]").fill(PASSWORD)
            started = datetime.now(tz)
            review.locator("#sign-review").click()
            expect(page.locator(".alert-success")).to_contain_text("Your review of A/0 is signed.")
            expect(page.locator("#review-panel")).to_have_count(0)
            expect(page.locator(".status-in_review")).to_have_text("In review")
            expect(page.locator("#signatures .signature")).to_have_count(1)
            log_out(page, live_server)

            # (3) The approver: a wrong password is refused and changes nothing …
            _log_in(page, live_server, APPROVER)
            _open_from_my_work(page, "#approvals", number)
            approve = page.locator("#approve-panel")
            expect(approve.get_by_label("Approve", exact=True)).to_be_checked()
            approve.locator("input[name=password]").fill(PASSWORD + "-wrong")
            with page.expect_response(re.compile(r"/approve$")) as refused:
                approve.locator("#sign-approval").click()
            assert refused.value.status == 403, refused.value.status
            expect(page.locator(".alert-danger")).to_contain_text(
                "Signature failed: the password is wrong."
            )
            expect(page.locator(".alert-success")).to_have_count(0)
            expect(page.locator(".status-in_review")).to_have_text("In review")
            expect(approve.locator("input[name=password]")).to_have_class(re.compile("is-invalid"))
            expect(page.locator("#signatures .signature")).to_have_count(1)

            # … the right one makes the revision effective.
            approve.locator("input[name=password]").fill(PASSWORD)
            approve.locator("#sign-approval").click()
            expect(page.locator(".alert-success")).to_contain_text("A/0 is approved and effective.")
            finished = datetime.now(tz)
            expect(page.locator(".status-effective")).to_have_text("Effective")
            expect(page.locator("#approve-panel")).to_have_count(0)
            expect(page.locator("#signatures .signature")).to_have_count(2)

            # (4) The document page: effective, A/0 in the history, both signatures.
            page.locator(".breadcrumb").get_by_role("link", name=number).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"{number} {TITLE}")
            expect(page.locator("h1 + div .status-effective")).to_have_text("Effective")
            rows = page.locator("#revisions tbody tr")
            expect(rows).to_have_count(1)
            row = rows.first
            expect(row.locator("td").first).to_have_text("A/0")
            expect(row.locator(".status-effective")).to_have_text("Effective")
            expect(row.locator("td").nth(3)).to_have_text(AUTHOR[1])
            signatures = [
                (REVIEWER, "reviewed", "Reviewed", zh["Reviewed"]),
                (APPROVER, "approved", "Approved", zh["Approved"]),
            ]
            spans = row.locator(".signature")
            expect(spans).to_have_count(2)
            for i, (who, meaning, label, _zh) in enumerate(signatures):
                span = spans.nth(i)
                expect(span).to_have_attribute("data-meaning", meaning)
                _check_signature(span, who, label, tz, started, finished)

            # The same in Chinese after the header's language switch.
            page.click("#switch-language")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.locator("h1 + div .status-effective")).to_have_text(zh["Effective"])
            spans = page.locator("#revisions tbody tr").first.locator(".signature")
            expect(spans).to_have_count(2)
            for i, (who, meaning, _label, label_zh) in enumerate(signatures):
                span = spans.nth(i)
                expect(span).to_have_attribute("data-meaning", meaning)
                _check_signature(span, who, label_zh, tz, started, finished)
            page.screenshot(path=str(tmp_path / "document-zh.png"), full_page=True)
            context.close()
        finally:
            browser.close()

    # Chromium logs the refused signature's 403 page as a console error: that one, once,
    # is expected; anything else (JavaScript errors, CSP violations) fails the test.
    refusal = f"status of 403 (FORBIDDEN) @ {{'url': '{live_server}/documents/{number}/"
    expected = [e for e in problems if refusal in e and "/revisions/A0/approve'" in e]
    assert len(expected) == 1, problems
    others = [e for e in problems if e not in expected]
    assert others == [], "browser reported errors:\n" + "\n".join(others)
