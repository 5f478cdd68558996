"""Issue, copies and acknowledgements in the JSON API (API.md "Copies and
acknowledgements" and the issue row of "Documents")."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import func, select

from app.api import bp, paginate
from app.api.inputs import allow, body, flag, text
from app.api.schemas import UTCTime
from app.distribution import exports, services
from app.distribution.models import Acknowledgement, ControlledCopy
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


def _today() -> date:
    return local_today()


class CopySchema(Schema):
    copy_no = fields.String()
    document = fields.Function(lambda c: c.revision.document.number)
    title = fields.Function(lambda c: c.revision.document.title)
    revision = fields.Function(lambda c: c.revision.label)
    holder = fields.Function(lambda c: c.line.holder_key)
    holder_name = fields.Function(lambda c: c.line.holder_name)
    medium = fields.String()
    status = fields.String(
        metadata={"enum": ["issued", "received", "recall_open", "returned", "withdrawn"]}
    )
    issued_at = UTCTime()
    received_by = fields.Function(lambda c: c.received_by.username if c.received_by else None)
    received_at = UTCTime()
    recall_opened_at = UTCTime()
    returned_at = UTCTime()
    returned_by = fields.String(attribute="returned_by_name", allow_none=True)
    disposition = fields.String(allow_none=True)


class AcknowledgementSchema(Schema):
    id = fields.Integer()
    document = fields.Function(lambda a: a.revision.document.number)
    title = fields.Function(lambda a: a.revision.document.title)
    revision = fields.Function(lambda a: a.revision.label)
    username = fields.Function(lambda a: a.user.username)
    status = fields.Function(
        lambda a: a.state(_today()),
        metadata={"enum": ["open", "overdue", "done", "superseded", "cancelled"]},
    )
    due_date = fields.Date()
    signed_at = UTCTime()
    created_at = UTCTime()


class IssueSchema(Schema):
    id = fields.Integer()
    document = fields.Function(lambda i: i.revision.document.number)
    revision = fields.Function(lambda i: i.revision.label)
    issued_by = fields.Function(lambda i: i.issued_by.username if i.issued_by else None)
    issued_at = UTCTime()
    training_required = fields.Boolean()
    acknowledge_within_days = fields.Integer()
    copies = fields.Method("_copies")
    acknowledgements = fields.Method("_tasks")

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


@bp.post("/documents/<number>/revisions/<rev>/issue")
def issue_revision(number: str, rev: str):
    """Issue an approved or effective revision to a distribution (or extend it).
    ---
    post:
      tags: [distribution]
      parameters:
        - {in: path, name: number, required: true, schema: {type: string}}
        - {in: path, name: rev, required: true, schema: {type: string}, example: A0}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [distribution]
              properties:
                distribution:
                  type: array
                  items:
                    type: object
                    properties:
                      department: {type: string, description: department code}
                      user: {type: string, description: username}
                      location: {type: string, description: a named location}
                      custodian: {type: string, description: who signs for a location}
                      medium: {type: string, enum: [paper, electronic]}
                      copies: {type: integer, minimum: 1, maximum: 99}
                training_required: {type: boolean}
                acknowledge_within_days: {type: integer, default: 14}
                note: {type: string}
      responses:
        201:
          content:
            application/json:
              schema: IssueSchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
        409:
          description: >-
            The revision cannot be issued in its state (`invalid_transition`), or a
            recipient already holds an electronic copy of it (`conflict`; `fields` names the
            line)
          content:
            application/json:
              schema: Error
    """
    revision = documents.visible_revision(db.session, current_user, number, rev)
    allow(can_issue(current_user))
    data = body()
    training = flag(data, "training_required") if "training_required" in data else None
    record = services.issue(
        db.session,
        current_user,
        revision,
        distribution=services.parse_distribution(db.session, data.get("distribution")),
        training_required=training,
        acknowledge_within_days=data.get("acknowledge_within_days"),
        note=text(data, "note"),
    )
    db.session.commit()
    return jsonify(IssueSchema().dump(record)), 201


@bp.get("/copies")
def list_copies():
    """Controlled copies the caller may see (all of them for officers and auditors).
    ---
    get:
      tags: [distribution]
      parameters:
        - {in: query, name: document, schema: {type: string}}
        - in: query
          name: status
          schema: {type: string, enum: [issued, received, recall_open, returned, withdrawn]}
        - {in: query, name: page, schema: {type: integer}}
        - {in: query, name: per_page, schema: {type: integer}}
      responses:
        200:
          description: "{items: [copy], page, per_page, total}"
    """
    stmt = services.copies_query(
        current_user, document=request.args.get("document"), status=request.args.get("status")
    )
    return jsonify(paginate(stmt, CopySchema().dump))


def _copy(copy_no: str) -> ControlledCopy:
    return services.visible_copy(db.session, current_user, copy_no)


@bp.get("/copies/<copy_no>")
def get_copy(copy_no: str):
    """One controlled copy.
    ---
    get:
      tags: [distribution]
      parameters:
        - in: path
          name: copy_no
          required: true
          schema: {type: string}
          example: QP-CS-001-A0-C03
      responses:
        200:
          content:
            application/json:
              schema: CopySchema
        404:
          $ref: '#/components/responses/NotFound'
    """
    return jsonify(CopySchema().dump(_copy(copy_no)))


@bp.post("/copies/<copy_no>/receipt")
def sign_receipt(copy_no: str):
    """The holder signs the receipt of a paper copy (签收).
    ---
    post:
      tags: [distribution]
      parameters:
        - {in: path, name: copy_no, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties:
                password: {type: string, format: password}
      responses:
        200:
          content:
            application/json:
              schema: CopySchema
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    copy = _copy(copy_no)
    data = body()
    services.sign_receipt(db.session, current_user, copy, password=text(data, "password") or "")
    db.session.commit()
    return jsonify(CopySchema().dump(copy))


@bp.post("/copies/<copy_no>/return")
def return_copy(copy_no: str):
    """The officer records a recalled copy as returned; its recall closes.
    ---
    post:
      tags: [distribution]
      parameters:
        - {in: path, name: copy_no, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [returned_by, disposition]
              properties:
                returned_by: {type: string, description: username or name of who returned it}
                disposition: {type: string, enum: [destroyed, kept_as_obsolete_reference]}
                note: {type: string}
      responses:
        200:
          content:
            application/json:
              schema: CopySchema
        400:
          $ref: '#/components/responses/ValidationFailed'
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    copy = _copy(copy_no)
    allow(can_record_return(current_user))
    data = body()
    services.record_return(
        db.session,
        current_user,
        copy,
        returned_by=text(data, "returned_by") or "",
        disposition=text(data, "disposition") or "",
        note=text(data, "note"),
    )
    db.session.commit()
    return jsonify(CopySchema().dump(copy))


@bp.get("/acknowledgements")
def list_acknowledgements():
    """Read-and-understood tasks of a person (``me`` by default).
    ---
    get:
      tags: [distribution]
      parameters:
        - {in: query, name: user, schema: {type: string, default: me}}
        - in: query
          name: status
          schema: {type: string, enum: [open, overdue, done, superseded, cancelled]}
        - {in: query, name: page, schema: {type: integer}}
        - {in: query, name: per_page, schema: {type: integer}}
      responses:
        200:
          description: "{items: [acknowledgement], page, per_page, total}"
        403:
          $ref: '#/components/responses/Forbidden'
    """
    username = request.args.get("user", "me")
    if username in ("", "me"):
        person = current_user
    else:
        person = people.get_user(db.session, username)
        if not can_view_training_of(current_user, person):
            raise PermissionDenied(N_("You may not see the training of %(name)s."), name=username)
    stmt = services.acknowledgements_query(person.id, request.args.get("status"), _today())
    return jsonify(paginate(stmt, AcknowledgementSchema().dump))


def _ack(ack_id: str) -> Acknowledgement:
    return services.visible_acknowledgement(db.session, current_user, ack_id)


@bp.get("/acknowledgements/<ack_id>")
def get_acknowledgement(ack_id: str):
    """One read-and-understood task.
    ---
    get:
      tags: [distribution]
      parameters:
        - {in: path, name: ack_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: AcknowledgementSchema
        404:
          $ref: '#/components/responses/NotFound'
    """
    return jsonify(AcknowledgementSchema().dump(_ack(ack_id)))


@bp.post("/acknowledgements/<ack_id>/sign")
def sign_acknowledgement(ack_id: str):
    """The person signs "read and understood" (with their password).
    ---
    post:
      tags: [distribution]
      parameters:
        - {in: path, name: ack_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties:
                password: {type: string, format: password}
      responses:
        200:
          content:
            application/json:
              schema: AcknowledgementSchema
        403:
          $ref: '#/components/responses/Forbidden'
        404:
          $ref: '#/components/responses/NotFound'
    """
    ack = _ack(ack_id)
    data = body()
    services.sign_acknowledgement(
        db.session, current_user, ack, password=text(data, "password") or ""
    )
    db.session.commit()
    return jsonify(AcknowledgementSchema().dump(ack))


@bp.get("/acknowledgements/matrix")
def acknowledgement_matrix():
    """Completion per document × department of the current revisions (JSON, CSV, .xlsx).
    ---
    get:
      tags: [distribution]
      parameters:
        - {in: query, name: department, schema: {type: string}}
        - {in: query, name: by, schema: {type: string, enum: [department, person]}}
        - {in: query, name: format, schema: {type: string, enum: [json, csv, xlsx, pdf]}}
      responses:
        200:
          description: the matrix
        403:
          $ref: '#/components/responses/Forbidden'
    """
    allow(can_view_matrix(current_user))
    department = request.args.get("department") or None
    by = request.args.get("by", "department")
    fmt = request.args.get("format", "json")
    table = exports.matrix_table(db.session, current_user, _today(), by=by, department=department)
    if fmt == "json":
        return jsonify(table.as_json())
    return exports.send_table(table, fmt)
