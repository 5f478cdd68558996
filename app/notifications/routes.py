"""The outbox page: what qdms has mailed (or would mail, without SMTP). Administrators."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from app.notifications.models import OutboxMessage
from app.notifications.permissions import can_read_outbox
from app.web import paginate

bp = Blueprint("notifications", __name__, url_prefix="/admin")

PER_PAGE = 50


@bp.get("/outbox")
@login_required
def outbox():
    if not can_read_outbox(current_user):
        abort(403)
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    pagination = paginate(stmt, per_page=PER_PAGE)
    return render_template("notifications/outbox.html", pagination=pagination)
