"""Registers of the distribution feature as tables (JSON, CSV, .xlsx, PDF): the
distribution register (every copy), the recall register and the acknowledgement matrix."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy.orm import Session

from app.distribution import services
from app.distribution.models import COPY_STATUSES, DISPOSITIONS, MEDIA
from app.documents.models import REVISION_STATUSES
from app.errors import N_, ValidationFailed
from app.i18n import current_language
from app.tables import Table, send_table

__all__ = ["copies_table", "matrix_table", "recalls_table", "send_table"]


def _headers(*labels: str) -> list[str]:
    return [gettext(label) for label in labels]


def copies_table(copies, *, subtitle: str = "") -> Table:
    """The distribution register (分发记录): every copy with its holder, receipt, recall
    and return."""
    language = current_language()
    return Table(
        title=gettext("Distribution register"),
        filename="distribution-register",
        subtitle=subtitle,
        headers=_headers(
            N_("Copy number"),
            N_("Document"),
            N_("Revision"),
            N_("Medium"),
            N_("Holder"),
            N_("Issued"),
            N_("Received by"),
            N_("Received"),
            N_("Status"),
            N_("Recalled"),
            N_("Returned"),
            N_("Disposition"),
        ),
        rows=[
            [
                c.copy_no,
                f"{c.revision.document.number} {c.revision.document.title_in(language)}",
                f"{c.revision.label} {gettext(REVISION_STATUSES[c.revision.status])}",
                gettext(MEDIA[c.medium]),
                c.line.name_in(language),
                c.issued_at,
                c.received_by.full_name if c.received_by else None,
                c.received_at,
                gettext(COPY_STATUSES[c.status]),
                c.recall_opened_at,
                c.returned_at,
                gettext(DISPOSITIONS[c.disposition]) if c.disposition else None,
            ]
            for c in copies
        ],
        widths={"A": 24, "B": 36, "E": 24},
    )


def recalls_table(register: dict) -> Table:
    """The recall register (回收记录): every copy still to come back, oldest first."""
    language = current_language()
    return Table(
        title=gettext("Recall register"),
        filename="recall-register",
        headers=_headers(
            N_("Copy number"),
            N_("Document"),
            N_("Revision"),
            N_("Holder"),
            N_("Recalled"),
            N_("Age (days)"),
        ),
        rows=[
            [
                row["copy"].copy_no,
                f"{row['copy'].revision.document.number} "
                f"{row['copy'].revision.document.title_in(language)}",
                row["copy"].revision.label,
                row["copy"].line.name_in(language),
                row["copy"].recall_opened_at,
                row["age"],
            ]
            for row in register["rows"]
        ],
        widths={"A": 24, "B": 36, "D": 24},
    )


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
    language = current_language()
    return Table(
        title=gettext("Acknowledgement matrix"),
        filename="acknowledgement-matrix",
        headers=[gettext("Number"), gettext("Title"), gettext("Revision")]
        + [d.code for d in columns]
        + [gettext("Done"), gettext("Total"), gettext("Overdue")],
        rows=[
            [doc["number"], doc["title"].pick(language), doc["revision"]]
            + [_cell(doc["cells"].get(d.id)) for d in columns]
            + [doc["done"], doc["total"], doc["overdue"]]
            for doc in data["documents"]
        ],
        widths={"A": 18, "B": 40},
    )
