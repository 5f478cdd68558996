"""Who may see and handle a complaint (docs/adr/0046).

- **Reading a case** (``can_view_complaint``): anyone signed in — complaints are the
  organisation's quality data (KPIs, nonconformities, reviews refer to them) — but
- **its personal data** (``can_see_personal_data``: the customer's name and contact) only
  the handling department (its members and head), the case's handler, and the roles in
  ``PERSONAL_DATA_ROLES`` (officers, auditors). Everyone else sees it masked, in the page,
  the API, search snippets, facets, suggestions and exports alike.
- **Intake**: anyone signed in (the hotline, the counter).
- **Recording steps, escalating, closing**: the handler, the handling department (members
  and head), officers.
- **Approving a compensation** above the set value (signed): the department head; an
  officer when the department has none.
- **Reopening and opening a nonconformity**: the department head or an officer.
- **Categories and settings**: officers.

A new role that should read cases or see personal data (top management) is added in one
place: ``READ_ROLES`` / ``PERSONAL_DATA_ROLES`` below.
"""

from __future__ import annotations

from sqlalchemy import or_, select, true

from app.complaints.models import Complaint
from app.people.models import Department
from app.security import signed_in

# Roles that see every case's personal data (top management joins here)
PERSONAL_DATA_ROLES: tuple[str, ...] = ("officer", "auditor")
# Roles that may read cases beyond those signed in: every signed-in user reads cases today;
# kept as a hook so a narrower rule changes one line.
READ_ROLES: tuple[str, ...] = ()
MASK = "***"


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def is_department_head(user, c: Complaint) -> bool:
    return signed_in(user) and c.department.head_id == user.id


def _handles(user, c: Complaint) -> bool:
    """The handling department's members and head, and the case's handler."""
    return (
        user.department_id == c.department_id
        or is_department_head(user, c)
        or (c.handler_id is not None and c.handler_id == user.id)
    )


def can_view_complaint(user, c: Complaint | None = None) -> bool:
    """Reading a case (its personal data is ``can_see_personal_data``)."""
    return signed_in(user)


def can_see_personal_data(user, c: Complaint) -> bool:
    """The customer's name and contact: the handling department, the handler, officers and
    auditors."""
    if not signed_in(user):
        return False
    return user.has_role(*PERSONAL_DATA_ROLES) or _handles(user, c)


def sees_all_personal_data(user) -> bool:
    return signed_in(user) and user.has_role(*PERSONAL_DATA_ROLES)


def personal_data_clause(user):
    """``can_see_personal_data`` as a SQL condition over ``Complaint`` (exports, lists)."""
    if sees_all_personal_data(user):
        return true()
    departments = select(Department.id).where(
        or_(Department.head_id == user.id, Department.id == user.department_id)
        if user.department_id is not None
        else Department.head_id == user.id
    )
    return or_(Complaint.department_id.in_(departments), Complaint.handler_id == user.id)


def personal_scope(c: Complaint) -> list[str]:
    """``can_see_personal_data`` as search scope terms (the privileged see everything)."""
    terms = [f"dept:{c.department_id}"]
    if c.department.head_id:
        terms.append(f"user:{c.department.head_id}")
    if c.handler_id:
        terms.append(f"user:{c.handler_id}")
    return terms


def mask_name(name: str | None) -> str:
    """A customer's name as others see it: the family name and a mask (王**)."""
    name = (name or "").strip()
    return f"{name[0]}{MASK}" if name else MASK


def can_intake(user) -> bool:
    """Anyone signed in takes a complaint (hotline, counter)."""
    return signed_in(user)


def can_view_list(user) -> bool:
    return signed_in(user)


def can_handle(user, c: Complaint) -> bool:
    """Recording steps, escalating, closing."""
    return signed_in(user) and (_officer(user) or _handles(user, c))


can_record_step = can_handle
can_close = can_handle
can_escalate = can_handle


def can_approve_compensation(user, c: Complaint) -> bool:
    """The department head; an officer when the department has no head."""
    if not signed_in(user):
        return False
    if c.department.head_id is None:
        return _officer(user)
    return is_department_head(user, c)


def can_reopen(user, c: Complaint) -> bool:
    return signed_in(user) and (_officer(user) or is_department_head(user, c))


can_open_nc = can_reopen


def can_manage_categories(user) -> bool:
    """Categories, their clocks and the settings: officers."""
    return _officer(user)
