"""Who may issue, sign for, recall and see copies and acknowledgements.

- The quality officer issues revisions and records returned copies.
- A paper copy's receipt is signed by its holder: the person it was issued to, the
  custodian of a location, or any active member of the department it was issued to.
- Officers, auditors and administrators see every copy and every acknowledgement; a
  department head sees those of their department; everyone sees their own.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import object_session

from app.distribution.models import Acknowledgement, ControlledCopy, DistributionLine
from app.documents.permissions import _signed_in, sees_everything
from app.people.models import Department


def can_issue(user) -> bool:
    return _signed_in(user) and user.has_role("officer")


PRINTABLE_COPY_STATUSES = frozenset({"issued", "received"})


def copy_in_force(copy: ControlledCopy) -> bool:
    """The copy is still out there (issued or received) and its revision approved or
    effective: only then may it be printed as a controlled copy."""
    return copy.status in PRINTABLE_COPY_STATUSES and copy.revision.status in (
        "approved",
        "effective",
    )


def can_print_copy(user, copy: ControlledCopy) -> bool:
    """ "Print controlled copy": the quality officer, for a paper copy in force."""
    return can_issue(user) and copy.medium == "paper" and copy_in_force(copy)


def can_record_return(user) -> bool:
    return _signed_in(user) and user.has_role("officer")


def holds(user, line: DistributionLine) -> bool:
    """``user`` is (one of) the holders of the copies of ``line``."""
    if not _signed_in(user):
        return False
    if line.recipient_kind == "department":
        return user.department_id is not None and line.department_id == user.department_id
    if line.recipient_kind == "user":
        return line.user_id == user.id
    return line.custodian_id == user.id


def can_sign_receipt(user, copy: ControlledCopy) -> bool:
    return copy.medium == "paper" and copy.status == "issued" and holds(user, copy.line)


def can_view_copy(user, copy: ControlledCopy) -> bool:
    line = copy.line
    return (
        sees_everything(user)
        or holds(user, line)
        or (line.department is not None and line.department.head_id == user.id)
    )


def visible_copies(user):
    """A WHERE clause for a query over ``ControlledCopy`` joined to its line."""
    if not _signed_in(user):
        return false()
    if sees_everything(user):
        return true()
    clauses = [DistributionLine.user_id == user.id, DistributionLine.custodian_id == user.id]
    if user.department_id is not None:
        clauses.append(DistributionLine.department_id == user.department_id)
    clauses.append(DistributionLine.department_id.in_(_headed(user)))
    return or_(*clauses)


def _headed(user):
    return select(Department.id).where(Department.head_id == user.id)


def heads_a_department(user) -> bool:
    session = object_session(user)
    return session is not None and session.scalar(_headed(user).limit(1)) is not None


def can_view_register(user) -> bool:
    """The recall register and every copy: officers, auditors, administrators."""
    return sees_everything(user)


def can_view_acknowledgement(user, ack: Acknowledgement) -> bool:
    return can_view_training_of(user, ack.user)


def can_sign_acknowledgement(user, ack: Acknowledgement) -> bool:
    return _signed_in(user) and ack.user_id == user.id


def can_view_training_of(user, person) -> bool:
    """A person's training history: the person, their department head, officers, auditors
    and administrators."""
    if not _signed_in(user):
        return False
    return (
        person.id == user.id
        or sees_everything(user)
        or (person.department is not None and person.department.head_id == user.id)
    )


def can_view_matrix(user) -> bool:
    """The acknowledgement matrix: officers, auditors, administrators (all departments)
    and department heads (their own department)."""
    if not _signed_in(user):
        return False
    return sees_everything(user) or heads_a_department(user)


def matrix_departments(user):
    """A WHERE clause on ``Acknowledgement.department_id`` for the matrix."""
    if sees_everything(user):
        return true()
    return Acknowledgement.department_id.in_(_headed(user))
