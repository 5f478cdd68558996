"""Retention, legal hold and destruction endpoints (docs/API.md, "Retention")."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import Blueprint, allow, fails, files, page_of
from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.extensions import db, local_today
from app.retention import exports, permissions, services
from app.retention.models import DESTRUCTION_STATUSES, HOLD_KINDS, ITEM_KINDS, METHODS
from app.storage import get_store

# Output -------------------------------------------------------------------------


class DueItemSchema(Schema):
    kind = fields.String(metadata={"enum": list(ITEM_KINDS)})
    ref = fields.String(
        metadata={"example": "record:QP-CS-001-F01-2023-0001", "description": "for `items`"}
    )
    number = fields.String()
    title = fields.String()
    type = fields.String(attribute="type_code")
    created_on = fields.Date()
    ended_on = fields.Date(
        allow_none=True, metadata={"description": "completed / superseded / obsolete"}
    )
    retain_until = fields.Date()
    on_hold = fields.Boolean()
    holds = fields.List(fields.String(), metadata={"description": "the holds blocking it"})
    batch = fields.String(allow_none=True, metadata={"description": "open batch it is in"})


DuePageSchema = page_schema(DueItemSchema, "DuePageSchema")


class HoldSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(HOLD_KINDS)})
    key = fields.String(metadata={"example": "QP-CS-001"})
    reason = fields.String()
    in_force = fields.Boolean()
    placed_by = fields.Function(lambda h: h.placed_by.username)
    placed_at = UTCTime()
    lifted_by = fields.Function(lambda h: h.lifted_by.username if h.lifted_by else None)
    lifted_at = UTCTime()
    lift_reason = fields.String(allow_none=True)


HoldPageSchema = page_schema(HoldSchema, "HoldPageSchema")


class TombstoneSchema(Schema):
    kind = fields.String(metadata={"enum": list(ITEM_KINDS)})
    number = fields.String()
    title = fields.String()
    type = fields.String(attribute="type_code")
    created_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    retain_until = fields.Date()
    sha256 = fields.String(attribute="content_sha256", allow_none=True)
    files = fields.List(fields.Dict(), metadata={"description": "sha256, size, name, removed"})
    destroyed_at = UTCTime()


class DestructionSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"example": "DES-2026-001"})
    status = fields.String(metadata={"enum": list(DESTRUCTION_STATUSES)})
    method = fields.String(metadata={"enum": list(METHODS)})
    note = fields.String(allow_none=True)
    proposed_by = fields.Function(lambda d: d.proposed_by.username)
    proposed_at = UTCTime()
    decided_by = fields.Function(lambda d: d.decided_by.username if d.decided_by else None)
    decided_at = UTCTime()
    witness = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    signature = fields.Function(
        lambda d: (
            {
                "username": d.signature.username,
                "name": d.signature.printed_name,
                "meaning": d.signature.meaning,
                "signed_at": d.signature.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if d.signature
            else None
        )
    )
    items = fields.List(fields.Nested(TombstoneSchema))


class DestructionSummarySchema(DestructionSchema):
    class Meta:
        exclude = ("items",)


DestructionPageSchema = page_schema(DestructionSummarySchema, "DestructionPageSchema")


# Input --------------------------------------------------------------------------
# Values the service checks itself (kind, method, reason, witness …) are passed on as
# given, so that its messages name the problem (e.g. "“burying” is not a method of
# destruction").


class DueArgs(PageArgs):
    kind = fields.String(metadata={"enum": list(ITEM_KINDS)})
    type = fields.String(metadata={"description": "record type or document type code"})


class DestructionListArgs(PageArgs):
    status = fields.String(metadata={"enum": list(DESTRUCTION_STATUSES)})


def _password(description: str = "the caller's password (signature)"):
    return fields.String(
        load_default=None, metadata={"format": "password", "description": description}
    )


class HoldInput(Input):
    kind = fields.String(load_default=None, metadata={"enum": list(HOLD_KINDS)})
    key = fields.String(
        load_default=None,
        metadata={"description": "the record's or document's number, the type's code"},
    )
    reason = fields.String(load_default=None)
    password = _password()


class LiftInput(Input):
    reason = fields.String(load_default=None)
    password = _password()


class ProposalInput(Input):
    items = fields.List(
        fields.String(),
        load_default=None,
        metadata={
            "description": "refs from `GET /retention/due`",
            "example": ["record:QP-CS-001-F01-2023-0001", "revision:QP-CS-001/A0"],
        },
    )
    method = fields.String(load_default=None, metadata={"enum": list(METHODS)})
    note = fields.String(load_default=None)


class ApprovalInput(Input):
    password = _password()
    witness = fields.String(
        load_default=None, metadata={"description": "who witnessed the destruction"}
    )


class RejectionInput(Input):
    reason = fields.String(load_default=None)


# Views --------------------------------------------------------------------------

blp = Blueprint("retention_api", __name__, tag="retention")


@blp.get("/retention/due")
@blp.arguments(DueArgs, location="query")
@blp.response(200, DuePageSchema)
@fails(403)
def retention_due(args):
    """Items whose retention has run out (records, superseded / obsolete revisions)."""
    allow(permissions.can_view_retention(current_user))
    page, per_page = args["page"], args["per_page"]
    result = services.due(
        db.session,
        local_today(),
        kind=args.get("kind") or None,
        type_code=args.get("type") or None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"items": result.items, "page": page, "per_page": per_page, "total": result.total}


@blp.get("/legal-holds")
@blp.arguments(PageArgs, location="query")
@blp.response(200, HoldPageSchema)
@fails(403)
def list_legal_holds(args):
    """Legal holds, those in force first."""
    allow(permissions.can_view_retention(current_user))
    return page_of(services.holds_stmt(), args)


@blp.post("/legal-holds")
@blp.arguments(HoldInput)
@blp.response(201, HoldSchema)
@fails(403)
def place_legal_hold(body):
    """Place a legal hold on a record, a record type or a document (signed)."""
    allow(permissions.can_hold(current_user))
    return services.place_hold(
        db.session, current_user, body["kind"], body["key"], body["reason"], body["password"]
    )


@blp.post("/legal-holds/<id:hold_id>/lift")
@blp.arguments(LiftInput)
@blp.response(200, HoldSchema)
@fails(403, 404, 409)
def lift_legal_hold(body, hold_id: int):
    """Lift a legal hold (signed, with the reason)."""
    allow(permissions.can_hold(current_user))
    hold = services.get_hold(db.session, hold_id)
    return services.lift_hold(db.session, current_user, hold, body["reason"], body["password"])


@blp.get("/destructions")
@blp.arguments(DestructionListArgs, location="query")
@blp.response(200, DestructionPageSchema)
@fails(403)
def list_destructions(args):
    """Destruction batches, newest first."""
    allow(permissions.can_view_retention(current_user))
    return page_of(services.list_destructions(db.session, status=args.get("status")), args)


@blp.post("/destructions")
@blp.arguments(ProposalInput)
@blp.response(201, DestructionSchema)
@fails(403, 409)
def propose_destruction(body):
    """Propose destroying `items` (refs from `GET /retention/due`) by `method` (officers).

    409: an item is not due, on legal hold or in another open batch (`fields` names it)."""
    allow(permissions.can_propose(current_user))
    return services.propose(
        db.session, current_user, body["items"], body["method"], body["note"], today=local_today()
    )


def _batch(key: str):
    allow(permissions.can_view_retention(current_user))
    return services.get_destruction(db.session, key)


@blp.get("/destructions/<key>")
@blp.response(200, DestructionSchema)
@fails(403, 404)
def get_destruction(key: str):
    """One destruction batch (`key`: its id or number) with its items — tombstones once
    approved."""
    return _batch(key)


@blp.post("/destructions/<key>/approve")
@blp.arguments(ApprovalInput)
@blp.response(200, DestructionSchema)
@fails(403, 404, 409)
def approve_destruction(body, key: str):
    """Approve (sign) a proposed destruction: the content is removed, tombstones kept.

    Approvers only, never the proposer. The files go after the request commits."""
    batch = _batch(key)
    allow(permissions.can_decide(current_user))
    services.approve(
        db.session,
        current_user,
        batch,
        body["password"],
        body["witness"],
        today=local_today(),
        store=get_store(current_app),
    )
    return batch


@blp.post("/destructions/<key>/reject")
@blp.arguments(RejectionInput)
@blp.response(200, DestructionSchema)
@fails(403, 404, 409)
def reject_destruction(body, key: str):
    """Reject a proposed destruction, with the reason (approvers)."""
    batch = _batch(key)
    allow(permissions.can_decide(current_user))
    return services.reject(db.session, current_user, batch, body["reason"])


@blp.get("/destructions/<key>/record.pdf")
@files("pdf", description="the destruction record")
@fails(403, 404)
def destruction_record_pdf(key: str):
    """The destruction record as PDF (method, by, witness, signature, tombstones)."""
    return exports.destruction_record_response(_batch(key))
