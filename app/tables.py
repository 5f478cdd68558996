"""Tabular downloads (CSV and .xlsx) shared by every register: a :class:`Table` of
translated headers and plain rows, and ``send_table`` to answer with it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import send_file

from app.errors import N_, ValidationFailed

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Table:
    title: str  # already translated; the sheet name
    filename: str  # without extension
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    widths: dict[str, int] = field(default_factory=dict)  # column letter → width

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
        from openpyxl import Workbook
        from openpyxl.styles import Font

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


def send_table(table: Table, fmt: str):
    if fmt not in MIMETYPES:
        raise ValidationFailed(
            N_("The format is json, csv or xlsx."), fields={"format": N_("invalid")}
        )
    data = table.csv() if fmt == "csv" else table.xlsx()
    return send_file(
        io.BytesIO(data),
        mimetype=MIMETYPES[fmt],
        as_attachment=True,
        download_name=f"{table.filename}-{date.today().isoformat()}.{fmt}",
    )
