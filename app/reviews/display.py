"""A review's frozen inputs as people read them: the snapshot's message ids translated and
its charts drawn (``app.charts``) — the same function for the page and the PDF, so the
screen and the report show the same SVG. Flask-side (translations)."""

from __future__ import annotations

import re

from flask_babel import gettext
from markupsafe import Markup, escape

from app import charts
from app.kpis import queries as kpi_queries


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value}{unit}"


def _change(value, previous) -> str:
    if not isinstance(value, int | float) or not isinstance(previous, int | float):
        return ""
    diff = value - previous
    if diff == 0:
        return "±0"
    return f"{'+' if diff > 0 else ''}{diff:g}" if isinstance(diff, float) else f"{diff:+d}"


# dates and numbers (MR-2026-01-D01, QP-CS-001) are never broken across lines in a table
_UNBREAKABLE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?|\b[A-Z]{1,4}(?:-[A-Z0-9]{1,4}){2,}\b"
)


def _cell(value) -> dict:
    """A table cell as shown: short values (numbers, codes, dates, names) on one line;
    text wraps, its dates and numbers kept whole."""
    text = "" if value is None else str(value)
    if isinstance(value, int | float) or (" " not in text and len(text) <= 24):
        return {"html": escape(text), "wrap": False}
    html, last = [], 0
    for m in _UNBREAKABLE.finditer(text):
        html.append(str(escape(text[last : m.start()])))
        html.append(f'<span class="text-nowrap">{escape(m.group(0))}</span>')
        last = m.end()
    html.append(str(escape(text[last:])))
    return {"html": Markup("".join(html)), "wrap": True}  # noqa: S704 - escaped above


def chart(spec: dict, *, width: int = 640, height: int = 280):
    """The SVG of one chart of a snapshot (numbers and labels as frozen). A KPI's trend is
    drawn by the KPI dashboard's own function from the frozen values."""
    if spec["kind"] == "kpi_trend":
        k = spec["kpi"]
        summary = kpi_queries.KpiSummary(
            code=k["code"],
            name=k["name"],
            unit=k["unit"],
            direction=k["direction"],
            department=k["department"],
            objective=k["objective"],
            values=tuple(kpi_queries.KpiPeriodValue(*v) for v in k["values"]),
        )
        return kpi_queries.kpi_trend(summary, width=width, height=height)
    labels = [gettext(x) if spec.get("translate_labels") else x for x in spec["labels"]]
    series = [(gettext(s["name"]), s["values"]) for s in spec["series"]]
    return charts.bars(
        gettext(spec["title"]),
        labels,
        series,
        no_data=gettext("No data"),
        width=width,
        height=height,
    )


def section(spec: dict, *, width: int = 640, height: int = 280) -> dict:
    """One input, translated, with its charts drawn: what the page and the PDF show."""
    return {
        "key": spec["key"],
        "clause": spec["clause"],
        "title": gettext(spec["title"]),
        "text": spec.get("text"),
        "note": gettext(spec["note"]) if spec.get("note") else None,
        "figures": [
            {
                "key": f["key"],
                "label": gettext(f["label"]),
                "value": _fmt(f["value"], f.get("unit", "")),
                "previous": _fmt(f["previous"], f.get("unit", ""))
                if f.get("previous") is not None
                else "",
                "change": _change(f["value"], f.get("previous")),
                "raw": f["value"],
            }
            for f in spec["figures"]
        ],
        "tables": [
            {
                "key": t["key"],
                "title": gettext(t["title"]),
                "columns": [gettext(c) for c in t["columns"]],
                "rows": [
                    [
                        _cell(
                            gettext(cell) if i in t["translate"] and isinstance(cell, str) else cell
                        )
                        for i, cell in enumerate(row)
                    ]
                    for row in t["rows"]
                ],
            }
            for t in spec["tables"]
        ],
        "charts": [
            {
                "key": c["key"],
                "title": gettext(c["title"]),
                "svg": (svg := chart(c, width=width, height=height)),
                "img": charts.image(svg, c["title"]),
            }
            for c in spec["charts"]
        ],
    }


def sections(content: dict | None, **size) -> list[dict]:
    return [section(s, **size) for s in (content or {}).get("sections", [])]
