"""The filtered trail as CSV, .xlsx or PDF (the shared register Table; the PDF through
app.pdf with "Page X of Y"): readable sentences in the reader's language, oldest first."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from app.audit_trail.display import describe
from app.audit_trail.labels import ACTIONS
from app.audit_trail.services import TrailFilters, filtered_events
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.tables import MIMETYPES, Table, send_table


def filters_text(filters: TrailFilters) -> str:
    """The filters in words, under the export's title."""
    parts = []
    if filters.object:
        parts.append(filters.object)
    if filters.user:
        parts.append(filters.user)
    if filters.action:
        parts.append(gettext(ACTIONS[filters.action].label))
    if filters.start or filters.end:
        start = filters.start.isoformat() if filters.start else "…"
        end = filters.end.isoformat() if filters.end else "…"
        parts.append(f"{start} – {end}")
    if not filters.include_logins and not filters.action:
        parts.append(gettext("without logins"))
    return " · ".join(parts)


def trail_table(views, filters: TrailFilters) -> Table:
    return Table(
        title=gettext("Audit trail"),
        filename="audit-trail",
        subtitle=filters_text(filters),
        headers=[
            gettext("Time"),
            gettext("User"),
            gettext("Action"),
            gettext("Object"),
            gettext("Event"),
            gettext("Changes"),
            gettext("Reason"),
        ],
        rows=[
            [v.time, v.actor, v.action, v.object_name, v.text, v.changes_text(), v.reason or ""]
            for v in views
        ],
        widths={"A": 20, "B": 18, "C": 22, "D": 24, "E": 48, "F": 60, "G": 40},
    )


def download(filters: TrailFilters, fmt: str):
    """Exactly the filtered events; refuses (400) more than an export may hold."""
    if fmt not in MIMETYPES:
        raise ValidationFailed(
            N_("The format is csv, xlsx or pdf."), fields={"format": N_("invalid")}
        )
    stmt = filtered_events(filters)
    limit = current_app.config[
        "QDMS_TRAIL_PDF_MAX_ROWS" if fmt == "pdf" else "QDMS_TRAIL_EXPORT_MAX_ROWS"
    ]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if total > limit:
        raise ValidationFailed(
            N_(
                "%(total)s events match; one export holds at most %(limit)s. "
                "Please narrow the filters (for example the dates)."
            ),
            fields={"format": N_("too many events")},
            total=total,
            limit=limit,
        )
    views = describe(db.session, db.session.scalars(stmt).all())
    return send_table(trail_table(views, filters), fmt)
