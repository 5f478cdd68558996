"""Nonconformity and action endpoints of the JSON API (docs/adr/0044)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.api import Blueprint, fails, page_of
from app.capa import action_sources, services
from app.capa import permissions as perm
from app.capa.models import NcAction, Nonconformity
from app.capa.schemas import (
    NcActionDoneInputSchema,
    NcActionListArgs,
    NcActionPageSchema,
    NcActionSchema,
    NcAmendmentInputSchema,
    NcAmendmentSchema,
    NcAnalysisInputSchema,
    NcContainmentInputSchema,
    NcDetailSchema,
    NcInputSchema,
    NcLinkInputSchema,
    NcLinkSchema,
    NcListArgs,
    NcPageSchema,
    NcPlanInputSchema,
    NcRejectInputSchema,
    NcVerificationInputSchema,
)
from app.errors import N_, NotFound, PermissionDenied
from app.extensions import db, local_today

blp = Blueprint("capa_api", __name__, tag="nonconformities")


def _may(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(N_("You do not have permission to do this."))


def _nc(number: str):
    return services.visible_nc(db.session, current_user, number)


def reporter_department(session, user, code: str | None):
    """The department named, or the reporter's own; a reporter without one must name it."""
    if code or user.department is None:
        return services.department_by_code(session, code)
    return user.department


@blp.get("/nonconformities")
@blp.arguments(NcListArgs, location="query")
@blp.response(200, NcPageSchema)
def list_nonconformities(args):
    """The NC register the reader may see, newest first, filtered."""
    _may(perm.can_view_register(current_user))
    stmt = services.list_stmt(
        where=perm.visible_ncs(current_user),
        status=args.get("status"),
        department=args.get("department"),
        source=args.get("source"),
        severity=args.get("severity"),
        q=args.get("q"),
    ).options(selectinload(Nonconformity.department), selectinload(Nonconformity.reported_by))
    return page_of(stmt, args)


@blp.post("/nonconformities")
@blp.arguments(NcInputSchema)
@blp.response(201, NcDetailSchema)
def report_nonconformity(body):
    """Report a nonconformity (anyone signed in); it is `reported` with the next number."""
    _may(perm.can_report(current_user))
    return services.report(
        db.session,
        current_user,
        description=body["description"],
        department=reporter_department(db.session, current_user, body["department"]),
        severity=body["severity"],
        source=body["source"],
        links=body["links"],
    )


@blp.get("/nonconformities/<number>")
@blp.response(200, NcDetailSchema)
@fails(404)
def get_nonconformity(number: str):
    """One NC with its containment, analysis, actions, plans, checks, verifications,
    links, signatures and amendments."""
    return _nc(number)


@blp.post("/nonconformities/<number>/containment")
@blp.arguments(NcContainmentInputSchema)
@blp.response(200, NcDetailSchema)
@fails(403, 404, 409)
def contain_nonconformity(body, number: str):
    """Record the containment: `reported → contained`."""
    nc = _nc(number)
    _may(perm.can_contain(current_user, nc))
    return services.contain(db.session, current_user, nc, text=body["text"])


@blp.post("/nonconformities/<number>/analysis")
@blp.arguments(NcAnalysisInputSchema)
@blp.response(200, NcDetailSchema)
@fails(403, 404, 409)
def analyse_nonconformity(body, number: str):
    """Record the root cause (whys and/or categories, similar NCs, could it occur
    elsewhere): `contained → analysed`."""
    nc = _nc(number)
    _may(perm.can_analyse(current_user, nc))
    return services.analyse(db.session, current_user, nc, **body)


@blp.post("/nonconformities/<number>/plan")
@blp.arguments(NcPlanInputSchema)
@blp.response(200, NcDetailSchema)
@fails(403, 404, 409)
def plan_nonconformity(body, number: str):
    """Approve the action plan with the effectiveness criterion and check date, signed
    (department head or officer): `analysed → action_planned` (or the new plan of a
    reopened NC). 403 `signature_failed`: wrong password, nothing written."""
    nc = _nc(number)
    _may(perm.can_approve_plan(current_user, nc))
    eff = body["effectiveness"]
    services.approve_plan(
        db.session,
        current_user,
        nc,
        actions=body["actions"],
        criterion=eff["criterion"],
        check_date=eff["check_date"],
        rule=eff["rule"],
        kpi=eff["kpi"],
        threshold=eff["threshold"],
        password=body["password"],
    )
    return nc


@blp.post("/nonconformities/<number>/verification")
@blp.arguments(NcVerificationInputSchema)
@blp.response(200, NcDetailSchema)
@fails(403, 404, 409)
def verify_nonconformity(body, number: str):
    """The signed effectiveness decision (department head or officer owning no action):
    `closed`, or back to `action_planned` when not effective."""
    nc = _nc(number)
    _may(perm.can_verify(current_user, nc))
    services.verify(db.session, current_user, nc, **body)
    return nc


@blp.post("/nonconformities/<number>/reject")
@blp.arguments(NcRejectInputSchema)
@blp.response(200, NcDetailSchema)
@fails(403, 404, 409)
def reject_nonconformity(body, number: str):
    """Triage: reject as not a nonconformity, with a signed reason (officers)."""
    nc = _nc(number)
    _may(perm.can_reject(current_user, nc))
    return services.reject(db.session, current_user, nc, **body)


@blp.post("/nonconformities/<number>/amendments")
@blp.arguments(NcAmendmentInputSchema)
@blp.response(201, NcAmendmentSchema)
@fails(403, 404, 409)
def amend_nonconformity(body, number: str):
    """Amend a closed or rejected NC (text and reason; the NC itself is unchanged)."""
    nc = _nc(number)
    _may(perm.can_amend(current_user, nc))
    return services.amend(db.session, current_user, nc, **body)


@blp.post("/nonconformities/<number>/links")
@blp.arguments(NcLinkInputSchema)
@blp.response(201, NcLinkSchema)
@fails(403, 404, 409)
def link_nonconformity(body, number: str):
    """Link an open NC to a document or record it concerns."""
    nc = _nc(number)
    _may(perm.can_link(current_user, nc))
    return services.add_link(db.session, current_user, nc, body["link"])


@blp.get("/actions")
@blp.arguments(NcActionListArgs, location="query")
@blp.response(200, NcActionPageSchema)
@fails(403)
def list_actions(args):
    """A person's actions (`owner`: `me` by default; another's for officers, auditors
    and administrators), soonest due first: `open`, `overdue` or `done`."""
    owner = current_user
    if args["owner"] not in ("me", current_user.username):
        _may(perm.sees_all_ncs(current_user))
        owner = services.user_by_username(db.session, args["owner"], "owner")
    stmt = services.actions_stmt(owner, status=args["status"]).options(
        selectinload(NcAction.nc), selectinload(NcAction.owner), selectinload(NcAction.done_by)
    )
    others = action_sources.rows_for(db.session, owner, args["status"], local_today())
    if not others:
        return page_of(stmt, args)
    # NC actions and the registered sources' rows in one list, in the same order: a
    # person's actions are few enough to merge here
    rows = [*db.session.scalars(stmt).all(), *others]
    if args["status"] == "done":
        rows.sort(key=lambda a: a.done_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    else:
        rows.sort(key=lambda a: (a.due_date or date.max, getattr(a, "reference", "")))
    page, per_page = args["page"], args["per_page"]
    items = rows[(page - 1) * per_page : page * per_page]
    return {"items": items, "page": page, "per_page": per_page, "total": len(rows)}


@blp.post("/actions/<id:action_id>/done")
@blp.arguments(NcActionDoneInputSchema)
@blp.response(200, NcActionSchema)
@fails(403, 404, 409)
def complete_action(body, action_id: int):
    """Record the action done with its evidence (its owner or an officer); the NC moves
    to `implemented` when all are."""
    action = services.get_action(db.session, action_id)
    if not perm.can_view_nc(current_user, action.nc):
        raise NotFound(N_("No such action."))
    _may(perm.can_complete_action(current_user, action))
    return services.complete_action(db.session, current_user, action, evidence=body["evidence"])
