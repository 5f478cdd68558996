"""Who may see and keep the risk-point register (docs/adr/0043-risk-point-register.md).

- Reading (the register, a risk point with its history and links, the heat map, the
  downloads): everyone signed in. Service risks are what every department works against;
  officers, auditors (the audit programme's priorities), top management (the management
  review, 9.3.2e) and department heads need it, and staff should know the risks of their
  own process.
- Adding a risk point: quality officers in any department; a department head in the
  departments they head.
- Changing, reviewing and linking an existing one: officers, and the head of its
  department. Its owner may record the periodic review the sweep reminds them of.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from app.people.models import Department
from app.risks.models import RiskPoint
from app.security import signed_in


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def headed_departments(user) -> list[Department]:
    """The active departments ``user`` heads (by code)."""
    session = object_session(user) if signed_in(user) else None
    if session is None:
        return []
    return list(
        session.scalars(
            select(Department)
            .where(Department.head_id == user.id, Department.is_active.is_(True))
            .order_by(Department.code)
        )
    )


def can_view_risks(user) -> bool:
    """The register, every risk point, its history and links, heat map and downloads."""
    return signed_in(user)


def can_create_risk(user) -> bool:
    """Add risk points at all: officers, and heads of a department."""
    return _officer(user) or bool(headed_departments(user))


def can_create_risk_in(user, department: Department | None) -> bool:
    """Add a risk point to ``department``: officers anywhere, a head in their own."""
    if _officer(user):
        return True
    return signed_in(user) and department is not None and department.head_id == user.id


def can_edit_risk(user, risk: RiskPoint) -> bool:
    """Change the assessment, link or unlink objects: officers and the department's head."""
    return can_create_risk_in(user, risk.department)


def can_review_risk(user, risk: RiskPoint) -> bool:
    """Record a periodic review: who may edit it, and its owner."""
    return can_edit_risk(user, risk) or (signed_in(user) and risk.owner_id == user.id)
