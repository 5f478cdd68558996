"""Downloads shared by the HTML views and the API: source files and the master list.

Flask-side helpers (they build responses); the rows themselves come from
``services.master_list``.
"""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_babel import gettext
from flask_login import current_user

from app import docx_io, signals
from app.documents import printing, services
from app.documents.models import DOCUMENT_STATUSES, Revision
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db, utcnow
from app.i18n import current_language
from app.memo import Recent
from app.names import in_language
from app.storage import get_store
from app.tables import Table, send_table

MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def must_have_file(revision: Revision) -> None:
    if revision.file_sha256 is None:
        if revision.destroyed_at is not None:
            raise NotFound(
                N_(
                    "The content of %(number)s %(label)s was destroyed; only its tombstone is kept."
                ),
                number=revision.document.number,
                label=revision.label,
            )
        raise NotFound(N_("This revision has no file yet."))


def send_revision_file(revision: Revision, *, as_attachment: bool = True):
    """The stored source file, checked against its SHA-256 on the way out."""
    must_have_file(revision)
    data = get_store(current_app).read(revision.file_sha256)
    return send_file(
        io.BytesIO(data),
        mimetype=MIMETYPES[revision.file_kind],
        as_attachment=as_attachment,
        download_name=revision.file_name,
        etag=revision.file_sha256,
        max_age=0,
    )


# .docx conversions by the file's SHA-256: a stored file never changes and the same bytes
# give the same HTML in any store (a converted revision takes mammoth 0.1-1 s)
_DOCX_HTML: Recent[str] = Recent(64)


def revision_html(revision: Revision) -> str | None:
    """A .docx revision as HTML for reading in the browser; None for a PDF or no file."""
    if revision.file_kind != "docx" or not revision.file_sha256:
        return None
    sha256 = revision.file_sha256
    return _DOCX_HTML.get_or_make(
        sha256, lambda: docx_io.to_html(get_store(current_app).read(sha256))
    )


def revision_pdf_response(revision: Revision, copy_no: str | None):
    """The revision printed as PDF for the current user: a controlled copy when
    ``copy_no`` names one of its paper copies (officers only; the print is recorded on the
    copy), otherwise an uncontrolled, obsolete or draft print."""
    must_have_file(revision)
    copy = None
    if copy_no:
        # the copy is distribution's: it checks, and records the print (or raises)
        copy = signals.first_answer(
            signals.controlled_copy_print,
            revision,
            session=db.session,
            user=current_user,
            copy_no=copy_no,
        )
        if copy is None:
            raise NotFound(
                N_("Revision %(label)s has no copy %(copy)s."), label=revision.label, copy=copy_no
            )
    data = printing.revision_pdf(
        get_store(current_app),
        revision,
        copy=copy,
        user=current_user,
        now=utcnow(),
        organisation=current_app.config["QDMS_ORGANISATION"],
    )
    suffix = f"-{copy.short_no}" if copy is not None else ""
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{revision.document.number}-{revision.path_label}{suffix}.pdf",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def master_list_filters(args) -> dict:
    """Filters of the master list from query arguments: status ``effective`` by default,
    ``all`` for every status."""
    status = args.get("status") or "effective"
    if status != "all" and status not in DOCUMENT_STATUSES:
        raise ValidationFailed(N_("Unknown status."), fields={"status": N_("invalid")})
    return {
        "type_code": args.get("type") or None,
        "department": args.get("department") or None,
        "status": None if status == "all" else status,
        "q": args.get("q") or None,
    }


def _filters_text(filters: dict) -> str:
    status = filters.get("status")
    parts = [gettext(DOCUMENT_STATUSES[status]) if status else gettext("All")]
    parts += [filters[k] for k in ("type_code", "department", "q") if filters.get(k)]
    return " · ".join(parts)


def master_list_table(rows: list[dict], filters: dict | None = None) -> Table:
    statuses = {k: gettext(v) for k, v in DOCUMENT_STATUSES.items()}
    language = current_language()
    return Table(
        title=gettext("Master document list"),
        filename="master-list",
        subtitle=_filters_text(filters) if filters is not None else "",
        headers=[gettext(label) for _, label in services.MASTER_LIST_COLUMNS],
        rows=[
            [
                dict(
                    row,
                    status=statuses.get(row["status"], row["status"]),
                    title=in_language(row["title"], row["title_en"], language),
                )[key]
                for key, _ in services.MASTER_LIST_COLUMNS
            ]
            for row in rows
        ],
        widths={"A": 18, "B": 48, "E": 12, "F": 10, "G": 14, "H": 14, "I": 18, "J": 12},
    )


def master_list_download(rows: list[dict], fmt: str, filters: dict | None = None):
    return send_table(master_list_table(rows, filters), fmt)
