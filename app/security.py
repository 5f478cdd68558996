"""Response security headers, and the checks every feature's permissions start from.

``signed_in`` and ``sees_everything`` are shared by the features' ``permissions.py`` (and
by search, which must know who may see everything without asking a feature).
"""

from __future__ import annotations

# Quality officers, auditors and administrators see every document, revision, record and
# search result (auditors need the history; administrators keep the numbering schemes).
PRIVILEGED_ROLES = ("officer", "auditor", "admin")


def signed_in(user) -> bool:
    """An authenticated, active user (Flask-Login's anonymous user is neither)."""
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def sees_everything(user) -> bool:
    """Officers, auditors and administrators: every document, record and search result."""
    return signed_in(user) and user.has_role(*PRIVILEGED_ROLES)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
