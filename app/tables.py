"""Tabular downloads (CSV, .xlsx and PDF) shared by every register: a :class:`Table` of
translated headers and plain rows, and ``send_table`` to answer with it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app, send_file
from flask_babel import gettext
from flask_login import current_user

from app import pdf
from app.errors import N_, ValidationFailed
from app.extensions import local_today, utcnow
from app.i18n import current_language, localtime

MIMETYPES = {
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to text/*
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass
class Table:
    title: str  # already translated; the sheet name
    filename: str  # without extension
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    widths: dict[str, int] = field(default_factory=dict)  # column letter → width
    subtitle: str = ""  # already translated: the filters, shown under the PDF's title
    # a register whose PDF shows more than the table (the risk register's heat map):
    # its own template under templates/pdf/ (extending register.html) and plain data
    pdf_template: str = "register.html"
    pdf_extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "title": self.title,
            "headers": self.headers,
            "rows": [
                [c.isoformat() if isinstance(c, date) else c for c in row] for row in self.rows
            ],
        }

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.headers)
        for row in self.rows:
            writer.writerow(
                ["" if c is None else c.isoformat() if isinstance(c, date) else c for c in row]
            )
        return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8

    def xlsx(self) -> bytes:
        from openpyxl import Workbook  # noqa: PLC0415 - 0.35 s to import; few requests export
        from openpyxl.styles import Font  # noqa: PLC0415 - (as above)

        book = Workbook()
        sheet = book.active
        sheet.title = self.title[:31]
        sheet.append(self.headers)
        for row in self.rows:
            sheet.append([c.replace(tzinfo=None) if isinstance(c, datetime) else c for c in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column, width in self.widths.items():
            sheet.column_dimensions[column].width = width
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def pdf(self, *, organisation: str, generated_by: str, generated_at: datetime) -> bytes:
        """The register as a PDF (landscape beyond six columns), "Page X of Y" in the
        footer and the header row repeated on every page. Needs the Flask app."""

        def cell(value) -> str:
            if value is None:
                return ""
            if isinstance(value, datetime):
                return localtime(value)
            if isinstance(value, date):
                return value.isoformat()
            return str(value)

        page_of = page_of_css()
        meta = {
            "language": current_language(),
            "title": self.title,
            "author": organisation,
            "subject": self.subtitle or self.title,
            "created": generated_at,
        }
        return pdf.render_pdf(
            self.pdf_template,
            {
                **self.pdf_extra,
                "meta": meta,
                "table": {
                    "title": self.title,
                    "subtitle": self.subtitle,
                    "headers": self.headers,
                    "rows": [[cell(c) for c in row] for row in self.rows],
                },
                "landscape": len(self.headers) > 6,
                "organisation": organisation,
                "generated_by": generated_by,
                "generated_at": generated_at,
                "page_of": page_of,
            },
        ).data


def page_of_css() -> str:
    """ "Page X of Y" in the reader's language, as a CSS ``content`` value of counters."""
    text = gettext("Page %(page)s of %(pages)s").replace('"', "")
    return (
        '"'
        + text.replace("%(page)s", '" counter(page) "').replace("%(pages)s", '" counter(pages) "')
        + '"'
    )


def send_table(table: Table, fmt: str):
    if fmt not in MIMETYPES:
        raise ValidationFailed(
            N_("The format is json, csv, xlsx or pdf."), fields={"format": N_("invalid")}
        )
    if fmt == "pdf":
        data = table.pdf(
            organisation=current_app.config["QDMS_ORGANISATION"],
            generated_by=current_user.full_name,
            generated_at=utcnow(),
        )
    else:
        data = table.csv() if fmt == "csv" else table.xlsx()
    return send_file(
        io.BytesIO(data),
        mimetype=MIMETYPES[fmt],
        as_attachment=True,
        download_name=f"{table.filename}-{local_today().isoformat()}.{fmt}",
    )
