"""Shared marshmallow pieces for the API."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, fields


class UTCTime(fields.Field):
    """ISO 8601 in UTC with a trailing Z (API.md)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.String())


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
