"""People endpoints of the JSON API."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import select

from app.api import bp, paginate
from app.api.schemas import PageSchema, UTCTime
from app.extensions import db
from app.people import services
from app.people.models import Department, User
from app.people.permissions import can_list_users, can_manage_people


class DepartmentSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    head = fields.Function(lambda d: d.head.username if d.head else None)
    is_active = fields.Boolean()


class UserSchema(Schema):
    username = fields.String()
    full_name = fields.String()
    department = fields.Function(lambda u: u.department.code if u.department else None)
    roles = fields.List(fields.String())
    is_active = fields.Boolean()


class UserDetailSchema(UserSchema):
    email = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    last_login_at = UTCTime()
    created_at = UTCTime()


class DepartmentPageSchema(PageSchema):
    items = fields.List(fields.Nested(DepartmentSchema))


class UserPageSchema(PageSchema):
    items = fields.List(fields.Nested(UserSchema))


@bp.get("/me")
def me():
    """The user the token belongs to.
    ---
    get:
      tags: [people]
      responses:
        200:
          content:
            application/json:
              schema: UserDetailSchema
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    return jsonify(UserDetailSchema().dump(current_user))


@bp.get("/departments")
def list_departments():
    """Departments, by code.
    ---
    get:
      tags: [people]
      parameters:
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: DepartmentPageSchema
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    return jsonify(paginate(select(Department).order_by(Department.code), DepartmentSchema().dump))


@bp.get("/users")
def list_users():
    """The user directory; administrators also see e-mail and language.
    ---
    get:
      tags: [people]
      parameters:
        - {in: query, name: department, schema: {type: string}, description: department code}
        - {in: query, name: active, schema: {type: boolean}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: UserPageSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    if not can_list_users(current_user):
        abort(403)
    stmt = select(User).order_by(User.username)
    if request.args.get("department"):
        dept = services.get_department(db.session, request.args["department"])
        stmt = stmt.where(User.department_id == dept.id)
    if request.args.get("active") in ("true", "1"):
        stmt = stmt.where(User.is_active.is_(True))
    schema = UserDetailSchema() if can_manage_people(current_user) else UserSchema()
    return jsonify(paginate(stmt, schema.dump))
