"""Checks of plain input values shared by the features' services (Flask-free): a
problem is a ValidationFailed naming the field, in the user's language."""

from __future__ import annotations

from app.errors import N_, ValidationFailed


def text(value, field: str, message: str, *, required: bool = True, max_len: int) -> str | None:
    """``value`` stripped; an empty one is ``message`` when ``required``, else None; longer
    than ``max_len`` or holding a NUL character (which PostgreSQL cannot store) is refused."""
    stripped = value.strip() if isinstance(value, str) else ""
    if "\x00" in stripped:
        raise ValidationFailed(
            N_("The text contains a null character."), fields={field: N_("invalid")}
        )
    if not stripped:
        if required:
            raise ValidationFailed(message, fields={field: N_("required")})
        return None
    if len(stripped) > max_len:
        raise ValidationFailed(N_("The text is too long."), fields={field: N_("too long")})
    return stripped
