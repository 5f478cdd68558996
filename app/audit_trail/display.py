"""An audit event in words, in the reader's language: a sentence ("王芳 approved QP-CS-002
A/0"), the fields that changed with their labels and values in words, the reason, and
the internal values (hashes, ids) kept apart for the auditors' "details".

Used by the trail's pages and exports; the words come from app.audit_trail.labels, where
each feature registered its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from flask_babel import gettext
from markupsafe import Markup, escape

from app.audit_trail.labels import ACTIONS, FIELDS, KINDS, SYSTEM_REASONS, field_for, split_ref
from app.i18n import current_language, localtime

_ORDER = {}  # field key → its place among the registered fields (the order lines appear in)


def _order(key: str) -> int:
    if not _ORDER or len(_ORDER) < len(FIELDS):
        _ORDER.clear()
        for i, (_, name) in enumerate(FIELDS):
            _ORDER.setdefault(name, i)
    return _ORDER.get(key, len(_ORDER))


@dataclass
class Line:
    label: str
    after: str
    before: str | None = None  # None: there was nothing before (the value is new)


@dataclass
class EventView:
    seq: int
    at: datetime
    time: str  # in the organisation's time zone
    actor: str
    action: str  # the action's label
    object_name: str
    object_url: str
    sentence: Markup  # the object linked
    text: str  # the same sentence, plain
    lines: list[Line] = field(default_factory=list)
    reason: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)  # internal values
    unlabelled: list[str] = field(default_factory=list)  # what only shows raw (old events)

    def changes_text(self) -> str:
        """The lines as one plain text (exports)."""
        return _semicolon().join(
            f"{labelled(line.label)}{line.before} → {line.after}"
            if line.before is not None
            else f"{labelled(line.label)}{line.after}"
            for line in self.lines
        )


def labelled(label: str) -> str:
    """ "Status:" — the colon as the reader's language writes it (Chinese: "状态：")."""
    return gettext("%(label)s: ", label=label)


def _semicolon() -> str:
    return "；" if current_language() == "zh_CN" else "; "


class Context:
    """What formatters get: the session, the reader's gettext, a per-page cache."""

    def __init__(self, session):
        self.session = session
        self.cache: dict = {}
        self.gettext = gettext
        self.separator = "、" if current_language() == "zh_CN" else ", "
        self._names: dict[str, dict[str, str]] = {}
        self._asked: dict[str, set[str]] = {}  # keys already looked up, found or not
        self._complete: set[str] = set()  # kinds read whole
        self._problems: list[str] = []

    def join(self, items) -> str:
        return self.separator.join(items)

    def unlabelled(self, raw: str) -> str:
        """Shows ``raw`` as it is and remembers that it had no words (tests fail on it)."""
        self._problems.append(raw)
        return raw

    def names(self, prefix: str, keys: set[str] | None) -> dict[str, str]:
        kind = KINDS.get(prefix)
        if kind is None or kind.names is None:
            return {}
        known = self._names.setdefault(prefix, {})
        if prefix in self._complete:
            return known
        if keys is None:  # every one of them (people: a small table, read once)
            known.update(kind.names(self.session, None))
            self._complete.add(prefix)
        elif keys - self._asked.setdefault(prefix, set()):
            missing = keys - self._asked[prefix]
            known.update(kind.names(self.session, missing))
            self._asked[prefix] |= missing
        return known

    def user(self, username: str) -> str:
        return self.names("user", None).get(username, username)


def describe(session, events) -> list[EventView]:
    """The events in words, in the reader's language (one query per object kind on the
    page for the objects' names, one for the people's names)."""
    ctx = Context(session)
    keys: dict[str, set[str]] = {}
    for event in events:
        prefix, key = split_ref(event.object_ref)
        keys.setdefault(prefix, set()).add(key)
    for prefix, wanted in keys.items():
        if prefix != "user":
            ctx.names(prefix, wanted)
    return [_describe(ctx, event) for event in events]


def _load(raw):
    return json.loads(raw) if raw else {}


def _describe(ctx: Context, event) -> EventView:
    start = len(ctx._problems)
    prefix, key = split_ref(event.object_ref)
    kind = KINDS.get(prefix)
    before, after = _load(event.before), _load(event.after)
    view = EventView(
        seq=event.seq,
        at=event.at,
        time=localtime(event.at, "yyyy-MM-dd HH:mm:ss"),
        actor=ctx.user(event.actor_username) if event.actor_username else gettext("System"),
        action="",
        object_name="",
        object_url="",
        sentence=Markup(""),
        text="",
    )
    if not isinstance(before, dict) or not isinstance(after, dict):
        view.details.append((gettext("Before"), str(event.before or "")))
        view.details.append((gettext("After"), str(event.after or "")))
        ctx.unlabelled("non-dict payload")
        before, after = {}, {}

    # the object: its human name, linked to its page (or to its trail)
    name = None
    if kind is not None and kind.name_from_event is not None:
        name = kind.name_from_event(key, before, after)
    if kind is not None:
        name = name or ctx.names(prefix, {key}).get(key) or key
        view.object_name = gettext(kind.pattern, name=name)
        if kind.endpoint:
            view.object_url = url_for(kind.endpoint, **{kind.arg: key})
    else:
        view.object_name = ctx.unlabelled(event.object_ref)
    if not view.object_url:
        view.object_url = url_for("audit_trail.index", object=event.object_ref)

    # the sentence, with any fields it names
    action = ACTIONS.get(event.action)
    said = set(kind.name_keys if kind is not None and name != key else ())
    if action is not None:
        view.action = gettext(action.label)
        merged = {**before, **after}
        params = {}
        for placeholder in action.placeholders - {"actor", "object"}:
            spec = field_for(prefix, placeholder)
            value = merged.get(placeholder)
            params[placeholder] = _value(ctx, prefix, key, spec, value) if spec else str(value)
            said.add(placeholder)
        template = gettext(action.sentence)
        link = Markup('<a href="{}">{}</a>').format(view.object_url, view.object_name)
        view.sentence = escape(template) % {
            "actor": view.actor,
            "object": link,
            **params,
        }
        view.text = template % {"actor": view.actor, "object": view.object_name, **params}
    else:
        view.action = ctx.unlabelled(event.action)
        view.text = f"{view.actor} {event.action} {view.object_name}"
        view.sentence = Markup("{} {} <a href='{}'>{}</a>").format(
            view.actor, event.action, view.object_url, view.object_name
        )

    # what changed, in words; internal values to the details
    missing = object()
    for field_key in sorted(set(before) | set(after), key=lambda k: (_order(k), k)):
        old, new = before.get(field_key, missing), after.get(field_key, missing)
        if field_key in said or old == new:
            continue
        spec = field_for(prefix, field_key)
        if spec is None:
            ctx.unlabelled(field_key)
            raw = new if new is not missing else old
            view.details.append((field_key, json.dumps(raw, ensure_ascii=False)))
            continue
        if spec.type == "internal":
            raw = new if new is not missing else old
            view.details.append((gettext(spec.label), _raw(raw)))
            continue
        if old is missing and new in (None, "", [], {}):
            continue  # an empty field of something new says nothing
        shown_new = _value(ctx, prefix, key, spec, new if new is not missing else old)
        shown_old = None
        if old is not missing and new is not missing:
            shown_old = _value(ctx, prefix, key, spec, old)
        view.lines.append(Line(gettext(spec.label), shown_new, shown_old))

    if event.reason:
        system = SYSTEM_REASONS.get(event.reason)
        view.reason = gettext(system) if system else event.reason
    view.details += [
        (gettext("Event no."), str(event.seq)),
        (gettext("Object reference"), event.object_ref),
        (gettext("Action code"), event.action),
        (gettext("Event hash"), event.hash),
    ]
    view.unlabelled = ctx._problems[start:]
    return view


def _raw(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _value(ctx: Context, prefix: str, key: str, spec, value) -> str:
    """One value in words, as its field's spec says."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if spec.format is not None:
        return spec.format(value, key, ctx)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list):
        return ctx.join(_value(ctx, prefix, key, spec, item) for item in value)
    if isinstance(value, dict):
        parts = []
        for sub in sorted(value, key=lambda k: (_order(k), k)):
            sub_spec = field_for(prefix, sub)
            if sub_spec is None:
                parts.append(f"{labelled(ctx.unlabelled(sub))}{value[sub]}")
            elif sub_spec.type != "internal" and value[sub] not in (None, ""):
                shown = _value(ctx, prefix, key, sub_spec, value[sub])
                parts.append(f"{labelled(gettext(sub_spec.label))}{shown}")
        return _semicolon().join(parts)
    if spec.codes is not None:
        label = spec.codes.get(value) if isinstance(value, str) else None
        return gettext(label) if label else ctx.unlabelled(str(value))
    if spec.type == "user" and isinstance(value, str):
        return ctx.user(value)
    if spec.type == "department" and isinstance(value, str):
        return ctx.names("department", None).get(value, value)
    if spec.type == "datetime" and isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return localtime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)
