"""Helpers shared by the HTML views of every feature."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash

from app.errors import DomainError
from app.extensions import db
from app.i18n import translate_error, translate_fields
from app.uploads import CheckedFile, check_scan, check_upload


def checked_upload(storage) -> CheckedFile | None:
    """An uploaded file (a form field's data or ``request.files[...]``) checked by its
    content against QDMS_MAX_UPLOAD_MB; None when no file was chosen."""
    if storage is None or not getattr(storage, "filename", ""):
        return None
    limit = current_app.config["QDMS_MAX_UPLOAD_MB"] * 1024 * 1024
    return check_upload(storage.read(), storage.filename, max_bytes=limit)


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


class Page:
    """One page of a list computed outside Flask-SQLAlchemy's ``paginate``, shaped like its
    pagination for templates/_pagination.html."""

    def __init__(self, items: list, total: int, page: int, per_page: int):
        self.items, self.total, self.page = items, total, page
        self.pages = max((total + per_page - 1) // per_page, 1)
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None
