from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.audit_trail import exports
from app.audit_trail.display import describe
from app.audit_trail.labels import ACTIONS
from app.audit_trail.permissions import (
    can_view_audit_details,
    can_view_audit_trail,
    can_view_filtered_trail,
)
from app.audit_trail.services import TrailFilters, filtered_events, parse_filters
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import translate_error

bp = Blueprint("audit_trail", __name__)

PER_PAGE = 50
COUNT_CAP = 10_000


def action_choices() -> list[tuple[str, str]]:
    """(code, label) of every action, by label in the reader's language."""
    return sorted(((code, gettext(a.label)) for code, a in ACTIONS.items()), key=lambda c: c[1])


@bp.get("/audit-trail")
@login_required
def index():
    try:
        filters = parse_filters(db.session, request.args)
    except ValidationFailed as err:
        # the form again with the message; those who may not read the trail learn nothing
        if not can_view_audit_trail(current_user, request.args.get("object") or None):
            abort(403)
        return _page(TrailFilters(), None, error=translate_error(err), status=400)
    if not can_view_filtered_trail(current_user, filters.refs, filters.object or None):
        abort(403)
    fmt = request.args.get("format", "html")
    if fmt != "html":
        return exports.download(filters, fmt)
    stmt = filtered_events(filters, newest_first=True)
    page = min(max(request.args.get("page", 1, type=int), 1), COUNT_CAP)  # a sane offset
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False, count=False)
    # Counted up to a cap: an exact count of a large trail reads every row (the page
    # itself reads only the 50 it shows), and nobody pages through 200 pages.
    pagination.total = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).limit(COUNT_CAP + 1).subquery())
    )
    return _page(filters, pagination)


def _page(filters: TrailFilters, pagination, *, error: str | None = None, status: int = 200):
    return render_template(
        "audit_trail/index.html",
        pagination=pagination,
        events=pagination.items if pagination else [],
        filters=filters,
        form=request.args if error else filters.args,
        error=error,
        actions=action_choices(),
        show_details=can_view_audit_details(current_user),
        count_cap=COUNT_CAP,
    ), status


def trail_views(events):
    """The events in words, for the trail table included by other pages."""
    return describe(db.session, events)
