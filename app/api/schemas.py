"""Shared marshmallow pieces for the API: the error shape, times, input and list schemas."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # far beyond any list; keeps OFFSET inside a 64-bit integer
# the longest text any one value of a request may hold (query, form or JSON); the longest
# a feature accepts is a record's long text, 20,000 characters
MAX_VALUE_CHARS = 50_000


class UTCTime(fields.DateTime):
    """ISO 8601 in UTC with a trailing Z (docs/API.md); read-only, may be null."""

    def __init__(self, **kwargs):
        super().__init__(dump_only=True, allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ComputedList(fields.List):
    """A list the answer computes from the object with ``function`` (e.g. what the reader
    may see of its relations), dumped and documented as a list of ``item``."""

    def __init__(self, item: type[Schema], function, **kwargs):
        super().__init__(fields.Nested(item), dump_only=True, **kwargs)
        self.function = function

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self._serialize(self.function(obj), attr, obj, **kwargs)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "for validation errors: the problem of each field"},
    )


class ErrorSchema(Schema):
    """Every error answer: ``{"error": {"code", "message", "fields"?}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class Input(Schema):
    """Base of every input schema: keys the API does not know are ignored (as they were
    before the schemas existed: integrations send extra fields)."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _form_blanks(self, data, **kwargs):
        """A multipart form sends an empty field as "": read it as not given (a JSON body
        is taken as sent)."""
        if isinstance(data, Mapping) and not isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @pre_load
    def _no_nul(self, data, **kwargs):
        """A NUL character or a lone surrogate (JSON's ``"\\ud800"``) is never part of a
        meaningful value (and neither database can store it; PostgreSQL cannot even compare
        it): the field that holds one, however deep, is invalid. So is a field holding a
        text longer than ``MAX_VALUE_CHARS`` (the features' own limits are far below it:
        this one holds where one was forgotten)."""
        if isinstance(data, Mapping):
            known = {field.data_key or name for name, field in self.load_fields.items()}
            bad = {k: ["Contains a NUL character."] for k in known if k in data and _nul(data[k])}
            bad.update(
                (k, [f"Longer than maximum length {MAX_VALUE_CHARS}."])
                for k in known
                if k in data and k not in bad and _too_long(data[k])
            )
            if bad:
                raise ValidationError(bad)
        return data


_UNREADABLE = re.compile("[\x00\ud800-\udfff]")


def unreadable(text) -> bool:
    """A string holding a NUL character or a lone surrogate (UTF-16 half of a pair)."""
    return isinstance(text, str) and _UNREADABLE.search(text) is not None


def _strings(value):
    """Every string in ``value``, keys included, however deep (walked without recursion:
    JSON nests as deep as the parser allows)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _nul(value) -> bool:
    return any(unreadable(text) for text in _strings(value))


def _too_long(value) -> bool:
    return any(len(text) > MAX_VALUE_CHARS for text in _strings(value))


class PageArgs(Input):
    """``?page=`` (from 1) and ``?per_page=`` (at most 200) of every list."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The list answer of docs/API.md for items dumped by ``item``: a schema class named
    ``name`` (its name in the OpenAPI document)."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item))})
