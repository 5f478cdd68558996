"""Customer complaints and service recovery (docs/adr/0046).

Lifecycle::

    received → acknowledged → restoring → resolved → followed_up → closed
    received | acknowledged | restoring → escalated   (a breached clock, or by hand)
    resolved | followed_up | closed → restoring       (reopened, with a reason)

Steps move the case: the apology acknowledges it, a restoration under way makes it
``restoring``, a restoration done resolves it, the follow-up (with the customer's
satisfaction 1-5) makes it ``followed_up``; empathy and compensation do not move it.
``TRANSITIONS`` is the whole table; ``_move`` is the only place a case's status changes,
and it refuses anything not in the table with :class:`InvalidTransition` (409).
Guarantees:

- every state-changing service locks the case's row first (``app.locking``): of two racing
  requests (a double click) one records, the other reads the committed state and gets a
  409 (a step already recorded, a case already closed);
- each step is recorded once per round (a reopened case starts a new round);
- a clock is met when its step was recorded at or before its due time (the step's own
  time, which may be given when it is entered later, never before receipt nor in the
  future);
- a compensation above the set value waits for the department head's signed approval, and
  the case cannot close while one waits;
- a case closes without all five steps only with a reason;
- "resolved at first contact" is derived: restoration done within the set minutes of
  receipt, never reopened;
- every change writes an audit event about ``complaint:CMP-yyyy-nnnnn`` in the caller's
  transaction; the trail keeps no personal data.

Services flush and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, selectinload

from app import inputs
from app.audit_trail import services as audit
from app.audit_trail.lifecycle import Lifecycle
from app.capa import services as capa
from app.capa.models import NcLink
from app.complaints.models import (
    CHANNELS,
    STATUSES,
    STEPS,
    CategoryClock,
    Complaint,
    ComplaintCategory,
    ComplaintClock,
    ComplaintSettings,
    ComplaintStep,
    normalise_number,
)
from app.complaints.permissions import (
    can_approve_compensation,
    can_open_nc,
)
from app.errors import N_, Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import local_date, local_zone, utcnow
from app.locking import lock
from app.people.models import Department, User
from app.sequences import next_value
from app.signatures.services import sign

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"received", "escalated"}), "acknowledged"),
    "restore": (frozenset({"received", "acknowledged", "escalated"}), "restoring"),
    "resolve": (frozenset({"received", "acknowledged", "restoring", "escalated"}), "resolved"),
    "follow_up": (frozenset({"resolved"}), "followed_up"),
    "close": (
        frozenset(
            {"received", "acknowledged", "restoring", "resolved", "followed_up", "escalated"}
        ),
        "closed",
    ),
    "escalate": (frozenset({"received", "acknowledged", "restoring"}), "escalated"),
    "reopen": (frozenset({"resolved", "followed_up", "closed"}), "restoring"),
}
EVENTS = {
    "acknowledge": "complaint_acknowledged",
    "restore": "complaint_restoring",
    "resolve": "complaint_resolved",
    "follow_up": "complaint_followed_up",
    "close": "complaint_closed",
    "escalate": "complaint_escalated",
    "reopen": "complaint_reopened",
}
ACTION_LABELS = {
    "acknowledge": N_("acknowledged"),
    "restore": N_("restored"),
    "resolve": N_("resolved"),
    "follow_up": N_("followed up"),
    "close": N_("closed"),
    "escalate": N_("escalated"),
    "reopen": N_("reopened"),
}
ALLOWED_EDGES = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
MAX_TEXT = 4000
MAX_NAME = 200
MAX_HOURS = 24 * 366
MAX_VALUE = Decimal("9999999999")
CLOCK_SKEW = timedelta(minutes=5)  # a step's time may be a little ahead of the server's
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


LIFECYCLE = Lifecycle(
    transitions=TRANSITIONS,
    statuses=STATUSES,
    action_labels=ACTION_LABELS,
    events=EVENTS,
    stamps={"closed": "closed_at", "escalated": "escalated_at"},
)


def _move(
    session: Session,
    actor: User | None,
    c: Complaint,
    action: str,
    *,
    reason: str | None = None,
    after: dict | None = None,
) -> None:
    """The only place a case's status changes (``LIFECYCLE``: the table checked, the time
    stamped, the trail written)."""
    LIFECYCLE.move(session, actor, c, action, reason=reason, after=after)


# Loading ---------------------------------------------------------------------------------


def get_complaint(session: Session, number: str) -> Complaint:
    c = session.scalar(
        select(Complaint)
        .where(Complaint.number == normalise_number(number))
        .options(
            selectinload(Complaint.steps),
            selectinload(Complaint.clocks),
            selectinload(Complaint.category),
            selectinload(Complaint.department),
        )
    )
    if c is None:
        raise NotFound(N_("No complaint %(number)s."), number=number)
    return c


def settings(session: Session) -> ComplaintSettings:
    """The officer's settings (defaults until saved once)."""
    found = session.get(ComplaintSettings, 1)
    if found is None:
        found = ComplaintSettings(
            id=1,
            approval_above=Decimal("200"),
            repeat_days=30,
            first_contact_minutes=30,
            auto_nc_on_breach=False,
            auto_nc_on_repeat=False,
        )
    return found


def category_by_code(session: Session, code: str | None, *, active: bool = True):
    text = (code or "").strip().upper()
    if not text:
        raise ValidationFailed(
            N_("Please choose the category."), fields={"category": N_("required")}
        )
    cat = session.scalar(
        select(ComplaintCategory)
        .where(ComplaintCategory.code == text)
        .options(selectinload(ComplaintCategory.clocks))
    )
    if cat is None or (active and not cat.is_active):
        raise ValidationFailed(
            N_("No complaint category %(code)s."), fields={"category": N_("invalid")}, code=text
        )
    return cat


# Input helpers ---------------------------------------------------------------------------


def _text(value, field: str, message: str, *, required: bool = True, max_len: int = MAX_TEXT):
    return inputs.text(value, field, message, required=required, max_len=max_len) or ""


def _moment(value, field: str, *, not_before: datetime | None = None) -> datetime:
    """A time given for an event: aware (naive is read as the organisation's local time),
    not in the future, not before ``not_before``."""
    now = utcnow()
    if value is None:
        return now
    if not isinstance(value, datetime):
        raise ValidationFailed(N_("Please give a valid time."), fields={field: N_("invalid")})
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(
            N_("The time cannot be in the future."), fields={field: N_("invalid")}
        )
    if not_before is not None and value < not_before:
        raise ValidationFailed(
            N_("The time cannot be before the complaint was received."),
            fields={field: N_("invalid")},
        )
    if value.year < 2000:
        raise ValidationFailed(N_("Please give a valid time."), fields={field: N_("invalid")})
    return value


def due_at(received_at: datetime, hours: int) -> datetime:
    """A commitment's deadline: ``hours`` calendar hours after receipt, on the
    organisation's wall clock (so a day is a day across a daylight-saving change)."""
    local = received_at.astimezone(local_zone())
    return (local + timedelta(hours=hours)).astimezone(received_at.tzinfo or local.tzinfo)


def customer_key(name: str, contact: str) -> str:
    """Who the customer is, as repeat detection compares them: the contact's digits (or
    its lowercase text), else the name without spaces."""
    digits = "".join(ch for ch in contact if ch.isdigit())
    if len(digits) >= 5:
        return f"tel:{digits}"[:420]
    if contact.strip():
        return f"c:{contact.strip().lower()}"[:420]
    return f"n:{''.join(name.split()).lower()}"[:420]


def user_by_username(session: Session, username: str | None, field: str) -> User:
    return capa.user_by_username(session, username, field)


# Categories ------------------------------------------------------------------------------


def _clocks(items) -> dict[str, int]:
    if not isinstance(items, list):
        raise ValidationFailed(
            N_("Please give the clocks as a list."), fields={"clocks": N_("invalid")}
        )
    out: dict[str, int] = {}
    for item in items:
        step = item.get("step") if isinstance(item, dict) else None
        hours = item.get("within_hours") if isinstance(item, dict) else None
        if step not in STEPS:
            raise ValidationFailed(
                N_("A clock names no recovery step."),
                fields={"clocks": N_("not one of the choices")},
            )
        if step in out:
            raise ValidationFailed(
                N_("Each step has at most one clock."), fields={"clocks": N_("invalid")}
            )
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise ValidationFailed(
                N_("A clock's hours must be a whole number from 1 to %(max)s."),
                fields={"clocks": N_("invalid")},
                max=MAX_HOURS,
            )
        out[step] = hours
    return out


def save_category(
    session: Session,
    actor: User,
    *,
    code: str,
    name: str,
    name_en: str | None = None,
    clocks: list[dict],
    is_active: bool = True,
) -> ComplaintCategory:
    """Create or update a category and its clocks (officers). Existing cases keep the
    clocks they were given at intake."""
    text = (code or "").strip().upper()
    if not CODE.match(text):
        raise ValidationFailed(
            N_("A category code is 1 to 32 capital letters, digits, - or _."),
            fields={"code": N_("invalid")},
        )
    name = _text(name, "name", N_("Please name the category."), max_len=MAX_NAME)
    name_en = _text(name_en, "name_en", "", required=False, max_len=MAX_NAME) or name
    wanted = _clocks(clocks)
    cat = session.scalar(select(ComplaintCategory).where(ComplaintCategory.code == text))
    if cat is None:
        cat = ComplaintCategory(code=text, name_zh=name, name_en=name_en, is_active=is_active)
        session.add(cat)
    else:
        lock(session, cat)
        cat.name_zh, cat.name_en, cat.is_active = name, name_en, is_active
    current = {c.step: c for c in cat.clocks}
    for step, clock in current.items():
        if step not in wanted:
            cat.clocks.remove(clock)
    for step, hours in wanted.items():
        if step in current:
            current[step].within_hours = hours
        else:
            cat.clocks.append(CategoryClock(step=step, within_hours=hours))
    session.flush()
    audit.record(session, actor, cat.ref, "complaint_category_saved", after=cat.audit_state())
    return cat


def save_settings(
    session: Session,
    actor: User,
    *,
    approval_above,
    repeat_days: int,
    first_contact_minutes: int,
    auto_nc_on_breach: bool,
    auto_nc_on_repeat: bool,
) -> ComplaintSettings:
    value = _value(approval_above, "approval_above")
    for field, n in (
        ("repeat_days", repeat_days),
        ("first_contact_minutes", first_contact_minutes),
    ):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 3650:
            raise ValidationFailed(
                N_("Please give a whole number from 1 to 3650."), fields={field: N_("invalid")}
            )
    s = settings(session)
    s.approval_above = value
    s.repeat_days = repeat_days
    s.first_contact_minutes = first_contact_minutes
    s.auto_nc_on_breach = bool(auto_nc_on_breach)
    s.auto_nc_on_repeat = bool(auto_nc_on_repeat)
    session.add(s)
    session.flush()
    audit.record(
        session,
        actor,
        "complaint_settings:1",
        "complaint_settings_saved",
        after={
            "approval_above": str(value),
            "repeat_days": repeat_days,
            "first_contact_minutes": first_contact_minutes,
            "auto_nc_on_breach": s.auto_nc_on_breach,
            "auto_nc_on_repeat": s.auto_nc_on_repeat,
        },
    )
    return s


def _value(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            N_("Please give an amount."), fields={field: N_("invalid")}
        ) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise ValidationFailed(N_("Please give an amount."), fields={field: N_("invalid")})
    return amount.quantize(Decimal("0.01"))


# Intake ----------------------------------------------------------------------------------


def default_handler(department: Department) -> User | None:
    """The department's default handler: its head."""
    head = department.head
    return head if head is not None and head.is_active else None


def intake(
    session: Session,
    actor: User,
    *,
    channel: str = "hotline",
    category: str,
    customer_name: str,
    customer_contact: str = "",
    department: Department,
    site: str = "",
    commitment: str = "",
    request: str,
    received_at: datetime | None = None,
    handler: User | None = None,
) -> Complaint:
    """Take a complaint (anyone signed in): the next ``CMP-yyyy-nnnnn``, the category's
    clocks from the time received, and whether it repeats a recent one."""
    if channel not in CHANNELS:
        raise ValidationFailed(
            N_("Please choose the channel."),
            fields={"channel": N_("required") if not channel else N_("not one of the choices")},
        )
    cat = category_by_code(session, category)
    name = _text(
        customer_name, "customer", N_("Please give the customer's name."), max_len=MAX_NAME
    )
    contact = _text(customer_contact, "customer", "", required=False, max_len=MAX_NAME)
    site = _text(site, "site", "", required=False, max_len=MAX_NAME)
    commitment = _text(commitment, "commitment", "", required=False)
    request = _text(request, "request", N_("Please say what the customer asks for."))
    received = _moment(received_at, "received_at")
    if not department.is_active:
        raise ValidationFailed(
            N_("The department is not active."), fields={"department": N_("invalid")}
        )
    handler = handler or default_handler(department)
    year = local_date(received).year
    seq = next_value(session, f"complaint:{year}")
    key = customer_key(name, contact)
    c = Complaint(
        number=f"CMP-{year}-{seq:05d}",
        year=year,
        seq=seq,
        channel=channel,
        category=cat,
        department=department,
        site=site,
        commitment=commitment,
        request=request,
        customer_name=name,
        customer_contact=contact,
        customer_key=key,
        handler=handler,
        status="received",
        received_at=received,
        received_by=actor,
        first_contact=False,
        reopened=0,
        is_repeat=False,
        breached=False,
    )
    rules = settings(session)
    earlier = _repeat_of(session, cat.id, key, site, received, rules.repeat_days)
    if earlier is not None:
        c.repeat_of_id, c.is_repeat = earlier, True
    session.add(c)
    for clock in cat.clocks:
        session.add(
            ComplaintClock(
                complaint=c,
                step=clock.step,
                within_hours=clock.within_hours,
                due_at=due_at(received, clock.within_hours),
            )
        )
    session.flush()
    state = c.audit_state()
    if c.is_repeat:
        state["repeat_of"] = session.scalar(select(Complaint.number).where(Complaint.id == earlier))
    audit.record(session, actor, c.ref, "complaint_received", after=state)
    if c.is_repeat and rules.auto_nc_on_repeat:
        open_nc(session, None, c, reason="complaint_repeat")
    return c


def _repeat_of(session, category_id: int, key: str, site: str, at: datetime, days: int):
    """The latest case of the same category from the same customer or at the same site
    within ``days`` before ``at`` (one indexed query each way)."""
    since = at - timedelta(days=days)
    found = []
    same_customer = session.scalar(
        select(func.max(Complaint.id)).where(
            Complaint.customer_key == key,
            Complaint.category_id == category_id,
            Complaint.received_at >= since,
            Complaint.received_at <= at,
        )
    )
    found.append(same_customer)
    if site:
        found.append(
            session.scalar(
                select(func.max(Complaint.id)).where(
                    Complaint.site == site,
                    Complaint.category_id == category_id,
                    Complaint.received_at >= since,
                    Complaint.received_at <= at,
                )
            )
        )
    ids = [i for i in found if i is not None]
    return max(ids) if ids else None


# Steps -------------------------------------------------------------------------------------


@dataclass
class StepResult:
    complaint: Complaint
    step: ComplaintStep


def recorded_steps(c: Complaint) -> set[str]:
    """The steps done in the case's current round (restoration under way not counted)."""
    return {s.step for s in c.steps if s.round == c.reopened and not s.in_progress}


def missing_steps(c: Complaint) -> list[str]:
    done = recorded_steps(c)
    return [s for s in STEPS if s not in done]


def pending_compensation(c: Complaint) -> ComplaintStep | None:
    return next((s for s in c.steps if s.step == "compensation" and s.approval == "pending"), None)


def record_step(
    session: Session,
    actor: User,
    c: Complaint,
    *,
    step: str,
    note: str = "",
    at: datetime | None = None,
    value=None,
    satisfaction: int | None = None,
    done: bool = True,
) -> StepResult:
    """Record one recovery step; the status follows (see the module's docstring)."""
    lock(session, c)
    if step not in STEPS:
        raise ValidationFailed(
            N_("Please choose the step."),
            fields={"step": N_("required") if not step else N_("not one of the choices")},
        )
    if c.status == "closed":
        raise InvalidTransition(
            N_("%(number)s is closed: reopen it to record a step."), number=c.number
        )
    if step in recorded_steps(c):
        raise Conflict(
            N_("%(step)s of %(number)s is already recorded."), step=STEPS[step], number=c.number
        )
    note = _text(note, "note", "", required=False)
    moment = _moment(at, "at", not_before=c.received_at)
    amount = None
    approval = "not_needed"
    if step == "compensation":
        if value is None or value == "":
            raise ValidationFailed(
                N_("Please give the compensation's value."), fields={"value": N_("required")}
            )
        amount = _value(value, "value")
        if amount > settings(session).approval_above:
            approval = "pending"
    score = None
    if step == "follow_up":
        if isinstance(satisfaction, bool) or satisfaction not in (1, 2, 3, 4, 5):
            raise ValidationFailed(
                N_("Please give the customer's satisfaction from 1 to 5."),
                fields={"satisfaction": N_("required") if satisfaction is None else N_("invalid")},
            )
        score = satisfaction
        if c.status != "resolved":
            raise InvalidTransition(
                N_("%(number)s is %(status)s; it cannot be %(action)s."),
                number=c.number,
                status=STATUSES[c.status],
                action=ACTION_LABELS["follow_up"],
            )
    in_progress = step == "restoration" and not done
    if in_progress and c.status == "restoring":
        raise Conflict(N_("%(number)s is already being restored."), number=c.number)
    row = ComplaintStep(
        complaint=c,
        step=step,
        round=c.reopened,
        in_progress=in_progress,
        at=moment,
        user=actor,
        note=note,
        value=amount,
        approval=approval,
        satisfaction=score,
    )
    session.add(row)
    session.flush()
    if not in_progress:
        clock = next((k for k in c.clocks if k.step == step and k.done_at is None), None)
        if clock is not None:
            clock.done_at = moment
            if moment > clock.due_at:
                c.breached = True
    audit.record(
        session,
        actor,
        c.ref,
        "complaint_step",
        after={
            "step": step,
            "note": note,
            **({"value": str(amount)} if amount is not None else {}),
            **({"satisfaction": score} if score is not None else {}),
        },
    )
    if step == "apology" and c.status in ("received", "escalated"):
        _move(session, actor, c, "acknowledge")
    elif step == "restoration" and in_progress:
        _move(session, actor, c, "restore")
    elif step == "restoration":
        if c.status not in TRANSITIONS["resolve"][0]:
            raise InvalidTransition(
                N_("%(number)s is %(status)s; it cannot be %(action)s."),
                number=c.number,
                status=STATUSES[c.status],
                action=ACTION_LABELS["resolve"],
            )
        c.resolved_at = moment
        minutes = settings(session).first_contact_minutes
        c.first_contact = c.reopened == 0 and moment - c.received_at <= timedelta(minutes=minutes)
        _move(session, actor, c, "resolve")
    elif step == "follow_up":
        c.satisfaction = score
        _move(session, actor, c, "follow_up", after={"satisfaction": score})
    session.flush()
    return StepResult(c, row)


def approve_compensation(session: Session, actor: User, c: Complaint, *, password: str):
    """The department head approves a compensation above the set value, signing it."""
    lock(session, c)
    if not can_approve_compensation(actor, c):
        raise PermissionDenied(N_("Only the head of the department may approve it."))
    row = pending_compensation(c)
    if row is None:
        raise Conflict(N_("No compensation of %(number)s awaits approval."), number=c.number)
    signature = sign(
        session,
        actor,
        password,
        meaning="complaint_compensation_approved",
        object_ref=c.ref,
        content=f"{c.number} compensation {row.id} {row.value} {row.note}",
    )
    row.approval = "approved"
    row.approved_by = actor
    row.approved_at = utcnow()
    row.signature = signature
    session.flush()
    audit.record(
        session, actor, c.ref, "complaint_compensation_approved", after={"value": str(row.value)}
    )
    return row


def close(session: Session, actor: User, c: Complaint, *, reason: str | None = None) -> Complaint:
    """Close the case: with every step recorded, or with a reason for those skipped; never
    while a compensation awaits approval."""
    lock(session, c)
    if c.status == "closed":
        raise InvalidTransition(N_("%(number)s is already closed."), number=c.number)
    if pending_compensation(c) is not None:
        raise Conflict(
            N_("The compensation of %(number)s awaits the department head's approval."),
            number=c.number,
        )
    reason = _text(reason, "reason", "", required=False)
    skipped = missing_steps(c)
    if skipped and not reason:
        raise ValidationFailed(
            N_("Steps were skipped (%(steps)s): please give the reason for closing without them."),
            fields={"reason": N_("required")},
            steps=", ".join(STEPS[s] for s in skipped),
        )
    c.close_reason = reason or None
    _move(session, actor, c, "close", reason=reason or None)
    return c


def escalate(session: Session, actor: User | None, c: Complaint, *, reason: str | None = None):
    """Escalate the case to the department head (by hand, or the sweep on a breach)."""
    lock(session, c)
    if actor is not None:
        reason = _text(reason, "reason", "", required=False)
    _move(session, actor, c, "escalate", reason=reason or None)
    return c


def reopen(session: Session, actor: User, c: Complaint, *, reason: str) -> Complaint:
    """Reopen a resolved (or followed-up, or closed) case: a new round of steps; it is no
    longer resolved at first contact."""
    lock(session, c)
    reason = _text(reason, "reason", N_("Please give the reason for reopening."))
    c.reopened += 1
    c.first_contact = False
    c.resolved_at = None
    c.closed_at = None
    c.satisfaction = None
    _move(session, actor, c, "reopen", reason=reason)
    return c


# Nonconformities -------------------------------------------------------------------------------


def nc_offered(c: Complaint) -> bool:
    """A breached commitment or a repeat complaint offers "open a nonconformity"."""
    return (c.breached or c.is_repeat) and c.nc_number is None


def nc_description(c: Complaint) -> str:
    return f"{c.number} [{c.category.name_zh}] {c.request}"[:MAX_TEXT]


def open_nc(
    session: Session,
    actor: User | None,
    c: Complaint,
    *,
    description: str | None = None,
    severity: str = "minor",
    reason: str | None = None,
):
    """Open a nonconformity (source ``complaint``) about the case, linked both ways: the NC
    links ``complaint:CMP-…`` and the case keeps the NC's number. ``actor`` None: the
    automatic rule (the NC is reported by the case's receiver)."""
    lock(session, c)
    if actor is not None and not can_open_nc(actor, c):
        raise PermissionDenied(N_("You do not have permission to do this."))
    if c.nc_number is not None:
        raise Conflict(
            N_("%(number)s already has the nonconformity %(nc)s."), number=c.number, nc=c.nc_number
        )
    reporter = actor or c.received_by
    nc = capa.report(
        session,
        reporter,
        description=description or nc_description(c),
        department=c.department,
        severity=severity,
        source="complaint",
        today=local_date(utcnow()),
    )
    session.add(NcLink(nc=nc, object_ref=c.ref, created_by_id=reporter.id))
    c.nc_number = nc.number
    session.flush()
    audit.record(session, reporter, nc.ref, "nc_linked", after={"link": c.ref})
    audit.record(
        session,
        actor,
        c.ref,
        "complaint_nc_opened",
        after={"nonconformity": nc.number},
        reason=reason,
    )
    return nc


# Lists -----------------------------------------------------------------------------------------


def list_stmt(
    *,
    status: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    department: str | None = None,
    breached: bool | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    handler_id: int | None = None,
    open_only: bool = False,
) -> Select:
    """The case list, newest first, filtered (every filter an indexed column)."""
    stmt = select(Complaint)
    if status:
        stmt = stmt.where(Complaint.status == status)
    if open_only:
        stmt = stmt.where(Complaint.status != "closed")
    if category:
        stmt = stmt.where(
            Complaint.category_id
            == select(ComplaintCategory.id)
            .where(ComplaintCategory.code == category.strip().upper())
            .scalar_subquery()
        )
    if channel:
        stmt = stmt.where(Complaint.channel == channel)
    if department:
        stmt = stmt.where(
            Complaint.department_id
            == select(Department.id)
            .where(Department.code == department.strip().upper())
            .scalar_subquery()
        )
    if breached is not None:
        stmt = stmt.where(Complaint.breached.is_(breached))
    if received_from is not None:
        stmt = stmt.where(Complaint.received_at >= received_from)
    if received_to is not None:
        stmt = stmt.where(Complaint.received_at < received_to)
    if handler_id is not None:
        stmt = stmt.where(Complaint.handler_id == handler_id)
    return stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc())


def categories(session: Session, *, active_only: bool = False) -> list[ComplaintCategory]:
    stmt = select(ComplaintCategory).options(selectinload(ComplaintCategory.clocks))
    if active_only:
        stmt = stmt.where(ComplaintCategory.is_active.is_(True))
    return list(session.scalars(stmt.order_by(ComplaintCategory.code)))


def clock_view(c: Complaint, now: datetime | None = None) -> list[dict]:
    """Each commitment of the case: due time, met (True/False/None), time left (seconds,
    negative when overdue) while pending."""
    now = now or utcnow()
    out = []
    for k in sorted(c.clocks, key=lambda k: list(STEPS).index(k.step)):
        met = k.met(now)
        out.append(
            {
                "step": k.step,
                "within_hours": k.within_hours,
                "due_at": k.due_at,
                "done_at": k.done_at,
                "met": met,
                "seconds_left": None
                if k.done_at is not None
                else int((k.due_at - now).total_seconds()),
            }
        )
    return out


def my_summary(session: Session, user: User, now: datetime | None = None) -> dict:
    """The handler's card: open cases they handle, and their clocks due within 4 hours or
    overdue. Two counting queries."""
    now = now or utcnow()
    mine = and_(Complaint.handler_id == user.id, Complaint.status != "closed")
    open_cases = session.scalar(select(func.count(Complaint.id)).where(mine))
    soon = session.scalar(
        select(func.count(ComplaintClock.id))
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(
            mine,
            ComplaintClock.done_at.is_(None),
            ComplaintClock.due_at <= now + timedelta(hours=4),
        )
    )
    return {"open": open_cases or 0, "due_soon": soon or 0}
