"""Audit-trail endpoint of the JSON API (``GET /api/v1/audit-trail``)."""

from __future__ import annotations

import json

from flask import request
from flask_login import current_user
from marshmallow import Schema, fields

from app.api import Blueprint, fails, files, page_of
from app.api.schemas import PageArgs, UTCTime, page_schema
from app.audit_trail import exports
from app.audit_trail.permissions import can_view_filtered_trail
from app.audit_trail.services import filtered_events, parse_filters
from app.errors import N_, PermissionDenied
from app.extensions import db

blp = Blueprint("audit_trail_api", __name__, tag="audit trail")


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


EventPageSchema = page_schema(EventSchema, "EventPageSchema")


class TrailArgs(PageArgs):
    """What the trail is filtered by; the values are read by ``parse_filters``, which
    names any it cannot understand."""

    object = fields.String(
        metadata={
            "description": "a number or name as typed (QP-CS-002, QP-CS-002 A/0, a "
            "record or copy number, a username) or a reference (document:QP-CS-002)"
        }
    )
    user = fields.String(metadata={"description": "username or full name"})
    action = fields.String(metadata={"example": "revision_approved"})
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    include_logins = fields.String(
        metadata={"description": "true: logins, logouts and failed logins too"}
    )
    format = fields.String(
        load_default="json", metadata={"enum": ["json", "csv", "xlsx", "pdf"]}
    )  # checked by the export, which says what the formats are

    def _no_nul(self, data, **kwargs):
        """``parse_filters`` refuses control characters itself, with the page's message."""
        return data


@blp.get("/audit-trail")
@blp.arguments(TrailArgs, location="query")
@blp.response(200, EventPageSchema)
@files("csv", "xlsx", "pdf", description="the same events (format=csv|xlsx|pdf)")
@fails(403)
def audit_trail(args):
    """Audit events, oldest first, filtered; or the same events as CSV, .xlsx or PDF.

    A document's events include its revisions'. Logins, logouts and failed logins are left
    out unless `include_logins` is true (or `action` names one)."""
    filters = parse_filters(db.session, request.args)
    if not can_view_filtered_trail(current_user, filters.refs, filters.object or None):
        raise PermissionDenied(N_("You do not have permission to do this."))
    if args["format"] != "json":
        return exports.download(filters, args["format"])
    return page_of(filtered_events(filters), args)
