"""The NC register (不符合登记表) as CSV, .xlsx and PDF. Flask-side."""

from __future__ import annotations

from flask_babel import gettext

from app.capa.models import SEVERITIES, SOURCES, STATUSES, Nonconformity
from app.extensions import local_date
from app.i18n import current_language
from app.tables import Table, send_table

MAX_ROWS = 10_000  # a register larger than this is filtered first


def register_table(ncs: list[Nonconformity], subtitle: str = "") -> Table:
    language = current_language()
    return Table(
        title=gettext("Nonconformity register"),
        filename="nc-register",
        subtitle=subtitle,
        headers=[
            gettext("Number"),
            gettext("Reported on"),
            gettext("Source"),
            gettext("Severity"),
            gettext("Department"),
            gettext("Description"),
            gettext("Status"),
            gettext("Check date"),
            gettext("Closed on"),
        ],
        rows=[
            [
                nc.number,
                local_date(nc.reported_at),
                gettext(SOURCES[nc.source]),
                gettext(SEVERITIES[nc.severity]),
                nc.department.name_in(language),
                nc.description,
                gettext(STATUSES[nc.status]),
                nc.plan.check_date if nc.plan else None,
                local_date(nc.closed_at) if nc.closed_at else None,
            ]
            for nc in ncs
        ],
        widths={"A": 16, "B": 12, "C": 16, "D": 8, "E": 16, "F": 60, "G": 12, "H": 12, "I": 12},
    )


def register_download(ncs: list[Nonconformity], fmt: str, subtitle: str = ""):
    return send_table(register_table(ncs, subtitle), fmt)
