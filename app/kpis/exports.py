"""The KPI report as a PDF: every KPI (of a department, or all) with its status, its last
twelve values and the same trend chart as the dashboard (``queries.kpi_trend``), laid
out by templates/pdf/kpi_report.html through app.pdf. Flask-side."""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_babel import gettext

from app import pdf
from app.extensions import utcnow
from app.i18n import current_language
from app.kpis.models import STATUSES
from app.kpis.queries import KpiSummary, format_value, kpi_trend
from app.tables import page_of_css


def report_data(summaries: list[KpiSummary], *, title: str, subtitle: str) -> dict:
    """Plain data: the KPIs, their values as text, and each chart's SVG."""
    return {
        "title": title,
        "subtitle": subtitle,
        "kpis": [
            {
                "code": s.code,
                "name": s.name,
                "objective": s.objective or "",
                "status": s.status,
                "status_label": gettext(STATUSES[s.status]),
                "latest": format_value(s.latest.value, s.unit) if s.latest else gettext("No data"),
                "chart": kpi_trend(s, width=680, height=240),
                "values": [
                    {
                        "period": v.period,
                        "value": format_value(v.value, s.unit),
                        "target": "" if v.target is None else format_value(v.target, s.unit),
                        "status": v.status,
                    }
                    for v in s.values
                ],
            }
            for s in summaries
        ],
    }


def report_response(summaries: list[KpiSummary], *, title: str, subtitle: str = ""):
    now = utcnow()
    data = report_data(summaries, title=title, subtitle=subtitle)
    rendered = pdf.render_pdf(
        "kpi_report.html",
        {
            "meta": {
                "language": current_language(),
                "title": title,
                "author": current_app.config["QDMS_ORGANISATION"],
                "subject": title,
                "created": now,
            },
            "r": data,
            "organisation": current_app.config["QDMS_ORGANISATION"],
            "page_of": page_of_css(),
            "generated_at": now,
        },
    )
    return send_file(
        io.BytesIO(rendered.data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name="kpi-report.pdf",
    )
