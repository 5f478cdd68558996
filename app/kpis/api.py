"""Quality objectives and KPIs in the JSON API."""

from __future__ import annotations

from flask import request
from flask_babel import gettext
from flask_login import current_user

from app.api import Blueprint, allow, fails, page_of, upload_doc
from app.errors import N_, ValidationFailed
from app.extensions import db, local_today
from app.kpis import periods as P
from app.kpis import services
from app.kpis import sources as S
from app.kpis.permissions import (
    can_enter_value,
    can_import_values,
    can_manage_kpis,
    can_view_kpis,
)
from app.kpis.schemas import (
    KpiAmendmentInputSchema,
    KpiBreachInputSchema,
    KpiBreachSchema,
    KpiImportArgs,
    KpiImportResultSchema,
    KpiInputSchema,
    KpiListArgs,
    KpiPageSchema,
    KpiPatchSchema,
    KpiPeriodCloseSchema,
    KpiSchema,
    KpiSourceListSchema,
    KpiTargetsInputSchema,
    KpiValueInputSchema,
    KpiValuesArgs,
    KpiValuesSchema,
    ObjectiveInputSchema,
    ObjectiveListArgs,
    ObjectivePageSchema,
    ObjectivePatchSchema,
    ObjectiveSchema,
    ReasonInputSchema,
)

blp = Blueprint("kpis_api", __name__, tag="quality objectives and KPIs")

MAX_VALUE_PERIODS = 240


def _kpi(code: str):
    return services.get_kpi(db.session, code)


@blp.get("/objectives")
@blp.arguments(ObjectiveListArgs, location="query")
@blp.response(200, ObjectivePageSchema)
def list_objectives(args):
    """The quality objectives, newest year first (filter by `year`, `department`)."""
    allow(can_view_kpis(current_user))
    dept = services.department_by_code(db.session, args.get("department"))
    return page_of(
        services.objectives_stmt(args.get("year"), dept, include_withdrawn=args["withdrawn"]),
        args,
    )


@blp.post("/objectives")
@blp.arguments(ObjectiveInputSchema)
@blp.response(201, ObjectiveSchema)
@fails(403)
def create_objective(body):
    """Set a quality objective of a year, for a department (or the organisation), with
    its ISO 9001 6.2.2 plan and the KPIs (codes) that measure it (officers)."""
    allow(can_manage_kpis(current_user))
    return services.create_objective(
        db.session,
        current_user,
        year=body["year"],
        department=services.department_by_code(db.session, body["department"]),
        title=body["title"],
        plan=body["plan"],
        kpis=body["kpis"],
    )


@blp.patch("/objectives/<int:objective_id>")
@blp.arguments(ObjectivePatchSchema)
@blp.response(200, ObjectiveSchema)
@fails(403, 404)
def update_objective(body, objective_id: int):
    """Change an objective's title, department or plan: only the fields given (audited
    with before and after). Its year stays (officers)."""
    allow(can_manage_kpis(current_user))
    objective = services.get_objective(db.session, objective_id)
    plan = {key: getattr(objective, key) for key in services.PLAN_FIELDS}
    plan.update(body.get("plan") or {})
    department = (
        services.department_by_code(db.session, body["department"])
        if "department" in body
        else objective.department
    )
    return services.update_objective(
        db.session,
        current_user,
        objective,
        title=body.get("title", objective.title),
        department=department,
        plan=plan,
    )


@blp.post("/objectives/<int:objective_id>/withdraw")
@blp.arguments(ReasonInputSchema)
@blp.response(200, ObjectiveSchema)
@fails(403, 404, 409)
def withdraw_objective(body, objective_id: int):
    """Withdraw an objective, with a `reason`: it leaves the default list and is not
    offered to KPIs; its history stays. 409: withdrawn already (officers)."""
    allow(can_manage_kpis(current_user))
    objective = services.get_objective(db.session, objective_id)
    return services.withdraw_objective(db.session, current_user, objective, reason=body["reason"])


@blp.post("/objectives/<int:objective_id>/reinstate")
@blp.arguments(ReasonInputSchema)
@blp.response(200, ObjectiveSchema)
@fails(403, 404, 409)
def reinstate_objective(body, objective_id: int):
    """Make a withdrawn objective active again, with a `reason`. 409: active already
    (officers)."""
    allow(can_manage_kpis(current_user))
    objective = services.get_objective(db.session, objective_id)
    return services.reinstate_objective(db.session, current_user, objective, reason=body["reason"])


@blp.get("/kpis")
@blp.arguments(KpiListArgs, location="query")
@blp.response(200, KpiPageSchema)
def list_kpis(args):
    """The KPIs by code (filter by `department`)."""
    allow(can_view_kpis(current_user))
    dept = services.department_by_code(db.session, args.get("department"))
    return page_of(services.kpis_stmt(dept, include_inactive=args["inactive"]), args)


@blp.post("/kpis")
@blp.arguments(KpiInputSchema)
@blp.response(201, KpiSchema)
@fails(403, 409)
def create_kpi(body):
    """Define a KPI: `source` is `entered` or a computed source (`GET /kpi-sources`);
    `targets` per period (or per year, `2026`). 409: the code is taken (officers)."""
    allow(can_manage_kpis(current_user))
    objective = services.get_objective(db.session, body["objective"]) if body["objective"] else None
    return services.create_kpi(
        db.session,
        current_user,
        code=body["code"],
        name=body["name"],
        name_en=body["name_en"],
        unit=body["unit"],
        direction=body["direction"],
        period_kind=body["period"],
        source=body["source"],
        params=body["params"],
        department=services.department_by_code(db.session, body["department"]),
        objective=objective,
        targets=body["targets"],
        breach_periods=body["breach_periods"],
    )


@blp.get("/kpi-sources")
@blp.response(200, KpiSourceListSchema)
def list_kpi_sources():
    """The computed sources a KPI may use, with their unit and the parameters they take."""
    allow(can_view_kpis(current_user))
    return {
        "items": [
            {
                "name": s.name,
                "title": gettext(s.title),
                "unit": s.unit,
                "direction": s.direction,
                "params": list(s.params),
            }
            for s in S.SOURCES.values()
        ]
    }


@blp.get("/kpis/<code>")
@blp.response(200, KpiSchema)
@fails(404)
def get_kpi(code: str):
    """One KPI with its targets."""
    allow(can_view_kpis(current_user))
    return _kpi(code)


@blp.patch("/kpis/<code>")
@blp.arguments(KpiPatchSchema)
@blp.response(200, KpiSchema)
@fails(403, 404)
def update_kpi(body, code: str):
    """Change a KPI's names, unit, direction, source `params`, department, objective or
    `breach_periods`: only the fields given (audited with before and after). `code`,
    `period` and `source` cannot change (400). New parameters change the live values of
    open periods only; frozen values stay (officers)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    fixed = {"code": kpi.code, "period": kpi.period_kind, "source": kpi.source}
    for key, value in fixed.items():
        given = body.get(key)
        if given is not None and given.strip() != value and given.strip().upper() != value:
            raise ValidationFailed(
                N_("The code, period and source of a KPI cannot be changed: define a new KPI."),
                fields={key: N_("not editable")},
            )
    if "objective" in body:
        objective = (
            services.get_objective(db.session, body["objective"]) if body["objective"] else None
        )
    else:
        objective = kpi.objective
    department = (
        services.department_by_code(db.session, body["department"])
        if "department" in body
        else kpi.department
    )
    return services.update_kpi(
        db.session,
        current_user,
        kpi,
        name=body.get("name", kpi.name),
        name_en=body.get("name_en", kpi.name_en),
        unit=body.get("unit", kpi.unit),
        direction=body.get("direction", kpi.direction),
        department=department,
        objective=objective,
        breach_periods=body.get("breach_periods", kpi.breach_periods),
        params=body.get("params", kpi.params),
    )


@blp.post("/kpis/<code>/deactivate")
@blp.arguments(ReasonInputSchema)
@blp.response(200, KpiSchema)
@fails(403, 404, 409)
def deactivate_kpi(body, code: str):
    """Deactivate a KPI, with a `reason`: it leaves the dashboard, is not computed when a
    period is closed nor checked for runs below target; its values stay readable. 409:
    inactive already, or deactivated twice at once (officers)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    return services.deactivate_kpi(db.session, current_user, kpi, reason=body["reason"])


@blp.post("/kpis/<code>/reactivate")
@blp.arguments(ReasonInputSchema)
@blp.response(200, KpiSchema)
@fails(403, 404, 409)
def reactivate_kpi(body, code: str):
    """Make an inactive KPI active again, with a `reason`. 409: active already
    (officers)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    return services.reactivate_kpi(db.session, current_user, kpi, reason=body["reason"])


@blp.put("/kpis/<code>/targets")
@blp.arguments(KpiTargetsInputSchema)
@blp.response(200, KpiSchema)
@fails(403, 404)
def set_kpi_targets(body, code: str):
    """Set the target and warning of periods (or years) (officers)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    services.set_targets(db.session, current_user, kpi, body["targets"])
    return kpi


@blp.get("/kpis/<code>/values")
@blp.arguments(KpiValuesArgs, location="query")
@blp.response(200, KpiValuesSchema)
@fails(404)
def get_kpi_values(args, code: str):
    """The values per period from `from` to `to` (default: the last 12 periods), with
    target, status (`green`, `amber`, `red`, `none`: no data or no target) and whether the
    period is frozen. Computed values of open periods are live."""
    kpi = _kpi(code)
    allow(can_view_kpis(current_user))
    last = (
        P.parse(args["to"], kpi.period_kind, "to")
        if args["to"]
        else P.containing(local_today(), kpi.period_kind)
    )
    first = (
        P.parse(args["from_"], kpi.period_kind, "from") if args["from_"] else P.last_n(last, 12)[0]
    )
    wanted = P.between(first, last)
    if len(wanted) > MAX_VALUE_PERIODS:
        raise ValidationFailed(
            N_("At most %(max)s periods at a time."),
            fields={"from": N_("invalid")},
            max=MAX_VALUE_PERIODS,
        )
    return {"code": kpi.code, "items": services.values(db.session, kpi, wanted)}


@blp.put("/kpis/<code>/values/<period>")
@blp.arguments(KpiValueInputSchema)
@blp.response(200, KpiValuesSchema)
@fails(403, 404, 409)
def put_kpi_value(body, code: str, period: str):
    """Enter the value of an entered KPI for an open period (null: no data). 409: the
    period is closed (amend it instead). Officers, and the head of the KPI's department."""
    kpi = _kpi(code)
    allow(
        can_enter_value(current_user, kpi) or (can_manage_kpis(current_user) and not kpi.is_entered)
    )
    row = services.enter_value(db.session, current_user, kpi, period, body["value"])
    p = P.parse(row.period)
    return {"code": kpi.code, "items": services.values(db.session, kpi, [p])}


@blp.post("/kpis/<code>/values/<period>/amendments")
@blp.arguments(KpiAmendmentInputSchema)
@blp.response(201, KpiValuesSchema)
@fails(403, 404, 409)
def amend_kpi_value(body, code: str, period: str):
    """Amend a frozen value with a reason, signed with the password (officers). 409: the
    period is open (enter the value instead)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    services.amend_value(
        db.session,
        current_user,
        kpi,
        period,
        body["value"],
        reason=body["reason"],
        password=body["password"],
    )
    return {"code": kpi.code, "items": services.values(db.session, kpi, [P.parse(period)])}


@blp.post("/kpi-periods/<period>/close")
@blp.response(201, KpiPeriodCloseSchema)
@fails(403, 409)
def close_kpi_period(period: str):
    """Close a period that has ended: every KPI of its kind gets its value stored (the
    computed ones computed now) and frozen. 409: already closed (officers)."""
    allow(can_manage_kpis(current_user))
    return services.close_period(db.session, current_user, period)


@blp.post("/kpis/import")
@blp.arguments(KpiImportArgs, location="json_or_form")
@blp.response(201, KpiImportResultSchema)
@upload_doc(KpiImportArgs, required=True)
@fails(403)
def import_kpi_values(body):
    """Import entered values from a .csv file of `code,period,value` rows (a header row
    is allowed): all rows or none; a bad row is a 400 naming its line. Officers, and
    department heads for their department's entered KPIs."""
    allow(can_import_values(current_user))
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
    return services.import_csv(
        db.session,
        current_user,
        upload.read(),
        may_enter=lambda kpi: can_enter_value(current_user, kpi),
    )


@blp.post("/kpis/<code>/nonconformities")
@blp.arguments(KpiBreachInputSchema)
@blp.response(201, KpiBreachSchema)
@fails(403, 404, 409)
def raise_kpi_nc(body, code: str):
    """Raise a nonconformity (source `kpi`) for the KPI below target in each of its last
    `breach_periods` periods up to `period`; linked both ways. 409: already raised for
    this run (officers)."""
    kpi = _kpi(code)
    allow(can_manage_kpis(current_user))
    return services.raise_breach_nc(
        db.session, current_user, kpi, P.parse(body["period"], kpi.period_kind)
    )
