"""Who may see and hold a management review (docs/adr/0048).

- **Seeing** a review, its inputs, minutes and report: those who read every register
  (officers, auditors, administrators and top management), its attendees and the owners
  of its actions. Everyone else gets 404, as if it did not exist.
- **Planning** a review: quality officers and top management.
- **Preparing and minuting** (compile, narratives, attendees, entered inputs, decisions,
  hold, close, amendments): quality officers and the review's chair.
- **Approving the minutes** (signed): the chair alone.
- **Recording an action done**: its owner, or an officer on the owner's behalf.

``can_view_review`` (the predicate) and ``visible_reviews`` (the SQL filter of the list)
state the same rule side by side.
"""

from __future__ import annotations

from sqlalchemy import or_, select, true

from app.reviews.models import ManagementReview, ReviewAttendee, ReviewDecision
from app.security import reads_every_register, signed_in


def is_officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def is_management(user) -> bool:
    return signed_in(user) and user.has_role("management")


def is_chair(user, r: ManagementReview) -> bool:
    return signed_in(user) and r.chair_id == user.id


def can_view_list(user) -> bool:
    """The list shows what the reader may see: anyone signed in."""
    return signed_in(user)


def can_view_review(user, r: ManagementReview) -> bool:
    if not signed_in(user):
        return False
    if reads_every_register(user) or is_chair(user, r):
        return True
    return any(a.user_id == user.id for a in r.attendees) or any(
        d.owner_id == user.id for d in r.decisions
    )


def visible_reviews(user):
    """``can_view_review`` as a WHERE clause over ``ManagementReview``."""
    if reads_every_register(user):
        return true()
    return or_(
        ManagementReview.chair_id == user.id,
        ManagementReview.id.in_(
            select(ReviewAttendee.review_id).where(ReviewAttendee.user_id == user.id)
        ),
        ManagementReview.id.in_(
            select(ReviewDecision.review_id).where(ReviewDecision.owner_id == user.id)
        ),
    )


def can_plan(user) -> bool:
    return is_officer(user) or is_management(user)


def can_prepare(user, r: ManagementReview) -> bool:
    """Compile, narratives, attendees, decisions, hold, close, amend."""
    return is_officer(user) or is_chair(user, r)


def can_approve(user, r: ManagementReview) -> bool:
    return is_chair(user, r)


def can_sign_attendance(user, r: ManagementReview) -> bool:
    return signed_in(user) and any(a.user_id == user.id for a in r.attendees)


def can_read_report(user, r: ManagementReview) -> bool:
    return can_view_review(user, r)


def can_complete_action(user, d: ReviewDecision) -> bool:
    return is_officer(user) or (signed_in(user) and d.owner_id == user.id)
