"""The JSON API under /api/v1, on flask-smorest.

Each feature has one ``Blueprint`` in its ``api.py``; ``init_app`` registers them all.

- **Input**: ``@blp.arguments(Schema)`` (JSON body) or ``@blp.arguments(Schema,
  location="query")`` loads and validates what the caller sent. A bad value is a 400
  ``validation_failed`` whose ``fields`` name each problem — one error shape, in the
  caller's language (``Parser``). Schemas derive from ``app.api.schemas.Input``.
- **Output**: ``@blp.response(status, Schema)`` dumps what the view returns; lists use
  ``page_of`` and a ``page_schema`` (``{"items", "page", "per_page", "total"}``).
- **Errors** are answered by ``app.error_pages`` for the whole app (JSON under /api/,
  pages elsewhere), never by flask-smorest's own handler; ``@fails(403, 404, 409)``
  documents the ones an operation may give. Every operation may answer 401.
- **Authentication**: ``Authorization: Bearer <token>`` on every endpoint except the
  OpenAPI document (``/api/v1/openapi.json``). Bearer tokens are not ambient
  credentials, so the API is exempt from CSRF.
- The OpenAPI document is generated from the routes and schemas; no YAML in docstrings.
"""

from __future__ import annotations

import http
import threading
from copy import deepcopy
from typing import ClassVar

from flask import g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from sqlalchemy import func, select
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

from app.api.schemas import ErrorSchema
from app.error_pages import json_error
from app.errors import N_, PermissionDenied, ValidationFailed
from app.extensions import csrf, db
from app.i18n import translate

MAX_PER_PAGE = 200


class Api(SmorestApi):
    """flask-smorest's Api, documenting errors with the house error shape and leaving
    their handling to ``app.error_pages`` (flask-smorest would answer every HTTP error of
    the whole app, HTML pages included, in its own shape).

    The operations of the OpenAPI document are written the first time the document is
    read (``api.spec``: /api/v1/openapi.json, ``flask openapi``), not when a blueprint is
    registered: that work was two fifths of ``create_app()``, which every test, command
    and worker pays, while few of them ever read the document. The document is the same,
    in the same order."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args, **kwargs):
        self._spec = None
        self._unwritten: list[tuple] = []  # (blueprint, name, parameters), in order
        self._writing = threading.RLock()
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        """The OpenAPI document (``apispec.APISpec``), with every registered operation."""
        with self._writing:  # a concurrent first reader waits for the whole document
            unwritten, self._unwritten = self._unwritten, []
            for blp, name, parameters in unwritten:
                blp.register_views_in_doc(
                    self, self._app, self._spec, name=name, parameters=parameters
                )
                self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options):
        """flask-smorest's, with the blueprint's operations left for the first read of
        ``spec``."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        with self._writing:
            self._unwritten.append((blp, name, parameters))

    def _register_error_handlers(self):
        """Errors are answered by ``app.error_pages``."""


# What marshmallow says about a field → the house's short problem (a message id).
_PROBLEMS = {
    "Missing data for required field.": N_("required"),
    "Field may not be null.": N_("required"),
    "Unknown field.": N_("unknown field"),
    "Not a valid string.": N_("must be text"),
    "Not a valid integer.": N_("must be a whole number"),
    "Not a valid number.": N_("must be a number"),
    "Not a valid boolean.": N_("must be true or false"),
    "Not a valid date.": N_("must be a date (YYYY-MM-DD)"),
    "Not a valid list.": N_("must be a list"),
    "Not a valid mapping type.": N_("must be an object"),
    "Invalid input type.": N_("must be an object"),  # a nested schema's value
    # Input._no_nul: a NUL character or a lone surrogate
    "Contains a NUL character.": N_("invalid character"),
}


def _problem(messages) -> str:
    """The house problem of one field's marshmallow messages (a list of strings)."""
    first = messages[0] if isinstance(messages, list) and messages else messages
    if isinstance(first, str):
        if first in _PROBLEMS:
            return _PROBLEMS[first]
        if first.startswith("Must be one of") or first.startswith("Must be equal to"):
            return N_("not one of the choices")
        if first.startswith("Longer than maximum length") or first.startswith("Length must"):
            return N_("too long") if "maximum" in first else N_("invalid")
        if first.startswith("Must be greater than or equal"):
            return N_("below the minimum")
        if first.startswith("Must be less than or equal"):
            return N_("above the maximum")
    return N_("invalid")


def field_problems(messages: dict, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested error messages → {"field.0.sub": problem}, one per field."""
    out: dict[str, str] = {}
    for name, value in messages.items():
        # a nested object that is not one ("_schema" under its name) is that field's problem
        key = prefix.rstrip(".") if name == "_schema" and prefix else f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(field_problems(value, f"{key}."))
        else:
            out[key] = _problem(value)
    return out


class Parser(FlaskParser):
    """webargs's parser with the house's error: 400 ``validation_failed`` naming the
    fields (not webargs's 422 with marshmallow's English)."""

    DEFAULT_VALIDATION_STATUS = 400

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise ValidationFailed(
            N_("The request body must be a JSON object."), fields={"body": N_("invalid")}
        )

    def _raw_load_json(self, req):
        """The JSON body; nested deeper than the parser can follow (``[[[…]]]`` 100,000
        deep) it is no JSON object either (a ``RecursionError`` was a 500)."""
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            return self._handle_invalid_json_error(exc, req)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.normalized_messages()
        # namespaced by location: {"json": {...}}, {"query": {...}}
        flat: dict = {}
        for value in messages.values():
            flat.update(value if isinstance(value, dict) else {"_schema": value})
        if "_schema" in flat:
            raise ValidationFailed(
                N_("The request body must be a JSON object."), fields={"body": N_("invalid")}
            )
        raise ValidationFailed(
            N_("Some fields are missing or invalid."), fields=field_problems(flat)
        )


# Whose a bearer token is: (session, token) → the active user, or None. The auth feature,
# which keeps the tokens, plugs it in (it builds on this core module, not the other way).
_token_user = None


def set_token_user(loader) -> None:
    global _token_user
    _token_user = loader


def authenticate_bearer():
    """Every API endpoint needs ``Authorization: Bearer <token>``; the request's user is
    the token's (the API never reads the session cookie)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip() and _token_user is not None:
        user = _token_user(db.session, token.strip())
    if user is None:
        db.session.rollback()
        response, status = json_error(
            401, "unauthorized", translate(N_("A valid API token is required."))
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="qdms"'
        return response, status
    # Flask-Login reads the request's user from g; the API never touches the session cookie.
    g._login_user = user
    return None


class Blueprint(SmorestBlueprint):
    """A feature's part of the API, under /api/v1, tagged ``tag`` in the OpenAPI
    document; every endpoint authenticates the bearer token first."""

    ARGUMENTS_PARSER = Parser()
    # a body read as JSON, or as the fields of a multipart form (with a file: upload_doc)
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **SmorestBlueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "json_or_form": "application/json",
    }

    def __init__(self, name: str, import_name: str, *, tag: str, description: str = ""):
        super().__init__(name, import_name, url_prefix="/api/v1", description=description)
        self.tag = tag
        self.before_request(authenticate_bearer)

    def route(self, rule, *, parameters=None, tags=None, **options):
        register = super().route(rule, parameters=parameters, tags=tags or [self.tag], **options)

        return lambda func: register(_document_errors(func, (401,)))


def _document_errors(func, codes):
    """Add error answers (in the house error shape) to the OpenAPI operation of ``func``."""
    doc = deepcopy(getattr(func, "_apidoc", {}))
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for code in codes:
        responses.setdefault(code, []).append(http.HTTPStatus(code).name)
    func._apidoc = doc
    return func


def fails(*codes: int):
    """Document the error answers an operation may give (403, 404, 409 …). 400 is
    documented by ``@blp.arguments``, 401 for every operation."""
    return lambda func: _document_errors(func, codes)


FILE_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def files(*kinds: str, description: str = "the file"):
    """Document that an operation answers 200 with a file of one of ``kinds`` (csv, xlsx,
    pdf, docx) — the register exports, the PDFs, the stored sources."""

    def decorator(func):
        doc = deepcopy(getattr(func, "_apidoc", {}))
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        for kind in kinds:
            responses.setdefault(200, []).append(
                {
                    "description": description,
                    "content_type": FILE_TYPES[kind],
                    "schema": {"type": "string", "format": "binary"},
                }
            )
        doc.setdefault("success_status_codes", []).append(200)
        func._apidoc = doc
        return func

    return decorator


def upload_doc(schema: type, *, file_field: str = "file", required: bool = False):
    """Document that an operation also takes its body as multipart/form-data: the fields of
    ``schema`` plus the uploaded ``file_field`` (the view reads it from ``request.files``),
    and that it may answer 413."""
    name = schema.__name__.removesuffix("Schema")
    upload = {
        "type": "object",
        "properties": {file_field: {"type": "string", "format": "binary"}},
    }
    if required:
        upload["required"] = [file_field]
    body = {"allOf": [{"$ref": f"#/components/schemas/{name}"}, upload]}
    document = SmorestBlueprint.doc(
        requestBody={"content": {"multipart/form-data": {"schema": body}}}
    )
    # a body over QDMS_MAX_UPLOAD_MB, or a .docx over QDMS_DOCX_MAX_UNCOMPRESSED_MB: 413
    return lambda func: _document_errors(document(func), (413,))


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id in a path — ASCII digits up to 2^31 − 1 (a larger number
    is no row, and PostgreSQL's integer cannot hold it): anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map):
        super().__init__(url_map, max=2**31 - 1)


def allow(permitted: bool) -> None:
    """Authorise: a 403 in the house error shape unless ``permitted``."""
    if not permitted:
        raise PermissionDenied(N_("You do not have permission to do this."))


def page_of(stmt, args: dict) -> dict:
    """One page of ``stmt`` (its items as loaded objects) in the list shape of docs/API.md; dump
    it with a ``page_schema``. ``args`` holds ``page`` and ``per_page`` (``PageArgs``)."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def init_app(app, blueprints) -> Api:
    """The API of ``app``: the OpenAPI document at /api/v1/openapi.json and every feature's
    blueprint. One ``Api`` per app (the tests make many apps)."""
    app.url_map.converters["id"] = IdConverter
    app.config.setdefault("API_TITLE", "qdms API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(
        app,
        spec_kwargs={
            "info": {"description": "Document control and ISO 9001 quality-system manager."},
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}],
        },
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for blp in blueprints:
        csrf.exempt(blp)  # bearer tokens are not ambient credentials
        api.register_blueprint(blp)
    return api
