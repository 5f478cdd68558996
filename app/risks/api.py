"""Risk-point endpoints of the JSON API (the register of 服务风险点)."""

from __future__ import annotations

from flask_login import current_user

from app.api import Blueprint, allow, fails, page_of
from app.errors import N_, ValidationFailed
from app.extensions import db, local_today
from app.people import services as people
from app.risks import services
from app.risks.permissions import (
    can_create_risk,
    can_create_risk_in,
    can_edit_risk,
    can_review_risk,
    can_view_risks,
)
from app.risks.schemas import (
    HeatMapSchema,
    RiskFilterArgs,
    RiskLinkInputSchema,
    RiskListArgs,
    RiskPointDetailSchema,
    RiskPointInputSchema,
    RiskPointPageSchema,
    RiskPointPatchSchema,
    RiskReviewInputSchema,
    RiskReviewSchema,
)

blp = Blueprint("risks_api", __name__, tag="risk points")

FIELDS = (
    "process",
    "cause",
    "consequence",
    "likelihood",
    "severity",
    "controls",
    "review_date",
)


def _filtered(args: dict, *, cell: bool = True):
    return services.list_stmt(
        department=people.department_by_code(db.session, args.get("department")),
        process=args.get("process"),
        band=args.get("band"),
        likelihood=args.get("likelihood") if cell else None,
        severity=args.get("severity") if cell else None,
        due_on=local_today() if args.get("due") else None,
        q=args.get("q"),
    )


def _department_for(user, code: str | None):
    dept = people.department_by_code(db.session, code)
    if dept is not None:
        allow(can_create_risk_in(user, dept))
    return dept


@blp.get("/risk-points")
@blp.arguments(RiskListArgs, location="query")
@blp.response(200, RiskPointPageSchema)
def list_risk_points(args):
    """The risk register, highest score first; `likelihood` and `severity` pick one cell
    of the heat map."""
    allow(can_view_risks(current_user))
    return page_of(_filtered(args), args)


@blp.get("/risk-heat-map")
@blp.arguments(RiskFilterArgs, location="query")
@blp.response(200, HeatMapSchema)
def risk_heat_map(args):
    """The 5×5 heat map of the (filtered) register: risk points per likelihood × severity."""
    allow(can_view_risks(current_user))
    cells = services.heat_map(db.session, _filtered(args, cell=False))
    grid = services.heat_map_grid(cells)
    return {
        "cells": [{"likelihood": row["likelihood"], **c} for row in grid for c in row["cells"]],
        "total": sum(cells.values()),
    }


@blp.post("/risk-points")
@blp.arguments(RiskPointInputSchema)
@blp.response(201, RiskPointDetailSchema)
@fails(403)
def create_risk_point(body):
    """Add a risk point; it gets the next RP number. Officers in any department, a
    department head in their own. Likelihood and severity are 1 to 5."""
    allow(can_create_risk(current_user))
    department = _department_for(current_user, body["department"])
    if department is None:
        raise ValidationFailed(
            N_("Please choose the department."), fields={"department": N_("required")}
        )
    owner = people.user_by_username(db.session, body["owner"], "owner") or current_user
    return services.create_risk_point(
        db.session,
        current_user,
        process=body["process"],
        department=department,
        cause=body["cause"],
        consequence=body["consequence"],
        likelihood=body["likelihood"],
        severity=body["severity"],
        controls=body["controls"],
        owner=owner,
        review_date=body["review_date"],
    )


@blp.get("/risk-points/<number>")
@blp.response(200, RiskPointDetailSchema)
@fails(404)
def get_risk_point(number: str):
    """One risk point with its reviews (newest first) and linked objects."""
    allow(can_view_risks(current_user))
    return services.get_risk_point(db.session, number)


@blp.patch("/risk-points/<number>")
@blp.arguments(RiskPointPatchSchema)
@blp.response(200, RiskPointDetailSchema)
@fails(403, 404)
def update_risk_point(body, number: str):
    """Change the fields given, with a `reason` (audited with before and after)."""
    risk = services.get_risk_point(db.session, number)
    allow(can_edit_risk(current_user, risk))
    values = {key: body.get(key, getattr(risk, key)) for key in FIELDS}
    department = (
        _department_for(current_user, body["department"])
        if "department" in body
        else risk.department
    )
    owner = (
        people.user_by_username(db.session, body["owner"], "owner")
        if "owner" in body
        else risk.owner
    )
    return services.update_risk_point(
        db.session,
        current_user,
        risk,
        reason=body["reason"],
        department=department,
        owner=owner,
        **values,
    )


@blp.post("/risk-points/<number>/review")
@blp.arguments(RiskReviewInputSchema)
@blp.response(201, RiskReviewSchema)
@fails(403, 404, 409)
def review_risk_point(body, number: str):
    """Record a periodic review; the review date moves to `next_review_date`. 409: the
    risk point was already reviewed that day (of two parallel reviews, one is recorded)."""
    risk = services.get_risk_point(db.session, number)
    allow(can_review_risk(current_user, risk))
    return services.record_review(db.session, current_user, risk, **body)


@blp.post("/risk-points/<number>/links")
@blp.arguments(RiskLinkInputSchema)
@blp.response(200, RiskPointDetailSchema)
@fails(403, 404)
def link_risk_point(body, number: str):
    """Link an object (`kind:number`, e.g. `document:QP-CS-001`); linking it again changes
    nothing. Its hit count is the number of distinct linked objects."""
    risk = services.get_risk_point(db.session, number)
    allow(can_edit_risk(current_user, risk))
    services.link(db.session, current_user, risk, body["object"])
    return risk
