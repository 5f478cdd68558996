"""A record type's form: the field definitions (JSON) and the checking of values.

A form is a list of fields::

    {"name": "customer", "label": "顾客 / Customer", "type": "text", "required": true}

``type`` is one of TYPES. ``choice`` and ``multi_choice`` carry ``"choices": [...]``;
``number`` may carry ``"min"`` / ``"max"``; ``table`` carries ``"columns"``: fields of
the simple types (a repeating table of rows). ``help`` is optional text shown under
the field. Names are lower-case identifiers, unique within a form.

Values as stored (JSON): text → str, number → int or float, date → "YYYY-MM-DD",
choice → one of the choices, multi_choice → list of choices, yes_no → bool, person → a
username, signature → {"signature_id", "username", "name", "signed_at"} (written by the
service, never typed), file → {"sha256", "name", "size"} (an uploaded file), table →
list of row objects.

Everything here is plain Python: the services check, the UI and the API only carry
what people entered. Messages are English ids marked for translation (``N_``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from app.errors import N_, ValidationFailed
from app.extensions import local_date

TYPES = {
    "text": N_("Text"),
    "long_text": N_("Long text"),
    "number": N_("Number"),
    "date": N_("Date"),
    "choice": N_("Choice"),
    "multi_choice": N_("Multiple choice"),
    "yes_no": N_("Yes / no"),
    "person": N_("Person"),
    "signature": N_("Signature"),
    "file": N_("File"),
    "table": N_("Table"),
}
# What a table's columns may be: no nested tables, signatures or files in a row.
COLUMN_TYPES = ("text", "long_text", "number", "date", "choice", "multi_choice", "yes_no", "person")
MAX_FIELDS = 80
MAX_TEXT = 2000
MAX_LONG_TEXT = 20000
MAX_ROWS = 200
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# -- the form ------------------------------------------------------------------------


def check_form(raw) -> list[dict]:
    """A form definition as given (JSON-like), checked and normalised; raises
    ValidationFailed naming ``fields`` with what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(
            N_("A form needs at least one field."), fields={"fields": N_("required")}
        )
    if len(raw) > MAX_FIELDS:
        raise ValidationFailed(
            N_("A form has at most %(max)s fields."),
            fields={"fields": N_("too many")},
            max=MAX_FIELDS,
        )
    return _check_fields(raw, allowed=tuple(TYPES))


def _check_fields(raw: list, allowed: tuple[str, ...]) -> list[dict]:
    out: list[dict] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            _form_error(N_("Field %(n)s of the form is not an object."), n=i)
        name = str(item.get("name") or "").strip()
        if not _NAME.match(name):
            _form_error(
                N_(
                    "Field %(n)s needs a name of lower-case letters, digits and _ (a letter first)."
                ),
                n=i,
            )
        if name in seen:
            _form_error(N_("Two fields are named %(name)s."), name=name)
        seen.add(name)
        kind = item.get("type")
        if kind not in allowed:
            _form_error(N_("Field %(name)s has an unknown type."), name=name)
        label = str(item.get("label") or "").strip()
        if not label or len(label) > 200:
            _form_error(N_("Field %(name)s needs a label (at most 200 characters)."), name=name)
        field = {"name": name, "label": label, "type": kind, "required": bool(item.get("required"))}
        help_text = str(item.get("help") or "").strip()
        if help_text:
            field["help"] = help_text[:500]
        if kind in ("choice", "multi_choice"):
            choices = item.get("choices")
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c.strip() for c in choices)
                or len({c.strip() for c in choices}) != len(choices)
            ):
                _form_error(N_("Field %(name)s needs a list of distinct choices."), name=name)
            field["choices"] = [c.strip() for c in choices]
        if kind == "number":
            for bound in ("min", "max"):
                value = item.get(bound)
                if value is None or value == "":
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    _form_error(N_("Field %(name)s: min and max must be numbers."), name=name)
                field[bound] = value
            if "min" in field and "max" in field and field["min"] > field["max"]:
                _form_error(N_("Field %(name)s: min is above max."), name=name)
        if kind == "table":
            columns = item.get("columns")
            if not isinstance(columns, list) or not columns:
                _form_error(N_("Table %(name)s needs at least one column."), name=name)
            field["columns"] = _check_fields(columns, COLUMN_TYPES)
        out.append(field)
    return out


def _form_error(message: str, **params):
    raise ValidationFailed(message, fields={"fields": N_("invalid")}, **params)


# -- values --------------------------------------------------------------------------


def check_values(
    form: list[dict],
    raw: dict,
    *,
    people: set[str],
    complete: bool,
    keep: dict | None = None,
) -> dict:
    """The values of a record as entered, checked against ``form``: returns them
    normalised (only the form's fields). ``people``: the usernames a person field may
    name. Required fields are required only when ``complete`` (a draft may be partial).
    Signature and file fields are not typed: their values come from ``keep`` (what the
    service already stored). Raises ValidationFailed with every problem by field name."""
    if not isinstance(raw, dict):
        raise ValidationFailed(
            N_("The values must be an object."), fields={"values": N_("invalid")}
        )
    keep = keep or {}
    out: dict = {}
    problems: dict[str, str] = {}
    known = {f["name"] for f in form}
    for name in sorted(set(raw) - known):
        problems[name] = N_("not a field of this form")
    for field in form:
        name = field["name"]
        if field["type"] in ("signature", "file"):
            value = keep.get(name)
        else:
            try:
                value = _value(field, raw.get(name), people)
            except _Bad as bad:
                problems[name] = bad.message
                continue
        if _empty(value):
            if complete and field["required"]:
                problems[name] = N_("required")
            continue
        out[name] = value
    if problems:
        raise ValidationFailed(N_("Some fields are missing or invalid."), fields=problems)
    return out


def missing_required(form: list[dict], values: dict) -> dict[str, str]:
    return {
        f["name"]: N_("required") for f in form if f["required"] and _empty(values.get(f["name"]))
    }


class _Bad(Exception):
    def __init__(self, message: str):
        self.message = message


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(field: dict, value, people: set[str]):
    kind = field["type"]
    if _empty(value):
        return None
    if kind in ("text", "long_text"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _Bad(N_("must be text"))
        text = str(value).strip()
        limit = MAX_TEXT if kind == "text" else MAX_LONG_TEXT
        if len(text) > limit:
            raise _Bad(N_("too long"))
        return text or None
    if kind == "number":
        number = _number(value)
        if "min" in field and number < field["min"]:
            raise _Bad(N_("below the minimum"))
        if "max" in field and number > field["max"]:
            raise _Bad(N_("above the maximum"))
        return number
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise _Bad(N_("not a date (YYYY-MM-DD)")) from None
    if kind == "choice":
        if value not in field["choices"]:
            raise _Bad(N_("not one of the choices"))
        return value
    if kind == "multi_choice":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or any(v not in field["choices"] for v in values):
            raise _Bad(N_("not one of the choices"))
        return [c for c in field["choices"] if c in values]  # in the form's order
    if kind == "yes_no":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("yes", "y", "true", "1", "on", "是"):
            return True
        if text in ("no", "n", "false", "0", "off", "否"):
            return False
        raise _Bad(N_("must be yes or no"))
    if kind == "person":
        username = str(value).strip()
        if username not in people:
            raise _Bad(N_("no such person"))
        return username
    if kind == "table":
        if not isinstance(value, list):
            raise _Bad(N_("must be a list of rows"))
        if len(value) > MAX_ROWS:
            raise _Bad(N_("too many rows"))
        rows = []
        for row in value:
            if not isinstance(row, dict):
                raise _Bad(N_("must be a list of rows"))
            cells = {}
            for column in field["columns"]:
                cell = _value(column, row.get(column["name"]), people)
                if _empty(cell):
                    if column["required"]:
                        raise _Bad(N_("a row misses a required column"))
                    continue
                cells[column["name"]] = cell
            if cells:
                rows.append(cells)
        return rows or None
    raise _Bad(N_("invalid"))


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise _Bad(N_("must be a number"))
    if isinstance(value, int | float):
        number = value
    else:
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise _Bad(N_("must be a number")) from None
        if not number.is_finite():
            raise _Bad(N_("must be a number"))
        number = int(number) if number == number.to_integral_value() else float(number)
    if isinstance(number, float) and number != number:  # NaN
        raise _Bad(N_("must be a number"))
    return number


def searchable_text(form: list[dict], values: dict) -> str:
    """The values as text for the search index (labels and values, rows included)."""
    parts: list[str] = []
    for field in form:
        value = values.get(field["name"])
        if _empty(value):
            continue
        parts.append(f"{field['label']}: {display(field, value)}")
    return "\n".join(parts)


def _signed_on(signed_at: str) -> str:
    """The organisation's day of a signature stored as a UTC ISO time ("…Z")."""
    try:
        return local_date(datetime.fromisoformat(signed_at)).isoformat()
    except ValueError:  # not a time (hand-made data): shown as stored
        return signed_at[:10]


def display(field: dict, value) -> str:
    """A value as plain text (for search, PDFs and the amendment list)."""
    kind = field["type"]
    if _empty(value):
        return ""
    if kind == "multi_choice":
        return ", ".join(value)
    if kind == "yes_no":
        return "✓" if value else "✗"
    if kind == "signature":
        return f"{value.get('name')} ({_signed_on(value.get('signed_at') or '')})"
    if kind == "file":
        return str(value.get("name"))
    if kind == "table":
        return "; ".join(
            ", ".join(display(c, row[c["name"]]) for c in field["columns"] if c["name"] in row)
            for row in value
        )
    return str(value)
