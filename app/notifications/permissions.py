from __future__ import annotations


def can_read_outbox(user) -> bool:
    """Mail holds document titles and names of every department: administrators only."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role("admin")
