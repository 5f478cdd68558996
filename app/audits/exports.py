"""The audit programme's coverage matrix as a download (CSV, .xlsx, PDF): one row per
department with the audits of each month, its priority and "not covered"; the clauses no
audit covers in the subtitle. Flask-side."""

from __future__ import annotations

from flask_babel import gettext

from app.audits.models import PRIORITY_LEVELS
from app.i18n import current_language
from app.tables import Table, send_table


def coverage_table(prog: dict, priorities: dict) -> Table:
    language = current_language()
    rows = []
    for d in prog["departments"]:
        months = prog["coverage"].get(d.code, {})
        p = priorities.get(d.code)
        rows.append(
            [
                d.name_in(language),
                *(" ".join(months.get(m, [])) for m in range(1, 13)),
                gettext(PRIORITY_LEVELS[p["level"]]) if p else "",
                "" if months else gettext("Not covered"),
            ]
        )
    uncovered = ", ".join(c.code for c in prog["uncovered_clauses"])
    return Table(
        title=gettext("Audit programme %(year)s", year=prog["year"]),
        filename=f"audit-programme-{prog['year']}",
        subtitle=gettext("ISO 9001 clauses not covered this year") + ": " + (uncovered or "—"),
        headers=[gettext("Department"), *(str(m) for m in range(1, 13)), gettext("Priority"), ""],
        rows=rows,
        widths={"A": 18},
    )


def coverage_download(prog: dict, priorities: dict, fmt: str):
    return send_table(coverage_table(prog, priorities), fmt)
