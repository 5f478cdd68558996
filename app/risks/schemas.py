"""The risk-point register in the API: what it answers (dump) and what it takes (load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.extensions import local_today
from app.risks.models import BANDS

LEVEL = {"minimum": 1, "maximum": 5}


class RiskReviewSchema(Schema):
    reviewed_on = fields.Date()
    reviewer = fields.Function(lambda r: r.reviewer.username)
    notes = fields.String()
    previous_review_date = fields.Date(metadata={"description": "the review date that was due"})
    next_review_date = fields.Date()
    recorded_at = UTCTime()


class RiskLinkSchema(Schema):
    object = fields.String(
        attribute="object_ref", metadata={"example": "nonconformity:NC-2026-0001"}
    )
    created_by = fields.Function(lambda r: r.created_by.username if r.created_by else None)
    created_at = UTCTime()


class RiskPointSchema(Schema):
    number = fields.String(metadata={"example": "RP-001"})
    process = fields.String()
    department = fields.Function(lambda r: r.department.code)
    cause = fields.String()
    consequence = fields.String()
    likelihood = fields.Integer(metadata=LEVEL)
    severity = fields.Integer(metadata=LEVEL)
    score = fields.Integer(metadata={"description": "likelihood × severity", "example": 12})
    band = fields.String(metadata={"enum": list(BANDS)})
    controls = fields.String()
    owner = fields.Function(lambda r: r.owner.username)
    review_date = fields.Date(metadata={"description": "the next periodic review"})
    review_due = fields.Function(lambda r: r.is_review_due(local_today()))
    last_reviewed_on = fields.Date(allow_none=True)
    hits = fields.Integer(metadata={"description": "distinct objects linked to it"})
    created_by = fields.Function(lambda r: r.created_by.username if r.created_by else None)
    created_at = UTCTime()
    updated_at = UTCTime()


class RiskPointDetailSchema(RiskPointSchema):
    reviews = fields.List(fields.Nested(RiskReviewSchema))
    links = fields.List(fields.Nested(RiskLinkSchema))


RiskPointPageSchema = page_schema(RiskPointSchema, "RiskPointPageSchema")


class HeatMapCellSchema(Schema):
    likelihood = fields.Integer(metadata=LEVEL)
    severity = fields.Integer(metadata=LEVEL)
    score = fields.Integer()
    band = fields.String(metadata={"enum": list(BANDS)})
    count = fields.Integer()


class HeatMapSchema(Schema):
    cells = fields.List(fields.Nested(HeatMapCellSchema))
    total = fields.Integer()


# Input --------------------------------------------------------------------------


class RiskFilterArgs(Input):
    department = fields.String(metadata={"description": "department code"})
    process = fields.String(metadata={"description": "part of the process name"})
    band = fields.String(validate=validate.OneOf(list(BANDS)))
    due = fields.Boolean(
        load_default=False, metadata={"description": "only those whose review is due"}
    )
    q = fields.String(metadata={"description": "number, process, cause or consequence"})


class RiskListArgs(PageArgs, RiskFilterArgs):
    likelihood = fields.Integer(metadata=LEVEL)
    severity = fields.Integer(metadata=LEVEL)


class RiskPointInputSchema(Input):
    process = fields.String(required=True, metadata={"example": "热线受理"})
    department = fields.String(required=True, metadata={"description": "department code"})
    cause = fields.String(required=True)
    consequence = fields.String(required=True)
    # 1 to 5, checked by the service: a 400 whose message names the field in words
    likelihood = fields.Integer(required=True, strict=True, metadata=LEVEL)
    severity = fields.Integer(required=True, strict=True, metadata=LEVEL)
    controls = fields.String(required=True)
    owner = fields.String(
        load_default=None, metadata={"description": "username; default: the caller"}
    )
    review_date = fields.Date(
        load_default=None, metadata={"description": "default: twelve months from today"}
    )


class RiskPointPatchSchema(Input):
    """Only the fields given change; ``reason`` is required."""

    reason = fields.String(required=True)
    process = fields.String()
    department = fields.String(metadata={"description": "department code"})
    cause = fields.String()
    consequence = fields.String()
    likelihood = fields.Integer(strict=True, metadata=LEVEL)
    severity = fields.Integer(strict=True, metadata=LEVEL)
    controls = fields.String()
    owner = fields.String(metadata={"description": "username"})
    review_date = fields.Date()


class RiskReviewInputSchema(Input):
    notes = fields.String(required=True, metadata={"description": "what the review found"})
    next_review_date = fields.Date(
        load_default=None, metadata={"description": "default: twelve months after the review"}
    )
    reviewed_on = fields.Date(load_default=None, metadata={"description": "default: today"})


class RiskLinkInputSchema(Input):
    object = fields.String(
        required=True,
        metadata={"description": "kind:number", "example": "document:QP-CS-001"},
    )
