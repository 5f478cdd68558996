"""Reading JSON (or multipart form) input in API views: each helper turns a bad value
into a 400 that names the field, in the caller's language."""

from __future__ import annotations

from datetime import date

from flask import request

from app.errors import N_, PermissionDenied, ValidationFailed


def allow(permitted: bool) -> None:
    if not permitted:
        raise PermissionDenied(N_("You do not have permission to do this."))


def body() -> dict:
    """The JSON body, or the form fields of a multipart request; a clear 400 otherwise."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationFailed(N_("The request body must be a JSON object."))
        return data
    return request.form.to_dict()


def text(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(
            N_("%(name)s must be text."), fields={name: N_("invalid")}, name=name
        )
    return value


def flag(data: dict, name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no", ""):
        return value.lower() in ("true", "1", "yes")
    raise ValidationFailed(
        N_("%(name)s must be true or false."), fields={name: N_("invalid")}, name=name
    )


def integer(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            N_("%(name)s must be a whole number."), fields={name: N_("invalid")}, name=name
        ) from None


def day(data: dict, name: str) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            N_("%(name)s must be a date (YYYY-MM-DD)."), fields={name: N_("invalid")}, name=name
        ) from None
