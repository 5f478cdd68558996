"""Nonconformity pages: report a problem, the register, an NC's gated steps, my actions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.audit_trail.services import events_for
from app.capa import action_sources, exports, rules, services
from app.capa import permissions as perm
from app.capa.forms import (
    PLAN_ROWS,
    ActionDoneForm,
    AmendForm,
    AnalysisForm,
    ContainmentForm,
    LinkForm,
    PlanForm,
    RejectForm,
    ReportForm,
    RiskCreateForm,
    RiskLinkForm,
    VerificationForm,
)
from app.capa.models import (
    ACTION_STATUSES,
    ACTION_TYPES,
    CAUSE_CATEGORIES,
    CHECK_OUTCOMES,
    SEVERITIES,
    SOURCES,
    STATUSES,
    NcAction,
    Nonconformity,
)
from app.documents.permissions import can_add_revision
from app.documents.services import visible_document
from app.errors import N_, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db, local_today
from app.people.forms import department_choices, person_choices
from app.risks import services as risks
from app.risks.models import RiskPoint
from app.risks.permissions import can_edit_risk
from app.signatures.services import signatures_for
from app.web import paginate, run_form

bp = Blueprint("capa", __name__)

PER_PAGE = 50
# the steps in order, as the detail page shows them
STEPS = [
    "reported",
    "contained",
    "analysed",
    "action_planned",
    "implemented",
    "verifying",
    "closed",
]


@bp.before_request
@login_required
def require_login():
    """Every page here is for people signed in; each view then checks its own rule."""


@bp.context_processor
def labels():
    return {
        "NC_STATUSES": STATUSES,
        "NC_SOURCES": SOURCES,
        "NC_SEVERITIES": SEVERITIES,
        "CAUSE_CATEGORIES": CAUSE_CATEGORIES,
        "ACTION_TYPES": ACTION_TYPES,
        "ACTION_STATUSES": ACTION_STATUSES,
        "CHECK_OUTCOMES": CHECK_OUTCOMES,
        "RULE_KINDS": rules.KINDS,
        "NC_STEPS": STEPS,
        "nc_perm": perm,
    }


def _load(number: str) -> Nonconformity:
    try:
        return services.visible_nc(db.session, current_user, number)
    except NotFound:
        abort(404)


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _to_detail(nc: Nonconformity):
    return redirect(url_for("capa.detail", number=nc.number))


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


# Reporting ---------------------------------------------------------------------------


@bp.route("/nonconformities/report", methods=["GET", "POST"])
def report():
    """ "Report a problem": the short form every signed-in person reaches from the menu."""
    _require(perm.can_report(current_user))
    form = ReportForm()
    form.department.choices = department_choices()
    if not form.is_submitted() and current_user.department is not None:
        form.department.data = current_user.department.code

    def act():
        return services.report(
            db.session,
            current_user,
            description=form.description.data,
            department=services.department_by_code(db.session, form.department.data),
            severity=form.severity.data,
            source=form.source.data,
            links=_split(form.links.data),
        )

    def done(nc):
        flash(_("Thank you: %(number)s was reported.", number=nc.number), "success")
        return _to_detail(nc)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (render_template("capa/report.html", form=form), status),
    )


# The register ------------------------------------------------------------------------


def _filters() -> dict:
    return {
        key: request.args.get(key, "").strip() or None
        for key in ("status", "department", "source", "severity", "q")
    }


@bp.get("/nonconformities")
def index():
    _require(perm.can_view_register(current_user))
    filters = _filters()
    for key, choices in (("status", STATUSES), ("source", SOURCES), ("severity", SEVERITIES)):
        if filters[key] not in (None, *choices):
            filters[key] = None
    stmt = services.list_stmt(where=perm.visible_ncs(current_user), **filters).options(
        selectinload(Nonconformity.department), selectinload(Nonconformity.plans)
    )
    fmt = request.args.get("format")
    if fmt:
        ncs = db.session.scalars(stmt.limit(exports.MAX_ROWS)).all()
        shown = ", ".join(f"{key}: {value}" for key, value in filters.items() if value is not None)
        return exports.register_download(ncs, fmt, shown)
    pagination = paginate(stmt, per_page=PER_PAGE)
    return render_template(
        "capa/index.html",
        pagination=pagination,
        filters=filters,
        departments=department_choices(blank=True),
        args={k: v for k, v in filters.items() if v},
    )


# One NC and its steps -----------------------------------------------------------------


def _plan_form(nc: Nonconformity) -> PlanForm:
    form = PlanForm()
    owners = person_choices(blank=True)
    for row in form.actions:
        row.form.owner.choices = owners
    form.rule_kind.choices = [
        SelectChoice("", _("No: the criterion is judged by the verifier"))
    ] + [
        SelectChoice(code, _(kind.label), render_kw=None if kind.available else {"disabled": True})
        for code, kind in rules.KINDS.items()
    ]
    form.rule_department.choices = department_choices(blank=True)
    if not form.is_submitted():
        form.rule_department.data = nc.department.code
    return form


def _render(nc: Nonconformity, status: int = 200, **forms):
    today = local_today()
    defaults = {
        "containment_form": ContainmentForm(formdata=None),
        "analysis_form": AnalysisForm(formdata=None),
        "plan_form": None,
        "verification_form": VerificationForm(formdata=None),
        "reject_form": RejectForm(formdata=None),
        "amend_form": AmendForm(formdata=None),
        "link_form": LinkForm(formdata=None),
        "done_form": ActionDoneForm(formdata=None),
        "risk_link_form": None,
        "risk_create_form": None,
    }
    defaults.update(forms)
    if defaults["plan_form"] is None:
        defaults["plan_form"] = _plan_form(nc)
    if defaults["risk_link_form"] is None:
        defaults["risk_link_form"] = _risk_link_form()
    if defaults["risk_create_form"] is None:
        defaults["risk_create_form"] = _risk_create_form(nc)
    candidates = []
    if nc.status == "contained" and perm.can_analyse(current_user, nc):
        candidates = services.similar_candidates(db.session, nc, perm.visible_ncs(current_user))
    documents = []
    for link in nc.links:
        if link.kind == "document":
            try:
                doc = visible_document(db.session, current_user, link.key)
            except NotFound:
                continue
            documents.append((doc, can_add_revision(current_user, doc)))
    return (
        render_template(
            "capa/detail.html",
            nc=nc,
            today=today,
            signatures=signatures_for(db.session, nc.ref),
            events=db.session.scalars(events_for(nc.ref)).all(),
            candidates=candidates,
            linked_documents=documents,
            owns_an_action=perm.owns_an_action(current_user, nc),
            risk_points=risks.risk_points_for(db.session, nc.ref),
            plan_rows=PLAN_ROWS,
            **defaults,
        ),
        status,
    )


@bp.get("/nonconformities/<number>")
def detail(number: str):
    return _render(_load(number))


def _step(number: str, allowed, form, act):
    nc = _load(number)
    _require(allowed(current_user, nc))
    form = form()
    return run_form(
        form,
        lambda: act(nc, form),
        on_success=lambda _result: _to_detail(nc),
        render=lambda status: _render(nc, status, **{_form_name(form): form}),
    )


def _form_name(form) -> str:
    return {
        ContainmentForm: "containment_form",
        AnalysisForm: "analysis_form",
        PlanForm: "plan_form",
        VerificationForm: "verification_form",
        RejectForm: "reject_form",
        AmendForm: "amend_form",
        LinkForm: "link_form",
    }[type(form)]


@bp.post("/nonconformities/<number>/containment")
def contain(number: str):
    return _step(
        number,
        perm.can_contain,
        ContainmentForm,
        lambda nc, form: services.contain(db.session, current_user, nc, text=form.text.data),
    )


@bp.post("/nonconformities/<number>/analysis")
def analyse(number: str):
    return _step(
        number,
        perm.can_analyse,
        AnalysisForm,
        lambda nc, form: services.analyse(
            db.session,
            current_user,
            nc,
            whys=form.whys,
            categories=form.categories.data or [],
            similar=_split(form.similar.data),
            similar_elsewhere=form.similar_elsewhere.data,
        ),
    )


def _rule_from(form: PlanForm) -> dict | None:
    kind = form.rule_kind.data
    if not kind:
        return None
    return {
        "kind": kind,
        "days": form.rule_days.data,
        "department": form.rule_department.data,
        "category": form.rule_category.data,
        "record_type": form.rule_record_type.data,
        "field": form.rule_field.data,
        "value": form.rule_value.data,
        "kpi": form.rule_kpi.data,
        "threshold": float(form.rule_threshold.data)
        if form.rule_threshold.data is not None
        else None,
    }


@bp.post("/nonconformities/<number>/plan")
def plan(number: str):
    nc = _load(number)
    _require(perm.can_approve_plan(current_user, nc))
    form = _plan_form(nc)

    def act():
        actions = [
            {
                "text": row.form.text.data,
                "type": row.form.type.data,
                "owner": row.form.owner.data,
                "due_date": row.form.due_date.data,
            }
            for row in form.actions
            if (row.form.text.data or "").strip()
        ]
        return services.approve_plan(
            db.session,
            current_user,
            nc,
            actions=actions,
            criterion=form.criterion.data,
            check_date=form.check_date.data,
            rule=_rule_from(form),
            password=form.password.data,
        )

    return run_form(
        form,
        act,
        on_success=lambda _plan: _to_detail(nc),
        render=lambda status: _render(nc, status, plan_form=form),
    )


@bp.post("/nonconformities/<number>/verification")
def verify(number: str):
    return _step(
        number,
        perm.can_verify,
        VerificationForm,
        lambda nc, form: services.verify(
            db.session,
            current_user,
            nc,
            effective=form.effective.data == "yes",
            evidence=form.evidence.data,
            password=form.password.data,
        ),
    )


@bp.post("/nonconformities/<number>/reject")
def reject(number: str):
    return _step(
        number,
        perm.can_reject,
        RejectForm,
        lambda nc, form: services.reject(
            db.session, current_user, nc, reason=form.reason.data, password=form.password.data
        ),
    )


@bp.post("/nonconformities/<number>/amend")
def amend(number: str):
    return _step(
        number,
        perm.can_amend,
        AmendForm,
        lambda nc, form: services.amend(
            db.session, current_user, nc, text=form.text.data, reason=form.reason.data
        ),
    )


@bp.post("/nonconformities/<number>/links")
def link(number: str):
    return _step(
        number,
        perm.can_link,
        LinkForm,
        lambda nc, form: services.add_link(db.session, current_user, nc, form.link.data),
    )


# My actions -------------------------------------------------------------------------------


@bp.get("/my-actions")
def my_actions():
    status = request.args.get("status", "open")
    if status not in services.ACTION_FILTERS:
        status = "open"
    stmt = services.actions_stmt(current_user, status=status).options(selectinload(NcAction.nc))
    return render_template(
        "capa/my_actions.html",
        pagination=paginate(stmt, per_page=PER_PAGE),
        status=status,
        today=local_today(),
        done_form=ActionDoneForm(formdata=None),
        other_actions=action_sources.rows_for(db.session, current_user, status, local_today()),
    )


@bp.post("/actions/<id:action_id>/done")
def action_done(action_id: int):
    try:
        action = services.get_action(db.session, action_id)
    except NotFound:
        abort(404)
    if not perm.can_view_nc(current_user, action.nc):
        abort(404)
    _require(perm.can_complete_action(current_user, action))
    form = ActionDoneForm()
    back = request.form.get("next") == "nc"

    def done(result):
        flash(_("The action is recorded as done."), "success")
        return _to_detail(action.nc) if back else redirect(url_for("capa.my_actions"))

    def render(status):
        if back:
            return _render(action.nc, status, done_form=form)
        stmt = services.actions_stmt(current_user, status="open")
        return (
            render_template(
                "capa/my_actions.html",
                pagination=paginate(stmt, per_page=PER_PAGE),
                status="open",
                today=local_today(),
                done_form=form,
                failed_action=action.id,
                other_actions=action_sources.rows_for(
                    db.session, current_user, "open", local_today()
                ),
            ),
            status,
        )

    return run_form(
        form,
        lambda: services.complete_action(
            db.session, current_user, action, evidence=form.evidence.data
        ),
        on_success=done,
        render=render,
    )


# Closing prompts: risk points ---------------------------------------------------------


def _risk_link_form() -> RiskLinkForm:
    form = RiskLinkForm()
    form.risk.choices = [SelectChoice("", "—")] + [
        SelectChoice(r.number, f"{r.number} {r.process}")
        for r in db.session.scalars(select(RiskPoint).order_by(RiskPoint.number))
        if can_edit_risk(current_user, r)
    ]
    return form


def _risk_create_form(nc: Nonconformity) -> RiskCreateForm:
    """Prefilled with what the NC taught: its description as the consequence, its root
    cause, its corrective and preventive actions as controls."""
    form = RiskCreateForm()
    form.owner.choices = person_choices()
    if not form.is_submitted():
        form.consequence.data = nc.description
        form.cause.data = "；".join(nc.whys) or ", ".join(
            _(CAUSE_CATEGORIES[c]) for c in nc.categories
        )
        form.controls.data = "；".join(
            a.text for a in nc.actions if a.type in ("corrective", "preventive")
        )
        head = nc.department.head
        form.owner.data = head.username if head else current_user.username
    return form


@bp.post("/nonconformities/<number>/risk-points/link")
def link_risk(number: str):
    nc = _load(number)
    _require(perm.can_link_risk(current_user, nc))
    form = _risk_link_form()

    def act():
        if not form.risk.data:
            raise ValidationFailed(
                N_("Please choose the risk point."), fields={"risk": N_("required")}
            )
        try:
            risk = risks.get_risk_point(db.session, form.risk.data)
        except NotFound as err:
            raise ValidationFailed(
                N_("Please choose the risk point."), fields={"risk": N_("invalid")}
            ) from err
        if not can_edit_risk(current_user, risk):
            raise PermissionDenied(N_("You do not have permission to do this."))
        services.link_risk_point(db.session, current_user, nc, risk)
        return risk

    def done(risk):
        flash(_("Linked to %(number)s.", number=risk.number), "success")
        return _to_detail(nc)

    return run_form(
        form, act, on_success=done, render=lambda status: _render(nc, status, risk_link_form=form)
    )


@bp.post("/nonconformities/<number>/risk-points/new")
def create_risk(number: str):
    nc = _load(number)
    _require(perm.can_create_risk_for(current_user, nc))
    form = _risk_create_form(nc)

    def act():
        return services.create_risk_point_for(
            db.session,
            current_user,
            nc,
            process=form.process_name.data,
            cause=form.cause.data,
            consequence=form.consequence.data,
            likelihood=form.likelihood.data,
            severity=form.severity.data,
            controls=form.controls.data,
            owner=services.user_by_username(db.session, form.owner.data, "owner"),
        )

    def done(risk):
        flash(_("Risk point %(number)s added.", number=risk.number), "success")
        return _to_detail(nc)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render(nc, status, risk_create_form=form),
    )
