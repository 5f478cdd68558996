"""External-documents endpoints of the JSON API (the register of 外来文件)."""

from __future__ import annotations

import io

from flask import abort, current_app, jsonify, request, send_file
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from app.api import bp, paginate
from app.api.schemas import PageSchema, UTCTime
from app.documents.permissions import visible_documents
from app.errors import N_, ValidationFailed
from app.extensions import db, local_today
from app.external import services
from app.external.models import FILE_MIMETYPES, ExternalDocument
from app.external.permissions import can_manage_external, can_view_external
from app.storage import get_store
from app.web import checked_upload

# Output -------------------------------------------------------------------------


class ExternalEditionSchema(Schema):
    id = fields.Integer()
    edition = fields.String()
    reference = fields.String()
    status = fields.String(metadata={"enum": ["current", "superseded"]})
    published_on = fields.Date(allow_none=True)
    effective_on = fields.Date(allow_none=True)
    received_on = fields.Date()
    sha256 = fields.String(attribute="file_sha256", allow_none=True)
    file_name = fields.String(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.Function(lambda e: e.recorded_by.username if e.recorded_by else None)
    recorded_at = UTCTime()
    superseded_at = UTCTime()


class ExternalCheckSchema(Schema):
    checked_on = fields.Date()
    outcome = fields.String(metadata={"enum": ["current", "newer_edition"]})
    note = fields.String(allow_none=True)
    next_check_date = fields.Date(allow_none=True)
    checked_by = fields.Function(lambda c: c.checked_by.username if c.checked_by else None)
    checked_at = UTCTime()


class CitingDocumentSchema(Schema):
    number = fields.String()
    title = fields.String()
    status = fields.String()


class ExternalDocumentSchema(Schema):
    number = fields.String(metadata={"example": "EXT-0001"})
    reference = fields.String(metadata={"example": "GB/T 19001-2016"})
    title = fields.String()
    publisher = fields.String()
    kind = fields.String(
        metadata={"enum": ["standard", "regulation", "customer_specification", "other"]}
    )
    department = fields.Function(lambda e: e.department.code)
    holder = fields.Function(lambda e: e.holder.username)
    location = fields.String(allow_none=True)
    current_edition = fields.Function(
        lambda e: e.current_edition.edition if e.current_edition else None
    )
    check_interval_months = fields.Integer()
    last_checked_on = fields.Date(allow_none=True)
    next_check_date = fields.Date(allow_none=True)
    check_due = fields.Function(lambda e: e.is_check_due(local_today()))
    status = fields.String(metadata={"enum": ["current", "withdrawn"]})
    withdrawn_at = UTCTime()
    withdrawal_reason = fields.String(allow_none=True)
    created_by = fields.Function(lambda e: e.created_by.username if e.created_by else None)
    created_at = UTCTime()


class ExternalDocumentDetailSchema(ExternalDocumentSchema):
    editions = fields.List(fields.Nested(ExternalEditionSchema))
    checks = fields.List(fields.Nested(ExternalCheckSchema))
    citing_documents = fields.List(
        fields.Nested(CitingDocumentSchema),
        metadata={"description": "internal documents citing it that the reader may see"},
    )


class ExternalDocumentPageSchema(PageSchema):
    items = fields.List(fields.Nested(ExternalDocumentSchema))


class ExternalCitationSchema(Schema):
    document = fields.Function(lambda c: c.document.number)
    title = fields.Function(lambda c: c.document.title)
    external = fields.Function(lambda c: c.external_document.number)
    created_by = fields.Function(lambda c: c.created_by.username if c.created_by else None)
    created_at = UTCTime()


# Input --------------------------------------------------------------------------


class _Input(Schema):
    class Meta:
        unknown = EXCLUDE


class ExternalEditionInputSchema(_Input):
    edition = fields.String(required=True, metadata={"example": "2016"})
    reference = fields.String(
        load_default=None, metadata={"description": "designation of the new edition"}
    )
    published_on = fields.Date(load_default=None)
    effective_on = fields.Date(load_default=None)
    received_on = fields.Date(load_default=None, metadata={"description": "default: today"})
    note = fields.String(load_default=None)


class ExternalDocumentInputSchema(ExternalEditionInputSchema):
    reference = fields.String(required=True, metadata={"example": "GB/T 19001-2016"})
    title = fields.String(required=True)
    publisher = fields.String(required=True)
    kind = fields.String(
        required=True,
        metadata={"enum": ["standard", "regulation", "customer_specification", "other"]},
    )
    department = fields.String(required=True, metadata={"description": "department code"})
    holder = fields.String(required=True, metadata={"description": "username"})
    location = fields.String(load_default=None)
    check_interval_months = fields.Integer(load_default=services.DEFAULT_INTERVAL_MONTHS)


class ExternalCheckInputSchema(_Input):
    outcome = fields.String(load_default="current", metadata={"enum": ["current", "newer_edition"]})
    note = fields.String(
        load_default=None, metadata={"description": "required when a newer edition exists"}
    )


class ExternalWithdrawInputSchema(_Input):
    reason = fields.String(required=True)


class ExternalCitationInputSchema(_Input):
    document = fields.String(required=True, metadata={"example": "QM-QA-001"})


def _body(schema: Schema) -> dict:
    """The request body (JSON object, or multipart form fields) loaded by ``schema``;
    problems become a 400 naming each field, in the house error shape."""
    if request.mimetype == "multipart/form-data":
        data = {k: v for k, v in request.form.items() if v.strip()}
    else:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationFailed(
                N_("The request body must be a JSON object."), fields={"body": N_("invalid")}
            )
    try:
        return schema.load(data)
    except ValidationError as err:
        problems = {
            name: N_("invalid") if name in data else N_("required")
            for name in err.normalized_messages()
        }
        raise ValidationFailed(N_("Some fields are missing or invalid."), fields=problems) from err


def _readable() -> None:
    if not can_view_external(current_user):
        abort(403)


def _manager() -> None:
    if not can_manage_external(current_user):
        abort(403)


def _detail(ext: ExternalDocument) -> dict:
    citing = services.citing_documents(db.session, ext, where=visible_documents(current_user))
    return {
        **ExternalDocumentDetailSchema().dump(ext),
        "citing_documents": CitingDocumentSchema(many=True).dump(citing),
    }


def _flag(name: str) -> bool:
    value = request.args.get(name, "").lower()
    if value not in ("", "true", "false", "1", "0"):
        raise ValidationFailed(N_("Unknown value."), fields={name: N_("invalid")})
    return value in ("true", "1")


# Views --------------------------------------------------------------------------


@bp.get("/external-documents")
def list_external_documents():
    """The register of external documents, by control number.
    ---
    get:
      tags: [external documents]
      parameters:
        - {in: query, name: kind, schema: {type: string, enum: [standard, regulation, customer_specification, other]}}
        - {in: query, name: status, schema: {type: string, enum: [current, withdrawn]}}
        - {in: query, name: q, schema: {type: string}, description: reference, title, publisher or number}
        - {in: query, name: due, schema: {type: boolean}, description: only those due for a currency check}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: ExternalDocumentPageSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
    """  # noqa: E501
    _readable()
    stmt = services.list_stmt(
        kind=request.args.get("kind") or None,
        status=request.args.get("status") or None,
        q=request.args.get("q"),
        due_on=local_today() if _flag("due") else None,
    )
    return jsonify(paginate(stmt, ExternalDocumentSchema().dump))


@bp.post("/external-documents")
def create_external_document():
    """Register an external document with its first edition; it gets the next EXT number.
    JSON, or multipart with the same fields plus an optional `file` (.pdf or .docx).
    ---
    post:
      tags: [external documents]
      requestBody:
        required: true
        content:
          application/json:
            schema: ExternalDocumentInputSchema
          multipart/form-data:
            schema: ExternalDocumentInputSchema
      responses:
        201:
          content:
            application/json:
              schema: ExternalDocumentDetailSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        409:
          description: the reference is already registered
    """
    _manager()
    body = _body(ExternalDocumentInputSchema())
    ext = services.register(
        db.session,
        current_user,
        reference=body["reference"],
        title=body["title"],
        publisher=body["publisher"],
        kind=body["kind"],
        department=services.department_by_code(db.session, body["department"]),
        holder=services.user_by_username(db.session, body["holder"]),
        location=body["location"],
        check_interval_months=body["check_interval_months"],
        edition=body["edition"],
        published_on=body["published_on"],
        effective_on=body["effective_on"],
        received_on=body["received_on"],
        note=body["note"],
        upload=checked_upload(request.files.get("file")),
        store=get_store(current_app),
    )
    db.session.commit()
    return jsonify(_detail(ext)), 201


@bp.get("/external-documents/<number>")
def get_external_document(number: str):
    """One entry with its editions (oldest first), currency checks and citing documents.
    ---
    get:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
      responses:
        200:
          content:
            application/json:
              schema: ExternalDocumentDetailSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    _readable()
    return jsonify(_detail(services.get_external(db.session, number)))


@bp.post("/external-documents/<number>/editions")
def record_external_edition(number: str):
    """Record a newer edition; the current one is superseded. JSON, or multipart with an
    optional `file` (.pdf or .docx).
    ---
    post:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
      requestBody:
        required: true
        content:
          application/json:
            schema: ExternalEditionInputSchema
          multipart/form-data:
            schema: ExternalEditionInputSchema
      responses:
        201:
          content:
            application/json:
              schema: ExternalEditionSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          description: the edition is already recorded, or the entry is withdrawn
    """
    ext = services.get_external(db.session, number)
    _manager()
    body = _body(ExternalEditionInputSchema())
    edition = services.record_edition(
        db.session,
        current_user,
        ext,
        upload=checked_upload(request.files.get("file")),
        store=get_store(current_app),
        **body,
    )
    db.session.commit()
    return jsonify(ExternalEditionSchema().dump(edition)), 201


@bp.get("/external-documents/<number>/editions/<edition_id>/file")
def external_edition_file(number: str, edition_id: str):
    """The stored copy of an edition, as uploaded (checked against its hash).
    ---
    get:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
        - {in: path, name: edition_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: the file
          content:
            application/pdf: {}
            application/vnd.openxmlformats-officedocument.wordprocessingml.document: {}
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    _readable()
    ext = services.get_external(db.session, number)
    if not edition_id.isdigit():
        abort(404)
    edition = services.get_edition(ext, int(edition_id))
    if not edition.file_sha256:
        abort(404)
    data = get_store(current_app).read(edition.file_sha256)
    return send_file(
        io.BytesIO(data),
        mimetype=FILE_MIMETYPES[edition.file_kind],
        as_attachment=True,
        download_name=edition.file_name,
    )


@bp.post("/external-documents/<number>/checks")
def record_external_check(number: str):
    """Record a check for a newer edition. `current`: the next check falls one interval
    from today; `newer_edition` (with a note): the entry stays due until it is recorded.
    ---
    post:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
      requestBody:
        required: true
        content:
          application/json:
            schema: ExternalCheckInputSchema
      responses:
        201:
          content:
            application/json:
              schema: ExternalCheckSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          description: the entry is withdrawn
    """
    ext = services.get_external(db.session, number)
    _manager()
    body = _body(ExternalCheckInputSchema())
    check = services.record_currency_check(db.session, current_user, ext, **body)
    db.session.commit()
    return jsonify(ExternalCheckSchema().dump(check)), 201


@bp.post("/external-documents/<number>/withdraw")
def withdraw_external_document(number: str):
    """Withdraw the entry from the register (with a reason); its history stays.
    ---
    post:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
      requestBody:
        required: true
        content:
          application/json:
            schema: ExternalWithdrawInputSchema
      responses:
        200:
          content:
            application/json:
              schema: ExternalDocumentDetailSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          description: already withdrawn
    """
    ext = services.get_external(db.session, number)
    _manager()
    body = _body(ExternalWithdrawInputSchema())
    services.withdraw(db.session, current_user, ext, reason=body["reason"])
    db.session.commit()
    return jsonify(_detail(ext))


@bp.post("/external-documents/<number>/citations")
def cite_external_document(number: str):
    """Record that an internal document (`document`: its number) cites this entry.
    ---
    post:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
      requestBody:
        required: true
        content:
          application/json:
            schema: ExternalCitationInputSchema
      responses:
        201:
          content:
            application/json:
              schema: ExternalCitationSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          description: already cited, the entry is withdrawn or the document obsolete
    """
    ext = services.get_external(db.session, number)
    _manager()
    body = _body(ExternalCitationInputSchema())
    citation = services.cite(db.session, current_user, ext, body["document"])
    db.session.commit()
    return jsonify(ExternalCitationSchema().dump(citation)), 201


@bp.delete("/external-documents/<number>/citations/<document>")
def uncite_external_document(number: str, document: str):
    """Remove a citation; both audit trails keep that it existed.
    ---
    delete:
      tags: [external documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: EXT-0001}
        - {in: path, name: document, required: true, schema: {type: string}, example: QM-QA-001}
      responses:
        204:
          description: removed
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    ext = services.get_external(db.session, number)
    _manager()
    services.uncite(db.session, current_user, ext, document)
    db.session.commit()
    return "", 204
