from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from app.audit_trail.permissions import can_view_audit_trail
from app.audit_trail.services import events_for
from app.extensions import db

bp = Blueprint("audit_trail", __name__)

PER_PAGE = 50


@bp.get("/audit-trail")
@login_required
def index():
    object_ref = request.args.get("object", "").strip() or None
    if not can_view_audit_trail(current_user, object_ref):
        abort(403)
    stmt = events_for(object_ref, newest_first=True)
    pagination = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("audit_trail/index.html", pagination=pagination, object_ref=object_ref)
