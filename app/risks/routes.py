"""The risk-point register (服务风险点): the register with its heat map, a risk point with
its reviews, links and history, and the forms of those who keep it."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError
from wtforms import SelectChoice

from app.audit_trail import labels as trail_labels
from app.audit_trail.services import events_for
from app.errors import N_, DomainError, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.i18n import current_language
from app.people import services as people
from app.people.forms import department_choices, person_choices
from app.risks import exports, services
from app.risks.forms import (
    EditRiskPointForm,
    LinkForm,
    ReviewForm,
    RiskPointForm,
    UnlinkForm,
    level_choices,
)
from app.risks.models import (
    BAND_LABELS,
    BANDS,
    LIKELIHOOD_LABELS,
    SEVERITY_LABELS,
    RiskPoint,
    link_words,
)
from app.risks.permissions import (
    can_create_risk,
    can_create_risk_in,
    can_edit_risk,
    can_review_risk,
    can_view_risks,
    headed_departments,
)
from app.web import paginate, run_form

bp = Blueprint("risks", __name__, url_prefix="/risks")

PER_PAGE = 50
HISTORY_EVENTS = 50  # on the risk point's page; the audit-trail page has them all


@bp.before_request
@login_required
def require_reader():
    if not can_view_risks(current_user):
        abort(403)


@bp.context_processor
def labels():
    return {
        "BAND_LABELS": BAND_LABELS,
        "LIKELIHOOD_LABELS": LIKELIHOOD_LABELS,
        "SEVERITY_LABELS": SEVERITY_LABELS,
        "link_words": lambda ref: link_words(ref, _),
        "can_create_risk": can_create_risk,
        "can_edit_risk": can_edit_risk,
        "can_review_risk": can_review_risk,
    }


def _load(number: str) -> RiskPoint:
    try:
        return services.get_risk_point(db.session, number)
    except NotFound:
        abort(404)


def _to_detail(risk: RiskPoint):
    return redirect(url_for("risks.detail", number=risk.number))


def _level_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) not in range(1, 6):
        raise ValidationFailed(N_("A level is 1 to 5."), fields={name: N_("must be 1 to 5")})
    return int(raw)


def _filters() -> dict:
    """The register's filters from the query string (bad values: a 400 naming them)."""
    band = request.args.get("band", "").strip() or None
    if band and band not in BANDS:
        raise ValidationFailed(N_("Unknown score band."), fields={"band": N_("invalid")})
    return {
        "department": request.args.get("department", "").strip().upper() or None,
        "process": request.args.get("process", "").strip() or None,
        "band": band,
        "likelihood": _level_arg("likelihood"),
        "severity": _level_arg("severity"),
        "due": request.args.get("due") == "1",
        "q": request.args.get("q", "").strip() or None,
    }


def _stmt(filters: dict, *, cell: bool = True):
    return services.list_stmt(
        department=people.department_by_code(db.session, filters["department"]),
        process=filters["process"],
        band=filters["band"],
        likelihood=filters["likelihood"] if cell else None,
        severity=filters["severity"] if cell else None,
        due_on=local_today() if filters["due"] else None,
        q=filters["q"],
    )


def _subtitle(filters: dict) -> str:
    parts = []
    if filters["department"]:
        parts.append(f"{_('Department')}: {filters['department']}")
    if filters["process"]:
        parts.append(f"{_('Process')}: {filters['process']}")
    if filters["band"]:
        parts.append(f"{_('Band')}: {_(BAND_LABELS[filters['band']])}")
    if filters["likelihood"]:
        parts.append(f"{_('Likelihood')}: {filters['likelihood']}")
    if filters["severity"]:
        parts.append(f"{_('Severity')}: {filters['severity']}")
    if filters["due"]:
        parts.append(_("Review due"))
    if filters["q"]:
        parts.append(f"{_('Search')}: {filters['q']}")
    return " · ".join(parts)


@bp.get("")
def index():
    """The register with its heat map; ``?format=csv|xlsx|pdf`` downloads what is shown.
    The heat map counts the filtered register without its cell filter, so choosing a cell
    keeps the whole map in view."""
    filters = _filters()
    grid = services.heat_map_grid(services.heat_map(db.session, _stmt(filters, cell=False)))
    stmt = _stmt(filters)
    fmt = request.args.get("format")
    if fmt:
        risks = list(db.session.scalars(stmt))
        return exports.register_download(risks, grid, fmt, subtitle=_subtitle(filters))
    today = local_today()
    processes = db.session.scalars(
        select(RiskPoint.process).distinct().order_by(RiskPoint.process)
    ).all()
    args = {k: v for k, v in request.args.items() if k not in ("page", "format")}
    cell_args = {k: v for k, v in args.items() if k not in ("likelihood", "severity")}
    return render_template(
        "risks/index.html",
        pagination=paginate(stmt, per_page=PER_PAGE),
        filters=filters,
        grid=grid,
        args=args,
        cell_args=cell_args,
        processes=processes,
        departments=department_choices(blank=False),
        bands=BANDS,
        due_count=len(services.due_reviews(db.session, today)),
        today=today,
    )


def _object_link(ref: str) -> str | None:
    """The page of a linked object where its kind has one (documents, records, and any
    kind a later feature registers with the audit trail); None: shown as plain text."""
    kind, key = trail_labels.split_ref(ref)
    spec = trail_labels.KINDS.get(kind)
    if spec is None or spec.endpoint is None:
        return None
    try:
        return url_for(spec.endpoint, **{spec.arg: key})
    except BuildError:  # an endpoint of another shape: shown as text
        return None


@bp.get("/<number>")
def detail(number: str):
    risk = _load(number)
    events = db.session.scalars(events_for(risk.ref, newest_first=True).limit(HISTORY_EVENTS)).all()
    links = [(link, _object_link(link.object_ref)) for link in risk.links]
    return render_template(
        "risks/detail.html",
        risk=risk,
        links=links,
        events=events,
        today=local_today(),
        link_form=LinkForm(),
        unlink_form=UnlinkForm(),
    )


def _department_choices():
    if current_user.has_role("officer"):
        return department_choices(blank=True)
    language = current_language()
    return [SelectChoice("", "—")] + [
        SelectChoice(d.code, f"{d.code} {d.name_in(language)}")
        for d in headed_departments(current_user)
    ]


def _department(code: str | None):
    """The department chosen in the form; one the user may not add to is refused here
    (a head adds to the departments they head)."""
    dept = people.department_by_code(db.session, code)
    if dept is not None and not can_create_risk_in(current_user, dept):
        raise ValidationFailed(
            N_("You may only add risk points to the departments you head."),
            fields={"department": N_("invalid")},
        )
    return dept


def _choices(form) -> None:
    form.department.choices = _department_choices()
    form.owner.choices = person_choices(blank=True)
    form.likelihood.choices = level_choices(LIKELIHOOD_LABELS)
    form.severity.choices = level_choices(SEVERITY_LABELS)


def _form_fields(form) -> dict:
    return {
        "process": form.process_name.data,
        "department": _department(form.department.data),
        "cause": form.cause.data,
        "consequence": form.consequence.data,
        "likelihood": form.likelihood.data,
        "severity": form.severity.data,
        "controls": form.controls.data,
        "owner": people.user_by_username(db.session, form.owner.data, "owner"),
        "review_date": form.review_date.data,
    }


def _process_errors(action):
    """The service names the process field ``process``; on the form it is
    ``process_name`` (``process`` is the form's method)."""

    @functools.wraps(action)
    def run():
        try:
            return action()
        except DomainError as err:
            if "process" in err.fields:
                err.fields["process_name"] = err.fields.pop("process")
            raise

    return run


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not can_create_risk(current_user):
        abort(403)
    form = RiskPointForm()
    _choices(form)
    if not form.is_submitted():
        form.likelihood.data = form.severity.data = "3"
        form.owner.data = current_user.username
        if len(form.department.choices) == 2:  # a head of one department
            form.department.data = form.department.choices[1].value
        elif current_user.department is not None:
            form.department.data = current_user.department.code

    @_process_errors
    def create():
        return services.create_risk_point(db.session, current_user, **_form_fields(form))

    def done(risk):
        flash(_("Risk point %(number)s added.", number=risk.number), "success")
        return _to_detail(risk)

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (render_template("risks/form.html", form=form, risk=None), status),
    )


@bp.route("/<number>/edit", methods=["GET", "POST"])
def edit(number: str):
    risk = _load(number)
    if not can_edit_risk(current_user, risk):
        abort(403)
    form = EditRiskPointForm(obj=risk)
    _choices(form)
    if not form.is_submitted():
        form.process_name.data = risk.process
        form.department.data = risk.department.code
        form.owner.data = risk.owner.username
        form.likelihood.data, form.severity.data = str(risk.likelihood), str(risk.severity)

    @_process_errors
    def save():
        return services.update_risk_point(
            db.session, current_user, risk, reason=form.reason.data, **_form_fields(form)
        )

    def done(_risk):
        flash(_("%(number)s saved.", number=risk.number), "success")
        return _to_detail(risk)

    return run_form(
        form,
        save,
        on_success=done,
        render=lambda status: (render_template("risks/form.html", form=form, risk=risk), status),
    )


@bp.route("/<number>/review", methods=["GET", "POST"])
def review(number: str):
    risk = _load(number)
    if not can_review_risk(current_user, risk):
        abort(403)
    form = ReviewForm()

    def record():
        return services.record_review(
            db.session,
            current_user,
            risk,
            notes=form.notes.data,
            next_review_date=form.next_review_date.data,
        )

    def done(rev):
        flash(
            _(
                "Review of %(number)s recorded; the next review is due on %(date)s.",
                number=risk.number,
                date=rev.next_review_date.isoformat(),
            ),
            "success",
        )
        return _to_detail(risk)

    return run_form(
        form,
        record,
        on_success=done,
        render=lambda status: (render_template("risks/review.html", form=form, risk=risk), status),
    )


@bp.post("/<number>/links")
def link(number: str):
    risk = _load(number)
    if not can_edit_risk(current_user, risk):
        abort(403)
    form = LinkForm()

    def act():
        services.link(db.session, current_user, risk, form.object_ref.data)

    def done(_result):
        flash(_("Linked to %(number)s.", number=risk.number), "success")
        return _to_detail(risk)

    # The form sits on the risk point's page; an error goes back there as a flash.
    return run_form(form, act, on_success=done, render=lambda status: _to_detail(risk))


@bp.post("/<number>/links/remove")
def unlink(number: str):
    risk = _load(number)
    if not can_edit_risk(current_user, risk):
        abort(403)
    form = UnlinkForm()

    def act():
        services.unlink(db.session, current_user, risk, request.form.get("object_ref", ""))

    def done(_result):
        flash(_("Link removed."), "success")
        return _to_detail(risk)

    return run_form(form, act, on_success=done, render=lambda status: _to_detail(risk))
