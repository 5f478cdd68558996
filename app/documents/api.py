"""Controlled-document endpoints of the JSON API (docs/API.md, "Documents")."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api import Blueprint, allow, fails, page_of, upload_doc
from app.api.schemas import ComputedList, Input, PageArgs, UTCTime, page_schema
from app.documents import exports, services
from app.documents.models import (
    CONFIDENTIALITY,
    DOCUMENT_STATUSES,
    RETENTION_FROM,
    Document,
    DocumentType,
    Revision,
)
from app.documents.permissions import (
    can_add_revision,
    can_create_in,
    can_edit_revision,
    can_manage_document,
    can_manage_document_types,
    can_sign_revision,
    can_view_revision,
)
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db
from app.people import services as people
from app.storage import get_store
from app.tables import MIMETYPES as TABLE_MIMETYPES
from app.web import checked_upload

# Output -------------------------------------------------------------------------


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
    revisions = ComputedList(
        RevisionSchema,
        lambda doc: [r for r in doc.revisions if can_view_revision(current_user, r)],
        metadata={"description": "the revisions the reader may see, oldest first"},
    )


DocumentPageSchema = page_schema(DocumentSchema, "DocumentPageSchema")


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


# Input --------------------------------------------------------------------------
# A value the old hand parser passed on to the service when missing stays ``None`` here
# (``load_default=None``), so that the service names the problem in its own words.


class Usernames(fields.List):
    """Usernames: a list, or one string separated by commas or semicolons; none is []."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), load_default=list, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None:
            return []
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v for v in value.replace(";", ",").split(",") if v.strip()]
        return [v.strip() for v in super()._deserialize(value, attr, data, **kwargs)]


class DocumentListArgs(PageArgs):
    type = fields.String(metadata={"description": "type code (QP, WI, …)"})
    department = fields.String(metadata={"description": "department code"})
    status = fields.String(validate=validate.OneOf(list(DOCUMENT_STATUSES)))
    q = fields.String(metadata={"description": "part of the number or title"})


class DocumentInputSchema(Input):
    # required here: the service would answer an absent type as an unknown one (404)
    type = fields.String(required=True, metadata={"example": "QP"})
    title = fields.String(load_default=None, metadata={"description": "required"})
    title_en = fields.String(load_default=None, metadata={"description": "the English title"})
    department = fields.String(
        load_default=None, metadata={"example": "CS", "description": "unless a parent is given"}
    )
    parent = fields.String(
        load_default=None, metadata={"description": "parent document number (forms)"}
    )
    training_required = fields.Boolean(load_default=False)
    review_interval_months = fields.Integer(
        load_default=None, metadata={"description": "default: the type's"}
    )
    confidentiality = fields.String(
        load_default=None,
        metadata={"enum": list(CONFIDENTIALITY), "description": "default: internal"},
    )


class DocumentUpdateSchema(Input):
    title_en = fields.String(
        allow_none=True, metadata={"description": "blank or null clears it; absent keeps it"}
    )


class RevisionInputSchema(Input):
    change_summary = fields.String(load_default=None, metadata={"description": "required"})
    change_reason = fields.String(
        load_default=None, metadata={"description": "default: the change summary"}
    )
    change_type = fields.String(
        load_default=None,
        metadata={
            "enum": ["minor", "major"],
            "description": "default minor; ignored for the first revision (A/0)",
        },
    )
    from_template = fields.Boolean(
        load_default=False, metadata={"description": "start from the type's template (JSON)"}
    )


class RevisionPdfArgs(Input):
    copy = fields.String(
        metadata={"description": "copy number, in full (QP-CS-001-A0-C01) or short (C01)"}
    )


class SubmitInputSchema(Input):
    reviewers = Usernames(metadata={"description": "usernames (or one string separated by commas)"})
    approvers = Usernames(
        metadata={"description": "usernames (or one string separated by commas); at least one"}
    )


class ReviewInputSchema(Input):
    decision = fields.String(load_default=None, metadata={"enum": ["approve", "reject"]})
    password = fields.String(load_default=None, metadata={"format": "password"})
    comment = fields.String(load_default=None, metadata={"description": "required to reject"})


class ApproveInputSchema(Input):
    password = fields.String(load_default=None, metadata={"format": "password"})
    effective_date = fields.Date(load_default=None, metadata={"description": "default: today"})
    comment = fields.String(load_default=None)


class CancelInputSchema(Input):
    reason = fields.String(load_default=None, metadata={"description": "required"})


class WithdrawInputSchema(Input):
    reason = fields.String(load_default=None, metadata={"description": "required"})
    password = fields.String(load_default=None, metadata={"format": "password"})


class ConfirmReviewInputSchema(Input):
    password = fields.String(load_default=None, metadata={"format": "password"})
    comment = fields.String(load_default=None)


class MasterListArgs(Input):
    format = fields.String(load_default="json", metadata={"enum": ["json", "csv", "xlsx", "pdf"]})
    type = fields.String(metadata={"description": "type code"})
    department = fields.String(metadata={"description": "department code"})
    status = fields.String(
        metadata={
            "enum": [*DOCUMENT_STATUSES, "all"],
            "description": "effective (default) or all",
        }
    )
    q = fields.String(metadata={"description": "part of the number or title"})


class DocumentTypeInputSchema(Input):
    """What is absent (or null) keeps its value."""

    name = fields.String(load_default=None)
    name_en = fields.String(load_default=None)
    level = fields.Integer(load_default=None, metadata={"description": "0 to 9"})
    number_pattern = fields.String(
        load_default=None,
        validate=validate.Length(max=80),
        metadata={"example": "{type}-{dept}-{seq:03}"},
    )
    review_interval_months = fields.Integer(load_default=None)
    retention_years = fields.Integer(
        allow_none=True, metadata={"description": "null: no retention period"}
    )
    retention_from = fields.String(load_default=None, metadata={"enum": list(RETENTION_FROM)})
    is_active = fields.Boolean(load_default=None)


# Loading: an object the user may not see is 404, as if it did not exist (docs/API.md).


def _document(number: str) -> Document:
    return services.visible_document(db.session, current_user, number)


def _revision(number: str, rev: str) -> Revision:
    return services.visible_revision(db.session, current_user, number, rev)


def _users(usernames: list[str], name: str) -> list:
    found = []
    for username in usernames:
        try:
            found.append(people.get_user(db.session, username))
        except NotFound:
            raise ValidationFailed(
                N_("No user %(username)s."), fields={name: N_("invalid")}, username=username
            ) from None
    return found


# Views --------------------------------------------------------------------------

blp = Blueprint("documents_api", __name__, tag="documents")


@blp.get("/documents")
@blp.arguments(DocumentListArgs, location="query")
@blp.response(200, DocumentPageSchema)
def list_documents(args):
    """Controlled documents the caller may see, by number."""
    stmt = services.documents_query(
        current_user,
        type_code=args.get("type"),
        department=args.get("department"),
        status=args.get("status"),
        q=args.get("q"),
    )
    return page_of(stmt, args)


@blp.post("/documents")
@blp.arguments(DocumentInputSchema)
@blp.response(201, DocumentDetailSchema)
@fails(403, 404)
def create_document(body):
    """Register a document; the system gives it its number.

    404: no (active) document type with that code."""
    department = None
    if body["department"]:
        try:
            department = people.get_department(db.session, body["department"].strip().upper())
        except NotFound:
            raise ValidationFailed(
                N_("No department %(code)s."),
                fields={"department": N_("invalid")},
                code=body["department"],
            ) from None
    parent_number = body["parent"]
    parent = (
        services.visible_parent(db.session, current_user, parent_number) if parent_number else None
    )
    if department is not None:
        allow(can_create_in(current_user, department))
    elif parent is not None:
        allow(can_create_in(current_user, parent.department))
    else:
        allow(can_create_in(current_user, current_user.department))
    return services.create_document(
        db.session,
        current_user,
        type_code=body["type"],
        title=body["title"] or "",
        title_en=body["title_en"],
        department=department,
        parent_number=parent_number,
        training_required=body["training_required"],
        review_interval_months=body["review_interval_months"],
        confidentiality=body["confidentiality"] or "internal",
    )


@blp.get("/documents/<number>")
@blp.response(200, DocumentDetailSchema)
@fails(404)
def get_document(number: str):
    """A document with its revisions (those the caller may see) and current revision."""
    return _document(number)


@blp.patch("/documents/<number>")
@blp.arguments(DocumentUpdateSchema)
@blp.response(200, DocumentDetailSchema)
@fails(403, 404)
def update_document(body, number: str):
    """Change what may change of a registered document: its English title."""
    doc = _document(number)
    allow(can_manage_document(current_user, doc))
    if "title_en" in body:
        services.set_english_title(db.session, current_user, doc, body["title_en"])
    return doc


@blp.post("/documents/<number>/revisions")
@blp.arguments(RevisionInputSchema, location="json_or_form")
@blp.response(201, RevisionSchema)
@upload_doc(RevisionInputSchema)
@fails(403, 404, 409)
def add_revision(body, number: str):
    """Start a new draft revision: upload a .docx or .pdf, or start from the type's template.

    Multipart with `file` and the fields, or JSON `{"from_template": true, ...}`.
    `change_reason` is required by the UI; an API call that leaves it out records the
    change summary as the reason (the API's stable core names only the summary). 409: the
    document is obsolete or has an open revision."""
    doc = _document(number)
    allow(can_add_revision(current_user, doc))
    upload = checked_upload(request.files.get("file"))
    summary, reason = body["change_summary"], body["change_reason"]
    return services.add_revision(
        db.session,
        current_user,
        doc,
        get_store(current_app),
        change_summary=summary or "",
        change_reason=reason if reason is not None else (summary or ""),
        change_type=body["change_type"] or "minor",
        upload=upload,
        from_template=body["from_template"],
    )


@blp.get("/documents/<number>/revisions/<rev>")
@blp.response(200, RevisionSchema)
@fails(404)
def get_revision(number: str, rev: str):
    """One revision with its status, dates, page count and signatures.

    `rev` is the label without its slash: `A0` for A/0."""
    return _revision(number, rev)


@blp.get("/documents/<number>/revisions/<rev>/pdf")
@blp.arguments(RevisionPdfArgs, location="query")
@blp.response(200, content_type="application/pdf", description="the rendered PDF")
@fails(403, 404, 409)
def revision_pdf(args, number: str, rev: str):
    """The revision as PDF: a controlled copy when `copy` names one of its paper copies.

    A controlled copy is printed by the quality officer and the print is recorded on the
    copy; without `copy` the PDF is marked uncontrolled (or obsolete / draft)."""
    return exports.revision_pdf_response(_revision(number, rev), args.get("copy"))


@blp.post("/documents/<number>/revisions/<rev>/submit")
@blp.arguments(SubmitInputSchema)
@blp.response(200, RevisionSchema)
@fails(403, 404, 409)
def submit_revision(body, number: str, rev: str):
    """Send a draft for review and approval (all named people must sign)."""
    revision = _revision(number, rev)
    allow(can_edit_revision(current_user, revision))
    services.submit(
        db.session,
        current_user,
        revision,
        reviewers=_users(body["reviewers"], "reviewers"),
        approvers=_users(body["approvers"], "approvers"),
    )
    return revision


@blp.post("/documents/<number>/revisions/<rev>/review")
@blp.arguments(ReviewInputSchema)
@blp.response(200, RevisionSchema)
@fails(403, 404, 409)
def review_revision(body, number: str, rev: str):
    """A reviewer signs: `approve` (reviewed) or `reject` (back to draft).

    A rejection needs a comment; approvers may reject here too. 403 `signature_failed`:
    wrong password."""
    revision = _revision(number, rev)
    allow(can_sign_revision(current_user, revision))
    services.review(
        db.session,
        current_user,
        revision,
        decision=body["decision"] or "",
        password=body["password"] or "",
        comment=body["comment"],
    )
    return revision


@blp.post("/documents/<number>/revisions/<rev>/approve")
@blp.arguments(ApproveInputSchema)
@blp.response(200, RevisionSchema)
@fails(403, 404, 409)
def approve_revision(body, number: str, rev: str):
    """An approver signs "approved".

    With every approval in, the revision is approved, and effective at once unless the
    effective date lies in the future. 403 `signature_failed`: wrong password."""
    revision = _revision(number, rev)
    allow(can_sign_revision(current_user, revision))
    services.approve(
        db.session,
        current_user,
        revision,
        password=body["password"] or "",
        effective_date=body["effective_date"],
        comment=body["comment"],
    )
    return revision


@blp.post("/documents/<number>/revisions/<rev>/cancel")
@blp.arguments(CancelInputSchema)
@blp.response(200, RevisionSchema)
@fails(403, 404, 409)
def cancel_revision(body, number: str, rev: str):
    """Cancel a draft (its number and label history stay)."""
    revision = _revision(number, rev)
    allow(can_edit_revision(current_user, revision))
    services.cancel(db.session, current_user, revision, reason=body["reason"] or "")
    return revision


_FILE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}


@blp.put("/documents/<number>/revisions/<rev>/file")
@blp.doc(requestBody=_FILE_BODY)
@blp.response(200, RevisionSchema)
@fails(400, 403, 404, 409, 413)
def replace_revision_file(number: str, rev: str):
    """Replace a draft's file (multipart `file`, a .docx or .pdf); earlier files stay stored."""
    revision = _revision(number, rev)
    allow(can_edit_revision(current_user, revision))
    upload = checked_upload(request.files.get("file"))
    if upload is None:
        raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
    services.replace_file(db.session, current_user, revision, get_store(current_app), upload)
    return revision


@blp.get("/documents/<number>/revisions/<rev>/file")
@blp.response(
    200,
    content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    description="the .docx or .pdf as uploaded",
)
@fails(404)
def revision_file(number: str, rev: str):
    """The revision's source file exactly as uploaded (verified against its SHA-256)."""
    return exports.send_revision_file(_revision(number, rev))


@blp.post("/documents/<number>/withdraw")
@blp.arguments(WithdrawInputSchema)
@blp.response(200, DocumentDetailSchema)
@fails(403, 404, 409)
def withdraw_document(body, number: str):
    """Withdraw the document (signed): its effective revision becomes obsolete."""
    doc = _document(number)
    allow(can_manage_document(current_user, doc))
    services.withdraw(
        db.session,
        current_user,
        doc,
        reason=body["reason"] or "",
        password=body["password"] or "",
    )
    return doc


@blp.post("/documents/<number>/review-confirmation")
@blp.arguments(ConfirmReviewInputSchema)
@blp.response(200, DocumentDetailSchema)
@fails(403, 404, 409)
def confirm_periodic_review(body, number: str):
    """Periodic review without change (signed); the next review falls due one interval on."""
    doc = _document(number)
    allow(can_manage_document(current_user, doc))
    services.confirm_review(
        db.session,
        current_user,
        doc,
        password=body["password"] or "",
        comment=body["comment"],
    )
    return doc


_BINARY = {"type": "string", "format": "binary"}


@blp.get("/master-list")
@blp.arguments(MasterListArgs, location="query")
@blp.response(200, MasterListSchema)
@blp.alt_response(200, schema=_BINARY, content_type=TABLE_MIMETYPES["csv"], success=True)
@blp.alt_response(200, schema=_BINARY, content_type=TABLE_MIMETYPES["xlsx"], success=True)
@blp.alt_response(200, schema=_BINARY, content_type=TABLE_MIMETYPES["pdf"], success=True)
def master_list(args):
    """The master document list (受控文件清单) as JSON, CSV, .xlsx or PDF (`format`)."""
    filters = exports.master_list_filters(args)
    rows = services.master_list(db.session, current_user, **filters)
    if args["format"] == "json":
        return {"items": rows, "total": len(rows)}
    return exports.master_list_download(rows, args["format"], filters)


@blp.get("/document-types")
@blp.response(200, DocumentTypeSchema(many=True))
def list_document_types():
    """Document types with their numbering schemes and defaults."""
    return db.session.scalars(
        select(DocumentType).order_by(DocumentType.level, DocumentType.code)
    ).all()


@blp.patch("/document-types/<code>")
@blp.arguments(DocumentTypeInputSchema)
@blp.response(200, DocumentTypeSchema)
@fails(403, 404)
def update_document_type(body, code: str):
    """Change a type's names, level, numbering pattern and defaults (administrator).

    What the body leaves out keeps its value; `retention_years: null` removes the
    retention period."""
    allow(can_manage_document_types(current_user))
    doc_type = db.session.scalar(select(DocumentType).where(DocumentType.code == code.upper()))
    if doc_type is None:
        raise NotFound(N_("No document type %(code)s."), code=code)
    retention = doc_type.retention or {}

    def given(name: str, current):
        return body[name] if body.get(name) is not None else current

    return services.update_type(
        db.session,
        current_user,
        doc_type,
        name=body["name"] or doc_type.name,
        name_en=body["name_en"] or doc_type.name_en,
        level=given("level", doc_type.level),
        number_pattern=body["number_pattern"] or doc_type.number_pattern,
        review_interval_months=given("review_interval_months", doc_type.review_interval_months),
        retention_years=body.get("retention_years", retention.get("years")),  # null clears
        retention_from=body["retention_from"] or retention.get("from", "superseded"),
        is_active=given("is_active", doc_type.is_active),
    )
