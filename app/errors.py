"""Domain errors raised by services and mapped to flashes or HTTP codes by the views.

Services are free of Flask, so an error carries an English message id (marked with
``N_`` for extraction) and its parameters; the view translates it into the user's
language with :func:`app.i18n.translate_error`.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for translation without translating it (services have no locale)."""
    return message


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class SignatureFailed(DomainError):
    status = 403
    code = "signature_failed"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class Conflict(DomainError):
    status = 409
    code = "conflict"


MAX_ROW_ID = 2**31 - 1  # the databases' integer: a larger number is no row


def row_id(value) -> int | None:
    """A row id from a path or a form: an int, or ASCII digits, from 1 to ``MAX_ROW_ID``;
    ``None`` for anything else (a larger number overflowed the database: a 500)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            return None
        value = int(text)
    if not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        return None
    return value
