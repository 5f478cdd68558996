"""WeasyPrint behind one door: templates from plain data, a restricted URL fetcher, fonts
configured once."""

from __future__ import annotations

import gc
import logging
import mimetypes
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import render_template
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.config import PROJECT_ROOT

log = logging.getLogger(__name__)

# Bump when templates/pdf/*, static/pdf/* or the layout code change: it is part of every
# cache key, so stale PDFs are never served after an upgrade.
TEMPLATE_VERSION = "3"
STATIC_ROOT = PROJECT_ROOT / "static"
TEMPLATE_ROOT = PROJECT_ROOT / "templates" / "pdf"


def _weasyprint():
    import weasyprint  # noqa: PLC0415 - ~0.5 s to import, and most requests never print

    return weasyprint


class StaticOnlyFetcher:
    """Loads ``static:<path>`` from our static folder and inline ``data:`` URLs; refuses
    everything else (``file:``, ``http:``, …), so a document's content cannot make the
    renderer read the server's files or call the network."""

    _fail_on_errors = False  # WeasyPrint reads it: a refused URL is skipped and logged

    def __init__(self, root: Path = STATIC_ROOT):
        from weasyprint.urls import URLFetcher  # noqa: PLC0415 - as _weasyprint

        self.root = root.resolve()
        self._data = URLFetcher(allowed_protocols={"data"})

    def __call__(self, url: str, headers=None):
        return self.fetch(url, headers)

    def fetch(self, url: str, headers=None):
        from weasyprint.urls import URLFetcherResponse  # noqa: PLC0415 - as _weasyprint

        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return self._data.fetch(url, headers)
        if scheme == "static":
            relative = url.split(":", 1)[1].split("?", 1)[0].lstrip("/")
            path = (self.root / relative).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                raise ValueError(f"no such static file: {url}")
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mimetype})
        raise ValueError(f"PDFs load only static: and data: URLs, not {url[:80]}")


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration  # noqa: PLC0415 - as _weasyprint

    return FontConfiguration()


@lru_cache(maxsize=1)
def _fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher()


@dataclass(frozen=True)
class Rendered:
    data: bytes
    pages: int


@contextmanager
def paused_gc():
    """Python's cyclic garbage collector paused for the duration.

    A layout allocates millions of small objects, which triggers full collections that
    walk every object of the whole web worker again and again: measured at ~0.9 s of a
    3.2 s print (benchmarks/pdf.py). Reference counting still frees almost everything;
    the collector runs as usual once the print is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def html_to_pdf(html: str) -> Rendered:
    """Lay out ``html`` (Flask-free). Relative URLs are not resolved: use ``static:``."""
    weasyprint = _weasyprint()
    with paused_gc():
        document = weasyprint.HTML(string=html, url_fetcher=_fetcher()).render(
            font_config=_font_config()
        )
        return Rendered(document.write_pdf(), len(document.pages))


@lru_cache(maxsize=1)
def _plain_env():
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_ROOT)), autoescape=select_autoescape(default=True)
    )


def render_plain(template: str, context: dict) -> Rendered:
    """A template without translations, rendered outside Flask (the document body)."""
    return html_to_pdf(_plain_env().get_template(template).render(**context))


def render_pdf(template: str, context: dict) -> Rendered:
    """``templates/pdf/<template>`` rendered with Flask's Jinja environment (translations,
    filters) from plain data. The template sets the PDF metadata in its ``<head>``."""
    return html_to_pdf(render_template(f"pdf/{template}", **context))


@lru_cache(maxsize=1)
def cjk_font_available() -> bool:
    """Whether fontconfig knows a Simplified Chinese Noto CJK (or Source Han) font."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        out = subprocess.run(  # noqa: S603 (a fixed program and arguments)
            [fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(name in out for name in ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans"))


def warn_without_cjk_font() -> None:
    """Warn when Chinese would print as empty boxes (at start-up: it never stops the app)."""
    if not cjk_font_available():
        log.warning(
            "No Chinese font found (install Debian's fonts-noto-cjk, `make install` does): "
            "Chinese text in PDFs will print as empty boxes."
        )
