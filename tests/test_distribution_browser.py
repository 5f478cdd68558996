"""Issue and read-and-understood in the real UI, in headless Debian Chromium.

The officer issues an effective procedure from its revision page: the issue form's
"Add a recipient" script adds a row, a named location asks for its custodian; the CS
department gets it electronically (read and understood required) and the front desk a
paper copy. A CS staff member then logs in and lands on their open acknowledgement,
reads the procedure in the browser, is refused with a wrong password, signs with the
right one, and the task moves to their training history — in English and in Chinese.
No console error and no CSP violation on the way.
"""

from __future__ import annotations

import os

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

BODY = ("客户投诉处理程序",)


@pytest.fixture
def effective_procedure(make_user, make_document, make_docx, store):
    make_user("qa", roles=("officer",), department="QA", full_name="Quality Officer")
    make_user("lina", roles=("staff",), department="CS", full_name="Lina Chen")
    make_user("desk", roles=("staff",), department="OM", full_name="Front Desk Lead")
    return make_document(title=BODY[0], effective=True, training_required=True)


def _log_in(page, base: str, username: str):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def test_officer_issues_and_staff_read_and_sign(live_server, effective_procedure):  # noqa: F811
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US")
            page = _watch(context, problems)
            # the officer has nothing to sign: the dashboard
            _log_in(page, live_server, "qa")
            expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Quality Officer")
            page.goto(f"{live_server}/documents/QP-CS-001/revisions/A0")
            expect(page.locator("#distribution")).to_contain_text("Not issued.")
            page.click("#issue-revision")
            expect(page.get_by_role("heading", level=1)).to_have_text("Issue QP-CS-001 A/0")
            # row 0: CS electronically; the location fields stay disabled for it
            page.select_option("#recipient-0", "department:CS")
            page.select_option("#medium-0", "electronic")
            expect(page.locator("#location-0")).to_be_disabled()
            # row 1: the front desk on paper, kept by its custodian
            page.select_option("#recipient-1", "location")
            expect(page.locator("#location-1")).to_be_enabled()
            page.fill("#location-1", "前台")
            page.select_option("#custodian-1", "desk")
            # "Add a recipient" adds row 3 (after the blank rows 0–2)
            page.click("#add-recipient")
            expect(page.locator("tr.recipient-row")).to_have_count(4)
            expect(page.locator("#recipient-3")).to_be_focused()
            page.check("#training_required")
            page.fill("#acknowledge_within_days", "10")
            page.click("#issue-submit")
            expect(page.locator("div.alert-success")).to_contain_text(
                "A/0 issued: 2 controlled copies."
            )
            rows = page.locator("#distribution tbody tr")
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_contain_text("QP-CS-001-A0-C01")
            expect(rows.nth(1)).to_contain_text("前台 (Front Desk Lead)")
            log_out(page, live_server)

            # staff: the first page after login is their open acknowledgement
            _log_in(page, live_server, "lina")
            page.wait_for_url(f"{live_server}/acknowledgements")
            expect(page.locator("#open-acknowledgements-count")).to_have_text("1")
            task = page.locator("a.ack-task")
            expect(task).to_have_count(1)
            expect(task).to_contain_text("QP-CS-001")
            task.click()
            expect(page.locator("#content")).to_contain_text(BODY[0])  # the .docx, read here
            page.fill("#password", "not-my-password")
            page.click("#sign-acknowledgement")
            expect(page.locator(".alert-danger")).to_contain_text("Signature failed")
            page.fill("#password", PASSWORD)
            page.click("#sign-acknowledgement")
            expect(page.locator("div.alert-success")).to_contain_text(
                "Signed: you have read and understood QP-CS-001 A/0."
            )
            expect(page.locator("#nothing-to-sign")).to_be_visible()
            expect(page.locator("#open-acknowledgements-count")).to_have_count(0)
            history = page.locator("table.training-history tbody tr")
            expect(history).to_have_count(1)
            expect(history).to_contain_text("Read and understood")

            # the same page in Chinese
            page.click("#switch-language")
            expect(page.get_by_role("heading", level=1)).to_have_text(_translated("Read & sign"))
            expect(history).to_contain_text(_translated("Read and understood"))
        finally:
            browser.close()
    # Chromium logs the refused signature's 403 page as a console error: that one, once,
    # is expected; anything else (JavaScript errors, CSP violations) fails the test.
    refusal = f"status of 403 (FORBIDDEN) @ {{'url': '{live_server}/acknowledgements/"
    expected = [e for e in problems if refusal in e]
    assert len(expected) == 1, problems
    others = [e for e in problems if e not in expected]
    assert others == [], "browser reported errors:\n" + "\n".join(others)


def test_the_issue_form_shows_who_already_holds_the_revision(
    live_server,  # noqa: F811
    effective_procedure,
    make_docx,
    store,
):
    """After B/0 supersedes A/0 (its electronic CS audience carried forward), does the
    issue form of B/0 show CS as already holding its electronic copy, not fill CS in
    again, and refuse it (the row marked) when the officer picks it anyway?"""
    from playwright.sync_api import expect, sync_playwright
    from sqlalchemy import select

    from app.distribution import services as distribution
    from app.documents import services as documents
    from app.extensions import db
    from app.people.models import User
    from app.uploads import check_upload

    users = {u.username: u for u in db.session.scalars(select(User))}
    revision = effective_procedure.current_revision
    distribution.issue(
        db.session,
        users["qa"],
        revision,
        distribution=distribution.parse_distribution(
            db.session, [{"department": "CS", "medium": "electronic"}]
        ),
    )
    new = documents.add_revision(
        db.session,
        users["author"],
        effective_procedure,
        store,
        change_summary="第二版",
        change_reason="改进",
        change_type="major",
        upload=check_upload(make_docx(("第二版",)), "b.docx", max_bytes=10**7),
    )
    documents.submit(db.session, users["author"], new, reviewers=[], approvers=[users["approver"]])
    documents.approve(db.session, users["approver"], new, password=PASSWORD)
    db.session.commit()

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _watch(browser.new_context(locale="en-US"), problems)
            _log_in(page, live_server, "qa")
            page.goto(f"{live_server}/documents/QP-CS-001/revisions/B0/issue")
            expect(page.locator("#holders")).to_contain_text("already holds QP-CS-001-B0-C01")
            for i in range(page.locator("tr.recipient-row").count()):
                expect(page.locator(f"#recipient-{i}")).not_to_have_value("department:CS")
            page.select_option("#recipient-0", "department:CS")
            page.select_option("#medium-0", "electronic")
            page.click("#issue-submit")
            expect(page.locator("div.alert-danger")).to_contain_text(
                "already holds electronic copy QP-CS-001-B0-C01"
            )
            expect(page.locator("tr.recipient-row.table-danger")).to_have_count(1)
        finally:
            browser.close()
    # the refused issue answers 409, which Chromium logs as a failed resource
    problems = [m for m in problems if "status of 409" not in m]
    assert problems == [], "browser reported errors:\n" + "\n".join(problems)
