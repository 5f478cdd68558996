"""Who may issue, sign for, recall and see copies and acknowledgements.

- The quality officer issues revisions and records returned copies.
- A paper copy's receipt is signed by its holder: the person it was issued to, the
  custodian of a location, or any active member of the department it was issued to.
- Officers, auditors and administrators see every copy and every acknowledgement; a
  department head sees those of their department; everyone sees their own.
- A revision issued to a person (a live copy to them, their department or as custodian;
  a read-and-understood task) is readable by them, whatever its confidentiality, and its
  document is in their lists: ``issued_to`` (the predicate), ``issued_document_ids`` (in
  SQL) and ``issued_scopes`` (the search index's terms), side by side, registered with
  the document permissions as a grant (``app.documents.permissions.Grant``).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session, object_session

from app.distribution.models import (
    LIVE_ACK_STATUSES,
    Acknowledgement,
    ControlledCopy,
    DistributionLine,
)
from app.documents import permissions as document_permissions
from app.documents.models import Revision
from app.people.models import Department
from app.search import registry
from app.security import sees_everything, signed_in


def can_issue(user) -> bool:
    return signed_in(user) and user.has_role("officer")


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
    return signed_in(user) and user.has_role("officer")


def holds(user, line: DistributionLine) -> bool:
    """``user`` is (one of) the holders of the copies of ``line``."""
    if not signed_in(user):
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
    if not signed_in(user):
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
    return signed_in(user) and ack.user_id == user.id


def can_view_training_of(user, person) -> bool:
    """A person's training history: the person, their department head, officers, auditors
    and administrators."""
    if not signed_in(user):
        return False
    return (
        person.id == user.id
        or sees_everything(user)
        or (person.department is not None and person.department.head_id == user.id)
    )


def can_view_matrix(user) -> bool:
    """The acknowledgement matrix: officers, auditors, administrators (all departments)
    and department heads (their own department)."""
    if not signed_in(user):
        return False
    return sees_everything(user) or heads_a_department(user)


def matrix_departments(user):
    """A WHERE clause on ``Acknowledgement.department_id`` for the matrix."""
    if sees_everything(user):
        return true()
    return Acknowledgement.department_id.in_(_headed(user))


# -- revisions issued to a reader: one rule, three ways ---------------------------------

# Copies through which their holders read the revision; tasks that let their person read it.
HOLDING_COPY_STATUSES = ("issued", "received")
READING_TASK_STATUSES = (*LIVE_ACK_STATUSES, "done")


def _holder(user) -> list:
    """``DistributionLine`` clauses: ``user`` holds the line's copies."""
    holder = [DistributionLine.user_id == user.id, DistributionLine.custodian_id == user.id]
    if user.department_id is not None:
        holder.append(DistributionLine.department_id == user.department_id)
    return holder


def issued_to(user, revision: Revision) -> bool:
    """``user`` holds a live copy of, or has an acknowledgement task for, ``revision``."""
    session = object_session(revision)
    if session is None or not getattr(user, "id", None):
        return False
    has_task = session.scalar(
        select(Acknowledgement.id)
        .where(
            Acknowledgement.revision_id == revision.id,
            Acknowledgement.user_id == user.id,
            Acknowledgement.status.in_(READING_TASK_STATUSES),
        )
        .limit(1)
    )
    if has_task:
        return True
    return (
        session.scalar(
            select(ControlledCopy.id)
            .join(ControlledCopy.line)
            .where(
                ControlledCopy.revision_id == revision.id,
                ControlledCopy.status.in_(HOLDING_COPY_STATUSES),
                or_(*_holder(user)),
            )
            .limit(1)
        )
        is not None
    )


def issued_document_ids(user):
    """The documents of the approved or effective revisions issued to ``user``, as a
    select of ids: ``issued_to`` in SQL."""
    issued = document_permissions.GRANTABLE
    return (
        select(Revision.document_id)
        .join(Acknowledgement, Acknowledgement.revision_id == Revision.id)
        .where(
            Revision.status.in_(issued),
            Acknowledgement.user_id == user.id,
            Acknowledgement.status.in_(READING_TASK_STATUSES),
        )
        .union(
            select(Revision.document_id)
            .join(ControlledCopy, ControlledCopy.revision_id == Revision.id)
            .join(DistributionLine, DistributionLine.id == ControlledCopy.line_id)
            .where(
                Revision.status.in_(issued),
                ControlledCopy.status.in_(HOLDING_COPY_STATUSES),
                or_(*_holder(user)),
            )
        )
    )


def issued_scopes(session: Session, revision_ids: list[int]) -> dict[int, set[str]]:
    """Whom each revision was issued to, as the search index's scope terms:
    ``issued_to`` for the index."""
    scopes: dict[int, set[str]] = defaultdict(set)
    if not revision_ids:
        return scopes
    lines = session.execute(
        select(
            ControlledCopy.revision_id,
            DistributionLine.department_id,
            DistributionLine.user_id,
            DistributionLine.custodian_id,
        )
        .join(ControlledCopy.line)
        .where(
            ControlledCopy.revision_id.in_(revision_ids),
            ControlledCopy.status.in_(HOLDING_COPY_STATUSES),
        )
    )
    for revision_id, department_id, user_id, custodian_id in lines:
        if department_id:
            scopes[revision_id].add(f"dept:{department_id}")
        for person in (user_id, custodian_id):
            if person:
                scopes[revision_id].add(f"user:{person}")
    tasks = session.execute(
        select(Acknowledgement.revision_id, Acknowledgement.user_id).where(
            Acknowledgement.revision_id.in_(revision_ids),
            Acknowledgement.status.in_(READING_TASK_STATUSES),
        )
    )
    for revision_id, user_id in tasks:
        scopes[revision_id].add(f"user:{user_id}")
    return scopes


def _new(obj) -> bool:
    session = object_session(obj)
    return session is not None and obj in session.new


document_permissions.register_grant(
    "issued",
    document_permissions.Grant(
        allows=issued_to, document_ids=issued_document_ids, scopes=issued_scopes
    ),
)
# The scope terms above are in the index entry of each revision ("document" items): a copy
# issued, received, recalled or returned changes them, and so does a new task (signing
# one changes nothing).
registry.watch(ControlledCopy, lambda c: [("document", c.revision_id)])
registry.watch(Acknowledgement, lambda a: [("document", a.revision_id)] if _new(a) else [])
