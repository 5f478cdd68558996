"""Who may see and change the register of external documents.

Named predicates used by views, templates (to hide buttons) and the API. External
standards and regulations are not confidential: everyone signed in may read the register.
Keeping it — registering, correcting, recording editions and checks, withdrawing,
linking citing documents — is the quality officer's job (document controller, 文控);
administrators have no special rights here.
"""

from __future__ import annotations

from app.security import signed_in


def can_view_external(user) -> bool:
    """The register, an entry, its editions and their files: anyone signed in."""
    return signed_in(user)


def can_manage_external(user) -> bool:
    """Register, edit, record editions and currency checks, withdraw, cite: officers."""
    return signed_in(user) and user.has_role("officer")
