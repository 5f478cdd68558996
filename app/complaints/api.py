"""Complaint endpoints of the JSON API (docs/adr/0046)."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.api import Blueprint, fails, files, page_of
from app.capa import services as capa
from app.complaints import exports, services
from app.complaints import permissions as perm
from app.complaints.models import Complaint
from app.complaints.schemas import (
    ComplaintApproveInputSchema,
    ComplaintCategoryInputSchema,
    ComplaintCategoryListSchema,
    ComplaintCategorySchema,
    ComplaintCloseInputSchema,
    ComplaintDetailSchema,
    ComplaintExportArgs,
    ComplaintInputSchema,
    ComplaintListArgs,
    ComplaintOpenNcInputSchema,
    ComplaintPageSchema,
    ComplaintReasonInputSchema,
    ComplaintReopenInputSchema,
    ComplaintStepInputSchema,
)
from app.errors import N_, PermissionDenied
from app.extensions import db, local_day_start

blp = Blueprint("complaints_api", __name__, tag="complaints")


def _may(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(N_("You do not have permission to do this."))


def _case(number: str) -> Complaint:
    c = services.get_complaint(db.session, number)
    _may(perm.can_view_complaint(current_user, c))
    return c


def list_filters(args: dict) -> dict:
    """The list's filters from the query (dates: the organisation's days, both included)."""
    start, end = args.get("received_from"), args.get("received_to")
    return {
        "status": args.get("status"),
        "category": args.get("category"),
        "channel": args.get("channel"),
        "department": args.get("department"),
        "breached": args.get("breached"),
        "received_from": local_day_start(start) if start else None,
        "received_to": local_day_start(end.fromordinal(end.toordinal() + 1)) if end else None,
    }


@blp.get("/complaints")
@blp.arguments(ComplaintListArgs, location="query")
@blp.response(200, ComplaintPageSchema)
@fails(403)
def list_complaints(args):
    """The cases, newest first, filtered by status, category, channel, department, breach
    and the dates received (`from`, `to`)."""
    _may(perm.can_view_list(current_user))
    stmt = services.list_stmt(**list_filters(args)).options(
        selectinload(Complaint.category),
        selectinload(Complaint.department),
        selectinload(Complaint.handler),
        selectinload(Complaint.clocks),
    )
    return page_of(stmt, args)


@blp.post("/complaints")
@blp.arguments(ComplaintInputSchema)
@blp.response(201, ComplaintDetailSchema)
@fails(403)
def create_complaint(body):
    """Take a complaint: `received`, with the next number and each commitment's deadline."""
    _may(perm.can_intake(current_user))
    code = body["department"]
    if code or current_user.department is None:
        department = capa.department_by_code(db.session, code)
    else:
        department = current_user.department
    handler = (
        services.user_by_username(db.session, body["handler"], "handler")
        if body["handler"]
        else None
    )
    return services.intake(
        db.session,
        current_user,
        channel=body["channel"],
        category=body["category"],
        customer_name=body["customer"]["name"],
        customer_contact=body["customer"]["contact"],
        department=department,
        site=body["site"],
        commitment=body["commitment"],
        request=body["request"],
        received_at=body["received_at"],
        handler=handler,
    )


@blp.get("/complaints/export.xlsx")
@blp.arguments(ComplaintExportArgs, location="query")
@files("xlsx", description="the filtered cases; personal data masked for those who may not see it")
@fails(403)
def export_complaints(args):
    """The filtered cases as .xlsx (at most 10,000 rows)."""
    _may(perm.can_view_list(current_user))
    return exports.xlsx_response(db.session, current_user, list_filters(args))


@blp.get("/complaints/<number>")
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404)
def get_complaint(number: str):
    """One case with its steps, its clocks (`due_at`, `met`) and whether it was resolved at
    first contact."""
    return _case(number)


@blp.post("/complaints/<number>/steps")
@blp.arguments(ComplaintStepInputSchema)
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404, 409)
def record_step(body, number: str):
    """Record a recovery step (`apology`, `restoration`, `empathy`, `compensation` with
    `value`, `follow_up` with `satisfaction` 1-5); the status follows. 409 when the step
    is already recorded."""
    c = _case(number)
    _may(perm.can_record_step(current_user, c))
    services.record_step(db.session, current_user, c, **body)
    return c


@blp.post("/complaints/<number>/close")
@blp.arguments(ComplaintCloseInputSchema)
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404, 409)
def close_complaint(body, number: str):
    """Close the case; `reason` is required when steps were skipped (400 otherwise)."""
    c = _case(number)
    _may(perm.can_close(current_user, c))
    return services.close(db.session, current_user, c, reason=body["reason"])


@blp.post("/complaints/<number>/escalate")
@blp.arguments(ComplaintReasonInputSchema)
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404, 409)
def escalate_complaint(body, number: str):
    """Escalate the case to the department head."""
    c = _case(number)
    _may(perm.can_escalate(current_user, c))
    return services.escalate(db.session, current_user, c, reason=body["reason"])


@blp.post("/complaints/<number>/reopen")
@blp.arguments(ComplaintReopenInputSchema)
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404, 409)
def reopen_complaint(body, number: str):
    """Reopen a resolved, followed-up or closed case (department head or officer)."""
    c = _case(number)
    _may(perm.can_reopen(current_user, c))
    return services.reopen(db.session, current_user, c, reason=body["reason"])


@blp.post("/complaints/<number>/compensation/approve")
@blp.arguments(ComplaintApproveInputSchema)
@blp.response(200, ComplaintDetailSchema)
@fails(403, 404, 409)
def approve_compensation(body, number: str):
    """The department head approves the compensation above the set value, signed
    (`password`). 403 `signature_failed`: wrong password, nothing written."""
    c = _case(number)
    _may(perm.can_approve_compensation(current_user, c))
    services.approve_compensation(db.session, current_user, c, password=body["password"])
    return c


@blp.post("/complaints/<number>/nonconformity")
@blp.arguments(ComplaintOpenNcInputSchema)
@blp.response(201, ComplaintDetailSchema)
@fails(403, 404, 409)
def open_nonconformity(body, number: str):
    """Open a nonconformity (source `complaint`) from the case, linked both ways
    (department head or officer); 409 when it already has one."""
    c = _case(number)
    _may(perm.can_open_nc(current_user, c))
    services.open_nc(
        db.session, current_user, c, description=body["description"], severity=body["severity"]
    )
    return c


@blp.get("/complaint-categories")
@blp.response(200, ComplaintCategoryListSchema)
@fails(403)
def list_categories():
    """The complaint categories with their commitment clocks."""
    _may(perm.can_view_list(current_user))
    return {"items": services.categories(db.session)}


@blp.post("/complaint-categories")
@blp.arguments(ComplaintCategoryInputSchema)
@blp.response(201, ComplaintCategorySchema)
@fails(403)
def save_category(body):
    """Create or change a category and its clocks (officers); cases already received keep
    their clocks."""
    _may(perm.can_manage_categories(current_user))
    return services.save_category(
        db.session,
        current_user,
        code=body["code"],
        name=body["name"],
        name_en=body["name_en"],
        clocks=body["clocks"],
        is_active=body["active"],
    )
