"""Nonconformity and corrective action, ISO 9001 10.2 (docs/adr/0044).

Lifecycle::

    reported → contained → analysed → action_planned → implemented → verifying → closed
    reported | contained | analysed → rejected        (triage, signed reason)
    verifying → action_planned                        (not effective: reopened)
    action_planned → action_planned                   (the new plan of a reopened NC)

``TRANSITIONS`` is the whole table; ``_move`` is the only place an NC's status changes,
and it refuses anything not in the table with :class:`InvalidTransition` (409). Each
step has a gate that refuses with :class:`ValidationFailed` (400) naming what is missing.
Guarantees:

- every state-changing service locks the NC's row first (``app.locking``): of two racing
  requests one signs and moves, the other reads the committed state and gets a 409;
- the plan is approved and the verification recorded with an electronic signature
  (password), by the department head or an officer; the verifier owns none of the
  actions; a wrong password raises :class:`SignatureFailed` before anything is written;
- an NC closes only when every action is done (``implement`` checks it, and nothing
  adds an action after) and, when its plan has a data rule, the rule was evaluated and
  met — a failed rule can only reopen it;
- a closed or rejected NC never changes again; amendments are added beside it;
- every step writes an audit event about ``nonconformity:NC-yyyy-nnnn`` in the caller's transaction.

Services flush and never commit.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app import inputs
from app.audit_trail import services as audit
from app.audit_trail.lifecycle import Lifecycle
from app.audit_trail.services import canonical_json
from app.capa import rules
from app.capa.models import (
    ACTION_TYPES,
    CAUSE_CATEGORIES,
    SEVERITIES,
    SOURCES,
    STATUSES,
    EffectivenessCheck,
    NcAction,
    NcAmendment,
    NcLink,
    NcPlan,
    NcVerification,
    Nonconformity,
    normalise_number,
)
from app.capa.permissions import (
    can_approve_plan,
    can_complete_action,
    can_reject,
    can_verify,
    can_view_nc,
    owns_an_action,
)
from app.documents.models import Document
from app.errors import N_, Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import local_date, local_today, utcnow
from app.locking import lock
from app.people.models import Department, User
from app.records.models import Record
from app.risks import services as risks
from app.risks.models import RiskPoint
from app.sequences import next_value
from app.signatures.services import sign

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "contain": (frozenset({"reported"}), "contained"),
    "analyse": (frozenset({"contained"}), "analysed"),
    "approve_plan": (frozenset({"analysed"}), "action_planned"),
    "replan": (frozenset({"action_planned"}), "action_planned"),
    "implement": (frozenset({"action_planned"}), "implemented"),
    "start_verification": (frozenset({"implemented"}), "verifying"),
    "close": (frozenset({"verifying"}), "closed"),
    "reopen": (frozenset({"verifying"}), "action_planned"),
    "reject": (frozenset({"reported", "contained", "analysed"}), "rejected"),
}
EVENTS = {
    "contain": "nc_contained",
    "analyse": "nc_analysed",
    "approve_plan": "nc_action_planned",
    "replan": "nc_action_planned",
    "implement": "nc_implemented",
    "start_verification": "nc_verifying",
    "close": "nc_closed",
    "reopen": "nc_reopened",
    "reject": "nc_rejected",
}
ACTION_LABELS = {
    "contain": N_("contained"),
    "analyse": N_("analysed"),
    "approve_plan": N_("given an action plan"),
    "replan": N_("given a new action plan"),
    "implement": N_("marked implemented"),
    "start_verification": N_("verified yet"),
    "close": N_("closed"),
    "reopen": N_("reopened"),
    "reject": N_("rejected"),
}
ALLOWED_EDGES = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
STAMPS = {"closed": "closed_at", "rejected": "rejected_at"}
MAX_TEXT = 8000
MAX_WHYS = 10
MAX_ACTIONS = 50
MAX_LINKS = 50
REMIND_DAYS_BEFORE = 3
ESCALATE_DAYS_OVERDUE = 7


# the only place a status changes: the table checked, the time stamped, the trail written
_move = Lifecycle(TRANSITIONS, STATUSES, ACTION_LABELS, EVENTS, STAMPS).move


# Loading -----------------------------------------------------------------------------


def get_nc(session: Session, number: str) -> Nonconformity:
    nc = session.scalar(
        select(Nonconformity)
        .where(Nonconformity.number == normalise_number(number))
        .options(
            selectinload(Nonconformity.actions),
            selectinload(Nonconformity.plans),
            selectinload(Nonconformity.links),
        )
    )
    if nc is None:
        raise NotFound(N_("No nonconformity %(number)s."), number=number)
    return nc


def visible_nc(session: Session, user: User, number: str) -> Nonconformity:
    """The NC for a reader who may see it; otherwise NotFound (404), as if it did not exist."""
    nc = get_nc(session, number)
    if not can_view_nc(user, nc):
        raise NotFound(N_("No nonconformity %(number)s."), number=number)
    return nc


def get_action(session: Session, action_id: int) -> NcAction:
    action = session.get(NcAction, action_id)
    if action is None:
        raise NotFound(N_("No such action."))
    return action


# Input helpers ---------------------------------------------------------------------------


def _text(value, field: str, message: str, *, required: bool = True, max_len: int = MAX_TEXT):
    return inputs.text(value, field, message, required=required, max_len=max_len)


def _choice(value, field: str, choices: dict, message: str) -> str:
    if value not in choices:
        raise ValidationFailed(
            message, fields={field: N_("required") if not value else N_("not one of the choices")}
        )
    return value


def department_by_code(session: Session, code: str | None, field: str = "department") -> Department:
    code = (code or "").strip().upper()
    if not code:
        raise ValidationFailed(N_("Please choose the department."), fields={field: N_("required")})
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None or not dept.is_active:
        raise ValidationFailed(
            N_("No department with code %(code)s."), fields={field: N_("invalid")}, code=code
        )
    return dept


def user_by_username(session: Session, username: str | None, field: str) -> User:
    name = (username or "").strip().lower()
    if not name:
        raise ValidationFailed(N_("Please name the owner."), fields={field: N_("required")})
    user = session.scalar(select(User).where(func.lower(User.username) == name))
    if user is None or not user.is_active:
        raise ValidationFailed(
            N_("No user named %(username)s."), fields={field: N_("invalid")}, username=name
        )
    return user


def resolve_link(session: Session, typed: str) -> str:
    """An object reference from what is typed: ``document:QP-CS-001``, ``record:…``, or a
    bare document or record number. Unknown: a field error."""
    text = (typed or "").strip()
    kind, sep, key = text.partition(":")
    if not sep:
        kind, key = "", text
    key = key.strip().upper()
    if kind in ("", "document"):
        doc = session.scalar(select(Document.number).where(Document.number == key))
        if doc:
            return f"document:{doc}"
    if kind in ("", "record"):
        rec = session.scalar(select(Record.number).where(Record.number == key))
        if rec:
            return f"record:{rec}"
    raise ValidationFailed(
        N_("Nothing found for %(link)s: give a document or record number."),
        fields={"links": N_("invalid")},
        link=text or "—",
    )


# Reporting ------------------------------------------------------------------------------


def report(
    session: Session,
    actor: User,
    *,
    description: str,
    department: Department,
    severity: str = "minor",
    source: str = "internal",
    links: list[str] | None = None,
    today: date | None = None,
) -> Nonconformity:
    """Report a nonconformity (anyone signed in); it gets the next ``NC-yyyy-nnnn``."""
    description = _text(description, "description", N_("Please describe what went wrong."))
    source = _choice(source, "source", SOURCES, N_("Please choose the source."))
    severity = _choice(severity, "severity", SEVERITIES, N_("Please choose the severity."))
    refs = []
    for typed in links or []:
        ref = resolve_link(session, typed)
        if ref not in refs:
            refs.append(ref)
    if len(refs) > MAX_LINKS:
        raise ValidationFailed(N_("Too many links."), fields={"links": N_("too long")})
    year = (today or local_today()).year
    seq = next_value(session, f"nc:{year}")
    nc = Nonconformity(
        number=f"NC-{year}-{seq:04d}",
        year=year,
        seq=seq,
        source=source,
        severity=severity,
        description=description,
        department=department,
        status="reported",
        reported_by=actor,
        round=0,
    )
    session.add(nc)
    for ref in refs:
        session.add(NcLink(nc=nc, object_ref=ref, created_by_id=actor.id))
    session.flush()
    audit.record(session, actor, nc.ref, "nc_reported", after=nc.audit_state())
    return nc


def add_link(session: Session, actor: User, nc: Nonconformity, typed: str) -> NcLink:
    """Link the NC to a document or record it concerns (while it is open)."""
    lock(session, nc)
    _require_open(nc)
    ref = resolve_link(session, typed)
    if any(link.object_ref == ref for link in nc.links):
        raise Conflict(N_("%(number)s is already linked to it."), number=nc.number)
    link = NcLink(nc=nc, object_ref=ref, created_by_id=actor.id)
    session.add(link)
    session.flush()
    audit.record(session, actor, nc.ref, "nc_linked", after={"link": ref})
    return link


def _require_open(nc: Nonconformity) -> None:
    if not nc.is_open:
        raise InvalidTransition(
            N_("%(number)s is %(status)s: it cannot change any more (add an amendment)."),
            number=nc.number,
            status=STATUSES[nc.status],
        )


# The gated steps ---------------------------------------------------------------------------


def contain(session: Session, actor: User, nc: Nonconformity, *, text: str) -> Nonconformity:
    """Record the containment / correction (what was done at once, and about the
    consequences): ``reported → contained``."""
    lock(session, nc)
    text = _text(text, "text", N_("Please say what was done at once (containment)."))
    _move(session, actor, nc, "contain", after={"containment": text})
    nc.containment = text
    nc.contained_by = actor
    nc.contained_at = utcnow()
    session.flush()
    return nc


def analyse(
    session: Session,
    actor: User,
    nc: Nonconformity,
    *,
    whys: list[str] | None,
    categories: list[str] | None,
    similar: list[str] | None,
    similar_elsewhere: str | None,
) -> Nonconformity:
    """Record the root cause: a 5-why chain and/or cause categories, the answer to
    "could it occur elsewhere?" and links to similar NCs: ``contained → analysed``."""
    lock(session, nc)
    chain = [w.strip() for w in (whys or []) if isinstance(w, str) and w.strip()]
    if len(chain) > MAX_WHYS or any(len(w) > 2000 for w in chain):
        raise ValidationFailed(N_("Too many or too long answers."), fields={"whys": N_("too long")})
    cats = []
    for c in categories or []:
        if c not in CAUSE_CATEGORIES:
            raise ValidationFailed(
                N_("Unknown cause category."), fields={"categories": N_("not one of the choices")}
            )
        if c not in cats:
            cats.append(c)
    if not chain and not cats:
        raise ValidationFailed(
            N_('Give the root cause: the answers to "why?" or the cause categories.'),
            fields={"whys": N_("required"), "categories": N_("required")},
        )
    elsewhere = _text(
        similar_elsewhere,
        "similar_elsewhere",
        N_("Please answer: does a similar nonconformity exist, or could it occur elsewhere?"),
    )
    numbers = []
    for typed in similar or []:
        number = normalise_number(typed)
        if number == nc.number:
            continue
        if session.scalar(select(Nonconformity.id).where(Nonconformity.number == number)) is None:
            raise ValidationFailed(
                N_("No nonconformity %(number)s."), fields={"similar": N_("invalid")}, number=typed
            )
        if number not in numbers:
            numbers.append(number)
    _move(
        session,
        actor,
        nc,
        "analyse",
        after={
            "whys": chain,
            "categories": cats,
            "similar": numbers,
            "similar_elsewhere": elsewhere,
        },
    )
    nc.whys_json = json.dumps(chain, ensure_ascii=False)
    nc.categories_json = json.dumps(cats)
    nc.similar_json = json.dumps(numbers)
    nc.similar_elsewhere = elsewhere
    nc.analysed_by = actor
    nc.analysed_at = utcnow()
    session.flush()
    return nc


def similar_candidates(session: Session, nc: Nonconformity, where, *, limit: int = 10) -> list:
    """NCs like this one the analysis page offers as similar: same department or sharing a
    word of the description, newest first, among those ``where`` lets the reader see."""
    words = [w for w in nc.description.replace("，", " ").split() if len(w) >= 2][:5]
    clauses = [Nonconformity.department_id == nc.department_id]
    clauses += [Nonconformity.description.icontains(w, autoescape=True) for w in words]
    return list(
        session.scalars(
            select(Nonconformity)
            .where(Nonconformity.id != nc.id, or_(*clauses), where)
            .order_by(Nonconformity.reported_at.desc())
            .limit(limit)
        )
    )


def _plan_actions(session: Session, items, today: date) -> list[dict]:
    if not items:
        raise ValidationFailed(
            N_("The plan needs at least one action with an owner and a due date."),
            fields={"actions": N_("required")},
        )
    if len(items) > MAX_ACTIONS:
        raise ValidationFailed(N_("Too many actions."), fields={"actions": N_("too long")})
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(
                N_("Each action is an object."), fields={"actions": N_("invalid")}
            )
        prefix = f"actions.{i}"
        text = _text(item.get("text"), f"{prefix}.text", N_("Each action needs its text."))
        owner = user_by_username(session, item.get("owner"), f"{prefix}.owner")
        kind = _choice(
            item.get("type"), f"{prefix}.type", ACTION_TYPES, N_("Each action needs its type.")
        )
        due = item.get("due_date")
        if not isinstance(due, date):
            raise ValidationFailed(
                N_("Each action needs a due date."), fields={f"{prefix}.due_date": N_("required")}
            )
        if due < today:
            raise ValidationFailed(
                N_("A due date cannot be in the past."),
                fields={f"{prefix}.due_date": N_("invalid")},
            )
        out.append({"text": text, "owner": owner, "type": kind, "due_date": due})
    return out


def _signed_plan(nc: Nonconformity, round_: int, actions: list[dict], criterion, rule, check):
    return canonical_json(
        {
            "nc": nc.number,
            "round": round_,
            "actions": [
                {
                    "type": a["type"],
                    "text": a["text"],
                    "owner": a["owner"].username,
                    "due_date": a["due_date"].isoformat(),
                }
                for a in actions
            ],
            "criterion": criterion,
            "rule": rule,
            "check_date": check.isoformat(),
            "decision": "nc_plan_approved",
        }
    )


def approve_plan(
    session: Session,
    actor: User,
    nc: Nonconformity,
    *,
    actions: list[dict],
    criterion: str,
    check_date: date | None,
    rule: dict | None = None,
    kpi: str | None = None,
    threshold: float | None = None,
    password: str,
    today: date | None = None,
) -> NcPlan:
    """Approve the action plan with an electronic signature (the department head or an
    officer): the actions with their owners and due dates, the effectiveness criterion,
    its optional data rule and the check date. ``analysed → action_planned``, or, for a
    reopened NC, its new plan (``action_planned → action_planned``)."""
    today = today or local_today()
    lock(session, nc)
    if not can_approve_plan(actor, nc):
        raise PermissionDenied(
            N_("Only the head of %(department)s or a quality officer may approve the plan."),
            department=nc.department.name,
        )
    step = "approve_plan" if nc.status == "analysed" else "replan"
    if step == "replan" and (nc.status != "action_planned" or nc.plan is not None):
        raise InvalidTransition(
            N_("%(number)s is %(status)s; it cannot be %(action)s."),
            number=nc.number,
            status=STATUSES[nc.status],
            action=ACTION_LABELS["approve_plan"],
        )
    planned = _plan_actions(session, actions, today)
    criterion = _text(
        criterion,
        "effectiveness.criterion",
        N_("Please state how effectiveness will be judged (the criterion)."),
    )
    if kpi and not rules.KINDS["kpi_threshold"].available:
        raise ValidationFailed(
            N_("KPI rules are not available yet: qdms has no KPIs so far."),
            fields={"effectiveness.kpi": N_("invalid")},
        )
    if not isinstance(check_date, date):
        raise ValidationFailed(
            N_("Please set the date of the effectiveness check."),
            fields={"effectiveness.check_date": N_("required")},
        )
    last_due = max(a["due_date"] for a in planned)
    if check_date < last_due:
        raise ValidationFailed(
            N_("The check date cannot be before the last action is due (%(date)s)."),
            fields={"effectiveness.check_date": N_("invalid")},
            date=last_due.isoformat(),
        )
    if kpi and rule is None:
        # {"kpi", "threshold"} of the API's plan body: the KPI rule over the days up to
        # the check date
        rule = {
            "kind": "kpi_threshold",
            "kpi": kpi,
            "threshold": threshold,
            "days": max((check_date - today).days, 1),
        }
    cleaned = rules.validate(session, rule)
    round_ = nc.round if step == "replan" else 1
    sig = sign(
        session,
        actor,
        password,
        meaning="nc_plan_approved",
        object_ref=nc.ref,
        content=_signed_plan(nc, round_, planned, criterion, cleaned, check_date),
    )
    nc.round = round_
    plan = NcPlan(
        nc=nc,
        round=round_,
        criterion=criterion,
        rule_json=json.dumps(cleaned, ensure_ascii=False) if cleaned else None,
        check_date=check_date,
        approved_by=actor,
        signature_id=sig.id,
    )
    session.add(plan)
    made = []
    for a in planned:
        action = NcAction(
            nc=nc,
            round=round_,
            type=a["type"],
            text=a["text"],
            owner=a["owner"],
            due_date=a["due_date"],
            status="open",
        )
        session.add(action)
        made.append(action)
    session.flush()
    _move(
        session,
        actor,
        nc,
        step,
        after={
            "round": round_,
            "actions": [a.audit_state() for a in made],
            "criterion": criterion,
            "rule": cleaned,
            "check_date": check_date.isoformat(),
        },
    )
    return plan


def complete_action(
    session: Session,
    actor: User,
    action: NcAction,
    *,
    evidence: str,
    today: date | None = None,
) -> NcAction:
    """Record an action done, with its evidence (its owner, or an officer). When it was
    the last open action, the NC is ``implemented``; if its check date has come, the
    check starts at once (``verifying``, with the data rule evaluated)."""
    today = today or local_today()
    nc = action.nc
    lock(session, nc)
    if not can_complete_action(actor, action):
        raise PermissionDenied(N_("Only the owner of the action or an officer may do this."))
    if action.status != "open":
        raise InvalidTransition(N_("This action is already done."))
    if nc.status != "action_planned":
        raise InvalidTransition(
            N_("%(number)s is %(status)s: its actions cannot change now."),
            number=nc.number,
            status=STATUSES[nc.status],
        )
    evidence = _text(evidence, "evidence", N_("Please give the evidence that the action is done."))
    action.status = "done"
    action.evidence = evidence
    action.done_by = actor
    action.done_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        nc.ref,
        "nc_action_done",
        after={"action": action.id, "text": action.text, "evidence": evidence},
    )
    if not nc.open_actions:
        _move(session, actor, nc, "implement")
        if nc.plan.check_date <= today:
            start_verification(session, nc, today=today)
    return action


def start_verification(
    session: Session, nc: Nonconformity, *, today: date | None = None
) -> EffectivenessCheck | None:
    """``implemented → verifying`` on the check date (``qdms sweep``, or the last action
    done on or after it): the plan's data rule, if any, is evaluated and stored with its
    evidence for the verifier."""
    today = today or local_today()
    lock(session, nc)
    if nc.plan is None or nc.plan.check_date > today:
        raise InvalidTransition(
            N_("The effectiveness check of %(number)s is not due yet."), number=nc.number
        )
    _move(session, None, nc, "start_verification")
    return evaluate_rule(session, nc, today=today)


def evaluate_rule(
    session: Session, nc: Nonconformity, *, today: date | None = None
) -> EffectivenessCheck | None:
    """Evaluate the current plan's data rule and keep the result with its evidence."""
    plan = nc.plan
    if plan is None or plan.rule is None:
        return None
    today = today or local_today()
    result = rules.evaluate(
        session, nc, plan.rule, approved_on=local_date(plan.approved_at), today=today
    )
    check = EffectivenessCheck(
        nc=nc,
        round=nc.round,
        evaluated_on=today,
        window_from=result.window_from,
        outcome=result.outcome,
        evidence_json=json.dumps(result.evidence, ensure_ascii=False),
    )
    session.add(check)
    session.flush()
    audit.record(
        session,
        None,
        nc.ref,
        "nc_rule_evaluated",
        after={
            "round": nc.round,
            "outcome": result.outcome,
            "matches": [e["number"] for e in result.evidence],
        },
    )
    return check


def verify(
    session: Session,
    actor: User,
    nc: Nonconformity,
    *,
    effective: bool | None,
    evidence: str,
    password: str,
) -> NcVerification:
    """The verifier's signed decision: effective (``verifying → closed``) or not
    (``verifying → action_planned``: a new round, the old plan, actions and checks kept).
    The verifier is the department head or an officer who owns none of the actions; a
    data rule that was not met cannot be signed as effective."""
    lock(session, nc)
    if not can_verify(actor, nc):
        raise PermissionDenied(
            N_("Only the head of %(department)s or a quality officer may verify."),
            department=nc.department.name,
        )
    if owns_an_action(actor, nc):
        raise PermissionDenied(
            N_("You own an action of %(number)s: someone else must verify it."),
            fields={"password": N_("the verifier owns none of the actions")},
            number=nc.number,
        )
    if nc.status != "verifying":
        raise InvalidTransition(
            N_("%(number)s is %(status)s; it cannot be %(action)s."),
            number=nc.number,
            status=STATUSES[nc.status],
            action=ACTION_LABELS["close"],
        )
    if not isinstance(effective, bool):
        raise ValidationFailed(
            N_("Please decide: effective or not effective."), fields={"effective": N_("required")}
        )
    evidence = _text(evidence, "evidence", N_("Please give the evidence of your decision."))
    check = nc.check
    if effective and check is not None and check.outcome == "not_met":
        raise InvalidTransition(
            N_(
                "The data rule of the plan was not met (%(count)s matching items): "
                "the actions cannot be verified as effective."
            ),
            count=len(check.evidence),
        )
    meaning = "nc_verified_effective" if effective else "nc_verified_not_effective"
    sig = sign(
        session,
        actor,
        password,
        meaning=meaning,
        object_ref=nc.ref,
        content=canonical_json(
            {
                "nc": nc.number,
                "round": nc.round,
                "effective": effective,
                "evidence": evidence,
                "check": check.id if check else None,
                "decision": meaning,
            }
        ),
    )
    verification = NcVerification(
        nc=nc,
        round=nc.round,
        effective=effective,
        evidence=evidence,
        check=check,
        verified_by=actor,
        signature_id=sig.id,
    )
    session.add(verification)
    session.flush()
    if effective:
        _move(session, actor, nc, "close", after={"effective": True, "evidence": evidence})
    else:
        _move(
            session,
            actor,
            nc,
            "reopen",
            after={"effective": False, "evidence": evidence, "round": nc.round + 1},
        )
        nc.round += 1
        session.flush()
    return verification


def reject(
    session: Session, actor: User, nc: Nonconformity, *, reason: str, password: str
) -> Nonconformity:
    """Triage: the officer rejects a report that is not a nonconformity, with a signed
    reason. Only before a plan exists."""
    lock(session, nc)
    if not can_reject(actor, nc):
        raise PermissionDenied(N_("Only a quality officer may reject a report."))
    reason = _text(reason, "reason", N_("Please give the reason for rejecting."))
    if nc.status not in TRANSITIONS["reject"][0]:
        _move(session, actor, nc, "reject")  # refuses, naming the status
    sign(
        session,
        actor,
        password,
        meaning="nc_rejected",
        object_ref=nc.ref,
        content=canonical_json({"nc": nc.number, "reason": reason, "decision": "nc_rejected"}),
        comment=reason,
    )
    nc.rejection_reason = reason
    _move(session, actor, nc, "reject", reason=reason)
    return nc


def amend(
    session: Session, actor: User, nc: Nonconformity, *, text: str, reason: str
) -> NcAmendment:
    """An amendment of a closed or rejected NC: added beside it, with its reason."""
    lock(session, nc)
    if nc.is_open:
        raise InvalidTransition(
            N_("%(number)s is still open: change it through its steps."), number=nc.number
        )
    text = _text(text, "text", N_("Please write the amendment."))
    reason = _text(reason, "reason", N_("Please give the reason for the amendment."))
    amendment = NcAmendment(nc=nc, text=text, reason=reason, user=actor)
    session.add(amendment)
    session.flush()
    audit.record(session, actor, nc.ref, "nc_amended", after={"amendment": text}, reason=reason)
    return amendment


# Closing prompts: risk points (ISO 9001 10.2.1e) ------------------------------------------


def link_risk_point(session: Session, actor: User, nc: Nonconformity, risk: RiskPoint) -> None:
    """Link the NC to a risk point of the register (its hit count rises); written to the
    trails of both. Also after closing: the NC itself does not change."""
    if nc.status == "rejected":
        raise InvalidTransition(
            N_("%(number)s was rejected: it is no nonconformity."), number=nc.number
        )
    if any(r.id == risk.id for r in risks.risk_points_for(session, nc.ref)):
        raise Conflict(N_("%(number)s is already linked to it."), number=nc.number)
    risks.link(session, actor, risk, nc.ref)
    audit.record(session, actor, nc.ref, "nc_linked", after={"link": risk.ref})


def create_risk_point_for(
    session: Session, actor: User, nc: Nonconformity, *, owner: User | None, **assessment
) -> RiskPoint:
    """A new risk point of the NC's department, from what the NC taught, linked to it."""
    if nc.status == "rejected":
        raise InvalidTransition(
            N_("%(number)s was rejected: it is no nonconformity."), number=nc.number
        )
    risk = risks.create_risk_point(
        session, actor, department=nc.department, owner=owner, **assessment
    )
    link_risk_point(session, actor, nc, risk)
    return risk


# Lists --------------------------------------------------------------------------------------


def list_stmt(
    *,
    where,
    status: str | None = None,
    department: str | None = None,
    source: str | None = None,
    severity: str | None = None,
    q: str | None = None,
) -> Select:
    """The register, newest first, filtered; ``where`` is the reader's visibility. The
    department and the reporter every row shows are loaded with the page (one statement
    each, not one per row)."""
    stmt = (
        select(Nonconformity)
        .where(where)
        .order_by(Nonconformity.id.desc())
        .options(selectinload(Nonconformity.department), selectinload(Nonconformity.reported_by))
    )
    for value, column, choices in (
        (status, Nonconformity.status, STATUSES),
        (source, Nonconformity.source, SOURCES),
        (severity, Nonconformity.severity, SEVERITIES),
    ):
        if value:
            if value not in choices:
                raise ValidationFailed(
                    N_("Unknown filter value."), fields={column.key: N_("invalid")}
                )
            stmt = stmt.where(column == value)
    if department:
        # the department's id as a value (a scalar subquery), not a join: the planner then
        # uses the (status, department, id) index with both values known
        stmt = stmt.where(
            Nonconformity.department_id
            == select(Department.id)
            .where(Department.code == department.strip().upper())
            .scalar_subquery()
        )
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                Nonconformity.number == normalise_number(q),
                Nonconformity.description.icontains(q, autoescape=True),
            )
        )
    return stmt


ACTION_FILTERS = ("open", "overdue", "done")


def actions_stmt(owner: User, *, status: str | None = "open", today: date | None = None) -> Select:
    """One person's actions, soonest due first: ``open`` (default), ``overdue`` or ``done``.
    The NC, owner and doer every row shows are loaded with the page (one statement each at
    most, not one per row)."""
    today = today or local_today()
    stmt = (
        select(NcAction)
        .where(NcAction.owner_id == owner.id)
        .options(
            selectinload(NcAction.nc),
            selectinload(NcAction.owner),
            selectinload(NcAction.done_by),
        )
    )
    if status == "done":
        return stmt.where(NcAction.status == "done").order_by(NcAction.done_at.desc())
    stmt = stmt.where(NcAction.status == "open")
    if status == "overdue":
        stmt = stmt.where(NcAction.due_date < today)
    return stmt.order_by(NcAction.due_date, NcAction.id)
