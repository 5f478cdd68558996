"""Management-review pages: the list, the plan form, a review's page (frozen inputs with
their figures, tables and charts; narratives, attendees, decisions; approval), the report
PDF and the figures as .xlsx, and the review actions' "done" form (docs/adr/0048)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import N_, DomainError, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.i18n import translate_error
from app.people.forms import person_choices
from app.reviews import display, report, services
from app.reviews import permissions as perm
from app.reviews.inputs import SECTIONS
from app.reviews.models import CATEGORIES, STATUSES, ManagementReview
from app.web import paginate

bp = Blueprint("reviews", __name__)
PER_PAGE = 50


@bp.before_request
@login_required
def require_login():
    """Every page here is for people signed in; each view then checks its own rule."""


@bp.context_processor
def labels():
    return {
        "REVIEW_STATUSES": STATUSES,
        "REVIEW_CATEGORIES": CATEGORIES,
        "review_perm": perm,
    }


def _load(number: str) -> ManagementReview:
    try:
        return services.visible_review(db.session, current_user, number)
    except NotFound:
        abort(404)


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _failed(err: DomainError) -> None:
    db.session.rollback()
    flash(translate_error(err), "danger")


def _date(name: str) -> date | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            N_("Please give the date as YYYY-MM-DD."), fields={name: N_("invalid")}
        ) from None


def _detail(r: ManagementReview, status: int = 200):
    return (
        render_template(
            "reviews/detail.html",
            r=r,
            sections=display.sections(r.inputs),
            section_titles=SECTIONS,
            blockers=services.close_blockers(r) if r.status == "minutes_approved" else [],
            people=[c for c in person_choices() if c.value],
            attendee_names={a.user.username for a in r.attendees},
            today=local_today(),
            events_ref=r.ref,
        ),
        status,
    )


def _to_detail(r: ManagementReview):
    return redirect(url_for("reviews.detail", number=r.number))


def _act(number: str, allowed, work, done_message=None):
    """Load → authorise → one service call; a domain error re-renders the page with it."""
    r = _load(number)
    _require(allowed(r))
    try:
        work(r)
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    if done_message:
        flash(done_message(r), "success")
    return _to_detail(r)


# The list and the plan form ---------------------------------------------------------------


@bp.get("/management-reviews")
def index():
    _require(perm.can_view_list(current_user))
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    stmt = services.list_stmt(where=perm.visible_reviews(current_user), status=status)
    return render_template(
        "reviews/index.html", pagination=paginate(stmt, per_page=PER_PAGE), status=status
    )


@bp.route("/management-reviews/new", methods=["GET", "POST"])
def new():
    _require(perm.can_plan(current_user))
    form = request.form
    status = 200
    if request.method == "POST":
        try:
            r = services.plan(
                db.session,
                current_user,
                period_start=_date("period_start"),
                period_end=_date("period_end"),
                planned_date=_date("planned_date"),
                chair=form.get("chair", ""),
            )
        except DomainError as err:
            _failed(err)
            status = err.status
        else:
            flash(_("%(number)s was planned.", number=r.number), "success")
            return _to_detail(r)
    chairs = person_choices(role="management")
    return render_template("reviews/new.html", form=form, chairs=chairs), status


# One review --------------------------------------------------------------------------------


@bp.get("/management-reviews/<number>")
def detail(number: str):
    return _detail(_load(number))


@bp.post("/management-reviews/<number>/compile")
def compile_inputs(number: str):
    return _act(
        number,
        lambda r: perm.can_prepare(current_user, r),
        lambda r: services.compile_inputs(
            db.session, current_user, r, recompile=request.form.get("recompile") == "1"
        ),
        lambda r: _("The inputs of %(number)s are compiled.", number=r.number),
    )


@bp.post("/management-reviews/<number>/minutes")
def minutes(number: str):
    """Narratives, attendees and the entered inputs, from one form."""
    form = request.form
    narratives = {
        key: form.get(f"narrative_{key}", "")
        for key, _c, _t in SECTIONS
        if f"narrative_{key}" in form
    }
    return _act(
        number,
        lambda r: perm.can_prepare(current_user, r),
        lambda r: services.update(
            db.session,
            current_user,
            r,
            narratives=narratives,
            attendees=form.getlist("attendees") if "attendees_sent" in form else None,
            external_issues=form.get("external_issues"),
            resources=form.get("resources"),
        ),
        lambda r: _("The minutes are saved."),
    )


@bp.post("/management-reviews/<number>/decisions")
def add_decision(number: str):
    form = request.form
    return _act(
        number,
        lambda r: perm.can_prepare(current_user, r),
        lambda r: services.add_decision(
            db.session,
            current_user,
            r,
            text=form.get("text", ""),
            category=form.get("category", ""),
            owner=form.get("owner") or None,
            due_date=_date("due_date"),
        ),
        lambda r: _("The decision is recorded."),
    )


@bp.post("/management-reviews/<number>/move/<action>")
def move(number: str, action: str):
    if action not in ("hold", "approve", "close"):
        abort(404)

    def work(r):
        if action == "approve":
            services.approve(db.session, current_user, r, password=request.form.get("password", ""))
            report.keep(db.session, services.get_review(db.session, r.number))
        else:
            services.ACTIONS[action](db.session, current_user, r)

    return _act(
        number,
        (lambda r: perm.can_approve(current_user, r))
        if action == "approve"
        else (lambda r: perm.can_prepare(current_user, r)),
        work,
        lambda r: _("%(number)s is now %(status)s.", number=r.number, status=_(STATUSES[r.status])),
    )


@bp.post("/management-reviews/<number>/amendments")
def amend(number: str):
    def work(r):
        services.amend(
            db.session,
            current_user,
            r,
            text=request.form.get("text", ""),
            reason=request.form.get("reason", ""),
        )
        report.keep(db.session, services.get_review(db.session, r.number))

    return _act(
        number,
        lambda r: perm.can_prepare(current_user, r),
        work,
        lambda r: _("The amendment is recorded."),
    )


@bp.post("/management-reviews/<number>/attendance")
def attendance(number: str):
    return _act(
        number,
        lambda r: perm.can_sign_attendance(current_user, r),
        lambda r: services.sign_attendance(
            db.session, current_user, r, password=request.form.get("password", "")
        ),
        lambda r: _("Your attendance is signed."),
    )


@bp.get("/management-reviews/<number>/report.pdf")
def report_pdf(number: str):
    r = _load(number)
    _require(perm.can_read_report(current_user, r))
    return report.report_response(r)


@bp.get("/management-reviews/<number>/figures.xlsx")
def figures(number: str):
    r = _load(number)
    _require(perm.can_read_report(current_user, r))
    return report.figures_download(r, "xlsx")


@bp.post("/management-review-actions/<id:decision_id>/done")
def action_done(decision_id: int):
    try:
        d = services.get_decision(db.session, decision_id)
    except NotFound:
        abort(404)
    if not perm.can_view_review(current_user, d.review):
        abort(404)
    _require(perm.can_complete_action(current_user, d))
    try:
        services.complete_action(
            db.session, current_user, d, evidence=request.form.get("evidence", "")
        )
    except DomainError as err:
        _failed(err)
        return redirect(url_for("capa.my_actions"))
    flash(_("The action is recorded as done."), "success")
    if request.form.get("next") == "review":
        return redirect(url_for("reviews.detail", number=d.review.number))
    return redirect(url_for("capa.my_actions"))
