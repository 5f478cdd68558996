"""Downloads shared by the HTML views and the API: source files and the master list.

Flask-side helpers (they build responses); the rows themselves come from
``services.master_list``.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import current_app, send_file
from flask_babel import gettext

from app.documents import services
from app.documents.models import DOCUMENT_STATUSES, Revision
from app.errors import N_, ValidationFailed
from app.storage import get_store

MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def send_revision_file(revision: Revision, *, as_attachment: bool = True):
    """The stored source file, checked against its SHA-256 on the way out."""
    data = get_store(current_app).read(revision.file_sha256)
    return send_file(
        io.BytesIO(data),
        mimetype=MIMETYPES[revision.file_kind],
        as_attachment=as_attachment,
        download_name=revision.file_name,
        etag=revision.file_sha256,
        max_age=0,
    )


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


def _cells(rows: list[dict]):
    statuses = {k: gettext(v) for k, v in DOCUMENT_STATUSES.items()}
    yield [gettext(label) for _, label in services.MASTER_LIST_COLUMNS]
    for row in rows:
        values = dict(row, status=statuses.get(row["status"], row["status"]))
        yield [values[key] for key, _ in services.MASTER_LIST_COLUMNS]


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for cells in _cells(rows):
        writer.writerow(
            ["" if c is None else c.isoformat() if isinstance(c, date) else c for c in cells]
        )
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = gettext("Master document list")[:31]
    for cells in _cells(rows):
        sheet.append(cells)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = {"A": 18, "B": 48, "E": 12, "F": 10, "G": 14, "H": 14, "I": 18, "J": 12}
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def master_list_download(rows: list[dict], fmt: str):
    builders = {"csv": _csv, "xlsx": _xlsx}
    if fmt not in builders:
        raise ValidationFailed(
            N_("The format is json, csv or xlsx."), fields={"format": N_("invalid")}
        )
    name = f"master-list-{date.today().isoformat()}.{fmt}"
    return send_file(
        io.BytesIO(builders[fmt](rows)),
        mimetype=MIMETYPES[fmt],
        as_attachment=True,
        download_name=name,
    )
