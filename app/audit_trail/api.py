"""Audit-trail endpoint of the JSON API."""

from __future__ import annotations

import json

from flask import abort, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import bp, paginate
from app.api.schemas import PageSchema, UTCTime
from app.audit_trail import exports
from app.audit_trail.permissions import can_view_filtered_trail
from app.audit_trail.services import filtered_events, parse_filters
from app.extensions import db


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
    """Audit events, oldest first, filtered; or the same events as CSV, .xlsx or PDF.
    ---
    get:
      tags: [audit trail]
      description: >
        `object` is a number or name as people type it (`QP-CS-002`, `QP-CS-002 A/0`, a
        record or copy number, a username) or a reference (`document:QP-CS-002`); a
        document's events include its revisions'. Logins, logouts and failed logins are
        left out unless `include_logins` is true (or `action` names one).
      parameters:
        - {in: query, name: object, schema: {type: string}, example: "QP-CS-001"}
        - {in: query, name: user, schema: {type: string}, description: "username or full name"}
        - {in: query, name: action, schema: {type: string}, example: "revision_approved"}
        - {in: query, name: from, schema: {type: string, format: date}}
        - {in: query, name: to, schema: {type: string, format: date}}
        - {in: query, name: include_logins, schema: {type: boolean}}
        - {in: query, name: format, schema: {type: string, enum: [json, csv, xlsx, pdf]}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: EventPageSchema
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            application/pdf: {}
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
    """
    filters = parse_filters(db.session, request.args)
    if not can_view_filtered_trail(current_user, filters.refs, filters.object or None):
        abort(403)
    fmt = request.args.get("format") or "json"
    if fmt != "json":
        return exports.download(filters, fmt)
    return jsonify(paginate(filtered_events(filters), EventSchema().dump))
