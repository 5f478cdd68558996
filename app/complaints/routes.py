"""Complaint pages: the case list, quick intake, a case with its five recovery steps as a
timeline, and the officer's categories and settings (docs/adr/0046)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.audit_trail.services import events_for
from app.capa import services as capa
from app.complaints import exports, services
from app.complaints import permissions as perm
from app.complaints.forms import (
    ApproveForm,
    CategoryForm,
    CloseForm,
    EscalateForm,
    IntakeForm,
    OpenNcForm,
    ReopenForm,
    SettingsForm,
    StepForm,
)
from app.complaints.models import APPROVALS, CHANNELS, STATUSES, STEPS, Complaint
from app.errors import NotFound
from app.extensions import db, local_day_start, local_zone, utcnow
from app.i18n import current_language
from app.people.forms import department_choices
from app.web import paginate, run_form

bp = Blueprint("complaints", __name__)

PER_PAGE = 50
# the main line of statuses, as the case page shows its progress
MAIN_LINE = ["received", "acknowledged", "restoring", "resolved", "followed_up", "closed"]


@bp.before_request
@login_required
def require_login():
    """Every page here is for people signed in; each view then checks its own rule."""


def time_left(seconds: int | None) -> str:
    """ "3 h 20 min left" / "overdue by 2 h" in the reader's language."""
    if seconds is None:
        return ""
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = _("%(d)s d %(h)s h", d=days, h=hours)
    elif hours:
        text = _("%(h)s h %(m)s min", h=hours, m=mins)
    else:
        text = _("%(m)s min", m=mins)
    return _("%(time)s left", time=text) if seconds >= 0 else _("overdue by %(time)s", time=text)


@bp.context_processor
def labels():
    return {
        "CMP_STATUSES": STATUSES,
        "CMP_CHANNELS": CHANNELS,
        "CMP_STEPS": STEPS,
        "CMP_APPROVALS": APPROVALS,
        "cmp_perm": perm,
        "time_left": time_left,
        "clock_view": services.clock_view,
    }


def _load(number: str) -> Complaint:
    try:
        c = services.get_complaint(db.session, number)
    except NotFound:
        abort(404)
    if not perm.can_view_complaint(current_user, c):
        abort(404)
    return c


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _to_detail(c: Complaint):
    return redirect(url_for("complaints.detail", number=c.number))


def _category_choices(blank: bool = False) -> list[SelectChoice]:
    language = current_language()
    choices = [SelectChoice("", "—")] if blank else []
    return choices + [
        SelectChoice(c.code, c.name(language))
        for c in services.categories(db.session, active_only=True)
    ]


# The list ----------------------------------------------------------------------------


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters() -> dict:
    raw = {
        key: request.args.get(key, "").strip() or None
        for key in ("status", "category", "channel", "department", "breached", "from", "to", "mine")
    }
    if raw["status"] not in (None, *STATUSES):
        raw["status"] = None
    if raw["channel"] not in (None, *CHANNELS):
        raw["channel"] = None
    if raw["breached"] not in (None, "1"):
        raw["breached"] = None
    for key in ("from", "to"):
        if _day(raw[key]) is None:
            raw[key] = None
    return raw


def _query(filters: dict) -> dict:
    start, end = _day(filters["from"]), _day(filters["to"])
    return {
        "status": filters["status"],
        "category": filters["category"],
        "channel": filters["channel"],
        "department": filters["department"],
        "breached": True if filters["breached"] else None,
        "received_from": local_day_start(start) if start else None,
        "received_to": local_day_start(end + timedelta(days=1)) if end else None,
        "handler_id": current_user.id if filters["mine"] else None,
        "open_only": bool(filters["mine"]),
    }


@bp.get("/complaints")
def index():
    _require(perm.can_view_list(current_user))
    filters = _filters()
    query = _query(filters)
    fmt = request.args.get("format")
    if fmt:
        shown = ", ".join(f"{k}: {v}" for k, v in filters.items() if v is not None)
        return exports.register_download(db.session, current_user, query, fmt, shown)
    stmt = services.list_stmt(**query).options(
        selectinload(Complaint.category),
        selectinload(Complaint.department),
        selectinload(Complaint.handler),
        selectinload(Complaint.clocks),
    )
    pagination = paginate(stmt, per_page=PER_PAGE)
    return render_template(
        "complaints/index.html",
        pagination=pagination,
        filters=filters,
        categories=_category_choices(blank=True),
        departments=department_choices(blank=True),
        args={k: v for k, v in filters.items() if v},
        now=utcnow(),
        language=current_language(),
    )


# Quick intake --------------------------------------------------------------------------


@bp.route("/complaints/new", methods=["GET", "POST"])
def new():
    """Quick intake: short, keyboard-first (autofocus on the customer, Enter submits);
    channel hotline, received now, handler the department's default."""
    _require(perm.can_intake(current_user))
    form = IntakeForm()
    form.category.choices = _category_choices()
    form.department.choices = department_choices()
    if not form.is_submitted() and current_user.department is not None:
        form.department.data = current_user.department.code

    def act():
        received = form.received_at.data
        return services.intake(
            db.session,
            current_user,
            channel=form.channel.data,
            category=form.category.data,
            customer_name=form.customer_name.data,
            customer_contact=form.customer_contact.data or "",
            department=capa.department_by_code(db.session, form.department.data),
            site=form.site.data or "",
            commitment=form.commitment.data or "",
            request=form.request.data,
            received_at=received.replace(tzinfo=local_zone()) if received else None,
        )

    def done(c):
        flash(_("%(number)s was received.", number=c.number), "success")
        return _to_detail(c)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (render_template("complaints/new.html", form=form), status),
    )


# One case ---------------------------------------------------------------------------------


def _render(c: Complaint, status: int = 200, **forms):
    step_form = forms.get("step_form") or StepForm(formdata=None)
    if "step_form" not in forms:
        missing = [
            s for s in services.missing_steps(c) if s != "follow_up" or c.status == "resolved"
        ]
        if missing:
            step_form.step.data = missing[0]
    nc_form = forms.get("nc_form") or OpenNcForm(
        formdata=None, description=services.nc_description(c)
    )
    return (
        render_template(
            "complaints/detail.html",
            c=c,
            clocks=services.clock_view(c),
            personal=perm.can_see_personal_data(current_user, c),
            masked_name=perm.mask_name(c.customer_name),
            mask=perm.MASK,
            missing=services.missing_steps(c),
            pending=services.pending_compensation(c),
            nc_offered=services.nc_offered(c),
            events=db.session.scalars(events_for(c.ref)).all(),
            step_form=step_form,
            close_form=forms.get("close_form") or CloseForm(formdata=None),
            escalate_form=forms.get("escalate_form") or EscalateForm(formdata=None),
            reopen_form=forms.get("reopen_form") or ReopenForm(formdata=None),
            approve_form=forms.get("approve_form") or ApproveForm(formdata=None),
            nc_form=nc_form,
            main_line=MAIN_LINE,
            language=current_language(),
        ),
        status,
    )


@bp.get("/complaints/<number>")
def detail(number: str):
    return _render(_load(number))


def _act(number: str, allowed, form_class, name: str, act):
    c = _load(number)
    _require(allowed(current_user, c))
    form = form_class()
    return run_form(
        form,
        lambda: act(c, form),
        on_success=lambda _result: _to_detail(c),
        render=lambda status: _render(c, status, **{name: form}),
    )


@bp.post("/complaints/<number>/steps")
def record_step(number: str):
    def act(c, form):
        at = form.at.data
        return services.record_step(
            db.session,
            current_user,
            c,
            step=form.step.data,
            note=form.note.data or "",
            at=at.replace(tzinfo=local_zone()) if at else None,
            value=form.value.data,
            satisfaction=int(form.satisfaction.data) if form.satisfaction.data else None,
            done=not form.under_way.data,
        )

    return _act(number, perm.can_record_step, StepForm, "step_form", act)


@bp.post("/complaints/<number>/close")
def close(number: str):
    return _act(
        number,
        perm.can_close,
        CloseForm,
        "close_form",
        lambda c, form: services.close(db.session, current_user, c, reason=form.reason.data),
    )


@bp.post("/complaints/<number>/escalate")
def escalate(number: str):
    return _act(
        number,
        perm.can_escalate,
        EscalateForm,
        "escalate_form",
        lambda c, form: services.escalate(db.session, current_user, c, reason=form.reason.data),
    )


@bp.post("/complaints/<number>/reopen")
def reopen(number: str):
    return _act(
        number,
        perm.can_reopen,
        ReopenForm,
        "reopen_form",
        lambda c, form: services.reopen(db.session, current_user, c, reason=form.reason.data),
    )


@bp.post("/complaints/<number>/approve")
def approve(number: str):
    return _act(
        number,
        perm.can_approve_compensation,
        ApproveForm,
        "approve_form",
        lambda c, form: services.approve_compensation(
            db.session, current_user, c, password=form.password.data or ""
        ),
    )


@bp.post("/complaints/<number>/nonconformity")
def open_nc(number: str):
    c = _load(number)
    _require(perm.can_open_nc(current_user, c))
    form = OpenNcForm()

    def done(nc):
        flash(_("%(nc)s was opened from %(number)s.", nc=nc.number, number=c.number), "success")
        return redirect(url_for("capa.detail", number=nc.number))

    return run_form(
        form,
        lambda: services.open_nc(
            db.session,
            current_user,
            c,
            description=form.description.data,
            severity=form.severity.data,
        ),
        on_success=done,
        render=lambda status: _render(c, status, nc_form=form),
    )


# Categories and settings (officers) ---------------------------------------------------------


def _settings_form() -> SettingsForm:
    s = services.settings(db.session)
    return SettingsForm(
        formdata=None,
        approval_above=s.approval_above,
        repeat_days=s.repeat_days,
        first_contact_minutes=s.first_contact_minutes,
        auto_nc_on_breach=s.auto_nc_on_breach,
        auto_nc_on_repeat=s.auto_nc_on_repeat,
    )


def _render_categories(status: int = 200, category_form=None, settings_form=None):
    return (
        render_template(
            "complaints/categories.html",
            categories=services.categories(db.session),
            form=category_form or CategoryForm(formdata=None),
            settings_form=settings_form or _settings_form(),
            language=current_language(),
        ),
        status,
    )


@bp.get("/complaints/categories")
def categories():
    _require(perm.can_manage_categories(current_user))
    edit = request.args.get("edit")
    form = None
    if edit:
        found = next((c for c in services.categories(db.session) if c.code == edit), None)
        if found is not None:
            form = CategoryForm(
                formdata=None,
                code=found.code,
                name=found.name_zh,
                name_en=found.name_en,
                active=found.is_active,
                **{k.step: k.within_hours for k in found.clocks},
            )
    return _render_categories(category_form=form)


@bp.post("/complaints/categories")
def save_category():
    _require(perm.can_manage_categories(current_user))
    form = CategoryForm()

    def act():
        return services.save_category(
            db.session,
            current_user,
            code=form.code.data,
            name=form.name.data,
            name_en=form.name_en.data,
            clocks=[
                {"step": step, "within_hours": getattr(form, step).data}
                for step in STEPS
                if getattr(form, step).data
            ],
            is_active=form.active.data,
        )

    def done(cat):
        flash(_("The category %(code)s was saved.", code=cat.code), "success")
        return redirect(url_for("complaints.categories"))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_categories(status, category_form=form),
    )


@bp.post("/complaints/settings")
def save_settings():
    _require(perm.can_manage_categories(current_user))
    form = SettingsForm()

    def done(_s):
        flash(_("The complaint settings were saved."), "success")
        return redirect(url_for("complaints.categories"))

    return run_form(
        form,
        lambda: services.save_settings(
            db.session,
            current_user,
            approval_above=form.approval_above.data,
            repeat_days=form.repeat_days.data,
            first_contact_minutes=form.first_contact_minutes.data,
            auto_nc_on_breach=form.auto_nc_on_breach.data,
            auto_nc_on_repeat=form.auto_nc_on_repeat.data,
        ),
        on_success=done,
        render=lambda status: _render_categories(status, settings_form=form),
    )
