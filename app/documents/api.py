"""Controlled-document endpoints of the JSON API (API.md "Documents")."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import select

from app.api import bp, paginate
from app.api.inputs import allow as _allow
from app.api.inputs import body as _body
from app.api.inputs import day as _date
from app.api.inputs import flag as _flag
from app.api.inputs import integer as _int
from app.api.inputs import text as _text
from app.api.schemas import PageSchema, UTCTime
from app.documents import exports, services
from app.documents.models import DOCUMENT_STATUSES, Document, DocumentType, Revision
from app.documents.permissions import (
    can_add_revision,
    can_create_in,
    can_edit_revision,
    can_manage_document,
    can_manage_document_types,
    can_view_revision,
)
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db
from app.people import services as people
from app.storage import get_store
from app.web import checked_upload


class SignatureSchema(Schema):
    username = fields.String()
    name = fields.String(attribute="printed_name")
    meaning = fields.String()
    signed_at = UTCTime()
    comment = fields.String(allow_none=True)


class ParticipantSchema(Schema):
    username = fields.Function(lambda p: p.user.username)
    name = fields.Function(lambda p: p.user.full_name)
    role = fields.String()
    round = fields.Integer()
    decision = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    decided_at = UTCTime()


class RevisionSchema(Schema):
    label = fields.String()
    status = fields.String()
    change_type = fields.String()
    change_summary = fields.String()
    change_reason = fields.String()
    author = fields.Function(lambda r: r.author.username)
    file_name = fields.String(allow_none=True)
    file_kind = fields.String(allow_none=True)
    page_count = fields.Integer(allow_none=True)
    sha256 = fields.String(attribute="file_sha256", allow_none=True)
    effective_date = fields.Date(allow_none=True)
    created_at = UTCTime()
    submitted_at = UTCTime()
    approved_at = UTCTime()
    effective_at = UTCTime()
    superseded_at = UTCTime()
    obsoleted_at = UTCTime()
    cancelled_at = UTCTime()
    review_round = fields.Integer()
    signatures = fields.List(fields.Nested(SignatureSchema))
    participants = fields.List(fields.Nested(ParticipantSchema))


class DocumentSchema(Schema):
    number = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    type = fields.Function(lambda d: d.type.code)
    department = fields.Function(lambda d: d.department.code)
    parent = fields.Function(lambda d: d.parent.number if d.parent else None)
    confidentiality = fields.String()
    status = fields.String()
    current_revision = fields.Function(
        lambda d: d.current_revision.label if d.current_revision else None
    )
    effective_date = fields.Function(
        lambda d: (
            d.current_revision.effective_date.isoformat()
            if d.current_revision and d.current_revision.effective_date
            else None
        )
    )
    review_due_date = fields.Date(allow_none=True)
    review_interval_months = fields.Integer()
    training_required = fields.Boolean()
    created_at = UTCTime()


class DocumentDetailSchema(DocumentSchema):
    revisions = fields.Method("visible_revisions")

    def visible_revisions(self, doc):
        schema = RevisionSchema()
        return [schema.dump(r) for r in doc.revisions if can_view_revision(current_user, r)]


class DocumentPageSchema(PageSchema):
    items = fields.List(fields.Nested(DocumentSchema))


class DocumentTypeSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    level = fields.Integer()
    number_pattern = fields.String()
    is_form = fields.Boolean()
    is_external = fields.Boolean()
    review_interval_months = fields.Integer()
    retention = fields.Dict()
    is_active = fields.Boolean()


class MasterListRowSchema(Schema):
    number = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    type = fields.String()
    level = fields.Integer()
    department = fields.String()
    revision = fields.String(allow_none=True)
    effective_date = fields.Date(allow_none=True)
    review_due_date = fields.Date(allow_none=True)
    parent = fields.String(allow_none=True)
    status = fields.String()


class MasterListSchema(Schema):
    items = fields.List(fields.Nested(MasterListRowSchema))
    total = fields.Integer()


# Loading: an object the user may not see is 404, as if it did not exist (API.md).


def _document(number: str) -> Document:
    return services.visible_document(db.session, current_user, number)


def _revision(number: str, rev: str) -> Revision:
    return services.visible_revision(db.session, current_user, number, rev)


def _users(data: dict, name: str) -> list:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(
            N_("%(name)s must be a list of usernames."), fields={name: N_("invalid")}, name=name
        )
    found = []
    for username in value:
        try:
            found.append(people.get_user(db.session, username.strip()))
        except NotFound:
            raise ValidationFailed(
                N_("No user %(username)s."), fields={name: N_("invalid")}, username=username
            ) from None
    return found


def _revision_json(revision: Revision, status: int = 200):
    return jsonify(RevisionSchema().dump(revision)), status


@bp.get("/documents")
def list_documents():
    """Controlled documents the caller may see, by number.
    ---
    get:
      tags: [documents]
      parameters:
        - {in: query, name: type, schema: {type: string}, description: type code (QP, WI, …)}
        - {in: query, name: department, schema: {type: string}, description: department code}
        - {in: query, name: status, schema: {type: string, enum: [draft, effective, obsolete]}}
        - {in: query, name: q, schema: {type: string}, description: part of the number or title}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          content:
            application/json:
              schema: DocumentPageSchema
        400:
          $ref: '#/components/responses/BadRequest'
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    status = request.args.get("status") or None
    if status is not None and status not in DOCUMENT_STATUSES:
        raise ValidationFailed(N_("Unknown status."), fields={"status": N_("invalid")})
    stmt = services.documents_query(
        current_user,
        type_code=request.args.get("type"),
        department=request.args.get("department"),
        status=status,
        q=request.args.get("q"),
    )
    return jsonify(paginate(stmt, DocumentSchema().dump))


@bp.post("/documents")
def create_document():
    """Register a document; the system gives it its number.
    ---
    post:
      tags: [documents]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [type, title]
              properties:
                type: {type: string, example: QP}
                department: {type: string, example: CS, description: unless a parent is given}
                title: {type: string}
                title_en: {type: string, description: the English title (optional)}
                parent: {type: string, description: parent document number (forms)}
                training_required: {type: boolean}
                review_interval_months: {type: integer}
                confidentiality: {type: string, enum: [public, internal, confidential]}
      responses:
        201:
          content:
            application/json:
              schema: DocumentDetailSchema
        400:
          $ref: '#/components/responses/BadRequest'
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
    """
    data = _body()
    department = None
    if _text(data, "department"):
        try:
            department = people.get_department(db.session, data["department"].strip().upper())
        except NotFound:
            raise ValidationFailed(
                N_("No department %(code)s."),
                fields={"department": N_("invalid")},
                code=data["department"],
            ) from None
    parent_number = _text(data, "parent")
    parent = (
        services.visible_parent(db.session, current_user, parent_number) if parent_number else None
    )
    if department is not None:
        _allow(can_create_in(current_user, department))
    elif parent is not None:
        _allow(can_create_in(current_user, parent.department))
    else:
        _allow(can_create_in(current_user, current_user.department))
    doc = services.create_document(
        db.session,
        current_user,
        type_code=_text(data, "type") or "",
        title=_text(data, "title") or "",
        title_en=_text(data, "title_en"),
        department=department,
        parent_number=parent_number,
        training_required=_flag(data, "training_required"),
        review_interval_months=_int(data, "review_interval_months"),
        confidentiality=_text(data, "confidentiality") or "internal",
    )
    db.session.commit()
    return jsonify(DocumentDetailSchema().dump(doc)), 201


@bp.get("/documents/<number>")
def get_document(number: str):
    """A document with its revisions (those the caller may see) and current revision.
    ---
    get:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: QP-CS-001}
      responses:
        200:
          content:
            application/json:
              schema: DocumentDetailSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    return jsonify(DocumentDetailSchema().dump(_document(number)))


@bp.patch("/documents/<number>")
def update_document(number: str):
    """Change what may change of a registered document: its English title.
    ---
    patch:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}, example: QP-CS-001}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                title_en: {type: string, nullable: true, description: blank or null clears it}
      responses:
        200:
          content:
            application/json:
              schema: DocumentDetailSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    doc = _document(number)
    _allow(can_manage_document(current_user, doc))
    data = _body()
    if "title_en" in data:
        value = data["title_en"]
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(N_("Please give text."), fields={"title_en": N_("invalid")})
        services.set_english_title(db.session, current_user, doc, value)
    db.session.commit()
    return jsonify(DocumentDetailSchema().dump(doc))


@bp.post("/documents/<number>/revisions")
def add_revision(number: str):
    """Start a new draft revision: upload a .docx or .pdf (multipart), or JSON
    ``{"from_template": true}`` for the type's template.

    ``change_reason`` is required by the UI; an API call that leaves it out records the
    change summary as the reason (API.md's stable core names only the summary).
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, change_summary]
              properties:
                file: {type: string, format: binary}
                change_summary: {type: string}
                change_reason: {type: string}
                change_type: {type: string, enum: [minor, major]}
          application/json:
            schema:
              type: object
              required: [from_template, change_summary]
              properties:
                from_template: {type: boolean}
                change_summary: {type: string}
                change_reason: {type: string}
                change_type: {type: string, enum: [minor, major]}
      responses:
        201:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    doc = _document(number)
    _allow(can_add_revision(current_user, doc))
    data = _body()
    upload = checked_upload(request.files.get("file"))
    summary = _text(data, "change_summary")
    reason = _text(data, "change_reason")
    revision = services.add_revision(
        db.session,
        current_user,
        doc,
        get_store(current_app),
        change_summary=summary or "",
        change_reason=reason if reason is not None else (summary or ""),
        change_type=_text(data, "change_type") or "minor",
        upload=upload,
        from_template=_flag(data, "from_template"),
    )
    db.session.commit()
    return _revision_json(revision, 201)


@bp.get("/documents/<number>/revisions/<rev>")
def get_revision(number: str, rev: str):
    """One revision with its status, dates, page count and signatures.
    ---
    get:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}, example: A0}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    return _revision_json(_revision(number, rev))


@bp.get("/documents/<number>/revisions/<rev>/pdf")
def revision_pdf(number: str, rev: str):
    """The revision as PDF: a controlled copy when ``copy`` names one of its paper copies
    (quality officer; recorded on the copy), else marked uncontrolled (or obsolete / draft).
    ---
    get:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}, example: A0}
        - in: query
          name: copy
          schema: {type: string}
          description: copy number, in full (QP-CS-001-A0-C01) or short (C01)
      responses:
        200:
          content:
            application/pdf: {}
        401:
          $ref: '#/components/responses/Unauthorized'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    return exports.revision_pdf_response(_revision(number, rev), request.args.get("copy"))


@bp.post("/documents/<number>/revisions/<rev>/submit")
def submit_revision(number: str, rev: str):
    """Send a draft for review and approval (all named people must sign).
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [approvers]
              properties:
                reviewers: {type: array, items: {type: string}, description: usernames}
                approvers: {type: array, items: {type: string}, description: usernames}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    revision = _revision(number, rev)
    _allow(can_edit_revision(current_user, revision))
    data = _body()
    services.submit(
        db.session,
        current_user,
        revision,
        reviewers=_users(data, "reviewers"),
        approvers=_users(data, "approvers"),
    )
    db.session.commit()
    return _revision_json(revision)


@bp.post("/documents/<number>/revisions/<rev>/review")
def review_revision(number: str, rev: str):
    """A reviewer signs: ``approve`` (reviewed) or ``reject`` (back to draft, comment
    required). Approvers may reject here too.
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [decision, password]
              properties:
                decision: {type: string, enum: [approve, reject]}
                comment: {type: string}
                password: {type: string, format: password}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    revision = _revision(number, rev)
    data = _body()
    services.review(
        db.session,
        current_user,
        revision,
        decision=_text(data, "decision") or "",
        password=_text(data, "password") or "",
        comment=_text(data, "comment"),
    )
    db.session.commit()
    return _revision_json(revision)


@bp.post("/documents/<number>/revisions/<rev>/approve")
def approve_revision(number: str, rev: str):
    """An approver signs "approved". With every approval in, the revision is approved, and
    effective at once unless the effective date lies in the future.
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties:
                password: {type: string, format: password}
                effective_date: {type: string, format: date}
                comment: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    revision = _revision(number, rev)
    data = _body()
    services.approve(
        db.session,
        current_user,
        revision,
        password=_text(data, "password") or "",
        effective_date=_date(data, "effective_date"),
        comment=_text(data, "comment"),
    )
    db.session.commit()
    return _revision_json(revision)


@bp.post("/documents/<number>/revisions/<rev>/cancel")
def cancel_revision(number: str, rev: str):
    """Cancel a draft (its number and label history stay).
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [reason]
              properties:
                reason: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    revision = _revision(number, rev)
    _allow(can_edit_revision(current_user, revision))
    services.cancel(db.session, current_user, revision, reason=_text(_body(), "reason") or "")
    db.session.commit()
    return _revision_json(revision)


@bp.put("/documents/<number>/revisions/<rev>/file")
def replace_revision_file(number: str, rev: str):
    """Replace a draft's file (multipart ``file``); earlier files stay stored.
    ---
    put:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file]
              properties:
                file: {type: string, format: binary}
      responses:
        200:
          content:
            application/json:
              schema: RevisionSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    revision = _revision(number, rev)
    _allow(can_edit_revision(current_user, revision))
    upload = checked_upload(request.files.get("file"))
    if upload is None:
        raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
    services.replace_file(db.session, current_user, revision, get_store(current_app), upload)
    db.session.commit()
    return _revision_json(revision)


@bp.get("/documents/<number>/revisions/<rev>/file")
def revision_file(number: str, rev: str):
    """The revision's source file exactly as uploaded (verified against its SHA-256).
    ---
    get:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}}
      responses:
        200:
          description: the .docx or .pdf
          content:
            application/vnd.openxmlformats-officedocument.wordprocessingml.document: {}
            application/pdf: {}
        401:
          $ref: '#/components/responses/Unauthorized'
        404:
          $ref: '#/components/responses/NotFound'
    """
    return exports.send_revision_file(_revision(number, rev))


@bp.post("/documents/<number>/withdraw")
def withdraw_document(number: str):
    """Withdraw the document (signed): its effective revision becomes obsolete.
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [reason, password]
              properties:
                reason: {type: string}
                password: {type: string, format: password}
      responses:
        200:
          content:
            application/json:
              schema: DocumentDetailSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    doc = _document(number)
    _allow(can_manage_document(current_user, doc))
    data = _body()
    services.withdraw(
        db.session,
        current_user,
        doc,
        reason=_text(data, "reason") or "",
        password=_text(data, "password") or "",
    )
    db.session.commit()
    return jsonify(DocumentDetailSchema().dump(doc))


@bp.post("/documents/<number>/review-confirmation")
def confirm_periodic_review(number: str):
    """Periodic review without change (signed); the next review falls due one interval on.
    ---
    post:
      tags: [documents]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties:
                password: {type: string, format: password}
                comment: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: DocumentDetailSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          $ref: '#/components/responses/Conflict'
    """
    doc = _document(number)
    _allow(can_manage_document(current_user, doc))
    data = _body()
    services.confirm_review(
        db.session,
        current_user,
        doc,
        password=_text(data, "password") or "",
        comment=_text(data, "comment"),
    )
    db.session.commit()
    return jsonify(DocumentDetailSchema().dump(doc))


@bp.get("/master-list")
def master_list():
    """The master document list (受控文件清单) as JSON, CSV, .xlsx or PDF.
    ---
    get:
      tags: [documents]
      parameters:
        - {in: query, name: format, schema: {type: string, enum: [json, csv, xlsx, pdf]}}
        - {in: query, name: type, schema: {type: string}}
        - {in: query, name: department, schema: {type: string}}
        - in: query
          name: status
          schema: {type: string, enum: [effective, draft, obsolete, all]}
          description: effective (default) or all
      responses:
        200:
          content:
            application/json:
              schema: MasterListSchema
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            application/pdf: {}
        400:
          $ref: '#/components/responses/BadRequest'
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    filters = exports.master_list_filters(request.args)
    rows = services.master_list(db.session, current_user, **filters)
    fmt = request.args.get("format", "json")
    if fmt == "json":
        items = MasterListRowSchema(many=True).dump(rows)
        return jsonify({"items": items, "total": len(items)})
    return exports.master_list_download(rows, fmt, filters)


@bp.get("/document-types")
def list_document_types():
    """Document types with their numbering schemes and defaults.
    ---
    get:
      tags: [documents]
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: DocumentTypeSchema
        401:
          $ref: '#/components/responses/Unauthorized'
    """
    types = db.session.scalars(select(DocumentType).order_by(DocumentType.level, DocumentType.code))
    return jsonify(DocumentTypeSchema(many=True).dump(types))


@bp.patch("/document-types/<code>")
def update_document_type(code: str):
    """Change a type's names, level, numbering pattern and defaults (administrator).
    ---
    patch:
      tags: [documents]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
                name_en: {type: string}
                level: {type: integer}
                number_pattern: {type: string, example: "{type}-{dept}-{seq:03}"}
                review_interval_months: {type: integer}
                retention_years: {type: integer}
                retention_from: {type: string, enum: [superseded, created]}
                is_active: {type: boolean}
      responses:
        200:
          content:
            application/json:
              schema: DocumentTypeSchema
        400:
          $ref: '#/components/responses/BadRequest'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    _allow(can_manage_document_types(current_user))
    doc_type = db.session.scalar(select(DocumentType).where(DocumentType.code == code.upper()))
    if doc_type is None:
        abort(404)
    data = _body()
    retention = doc_type.retention or {}
    years = _int(data, "retention_years") if "retention_years" in data else retention.get("years")
    services.update_type(
        db.session,
        current_user,
        doc_type,
        name=_text(data, "name") or doc_type.name,
        name_en=_text(data, "name_en") or doc_type.name_en,
        level=_int(data, "level") or doc_type.level,
        number_pattern=_text(data, "number_pattern") or doc_type.number_pattern,
        review_interval_months=_int(data, "review_interval_months")
        or doc_type.review_interval_months,
        retention_years=years,
        retention_from=_text(data, "retention_from") or retention.get("from", "superseded"),
        is_active=_flag(data, "is_active", doc_type.is_active),
    )
    db.session.commit()
    return jsonify(DocumentTypeSchema().dump(doc_type))
