"""How the audit trail reads: one place that says, for every action, object kind and
field a feature writes, what it is called in the reader's language.

Features register their own words when their models are imported (the import goes from
the feature to the audit trail, never back)::

    register_actions({"record_filed": (N_("Record filed"), N_("%(actor)s filed %(object)s"))})
    register_fields({"status": coded(N_("Status"), STATUSES)}, kind="record")
    register_kind("record", Kind(endpoint="records.show"))

``record()`` refuses an event whose action, object kind, field or coded value is not
registered here, so a feature cannot write an event the trail cannot put into words.
Everything here is plain data and message ids (``N_``); app.audit_trail.display turns
an event into text in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.errors import N_


class UnlabelledEvent(ValueError):
    """A programming error: an event the trail could not show in words."""


@dataclass(frozen=True)
class Action:
    label: str  # "Approved": the action filter's choice and the exports' column
    # "%(actor)s approved %(object)s"; may also name any field of the event, e.g. %(meaning)s
    sentence: str

    @property
    def placeholders(self) -> set[str]:
        return set(re.findall(r"%\((\w+)\)s", self.sentence))


@dataclass(frozen=True)
class Field:
    """One before/after key. ``type``: ``text`` (shown as written), ``date``,
    ``datetime`` (ISO, shown in the organisation's time zone), ``user`` (a username, shown
    as the full name), ``department`` (a code, shown as the department's name in the
    reader's language), ``internal`` (hashes and ids: only in the auditors' details)."""

    label: str
    type: str = "text"
    codes: Mapping[str, str] | None = None  # coded values → their labels (message ids)
    # value, object key, display context → the value in words (for what no type covers)
    format: Callable | None = None


@dataclass(frozen=True)
class Kind:
    """An object kind, the part of ``object_ref`` before the colon."""

    pattern: str = "%(name)s"  # how the object reads in a sentence: "department %(name)s"
    endpoint: str | None = None  # the object's page (else: the trail of the object)
    arg: str = "number"  # the endpoint's argument that takes the key
    # session, keys → {key: human name} (one query for a page of events)
    names: Callable | None = None
    # session, typed text → keys of this kind it names besides itself (a full name → the
    # username); the trail's user filter uses the "user" kind's
    find: Callable | None = None
    # the event's own words for its object, (key, before, after) → name or None
    # (a revision: "QP-CS-002 A/0" from the event's label)
    name_from_event: Callable | None = None
    # the keys the name already says, not repeated among the changes
    name_keys: tuple[str, ...] = ()
    # the event's fields that say the object is one revision of it: "QP-CS-002 A/0"
    # typed in the filter finds the document's events that name revision A/0
    revision_key: str | None = None
    # a number or name people type (QP-CS-002, a username) can name an object of this kind
    typed: bool = True


ACTIONS: dict[str, Action] = {}
FIELDS: dict[tuple[str | None, str], Field] = {}
KINDS: dict[str, Kind] = {}
# Reasons the system writes itself (English message ids), shown translated.
SYSTEM_REASONS: dict[str, str] = {}
# Signing in and out: left out of the trail's lists unless asked for.
LOGIN_ACTIONS = frozenset({"login", "logout", "login_failed", "login_refused_locked"})


def text(label: str) -> Field:
    return Field(label)


def coded(label: str, codes: Mapping[str, str]) -> Field:
    return Field(label, codes=codes)


def internal(label: str) -> Field:
    return Field(label, type="internal")


def date(label: str) -> Field:
    return Field(label, type="date")


def datetime_(label: str) -> Field:
    return Field(label, type="datetime")


def user(label: str) -> Field:
    return Field(label, type="user")


def department(label: str) -> Field:
    return Field(label, type="department")


def register_actions(actions: Mapping[str, tuple[str, str]]) -> None:
    """``{code: (label, sentence)}``; registering the same words twice is harmless."""
    for code, (label, sentence) in actions.items():
        new = Action(label, sentence)
        if ACTIONS.get(code, new) != new:
            raise UnlabelledEvent(f"audit action {code!r} is registered twice, differently")
        ACTIONS[code] = new


def register_fields(fields: Mapping[str, Field | str], *, kind: str | None = None) -> None:
    """Labels of before/after keys, for one object kind or (``kind=None``) for all."""
    for key, spec in fields.items():
        FIELDS[(kind, key)] = spec if isinstance(spec, Field) else Field(spec)


def register_kind(prefix: str, kind: Kind) -> None:
    KINDS[prefix] = kind


def register_reasons(reasons: Mapping[str, str]) -> None:
    SYSTEM_REASONS.update(reasons)


def split_ref(object_ref: str) -> tuple[str, str]:
    kind, _, key = object_ref.partition(":")
    return kind, key


def field_for(kind: str, key: str) -> Field | None:
    return FIELDS.get((kind, key)) or FIELDS.get((None, key))


def check_event(object_ref: str, action: str, before, after) -> None:
    """Refuse (UnlabelledEvent) what the trail could not show in words: an action, an
    object kind, a field (at any depth) or a coded value that nobody registered."""
    if action not in ACTIONS:
        raise UnlabelledEvent(
            f"audit action {action!r} has no label: register it (app.audit_trail.labels)"
        )
    kind, _ = split_ref(object_ref)
    if kind not in KINDS:
        raise UnlabelledEvent(f"object kind {kind!r} of {object_ref!r} is not registered")
    for payload in (before, after):
        _check_payload(kind, action, payload)


def _check_payload(kind: str, action: str, payload) -> None:
    if payload is None:
        return
    if not isinstance(payload, dict):
        raise UnlabelledEvent(f"{action}: before/after must be a dict, not {payload!r}")
    for key, value in payload.items():
        spec = field_for(kind, key)
        if spec is None:
            raise UnlabelledEvent(
                f"{action}: field {key!r} of {kind} events has no label "
                "(register it with app.audit_trail.labels.register_fields)"
            )
        if spec.format is not None or spec.type == "internal":
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _check_payload(kind, action, item)
            elif spec.codes is not None and item is not None and item not in spec.codes:
                raise UnlabelledEvent(f"{action}: {key}={item!r} has no label")


# The trail's own words: generic actions, signing in, accounts. Features add theirs.
register_actions(
    {
        "created": (N_("Added"), N_("%(actor)s added %(object)s")),
        "updated": (N_("Changed"), N_("%(actor)s changed %(object)s")),
        "login": (N_("Logged in"), N_("%(actor)s logged in")),
        "logout": (N_("Logged out"), N_("%(actor)s logged out")),
        "login_failed": (N_("Failed login"), N_("%(actor)s failed to log in")),
        "locked": (
            N_("Account locked"),
            N_("%(object)s was locked after too many failed logins"),
        ),
        "login_refused_locked": (
            N_("Login refused (locked)"),
            N_("%(actor)s tried to log in while the account was locked"),
        ),
        "password_changed": (N_("Password changed"), N_("%(actor)s changed their password")),
        "password_reset": (
            N_("Password reset by administrator"),
            N_("%(actor)s reset the password of %(object)s"),
        ),
        "token_created": (
            N_("API token created"),
            N_("%(actor)s created an API token for %(object)s"),
        ),
        "token_revoked": (
            N_("API token revoked"),
            N_("%(actor)s revoked an API token of %(object)s"),
        ),
    }
)
register_fields(
    {
        "failed_logins": N_("Failed logins"),
        "locked_until": datetime_(N_("Locked until")),
        "token_id": internal(N_("Token no.")),
        "prefix": internal(N_("Token prefix")),
        "name": N_("Name"),
        "code": N_("Code"),
        "number": N_("Number"),
        "title": N_("Title"),
        "is_active": N_("Active"),
        "location": N_("Location"),
    }
)
register_reasons({"session timeout": N_("session timeout")})
