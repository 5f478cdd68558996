"""Who may manage people. Named predicates used by views, templates and the API."""

from __future__ import annotations


def can_manage_people(user) -> bool:
    """Departments, users, roles and password resets: administrators only."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role("admin")


def can_list_users(user) -> bool:
    """The user directory (needed to pick reviewers, holders, …): any signed-in user."""
    return bool(getattr(user, "is_authenticated", False))
