"""Who may see and run retention, legal holds and destruction.

- Seeing what is due, the holds, the batches and the tombstones: quality officers (who
  run retention), approvers (who sign destructions), auditors and administrators. The
  lists name confidential records, so nobody else sees them.
- Proposing a destruction: officers. Approving or rejecting it: an approver who did not
  propose it (two people: docs/adr/0033-destruction.md).
- Placing and lifting a legal hold: officers and administrators.
"""

from __future__ import annotations

from app.security import signed_in


def can_view_retention(user) -> bool:
    return signed_in(user) and user.has_role("officer", "approver", "auditor", "admin")


def can_propose(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def can_decide(user) -> bool:
    """Approvers decide destructions; the service refuses the proposer's own batch."""
    return signed_in(user) and user.has_role("approver")


def can_hold(user) -> bool:
    return signed_in(user) and user.has_role("officer", "admin")
