"""Who may see and act on internal audits (docs/adr/0045).

- **Seeing** an audit, its checklist, findings and report: those who read every register
  (officers, auditors, administrators, top management), its lead auditor and team, and
  the members and heads of the departments it audits. Everyone else gets 404, as if it did
  not exist.
- **Planning** (new audits, clones, checklists before the start): officers and auditors.
- **Running** (prepare, start, fill the checklist, move to reporting, close): the lead
  auditor, the team for the checklist, and officers.
- **Cancelling**: officers and the lead auditor.
- **Justifying independence** (9.2.2c): officers only.
- **Responding** to a finding: the head of the finding's department.
- **Deciding a disputed finding** and **signing the report**: the lead auditor.
- **The clause library**: read by anyone signed in; imported and edited by officers.
- **The programme** (and its coverage matrix): officers, auditors, administrators and top
  management.

``can_view_audit`` (the predicate), ``visible_audits`` (the SQL filter) and
``index_scope`` (the search index's scope terms) state the same rule side by side.
"""

from __future__ import annotations

from sqlalchemy import or_, select, true

from app.audits.models import Audit, AuditDepartment, AuditTeamMember, Finding
from app.people.models import Department
from app.security import reads_every_register, signed_in


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def _auditor(user) -> bool:
    return signed_in(user) and user.has_role("auditor")


def is_lead(user, a: Audit) -> bool:
    return signed_in(user) and a.lead_auditor_id == user.id


def in_team(user, a: Audit) -> bool:
    return signed_in(user) and (is_lead(user, a) or any(u.id == user.id for u in a.team))


def is_auditee(user, a: Audit) -> bool:
    """A member or head of an audited department."""
    return signed_in(user) and any(
        d.id == user.department_id or d.head_id == user.id for d in a.departments
    )


def can_view_audit(user, a: Audit) -> bool:
    if not signed_in(user):
        return False
    return reads_every_register(user) or in_team(user, a) or is_auditee(user, a)


def visible_audits(user):
    """``can_view_audit`` as a WHERE clause over ``Audit``."""
    if reads_every_register(user):
        return true()
    audited = select(AuditDepartment.audit_id).join(
        Department, Department.id == AuditDepartment.department_id
    )
    clauses = [
        Audit.lead_auditor_id == user.id,
        Audit.id.in_(select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == user.id)),
        Audit.id.in_(audited.where(Department.head_id == user.id)),
    ]
    if user.department_id is not None:
        clauses.append(
            Audit.id.in_(
                select(AuditDepartment.audit_id).where(
                    AuditDepartment.department_id == user.department_id
                )
            )
        )
    return or_(*clauses)


def index_scope(a: Audit) -> list[str]:
    """``can_view_audit`` as search scope terms (the privileged search everything)."""
    terms = [f"user:{u.id}" for u in a.auditors]
    for d in a.departments:
        terms.append(f"dept:{d.id}")
        if d.head_id:
            terms.append(f"user:{d.head_id}")
    return sorted(set(terms))


def can_view_list(user) -> bool:
    """The audit list shows what the reader may see: anyone signed in."""
    return signed_in(user)


def can_plan(user) -> bool:
    """Officers and auditors plan audits and clone them."""
    return _officer(user) or _auditor(user)


def can_edit_checklist(user, a: Audit) -> bool:
    return _officer(user) or (_auditor(user) and in_team(user, a)) or is_lead(user, a)


def can_run(user, a: Audit) -> bool:
    """Prepare, start, move to reporting and close: the lead auditor and officers."""
    return _officer(user) or is_lead(user, a)


def can_fill(user, a: Audit) -> bool:
    """Record verdicts and evidence: the lead auditor, the team and officers."""
    return _officer(user) or in_team(user, a)


def can_cancel(user, a: Audit) -> bool:
    return _officer(user) or is_lead(user, a)


def can_justify(user, a: Audit) -> bool:
    return _officer(user)


def can_respond(user, finding: Finding) -> bool:
    return signed_in(user) and finding.department.head_id == user.id


def can_resolve(user, a: Audit) -> bool:
    return is_lead(user, a)


def can_sign_report(user, a: Audit) -> bool:
    return is_lead(user, a)


def can_read_report(user, a: Audit) -> bool:
    return can_view_audit(user, a)


def can_view_library(user) -> bool:
    return signed_in(user)


def can_manage_library(user) -> bool:
    return _officer(user)


def can_view_programme(user) -> bool:
    return reads_every_register(user)
