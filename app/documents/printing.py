"""Printing a revision: controlled copies, uncontrolled prints and obsolete references.

A print is three parts stamped into one PDF (app.pdf):

1. the cover (封面): number, title, revision, status, effective date, the copy and its
   holder — or "uncontrolled when printed" with who printed it and when — the signature
   block and the revision history;
2. the body: the .docx laid out by WeasyPrint (cached per file), or the uploaded PDF's
   own pages;
3. an overlay drawn on every page: the running header (number, title, revision, copy),
   "Page X of Y" over the whole PDF including the cover, and the watermark.

Only the overlay and the cover depend on who prints, so a second print of a 20-page
procedure reuses the body; a controlled copy's whole PDF is cached (it names no time).
``body`` and ``docx_page_count`` are free of Flask; ``revision_pdf`` needs the app for
templates and translations.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext

from app import pdf
from app.documents.models import Revision
from app.errors import N_
from app.i18n import current_language
from app.signatures.models import MEANINGS
from app.storage import FileStore

MODE_LABELS = {
    "controlled": N_("Controlled copy"),
    "uncontrolled": N_("Uncontrolled"),
    "obsolete": N_("Obsolete"),
    "draft": N_("Draft"),
}
# The watermark speaks both languages whoever prints: a copy travels further than its reader.
WATERMARKS = {
    "controlled": ["受控副本", "CONTROLLED COPY"],
    "uncontrolled": ["非受控文件", "UNCONTROLLED"],
    "obsolete": ["作废", "OBSOLETE"],
    "draft": ["草稿", "DRAFT"],
}


class Body:
    """A revision's own pages: at hand (an uploaded PDF, a cached layout) or being laid
    out in a worker process (``app.pdf.worker``); ``result()`` waits for them and caches
    a new layout."""

    def __init__(self, rendered=None, *, pending=None, cache=None, key=None):
        self._rendered = rendered
        self._pending, self._cache, self._key = pending, cache, key

    def done(self) -> bool:
        return self._rendered is not None or self._pending.done()

    def result(self) -> pdf.Rendered:
        if self._rendered is None:
            self._rendered = self._pending.result().rendered
            self._cache.put(self._key, self._rendered.data)
        return self._rendered


def body(store: FileStore, revision: Revision) -> Body:
    """The revision's own pages: its PDF as uploaded, or its .docx laid out for print
    (started, not waited for)."""
    if revision.file_kind == "pdf":
        data = store.read(revision.file_sha256)
        return Body(pdf.Rendered(data, pdf.count_pages(data)))
    return _docx_body(store, revision.file_sha256)


def _docx_body(store: FileStore, sha256: str) -> Body:
    cache = pdf.PdfCache(store.root)
    key = cache.key("docx-body", sha256)
    cached = cache.get(key)
    if cached is not None:
        return Body(pdf.Rendered(cached, pdf.count_pages(cached)))
    return Body(pending=pdf.lay_out_docx(store.read(sha256)), cache=cache, key=key)


_LAY_OUT_UPLOADS = [True]  # this process's choice (configure, called by the app factory)


def configure(*, lay_out_uploads: bool) -> None:
    """Whether an uploaded .docx is laid out once its upload commits, to count its printed
    pages (QDMS_LAY_OUT_UPLOADS). Off, the page count Word saved stands until the first
    print lays the file out anyway; the tests switch it off where they do not look at the
    count, since a layout costs a PDF worker half a second to seconds."""
    _LAY_OUT_UPLOADS[0] = lay_out_uploads


def lays_out_uploads() -> bool:
    return _LAY_OUT_UPLOADS[0]


def docx_page_count(store: FileStore, sha256: str) -> int:
    """The true page count of a stored .docx as qdms prints it (A4, our margins); the
    layout is cached, so the first print of the revision reuses it."""
    return _docx_body(store, sha256).result().pages


def mode_of(revision: Revision, copy=None) -> str:
    if copy is not None:
        return "controlled"
    if revision.status in ("superseded", "obsolete", "cancelled"):
        return "obsolete"
    if revision.status in ("draft", "in_review"):
        return "draft"
    return "uncontrolled"


def _approvers(revision: Revision) -> list[str]:
    return [
        p.user.full_name
        for p in revision.current_round()
        if p.role == "approver" and p.decision == "approved"
    ]


def _signature_rows(revision: Revision) -> list[dict]:
    rows = [
        {
            "role": N_("Prepared"),
            "name": revision.author.full_name,
            "at": revision.submitted_at,
            "meaning": N_("Author"),
        }
    ]
    by_id = {s.id: s for s in revision.signatures}
    for role, label in (("reviewer", N_("Reviewed")), ("approver", N_("Approved"))):
        for p in revision.current_round():
            if p.role != role:
                continue
            sig = by_id.get(p.signature_id) if p.decision == "approved" else None
            rows.append(
                {
                    "role": label,
                    "name": sig.printed_name if sig else p.user.full_name,
                    "at": sig.signed_at if sig else None,
                    "meaning": MEANINGS[sig.meaning] if sig else N_("Not signed yet"),
                }
            )
    return rows


def _history(revision: Revision) -> list[dict]:
    shown = [
        r
        for r in revision.document.revisions
        if r.id <= revision.id
        and (r.id == revision.id or r.status in ("approved", "effective", "superseded", "obsolete"))
    ]
    return [
        {
            "label": r.label,
            "effective_date": r.effective_date.isoformat() if r.effective_date else None,
            "change_summary": r.change_summary,
            "approved_by": _approvers(r),
        }
        for r in shown
    ]


def print_data(
    revision: Revision,
    *,
    copy=None,
    organisation: str,
    printed_by: str,
    printed_at: datetime,
    language: str | None = None,
) -> dict:
    """Everything a print shows, as plain data (templates never see ORM objects), names in
    the print's ``language``. A controlled copy names no print time, so the same copy
    prints to the same PDF."""
    doc = revision.document
    mode = mode_of(revision, copy)
    return {
        "organisation": organisation,
        "mode": mode,
        "document": {
            "number": doc.number,
            "title": doc.title_in(language),
            "type": doc.type.name_in(language),
            "department": doc.department.name_in(language),
            "confidentiality": doc.confidentiality,
        },
        "revision": {
            "label": revision.label,
            "status": revision.status,
            "effective_date": (
                revision.effective_date.isoformat() if revision.effective_date else None
            ),
            "retired_at": revision.superseded_at or revision.obsoleted_at,
            "file_sha256": revision.file_sha256,
        },
        "copy": None
        if copy is None
        else {
            "copy_no": copy.copy_no,
            "seq": copy.short_no,
            "holder": copy.line.name_in(language),
            "issued_at": copy.issued_at,
        },
        "printed": None if copy is not None else {"by": printed_by, "at": printed_at},
        "signatures": _signature_rows(revision),
        "history": _history(revision),
    }


def revision_pdf(
    store: FileStore, revision: Revision, *, copy=None, user, now: datetime, organisation: str
) -> bytes:
    """The printed revision as one PDF (see the module docstring). Needs the Flask app."""
    language = current_language()
    data = print_data(
        revision,
        copy=copy,
        organisation=organisation,
        printed_by=user.full_name,
        printed_at=now,
        language=language,
    )
    cache = pdf.PdfCache(store.root)
    key = cache.key("revision-print", data, language) if copy is not None else None
    if key is not None and (cached := cache.get(key)) is not None:
        return cached
    result = _render(store, revision, data, language=language, now=now)
    if key is not None:
        cache.put(key, result)
    return result


def _render(store: FileStore, revision: Revision, data: dict, *, language: str, now) -> bytes:
    the_body = body(store, revision)
    mode_label = MODE_LABELS[data["mode"]]
    meta = {
        "language": language,
        "title": f"{data['document']['number']} {revision.label} {data['document']['title']}",
        "author": data["organisation"],
        "subject": data["copy"]["copy_no"] if data["copy"] else gettext(mode_label),
        "created": now,
    }
    # One document holds the cover and the overlay (templates/pdf/print.html). It is laid
    # out while a worker lays out the body: from the page count stored at upload (a
    # .docx prints on A4 only) — checked against the body, laid out again if it differs.
    # The cover shows the total, so its own length counts too: one page unless the
    # revision history runs over, in which case it is laid out again with the right count.
    guess = None
    if not the_body.done() and revision.page_count:
        guess = [pdf.A4] * revision.page_count
    body_sizes = guess or pdf.page_sizes(the_body.result().data)
    cover_pages = 1
    for _attempt in range(4):
        rendered = _cover_and_overlay(data, meta, [pdf.A4] * cover_pages + body_sizes)
        if guess is not None:
            guess, actual = None, pdf.page_sizes(the_body.result().data)
            if actual != body_sizes:
                body_sizes = actual
                continue
        laid_out = rendered.pages - cover_pages - len(body_sizes)
        if laid_out == cover_pages:
            break
        cover_pages = laid_out
    the_body = the_body.result()
    return pdf.stamp(
        [(rendered.data, slice(0, cover_pages)), (the_body.data, slice(None))],
        (rendered.data, slice(cover_pages, None)),
        metadata=meta,
    )


def _cover_and_overlay(data: dict, meta: dict, sizes: list) -> pdf.Rendered:
    distinct = sorted(set(sizes), key=sizes.index)
    data["total_pages"] = len(sizes)
    return pdf.render_pdf(
        "print.html",
        {
            "print": data,
            "meta": meta,
            "sizes": distinct,
            "pages": [{"number": i + 1, "size": distinct.index(s)} for i, s in enumerate(sizes)],
            "watermark": WATERMARKS[data["mode"]] + ([data["copy"]["seq"]] if data["copy"] else []),
            "MODE_LABELS": MODE_LABELS,
        },
    )
