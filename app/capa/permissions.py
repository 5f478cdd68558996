"""Who may see and move a nonconformity (docs/adr/0044).

- **Seeing**: an NC is seen by its reporter, the members and the head of its department,
  the owners of its actions (they must read what they are to do), and those who see
  every register (officers, auditors, administrators and top management:
  ``app.security.reads_every_register``). Everyone else gets 404, as if it did not exist.
- **Reporting**: anyone signed in ("Report a problem" is on every page).
- **Triage** (rejecting as "not a nonconformity", signed): quality officers.
- **Containment and analysis**: the NC's department (its members and head) and officers.
- **Approving the plan** (signed): the head of the NC's department, or an officer.
- **Recording an action done**: its owner, or an officer on the owner's behalf.
- **Verifying** (signed): the department head or an officer who owns none of the NC's
  actions (the service refuses an owner, naming the rule).
- **Amending** a closed or rejected NC: the department head or an officer.
- **Closing prompts**: linking a risk point follows the register's rules (officers, the
  head of the risk point's department); creating one, those who may add risk points to
  the NC's department.

``can_view_nc`` (the predicate), ``visible_ncs`` (the SQL filter of every list) and
``index_scope`` (the search index's scope terms) state the same rule side by side.
"""

from __future__ import annotations

from sqlalchemy import or_, select, true, union

from app.capa.models import NcAction, Nonconformity
from app.people.models import Department
from app.risks.permissions import can_create_risk, can_create_risk_in
from app.security import reads_every_register, signed_in


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def is_department_head(user, nc: Nonconformity) -> bool:
    return signed_in(user) and nc.department.head_id == user.id


def _of_department(user, nc: Nonconformity) -> bool:
    return user.department_id == nc.department_id or is_department_head(user, nc)


def sees_all_ncs(user) -> bool:
    """Officers, auditors, administrators and top management see every NC."""
    return reads_every_register(user)


def can_view_nc(user, nc: Nonconformity) -> bool:
    if not signed_in(user):
        return False
    if sees_all_ncs(user) or nc.reported_by_id == user.id or _of_department(user, nc):
        return True
    return any(a.owner_id == user.id for a in nc.actions)


def visible_ncs(user):
    """``can_view_nc`` as a WHERE clause over ``Nonconformity``: the NCs of the reader's
    departments (their own and those they head), and those they reported or own an action
    of. Both halves test only the department and the id, which the (status, department)
    index holds: a filtered register counts and pages without reading the table
    (benchmarks/capa.py)."""
    if sees_all_ncs(user):
        return true()
    departments = select(Department.id).where(
        or_(Department.head_id == user.id, Department.id == user.department_id)
        if user.department_id is not None
        else Department.head_id == user.id
    )
    mine = union(
        select(Nonconformity.id).where(Nonconformity.reported_by_id == user.id),
        select(NcAction.nc_id).where(NcAction.owner_id == user.id),
    )
    return or_(Nonconformity.department_id.in_(departments), Nonconformity.id.in_(mine))


def index_scope(nc: Nonconformity) -> list[str]:
    """``can_view_nc`` as the search index's scope terms (the privileged search everything)."""
    terms = [f"dept:{nc.department_id}", f"user:{nc.reported_by_id}"]
    if nc.department.head_id:
        terms.append(f"user:{nc.department.head_id}")
    terms += sorted({f"user:{a.owner_id}" for a in nc.actions})
    return terms


def can_report(user) -> bool:
    """Anyone signed in may report a problem."""
    return signed_in(user)


def can_view_register(user) -> bool:
    """The register lists what the reader may see (``visible_ncs``): anyone signed in."""
    return signed_in(user)


def can_reject(user, nc: Nonconformity) -> bool:
    """Triage: an officer rejects a report that is no nonconformity (signed)."""
    return _officer(user)


def can_contain(user, nc: Nonconformity) -> bool:
    return signed_in(user) and (_officer(user) or _of_department(user, nc))


can_analyse = can_contain


def can_approve_plan(user, nc: Nonconformity) -> bool:
    """The head of the NC's department, or an officer."""
    return _officer(user) or is_department_head(user, nc)


def can_complete_action(user, action: NcAction) -> bool:
    return signed_in(user) and (action.owner_id == user.id or _officer(user))


def owns_an_action(user, nc: Nonconformity) -> bool:
    return any(a.owner_id == user.id for a in nc.actions)


def can_verify(user, nc: Nonconformity) -> bool:
    """The department head or an officer; whether they own an action is the service's
    rule (refused with a message naming it), so the form still shows to explain it."""
    return _officer(user) or is_department_head(user, nc)


def can_amend(user, nc: Nonconformity) -> bool:
    return _officer(user) or is_department_head(user, nc)


def can_link(user, nc: Nonconformity) -> bool:
    """Adding what the NC concerns: as for containment and analysis."""
    return can_contain(user, nc)


def can_link_risk(user, nc: Nonconformity) -> bool:
    """The closing prompt's "link a risk point": those who may change some risk points
    (officers, department heads); the risk point chosen must be one they may change."""
    return nc.status != "rejected" and can_create_risk(user)


def can_create_risk_for(user, nc: Nonconformity) -> bool:
    """The closing prompt's "create a risk point", in the NC's department."""
    return nc.status != "rejected" and can_create_risk_in(user, nc.department)
