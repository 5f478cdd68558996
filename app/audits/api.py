"""Internal-audit endpoints of the JSON API (docs/adr/0045)."""

from __future__ import annotations

import io

from flask import current_app, request, send_file
from flask_login import current_user

from app.api import Blueprint, allow, fails, files, page_of, upload_doc
from app.audits import permissions as perm
from app.audits import services
from app.audits.report import report_response
from app.audits.schemas import (
    ACTION_NAMES,
    AuditAttachmentInputSchema,
    AuditAttachmentSchema,
    AuditChecklistItemSchema,
    AuditClauseArgs,
    AuditCloneInputSchema,
    AuditCriterionInputSchema,
    AuditCriterionSchema,
    AuditDecisionInputSchema,
    AuditDetailSchema,
    AuditFindingSchema,
    AuditImportArgs,
    AuditImportResultSchema,
    AuditInputSchema,
    AuditItemInputSchema,
    AuditItemPatchSchema,
    AuditItemResultSchema,
    AuditJustificationInputSchema,
    AuditListArgs,
    AuditPageSchema,
    AuditProgrammeSchema,
    AuditReorderInputSchema,
    AuditResponseInputSchema,
    AuditSignInputSchema,
    AuditStatusSchema,
    AuditTransitionInputSchema,
)
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import db
from app.storage import get_store
from app.web import checked_scan

blp = Blueprint("audits_api", __name__, tag="audits")


ITEM_FIELDS = (
    "id",
    "clause",
    "question",
    "question_en",
    "position",
    "done",
    "verdict",
    "evidence",
    "links",
    "attachments",
)


def _item_result(item, finding) -> dict:
    """The item as ``AuditItemResultSchema`` dumps it: its fields, the finding it raised
    and the NC that finding opened."""
    out = {name: getattr(item, name) for name in ITEM_FIELDS}
    out["finding"] = finding
    out["nonconformity"] = finding.nc.number if finding is not None else None
    return out


def _audit(number: str):
    return services.visible_audit(db.session, current_user, number)


@blp.get("/clauses")
@blp.arguments(AuditClauseArgs, location="query")
@blp.response(200, AuditCriterionSchema(many=True))
def list_clauses(args):
    """The criteria library of one standard (default ISO 9001:2015), in clause order."""
    allow(perm.can_view_library(current_user))
    return db.session.scalars(services.criteria_stmt(args["standard"])).all()


@blp.post("/clauses/import")
@blp.arguments(AuditImportArgs, location="json_or_form")
@blp.response(201, AuditImportResultSchema)
@upload_doc(AuditImportArgs, required=True)
@fails(403)
def import_clauses(body):
    """Import criteria from a .csv (code, title_zh, title_en, questions separated by `|`,
    document) or .json file into `standard`: all rows or none; a bad row is a 400 naming
    its line (officers)."""
    allow(perm.can_manage_library(current_user))
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
    return services.import_criteria(
        db.session,
        current_user,
        filename=upload.filename or "",
        data=upload.read(),
        standard=body["standard"],
    )


@blp.post("/clauses")
@blp.arguments(AuditCriterionInputSchema)
@blp.response(201, AuditCriterionSchema)
@fails(403)
def add_clause(body):
    """Add one criterion to the library of `standard` (officers); a code the standard
    already has is a 400."""
    allow(perm.can_manage_library(current_user))
    return services.save_criterion(
        db.session,
        current_user,
        criterion=None,
        standard=body.get("standard") or services.DEFAULT_STANDARD,
        values=body,
    )


@blp.patch("/clauses/<int:criterion_id>")
@blp.arguments(AuditCriterionInputSchema)
@blp.response(200, AuditCriterionSchema)
@fails(403, 404)
def edit_clause(body, criterion_id: int):
    """Edit one criterion's titles, questions and source document (officers); its code
    and standard stay. Audits already planned keep their checklist."""
    allow(perm.can_manage_library(current_user))
    criterion = services.get_criterion(db.session, criterion_id)
    return services.save_criterion(
        db.session, current_user, criterion=criterion, standard="", values=body
    )


@blp.get("/audit-programmes/<int:year>")
@blp.response(200, AuditProgrammeSchema)
@fails(403)
def get_programme(year: int):
    """The year's planned audits, the coverage matrix (department × month) with the
    clauses and departments not covered, and each department's priority."""
    allow(perm.can_view_programme(current_user))
    prog = services.programme(db.session, year, perm.visible_audits(current_user))
    return {
        "year": year,
        "audits": prog["audits"],
        "coverage": {
            code: {str(m): numbers for m, numbers in months.items()}
            for code, months in prog["coverage"].items()
        },
        "uncovered": {
            "clauses": [c.code for c in prog["uncovered_clauses"]],
            "departments": [d.code for d in prog["uncovered_departments"]],
        },
        "priorities": services.priorities(db.session),
    }


@blp.get("/audits")
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, AuditPageSchema)
def list_audits(args):
    """The audits the reader may see, newest planned start first."""
    allow(perm.can_view_list(current_user))
    stmt = services.list_stmt(
        where=perm.visible_audits(current_user),
        year=args.get("year"),
        status=args.get("status"),
        department=args.get("department"),
    )
    return page_of(stmt, args)


@blp.post("/audits")
@blp.arguments(AuditInputSchema)
@blp.response(201, AuditDetailSchema)
@fails(403)
def plan_audit(body):
    """Plan an audit (officers and auditors); the checklist is generated from the clauses'
    questions; `warnings` name auditors of an audited department."""
    allow(perm.can_plan(current_user))
    return services.plan(db.session, current_user, **body)


@blp.get("/audits/<number>")
@blp.response(200, AuditDetailSchema)
@fails(404)
def get_audit(number: str):
    """One audit with its checklist and findings."""
    return _audit(number)


@blp.post("/audits/<number>/justification")
@blp.arguments(AuditJustificationInputSchema)
@blp.response(200, AuditDetailSchema)
@fails(403, 404, 409)
def justify_audit(body, number: str):
    """The officer records why an auditor may audit their own department (9.2.2c)."""
    a = _audit(number)
    allow(perm.can_justify(current_user, a))
    return services.justify(db.session, current_user, a, text=body["text"])


@blp.post("/audits/<number>/<action>")
@blp.arguments(AuditTransitionInputSchema)
@blp.response(200, AuditStatusSchema)
@fails(403, 404, 409)
def move_audit(body, number: str, action: str):
    """`prepare`, `start`, `report` (optional `conclusions`), `close` or `cancel`
    (`reason`). 409 `invalid_transition`: not from this status, or a gate (items to do,
    independence, unsigned report, a raised NC without an approved plan)."""
    if action not in ACTION_NAMES:
        raise NotFound(N_("No such action."))
    a = _audit(number)
    if action == "cancel":
        allow(perm.can_cancel(current_user, a))
        return services.cancel(db.session, current_user, a, reason=body["reason"])
    allow(perm.can_run(current_user, a))
    if action == "report":
        return services.to_reporting(db.session, current_user, a, conclusions=body["conclusions"])
    return services.ACTIONS[action](db.session, current_user, a)


@blp.post("/audits/<number>/checklist")
@blp.arguments(AuditItemInputSchema)
@blp.response(201, AuditChecklistItemSchema)
@fails(403, 404, 409)
def add_item(body, number: str):
    """Add a question to the checklist (before the audit starts)."""
    a = _audit(number)
    allow(perm.can_edit_checklist(current_user, a))
    return services.add_item(db.session, current_user, a, **body)


@blp.put("/audits/<number>/checklist/order")
@blp.arguments(AuditReorderInputSchema)
@blp.response(200, AuditChecklistItemSchema(many=True))
@fails(403, 404, 409)
def reorder_items(body, number: str):
    """Put the checklist in the given order of item ids (before the audit starts)."""
    a = _audit(number)
    allow(perm.can_edit_checklist(current_user, a))
    return services.reorder(db.session, current_user, a, body["order"])


@blp.patch("/audits/<number>/checklist/<id:item_id>")
@blp.arguments(AuditItemPatchSchema)
@blp.response(200, AuditItemResultSchema)
@fails(403, 404, 409)
def patch_item(body, number: str, item_id: int):
    """Before the start: reword (`question`, `clause`). In progress: `done`, `verdict`,
    `evidence`, `links` (each must exist and be visible to you, else 400). A major/minor
    NC verdict returns its `finding` and the `nonconformity` it opened."""
    a = _audit(number)
    item = services.get_item(a, item_id)
    if body["question"] is not None or body["clause"] is not None:
        allow(perm.can_edit_checklist(current_user, a))
        item = services.edit_item(
            db.session, current_user, a, item, question=body["question"], clause=body["clause"]
        )
        return _item_result(item, None)
    allow(perm.can_fill(current_user, a))
    result = services.record_item(
        db.session,
        current_user,
        a,
        item,
        done=body["done"],
        verdict=body["verdict"],
        evidence=body["evidence"],
        links=body["links"],
        department=body["department"],
        raise_nc=body["raise_nc"],
    )
    return _item_result(result.item, result.finding)


@blp.post("/audits/<number>/checklist/<id:item_id>/attachments")
@blp.arguments(AuditAttachmentInputSchema, location="json_or_form")
@blp.response(201, AuditAttachmentSchema)
@upload_doc(AuditAttachmentInputSchema, required=True)
@fails(403, 404, 409)
def attach_file(body, number: str, item_id: int):
    """Attach a photo or scan (PDF, JPEG or PNG, checked by its content) to an item while
    the audit is in progress (multipart `file`)."""
    a = _audit(number)
    item = services.get_item(a, item_id)
    allow(perm.can_fill(current_user, a))
    checked = checked_scan(request.files.get("file"))
    return services.attach(db.session, get_store(current_app), current_user, a, item, checked)


@blp.get("/audits/<number>/attachments/<id:attachment_id>")
@files("pdf", description="the attached file (PDF, JPEG or PNG)")
@fails(404)
def get_attachment(number: str, attachment_id: int):
    """An item's attachment, as stored."""
    a = _audit(number)
    att = services.get_attachment(a, attachment_id)
    return send_file(
        io.BytesIO(get_store(current_app).read(att.sha256, att.size)),
        mimetype=att.mimetype,
        download_name=att.name,
    )


@blp.delete("/audits/<number>/checklist/<id:item_id>")
@blp.response(204)
@fails(403, 404, 409)
def delete_item(number: str, item_id: int):
    """Remove a question (before the audit starts)."""
    a = _audit(number)
    allow(perm.can_edit_checklist(current_user, a))
    services.remove_item(db.session, current_user, a, services.get_item(a, item_id))


@blp.post("/audits/<number>/findings/<id:finding_id>/response")
@blp.arguments(AuditResponseInputSchema)
@blp.response(200, AuditFindingSchema)
@fails(403, 404, 409)
def respond_finding(body, number: str, finding_id: int):
    """The auditee department's head accepts the finding or disputes it with a reason."""
    a = _audit(number)
    finding = services.get_finding(a, finding_id)
    allow(perm.can_respond(current_user, finding))
    return services.respond(db.session, current_user, a, finding, **body)


@blp.post("/audits/<number>/findings/<id:finding_id>/decision")
@blp.arguments(AuditDecisionInputSchema)
@blp.response(200, AuditFindingSchema)
@fails(403, 404, 409)
def decide_finding(body, number: str, finding_id: int):
    """The lead auditor confirms or withdraws a disputed finding, with a reason."""
    a = _audit(number)
    finding = services.get_finding(a, finding_id)
    allow(perm.can_resolve(current_user, a))
    return services.resolve(db.session, current_user, a, finding, **body)


@blp.post("/audits/<number>/sign")
@blp.arguments(AuditSignInputSchema)
@blp.response(200, AuditDetailSchema)
@fails(403, 404, 409)
def sign_report(body, number: str):
    """The lead auditor signs the report (in reporting); it is issued to the auditee heads
    and the quality officers. 403 `signature_failed`: wrong password, nothing written."""
    a = _audit(number)
    allow(perm.can_sign_report(current_user, a))
    services.sign_report(db.session, current_user, a, password=body["password"])
    return a


@blp.get("/audits/<number>/report")
@files("pdf", description="the audit report")
@fails(403, 404)
def get_report(number: str):
    """The audit report PDF (ISO 19011 6.5.1), bilingual, with the signature block."""
    a = _audit(number)
    allow(perm.can_read_report(current_user, a))
    return report_response(a)


@blp.post("/audits/<number>/clone")
@blp.arguments(AuditCloneInputSchema)
@blp.response(201, AuditDetailSchema)
@fails(403, 404)
def clone_audit(body, number: str):
    """A new planned audit with the same scope, criteria, team and checklist, verdicts
    and evidence empty (next year's baseline)."""
    a = _audit(number)
    allow(perm.can_plan(current_user))
    return services.clone(db.session, current_user, a, **body)
