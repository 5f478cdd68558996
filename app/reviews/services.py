"""Management reviews, ISO 9001 9.3 (docs/adr/0048).

Lifecycle::

    planned → inputs_compiled → held → minutes_approved → closed

``TRANSITIONS`` is the whole table; ``_move`` (``app.audit_trail.lifecycle``) is the only
place a review's status changes and refuses anything not in the table with
:class:`InvalidTransition` (409). Gates:

- ``compile``: freezes a snapshot of the inputs of 9.3.2 (``app.reviews.inputs``) as
  canonical JSON with its SHA-256; from ``inputs_compiled`` only with ``recompile`` (a new
  snapshot, the old one kept), so two racing first compiles give one snapshot and a 409;
- ``hold``: the inputs are compiled;
- ``approve``: the chair signs the minutes (password); the review then changes only by
  amendments;
- ``close``: every decision has an owner and a due date.

Every state-changing service locks the review's row first (``app.locking``). Services
flush and never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app import inputs as checks
from app.audit_trail import services as audit
from app.audit_trail.lifecycle import Lifecycle
from app.audit_trail.services import canonical_json
from app.capa import services as capa
from app.errors import N_, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import local_today, utcnow
from app.locking import lock
from app.people.models import User
from app.reviews import inputs
from app.reviews.models import (
    CATEGORIES,
    STATUSES,
    ManagementReview,
    ReviewAmendment,
    ReviewAttendee,
    ReviewDecision,
    ReviewSnapshot,
    normalise_number,
)
from app.reviews.permissions import can_complete_action, can_view_review, is_officer
from app.sequences import next_value
from app.signatures.services import sign

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "compile": (frozenset({"planned"}), "inputs_compiled"),
    "recompile": (frozenset({"inputs_compiled"}), "inputs_compiled"),
    "hold": (frozenset({"inputs_compiled"}), "held"),
    "approve": (frozenset({"held"}), "minutes_approved"),
    "close": (frozenset({"minutes_approved"}), "closed"),
}
EVENTS = {
    "compile": "review_compiled",
    "recompile": "review_compiled",
    "hold": "review_held",
    "approve": "review_minutes_approved",
    "close": "review_closed",
}
ACTION_LABELS = {
    "compile": N_("compiled"),
    "recompile": N_("compiled again"),
    "hold": N_("held"),
    "approve": N_("approved"),
    "close": N_("closed"),
}
ALLOWED_EDGES = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
STAMPS = {
    "inputs_compiled": "compiled_at",
    "held": "held_at",
    "minutes_approved": "approved_at",
    "closed": "closed_at",
}
MAX_TEXT = 8000
MAX_DECISIONS = 100
ACTION_FILTERS = ("open", "overdue", "done")


# the one place a review's status changes: the table checked, the time stamped, the trail
_move = Lifecycle(TRANSITIONS, STATUSES, ACTION_LABELS, EVENTS, STAMPS).move


# Loading ---------------------------------------------------------------------------------


def get_review(session: Session, number: str) -> ManagementReview:
    r = session.scalar(
        select(ManagementReview)
        .where(ManagementReview.number == normalise_number(number))
        .options(
            selectinload(ManagementReview.snapshots),
            selectinload(ManagementReview.attendees).selectinload(ReviewAttendee.user),
            selectinload(ManagementReview.decisions).selectinload(ReviewDecision.owner),
            selectinload(ManagementReview.amendments),
        )
    )
    if r is None:
        raise NotFound(N_("No management review %(number)s."), number=number)
    return r


def visible_review(session: Session, user: User, number: str) -> ManagementReview:
    """The review for a reader who may see it; otherwise NotFound (404)."""
    r = get_review(session, number)
    if not can_view_review(user, r):
        raise NotFound(N_("No management review %(number)s."), number=number)
    return r


def list_stmt(*, where, year: int | None = None, status: str | None = None) -> Select:
    stmt = select(ManagementReview).where(where)
    if year:
        stmt = stmt.where(ManagementReview.year == year)
    if status:
        stmt = stmt.where(ManagementReview.status == status)
    return stmt.order_by(ManagementReview.period_end.desc(), ManagementReview.id.desc())


def decision_of(r: ManagementReview, seq: int) -> ReviewDecision:
    d = next((d for d in r.decisions if d.seq == seq), None)
    if d is None:
        raise NotFound(N_("No such decision."))
    return d


def get_decision(session: Session, decision_id: int) -> ReviewDecision:
    d = session.get(ReviewDecision, decision_id)
    if d is None:
        raise NotFound(N_("No such action."))
    return d


# Input helpers ---------------------------------------------------------------------------


def _text(value, field: str, message: str, *, required: bool = True, max_len: int = MAX_TEXT):
    return checks.text(value, field, message, required=required, max_len=max_len)


def _date(value, field: str, message: str) -> date:
    if not isinstance(value, date):
        raise ValidationFailed(message, fields={field: N_("required")})
    return value


def _chair(session: Session, username) -> User:
    chair = capa.user_by_username(session, username, "chair")
    if not chair.has_role("management"):
        raise ValidationFailed(
            N_("%(name)s is not top management: the review is chaired by top management."),
            fields={"chair": N_("invalid")},
            name=chair.full_name,
        )
    return chair


def _require_editable(r: ManagementReview) -> None:
    if not r.is_editable:
        raise InvalidTransition(
            N_("%(number)s is %(status)s: its minutes are approved; amend it with a reason."),
            number=r.number,
            status=STATUSES[r.status],
        )


# Planning --------------------------------------------------------------------------------


def plan(
    session: Session,
    actor: User,
    *,
    period_start: date,
    period_end: date,
    planned_date: date,
    chair: str,
) -> ManagementReview:
    """Plan a review of the period ``period_start``–``period_end``, chaired by top
    management; it gets the next ``MR-{yyyy}-{seq:02}`` of its planned date's year."""
    start = _date(period_start, "period_start", N_("Please give the start of the period."))
    end = _date(period_end, "period_end", N_("Please give the end of the period."))
    held_on = _date(planned_date, "planned_date", N_("Please give the planned date."))
    if end < start:
        raise ValidationFailed(
            N_("The period cannot end before it starts."), fields={"period_end": N_("invalid")}
        )
    if (end - start).days > 3 * 366:
        raise ValidationFailed(
            N_("A review covers at most three years."), fields={"period_end": N_("invalid")}
        )
    if held_on.year > 9999 or held_on.year < 1900:
        raise ValidationFailed(
            N_("Please give the planned date."), fields={"planned_date": "invalid"}
        )
    chair_user = _chair(session, chair)
    year = held_on.year
    seq = next_value(session, f"management_review:{year}")
    r = ManagementReview(
        number=f"MR-{year}-{seq:02d}",
        year=year,
        seq=seq,
        period_start=start,
        period_end=end,
        planned_date=held_on,
        chair=chair_user,
        status="planned",
        narratives_json="{}",
        created_by=actor,
    )
    session.add(r)
    session.flush()
    audit.record(session, actor, r.ref, "review_planned", after=r.audit_state())
    return r


def previous_review(session: Session, r: ManagementReview) -> ManagementReview | None:
    """The review before ``r`` (the latest whose period ended before ``r``'s ends)."""
    return session.scalar(
        select(ManagementReview)
        .where(
            ManagementReview.id != r.id,
            or_(
                ManagementReview.period_end < r.period_end,
                (ManagementReview.period_end == r.period_end) & (ManagementReview.id < r.id),
            ),
        )
        .order_by(ManagementReview.period_end.desc(), ManagementReview.id.desc())
        .limit(1)
    )


def compile_inputs(
    session: Session, actor: User, r: ManagementReview, *, recompile: bool = False
) -> ReviewSnapshot:
    """Freeze the inputs of 9.3.2 from live data as a new snapshot (the earlier ones are
    kept). A first compile moves the review to ``inputs_compiled``; compiling again (before
    the meeting) needs ``recompile``, so two racing first compiles make one snapshot."""
    lock(session, r)
    action = "recompile" if recompile and r.status == "inputs_compiled" else "compile"
    sources, _ = TRANSITIONS[action]
    if r.status not in sources:
        if r.status == "inputs_compiled":
            raise InvalidTransition(
                N_(
                    "The inputs of %(number)s are already compiled; compile them again to "
                    "replace them."
                ),
                number=r.number,
            )
        raise InvalidTransition(
            N_("%(number)s is %(status)s; it cannot be %(action)s."),
            number=r.number,
            status=STATUSES[r.status],
            action=ACTION_LABELS[action],
        )
    content = inputs.compile_all(session, r, previous_review(session, r))
    text = canonical_json(content)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    version = len(r.snapshots) + 1
    snap = ReviewSnapshot(
        review_id=r.id,
        version=version,
        content_json=text,
        sha256=digest,
        compiled_by_id=actor.id,
        compiled_at=utcnow(),
    )
    session.add(snap)
    session.flush()
    _move(session, actor, r, action, after={"snapshot": version, "sha256": digest})
    session.refresh(r, ["snapshots"])
    return snap


def update(
    session: Session,
    actor: User,
    r: ManagementReview,
    *,
    narratives: dict | None = None,
    attendees: list[str] | None = None,
    external_issues: str | None = None,
    resources: str | None = None,
) -> ManagementReview:
    """Narratives by input key, the attendees (usernames), the entered inputs b) and d):
    before the minutes are approved (409 afterwards). Only what is given changes."""
    lock(session, r)
    _require_editable(r)
    before: dict = {}
    after: dict = {}
    if narratives is not None:
        if not isinstance(narratives, dict):
            raise ValidationFailed(N_("Invalid narratives."), fields={"narratives": "invalid"})
        current = r.narratives
        for key, value in narratives.items():
            if key not in inputs.SECTION_KEYS:
                raise ValidationFailed(
                    N_("No input %(key)s in a management review."),
                    fields={"narratives": N_("invalid")},
                    key=str(key)[:40],
                )
            text = _text(value, "narratives", "", required=False)
            if text:
                current[key] = text
            else:
                current.pop(key, None)
        before["narratives"] = r.narratives
        after["narratives"] = current
        r.narratives_json = json.dumps(current, ensure_ascii=False, sort_keys=True)
    if attendees is not None:
        people: list[User] = []
        for name in attendees:
            user = capa.user_by_username(session, name, "attendees")
            if user not in people:
                people.append(user)
        before["attendees"] = sorted(a.user.username for a in r.attendees)
        keep = {u.id for u in people}
        for row in list(r.attendees):
            if row.user_id not in keep:
                if row.signature_id is not None:
                    raise InvalidTransition(
                        N_("%(name)s signed the attendance and stays on the list."),
                        name=row.user.full_name,
                    )
                session.delete(row)
        have = {row.user_id for row in r.attendees}
        for user in people:
            if user.id not in have:
                session.add(ReviewAttendee(review_id=r.id, user_id=user.id))
        after["attendees"] = sorted(u.username for u in people)
    if external_issues is not None:
        before["external_issues"] = r.external_issues
        r.external_issues = _text(external_issues, "external_issues", "", required=False)
        after["external_issues"] = r.external_issues
    if resources is not None:
        before["resources"] = r.resources
        r.resources = _text(resources, "resources", "", required=False)
        after["resources"] = r.resources
    session.flush()
    if after:
        audit.record(session, actor, r.ref, "review_changed", before=before, after=after)
    session.expire(r, ["attendees"])
    return r


def sign_attendance(session: Session, actor: User, r: ManagementReview, *, password: str):
    """An attendee signs their attendance (optional; before the minutes are approved)."""
    lock(session, r)
    _require_editable(r)
    row = next((a for a in r.attendees if a.user_id == actor.id), None)
    if row is None:
        raise PermissionDenied(N_("Only an attendee signs the attendance."))
    if row.signature_id is not None:
        raise InvalidTransition(N_("You have already signed the attendance."))
    sig = sign(
        session,
        actor,
        password,
        meaning="review_attended",
        object_ref=r.ref,
        content=canonical_json({"review": r.number, "attended": actor.username}),
    )
    row.signature_id = sig.id
    session.flush()
    return sig


def add_decision(
    session: Session,
    actor: User,
    r: ManagementReview,
    *,
    text: str,
    category: str,
    owner: str | None = None,
    due_date: date | None = None,
) -> ReviewDecision:
    """A decision (9.3.3) and its action: text, category, owner and due date. An owner or a
    due date may be given later; the review closes only when every decision has both."""
    lock(session, r)
    _require_editable(r)
    if r.status == "planned":
        raise InvalidTransition(
            N_("Compile the inputs of %(number)s before recording decisions."), number=r.number
        )
    text = _text(text, "text", N_("Please state the decision."))
    if category not in CATEGORIES:
        raise ValidationFailed(
            N_("Please choose the category of the decision."),
            fields={"category": N_("not one of the choices")},
        )
    owner_user = capa.user_by_username(session, owner, "owner") if owner else None
    if due_date is not None and not isinstance(due_date, date):
        raise ValidationFailed(N_("Please give a due date."), fields={"due_date": "invalid"})
    if len(r.decisions) >= MAX_DECISIONS:
        raise ValidationFailed(N_("Too many decisions."), fields={"text": N_("too many")})
    seq = (
        session.scalar(select(func.max(ReviewDecision.seq)).where(ReviewDecision.review_id == r.id))
        or 0
    ) + 1
    d = ReviewDecision(
        review_id=r.id,
        seq=seq,
        text=text,
        category=category,
        owner=owner_user,
        due_date=due_date,
        status="open",
        created_by_id=actor.id,
    )
    session.add(d)
    session.flush()
    audit.record(session, actor, r.ref, "review_decision_added", after=d.audit_state())
    session.expire(r, ["decisions"])
    return d


def set_decision(
    session: Session,
    actor: User,
    d: ReviewDecision,
    *,
    owner: str | None,
    due_date: date | None,
    reason: str | None = None,
) -> ReviewDecision:
    """Give a decision its owner and due date. Once the minutes are approved this is an
    amendment: it needs a reason, which is kept with the review and audited."""
    r = d.review
    lock(session, r)
    if r.status == "planned":
        _require_editable(r)
    if d.status != "open":
        raise InvalidTransition(N_("This action is already done."))
    amending = not r.is_editable
    reason = _text(reason, "reason", N_("Please give the reason."), required=amending)
    before = d.audit_state()
    d.owner = capa.user_by_username(session, owner, "owner")
    d.due_date = _date(due_date, "due_date", N_("Please give a due date."))
    session.flush()
    after = d.audit_state()
    if amending:
        session.add(
            ReviewAmendment(
                review_id=r.id,
                text=f"{d.label}: {d.owner.full_name}, {d.due_date.isoformat()}",
                reason=reason,
                user_id=actor.id,
            )
        )
        session.flush()
        audit.record(
            session, actor, r.ref, "review_amended", before=before, after=after, reason=reason
        )
    else:
        audit.record(session, actor, r.ref, "review_changed", before=before, after=after)
    session.expire(r, ["amendments"])
    return d


def hold(session: Session, actor: User, r: ManagementReview) -> ManagementReview:
    """The meeting was held: the minutes are then written and approved."""
    lock(session, r)
    _move(session, actor, r, "hold")
    return r


def minutes_content(r: ManagementReview) -> str:
    """What the chair signs: the snapshot's hash and the minutes, as canonical JSON."""
    return canonical_json(
        {
            "review": r.number,
            "snapshot": r.snapshot.sha256 if r.snapshot else None,
            "narratives": r.narratives,
            "external_issues": r.external_issues or "",
            "resources": r.resources or "",
            "attendees": sorted(a.user.username for a in r.attendees),
            "decisions": [
                [
                    d.seq,
                    d.text,
                    d.category,
                    d.owner.username if d.owner else None,
                    d.due_date.isoformat() if d.due_date else None,
                ]
                for d in r.decisions
            ],
            "decision": "review_minutes_approved",
        }
    )


def approve(session: Session, actor: User, r: ManagementReview, *, password: str):
    """The chair approves the minutes with an electronic signature; the review can then
    change only by amendments. Of two racing approvals one signs, the other gets 409."""
    lock(session, r)
    if actor.id != r.chair_id:
        raise PermissionDenied(N_("Only the chair approves the minutes."))
    sources, _ = TRANSITIONS["approve"]
    if r.status not in sources:
        raise InvalidTransition(
            N_("%(number)s is %(status)s; it cannot be %(action)s."),
            number=r.number,
            status=STATUSES[r.status],
            action=ACTION_LABELS["approve"],
        )
    sig = sign(
        session,
        actor,
        password,
        meaning="review_minutes_approved",
        object_ref=r.ref,
        content=minutes_content(r),
    )
    r.minutes_signature_id = sig.id
    _move(session, actor, r, "approve")
    return sig


def close_blockers(r: ManagementReview) -> list[tuple[str, dict]]:
    out = []
    for d in r.decisions:
        if d.owner_id is None or d.due_date is None:
            out.append((N_("Decision %(label)s has no owner or due date yet."), {"label": d.label}))
    return out


def close(session: Session, actor: User, r: ManagementReview) -> ManagementReview:
    """Close the approved review: refused (409) while a decision has no owner or due date."""
    lock(session, r)
    if r.status == "minutes_approved":
        blockers = close_blockers(r)
        if blockers:
            message, params = blockers[0]
            raise InvalidTransition(message, **params)
    _move(session, actor, r, "close")
    return r


ACTIONS = {"hold": hold, "close": close}


def amend(
    session: Session, actor: User, r: ManagementReview, *, text: str, reason: str
) -> ReviewAmendment:
    """Add to approved minutes: the text and its reason, audited; nothing is overwritten."""
    lock(session, r)
    if r.is_editable:
        raise InvalidTransition(
            N_("%(number)s is not approved yet: change it directly."), number=r.number
        )
    text = _text(text, "text", N_("Please write the amendment."))
    reason = _text(reason, "reason", N_("Please give the reason."))
    row = ReviewAmendment(review_id=r.id, text=text, reason=reason, user_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor, r.ref, "review_amended", after={"text": text}, reason=reason)
    session.expire(r, ["amendments"])
    return row


# Actions (the review's outputs) ------------------------------------------------------------


def complete_action(
    session: Session, actor: User, d: ReviewDecision, *, evidence: str
) -> ReviewDecision:
    """Record a decision's action done with its evidence (its owner, or an officer)."""
    lock(session, d)
    if not can_complete_action(actor, d):
        raise PermissionDenied(N_("Only the owner of the action or an officer may do this."))
    if d.status != "open":
        raise InvalidTransition(N_("This action is already done."))
    if d.review.status not in ("minutes_approved", "closed") and d.owner_id is None:
        raise InvalidTransition(N_("This action has no owner yet."))
    evidence = _text(evidence, "evidence", N_("Please give the evidence that the action is done."))
    d.status = "done"
    d.evidence = evidence
    d.done_by_id = actor.id
    d.done_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        d.review.ref,
        "review_action_done",
        after={"decision": d.seq, "evidence": evidence},
    )
    return d


def actions_stmt(owner: User, *, status: str | None = "open", today: date | None = None) -> Select:
    """One person's review actions, soonest due first: ``open``, ``overdue`` or ``done``."""
    today = today or local_today()
    stmt = (
        select(ReviewDecision)
        .where(ReviewDecision.owner_id == owner.id)
        .options(selectinload(ReviewDecision.review), selectinload(ReviewDecision.owner))
    )
    if status == "done":
        return stmt.where(ReviewDecision.status == "done").order_by(ReviewDecision.done_at.desc())
    stmt = stmt.where(ReviewDecision.status == "open")
    if status == "overdue":
        stmt = stmt.where(ReviewDecision.due_date < today)
    return stmt.order_by(ReviewDecision.due_date, ReviewDecision.id)


def is_chair_or_officer(user: User, r: ManagementReview) -> bool:
    return is_officer(user) or user.id == r.chair_id


def management_summary(session: Session, user: User, today: date | None = None) -> dict:
    """The dashboard card of top management: the next review (not yet approved) and the
    open and overdue review actions across all reviews."""
    today = today or local_today()
    upcoming = session.scalar(
        select(ManagementReview)
        .where(ManagementReview.status.in_(("planned", "inputs_compiled", "held")))
        .order_by(ManagementReview.planned_date, ManagementReview.id)
        .limit(1)
    )
    open_actions = session.scalar(
        select(func.count()).select_from(ReviewDecision).where(ReviewDecision.status == "open")
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(ReviewDecision)
        .where(ReviewDecision.status == "open", ReviewDecision.due_date < today)
    )
    return {"next": upcoming, "open_actions": open_actions or 0, "overdue": overdue or 0}
