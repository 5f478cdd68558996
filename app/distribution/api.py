"""Issue, copies and acknowledgements in the JSON API (docs/API.md, "Distribution")."""

from __future__ import annotations

from datetime import date

from flask_login import current_user
from marshmallow import Schema, fields, utils, validate
from sqlalchemy import func, select

from app.api import Blueprint, allow, fails, files, page_of
from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.distribution import exports, services
from app.distribution.models import (
    ACK_STATUSES,
    COPY_STATUSES,
    DISPOSITIONS,
    MEDIA,
    Acknowledgement,
    ControlledCopy,
)
from app.distribution.permissions import (
    can_issue,
    can_record_return,
    can_view_matrix,
    can_view_training_of,
)
from app.documents import services as documents
from app.errors import N_, PermissionDenied
from app.extensions import db, local_today
from app.people import services as people
from app.tables import MIMETYPES


def _today() -> date:
    return local_today()


# Output -------------------------------------------------------------------------


class CopySchema(Schema):
    copy_no = fields.String()
    document = fields.Function(lambda c: c.revision.document.number)
    title = fields.Function(lambda c: c.revision.document.title)
    revision = fields.Function(lambda c: c.revision.label)
    holder = fields.Function(lambda c: c.line.holder_key)
    holder_name = fields.Function(lambda c: c.line.holder_name)
    medium = fields.String()
    status = fields.String(metadata={"enum": list(COPY_STATUSES)})
    issued_at = UTCTime()
    received_by = fields.Function(lambda c: c.received_by.username if c.received_by else None)
    received_at = UTCTime()
    recall_opened_at = UTCTime()
    returned_at = UTCTime()
    returned_by = fields.String(attribute="returned_by_name", allow_none=True)
    disposition = fields.String(allow_none=True)


CopyPageSchema = page_schema(CopySchema, "CopyPageSchema")


class AcknowledgementSchema(Schema):
    id = fields.Integer()
    document = fields.Function(lambda a: a.revision.document.number)
    title = fields.Function(lambda a: a.revision.document.title)
    revision = fields.Function(lambda a: a.revision.label)
    username = fields.Function(lambda a: a.user.username)
    status = fields.Function(
        lambda a: a.state(_today()),
        metadata={"enum": list(ACK_STATUSES)},
    )
    due_date = fields.Date()
    signed_at = UTCTime()
    created_at = UTCTime()


AcknowledgementPageSchema = page_schema(AcknowledgementSchema, "AcknowledgementPageSchema")


class IssueSchema(Schema):
    id = fields.Integer()
    document = fields.Function(lambda i: i.revision.document.number)
    revision = fields.Function(lambda i: i.revision.label)
    issued_by = fields.Function(lambda i: i.issued_by.username if i.issued_by else None)
    issued_at = UTCTime()
    training_required = fields.Boolean()
    acknowledge_within_days = fields.Integer()
    copies = fields.Method("_copies", metadata={"type": "array", "items": {"type": "object"}})
    acknowledgements = fields.Method(
        "_tasks", metadata={"type": "integer", "description": "tasks opened by this issue"}
    )

    def _copies(self, record):
        rows = db.session.scalars(
            select(ControlledCopy)
            .where(ControlledCopy.line_id.in_([line.id for line in record.lines]))
            .order_by(ControlledCopy.seq)
        )
        return CopySchema(many=True).dump(rows)

    def _tasks(self, record):
        return db.session.scalar(
            select(func.count())
            .select_from(Acknowledgement)
            .where(Acknowledgement.issue_id == record.id)
        )


class MatrixSchema(Schema):
    """A register as JSON: its title, column headers and rows of cells."""

    title = fields.String()
    headers = fields.List(fields.String())
    rows = fields.List(fields.List(fields.Raw()))


# Input --------------------------------------------------------------------------


class RecipientInput(Input):
    """One line of an issue: exactly one of `department`, `user` or `location`."""

    department = fields.String(metadata={"description": "department code"})
    user = fields.String(metadata={"description": "username"})
    location = fields.String(metadata={"description": "a named location"})
    custodian = fields.String(metadata={"description": "who signs for a location (username)"})
    medium = fields.String(metadata={"enum": list(MEDIA), "default": "paper"})
    copies = fields.Integer(
        metadata={"minimum": 1, "maximum": 99, "default": 1, "description": "electronic: 1"}
    )


class Recipients(fields.List):
    """The recipients of an issue, documented as a list of ``RecipientInput``. Each row
    is checked by ``services.parse_distribution`` (as the issue form's rows are), whose
    messages name the row and field: ``distribution[1].department``."""

    def __init__(self, **kwargs):
        super().__init__(fields.Nested(RecipientInput), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        return list(value)


class IssueInput(Input):
    distribution = Recipients(
        load_default=None, metadata={"description": "the recipients (at least one)"}
    )
    training_required = fields.Boolean(
        load_default=None, metadata={"description": "default: the document's setting"}
    )
    acknowledge_within_days = fields.Integer(
        load_default=None, metadata={"minimum": 1, "maximum": 365, "default": 14}
    )
    note = fields.String(load_default=None)


class SignInput(Input):
    password = fields.String(
        load_default=None,
        metadata={"format": "password", "description": "the caller's password (signature)"},
    )


class ReturnInput(Input):
    returned_by = fields.String(
        load_default=None, metadata={"description": "username or name of who returned it"}
    )
    disposition = fields.String(load_default=None, metadata={"enum": list(DISPOSITIONS)})
    note = fields.String(load_default=None)


class CopyListArgs(PageArgs):
    document = fields.String(metadata={"description": "document number"})
    status = fields.String(metadata={"enum": list(COPY_STATUSES)})


class AcknowledgementListArgs(PageArgs):
    user = fields.String(load_default="me", metadata={"description": "username, or `me`"})
    status = fields.String(metadata={"enum": [*ACK_STATUSES, "live", "all"]})


class MatrixArgs(Input):
    department = fields.String(metadata={"description": "department code"})
    by = fields.String(load_default="department", validate=validate.OneOf(["department", "person"]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", *MIMETYPES]))


# Views --------------------------------------------------------------------------

blp = Blueprint("distribution_api", __name__, tag="distribution")


@blp.post("/documents/<number>/revisions/<rev>/issue")
@blp.arguments(IssueInput)
@blp.response(201, IssueSchema)
@fails(403, 404, 409)
def issue_revision(body, number: str, rev: str):
    """Issue an approved or effective revision to a distribution (or extend it).

    409: the revision cannot be issued in its state (`invalid_transition`), or a recipient
    already holds an electronic copy of it (`conflict`; `fields` names the line)."""
    revision = documents.visible_revision(db.session, current_user, number, rev)
    allow(can_issue(current_user))
    return services.issue(
        db.session,
        current_user,
        revision,
        distribution=services.parse_distribution(db.session, body["distribution"]),
        training_required=body["training_required"],
        acknowledge_within_days=body["acknowledge_within_days"],
        note=body["note"],
    )


@blp.get("/copies")
@blp.arguments(CopyListArgs, location="query")
@blp.response(200, CopyPageSchema)
def list_copies(args):
    """Controlled copies the caller may see (all of them for officers and auditors)."""
    stmt = services.copies_query(
        current_user, document=args.get("document"), status=args.get("status")
    )
    return page_of(stmt, args)


def _copy(copy_no: str) -> ControlledCopy:
    return services.visible_copy(db.session, current_user, copy_no)


@blp.get("/copies/<copy_no>")
@blp.response(200, CopySchema)
@fails(404)
def get_copy(copy_no: str):
    """One controlled copy (e.g. `QP-CS-001-A0-C03`)."""
    return _copy(copy_no)


@blp.post("/copies/<copy_no>/receipt")
@blp.arguments(SignInput)
@blp.response(200, CopySchema)
@fails(403, 404, 409)
def sign_receipt(body, copy_no: str):
    """The holder signs the receipt of a paper copy (签收)."""
    copy = _copy(copy_no)
    services.sign_receipt(db.session, current_user, copy, password=body["password"] or "")
    return copy


@blp.post("/copies/<copy_no>/return")
@blp.arguments(ReturnInput)
@blp.response(200, CopySchema)
@fails(403, 404, 409)
def return_copy(body, copy_no: str):
    """The officer records a recalled copy as returned; its recall closes."""
    copy = _copy(copy_no)
    allow(can_record_return(current_user))
    services.record_return(
        db.session,
        current_user,
        copy,
        returned_by=body["returned_by"] or "",
        disposition=body["disposition"] or "",
        note=body["note"],
    )
    return copy


@blp.get("/acknowledgements")
@blp.arguments(AcknowledgementListArgs, location="query")
@blp.response(200, AcknowledgementPageSchema)
@fails(403, 404)
def list_acknowledgements(args):
    """Read-and-understood tasks of a person (`me` by default)."""
    username = args["user"]
    if username in ("", "me"):
        person = current_user
    else:
        person = people.get_user(db.session, username)
        if not can_view_training_of(current_user, person):
            raise PermissionDenied(N_("You may not see the training of %(name)s."), name=username)
    stmt = services.acknowledgements_query(person.id, args.get("status"), _today())
    return page_of(stmt, args)


@blp.get("/acknowledgements/matrix")
@blp.arguments(MatrixArgs, location="query")
@blp.response(200, MatrixSchema)
@files("csv", "xlsx", "pdf", description="the matrix as a file (format=csv|xlsx|pdf)")
@fails(403)
def acknowledgement_matrix(args):
    """Completion per document × department of the current revisions (JSON, CSV, .xlsx, PDF).

    `by=person`: one row per person with open, overdue and done counts."""
    allow(can_view_matrix(current_user))
    table = exports.matrix_table(
        db.session, current_user, _today(), by=args["by"], department=args.get("department")
    )
    if args["format"] == "json":
        return table.as_json()
    return exports.send_table(table, args["format"])


def _ack(ack_id: int) -> Acknowledgement:
    return services.visible_acknowledgement(db.session, current_user, ack_id)


@blp.get("/acknowledgements/<id:ack_id>")
@blp.response(200, AcknowledgementSchema)
@fails(404)
def get_acknowledgement(ack_id: int):
    """One read-and-understood task."""
    return _ack(ack_id)


@blp.post("/acknowledgements/<id:ack_id>/sign")
@blp.arguments(SignInput)
@blp.response(200, AcknowledgementSchema)
@fails(403, 404, 409)
def sign_acknowledgement(body, ack_id: int):
    """The person signs "read and understood" (with their password)."""
    ack = _ack(ack_id)
    services.sign_acknowledgement(db.session, current_user, ack, password=body["password"] or "")
    return ack
