"""Management-review endpoints of the JSON API (docs/adr/0048)."""

from __future__ import annotations

from flask_login import current_user

from app.api import Blueprint, allow, fails, files, page_of
from app.errors import N_, NotFound
from app.extensions import db
from app.reviews import permissions as perm
from app.reviews import report, services
from app.reviews.schemas import (
    ACTION_NAMES,
    ManagementReviewActionDoneInputSchema,
    ManagementReviewActionListArgs,
    ManagementReviewActionPageSchema,
    ManagementReviewAmendmentInputSchema,
    ManagementReviewAmendmentSchema,
    ManagementReviewCompileInputSchema,
    ManagementReviewDecisionInputSchema,
    ManagementReviewDecisionPatchSchema,
    ManagementReviewDecisionSchema,
    ManagementReviewDetailSchema,
    ManagementReviewInputSchema,
    ManagementReviewListArgs,
    ManagementReviewPageSchema,
    ManagementReviewPatchSchema,
    ManagementReviewTransitionInputSchema,
)

blp = Blueprint("reviews_api", __name__, tag="management-reviews")


def _review(number: str):
    return services.visible_review(db.session, current_user, number)


@blp.get("/management-reviews")
@blp.arguments(ManagementReviewListArgs, location="query")
@blp.response(200, ManagementReviewPageSchema)
def list_reviews(args):
    """The management reviews the reader may see, latest period first."""
    allow(perm.can_view_list(current_user))
    stmt = services.list_stmt(
        where=perm.visible_reviews(current_user), year=args["year"], status=args["status"]
    )
    return page_of(stmt, args)


@blp.post("/management-reviews")
@blp.arguments(ManagementReviewInputSchema)
@blp.response(201, ManagementReviewDetailSchema)
@fails(403)
def plan_review(body):
    """Plan a review of a period, chaired by top management (officers and top management):
    `MR-{yyyy}-{seq:02}`, `planned`."""
    allow(perm.can_plan(current_user))
    return services.plan(db.session, current_user, **body)


@blp.get("/management-reviews/<number>")
@blp.response(200, ManagementReviewDetailSchema)
@fails(404)
def get_review(number: str):
    """One review with its frozen inputs, narratives, attendees, decisions and status."""
    return _review(number)


@blp.patch("/management-reviews/<number>")
@blp.arguments(ManagementReviewPatchSchema)
@blp.response(200, ManagementReviewDetailSchema)
@fails(403, 404, 409)
def patch_review(body, number: str):
    """Narratives by input key, attendees (usernames), external and internal issues (b)
    and resources (d): before the minutes are approved (409 afterwards)."""
    r = _review(number)
    allow(perm.can_prepare(current_user, r))
    services.update(db.session, current_user, r, **body)
    return services.get_review(db.session, r.number)


@blp.post("/management-reviews/<number>/compile")
@blp.arguments(ManagementReviewCompileInputSchema)
@blp.response(200, ManagementReviewDetailSchema)
@fails(403, 404, 409)
def compile_review(body, number: str):
    """Freeze the inputs of 9.3.2 a–f and document control from live data (a snapshot with
    its `sha256`): `inputs_compiled`. Again before the meeting only with `recompile`
    (a new snapshot; the old one is kept); 409 otherwise."""
    r = _review(number)
    allow(perm.can_prepare(current_user, r))
    services.compile_inputs(db.session, current_user, r, recompile=body["recompile"])
    return services.get_review(db.session, r.number)


@blp.post("/management-reviews/<number>/decisions")
@blp.arguments(ManagementReviewDecisionInputSchema)
@blp.response(201, ManagementReviewDecisionSchema)
@fails(403, 404, 409)
def add_decision(body, number: str):
    """A decision (9.3.3: `improvement`, `qms_change`, `resources`) and its action, with
    owner and due date; it appears in the owner's actions (`GET /actions`)."""
    r = _review(number)
    allow(perm.can_prepare(current_user, r))
    return services.add_decision(db.session, current_user, r, **body)


@blp.patch("/management-reviews/<number>/decisions/<id:seq>")
@blp.arguments(ManagementReviewDecisionPatchSchema)
@blp.response(200, ManagementReviewDecisionSchema)
@fails(403, 404, 409)
def set_decision(body, number: str, seq: int):
    """Give a decision its owner and due date; after approval an amendment (`reason`)."""
    r = _review(number)
    allow(perm.can_prepare(current_user, r))
    d = services.decision_of(r, seq)
    services.set_decision(db.session, current_user, d, **body)
    if not r.is_editable:
        report.keep(db.session, services.get_review(db.session, r.number))
    return d


@blp.post("/management-reviews/<number>/amendments")
@blp.arguments(ManagementReviewAmendmentInputSchema)
@blp.response(201, ManagementReviewAmendmentSchema)
@fails(403, 404, 409)
def amend_review(body, number: str):
    """Amend approved minutes: text and reason, audited; the kept report is renewed."""
    r = _review(number)
    allow(perm.can_prepare(current_user, r))
    row = services.amend(db.session, current_user, r, **body)
    report.keep(db.session, services.get_review(db.session, r.number))
    return row


@blp.post("/management-reviews/<number>/<action>")
@blp.arguments(ManagementReviewTransitionInputSchema)
@blp.response(200, ManagementReviewDetailSchema)
@fails(403, 404, 409)
def move_review(body, number: str, action: str):
    """`hold`, `approve` (the chair, with `password`: the minutes are signed and the report
    kept as a record) or `close` (409 while a decision has no owner or due date)."""
    if action not in ACTION_NAMES:
        raise NotFound(N_("No such action."))
    r = _review(number)
    if action == "approve":
        allow(perm.can_approve(current_user, r))
        services.approve(db.session, current_user, r, password=body["password"])
        report.keep(db.session, services.get_review(db.session, r.number))
    else:
        allow(perm.can_prepare(current_user, r))
        services.ACTIONS[action](db.session, current_user, r)
    return services.get_review(db.session, r.number)


@blp.get("/management-reviews/<number>/report")
@files("pdf", description="the review report")
@fails(403, 404)
def review_report(number: str):
    """The review report (PDF, with the charts): the kept record once the minutes are
    approved, else drawn now in the reader's language."""
    r = _review(number)
    allow(perm.can_read_report(current_user, r))
    return report.report_response(r)


@blp.get("/management-review-actions")
@blp.arguments(ManagementReviewActionListArgs, location="query")
@blp.response(200, ManagementReviewActionPageSchema)
def list_review_actions(args):
    """The reader's review actions (their part of `GET /actions`), soonest due first."""
    return page_of(services.actions_stmt(current_user, status=args["status"]), args)


@blp.post("/management-review-actions/<id:decision_id>/done")
@blp.arguments(ManagementReviewActionDoneInputSchema)
@blp.response(200, ManagementReviewDecisionSchema)
@fails(403, 404, 409)
def complete_review_action(body, decision_id: int):
    """Record a review action done with its evidence (its owner or an officer)."""
    d = services.get_decision(db.session, decision_id)
    if not perm.can_view_review(current_user, d.review):
        raise NotFound(N_("No such action."))
    allow(perm.can_complete_action(current_user, d))
    return services.complete_action(db.session, current_user, d, evidence=body["evidence"])
