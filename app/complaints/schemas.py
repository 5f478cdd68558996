"""Marshmallow schemas of the complaints API: input (load) and output (dump).

Personal data (the customer's name and contact) is dumped only for those who may see it
(``permissions.can_see_personal_data``); others get it masked.
"""

from __future__ import annotations

from datetime import UTC

from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.complaints import permissions as perm
from app.complaints.models import CHANNELS, STATUSES, STEPS
from app.complaints.services import clock_view, missing_steps


def _username(user) -> str | None:
    return user.username if user is not None else None


def customer(c) -> dict:
    """The customer as the reader may see them."""
    if perm.can_see_personal_data(current_user, c):
        return {"name": c.customer_name, "contact": c.customer_contact, "masked": False}
    return {"name": perm.mask_name(c.customer_name), "contact": perm.MASK, "masked": True}


# Output -------------------------------------------------------------------------------


def _z(moment) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def clocks_json(c) -> list[dict]:
    """The case's clocks as plain JSON values (a list shows 50 cases × 3 clocks: built
    directly, not through a nested schema, which cost a third of the list's time)."""
    return [{**k, "due_at": _z(k["due_at"]), "done_at": _z(k["done_at"])} for k in clock_view(c)]


class ComplaintCustomerSchema(Schema):
    name = fields.String()
    contact = fields.String()
    masked = fields.Boolean(metadata={"description": "true when hidden from this reader"})


class ComplaintStepSchema(Schema):
    id = fields.Integer()
    step = fields.String(metadata={"enum": list(STEPS)})
    round = fields.Integer()
    in_progress = fields.Boolean()
    at = UTCTime()
    by = fields.Function(lambda s: s.user.username)
    note = fields.String()
    value = fields.Decimal(as_string=True, allow_none=True)
    approval = fields.String(metadata={"enum": ["not_needed", "pending", "approved"]})
    approved_by = fields.Function(lambda s: _username(s.approved_by))
    approved_at = UTCTime()
    satisfaction = fields.Integer(allow_none=True)


class ComplaintSchema(Schema):
    number = fields.String(metadata={"example": "CMP-2026-00001"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    channel = fields.String(metadata={"enum": list(CHANNELS)})
    category = fields.Function(lambda c: c.category.code)
    department = fields.Function(lambda c: c.department.code)
    site = fields.String()
    customer = fields.Function(customer, metadata={"description": "name, contact, masked"})
    request = fields.String()
    handler = fields.Function(lambda c: _username(c.handler))
    received_at = UTCTime()
    breached = fields.Boolean()
    repeat = fields.Boolean(attribute="is_repeat")
    nonconformity = fields.String(attribute="nc_number", allow_none=True)
    clocks = fields.Function(
        lambda c: clocks_json(c),
        metadata={
            "description": "each commitment: step, within_hours, due_at, done_at, met "
            "(true/false, null while pending), seconds_left (while pending)"
        },
    )


class ComplaintDetailSchema(ComplaintSchema):
    commitment = fields.String()
    received_by = fields.Function(lambda c: c.received_by.username)
    resolved_at = UTCTime()
    closed_at = UTCTime()
    close_reason = fields.String(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    first_contact_resolution = fields.Boolean(attribute="first_contact")
    reopened = fields.Integer()
    repeat_of = fields.Function(lambda c: c.repeat_of.number if c.repeat_of else None)
    steps = fields.List(fields.Nested(ComplaintStepSchema))
    missing_steps = fields.Function(missing_steps)


class ComplaintCategoryClockSchema(Schema):
    step = fields.String(metadata={"enum": list(STEPS)})
    within_hours = fields.Integer()


class ComplaintCategorySchema(Schema):
    code = fields.String(metadata={"example": "SERVICE"})
    name = fields.String(attribute="name_zh")
    name_en = fields.String()
    active = fields.Boolean(attribute="is_active")
    clocks = fields.List(fields.Nested(ComplaintCategoryClockSchema))


class ComplaintCategoryListSchema(Schema):
    items = fields.List(fields.Nested(ComplaintCategorySchema))


ComplaintPageSchema = page_schema(ComplaintSchema, "ComplaintPageSchema")


# Input --------------------------------------------------------------------------------


class ComplaintListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    category = fields.String(metadata={"description": "category code"})
    channel = fields.String(validate=validate.OneOf(list(CHANNELS)))
    department = fields.String(metadata={"description": "department code"})
    breached = fields.Boolean()
    received_from = fields.Date(data_key="from", metadata={"description": "received on or after"})
    received_to = fields.Date(data_key="to", metadata={"description": "received on or before"})


class ComplaintExportArgs(ComplaintListArgs):
    pass


class ComplaintCustomerInputSchema(Input):
    name = fields.String(required=True, validate=validate.Length(max=200))
    contact = fields.String(load_default="", validate=validate.Length(max=200))


class ComplaintInputSchema(Input):
    channel = fields.String(load_default="hotline", validate=validate.OneOf(list(CHANNELS)))
    category = fields.String(required=True, metadata={"description": "category code"})
    customer = fields.Nested(ComplaintCustomerInputSchema, required=True)
    department = fields.String(
        load_default=None, metadata={"description": "handling department (default: yours)"}
    )
    site = fields.String(load_default="", validate=validate.Length(max=200))
    commitment = fields.String(load_default="", metadata={"description": "commitment concerned"})
    request = fields.String(required=True, metadata={"description": "what the customer asks for"})
    received_at = fields.AwareDateTime(load_default=None, default_timezone=None)
    handler = fields.String(
        load_default=None, metadata={"description": "username (default: the department head)"}
    )


class ComplaintStepInputSchema(Input):
    step = fields.String(required=True, validate=validate.OneOf(list(STEPS)))
    note = fields.String(load_default="")
    at = fields.AwareDateTime(load_default=None)
    value = fields.Decimal(load_default=None, allow_nan=False, as_string=True)
    satisfaction = fields.Integer(load_default=None, validate=validate.Range(1, 5))
    done = fields.Boolean(
        load_default=True, metadata={"description": "restoration: false while under way"}
    )


class ComplaintCloseInputSchema(Input):
    reason = fields.String(load_default=None)


class ComplaintReasonInputSchema(Input):
    reason = fields.String(load_default=None)


class ComplaintReopenInputSchema(Input):
    reason = fields.String(required=True)


class ComplaintApproveInputSchema(Input):
    password = fields.String(load_default="")


class ComplaintOpenNcInputSchema(Input):
    description = fields.String(load_default=None)
    severity = fields.String(load_default="minor", validate=validate.OneOf(["major", "minor"]))


class ComplaintClockInputSchema(Input):
    step = fields.String(required=True, validate=validate.OneOf(list(STEPS)))
    within_hours = fields.Integer(required=True, validate=validate.Range(1, 24 * 366))


class ComplaintCategoryInputSchema(Input):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(load_default=None)
    clocks = fields.List(fields.Nested(ComplaintClockInputSchema), load_default=list)
    active = fields.Boolean(load_default=True)
