"""Retention, legal hold and destruction endpoints (API.md "Records, retention")."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import bp, paginate, query_int
from app.api.inputs import allow, body, text
from app.api.schemas import PageSchema, UTCTime
from app.extensions import db, local_today
from app.retention import exports, permissions, services
from app.storage import get_store


class DueItemSchema(Schema):
    kind = fields.String(metadata={"enum": ["record", "revision"]})
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


class DuePageSchema(PageSchema):
    items = fields.List(fields.Nested(DueItemSchema))


class HoldSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": ["record", "record_type", "document"]})
    key = fields.String(metadata={"example": "QP-CS-001"})
    reason = fields.String()
    in_force = fields.Boolean()
    placed_by = fields.Function(lambda h: h.placed_by.username)
    placed_at = UTCTime()
    lifted_by = fields.Function(lambda h: h.lifted_by.username if h.lifted_by else None)
    lifted_at = UTCTime()
    lift_reason = fields.String(allow_none=True)


class HoldPageSchema(PageSchema):
    items = fields.List(fields.Nested(HoldSchema))


class TombstoneSchema(Schema):
    kind = fields.String(metadata={"enum": ["record", "revision"]})
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
    status = fields.String(metadata={"enum": ["proposed", "approved", "rejected"]})
    method = fields.String()
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


class DestructionPageSchema(PageSchema):
    items = fields.List(fields.Nested(DestructionSummarySchema))


@bp.get("/retention/due")
def retention_due():
    """Items whose retention has run out (records, superseded / obsolete revisions).
    ---
    get:
      tags: [retention]
      parameters:
        - {in: query, name: kind, schema: {type: string, enum: [record, revision]}}
        - {in: query, name: type, schema: {type: string}, description: record type or document type code}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: DuePageSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
    """  # noqa: E501
    allow(permissions.can_view_retention(current_user))
    page = query_int("page", 1)
    per_page = query_int("per_page", 50, maximum=200)
    result = services.due(
        db.session,
        local_today(),
        kind=request.args.get("kind") or None,
        type_code=request.args.get("type") or None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return jsonify(
        {
            "items": DueItemSchema(many=True).dump(result.items),
            "page": page,
            "per_page": per_page,
            "total": result.total,
        }
    )


@bp.get("/legal-holds")
def list_legal_holds():
    """Legal holds, those in force first.
    ---
    get:
      tags: [retention]
      responses:
        200:
          content:
            application/json:
              schema: HoldPageSchema
        403:
          $ref: '#/components/responses/Forbidden'
    """
    allow(permissions.can_view_retention(current_user))
    return jsonify(paginate(services.holds_stmt(), HoldSchema().dump))


@bp.post("/legal-holds")
def place_legal_hold():
    """Place a legal hold on a record, a record type or a document (signed).
    ---
    post:
      tags: [retention]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [kind, key, reason, password]
              properties:
                kind: {type: string, enum: [record, record_type, document]}
                key: {type: string, description: "the record's or document's number, the type's code"}
                reason: {type: string}
                password: {type: string}
      responses:
        201:
          content:
            application/json:
              schema: HoldSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
    """  # noqa: E501
    allow(permissions.can_hold(current_user))
    data = body()
    hold = services.place_hold(
        db.session,
        current_user,
        text(data, "kind"),
        text(data, "key"),
        text(data, "reason"),
        text(data, "password"),
    )
    db.session.commit()
    return jsonify(HoldSchema().dump(hold)), 201


@bp.post("/legal-holds/<hold_id>/lift")
def lift_legal_hold(hold_id: str):
    """Lift a legal hold (signed, with the reason).
    ---
    post:
      tags: [retention]
      parameters:
        - {in: path, name: hold_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [reason, password]
              properties:
                reason: {type: string}
                password: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: HoldSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    allow(permissions.can_hold(current_user))
    hold = services.get_hold(db.session, hold_id)
    data = body()
    services.lift_hold(db.session, current_user, hold, text(data, "reason"), text(data, "password"))
    db.session.commit()
    return jsonify(HoldSchema().dump(hold))


@bp.get("/destructions")
def list_destructions():
    """Destruction batches, newest first.
    ---
    get:
      tags: [retention]
      parameters:
        - {in: query, name: status, schema: {type: string, enum: [proposed, approved, rejected]}}
      responses:
        200:
          content:
            application/json:
              schema: DestructionPageSchema
        403:
          $ref: '#/components/responses/Forbidden'
    """
    allow(permissions.can_view_retention(current_user))
    stmt = services.list_destructions(db.session, status=request.args.get("status") or None)
    return jsonify(paginate(stmt, DestructionSummarySchema().dump))


@bp.post("/destructions")
def propose_destruction():
    """Propose destroying `items` (refs from `GET /retention/due`) by `method` (officers).
    ---
    post:
      tags: [retention]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [items, method]
              properties:
                items: {type: array, items: {type: string}, example: ["record:QP-CS-001-F01-2023-0001", "revision:QP-CS-001/A0"]}
                method: {type: string, enum: [secure_erase, shredding, incineration, pulping]}
                note: {type: string}
      responses:
        201:
          content:
            application/json:
              schema: DestructionSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """  # noqa: E501
    allow(permissions.can_propose(current_user))
    data = body()
    batch = services.propose(
        db.session,
        current_user,
        data.get("items"),
        text(data, "method"),
        text(data, "note"),
        today=local_today(),
    )
    db.session.commit()
    return jsonify(DestructionSchema().dump(batch)), 201


def _batch(key: str):
    allow(permissions.can_view_retention(current_user))
    return services.get_destruction(db.session, key)


@bp.get("/destructions/<key>")
def get_destruction(key: str):
    """One destruction batch (by id or number) with its items — tombstones once approved.
    ---
    get:
      tags: [retention]
      parameters:
        - {in: path, name: key, required: true, schema: {type: string}, description: id or number}
      responses:
        200:
          content:
            application/json:
              schema: DestructionSchema
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    return jsonify(DestructionSchema().dump(_batch(key)))


@bp.post("/destructions/<key>/approve")
def approve_destruction(key: str):
    """Approve (sign) a proposed destruction: the content is removed, tombstones kept.
    Approvers only, never the proposer.
    ---
    post:
      tags: [retention]
      parameters:
        - {in: path, name: key, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [password, witness]
              properties:
                password: {type: string}
                witness: {type: string, description: who witnessed the destruction}
      responses:
        200:
          content:
            application/json:
              schema: DestructionSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    batch = _batch(key)
    allow(permissions.can_decide(current_user))
    data = body()
    services.approve(
        db.session,
        current_user,
        batch,
        text(data, "password"),
        text(data, "witness"),
        today=local_today(),
        store=get_store(current_app),
    )
    db.session.commit()
    return jsonify(DestructionSchema().dump(batch))


@bp.post("/destructions/<key>/reject")
def reject_destruction(key: str):
    """Reject a proposed destruction, with the reason (approvers).
    ---
    post:
      tags: [retention]
      parameters:
        - {in: path, name: key, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [reason]
              properties:
                reason: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: DestructionSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    batch = _batch(key)
    allow(permissions.can_decide(current_user))
    services.reject(db.session, current_user, batch, text(body(), "reason"))
    db.session.commit()
    return jsonify(DestructionSchema().dump(batch))


@bp.get("/destructions/<key>/record.pdf")
def destruction_record_pdf(key: str):
    """The destruction record as PDF (method, by, witness, signature, tombstones).
    ---
    get:
      tags: [retention]
      parameters:
        - {in: path, name: key, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/pdf: {}
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    return exports.destruction_record_response(_batch(key))
