"""Response security headers, and the checks every feature's permissions start from.

``signed_in`` and ``sees_everything`` are shared by the features' ``permissions.py`` (and
by search, which must know who may see everything without asking a feature).
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.serving import WSGIRequestHandler

# Quality officers, auditors and administrators see every document, revision, record and
# search result (auditors need the history; administrators keep the numbering schemes).
PRIVILEGED_ROLES = ("officer", "auditor", "admin")


# Top management (the management role) reads every register of the quality system — the
# NCs, audits and their reports, risk points, management reviews — because it reviews
# them (ISO 9001 9.3); it is not privileged over documents, records or search.
REGISTER_READER_ROLES = (*PRIVILEGED_ROLES, "management")


def signed_in(user) -> bool:
    """An authenticated, active user (Flask-Login's anonymous user is neither)."""
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def sees_everything(user) -> bool:
    """Officers, auditors and administrators: every document, record and search result."""
    return signed_in(user) and user.has_role(*PRIVILEGED_ROLES)


def reads_every_register(user) -> bool:
    """Officers, auditors, administrators and top management: every NC, audit, audit
    report and management review (the features' permissions ask this, not the roles)."""
    return signed_in(user) and user.has_role(*REGISTER_READER_ROLES)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# qdms uses none of the browser's powerful features; no page may ask for them.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
# The files of the site itself (styles, scripts, fonts) may be cached; every other answer
# is a person's view of controlled data (pages, source files, PDFs, API JSON): no-store.
CACHEABLE_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):  # QDMS_SECURE_COOKIES: behind HTTPS
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in CACHEABLE_ENDPOINTS and "no-store" not in (
        response.headers.get("Cache-Control") or ""
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def hide_server_version() -> None:
    """Let Werkzeug's development server (``qdms run``, the tests' live servers) announce
    ``Server: qdms`` instead of ``Werkzeug/3.1 Python/3.11``. It writes that header itself,
    beside any the answer sets, so the header cannot be set from the app. gunicorn (the
    production server) announces its name alone, ``gunicorn``; behind nginx, set
    ``server_tokens off``."""
    WSGIRequestHandler.version_string = _server_name


def _server_name(_handler) -> str:
    return "qdms"
