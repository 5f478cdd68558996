"""The real UI in headless Debian Chromium: log in, switch language, log out.

A live Werkzeug server on a random port serves the test's Flask app (SQLite only: the
browser adds nothing backend-specific). Chromium comes from Debian (/usr/bin/chromium,
installed by `make`); Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Reports every CSP violation to the test through an exposed binding (bindings and init
# scripts are injected by the DevTools protocol, so the page's CSP does not block them).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The ``app`` fixture's Flask app served over HTTP in a daemon thread; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def log_out(page, base: str) -> None:
    """Log out through the user menu: a Bootstrap dropdown, so its script must have run
    (the page's load event) before the toggle opens it."""
    from playwright.sync_api import expect

    page.wait_for_load_state("load")
    page.click("#user-menu")
    expect(page.locator("#logout")).to_be_visible()
    page.click("#logout")
    page.wait_for_url(f"{base}/login")
    expect(page.locator("#login-submit")).to_be_visible()


def _translated(message: str, **params) -> str:
    with force_locale("zh_CN"):
        return gettext(message, **params)


def _watch(context, problems: list[str]):
    """A new page whose console errors, uncaught exceptions and CSP violations go to problems."""
    context.expose_function("reportCspViolation", lambda text: problems.append(f"CSP: {text}"))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()

    def on_console(msg) -> None:
        # Chromium's own favicon probe is not the page's doing: the app ships no favicon.ico,
        # so that one 404 is the only console error tolerated.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console error: {msg.text} @ {msg.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    return page


def _shot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.exists() and path.stat().st_size > 0, f"empty screenshot {path}"


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_login_language_switch_and_logout_in_chromium(app, live_server, make_user, tmp_path):
    """Can a user log in, switch to Chinese, log in again in Chinese and log out in a browser?"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make install` does)")
    from playwright.sync_api import expect, sync_playwright

    make_user("lina", roles=("staff",), full_name="Lina Chen")
    welcome_en = "Welcome, Lina Chen"
    welcome_zh = _translated("Welcome, %(name)s", name="Lina Chen")
    login_zh = _translated("Log in")
    hint = "is the zh_CN .mo compiled, and found under the name Babel resolves zh_CN to?"
    assert welcome_zh != welcome_en, f"'Welcome, %(name)s' is not translated: {hint}"
    assert login_zh != "Log in", f"'Log in' is not translated: {hint}"

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # (1) English browser: log in through the form.
            context = browser.new_context(locale="en-US")
            page = _watch(context, problems)
            page.goto(f"{live_server}/login")
            expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
            page.fill("#username", "lina")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            expect(page.get_by_role("heading", level=1)).to_have_text(welcome_en)
            _shot(page, tmp_path / "dashboard-en.png")

            # (2) The header switch turns the same page into Chinese.
            page.click("#switch-language")
            expect(page.get_by_role("heading", level=1)).to_have_text(welcome_zh)
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            _shot(page, tmp_path / "dashboard-zh.png")
            context.close()

            # (3) A fresh Chinese browser sees a Chinese login page, then the dashboard.
            context = browser.new_context(locale="zh-CN")
            page = _watch(context, problems)
            page.goto(f"{live_server}/login")
            expect(page.get_by_role("heading", level=1)).to_have_text(login_zh)
            page.fill("#username", "lina")
            page.fill("#password", PASSWORD)
            _shot(page, tmp_path / "login-zh.png")
            page.click("#login-submit")
            expect(page.get_by_role("heading", level=1)).to_have_text(welcome_zh)

            # (4) Logging out lands on the login page.
            log_out(page, live_server)
            assert urlsplit(page.url).path == "/login"
            context.close()
        finally:
            browser.close()

    assert problems == [], "browser reported errors:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_administration_menu_opens_in_chromium(app, live_server, make_user):
    """Does the navbar's Administration menu open (Bootstrap's script, no Popper needed in a
    navbar, nothing blocked by the CSP) and lead to its pages?"""
    from playwright.sync_api import expect, sync_playwright

    make_user("root", roles=("admin",), full_name="Root Admin")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _watch(browser.new_context(locale="en-US"), problems)
            page.goto(f"{live_server}/login")
            page.fill("#username", "root")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            outbox = page.get_by_role("link", name="Mail outbox")
            expect(outbox).to_be_hidden()
            page.click("#nav-admin")
            expect(outbox).to_be_visible()
            outbox.click()
            page.wait_for_url(f"{live_server}/admin/outbox")
            expect(page.get_by_role("heading", level=1)).to_have_text("Mail outbox")
        finally:
            browser.close()
    assert problems == [], "browser reported errors:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_navbar_fits_one_line_on_a_1280_pixel_screen(app, live_server, make_user):
    """Does the bar — for an administrator, who has the most items, and an officer — stay on
    one line without a horizontal scroll bar at 1280 × 800 in both languages, with the
    user's menu (profile, log out) reachable?"""
    from playwright.sync_api import expect, sync_playwright

    make_user("root", roles=("admin",), full_name="系统管理员 Administrator")
    make_user("qa", roles=("officer",), full_name="王芳 Wang Fang")
    problems: list[str] = []
    layout = """() => {
      const items = [...document.querySelectorAll('nav .navbar-nav > .nav-item')]
        .concat([...document.querySelectorAll('nav .d-flex > *')]);
      const tops = items.map((e) => Math.round(e.getBoundingClientRect().top
        + e.getBoundingClientRect().height / 2));
      return {overflow: document.documentElement.scrollWidth - window.innerWidth,
              rows: new Set(tops).size, items: items.length};
    }"""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for username in ("root", "qa"):
                context = browser.new_context(
                    locale="en-US", viewport={"width": 1280, "height": 800}
                )
                page = _watch(context, problems)
                page.goto(f"{live_server}/login")
                page.fill("#username", username)
                page.fill("#password", PASSWORD)
                with page.expect_navigation(wait_until="load"):
                    page.click("#login-submit")
                for language in ("en", "zh-CN"):
                    expect(page.locator("html")).to_have_attribute("lang", language)
                    found = page.evaluate(layout)
                    assert found["items"] >= 9, found
                    assert found["overflow"] <= 0 and found["rows"] == 1, (
                        username,
                        language,
                        found,
                    )
                    if language == "en":
                        # The layout is only measurable once the style sheets of the new
                        # page have loaded, not as soon as its <html> carries the language.
                        with page.expect_navigation(wait_until="load"):
                            page.click("#switch-language")
                page.click("#user-menu")
                expect(page.locator("#profile-link")).to_be_visible()
                page.click("#logout")
                page.wait_for_url(f"{live_server}/login")
                context.close()
        finally:
            browser.close()
    assert problems == [], "browser reported errors:\n" + "\n".join(problems)
