"""Who may see and keep the record plan and the records.

- The plan (record types and their forms) is read by everyone signed in and kept by
  quality officers (document control keeps the plan, ISO 9001 7.5.3).
- Filing: officers, and members of the type's owning department (the department that
  keeps those records: customer service files complaints).
- Reading a record: an internal one, everyone signed in; a confidential one, its
  department, the person who filed it, officers, auditors and administrators.
- Changing a draft and completing it: who filed it, or an officer. Amending a complete
  record: its department or an officer (with a reason, always).

``can_view_record`` (the predicate), ``visible_records`` (the SQL filter of every list)
and ``index_scope`` (the search index's scope terms) state the same rule side by side;
tests/test_record_visibility.py checks that they agree on generated cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, true

from app.records.models import Record
from app.security import sees_everything, signed_in


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def can_view_plan(user) -> bool:
    return signed_in(user)


def can_manage_plan(user) -> bool:
    return _officer(user)


def can_file(user, rtype) -> bool:
    if not signed_in(user) or not rtype.is_active:
        return False
    return user.has_role("officer") or user.department_id == rtype.department_id


def sees_all_records(user) -> bool:
    """Officers, auditors and administrators see every record, confidential ones
    included (as they see every document: search shows them everything)."""
    return sees_everything(user)


def can_view_record(user, record) -> bool:
    if not signed_in(user):
        return False
    if record.record_type.confidentiality != "confidential" or sees_all_records(user):
        return True
    return user.department_id == record.department_id or user.id == record.created_by_id


def visible_records(user, confidential_type_ids: Iterable[int]):
    """``can_view_record`` as a WHERE clause over ``Record``, given the ids of the
    confidential record types (read by the caller, ``services.visible_to``: without any,
    a list needs no filter and its count stays an index-only scan)."""
    if sees_all_records(user):
        return true()
    clauses = [
        Record.record_type_id.not_in(sorted(confidential_type_ids)),
        Record.created_by_id == user.id,
    ]
    if user.department_id is not None:
        clauses.append(Record.department_id == user.department_id)
    return or_(*clauses)


def index_scope(record) -> list[str]:
    """``can_view_record`` as the search index's scope terms (a reader's own terms:
    ``app.search.services.scopes_for``; officers, auditors and administrators search
    everything): ``all`` for an internal record, else its department and who filed it."""
    if record.record_type.confidentiality != "confidential":
        return ["all"]
    return [f"dept:{record.department_id}", f"user:{record.created_by_id}"]


def can_edit_draft(user, record) -> bool:
    return (
        record.status == "draft"
        and can_view_record(user, record)
        and (user.id == record.created_by_id or user.has_role("officer"))
    )


def can_amend(user, record) -> bool:
    return (
        record.status == "complete"
        and can_view_record(user, record)
        and (user.has_role("officer") or user.department_id == record.department_id)
    )
