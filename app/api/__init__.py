"""The JSON API under /api/v1: bearer authentication, error shape, pagination.

Feature packages add their endpoints to ``bp`` in their own ``api.py``. Every view
function carries an OpenAPI operation in its docstring (after ``---``) and serialises
with marshmallow schemas; ``app.api.openapi`` builds the document from both.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from app.errors import N_, ValidationFailed
from app.extensions import db
from app.i18n import translate

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}
MAX_PER_PAGE = 200


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


@bp.before_request
def authenticate_bearer():
    """Every endpoint except the OpenAPI document needs ``Authorization: Bearer <token>``."""
    from app.auth.services import user_for_token

    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = user_for_token(db.session, token.strip())
    if user is None:
        db.session.rollback()
        message = translate(N_("A valid API token is required."))
        response, status = json_error(401, "unauthorized", message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="qdms"'
        return response, status
    if db.session.dirty:
        db.session.commit()  # last_used_at
    # Flask-Login reads the request's user from g; the API never touches the session cookie.
    g._login_user = user
    return None


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        raise ValidationFailed(
            N_("%(name)s must be a whole number from %(lo)s to %(hi)s."),
            fields={name: N_("invalid")},
            name=name,
            lo=minimum,
            hi=maximum or "∞",
        )
    return value


def paginate(stmt, dump) -> dict:
    """Run ``stmt`` one page at a time; the answer has the API.md list shape."""
    page = query_int("page", 1)
    per_page = query_int("per_page", 50, maximum=MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    return {"items": [dump(r) for r in rows], "page": page, "per_page": per_page, "total": total}
