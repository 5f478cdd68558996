"""Every list and table page at 1280 × 800 and on a 390-pixel phone, in both languages, in
headless Debian Chromium, with the demo organisation: no header or cell breaks Chinese one
character a line, no date or number breaks across lines, every table sits in a
``.table-responsive`` (so a wide one scrolls inside it on a phone, never the page), and at
1280 px the tables fit without scrolling. Also the issue form of a revision whose
electronic audience was carried forward (issue 18, point 5).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import local_today
from tests.test_browser import (  # live_server is a fixture used by name
    CHROMIUM,
    CHROMIUM_ARGS,
    _watch,
    live_server,  # noqa: F401
)

PAGES = {
    "officer": [
        "/documents",
        "/master-list",
        "/copies",
        "/recalls",
        "/acknowledgements",
        "/acknowledgements/matrix",
        "/acknowledgements/matrix?by=person",
        "/records",
        "/records/plan",
        "/retention/",
        "/retention/holds",
        "/retention/destructions",
        "/external",
        "/risks",
        "/risks/RP-001",
        "/management-reviews",
        f"/management-reviews/MR-{(local_today() + timedelta(days=14)).year}-01",
    ],
    "admin": ["/admin/users", "/admin/departments"],
}

# Problems of the tables on the page: a cell too narrow for two Chinese characters whose
# Chinese wraps (a character a line), a date or a number (QP-CS-001, copy and record numbers)
# broken across lines, a table outside .table-responsive, or (``fit``) a table wider than
# its container.
PROBE = """(fit) => {
  const problems = [];
  const lines = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    return new Set([...range.getClientRects()].filter((r) => r.width > 0)
      .map((r) => Math.round(r.top))).size;
  };
  const unbroken =
    /\\d{4}-\\d{2}-\\d{2}(?: \\d{2}:\\d{2})?|\\b[A-Z]{1,4}(?:-[A-Z0-9]{1,4}){2,}\\b/g;
  for (const table of document.querySelectorAll("main table")) {
    const name = table.id || table.className;
    const box = table.closest(".table-responsive");
    if (!box) { problems.push(`table ${name} is not in .table-responsive`); continue; }
    if (fit && box.scrollWidth > box.clientWidth + 1) {
      problems.push(`table ${name} is ${box.scrollWidth}px in ${box.clientWidth}px`);
    }
    for (const cell of table.querySelectorAll("th, td")) {
      if (!cell.getClientRects().length) continue;
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent;
        for (const m of text.matchAll(/[\\u3400-\\u9fff]{2,}/g)) {
          const n = lines(node, m.index, m.index + m[0].length);
          const size = parseFloat(getComputedStyle(cell).fontSize);
          const style = getComputedStyle(cell);
          const room = cell.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
          if (n > 1 && room < 2.5 * size) {
            problems.push(`${name}: "${m[0]}" on ${n} lines`);
          }
        }
        for (const m of text.matchAll(unbroken)) {
          if (lines(node, m.index, m.index + m[0].length) > 1) {
            problems.push(`${name}: "${m[0]}" broken`);
          }
        }
      }
    }
  }
  return problems;
}"""


def _log_in(page, base: str, username: str) -> None:
    from app.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state("load")


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tables_fit_at_1280_and_scroll_inside_on_a_phone(live_server, demo):  # noqa: F811
    """On every list page, at 1280 × 800 and 390 × 844, in English and Chinese: no header or
    cell wrapping Chinese a character a line, no date or number broken, every table in
    .table-responsive; at 1280 no table wider than the page and the page never scrolls
    sideways."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    found: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for username, paths in PAGES.items():
                for width, height in ((1280, 800), (390, 844)):
                    context = browser.new_context(
                        locale="en-US", viewport={"width": width, "height": height}
                    )
                    page = _watch(context, problems)
                    _log_in(page, live_server, username)
                    for language in ("en", "zh_CN"):
                        page.goto(f"{live_server}/profile")
                        page.select_option("#language", language)
                        page.click("#save-language")
                        page.wait_for_load_state("load")
                        for path in paths:
                            page.goto(f"{live_server}{path}")
                            page.wait_for_load_state("load")
                            where = f"{width}px {language} {path}"
                            for problem in page.evaluate(PROBE, width >= 1280):
                                found.append(f"{where}: {problem}")
                            overflow = page.evaluate(
                                "document.documentElement.scrollWidth - window.innerWidth"
                            )
                            if overflow > 0:
                                found.append(f"{where}: the page scrolls sideways ({overflow}px)")
                    context.close()
        finally:
            browser.close()
    assert not found, "\n".join(found)
    assert problems == [], "browser reported errors:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_file_fields_speak_the_page_language(live_server, demo):  # noqa: F811
    """Does a file field on a Chinese page offer "选择文件" and "未选择文件" (not the
    browser's own English "Choose File"), show the chosen file's name, and still send it?"""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
            page = _watch(context, problems)
            _log_in(page, live_server, "officer")
            page.goto(f"{live_server}/audit-criteria")
            picker = page.locator("#import-criteria .file-picker")
            assert picker.locator("button").inner_text() == "选择文件"
            assert picker.locator(".file-picker-names").inner_text() == "未选择文件"
            native = page.locator("#import-criteria input[type=file]").bounding_box()
            assert native["width"] <= 1  # the browser's own button is out of sight
            page.set_input_files(
                "#import-criteria input[type=file]",
                files=[
                    {
                        "name": "服务规范.csv",
                        "mimeType": "text/csv",
                        "buffer": "code,title_zh\nSV-1,热线接通率\n".encode(),
                    }
                ],
            )
            assert picker.locator(".file-picker-names").inner_text() == "服务规范.csv"
            page.fill("#import-criteria input[name=standard]", "服务规范")
            page.click("#import-criteria button:not(.file-picker-button)")
            page.wait_for_load_state("load")
            assert "SV-1" in page.inner_text("#library")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0
        finally:
            browser.close()
    assert not problems, problems
