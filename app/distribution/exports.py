"""The acknowledgement matrix and the recall register as tables (JSON, CSV, .xlsx)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy.orm import Session

from app.distribution import services
from app.errors import N_, ValidationFailed
from app.tables import Table, send_table

__all__ = ["matrix_table", "send_table"]


def _cell(cell: dict | None) -> str:
    return f"{cell['done']}/{cell['total']}" if cell else ""


def matrix_table(
    session: Session, user, today: date, *, by: str = "department", department: str | None = None
) -> Table:
    """``by=department``: one row per document, one column per department, cells
    "done/total"; ``by=person``: one row per person with open, overdue and done counts."""
    if by == "person":
        rows = session.execute(services.people_matrix_query(user, today, department=department))
        return Table(
            title=gettext("Acknowledgements by person"),
            filename="acknowledgements-by-person",
            headers=[
                gettext(h)
                for h in (
                    N_("Username"),
                    N_("Full name"),
                    N_("Department"),
                    N_("Done"),
                    N_("Open"),
                    N_("Overdue"),
                )
            ],
            rows=[
                [r.username, r.full_name, r.department or "", r.done, r.open, r.overdue]
                for r in rows
            ],
            widths={"A": 16, "B": 24, "C": 14},
        )
    if by != "department":
        raise ValidationFailed(
            N_("Group the matrix by department or person."), fields={"by": N_("invalid")}
        )
    data = services.matrix(session, user, today, department=department)
    columns = data["departments"]
    return Table(
        title=gettext("Acknowledgement matrix"),
        filename="acknowledgement-matrix",
        headers=[gettext("Number"), gettext("Title"), gettext("Revision")]
        + [d.code for d in columns]
        + [gettext("Done"), gettext("Total"), gettext("Overdue")],
        rows=[
            [doc["number"], doc["title"], doc["revision"]]
            + [_cell(doc["cells"].get(d.id)) for d in columns]
            + [doc["done"], doc["total"], doc["overdue"]]
            for doc in data["documents"]
        ],
        widths={"A": 18, "B": 40},
    )
