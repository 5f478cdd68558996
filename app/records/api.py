"""Record plan and records endpoints of the JSON API (API.md "Records, retention")."""

from __future__ import annotations

import json

from flask import current_app, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import select

from app.api import bp, paginate, query_int
from app.api.inputs import allow, body, flag, text
from app.api.schemas import PageSchema, UTCTime
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db
from app.records import permissions, services
from app.records.models import Record, RecordType
from app.storage import get_store
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
    medium = fields.String(metadata={"enum": ["electronic", "paper", "both"]})
    location = fields.String(allow_none=True)
    confidentiality = fields.String(metadata={"enum": ["internal", "confidential"]})
    active = fields.Boolean(attribute="is_active")
    form_version = fields.Function(lambda t: t.schema.version)
    fields_ = fields.Function(
        lambda t: t.schema.fields, data_key="fields", metadata={"description": "the form"}
    )


class RecordTypePageSchema(PageSchema):
    items = fields.List(fields.Nested(RecordTypeSchema))


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
    status = fields.String(metadata={"enum": ["draft", "complete", "destroyed"]})
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


class RecordPageSchema(PageSchema):
    items = fields.List(fields.Nested(RecordListItemSchema))


# Input --------------------------------------------------------------------------


def _values(data: dict, name: str = "values") -> dict | None:
    """``values`` as an object (JSON) or a JSON text (a multipart form field)."""
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise ValidationFailed(N_("The values must be an object."), fields={name: N_("invalid")})
    return value


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


# Record plan --------------------------------------------------------------------


@bp.get("/record-types")
def list_record_types():
    """The record plan (记录清单): every record type with its current form.
    ---
    get:
      tags: [records]
      parameters:
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: RecordTypePageSchema
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    allow(permissions.can_view_plan(current_user))
    stmt = select(RecordType).order_by(RecordType.code)
    return jsonify(paginate(stmt, RecordTypeSchema().dump))


@bp.get("/record-plan")
def record_plan():
    """The record plan as a register: CSV, .xlsx or PDF (JSON: `GET /record-types`).
    ---
    get:
      tags: [records]
      parameters:
        - {in: query, name: format, required: true, schema: {type: string, enum: [csv, xlsx, pdf]}}
      responses:
        200:
          content:
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            application/pdf: {}
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    from app.records import exports

    allow(permissions.can_view_plan(current_user))
    fmt = request.args.get("format") or ""
    types = services.list_types(db.session)
    return exports.plan_download(types, services.count_by_type(db.session), fmt)


@bp.post("/record-types")
def create_record_type():
    """Add a record type to the plan with its form (officers).
    ---
    post:
      tags: [records]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [code, name, department, retention, fields]
              properties:
                code: {type: string, example: QP-CS-001-F01}
                name: {type: string}
                department: {type: string, description: department code}
                retention: {type: object, example: {"years": 3, "from": "created"}}
                medium: {type: string, enum: [electronic, paper, both]}
                location: {type: string}
                confidentiality:
                  type: string
                  enum: [internal, confidential]
                  default: confidential
                  description: >-
                    confidential: the owning department, officers, auditors and administrators
                    read its records; internal: everyone signed in
                fields: {type: array, items: {type: object}, description: "the form (app/records/fields.py)"}
      responses:
        201:
          content:
            application/json:
              schema: RecordTypeSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
    """  # noqa: E501
    allow(permissions.can_manage_plan(current_user))
    rtype = services.create_type(db.session, current_user, body())
    db.session.commit()
    return jsonify(RecordTypeSchema().dump(rtype)), 201


@bp.get("/record-types/<code>")
def get_record_type(code: str):
    """One record type with its current form.
    ---
    get:
      tags: [records]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: RecordTypeSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    allow(permissions.can_view_plan(current_user))
    return jsonify(RecordTypeSchema().dump(services.get_type(db.session, code)))


@bp.patch("/record-types/<code>")
def update_record_type(code: str):
    """Change a record type (not its code); a changed `fields` is a new form version,
    records already filed keep theirs. `active: false` retires the type.
    ---
    patch:
      tags: [records]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        200:
          content:
            application/json:
              schema: RecordTypeSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    allow(permissions.can_manage_plan(current_user))
    rtype = services.get_type(db.session, code)
    data = body()
    if "active" in data:
        data["is_active"] = data.pop("active")
    services.update_type(db.session, current_user, rtype, data)
    db.session.commit()
    return jsonify(RecordTypeSchema().dump(rtype))


# Records ------------------------------------------------------------------------


@bp.get("/records")
def list_records():
    """Records the reader may see, newest first, filtered by type, year, status or `q`
    (number or title).
    ---
    get:
      tags: [records]
      parameters:
        - {in: query, name: type, schema: {type: string}, description: record type code}
        - {in: query, name: year, schema: {type: integer}}
        - {in: query, name: status, schema: {type: string, enum: [draft, complete, destroyed]}}
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: RecordPageSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    allow(permissions.can_view_plan(current_user))
    year = query_int("year", 0, minimum=0, maximum=9999) or None
    type_code = request.args.get("type") or None
    stmt = services.list_stmt(
        type_code=type_code,
        year=year,
        status=request.args.get("status") or None,
        q=request.args.get("q"),
    )
    stmt = services.visible_to(db.session, stmt, current_user, type_code=type_code)
    return jsonify(paginate(stmt, RecordListItemSchema().dump))


@bp.post("/records")
def file_record():
    """File a record: JSON `{"type", "values", "title"?, "complete"?, "password"?}`, or
    multipart with the same fields (`values` as JSON text), a scan in `file` and the files
    of file fields in `files.<field>`. Signature fields are signed by the caller: give
    `true` and the `password`. Missing or invalid fields: 400 naming them.
    ---
    post:
      tags: [records]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [type]
              properties:
                type: {type: string, description: record type code}
                values: {type: object}
                title: {type: string}
                complete: {type: boolean, description: complete at once (all required fields)}
                password: {type: string, description: to sign signature fields}
          multipart/form-data:
            schema:
              type: object
              properties:
                type: {type: string}
                values: {type: string, description: JSON object}
                file: {type: string, format: binary, description: "scan: PDF, JPEG or PNG"}
      responses:
        201:
          content:
            application/json:
              schema: RecordSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    data = body()
    code = text(data, "type")
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
    record = services.file_record(
        db.session,
        get_store(current_app),
        current_user,
        rtype,
        _values(data),
        title=text(data, "title"),
        scan=scan,
        files=attached,
        password=text(data, "password"),
        complete=flag(data, "complete"),
    )
    db.session.commit()
    return jsonify(RecordSchema().dump(record)), 201


@bp.get("/records/<number>")
def get_record(number: str):
    """One record with its values as filed and its amendments.
    ---
    get:
      tags: [records]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: QP-CS-001-F01-2026-0001}
      responses:
        200:
          content:
            application/json:
              schema: RecordSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """  # noqa: E501
    return jsonify(RecordSchema().dump(_load_record(number)))


@bp.route("/records/<number>", methods=["PUT", "PATCH"])
def update_record(number: str):
    """Change a draft record (its values, title, scan). A complete record refuses: 409
    `invalid_transition` — correct it with an amendment.
    ---
    put:
      tags: [records]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: RecordSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/InvalidTransition'
    patch:
      tags: [records]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: RecordSchema
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    record = _load_record(number)
    services.must_be_draft(record)  # 409 before 403: the state is the answer
    allow(permissions.can_edit_draft(current_user, record))
    data = body()
    values = _values(data)
    if request.method == "PATCH":  # only the fields given change
        values = {**record.values, **(values or {})}
    scan, attached = _files()
    services.update_draft(
        db.session,
        get_store(current_app),
        current_user,
        record,
        values,
        title=text(data, "title"),
        scan=scan,
        files=attached,
        password=text(data, "password"),
    )
    db.session.commit()
    return jsonify(RecordSchema().dump(record))


@bp.post("/records/<number>/complete")
def complete_record(number: str):
    """Complete a draft: every required field filled (or a scan); it becomes immutable.
    ---
    post:
      tags: [records]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: RecordSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    record = _load_record(number)
    services.must_be_draft(record)
    allow(permissions.can_edit_draft(current_user, record))
    services.complete_record(db.session, current_user, record)
    db.session.commit()
    return jsonify(RecordSchema().dump(record))


@bp.post("/records/<number>/amendments")
def amend_record(number: str):
    """Correct a complete record: `values` (the corrected fields) and a `reason`; a
    signature field is signed again with `true` and the `password`.
    ---
    post:
      tags: [records]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [values, reason]
              properties:
                values: {type: object}
                reason: {type: string}
                password: {type: string}
      responses:
        201:
          content:
            application/json:
              schema: AmendmentSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/InvalidTransition'
    """
    record = _load_record(number)
    services.must_be_complete(record)
    allow(permissions.can_amend(current_user, record))
    data = body()
    amendment = services.amend(
        db.session,
        current_user,
        record,
        _values(data),
        text(data, "reason"),
        password=text(data, "password"),
    )
    db.session.commit()
    return jsonify(AmendmentSchema().dump(amendment)), 201
