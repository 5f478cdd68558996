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
