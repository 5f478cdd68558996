from __future__ import annotations


def can_view_audit_trail(user, object_ref: str | None = None) -> bool:
    """The full trail is for administrators, quality officers and auditors.

    Anyone may see the events about their own account.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role("admin", "officer", "auditor"):
        return True
    return object_ref == f"user:{user.username}"


def can_view_filtered_trail(user, refs: list[str] | None, typed: str | None = None) -> bool:
    """May ``user`` list the events of the objects a filter resolved to (``refs``; None:
    every object; empty: the typed text named nothing)? Every one must be open to them,
    so a typed name never widens what a reader sees (nor tells them what exists)."""
    if refs is None:
        return can_view_audit_trail(user, None)
    if not refs:
        return can_view_audit_trail(user, typed)
    return all(can_view_audit_trail(user, ref) for ref in refs)


def can_view_audit_details(user) -> bool:
    """Hashes, ids and internal codes of events: for those who audit the trail."""
    return getattr(user, "is_authenticated", False) and user.has_role("admin", "officer", "auditor")
