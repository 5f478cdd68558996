"""Record plan and records endpoints of the JSON API (docs/API.md, "Records")."""

from __future__ import annotations

import json

from flask import current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api import Blueprint, allow, fails, files, page_of, upload_doc
from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db
from app.records import exports, permissions, services
from app.records.models import (
    CONFIDENTIALITY,
    MEDIA,
    RETENTION_FROM,
    STATUSES,
    Record,
    RecordType,
)
from app.storage import get_store
from app.tables import MIMETYPES
from app.web import checked_scan

# Output -------------------------------------------------------------------------


class RecordTypeSchema(Schema):
    code = fields.String(metadata={"example": "QP-CS-001-F01"})
    name = fields.String()
    name_en = fields.String(allow_none=True)
    department = fields.Function(lambda t: t.department.code)
    retention = fields.Function(
        lambda t: {"years": t.retention_years, "from": t.retention_from},
        metadata={"example": {"years": 3, "from": "created"}},
    )
    medium = fields.String(metadata={"enum": list(MEDIA)})
    location = fields.String(allow_none=True)
    confidentiality = fields.String(metadata={"enum": list(CONFIDENTIALITY)})
    active = fields.Boolean(attribute="is_active")
    form_version = fields.Function(lambda t: t.schema.version)
    fields_ = fields.Function(
        lambda t: t.schema.fields, data_key="fields", metadata={"description": "the form"}
    )


RecordTypePageSchema = page_schema(RecordTypeSchema, "RecordTypePageSchema")


class AmendmentSchema(Schema):
    values = fields.Dict()
    reason = fields.String()
    username = fields.Function(lambda a: a.user.username)
    at = UTCTime()
    signed = fields.Function(lambda a: a.signature_id is not None)


class RecordSchema(Schema):
    number = fields.String(metadata={"example": "QP-CS-001-F01-2026-0001"})
    type = fields.Function(lambda r: r.record_type.code)
    title = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    department = fields.Function(lambda r: r.department.code)
    form_version = fields.Function(lambda r: r.schema.version)
    values = fields.Dict(metadata={"description": "as filed (amendments listed apart)"})
    current_values = fields.Dict(metadata={"description": "with the amendments applied"})
    scan = fields.Function(
        lambda r: {"sha256": r.scan_sha256, "name": r.scan_name} if r.scan_sha256 else None
    )
    created_by = fields.Function(lambda r: r.created_by.username)
    created_at = UTCTime()
    completed_by = fields.Function(lambda r: r.completed_by.username if r.completed_by else None)
    completed_at = UTCTime()
    sha256 = fields.String(attribute="content_sha256", allow_none=True)
    retain_until = fields.Date(allow_none=True)
    amendments = fields.List(fields.Nested(AmendmentSchema))


class RecordListItemSchema(RecordSchema):
    class Meta:
        exclude = ("values", "current_values", "amendments")


RecordPageSchema = page_schema(RecordListItemSchema, "RecordPageSchema")


# Input --------------------------------------------------------------------------


class Values(fields.Dict):
    """A record's values: a JSON object (in a multipart form, its JSON text), checked by
    the records service against the type's form, which names each field's problem."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise self.make_error("invalid") from None
            if _holds_nul(value):  # Input saw the JSON text, where a NUL is only an escape
                raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _holds_nul(value) -> bool:
    """Does a JSON value hold a NUL character (which PostgreSQL cannot store), however deep?"""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class RetentionInput(Input):
    years = fields.Integer(metadata={"minimum": 1, "example": 3})
    from_ = fields.String(
        data_key="from", attribute="from", metadata={"enum": list(RETENTION_FROM)}
    )


class RecordTypeChangeInput(Input):
    """What a PATCH changes: only the fields given."""

    code = fields.String(metadata={"description": "cannot change (records are numbered by it)"})
    name = fields.String(metadata={"description": "at most 200 characters"})
    name_en = fields.String(allow_none=True)
    department = fields.String(metadata={"description": "department code"})
    retention = fields.Nested(RetentionInput)
    medium = fields.String(allow_none=True, metadata={"enum": list(MEDIA)})
    location = fields.String(allow_none=True)
    confidentiality = fields.String(
        allow_none=True,
        metadata={
            "enum": list(CONFIDENTIALITY),
            "description": "confidential (the default): the owning department, officers, "
            "auditors and administrators read its records; internal: everyone signed in",
        },
    )
    fields_ = fields.List(
        fields.Raw(metadata={"type": "object"}),
        data_key="fields",
        attribute="fields",
        metadata={"description": "the form: its fields (app/records/fields.py)"},
    )
    active = fields.Boolean(metadata={"description": "false retires the type"})


class RecordTypeInput(RecordTypeChangeInput):
    code = fields.String(required=True, metadata={"example": "QP-CS-001-F01"})
    name = fields.String(required=True)
    department = fields.String(required=True, metadata={"description": "department code"})
    retention = fields.Nested(RetentionInput, required=True)
    fields_ = fields.List(
        fields.Raw(metadata={"type": "object"}),
        required=True,
        data_key="fields",
        attribute="fields",
        metadata={"description": "the form: its fields (app/records/fields.py)"},
    )


class RecordPlanArgs(Input):
    format = fields.String(required=True, validate=validate.OneOf(list(MIMETYPES)))


class RecordListArgs(PageArgs):
    type = fields.String(metadata={"description": "record type code"})
    year = fields.Integer(validate=validate.Range(min=0, max=9999))
    status = fields.String(metadata={"enum": list(STATUSES)})
    q = fields.String(metadata={"description": "number or title"})


class RecordChangeInput(Input):
    values = Values(
        load_default=None,
        metadata={"description": "by field name; in a multipart form, as JSON text"},
    )
    title = fields.String(load_default=None)
    password = fields.String(
        load_default=None,
        metadata={"format": "password", "description": "to sign signature fields (`true`)"},
    )


class RecordInput(RecordChangeInput):
    type = fields.String(required=True, metadata={"description": "record type code"})
    complete = fields.Boolean(
        load_default=False, metadata={"description": "complete at once (all required fields)"}
    )


class AmendmentInput(Input):
    values = Values(load_default=None, metadata={"description": "the corrected fields"})
    reason = fields.String(load_default=None, metadata={"description": "required"})
    password = fields.String(
        load_default=None,
        metadata={"format": "password", "description": "to sign a signature field again"},
    )


def _files() -> tuple[object, dict]:
    """The uploaded scan (``file``) and the files of file fields (``files.<field>``)."""
    scan = checked_scan(request.files.get("file"))
    attached = {}
    for key, storage in request.files.items():
        if key.startswith("files."):
            checked = checked_scan(storage)
            if checked is not None:
                attached[key[len("files.") :]] = checked
    return scan, attached


def _load_record(number: str) -> Record:
    record = services.get_record(db.session, number)
    if not permissions.can_view_record(current_user, record):
        raise NotFound(N_("No record %(number)s."), number=number)  # never reveal it
    return record


def _plan_data(body: dict) -> dict:
    """The loaded body as the records service takes it (``active`` is ``is_active``)."""
    data = dict(body)
    if "active" in data:
        data["is_active"] = data.pop("active")
    return data


# Record plan --------------------------------------------------------------------

blp = Blueprint("records_api", __name__, tag="records")


@blp.get("/record-types")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RecordTypePageSchema)
@fails(403)
def list_record_types(args):
    """The record plan (记录清单): every record type with its current form."""
    allow(permissions.can_view_plan(current_user))
    return page_of(select(RecordType).order_by(RecordType.code), args)


@blp.get("/record-plan")
@blp.arguments(RecordPlanArgs, location="query")
@files("csv", "xlsx", "pdf", description="the record plan in the `format` asked for")
@fails(403)
def record_plan(args):
    """The record plan as a register: CSV, .xlsx or PDF (JSON: `GET /record-types`)."""
    allow(permissions.can_view_plan(current_user))
    types = services.list_types(db.session)
    return exports.plan_download(types, services.count_by_type(db.session), args["format"])


@blp.post("/record-types")
@blp.arguments(RecordTypeInput)
@blp.response(201, RecordTypeSchema)
@fails(403)
def create_record_type(body):
    """Add a record type to the plan with its form (officers)."""
    allow(permissions.can_manage_plan(current_user))
    return services.create_type(db.session, current_user, _plan_data(body))


@blp.get("/record-types/<code>")
@blp.response(200, RecordTypeSchema)
@fails(403, 404)
def get_record_type(code: str):
    """One record type with its current form."""
    allow(permissions.can_view_plan(current_user))
    return services.get_type(db.session, code)


@blp.patch("/record-types/<code>")
@blp.arguments(RecordTypeChangeInput)
@blp.response(200, RecordTypeSchema)
@fails(403, 404)
def update_record_type(body, code: str):
    """Change a record type (not its code).

    Only the fields given change. A changed `fields` is a new form version (records
    already filed keep theirs); `active: false` retires the type."""
    allow(permissions.can_manage_plan(current_user))
    rtype = services.get_type(db.session, code)
    return services.update_type(db.session, current_user, rtype, _plan_data(body))


# Records ------------------------------------------------------------------------


@blp.get("/records")
@blp.arguments(RecordListArgs, location="query")
@blp.response(200, RecordPageSchema)
@fails(403)
def list_records(args):
    """Records the reader may see, newest first, filtered by type, year, status or `q`."""
    allow(permissions.can_view_plan(current_user))
    type_code = args.get("type") or None
    stmt = services.list_stmt(
        type_code=type_code,
        year=args.get("year") or None,
        status=args.get("status") or None,
        q=args.get("q"),
    )
    stmt = services.visible_to(db.session, stmt, current_user, type_code=type_code)
    return page_of(stmt, args)


@blp.post("/records")
@blp.arguments(RecordInput, location="json_or_form")
@blp.response(201, RecordSchema)
@upload_doc(RecordInput)
@fails(403, 409)
def file_record(body):
    """File a record.

    JSON `{"type", "values", "title"?, "complete"?, "password"?}`, or multipart with the
    same fields (`values` as JSON text), a scan in `file` (PDF, JPEG or PNG) and the files
    of file fields in `files.<field>`. Signature fields are signed by the caller: give
    `true` and the `password`. Missing or invalid fields: 400 naming them. 409: the type
    is retired."""
    code = body["type"].strip()
    if not code:
        raise ValidationFailed(
            N_("Some fields are missing or invalid."), fields={"type": N_("required")}
        )
    try:
        rtype = services.get_type(db.session, code)
    except NotFound:
        raise ValidationFailed(
            N_("No record type %(code)s."), fields={"type": N_("invalid")}, code=code
        ) from None
    allow(permissions.can_file(current_user, rtype))
    scan, attached = _files()
    return services.file_record(
        db.session,
        get_store(current_app),
        current_user,
        rtype,
        body["values"],
        title=body["title"],
        scan=scan,
        files=attached,
        password=body["password"],
        complete=body["complete"],
    )


@blp.get("/records/<number>")
@blp.response(200, RecordSchema)
@fails(404)
def get_record(number: str):
    """One record with its values as filed and its amendments."""
    return _load_record(number)


@blp.route("/records/<number>", methods=["PUT", "PATCH"])
@blp.arguments(RecordChangeInput, location="json_or_form")
@blp.response(200, RecordSchema)
@upload_doc(RecordChangeInput)
@fails(403, 404, 409)
def update_record(body, number: str):
    """Change a draft record (its values, title, scan).

    PUT replaces the values (those left out are emptied), PATCH changes only the fields
    given. A complete record refuses: 409 `invalid_transition` — correct it with an
    amendment."""
    record = _load_record(number)
    services.must_be_draft(record)  # 409 before 403: the state is the answer
    allow(permissions.can_edit_draft(current_user, record))
    values = body["values"]
    if request.method == "PATCH":  # only the fields given change
        values = {**record.values, **(values or {})}
    scan, attached = _files()
    return services.update_draft(
        db.session,
        get_store(current_app),
        current_user,
        record,
        values,
        title=body["title"],
        scan=scan,
        files=attached,
        password=body["password"],
    )


@blp.post("/records/<number>/complete")
@blp.response(200, RecordSchema)
@fails(403, 404, 409)
def complete_record(number: str):
    """Complete a draft: every required field filled (or a scan); it becomes immutable."""
    record = _load_record(number)
    services.must_be_draft(record)
    allow(permissions.can_edit_draft(current_user, record))
    return services.complete_record(db.session, current_user, record)


@blp.post("/records/<number>/amendments")
@blp.arguments(AmendmentInput)
@blp.response(201, AmendmentSchema)
@fails(403, 404, 409)
def amend_record(body, number: str):
    """Correct a complete record: `values` (the corrected fields) and a `reason`.

    A signature field is signed again with `true` and the `password`."""
    record = _load_record(number)
    services.must_be_complete(record)
    allow(permissions.can_amend(current_user, record))
    return services.amend(
        db.session,
        current_user,
        record,
        body["values"],
        body["reason"],
        password=body["password"],
    )
