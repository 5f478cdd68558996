"""Configuration: defaults, then ``QDMS_*`` environment variables, then explicit overrides.

Every path, URI, secret and limit is a key here, so tests can point
all of them at a temporary directory.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"

LANGUAGES = ("zh_CN", "en")

# Environment variable → (config key, converter). README.md lists them.
_ENV = {
    "QDMS_DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "QDMS_DOCS_STORE": ("QDMS_DOCS_STORE", str),
    "QDMS_INDEX_DIR": ("QDMS_INDEX_DIR", str),
    "QDMS_SECRET_KEY": ("SECRET_KEY", str),
    "QDMS_AUDIT_KEY": ("QDMS_AUDIT_KEY", str),
    "QDMS_TIMEZONE": ("QDMS_TIMEZONE", str),
    "QDMS_SMTP_URL": ("QDMS_SMTP_URL", str),
    "QDMS_MAIL_FROM": ("QDMS_MAIL_FROM", str),
    "QDMS_INSTANCE_DIR": ("QDMS_INSTANCE_DIR", str),
    "QDMS_DEFAULT_LANGUAGE": ("QDMS_DEFAULT_LANGUAGE", str),
    "QDMS_SESSION_TIMEOUT_MINUTES": ("QDMS_SESSION_TIMEOUT_MINUTES", int),
    "QDMS_LOCKOUT_THRESHOLD": ("QDMS_LOCKOUT_THRESHOLD", int),
    "QDMS_LOCKOUT_MINUTES": ("QDMS_LOCKOUT_MINUTES", int),
    "QDMS_PASSWORD_MIN_LENGTH": ("QDMS_PASSWORD_MIN_LENGTH", int),
    "QDMS_API_TOKEN_DAYS": ("QDMS_API_TOKEN_DAYS", int),
    "QDMS_ARGON2_TIME_COST": ("QDMS_ARGON2_TIME_COST", int),
    "QDMS_ARGON2_MEMORY_KIB": ("QDMS_ARGON2_MEMORY_KIB", int),
    "QDMS_MAX_UPLOAD_MB": ("QDMS_MAX_UPLOAD_MB", int),
    "QDMS_KPI_LIVE_CACHE_SECONDS": ("QDMS_KPI_LIVE_CACHE_SECONDS", int),
    "QDMS_KPI_INLINE_MS": ("QDMS_KPI_INLINE_MS", int),
    "QDMS_PDF_WORKERS": ("QDMS_PDF_WORKERS", int),
    "QDMS_LAY_OUT_UPLOADS": ("QDMS_LAY_OUT_UPLOADS", lambda v: v.lower() in {"1", "true", "yes"}),
    "QDMS_DOCX_MAX_UNCOMPRESSED_MB": ("QDMS_DOCX_MAX_UNCOMPRESSED_MB", int),
    "QDMS_DOCX_READ_SECONDS": ("QDMS_DOCX_READ_SECONDS", float),
    "QDMS_DOCX_READ_MEMORY_MB": ("QDMS_DOCX_READ_MEMORY_MB", int),
    "QDMS_ORGANISATION": ("QDMS_ORGANISATION", str),
    "QDMS_SECURE_COOKIES": ("SESSION_COOKIE_SECURE", lambda v: v.lower() in {"1", "true", "yes"}),
}


def defaults() -> dict:
    return {
        "QDMS_INSTANCE_DIR": str(DEFAULT_INSTANCE),
        "SQLALCHEMY_DATABASE_URI": None,  # derived from the instance dir when unset
        "QDMS_DOCS_STORE": str(PROJECT_ROOT / "docs_store"),
        "QDMS_INDEX_DIR": None,  # derived from the instance dir when unset
        "SECRET_KEY": None,  # generated and kept in the instance dir when unset
        # keys the audit trail's chain, its checkpoints, signatures and the PDF cache (HMAC);
        # generated and kept in the instance dir when unset: never in the database
        "QDMS_AUDIT_KEY": None,
        "QDMS_TIMEZONE": "Asia/Shanghai",
        "QDMS_SMTP_URL": None,  # e.g. smtp://user:pass@host:587?starttls; unset: outbox only
        "QDMS_MAIL_FROM": "qdms@localhost",
        "QDMS_DEFAULT_LANGUAGE": "zh_CN",
        "QDMS_ORGANISATION": "qdms",
        "QDMS_SESSION_TIMEOUT_MINUTES": 30,
        "QDMS_LOCKOUT_THRESHOLD": 5,
        "QDMS_LOCKOUT_MINUTES": 15,
        "QDMS_PASSWORD_MIN_LENGTH": 10,
        "QDMS_API_TOKEN_DAYS": 90,  # how long a new API token works
        "QDMS_ARGON2_TIME_COST": None,  # None: argon2-cffi's default
        "QDMS_ARGON2_MEMORY_KIB": None,
        "QDMS_MAX_UPLOAD_MB": 50,
        # live KPI values of open periods are reused until something their source reads is
        # recorded or this many seconds pass (clocks and due dates run out without an event)
        "QDMS_KPI_LIVE_CACHE_SECONDS": 300,
        # the dashboard recomputes changed live values while it answers when that took at
        # most this long the last time; beyond, it shows the values computed before (less
        # than twice QDMS_KPI_LIVE_CACHE_SECONDS old, marked as being refreshed) and
        # recomputes them in the background (a large organisation: ADR 0050)
        "QDMS_KPI_INLINE_MS": 150,
        # lay an uploaded .docx out after its commit, for its true printed page count
        "QDMS_LAY_OUT_UPLOADS": True,
        # an uploaded .docx: at most this much once unpacked (413 beyond), read in a worker
        # process within this time and memory (400 beyond; app/uploads.py, ADR 0040)
        "QDMS_DOCX_MAX_UNCOMPRESSED_MB": 50,
        "QDMS_DOCX_READ_SECONDS": 20.0,
        "QDMS_DOCX_READ_MEMORY_MB": 1024,
        # how long a search waits for a missing or unusable index being rebuilt before it
        # answers "search is being rebuilt" (the rebuild goes on in the background)
        "QDMS_SEARCH_REBUILD_WAIT": 3.0,
        "QDMS_PDF_WORKERS": None,  # None: one per core, at most 2; 0: lay out in-process
        # SQLite's PRAGMA synchronous: FULL syncs every commit to disk; the tests, which need
        # no durability across a power cut, set NORMAL (no sync per commit in WAL mode)
        "QDMS_SQLITE_SYNCHRONOUS": "FULL",
        # the most events one audit-trail export holds (a PDF lays out ~6 pages a second)
        "QDMS_TRAIL_EXPORT_MAX_ROWS": 50000,
        "QDMS_TRAIL_PDF_MAX_ROWS": 2000,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_TIME_LIMIT": None,  # the session timeout already bounds a form's life
        "WTF_I18N_ENABLED": True,
        "BOOTSTRAP_SERVE_LOCAL": True,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "JSON_SORT_KEYS": False,
    }


def from_environment(environ: os._Environ | dict | None = None) -> dict:
    environ = os.environ if environ is None else environ
    out = {}
    for var, (key, convert) in _ENV.items():
        if environ.get(var):
            out[key] = convert(environ[var])
    return out


def finalise(config: dict) -> None:
    """Fill the derived keys (paths under the instance dir, the secret key, limits)."""
    instance = Path(config["QDMS_INSTANCE_DIR"])
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'qdms.sqlite3'}"
    if not config.get("QDMS_INDEX_DIR"):
        config["QDMS_INDEX_DIR"] = str(instance / "index")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance)
    if not config.get("QDMS_AUDIT_KEY"):
        config["QDMS_AUDIT_KEY"] = _instance_secret(instance, "audit_key")
    minutes = int(config["QDMS_SESSION_TIMEOUT_MINUTES"])
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=minutes)
    config["MAX_CONTENT_LENGTH"] = int(config["QDMS_MAX_UPLOAD_MB"]) * 1024 * 1024
    config["BABEL_DEFAULT_LOCALE"] = config["QDMS_DEFAULT_LANGUAGE"]
    try:
        ZoneInfo(config["QDMS_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"QDMS_TIMEZONE={config['QDMS_TIMEZONE']!r} is not a time zone (e.g. Asia/Shanghai)"
        ) from exc
    config["BABEL_DEFAULT_TIMEZONE"] = config["QDMS_TIMEZONE"]


def _instance_secret(instance: Path, name: str = "secret_key") -> str:
    """A random secret kept in the instance dir, so it survives restarts (the session key;
    the audit key, which must never change while the trail it keys exists)."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
