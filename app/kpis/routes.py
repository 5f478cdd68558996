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
    KpiForm,
    ObjectiveForm,
    TargetForm,
    ValueForm,
)
from app.kpis.models import DIRECTIONS, PERIOD_KINDS, STATUSES, Kpi, KpiPeriodClose
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


@bp.get("")
def index():
    """The dashboard: each KPI (of a department, or all) with its status and trend over
    the last 12 periods; ``?format=pdf`` is the KPI report with the same charts."""
    dept = _department_arg()
    kpis = list(db.session.scalars(services.kpis_stmt(dept).where(Kpi.is_active.is_(True))))
    pdf = request.args.get("format") == "pdf"
    # the page may show values of a moment ago while they are recomputed; the report not
    summaries = summaries_of(db.session, kpis, local_today(), stale_ok=not pdf)
    if pdf:
        return exports.report_response(summaries, title=_("KPI report"), subtitle=_subtitle(dept))
    counts = {key: 0 for key in STATUSES}
    for s in summaries:
        counts[s.status] += 1
    return render_template(
        "kpis/index.html",
        summaries=summaries,
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
    items = list(db.session.scalars(services.objectives_stmt(year, dept)))
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
        departments=department_choices(blank=False),
    )


def _owner_name(objective, language: str) -> str:
    return objective.department.name_in(language) if objective.department else _("Organisation")


def _objective_choices() -> list[SelectChoice]:
    language = current_language()
    objectives = db.session.scalars(services.objectives_stmt(local_today().year))
    return [SelectChoice("", "—")] + [
        SelectChoice(str(o.id), f"{o.year} {_owner_name(o, language)} · {o.title}")
        for o in objectives
    ]


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
        source = S.SOURCES.get(form.source.data)
        params = {}
        for key in ("record_type", "field", "category", "step"):
            value = (getattr(form, key).data or "").strip()
            if value and source is not None and key in source.params:
                params[key] = value
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
