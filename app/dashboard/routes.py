from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.permissions import can_view_audit_trail
from app.extensions import db
from app.people.models import Department, User

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    counts = {
        "users": db.session.scalar(select(func.count()).where(User.is_active.is_(True))),
        "departments": db.session.scalar(
            select(func.count()).where(Department.is_active.is_(True))
        ),
    }
    recent = []
    if can_view_audit_trail(current_user):
        counts["events"] = db.session.scalar(select(func.count(Event.id)))
        recent = db.session.scalars(select(Event).order_by(Event.seq.desc()).limit(8)).all()
    return render_template("dashboard/index.html", counts=counts, recent=recent)
