"""Retention pages: what is due (and proposing its destruction), legal holds, destruction
batches with their approval, tombstones and the destruction record PDF."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import signals
from app.errors import NotFound
from app.extensions import db, local_today
from app.records.services import list_types
from app.retention import exports, permissions, services
from app.retention.forms import ApproveForm, HoldForm, LiftForm, ProposeForm, RejectForm
from app.retention.models import (
    DESTRUCTION_STATUSES,
    HOLD_KINDS,
    ITEM_KINDS,
    METHODS,
    Destruction,
)
from app.storage import get_store
from app.web import Page, page_number, paginate, run_form

bp = Blueprint("retention", __name__, url_prefix="/retention")

PER_PAGE = 50


@bp.before_request
@login_required
def require_viewer():
    if not permissions.can_view_retention(current_user):
        abort(403)


@bp.context_processor
def labels():
    return {
        "HOLD_KINDS": HOLD_KINDS,
        "ITEM_KINDS": ITEM_KINDS,
        "METHODS": METHODS,
        "DESTRUCTION_STATUSES": DESTRUCTION_STATUSES,
        "retention_permissions": permissions,
    }


def _due_page(kind: str | None, type_code: str | None, page: int) -> Page:
    result = services.due(
        db.session,
        local_today(),
        kind=kind,
        type_code=type_code,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return Page(result.items, result.total, page, PER_PAGE)


@bp.route("/", methods=["GET", "POST"])
def index():
    """What retention has run out for; officers tick items and propose a batch."""
    kind = request.args.get("kind") or None
    if kind not in (None, "record", "revision"):
        kind = None
    type_code = request.args.get("type") or None
    page = page_number()
    if request.method == "POST" and not permissions.can_propose(current_user):
        abort(403)
    form = ProposeForm()
    chosen = request.form.getlist("items")

    def propose():
        return services.propose(
            db.session,
            current_user,
            chosen,
            form.method.data or None,
            form.note.data,
            today=local_today(),
        )

    def done(batch: Destruction):
        flash(_("Destruction %(number)s proposed for approval.", number=batch.number), "success")
        return redirect(url_for("retention.destruction", key=batch.number))

    def render(status: int):
        return render_template(
            "retention/index.html",
            form=form,
            pagination=_due_page(kind, type_code, page),
            kind=kind,
            type_code=type_code,
            chosen=set(chosen),
            record_types=list_types(db.session),
            open_batches=db.session.scalars(
                services.list_destructions(db.session, status="proposed")
            ).all(),
        ), status

    return run_form(form, propose, on_success=done, render=render)


@bp.route("/holds", methods=["GET", "POST"])
def holds():
    if request.method == "POST" and not permissions.can_hold(current_user):
        abort(403)
    form = HoldForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") or form.kind.data
        form.key.data = request.args.get("key") or form.key.data

    def place():
        return services.place_hold(
            db.session,
            current_user,
            form.kind.data,
            form.key.data,
            form.reason.data,
            form.password.data,
        )

    def done(hold):
        flash(_("Legal hold placed on %(target)s.", target=hold.key), "success")
        return redirect(url_for("retention.holds"))

    def render(status: int):
        return render_template(
            "retention/holds.html",
            form=form,
            holds=db.session.scalars(services.holds_stmt()).all(),
        ), status

    return run_form(form, place, on_success=done, render=render)


@bp.route("/holds/<id:hold_id>/lift", methods=["GET", "POST"])
def lift(hold_id: int):
    if not permissions.can_hold(current_user):
        abort(403)
    try:
        hold = services.get_hold(db.session, hold_id)
    except NotFound:
        abort(404)
    form = LiftForm()

    def done(_hold):
        flash(_("Legal hold on %(target)s lifted.", target=hold.key), "success")
        return redirect(url_for("retention.holds"))

    return run_form(
        form,
        lambda: services.lift_hold(
            db.session, current_user, hold, form.reason.data, form.password.data
        ),
        on_success=done,
        render=lambda status: (
            render_template("retention/lift.html", form=form, hold=hold),
            status,
        ),
    )


@bp.get("/destructions")
def destructions():
    status = request.args.get("status") or None
    if status not in DESTRUCTION_STATUSES:
        status = None
    pagination = paginate(services.list_destructions(db.session, status=status), per_page=PER_PAGE)
    return render_template("retention/destructions.html", pagination=pagination, status=status)


def _batch(key: str) -> Destruction:
    try:
        return services.get_destruction(db.session, key)
    except NotFound:
        abort(404)


def _batch_page(batch: Destruction, approve_form, reject_form, status: int = 200):
    return render_template(
        "retention/destruction.html",
        batch=batch,
        approve_form=approve_form,
        reject_form=reject_form,
        may_decide=permissions.can_decide(current_user)
        and batch.status == "proposed"
        and current_user.id != batch.proposed_by_id,
    ), status


@bp.get("/destructions/<key>")
def destruction(key: str):
    return _batch_page(_batch(key), ApproveForm(), RejectForm())


@bp.post("/destructions/<key>/approve")
def approve(key: str):
    batch = _batch(key)
    if not permissions.can_decide(current_user):
        abort(403)
    form = ApproveForm()

    def act():
        services.approve(
            db.session,
            current_user,
            batch,
            form.password.data,
            form.witness.data,
            today=local_today(),
            store=get_store(current_app),
        )
        return batch

    def done(_batch):
        flash(_("Destruction %(number)s approved: the content was removed.", number=key), "success")
        return redirect(url_for("retention.destruction", key=batch.number))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _batch_page(batch, form, RejectForm(formdata=None), status),
    )


@bp.post("/destructions/<key>/reject")
def reject(key: str):
    batch = _batch(key)
    if not permissions.can_decide(current_user):
        abort(403)
    form = RejectForm()

    def done(_batch):
        flash(_("Destruction %(number)s rejected.", number=batch.number), "success")
        return redirect(url_for("retention.destruction", key=batch.number))

    return run_form(
        form,
        lambda: services.reject(db.session, current_user, batch, form.reason.data),
        on_success=done,
        render=lambda status: _batch_page(batch, ApproveForm(formdata=None), form, status),
    )


@bp.get("/destructions/<key>/record.pdf")
def destruction_pdf(key: str):
    return exports.destruction_record_response(_batch(key))


@signals.record_page.connect
def _record_retention(record, *, session, user) -> dict:
    """The record page's legal holds (that stop its destruction) and, once destroyed, its
    tombstone. (The page shows the holds' reasons only to who may see retention.)"""
    holds = services.holds_in_force(session)
    return {
        "tombstone": services.tombstone_for(session, "record", record.id)
        if record.status == "destroyed"
        else None,
        "holds": [
            hold
            for target in holds.blocking(record.ref, record.record_type.ref)
            for hold in holds.targets[target]
        ],
    }
