"""Marshmallow schemas of the management-review API: input (load) and output (dump)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.extensions import local_today
from app.reviews.models import CATEGORIES, STATUSES
from app.reviews.services import ACTION_FILTERS


def _username(user) -> str | None:
    return user.username if user is not None else None


class ManagementReviewDecisionSchema(Schema):
    """A decision of the review and its action (one object: the output of 9.3.3)."""

    id = fields.Integer()
    label = fields.String(metadata={"example": "MR-2026-01-D01"})
    review = fields.Function(lambda d: d.review.number)
    text = fields.String()
    category = fields.String(metadata={"enum": list(CATEGORIES)})
    owner = fields.Function(lambda d: _username(d.owner))
    due_date = fields.Date(allow_none=True)
    status = fields.String(metadata={"enum": ["open", "done"]})
    overdue = fields.Function(lambda d: d.is_overdue(local_today()))
    evidence = fields.String(allow_none=True)
    done_by = fields.Function(lambda d: _username(d.done_by))
    done_at = UTCTime()


class ManagementReviewAttendeeSchema(Schema):
    username = fields.Function(lambda a: a.user.username)
    name = fields.Function(lambda a: a.user.full_name)
    signed = fields.Function(lambda a: a.signature_id is not None)


class ManagementReviewAmendmentSchema(Schema):
    text = fields.String()
    reason = fields.String()
    username = fields.Function(lambda a: a.user.username)
    at = UTCTime()


class ManagementReviewSchema(Schema):
    number = fields.String(metadata={"example": "MR-2026-01"})
    period_start = fields.Date()
    period_end = fields.Date()
    planned_date = fields.Date()
    chair = fields.Function(lambda r: r.chair.username)
    status = fields.String(metadata={"enum": list(STATUSES)})
    compiled_at = UTCTime()
    approved_at = UTCTime()
    closed_at = UTCTime()


class ManagementReviewDetailSchema(ManagementReviewSchema):
    inputs = fields.Function(
        lambda r: r.snapshot.content["sections"] if r.snapshot else [],
        metadata={
            "description": 'sections, each {"key", "clause" ("9.3.2 a" … "9.3.2 f", "7.5" for '
            'document control), "title", "figures", "tables", "charts", "text", "note"}'
        },
    )
    sha256 = fields.Function(lambda r: r.snapshot.sha256 if r.snapshot else None)
    snapshot = fields.Function(lambda r: r.snapshot.version if r.snapshot else None)
    snapshots = fields.Function(
        lambda r: [{"version": s.version, "sha256": s.sha256} for s in r.snapshots]
    )
    previous_period = fields.Function(
        lambda r: r.snapshot.content.get("previous_period") if r.snapshot else None
    )
    narratives = fields.Dict(keys=fields.String(), values=fields.String())
    external_issues = fields.String(allow_none=True)
    resources = fields.String(allow_none=True)
    attendees = fields.List(fields.Nested(ManagementReviewAttendeeSchema))
    decisions = fields.List(fields.Nested(ManagementReviewDecisionSchema))
    amendments = fields.List(fields.Nested(ManagementReviewAmendmentSchema))
    minutes_signed_by = fields.Function(
        lambda r: r.minutes_signature.username if r.minutes_signature else None
    )
    report_sha256 = fields.String(allow_none=True)


ManagementReviewPageSchema = page_schema(ManagementReviewSchema, "ManagementReviewPageSchema")
ManagementReviewActionPageSchema = page_schema(
    ManagementReviewDecisionSchema, "ManagementReviewActionPageSchema"
)


# Input ----------------------------------------------------------------------------------


class ManagementReviewInputSchema(Input):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    planned_date = fields.Date(required=True)
    chair = fields.String(required=True, metadata={"description": "username (top management)"})


class ManagementReviewCompileInputSchema(Input):
    recompile = fields.Boolean(
        load_default=False,
        metadata={"description": "compile again before the meeting (a new snapshot)"},
    )


class ManagementReviewPatchSchema(Input):
    narratives = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=None,
        metadata={"description": "by input key: a, b, c1 … c7, d, e, f, document_control"},
    )
    attendees = fields.List(
        fields.String(), load_default=None, metadata={"description": "usernames"}
    )
    external_issues = fields.String(load_default=None)
    resources = fields.String(load_default=None)


class ManagementReviewDecisionInputSchema(Input):
    text = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    owner = fields.String(load_default=None, metadata={"description": "username"})
    due_date = fields.Date(load_default=None)


class ManagementReviewDecisionPatchSchema(Input):
    owner = fields.String(required=True, metadata={"description": "username"})
    due_date = fields.Date(required=True)
    reason = fields.String(
        load_default=None, metadata={"description": "required once the minutes are approved"}
    )


class ManagementReviewTransitionInputSchema(Input):
    password = fields.String(load_default="", metadata={"description": "approve: the chair's"})


class ManagementReviewAmendmentInputSchema(Input):
    text = fields.String(required=True)
    reason = fields.String(required=True)


class ManagementReviewActionDoneInputSchema(Input):
    evidence = fields.String(required=True)


class ManagementReviewListArgs(PageArgs):
    year = fields.Integer(load_default=None, validate=validate.Range(min=1900, max=9999))
    status = fields.String(load_default=None, validate=validate.OneOf(list(STATUSES)))


class ManagementReviewActionListArgs(PageArgs):
    status = fields.String(load_default="open", validate=validate.OneOf(list(ACTION_FILTERS)))


ACTION_NAMES = ["hold", "approve", "close"]
