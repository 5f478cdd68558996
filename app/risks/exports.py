"""The risk register (风险点清单) as a download: CSV, .xlsx, and a PDF with the 5×5 heat
map above the table. Flask-side."""

from __future__ import annotations

from flask_babel import gettext

from app.i18n import current_language
from app.risks.models import BAND_LABELS, LIKELIHOOD_LABELS, SEVERITY_LABELS, RiskPoint
from app.tables import Table, send_table


def register_table(
    risks: list[RiskPoint], grid: list[dict], *, subtitle: str = "", today=None
) -> Table:
    language = current_language()
    return Table(
        title=gettext("Risk register"),
        filename="risk-register",
        subtitle=subtitle,
        headers=[
            gettext("Number"),
            gettext("Process"),
            gettext("Department"),
            gettext("Cause"),
            gettext("Consequence"),
            gettext("Likelihood"),
            gettext("Severity"),
            gettext("Score"),
            gettext("Band"),
            gettext("Control measures"),
            gettext("Owner"),
            gettext("Next review"),
            gettext("Hits"),
        ],
        rows=[
            [
                r.number,
                r.process,
                r.department.name_in(language),
                r.cause,
                r.consequence,
                r.likelihood,
                r.severity,
                r.score,
                gettext(BAND_LABELS[r.band]),
                r.controls,
                r.owner.full_name,
                r.review_date,
                r.hits,
            ]
            for r in risks
        ],
        widths={"A": 10, "B": 18, "C": 16, "D": 36, "E": 36, "J": 36, "K": 14, "L": 12},
        pdf_template="risk_register.html",
        pdf_extra={
            "heat_map": grid,
            "band_labels": {k: gettext(v) for k, v in BAND_LABELS.items()},
            "likelihood_labels": {k: gettext(v) for k, v in LIKELIHOOD_LABELS.items()},
            "severity_labels": {k: gettext(v) for k, v in SEVERITY_LABELS.items()},
        },
    )


def register_download(risks: list[RiskPoint], grid: list[dict], fmt: str, subtitle: str = ""):
    return send_table(register_table(risks, grid, subtitle=subtitle), fmt)
