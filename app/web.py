"""Helpers shared by the HTML views of every feature, and the check every request's text
passes before any view reads it (``check_request_text``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import current_app, flash, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from app.api.schemas import MAX_PAGE, MAX_VALUE_CHARS, unreadable
from app.errors import N_, DomainError, ValidationFailed
from app.extensions import db
from app.i18n import translate_error, translate_fields
from app.uploads import CheckedFile, ReadLimits, check_scan, check_upload


def checked_upload(storage) -> CheckedFile | None:
    """An uploaded file (a form field's data or ``request.files[...]``) checked by its
    content against QDMS_MAX_UPLOAD_MB, a .docx read in a worker process within the
    QDMS_DOCX_* limits; None when no file was chosen."""
    if storage is None or not getattr(storage, "filename", ""):
        return None
    config = current_app.config
    return check_upload(
        storage.read(),
        storage.filename,
        max_bytes=config["QDMS_MAX_UPLOAD_MB"] * 1024 * 1024,
        max_uncompressed=config["QDMS_DOCX_MAX_UNCOMPRESSED_MB"] * 1024 * 1024,
        limits=ReadLimits(config["QDMS_DOCX_READ_SECONDS"], config["QDMS_DOCX_READ_MEMORY_MB"]),
    )


def checked_scan(storage) -> CheckedFile | None:
    """A scan or a file of a record field (PDF, JPEG, PNG), checked by its content."""
    if storage is None or not getattr(storage, "filename", ""):
        return None
    limit = current_app.config["QDMS_MAX_UPLOAD_MB"] * 1024 * 1024
    return check_scan(storage.read(), storage.filename, max_bytes=limit)


def show_error(form, err: DomainError) -> None:
    """Roll back and put a service's error on the form: a flash plus inline field messages."""
    db.session.rollback()
    flash(translate_error(err), "danger")
    for name, problem in translate_fields(err).items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None:
            field.errors = [*field.errors, problem]


def run_form(form, action: Callable, *, on_success: Callable, render: Callable[[int], object]):
    """Validate ``form``, call the service in ``action``, and answer.

    On success ``on_success(result)`` answers (and the request commits: unit_of_work).
    An invalid form re-renders with 400, a domain error with its own status (4xx) after
    a rollback, so nothing is half-written. A plain GET renders with 200.
    """
    if form.validate_on_submit():
        try:
            result = action()
        except DomainError as err:
            show_error(form, err)
            return render(err.status)
        return on_success(result)  # the request commits after the answer (unit_of_work)
    return render(400 if form.is_submitted() else 200)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_request_text():
    """``before_request`` for the whole app (pages and API), before any view reads a value:

    - a NUL character or a lone surrogate is never part of a meaningful value, and
      PostgreSQL can neither store nor compare it (a 500 before this check): in the path
      it names nothing (404); in the query string or a form it is a 400 naming the field;
    - no value is longer than ``MAX_VALUE_CHARS`` (400), whatever the view's own limits.

    The 400 is in the user's language. JSON bodies are checked by ``app.api.schemas.Input``.
    """
    if any(unreadable(v) for v in (request.view_args or {}).values()):
        raise NotFound()
    values = list(request.args.items(multi=True))
    if request.mimetype in FORM_TYPES:  # reads the body: over the limit, this is the 413
        values += request.form.items(multi=True)
    bad, long = {}, {}
    for key, value in values:
        if unreadable(key) or unreadable(value):
            bad["field" if unreadable(key) else key] = N_("invalid character")
        elif len(value) > MAX_VALUE_CHARS:
            long[key[:100]] = N_("too long")
    if bad:
        raise ValidationFailed(
            N_("The request holds a character that cannot be stored (NUL or a lone surrogate)."),
            fields=bad,
        )
    if long:
        raise ValidationFailed(
            N_("A value is longer than %(max)s characters."), fields=long, max=MAX_VALUE_CHARS
        )


def page_number(name: str = "page") -> int:
    """``?page=`` of an HTML list: from 1 to ``MAX_PAGE`` (a larger number shows the empty
    page past the end instead of overflowing the database's OFFSET); anything that is not
    a number is page 1."""
    raw = request.args.get(name, "")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    digits = raw.lstrip("0")
    return MAX_PAGE if len(digits) > 7 else min(max(int(digits or "0"), 1), MAX_PAGE)


def paginate(stmt, *, per_page: int, **kwargs):
    """Flask-SQLAlchemy's ``paginate`` on a bounded ``page_number()``."""
    return db.paginate(stmt, page=page_number(), per_page=per_page, error_out=False, **kwargs)


class Page:
    """One page of a list computed outside Flask-SQLAlchemy's ``paginate``, shaped like its
    pagination for templates/_pagination.html."""

    def __init__(self, items: list, total: int, page: int, per_page: int):
        self.items, self.total, self.page = items, total, page
        self.pages = max((total + per_page - 1) // per_page, 1)
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None


def paginate_rows(stmt, *, per_page: int) -> Page:
    """``paginate`` for a select of columns (Flask-SQLAlchemy's pages entities only): the
    rows of page ``page_number()`` and the total, counted as Flask-SQLAlchemy counts."""
    page = page_number()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, total, page, per_page)


# RFC 3986's unreserved characters: werkzeug's URL converters leave them as they are.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def url_builder(endpoint: str, name: str, **values) -> Callable[[str], str]:
    """``lambda v: url_for(endpoint, **{name: v}, **values)`` for the many rows of a list,
    at the cost of one ``url_for`` (a few microseconds each, per row adds up): a value of
    unreserved characters only — every document number — goes into the URL as it is, as
    ``url_for`` would put it; any other value goes through ``url_for``. ``name`` must be a
    string (default converter) argument of the endpoint's rule."""
    marker = "qdms0url0builder0marker"
    prefix, _, suffix = url_for(endpoint, **{name: marker}, **values).partition(marker)

    def build(value: str) -> str:
        if _UNRESERVED.fullmatch(value):
            return prefix + value + suffix
        return url_for(endpoint, **{name: value}, **values)

    return build


# a qdms number (QP-CS-001, NC-2026-0009, SP-CS-001-F01-2026-0001, a date): browsers break
# lines after its hyphens, which splits it where a reader looks for it whole
_NUMBER = re.compile(r"\b(?:[A-Z]{1,4}(?:-[A-Z0-9]{1,4}){2,}|\d{4}-\d{2}-\d{2})\b")
_TAG = re.compile(r"(<[^>]*>)")


def keep_numbers_whole(text) -> Markup:
    """``text`` (escaped unless it is Markup) with each number in its plain text kept on
    one line; a link's text is left to the stylesheet (``.trail-sentence a``), a tag's
    attributes alone."""
    out, in_link = [], False
    for part in _TAG.split(str(escape(text))):
        if part.startswith("<"):
            in_link = part.startswith("<a ") or (in_link and part != "</a>")
        elif not in_link:
            part = _NUMBER.sub(lambda m: f'<span class="text-nowrap">{m.group(0)}</span>', part)
        out.append(part)
    return Markup("".join(out))  # noqa: S704 - escaped above; the spans added are ours
