"""Quality objectives and KPIs (质量目标 / 指标): the dashboard with red / amber / green
badges and trend charts, the objectives of a year, a KPI's page (values, entering,
amending, targets), closing a period, the CSV import and the KPI report PDF."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from app import charts
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.i18n import current_language
from app.kpis import exports, services
from app.kpis import periods as P
from app.kpis import sources as S
from app.kpis.forms import (
    AmendForm,
    BreachForm,
    ClosePeriodForm,
    ImportForm,
    KpiEditForm,
    KpiForm,
    ObjectiveEditForm,
    ObjectiveForm,
    ReasonForm,
    TargetForm,
    ValueForm,
)
from app.kpis.models import DIRECTIONS, PERIOD_KINDS, STATUSES, Kpi, KpiPeriodClose, Objective
from app.kpis.permissions import (
    can_enter_value,
    can_import_values,
    can_manage_kpis,
    can_view_kpis,
)
from app.kpis.queries import format_value, kpi_trend, summaries_of
from app.people.forms import department_choices
from app.web import run_form

bp = Blueprint("kpis", __name__, url_prefix="/kpis")

HISTORY = 12


@bp.before_request
@login_required
def require_reader():
    if not can_view_kpis(current_user):
        abort(403)


@bp.context_processor
def labels():
    return {
        "KPI_STATUSES": STATUSES,
        "DIRECTIONS": DIRECTIONS,
        "PERIOD_KINDS": PERIOD_KINDS,
        "can_manage_kpis": can_manage_kpis,
        "can_enter_value": can_enter_value,
        "can_import_values": can_import_values,
        "format_value": format_value,
        # the trend as an image: the page's CSP refuses pygal's styles in an inline SVG
        "kpi_chart": lambda summary: charts.image(kpi_trend(summary), summary.name),
        "source_title": _source_title,
    }


def _source_title(name: str) -> str:
    if name == "entered":
        return _("Entered")
    source = S.SOURCES.get(name)
    return _(source.title) if source else name


def _load(code: str) -> Kpi:
    try:
        return services.get_kpi(db.session, code)
    except NotFound:
        abort(404)


def _department_arg():
    code = request.args.get("department", "").strip().upper() or None
    return services.department_by_code(db.session, code)


def _year_arg() -> int:
    raw = request.args.get("year", "").strip()
    if not raw:
        return local_today().year
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4 and 2000 <= int(raw) <= 2100):
        raise ValidationFailed(N_("Please give a year."), fields={"year": N_("invalid")})
    return int(raw)


def _subtitle(dept) -> str:
    language = current_language()
    return dept.name_in(language) if dept else _("The organisation and every department")


def _flag(name: str) -> bool:
    return request.args.get(name, "") == "1"


@bp.get("")
def index():
    """The dashboard: each active KPI (of a department, or all) with its status and trend
    over the last 12 periods (``?inactive=1``: the inactive ones too, greyed); ``?format=pdf``
    is the KPI report of the active ones with the same charts."""
    dept = _department_arg()
    pdf = request.args.get("format") == "pdf"
    show_inactive = _flag("inactive") and not pdf
    kpis = list(db.session.scalars(services.kpis_stmt(dept, include_inactive=show_inactive)))
    # the page may show values of a moment ago while they are recomputed; the report not
    summaries = summaries_of(db.session, kpis, local_today(), stale_ok=not pdf)
    if pdf:
        return exports.report_response(summaries, title=_("KPI report"), subtitle=_subtitle(dept))
    inactive = {k.code for k in kpis if not k.is_active}
    counts = {key: 0 for key in STATUSES}
    for s in summaries:
        if s.code not in inactive:
            counts[s.status] += 1
    return render_template(
        "kpis/index.html",
        summaries=summaries,
        inactive=inactive,
        show_inactive=show_inactive,
        counts=counts,
        department=dept,
        departments=department_choices(blank=False),
        subtitle=_subtitle(dept),
    )


@bp.get("/objectives")
def objectives():
    """The quality objectives of a year, per department, with their plans and KPIs."""
    year = _year_arg()
    dept = _department_arg()
    show_withdrawn = _flag("withdrawn")
    items = list(
        db.session.scalars(services.objectives_stmt(year, dept, include_withdrawn=show_withdrawn))
    )
    summaries = {
        s.code: s
        for s in summaries_of(db.session, [k for o in items for k in o.kpis], local_today())
    }
    return render_template(
        "kpis/objectives.html",
        objectives=items,
        summaries=summaries,
        year=year,
        department=dept,
        show_withdrawn=show_withdrawn,
        departments=department_choices(blank=False),
    )


def _owner_name(objective, language: str) -> str:
    return objective.department.name_in(language) if objective.department else _("Organisation")


def _objective_choices(current: Objective | None = None) -> list[SelectChoice]:
    """The active objectives of this year, and the KPI's own (``current``) whatever its
    year or state: a withdrawn objective is not offered, but a KPI keeps the one it has."""
    language = current_language()
    objectives = list(
        db.session.scalars(services.objectives_stmt(local_today().year, include_withdrawn=False))
    )
    if current is not None and current not in objectives:
        objectives.insert(0, current)

    def label(o: Objective) -> str:
        text = f"{o.year} {_owner_name(o, language)} · {o.title}"
        return text if o.is_active else f"{text} ({_('Withdrawn')})"

    return [SelectChoice("", "—")] + [SelectChoice(str(o.id), label(o)) for o in objectives]


def _load_objective(objective_id: int) -> Objective:
    try:
        return services.get_objective(db.session, objective_id)
    except NotFound:
        abort(404)


def _render_objective_edit(objective: Objective, form, status: int = 200, reason_form=None):
    return (
        render_template(
            "kpis/objective_edit.html",
            objective=objective,
            form=form,
            reason_form=reason_form or ReasonForm(),
        ),
        status,
    )


def _objective_edit_form(objective: Objective) -> ObjectiveEditForm:
    form = ObjectiveEditForm()
    form.department.choices = [SelectChoice("", _("Organisation")), *department_choices()]
    if not form.is_submitted():
        form.department.data = objective.department.code if objective.department else ""
        form.title.data = objective.title
        for key in services.PLAN_FIELDS:
            getattr(form, key).data = getattr(objective, key)
    return form


@bp.route("/objectives/<int:objective_id>/edit", methods=["GET", "POST"])
def edit_objective(objective_id: int):
    """Change an objective's title, department and plan (officers); withdraw or
    reinstate it from the same page."""
    if not can_manage_kpis(current_user):
        abort(403)
    objective = _load_objective(objective_id)
    form = _objective_edit_form(objective)

    def act():
        return services.update_objective(
            db.session,
            current_user,
            objective,
            title=form.title.data,
            department=services.department_by_code(db.session, form.department.data),
            plan={k: getattr(form, k).data for k in services.PLAN_FIELDS},
        )

    def done(saved):
        flash(_("Objective saved."), "success")
        return redirect(url_for("kpis.objectives", year=saved.year, withdrawn=_withdrawn(saved)))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_objective_edit(objective, form, status),
    )


def _withdrawn(objective: Objective) -> str | None:
    return None if objective.is_active else "1"


def _objective_state_change(objective_id: int, change, message: str):
    if not can_manage_kpis(current_user):
        abort(403)
    objective = _load_objective(objective_id)
    reason_form = ReasonForm()

    def act():
        return change(db.session, current_user, objective, reason=reason_form.reason.data)

    def done(saved):
        flash(_(message, title=saved.title), "success")
        return redirect(url_for("kpis.objectives", year=saved.year, withdrawn=_withdrawn(saved)))

    return run_form(
        reason_form,
        act,
        on_success=done,
        render=lambda status: _render_objective_edit(
            objective, _objective_edit_form(objective), status, reason_form
        ),
    )


@bp.post("/objectives/<int:objective_id>/withdraw")
def withdraw_objective(objective_id: int):
    """Withdraw an objective, with a reason (officers); twice at once: one wins, 409."""
    return _objective_state_change(
        objective_id, services.withdraw_objective, N_("Objective %(title)s withdrawn.")
    )


@bp.post("/objectives/<int:objective_id>/reinstate")
def reinstate_objective(objective_id: int):
    """Make a withdrawn objective active again, with a reason (officers)."""
    return _objective_state_change(
        objective_id, services.reinstate_objective, N_("Objective %(title)s reinstated.")
    )


@bp.route("/objectives/new", methods=["GET", "POST"])
def new_objective():
    if not can_manage_kpis(current_user):
        abort(403)
    form = ObjectiveForm()
    form.department.choices = [SelectChoice("", _("Organisation")), *department_choices()]
    language = current_language()
    form.kpis.choices = [
        SelectChoice(k.code, f"{k.code} {k.name_in(language)}")
        for k in db.session.scalars(services.kpis_stmt())
    ]
    if not form.is_submitted():
        form.year.data = local_today().year

    def create():
        return services.create_objective(
            db.session,
            current_user,
            year=form.year.data,
            department=services.department_by_code(db.session, form.department.data),
            title=form.title.data,
            plan={k: getattr(form, k).data for k in services.PLAN_FIELDS},
            kpis=form.kpis.data or [],
        )

    def done(objective):
        flash(_("Objective set."), "success")
        return redirect(url_for("kpis.objectives", year=objective.year))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (render_template("kpis/objective_form.html", form=form), status),
    )


def _source_choices() -> list[SelectChoice]:
    return [SelectChoice("entered", _("Entered (typed or imported)"))] + [
        SelectChoice(s.name, f"{_(s.title)}") for s in S.SOURCES.values()
    ]


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not can_manage_kpis(current_user):
        abort(403)
    form = KpiForm()
    form.direction.choices = [SelectChoice(k, _(v)) for k, v in DIRECTIONS.items()]
    form.period.choices = [SelectChoice(k, _(v)) for k, v in PERIOD_KINDS.items()]
    form.source.choices = _source_choices()
    form.department.choices = [SelectChoice("", _("Organisation")), *department_choices()]
    form.objective.choices = _objective_choices()

    def create():
        params = _source_params(form, form.source.data)
        targets = []
        if form.target.data is not None:
            targets.append(
                {
                    "period": str(local_today().year),
                    "target": float(form.target.data),
                    "warning": float(form.warning.data) if form.warning.data is not None else None,
                }
            )
        objective = (
            services.get_objective(db.session, int(form.objective.data))
            if (form.objective.data or "").isdigit()
            else None
        )
        return services.create_kpi(
            db.session,
            current_user,
            code=form.code.data,
            name=form.name.data,
            name_en=form.name_en.data,
            unit=form.unit.data,
            direction=form.direction.data,
            period_kind=form.period.data,
            source=form.source.data,
            params=params,
            department=services.department_by_code(db.session, form.department.data),
            objective=objective,
            targets=targets,
            breach_periods=form.breach_periods.data,
        )

    def done(kpi):
        flash(_("KPI %(code)s defined.", code=kpi.code), "success")
        return redirect(url_for("kpis.detail", code=kpi.code))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (render_template("kpis/kpi_form.html", form=form), status),
    )


def _source_params(form, source_name: str) -> dict:
    """The source parameters typed into the form, for the fields the source takes."""
    source = S.SOURCES.get(source_name)
    params = {}
    for key in ("record_type", "field", "category", "step"):
        value = (getattr(form, key).data or "").strip()
        if value and source is not None and key in source.params:
            params[key] = value
    return params


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit(code: str):
    """Change a KPI's names, unit, direction, department, objective, run length and
    source parameters (officers). Its code, period kind and source stay: they define its
    history."""
    kpi = _load(code)
    if not can_manage_kpis(current_user):
        abort(403)
    form = KpiEditForm()
    form.direction.choices = [SelectChoice(k, _(v)) for k, v in DIRECTIONS.items()]
    form.department.choices = [SelectChoice("", _("Organisation")), *department_choices()]
    form.objective.choices = _objective_choices(kpi.objective)
    source = S.SOURCES.get(kpi.source)
    if not form.is_submitted():
        form.name.data, form.name_en.data, form.unit.data = kpi.name, kpi.name_en, kpi.unit
        form.direction.data = kpi.direction
        form.department.data = kpi.department.code if kpi.department else ""
        form.objective.data = str(kpi.objective_id) if kpi.objective_id else ""
        form.breach_periods.data = kpi.breach_periods
        for key, value in kpi.params.items():
            if hasattr(form, key):
                getattr(form, key).data = value

    def act():
        objective = (
            services.get_objective(db.session, int(form.objective.data))
            if (form.objective.data or "").isdigit()
            else None
        )
        return services.update_kpi(
            db.session,
            current_user,
            kpi,
            name=form.name.data,
            name_en=form.name_en.data,
            unit=form.unit.data,
            direction=form.direction.data,
            department=services.department_by_code(db.session, form.department.data),
            objective=objective,
            breach_periods=form.breach_periods.data,
            params=_source_params(form, kpi.source),
        )

    def done(saved):
        flash(_("KPI %(code)s saved.", code=saved.code), "success")
        return _to_detail(saved)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (
            render_template(
                "kpis/kpi_edit.html",
                form=form,
                kpi=kpi,
                params=list(source.params) if source else [],
                language=current_language(),
            ),
            status,
        ),
    )


def _kpi_state_change(code: str, change, message: str):
    kpi = _load(code)
    if not can_manage_kpis(current_user):
        abort(403)
    reason_form = ReasonForm()

    def act():
        return change(db.session, current_user, kpi, reason=reason_form.reason.data)

    def done(saved):
        flash(_(message, code=saved.code), "success")
        return _to_detail(saved)

    return run_form(
        reason_form,
        act,
        on_success=done,
        render=lambda status: _render_detail(kpi, status, reason_form=reason_form),
    )


@bp.post("/<code>/deactivate")
def deactivate(code: str):
    """Deactivate a KPI, with a reason (officers); twice at once: one wins, 409."""
    return _kpi_state_change(code, services.deactivate_kpi, N_("KPI %(code)s deactivated."))


@bp.post("/<code>/reactivate")
def reactivate(code: str):
    """Make an inactive KPI active again, with a reason (officers)."""
    return _kpi_state_change(code, services.reactivate_kpi, N_("KPI %(code)s reactivated."))


def _render_detail(kpi: Kpi, status: int = 200, **forms):
    today = local_today()
    current = P.containing(today, kpi.period_kind)
    wanted = P.last_n(current, HISTORY)
    rows = services.values(db.session, kpi, wanted)
    (summary,) = summaries_of(db.session, [kpi], today)
    last_ended = current.previous()
    run = services.breach_run(db.session, kpi, last_ended)
    defaults = {
        "value_form": ValueForm(period=str(last_ended)),
        "amend_form": AmendForm(),
        "target_form": TargetForm(),
        "breach_form": BreachForm(period=str(last_ended)),
        "reason_form": ReasonForm(),
    }
    defaults.update(forms)
    return (
        render_template(
            "kpis/detail.html",
            kpi=kpi,
            rows=list(reversed(rows)),
            summary=summary,
            breach_run=run,
            last_ended=last_ended,
            breaches=services.breaches_for(db.session, kpi),
            language=current_language(),
            **defaults,
        ),
        status,
    )


@bp.get("/<code>")
def detail(code: str):
    kpi = _load(code)
    return _render_detail(kpi)


def _to_detail(kpi: Kpi):
    return redirect(url_for("kpis.detail", code=kpi.code))


@bp.post("/<code>/values")
def enter_value(code: str):
    kpi = _load(code)
    if not can_enter_value(current_user, kpi):
        abort(403)
    form = ValueForm()

    def act():
        return services.enter_value(
            db.session, current_user, kpi, form.period.data, form.value.data or None
        )

    def done(row):
        flash(_("Value of %(period)s saved.", period=row.period), "success")
        return _to_detail(kpi)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_detail(kpi, status, value_form=form),
    )


@bp.post("/<code>/amendments")
def amend(code: str):
    kpi = _load(code)
    if not can_manage_kpis(current_user):
        abort(403)
    form = AmendForm()

    def act():
        return services.amend_value(
            db.session,
            current_user,
            kpi,
            form.period.data,
            form.value.data or None,
            reason=form.reason.data,
            password=form.password.data,
        )

    def done(_amendment):
        flash(_("The frozen value of %(period)s is amended.", period=form.period.data), "success")
        return _to_detail(kpi)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_detail(kpi, status, amend_form=form),
    )


@bp.post("/<code>/targets")
def targets(code: str):
    kpi = _load(code)
    if not can_manage_kpis(current_user):
        abort(403)
    form = TargetForm()

    def act():
        return services.set_targets(
            db.session,
            current_user,
            kpi,
            [
                {
                    "period": form.period.data,
                    "target": float(form.target.data),
                    "warning": float(form.warning.data) if form.warning.data is not None else None,
                }
            ],
        )

    def done(_targets):
        flash(_("Target saved."), "success")
        return _to_detail(kpi)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_detail(kpi, status, target_form=form),
    )


@bp.post("/<code>/nonconformity")
def raise_nc(code: str):
    kpi = _load(code)
    if not can_manage_kpis(current_user):
        abort(403)
    form = BreachForm()

    def act():
        return services.raise_breach_nc(
            db.session, current_user, kpi, P.parse(form.period.data, kpi.period_kind)
        )

    def done(breach):
        flash(_("Nonconformity %(number)s raised.", number=breach.nc.number), "success")
        return redirect(url_for("capa.detail", number=breach.nc.number))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: _render_detail(kpi, status, breach_form=form),
    )


@bp.route("/close", methods=["GET", "POST"])
def close_period():
    if not can_manage_kpis(current_user):
        abort(403)
    today = local_today()
    form = ClosePeriodForm()
    if not form.is_submitted():
        form.period.data = str(P.containing(today, "month").previous())
    closed = list(
        db.session.scalars(
            db.select(KpiPeriodClose).order_by(KpiPeriodClose.closed_at.desc()).limit(24)
        )
    )

    def act():
        return services.close_period(db.session, current_user, form.period.data)

    def done(closing):
        flash(_("%(period)s is closed; its values are frozen.", period=closing.period), "success")
        return redirect(url_for("kpis.close_period"))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (
            render_template("kpis/close.html", form=form, closed=closed),
            status,
        ),
    )


@bp.route("/import", methods=["GET", "POST"])
def import_values():
    if not can_import_values(current_user):
        abort(403)
    form = ImportForm()

    def act():
        upload = form.file.data
        return services.import_csv(
            db.session,
            current_user,
            upload.read(),
            may_enter=lambda kpi: can_enter_value(current_user, kpi),
        )

    def done(counts):
        flash(
            _(
                "%(rows)s values imported (%(created)s new, %(updated)s replaced).",
                **counts,
            ),
            "success",
        )
        return redirect(url_for("kpis.index"))

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (render_template("kpis/import.html", form=form), status),
    )
