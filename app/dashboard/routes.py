"""The dashboard: what waits for the reader, from every feature (it sits at the top of the
layers, beside the CLI and the demo: it may import any feature, and none imports it)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.permissions import can_view_audit_trail
from app.audit_trail.services import TrailFilters, filtered_events
from app.audits import services as audits
from app.complaints import services as complaints
from app.distribution import services as distribution
from app.distribution.models import ControlledCopy
from app.distribution.permissions import can_view_register
from app.documents import services as documents
from app.documents.models import Document
from app.documents.permissions import can_manage_document, visible_documents
from app.extensions import db, local_today
from app.external.services import due_currency_checks
from app.people.models import Department, User
from app.reviews import permissions as review_perm
from app.reviews import services as reviews
from app.reviews.models import STATUSES as REVIEW_STATUSES
from app.risks import services as risks

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
    work = documents.my_work(db.session, current_user)
    counts["signatures_waiting"] = len(work["reviews"]) + len(work["approvals"])
    counts["drafts"] = len(work["drafts"])
    counts["effective"] = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.status == "effective", visible_documents(current_user)
        )
    )
    counts["acknowledgements"] = distribution.open_task_count(db.session, current_user)
    counts["receipts"] = db.session.scalar(
        select(func.count()).select_from(
            distribution.copies_query(current_user, status="issued", holder=current_user)
            .where(ControlledCopy.medium == "paper")
            .order_by(None)
            .subquery()
        )
    )
    if can_view_register(current_user):
        counts["recalls"] = distribution.open_recall_count(db.session)
    if can_manage_document(current_user):
        today = local_today()
        counts["reviews_due"] = len(documents.reviews_due(db.session, today))
        counts["currency_checks_due"] = len(due_currency_checks(db.session, today))
        counts["risk_reviews_due"] = len(risks.due_reviews(db.session, today))
    summary = audits.my_summary(db.session, current_user)
    if current_user.has_role("auditor") or any(summary.values()):
        counts["audit_summary"] = summary
    handling = complaints.my_summary(db.session, current_user)
    if any(handling.values()):  # handlers only: a card of zeros helps nobody
        counts["complaint_summary"] = handling
    if review_perm.is_management(current_user):
        counts["review_summary"] = reviews.management_summary(db.session, current_user)
    recent = []
    if can_view_audit_trail(current_user):
        counts["events"] = db.session.scalar(select(func.count(Event.id)))
        # what happened, not who signed in (logins stay one filter away on the trail)
        recent = db.session.scalars(
            filtered_events(TrailFilters(), newest_first=True).limit(8)
        ).all()
    return render_template(
        "dashboard/index.html", counts=counts, recent=recent, REVIEW_STATUSES_ALL=REVIEW_STATUSES
    )
