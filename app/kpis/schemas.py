"""Quality objectives and KPIs in the API: what it answers (dump) and what it takes (load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.kpis.models import DIRECTIONS, PERIOD_KINDS, STATUSES

PERIOD = {"example": "2026-03", "description": "a month (2026-03) or a quarter (2026-Q1)"}


class KpiTargetSchema(Schema):
    period = fields.String(
        metadata={"description": "a period, or a year (2026) for all its periods"}
    )
    target = fields.Float()
    warning = fields.Float(allow_none=True)


class KpiSchema(Schema):
    code = fields.String(metadata={"example": "CS-FCR"})
    name = fields.String()
    name_en = fields.String(allow_none=True)
    unit = fields.String()
    direction = fields.String(metadata={"enum": list(DIRECTIONS)})
    period = fields.String(attribute="period_kind", metadata={"enum": list(PERIOD_KINDS)})
    source = fields.String(metadata={"description": "entered, or a computed source's name"})
    params = fields.Dict()
    department = fields.Function(lambda k: k.department.code if k.department else None)
    objective = fields.Function(lambda k: k.objective_id)
    breach_periods = fields.Integer(
        metadata={"description": "periods below target in a row that raise a nonconformity"}
    )
    targets = fields.List(fields.Nested(KpiTargetSchema))
    active = fields.Boolean(
        attribute="is_active",
        metadata={"description": "false: deactivated (off the dashboard, not computed)"},
    )
    created_at = UTCTime()


KpiPageSchema = page_schema(KpiSchema, "KpiPageSchema")


class ObjectivePlanSchema(Schema):
    what = fields.String()
    resources = fields.String()
    who = fields.String()
    when = fields.String()
    evaluation = fields.String()


class ObjectiveSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    department = fields.Function(lambda o: o.department.code if o.department else None)
    title = fields.String()
    plan = fields.Function(
        lambda o: {k: getattr(o, k) for k in ("what", "resources", "who", "when", "evaluation")}
    )
    kpis = fields.Function(lambda o: [k.code for k in o.kpis])
    active = fields.Boolean(attribute="is_active", metadata={"description": "false: withdrawn"})
    created_at = UTCTime()


ObjectivePageSchema = page_schema(ObjectiveSchema, "ObjectivePageSchema")


class KpiSourceSchema(Schema):
    name = fields.String(metadata={"example": "complaint_first_contact_resolution"})
    title = fields.String()
    unit = fields.String()
    direction = fields.String(metadata={"enum": list(DIRECTIONS)})
    params = fields.List(fields.String())


class KpiSourceListSchema(Schema):
    items = fields.List(fields.Nested(KpiSourceSchema))


class KpiPeriodValueSchema(Schema):
    period = fields.String(metadata=PERIOD)
    value = fields.Float(allow_none=True, metadata={"description": "null: no data"})
    target = fields.Float(allow_none=True)
    warning = fields.Float(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    frozen = fields.Boolean()
    amended = fields.Boolean()


class KpiValuesSchema(Schema):
    code = fields.String()
    items = fields.List(fields.Nested(KpiPeriodValueSchema))


class KpiImportResultSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()


class KpiPeriodCloseSchema(Schema):
    period = fields.String(metadata=PERIOD)
    closed_by = fields.Function(lambda c: c.closed_by.username)
    closed_at = UTCTime()


class KpiBreachSchema(Schema):
    kpi = fields.Function(lambda b: b.kpi.code)
    period = fields.String(metadata=PERIOD)
    periods = fields.Integer()
    nonconformity = fields.Function(lambda b: b.nc.number)


# Input --------------------------------------------------------------------------------


class ObjectiveListArgs(PageArgs):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    department = fields.String(metadata={"description": "department code"})
    withdrawn = fields.Boolean(
        load_default=False, metadata={"description": "true: the withdrawn objectives too"}
    )


class ObjectivePlanInputSchema(Input):
    what = fields.String(required=True)
    resources = fields.String(required=True)
    who = fields.String(required=True)
    when = fields.String(required=True)
    evaluation = fields.String(required=True)


class ObjectiveInputSchema(Input):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    department = fields.String(
        load_default=None, metadata={"description": "department code; none: the organisation"}
    )
    title = fields.String(required=True)
    plan = fields.Nested(ObjectivePlanInputSchema, required=True)
    kpis = fields.List(fields.String(), load_default=list, metadata={"description": "KPI codes"})


class KpiListArgs(PageArgs):
    department = fields.String(metadata={"description": "department code"})
    inactive = fields.Boolean(
        load_default=False, metadata={"description": "true: the inactive KPIs too"}
    )


class KpiTargetInputSchema(Input):
    period = fields.String(required=True, metadata=PERIOD)
    target = fields.Float(required=True)
    warning = fields.Float(load_default=None, allow_none=True)


class KpiInputSchema(Input):
    code = fields.String(required=True, metadata={"example": "CS-FCR"})
    name = fields.String(required=True)
    name_en = fields.String(load_default=None)
    unit = fields.String(load_default="")
    direction = fields.String(required=True, validate=validate.OneOf(list(DIRECTIONS)))
    period = fields.String(required=True, validate=validate.OneOf(list(PERIOD_KINDS)))
    source = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    department = fields.String(load_default=None, metadata={"description": "department code"})
    objective = fields.Integer(load_default=None, strict=True)
    breach_periods = fields.Integer(load_default=None, strict=True)
    targets = fields.List(fields.Nested(KpiTargetInputSchema), load_default=list)


class KpiTargetsInputSchema(Input):
    targets = fields.List(fields.Nested(KpiTargetInputSchema), required=True)


class KpiValuesArgs(Input):
    from_ = fields.String(data_key="from", load_default=None, metadata=PERIOD)
    to = fields.String(load_default=None, metadata=PERIOD)


class KpiValueInputSchema(Input):
    value = fields.Float(required=True, allow_none=True, metadata={"description": "null: no data"})


class KpiAmendmentInputSchema(Input):
    value = fields.Float(required=True, allow_none=True)
    reason = fields.String(required=True)
    password = fields.String(load_default="")


class KpiImportArgs(Input):
    pass


class KpiBreachInputSchema(Input):
    period = fields.String(required=True, metadata=PERIOD)


class ObjectivePlanPatchSchema(Input):
    what = fields.String()
    resources = fields.String()
    who = fields.String()
    when = fields.String()
    evaluation = fields.String()


class ObjectivePatchSchema(Input):
    """Only the fields given change (the plan's too); the year and the KPIs do not change
    here (a KPI names its objective: PATCH /kpis/{code})."""

    title = fields.String()
    department = fields.String(
        allow_none=True, metadata={"description": "department code; null: the organisation"}
    )
    plan = fields.Nested(ObjectivePlanPatchSchema)


class ReasonInputSchema(Input):
    reason = fields.String(required=True)


NOT_EDITABLE = {"description": "not editable: 400 when it differs (define a new KPI)"}


class KpiPatchSchema(Input):
    """Only the fields given change. ``code``, ``period`` and ``source`` define the KPI's
    history and cannot change."""

    name = fields.String()
    name_en = fields.String(allow_none=True)
    unit = fields.String()
    direction = fields.String(validate=validate.OneOf(list(DIRECTIONS)))
    params = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "the computed source's parameters (replaced as a whole)"},
    )
    department = fields.String(
        allow_none=True, metadata={"description": "department code; null: the organisation"}
    )
    objective = fields.Integer(
        allow_none=True, strict=True, metadata={"description": "an active objective's id"}
    )
    breach_periods = fields.Integer(strict=True)
    code = fields.String(metadata=NOT_EDITABLE)
    period = fields.String(metadata=NOT_EDITABLE)
    source = fields.String(metadata=NOT_EDITABLE)
