"""Marshmallow schemas of the nonconformity API: input (load) and output (dump)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.capa.models import (
    ACTION_TYPES,
    CAUSE_CATEGORIES,
    SEVERITIES,
    SOURCES,
    STATUSES,
)
from app.capa.rules import KINDS as RULE_KINDS
from app.capa.services import ACTION_FILTERS
from app.extensions import db, local_today
from app.signatures.services import signatures_for


def _username(user) -> str | None:
    return user.username if user is not None else None


# Output -------------------------------------------------------------------------------


class NcLinkSchema(Schema):
    object = fields.String(attribute="object_ref", metadata={"example": "document:QP-CS-001"})
    kind = fields.String()
    number = fields.String(attribute="key")


class NcActionSchema(Schema):
    id = fields.Integer()
    source = fields.Function(
        lambda a: getattr(a, "source", "nonconformity"),
        metadata={"enum": ["nonconformity", "management_review"]},
    )
    reference = fields.Function(
        lambda a: getattr(a, "reference", None) or a.nc.number,
        metadata={"description": "the NC's number, or the review decision's label"},
    )
    nc = fields.Function(lambda a: a.nc.number if getattr(a, "nc", None) else None)
    round = fields.Integer(allow_none=True)
    type = fields.String(metadata={"enum": list(ACTION_TYPES)})
    text = fields.String()
    owner = fields.Function(lambda a: a.owner if isinstance(a.owner, str) else a.owner.username)
    due_date = fields.Date(allow_none=True)
    status = fields.String(metadata={"enum": ["open", "done"]})
    overdue = fields.Function(
        lambda a: a.overdue if hasattr(a, "overdue") else a.is_overdue(local_today())
    )
    evidence = fields.String(allow_none=True)
    done_by = fields.Function(
        lambda a: (
            a.done_by if a.done_by is None or isinstance(a.done_by, str) else a.done_by.username
        )
    )
    done_at = UTCTime()


class NcEffectivenessCheckSchema(Schema):
    outcome = fields.String(metadata={"enum": ["met", "not_met", "unavailable"]})
    evaluated_on = fields.Date()
    window_from = fields.Date()
    evidence = fields.List(fields.Dict(), metadata={"description": "the matching items"})


class NcPlanSchema(Schema):
    round = fields.Integer()
    criterion = fields.String()
    rule = fields.Dict(allow_none=True)
    check_date = fields.Date()
    approved_by = fields.Function(lambda p: p.approved_by.username)
    approved_at = UTCTime()


class NcVerificationSchema(Schema):
    round = fields.Integer()
    effective = fields.Boolean()
    evidence = fields.String()
    verified_by = fields.Function(lambda v: v.verified_by.username)
    verified_at = UTCTime()


class NcSignatureSchema(Schema):
    meaning = fields.String()
    username = fields.String()
    printed_name = fields.String()
    signed_at = UTCTime()
    comment = fields.String(allow_none=True)


class NcAmendmentSchema(Schema):
    text = fields.String()
    reason = fields.String()
    user = fields.Function(lambda a: a.user.username)
    at = UTCTime()


class NcSchema(Schema):
    number = fields.String(metadata={"example": "NC-2026-0001"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    source = fields.String(metadata={"enum": list(SOURCES)})
    severity = fields.String(metadata={"enum": list(SEVERITIES)})
    description = fields.String()
    department = fields.Function(lambda nc: nc.department.code)
    reported_by = fields.Function(lambda nc: nc.reported_by.username)
    reported_at = UTCTime()
    round = fields.Integer()
    closed_at = UTCTime()


class NcDetailSchema(NcSchema):
    containment = fields.Function(
        lambda nc: (
            {
                "text": nc.containment,
                "by": _username(nc.contained_by),
                "at": nc.contained_at.isoformat() if nc.contained_at else None,
            }
            if nc.containment
            else None
        )
    )
    analysis = fields.Function(
        lambda nc: (
            {
                "whys": nc.whys,
                "categories": nc.categories,
                "similar": nc.similar,
                "similar_elsewhere": nc.similar_elsewhere,
                "by": _username(nc.analysed_by),
            }
            if nc.analysed_at
            else None
        )
    )
    actions = fields.List(fields.Nested(NcActionSchema))
    effectiveness = fields.Function(
        lambda nc: (
            {
                **NcPlanSchema().dump(nc.plan),
                "check": NcEffectivenessCheckSchema().dump(nc.check) if nc.check else None,
            }
            if nc.plan
            else None
        ),
        metadata={"description": "the current round's plan and its data-rule check"},
    )
    plans = fields.List(fields.Nested(NcPlanSchema))
    checks = fields.List(fields.Nested(NcEffectivenessCheckSchema))
    verifications = fields.List(fields.Nested(NcVerificationSchema))
    links = fields.List(fields.Nested(NcLinkSchema))
    rejection_reason = fields.String(allow_none=True)
    amendments = fields.List(fields.Nested(NcAmendmentSchema))
    signatures = fields.Function(
        lambda nc: NcSignatureSchema(many=True).dump(signatures_for(db.session, nc.ref))
    )


NcPageSchema = page_schema(NcSchema, "NcPageSchema")
NcActionPageSchema = page_schema(NcActionSchema, "NcActionPageSchema")


# Input --------------------------------------------------------------------------------


class NcListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    department = fields.String(metadata={"description": "department code"})
    source = fields.String(validate=validate.OneOf(list(SOURCES)))
    severity = fields.String(validate=validate.OneOf(list(SEVERITIES)))
    q = fields.String(metadata={"description": "number (with or without NC-) or description"})


class NcInputSchema(Input):
    source = fields.String(load_default="internal", validate=validate.OneOf(list(SOURCES)))
    description = fields.String(required=True)
    department = fields.String(
        load_default=None, metadata={"description": "department code (default: the reporter's)"}
    )
    severity = fields.String(load_default="minor", validate=validate.OneOf(list(SEVERITIES)))
    links = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "document or record numbers (document:… / record:…)"},
    )


class NcContainmentInputSchema(Input):
    text = fields.String(required=True)


class NcAnalysisInputSchema(Input):
    whys = fields.List(fields.String(), load_default=list)
    categories = fields.List(
        fields.String(validate=validate.OneOf(list(CAUSE_CATEGORIES))), load_default=list
    )
    similar = fields.List(
        fields.String(), load_default=list, metadata={"description": "NC numbers"}
    )
    similar_elsewhere = fields.String(load_default=None)


class NcActionInputSchema(Input):
    text = fields.String(required=True)
    owner = fields.String(required=True, metadata={"description": "username"})
    due_date = fields.Date(required=True)
    type = fields.String(required=True, validate=validate.OneOf(list(ACTION_TYPES)))


class NcRuleInputSchema(Input):
    kind = fields.String(required=True, validate=validate.OneOf(list(RULE_KINDS)))
    days = fields.Integer(load_default=None)
    department = fields.String(load_default=None)
    category = fields.String(load_default=None)
    record_type = fields.String(load_default=None)
    field = fields.String(load_default=None)
    value = fields.String(load_default=None)
    kpi = fields.String(load_default=None, metadata={"description": "kpi_threshold: KPI code"})
    threshold = fields.Float(load_default=None, metadata={"description": "kpi_threshold"})


class NcEffectivenessInputSchema(Input):
    criterion = fields.String(required=True)
    check_date = fields.Date(required=True)
    rule = fields.Nested(NcRuleInputSchema, load_default=None, allow_none=True)
    kpi = fields.String(
        load_default=None,
        metadata={
            "description": "KPI code: the KPI must be at or better than `threshold` in every "
            "period of the window up to the check date"
        },
    )
    threshold = fields.Float(load_default=None)


class NcPlanInputSchema(Input):
    actions = fields.List(fields.Nested(NcActionInputSchema), required=True)
    effectiveness = fields.Nested(NcEffectivenessInputSchema, required=True)
    password = fields.String(load_default="")


class NcActionDoneInputSchema(Input):
    evidence = fields.String(required=True)


class NcVerificationInputSchema(Input):
    effective = fields.Boolean(required=True)
    evidence = fields.String(required=True)
    password = fields.String(load_default="")


class NcRejectInputSchema(Input):
    reason = fields.String(required=True)
    password = fields.String(load_default="")


class NcAmendmentInputSchema(Input):
    text = fields.String(required=True)
    reason = fields.String(required=True)


class NcLinkInputSchema(Input):
    link = fields.String(required=True, metadata={"example": "document:QP-CS-001"})


class NcActionListArgs(PageArgs):
    owner = fields.String(load_default="me", metadata={"description": "`me` or a username"})
    status = fields.String(load_default="open", validate=validate.OneOf(list(ACTION_FILTERS)))
