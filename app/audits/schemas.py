"""Marshmallow schemas of the audit API: input (load) and output (dump)."""

from __future__ import annotations

from flask_babel import gettext
from marshmallow import Schema, fields, validate

from app.api.schemas import Input, PageArgs, UTCTime, page_schema
from app.audits.models import DEFAULT_STANDARD, FINDING_STATUSES, STATUSES, TYPES, VERDICTS
from app.audits.services import ACTIONS, warnings_for


class AuditCriterionSchema(Schema):
    id = fields.Integer()
    standard = fields.String()
    code = fields.String(metadata={"example": "7.5.3"})
    kind = fields.String(metadata={"enum": ["clause", "service"]})
    title = fields.Function(lambda c: {"zh": c.title_zh, "en": c.title_en})
    questions = fields.List(fields.Dict(), metadata={"description": '[{"zh": …, "en": …}]'})
    document = fields.Function(lambda c: c.document.number if c.document else None)


class AuditAttachmentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    mimetype = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    added_at = UTCTime()


class AuditChecklistItemSchema(Schema):
    id = fields.Integer()
    clause = fields.String()
    question = fields.String()
    question_en = fields.String(allow_none=True)
    position = fields.Integer()
    done = fields.Boolean()
    verdict = fields.String(allow_none=True, metadata={"enum": list(VERDICTS)})
    evidence = fields.String(allow_none=True)
    links = fields.List(fields.String())
    attachments = fields.List(fields.Nested(AuditAttachmentSchema))


class AuditFindingSchema(Schema):
    id = fields.Integer()
    label = fields.String(metadata={"example": "AUD-2026-001-F01"})
    item = fields.Integer(attribute="item_id")
    grade = fields.String(metadata={"enum": list(VERDICTS)})
    clause = fields.String()
    statement = fields.String()
    evidence = fields.String(allow_none=True)
    department = fields.Function(lambda f: f.department.code)
    nonconformity = fields.Function(lambda f: f.nc.number if f.nc else None)
    status = fields.String(metadata={"enum": list(FINDING_STATUSES)})
    response_reason = fields.String(allow_none=True)
    responded_by = fields.Function(lambda f: f.responded_by.username if f.responded_by else None)
    responded_at = UTCTime()


class AuditSchema(Schema):
    number = fields.String(metadata={"example": "AUD-2026-001"})
    type = fields.String(metadata={"enum": list(TYPES)})
    title = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    departments = fields.Function(lambda a: [d.code for d in a.departments])
    lead_auditor = fields.Function(lambda a: a.lead_auditor.username)
    planned_start = fields.Date()
    planned_end = fields.Date()
    items_to_do = fields.Integer()


class AuditDetailSchema(AuditSchema):
    objectives = fields.String()
    scope = fields.String()
    client = fields.String(allow_none=True)
    places = fields.String(allow_none=True)
    clauses = fields.Function(lambda a: [c.code for c in a.criteria])
    team = fields.Function(lambda a: [u.username for u in a.team])
    independence_justification = fields.String(allow_none=True)
    conclusions = fields.String(allow_none=True)
    started_at = UTCTime()
    ended_at = UTCTime()
    closed_at = UTCTime()
    report_signed = fields.Function(lambda a: a.report_signature_id is not None)
    checklist = fields.List(fields.Nested(AuditChecklistItemSchema), attribute="items")
    findings = fields.List(fields.Nested(AuditFindingSchema))
    warnings = fields.Function(
        lambda a: [
            {
                "code": w["code"],
                "username": w["username"],
                "message": gettext(w["message"], name=w["name"]),
            }
            for w in warnings_for(a)
        ]
    )


AuditPageSchema = page_schema(AuditSchema, "AuditPageSchema")


class AuditItemResultSchema(AuditChecklistItemSchema):
    finding = fields.Nested(AuditFindingSchema, allow_none=True)
    nonconformity = fields.String(allow_none=True)


class AuditProgrammeSchema(Schema):
    year = fields.Integer()
    audits = fields.List(fields.Nested(AuditSchema))
    coverage = fields.Dict(
        metadata={"description": "department code → month (1-12) → audit numbers"}
    )
    uncovered = fields.Dict(metadata={"description": "`clauses` and `departments` not covered"})
    priorities = fields.Dict(metadata={"description": "department code → score, level, reasons"})


class AuditImportResultSchema(Schema):
    standard = fields.String()
    added = fields.Integer()
    updated = fields.Integer()


class AuditStatusSchema(Schema):
    number = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})


# Input ----------------------------------------------------------------------------------


class AuditClauseArgs(Input):
    standard = fields.String(load_default=DEFAULT_STANDARD)


class AuditImportArgs(Input):
    standard = fields.String(required=True)


class AuditQuestionSchema(Input):
    zh = fields.String(required=True)
    en = fields.String(allow_none=True)


class AuditCriterionInputSchema(Input):
    """A criterion the officer adds (``standard`` and ``code`` needed) or edits (they stay)."""

    standard = fields.String(metadata={"example": "ISO 9001:2015"})
    code = fields.String(metadata={"example": "SVC-9"})
    title_zh = fields.String()
    title_en = fields.String()
    questions = fields.List(fields.Nested(AuditQuestionSchema))
    document = fields.String(allow_none=True, metadata={"description": "document number"})


class AuditListArgs(PageArgs):
    year = fields.Integer(validate=validate.Range(min=1900, max=9999))
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    department = fields.String(metadata={"description": "department code"})


class AuditInputSchema(Input):
    type = fields.String(load_default="internal", validate=validate.OneOf(list(TYPES)))
    title = fields.String(required=True)
    objectives = fields.String(required=True)
    scope = fields.String(required=True)
    client = fields.String(load_default=None)
    places = fields.String(load_default=None)
    clauses = fields.List(fields.String(), required=True, metadata={"description": "codes"})
    departments = fields.List(fields.String(), required=True, metadata={"description": "codes"})
    lead_auditor = fields.String(required=True, metadata={"description": "username"})
    team = fields.List(fields.String(), load_default=list, metadata={"description": "usernames"})
    planned_start = fields.Date(required=True)
    planned_end = fields.Date(load_default=None)
    independence_justification = fields.String(load_default=None)


class AuditTransitionInputSchema(Input):
    reason = fields.String(load_default=None, metadata={"description": "cancel: why"})
    conclusions = fields.String(load_default=None, metadata={"description": "report"})


ACTION_NAMES = [*ACTIONS, "cancel"]


class AuditJustificationInputSchema(Input):
    text = fields.String(required=True)


class AuditItemInputSchema(Input):
    clause = fields.String(required=True)
    question = fields.String(required=True)


class AuditItemPatchSchema(Input):
    done = fields.Boolean(load_default=None)
    verdict = fields.String(load_default=None, validate=validate.OneOf(list(VERDICTS)))
    evidence = fields.String(load_default=None)
    links = fields.List(
        fields.String(),
        load_default=None,
        metadata={"description": "document:…, revision:NUMBER/A0 or record:…; each must exist"},
    )
    department = fields.String(load_default=None, metadata={"description": "the finding's"})
    raise_nc = fields.Boolean(load_default=False, metadata={"description": "observation/OFI"})
    question = fields.String(load_default=None, metadata={"description": "before the start"})
    clause = fields.String(load_default=None, metadata={"description": "before the start"})


class AuditReorderInputSchema(Input):
    order = fields.List(fields.Integer(), required=True, metadata={"description": "item ids"})


class AuditResponseInputSchema(Input):
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "dispute"]))
    reason = fields.String(load_default=None)


class AuditDecisionInputSchema(Input):
    decision = fields.String(required=True, validate=validate.OneOf(["confirm", "withdraw"]))
    reason = fields.String(required=True)


class AuditAttachmentInputSchema(Input):
    pass


class AuditSignInputSchema(Input):
    password = fields.String(load_default="")


class AuditCloneInputSchema(Input):
    planned_start = fields.Date(required=True)
    planned_end = fields.Date(load_default=None)
