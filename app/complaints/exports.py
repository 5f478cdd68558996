"""The complaint register (顾客投诉登记表) as CSV, .xlsx and PDF. Flask-side.

The customer's name and contact are written only for the rows whose personal data the
reader may see (``permissions.can_see_personal_data``); other rows carry them masked.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy.orm import Session, selectinload

from app.complaints import permissions as perm
from app.complaints import services
from app.complaints.models import CHANNELS, STATUSES, Complaint
from app.extensions import local_date
from app.i18n import current_language, localtime
from app.tables import Table, send_table

MAX_ROWS = 10_000  # a register larger than this is filtered first


def register_table(user, cases: list[Complaint], subtitle: str = "") -> Table:
    language = current_language()
    rows = []
    for c in cases:
        if perm.can_see_personal_data(user, c):
            name, contact = c.customer_name, c.customer_contact
        else:
            name, contact = perm.mask_name(c.customer_name), perm.MASK
        rows.append(
            [
                c.number,
                localtime(c.received_at),
                gettext(CHANNELS[c.channel]),
                c.category.name(language),
                c.department.name_in(language),
                c.site,
                name,
                contact,
                c.request,
                gettext(STATUSES[c.status]),
                gettext("Yes") if c.breached else "",
                gettext("Yes") if c.first_contact else "",
                c.satisfaction,
                local_date(c.closed_at) if c.closed_at else None,
            ]
        )
    return Table(
        title=gettext("Complaint register"),
        filename="complaint-register",
        subtitle=subtitle,
        headers=[
            gettext("Number"),
            gettext("Received at"),
            gettext("Channel"),
            gettext("Category"),
            gettext("Department"),
            gettext("Service site"),
            gettext("Customer"),
            gettext("Contact"),
            gettext("What the customer asks for"),
            gettext("Status"),
            gettext("Breached"),
            gettext("Resolved at first contact"),
            gettext("Satisfaction"),
            gettext("Closed on"),
        ],
        rows=rows,
        widths={"A": 16, "B": 17, "C": 12, "D": 14, "E": 16, "F": 16, "G": 12, "H": 16, "I": 50},
    )


def cases_for_export(session: Session, filters: dict) -> list[Complaint]:
    stmt = services.list_stmt(**filters).options(
        selectinload(Complaint.category), selectinload(Complaint.department)
    )
    return list(session.scalars(stmt.limit(MAX_ROWS)))


def register_download(session: Session, user, filters: dict, fmt: str, subtitle: str = ""):
    return send_table(register_table(user, cases_for_export(session, filters), subtitle), fmt)


def xlsx_response(session: Session, user, filters: dict):
    return register_download(session, user, filters, "xlsx")
