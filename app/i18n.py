"""Locale choice and the translation of domain errors.

Order for pages: the user's own setting, then the language chosen in this session
(the switcher in the header), then Accept-Language, then the organisation default.
The JSON API answers in the language of Accept-Language first (docs/API.md).
"""

from __future__ import annotations

from flask import current_app, request, session
from flask_babel import format_datetime, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from app.config import LANGUAGES
from app.errors import DomainError

LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def language_choices(with_default: bool = False) -> list[SelectChoice]:
    """The languages as form choices (a user's own setting, the profile); ``with_default``
    puts "Browser default" first."""
    choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
    if with_default:
        choices.insert(0, SelectChoice("", _l("Browser default")))
    return choices


def _from_header() -> str | None:
    return request.accept_languages.best_match(LANGUAGES)


def select_locale() -> str:
    if request.path.startswith("/api/"):
        header = _from_header()
        if header:
            return header
    user_lang = getattr(current_user, "language", None) if current_user else None
    if user_lang in LANGUAGES:
        return user_lang
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return _from_header() or current_app.config["QDMS_DEFAULT_LANGUAGE"]


def current_language() -> str:
    """Our code (``zh_CN`` or ``en``) for the locale in force.

    Babel expands ``zh_CN`` to ``zh_Hans_CN`` (which is also why the catalog folder is
    named ``zh_Hans_CN``), so templates compare this rather than ``get_locale()``.
    """
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def translate(message: str, **params) -> str:
    return gettext(message, **params)


def translate_error(err: DomainError) -> str:
    """The error in the user's language; text parameters that are message ids (status or
    action labels) are translated too, other values (numbers, names) pass unchanged."""
    params = {k: gettext(v) if isinstance(v, str) else v for k, v in err.params.items()}
    return gettext(err.message, **params)


def translate_fields(err: DomainError) -> dict[str, str]:
    return {name: gettext(problem) for name, problem in err.fields.items()}


def localtime(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC timestamp shown in the organisation's time zone."""
    if value is None:
        return ""
    return format_datetime(value, fmt)
