"""People endpoints of the JSON API."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import select

from app.api import Blueprint, allow, fails, page_of
from app.api.schemas import PageArgs, PageSchema, UTCTime, page_schema
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
    class Meta:
        unknown = INCLUDE  # documented as open: administrators see UserDetail's fields too

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


DepartmentPageSchema = page_schema(DepartmentSchema, "DepartmentPageSchema")


class DirectoryEntries(fields.List):
    """The users of the directory: administrators see their details too (UserDetail)."""

    def __init__(self, **kwargs):
        super().__init__(fields.Nested(UserSchema), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        schema = UserDetailSchema if can_manage_people(current_user) else UserSchema
        return schema(many=True).dump(value)


class UserPageSchema(PageSchema):
    items = DirectoryEntries(
        metadata={"description": "administrators also see email, language and times"}
    )


class UserListArgs(PageArgs):
    department = fields.String(metadata={"description": "department code"})
    active = fields.Boolean(load_default=False, metadata={"description": "only active users"})


blp = Blueprint("people_api", __name__, tag="people")


@blp.get("/me")
@blp.response(200, UserDetailSchema)
def me():
    """The user the token belongs to."""
    return current_user


@blp.get("/departments")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DepartmentPageSchema)
def list_departments(args):
    """Departments, by code."""
    return page_of(select(Department).order_by(Department.code), args)


@blp.get("/users")
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPageSchema)
@fails(403, 404)
def list_users(args):
    """The user directory; administrators also see e-mail and language.

    404: no department with that code."""
    allow(can_list_users(current_user))
    stmt = select(User).order_by(User.username)
    if args.get("department"):
        dept = services.get_department(db.session, args["department"])
        stmt = stmt.where(User.department_id == dept.id)
    if args["active"]:
        stmt = stmt.where(User.is_active.is_(True))
    return page_of(stmt, args)
