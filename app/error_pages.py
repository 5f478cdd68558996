"""Error pages in the user's language; JSON errors under /api/. Never a traceback."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.errors import DomainError
from app.extensions import db
from app.i18n import translate_error, translate_fields

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
}


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    """The API's error answer (docs/API.md): ``{"error": {"code", "message", "fields"?}}``."""
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist, or you may not open it."),
        405: _("This action is not allowed here."),
        409: _("This conflicts with the current state."),
        413: _("The upload is larger than allowed."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, message: str):
    if _wants_json():
        return json_error(status, CODES.get(status, "server_error"), message)
    return render_template("errors/error.html", status=status, message=message), status


def answer_for(err: Exception):
    """The answer to an error: a JSON error under /api/, a page in the user's language
    elsewhere; the transaction is rolled back. Never a traceback."""
    db.session.rollback()
    if isinstance(err, CSRFError):
        return _render(
            400, _("The form has expired or was not sent from this site. Please try again.")
        )
    if isinstance(err, DomainError):
        message = translate_error(err)
        if _wants_json():
            return json_error(err.status, err.code, message, translate_fields(err) or None)
        return _render(err.status, message)
    if isinstance(err, IntegrityError):
        # two requests wrote the same thing at once (a unique index held): the loser's
        # answer, nothing of it written
        log.info("conflict on %s %s: %s", request.method, request.path, err.orig)
        return _render(409, _messages()[409])
    if isinstance(err, HTTPException) and (err.code or 500) < 500:
        return _render(err.code, _messages().get(err.code, err.name))
    if isinstance(err, InternalServerError) and err.original_exception is not None:
        err = err.original_exception
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=err)
    return _render(500, _messages()[500])


def register_error_handlers(app) -> None:
    for kind in (CSRFError, DomainError, IntegrityError, HTTPException, Exception):
        app.register_error_handler(kind, answer_for)
