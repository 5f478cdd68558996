"""External-documents endpoints of the JSON API (the register of 外来文件)."""

from __future__ import annotations

import io

from flask import abort, current_app, request, send_file
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.api import Blueprint, fails, page_of, upload_doc
from app.api.schemas import ComputedList, Input, PageArgs, UTCTime, page_schema
from app.documents.permissions import visible_documents
from app.errors import N_, PermissionDenied
from app.extensions import db, local_today
from app.external import services
from app.external.models import FILE_MIMETYPES
from app.external.permissions import can_manage_external, can_view_external
from app.people import services as people
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
    citing_documents = ComputedList(
        CitingDocumentSchema,
        lambda ext: services.citing_documents(
            db.session, ext, where=visible_documents(current_user)
        ),
        metadata={"description": "internal documents citing it that the reader may see"},
    )


ExternalDocumentPageSchema = page_schema(ExternalDocumentSchema, "ExternalDocumentPageSchema")


class ExternalCitationSchema(Schema):
    document = fields.Function(lambda c: c.document.number)
    title = fields.Function(lambda c: c.document.title)
    external = fields.Function(lambda c: c.external_document.number)
    created_by = fields.Function(lambda c: c.created_by.username if c.created_by else None)
    created_at = UTCTime()


# Input --------------------------------------------------------------------------


KINDS = ["standard", "regulation", "customer_specification", "other"]


class ExternalListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(["current", "withdrawn"]))
    q = fields.String(metadata={"description": "reference, title, publisher or number"})
    due = fields.Boolean(
        load_default=False, metadata={"description": "only those due for a currency check"}
    )


class ExternalEditionInputSchema(Input):
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
    kind = fields.String(required=True, metadata={"enum": KINDS})
    department = fields.String(required=True, metadata={"description": "department code"})
    holder = fields.String(required=True, metadata={"description": "username"})
    location = fields.String(load_default=None)
    check_interval_months = fields.Integer(load_default=services.DEFAULT_INTERVAL_MONTHS)


class ExternalCheckInputSchema(Input):
    outcome = fields.String(load_default="current", metadata={"enum": ["current", "newer_edition"]})
    note = fields.String(
        load_default=None, metadata={"description": "required when a newer edition exists"}
    )


class ExternalWithdrawInputSchema(Input):
    reason = fields.String(required=True)


class ExternalCitationInputSchema(Input):
    document = fields.String(required=True, metadata={"example": "QM-QA-001"})


def _readable() -> None:
    if not can_view_external(current_user):
        raise PermissionDenied(N_("You do not have permission to do this."))


def _manager() -> None:
    if not can_manage_external(current_user):
        raise PermissionDenied(N_("You do not have permission to do this."))


# Views --------------------------------------------------------------------------

blp = Blueprint("external_api", __name__, tag="external documents")


@blp.get("/external-documents")
@blp.arguments(ExternalListArgs, location="query")
@blp.response(200, ExternalDocumentPageSchema)
def list_external_documents(args):
    """The register of external documents, by control number."""
    _readable()
    stmt = services.list_stmt(
        kind=args.get("kind"),
        status=args.get("status"),
        q=args.get("q"),
        due_on=local_today() if args["due"] else None,
    )
    return page_of(stmt, args)


@blp.post("/external-documents")
@blp.arguments(ExternalDocumentInputSchema, location="json_or_form")
@blp.response(201, ExternalDocumentDetailSchema)
@upload_doc(ExternalDocumentInputSchema)
@fails(403, 409)
def create_external_document(body):
    """Register an external document with its first edition; it gets the next EXT number.
    JSON, or multipart with the same fields plus an optional `file` (.pdf or .docx).
    409: the reference is already registered."""
    _manager()
    ext = services.register(
        db.session,
        current_user,
        reference=body["reference"],
        title=body["title"],
        publisher=body["publisher"],
        kind=body["kind"],
        department=people.department_by_code(db.session, body["department"]),
        holder=people.user_by_username(db.session, body["holder"], "holder"),
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
    return ext


@blp.get("/external-documents/<number>")
@blp.response(200, ExternalDocumentDetailSchema)
@fails(404)
def get_external_document(number: str):
    """One entry with its editions (oldest first), currency checks and citing documents."""
    _readable()
    return services.get_external(db.session, number)


@blp.post("/external-documents/<number>/editions")
@blp.arguments(ExternalEditionInputSchema, location="json_or_form")
@blp.response(201, ExternalEditionSchema)
@upload_doc(ExternalEditionInputSchema)
@fails(403, 404, 409)
def record_external_edition(body, number: str):
    """Record a newer edition; the current one is superseded. JSON, or multipart with an
    optional `file` (.pdf or .docx). 409: the edition is already recorded, or the entry is
    withdrawn."""
    ext = services.get_external(db.session, number)
    _manager()
    return services.record_edition(
        db.session,
        current_user,
        ext,
        upload=checked_upload(request.files.get("file")),
        store=get_store(current_app),
        **body,
    )


@blp.get("/external-documents/<number>/editions/<id:edition_id>/file")
@blp.response(
    200,
    content_type="application/pdf",
    description="the stored file as uploaded (a .pdf or a .docx)",
)
@fails(404)
def external_edition_file(number: str, edition_id: int):
    """The stored copy of an edition, as uploaded (checked against its hash)."""
    _readable()
    ext = services.get_external(db.session, number)
    edition = services.get_edition(ext, edition_id)
    if not edition.file_sha256:
        abort(404)
    data = get_store(current_app).read(edition.file_sha256)
    return send_file(
        io.BytesIO(data),
        mimetype=FILE_MIMETYPES[edition.file_kind],
        as_attachment=True,
        download_name=edition.file_name,
    )


@blp.post("/external-documents/<number>/checks")
@blp.arguments(ExternalCheckInputSchema)
@blp.response(201, ExternalCheckSchema)
@fails(403, 404, 409)
def record_external_check(body, number: str):
    """Record a check for a newer edition. `current`: the next check falls one interval
    from today; `newer_edition` (with a note): the entry stays due until it is recorded.
    409: the entry is withdrawn."""
    ext = services.get_external(db.session, number)
    _manager()
    return services.record_currency_check(db.session, current_user, ext, **body)


@blp.post("/external-documents/<number>/withdraw")
@blp.arguments(ExternalWithdrawInputSchema)
@blp.response(200, ExternalDocumentDetailSchema)
@fails(403, 404, 409)
def withdraw_external_document(body, number: str):
    """Withdraw the entry from the register (with a reason); its history stays. 409:
    already withdrawn."""
    ext = services.get_external(db.session, number)
    _manager()
    services.withdraw(db.session, current_user, ext, reason=body["reason"])
    return ext


@blp.post("/external-documents/<number>/citations")
@blp.arguments(ExternalCitationInputSchema)
@blp.response(201, ExternalCitationSchema)
@fails(403, 404, 409)
def cite_external_document(body, number: str):
    """Record that an internal document (`document`: its number) cites this entry. 409:
    already cited, the entry is withdrawn or the document obsolete."""
    ext = services.get_external(db.session, number)
    _manager()
    return services.cite(db.session, current_user, ext, body["document"])


@blp.delete("/external-documents/<number>/citations/<document>")
@blp.response(204)
@fails(403, 404)
def uncite_external_document(number: str, document: str):
    """Remove a citation; both audit trails keep that it existed."""
    ext = services.get_external(db.session, number)
    _manager()
    services.uncite(db.session, current_user, ext, document)
