"""Scheduled work of nonconformities for `qdms sweep` (docs/adr/0044):

- NCs whose actions are all done and whose check date has come move to ``verifying``;
  their data rule is evaluated and kept with its evidence;
- action owners are reminded 3 days before an action is due, and each week it is
  overdue; after 7 days overdue the head of the NC's department is told too (once);
- the verifier is reminded on the check date (and each week it stays undecided): the
  person who approved the plan, or, when they own an action, the department head and the
  officers.

Every message has a dedupe key, so running the sweep twice on a day sends it once; the
messages are queued together (``notifications.services.queue_each``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.capa import services
from app.capa.models import NcAction, NcPlan, Nonconformity
from app.errors import N_
from app.notifications import services as mail
from app.people.models import Department, User, UserRole


@dataclass
class CapaSweep:
    to_verifying: list[str]
    reminders: int


def _officers(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == "officer")),
            )
        )
    )


def due_for_verification(session: Session, today: date) -> list[Nonconformity]:
    return list(
        session.scalars(
            select(Nonconformity)
            .join(
                NcPlan,
                (NcPlan.nc_id == Nonconformity.id) & (NcPlan.round == Nonconformity.round),
            )
            .where(Nonconformity.status == "implemented", NcPlan.check_date <= today)
            .order_by(Nonconformity.id)
        )
    )


def verifiers(
    session: Session, nc: Nonconformity, officers: list[User] | None = None
) -> list[User]:
    """Who is asked to verify: the plan's approver, unless they own an action; then the
    department head (if not an owner) and the officers who own none."""
    owners = {a.owner_id for a in nc.actions}
    approver = nc.plan.approved_by if nc.plan else None
    if approver is not None and approver.id not in owners and approver.is_active:
        return [approver]
    people = []
    head = nc.department.head
    if head is not None and head.id not in owners and head.is_active:
        people.append(head)
    officers = _officers(session) if officers is None else officers
    people += [o for o in officers if o.id not in owners and o not in people]
    return people


def sweep(session: Session, today: date) -> CapaSweep:
    moved = []
    for nc in due_for_verification(session, today):
        services.start_verification(session, nc, today=today)
        moved.append(nc.number)
    messages = remind_actions(session, today) + remind_verifiers(session, today)
    # one query for the dedupe keys and one insert, not two statements a message
    return CapaSweep(moved, mail.queue_each(session, messages))


def _message(recipient: User, kind: str, subject: str, body: str, nc, key: str, **params):
    return {
        "recipient": recipient,
        "kind": kind,
        "subject": subject,
        "body": body,
        "object_ref": nc.ref,
        "dedupe_key": key,
        "params": params,
    }


def remind_actions(session: Session, today: date) -> list[dict]:
    """The reminders of open actions due within 3 days or overdue, and the escalations."""
    out = []
    actions = session.scalars(
        select(NcAction)
        .join(Nonconformity, Nonconformity.id == NcAction.nc_id)
        .where(
            NcAction.status == "open",
            Nonconformity.status == "action_planned",
            NcAction.due_date <= today + timedelta(days=services.REMIND_DAYS_BEFORE),
        )
        .options(
            selectinload(NcAction.owner),
            selectinload(NcAction.nc)
            .selectinload(Nonconformity.department)
            .selectinload(Department.head),
        )
        .order_by(NcAction.id)
    )
    for action in actions:
        nc = action.nc
        params = {
            "number": nc.number,
            "text": action.text[:200],
            "day": action.due_date.isoformat(),
        }
        if action.due_date >= today:
            out.append(
                _message(
                    action.owner,
                    "nc_action_due",
                    N_("Action due on %(day)s: %(number)s"),
                    N_(
                        "Your action for %(number)s is due on %(day)s: %(text)s. When it is "
                        "done, record it with its evidence under My actions."
                    ),
                    nc,
                    f"nc_action_due:{action.id}:{action.due_date}",
                    **params,
                )
            )
            continue
        late = (today - action.due_date).days
        out.append(
            _message(
                action.owner,
                "nc_action_overdue",
                N_("Action overdue: %(number)s"),
                N_(
                    "Your action for %(number)s was due on %(day)s and is not done: %(text)s. "
                    "Please do it and record the evidence under My actions."
                ),
                nc,
                f"nc_action_overdue:{action.id}:{action.due_date}:w{late // 7}",
                **params,
            )
        )
        head = nc.department.head
        if late >= services.ESCALATE_DAYS_OVERDUE and head is not None and head.is_active:
            out.append(
                _message(
                    head,
                    "nc_action_escalated",
                    N_("Action more than a week overdue: %(number)s"),
                    N_(
                        "An action of %(number)s owned by %(owner)s was due on %(day)s and is "
                        "still not done: %(text)s."
                    ),
                    nc,
                    f"nc_action_escalated:{action.id}:{action.due_date}:{head.id}",
                    owner=action.owner.full_name,
                    **params,
                )
            )
    return out


def remind_verifiers(session: Session, today: date) -> list[dict]:
    """The reminders of effectiveness checks that have come due (weekly until decided)."""
    out = []
    officers = _officers(session)
    ncs = session.scalars(
        select(Nonconformity)
        .where(Nonconformity.status == "verifying")
        .options(
            selectinload(Nonconformity.plans).selectinload(NcPlan.approved_by),
            selectinload(Nonconformity.actions),
            selectinload(Nonconformity.department).selectinload(Department.head),
        )
        .order_by(Nonconformity.id)
    )
    for nc in ncs:
        plan = nc.plan
        if plan is None or plan.check_date > today:
            continue
        week = (today - plan.check_date).days // 7
        for person in verifiers(session, nc, officers):
            out.append(
                _message(
                    person,
                    "nc_check_due",
                    N_("Effectiveness check due: %(number)s"),
                    N_(
                        "The effectiveness check of %(number)s was due on %(day)s. Criterion: "
                        "%(criterion)s. Please record your signed decision."
                    ),
                    nc,
                    f"nc_check_due:{nc.number}:{nc.round}:w{week}:{person.id}",
                    number=nc.number,
                    day=plan.check_date.isoformat(),
                    criterion=plan.criterion[:300],
                )
            )
    return out
