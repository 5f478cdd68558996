"""Audit-trail endpoint of the JSON API."""

from __future__ import annotations

import json

from flask import abort, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import bp, paginate
from app.api.schemas import PageSchema, UTCTime
from app.audit_trail.permissions import can_view_audit_trail
from app.audit_trail.services import events_for


def _load(text):
    return json.loads(text) if text else None


class EventSchema(Schema):
    seq = fields.Integer()
    at = UTCTime()
    username = fields.String(attribute="actor_username", allow_none=True)
    action = fields.String()
    object = fields.String(attribute="object_ref")
    before = fields.Function(lambda e: _load(e.before))
    after = fields.Function(lambda e: _load(e.after))
    reason = fields.String(allow_none=True)
    hash = fields.String()


class EventPageSchema(PageSchema):
    items = fields.List(fields.Nested(EventSchema))


@bp.get("/audit-trail")
def audit_trail():
    """Audit events, oldest first, for one object (e.g. ``document:QP-CS-001``) or all.
    ---
    get:
      tags: [audit trail]
      parameters:
        - {in: query, name: object, schema: {type: string}, example: "user:admin"}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: EventPageSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
    """
    object_ref = request.args.get("object") or None
    if not can_view_audit_trail(current_user, object_ref):
        abort(403)
    return jsonify(paginate(events_for(object_ref), EventSchema().dump))
