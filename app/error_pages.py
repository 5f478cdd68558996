"""Error pages in the user's language; JSON errors under /api/. Never a traceback."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api import json_error
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


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        db.session.rollback()
        return _render(
            400, _("The form has expired or was not sent from this site. Please try again.")
        )

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        db.session.rollback()
        message = translate_error(err)
        if _wants_json():
            return json_error(err.status, err.code, message, translate_fields(err) or None)
        return _render(err.status, message)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        db.session.rollback()
        status = err.code or 500
        if status >= 500:
            return server_error(err)
        return _render(status, _messages().get(status, err.name))

    @app.errorhandler(Exception)
    def server_error(err):
        if isinstance(err, InternalServerError) and err.original_exception is not None:
            err = err.original_exception
        log.exception("unhandled error on %s %s", request.method, request.path, exc_info=err)
        db.session.rollback()
        return _render(500, _messages()[500])
