"""PDF output: the one module that imports WeasyPrint and pypdf (docs/adr/0025-pdf-pipeline.md).

- ``render_pdf(template, context)``: a Jinja template under ``templates/pdf/`` rendered
  from plain data and laid out by WeasyPrint (needs the Flask app for templates and
  translations); ``html_to_pdf`` is the same without Flask.
- Only our own static files (``static:`` URLs) and inline ``data:`` images are loaded:
  no ``file:``, no network (``StaticOnlyFetcher``).
- Fonts are configured once per process; Chinese needs Noto CJK (``fonts-noto-cjk``):
  ``init_app`` warns at start-up when it is missing, it never stops the app.
- ``stamp``: pypdf puts a page-by-page overlay (header, footer, watermark) on top of
  finished pages (ours or an uploaded PDF's) and concatenates them.
- ``lay_out_docx``: a .docx body laid out in a worker process (``app.pdf.worker``),
  while the caller does something else.
- ``PdfCache``: rendered PDFs kept in ``docs_store/pdf-cache``, keyed by what went in and
  ``TEMPLATE_VERSION``, sealed with the audit key (checked on read); safe to delete.
"""

from app.pdf import cache, render, worker
from app.pdf.cache import PdfCache
from app.pdf.pages import A4, count_pages, page_sizes, stamp
from app.pdf.render import (
    TEMPLATE_VERSION,
    Rendered,
    StaticOnlyFetcher,
    cjk_font_available,
    html_to_pdf,
    paused_gc,
    render_pdf,
    render_plain,
)
from app.pdf.worker import Layout, lay_out_docx

__all__ = [
    "A4",
    "TEMPLATE_VERSION",
    "Layout",
    "PdfCache",
    "Rendered",
    "StaticOnlyFetcher",
    "cjk_font_available",
    "count_pages",
    "html_to_pdf",
    "init_app",
    "lay_out_docx",
    "page_sizes",
    "paused_gc",
    "render_pdf",
    "render_plain",
    "stamp",
]


def init_app(app) -> None:
    """The app's worker processes (``QDMS_PDF_WORKERS``; started at the first layout, shut
    down with the app); the cache's seal key; warn, once per process, when Chinese would
    print as empty boxes."""
    worker.init_app(app)
    cache.use_key(app.config["QDMS_AUDIT_KEY"])
    render.warn_without_cjk_font()
