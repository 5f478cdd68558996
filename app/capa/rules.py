"""Effectiveness by data: the rule kinds a plan's criterion may carry (docs/adr/0044).

A rule is a small dict stored with the plan, ``{"kind": …, …}``. Each kind says how its
parameters are checked when the plan is approved (``validate``: a 400 naming the field)
and how it is evaluated on the check date (``evaluate``: an outcome and the evidence,
the items that matched). Kinds are registered in ``KINDS``; a kind whose data does not
exist yet is registered as unavailable and refused at approval, so no plan can promise a
check the system cannot make (the KPI threshold, until KPIs exist).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.capa.models import CAUSE_CATEGORIES, Nonconformity
from app.errors import N_, ValidationFailed
from app.extensions import local_date, local_day_start
from app.people.models import Department
from app.records.models import Record, RecordType

MAX_DAYS = 3650
MAX_EVIDENCE = 200  # items kept as evidence; the count says how many matched


@dataclass(frozen=True)
class Evaluation:
    outcome: str  # met, not_met, unavailable (CHECK_OUTCOMES)
    window_from: date
    evidence: list[dict]


@dataclass(frozen=True)
class RuleKind:
    label: str
    available: bool
    # session, raw params → cleaned params (ValidationFailed naming the field)
    validate: Callable[[Session, dict], dict]
    # session, NC, cleaned params, window start, evaluation day → (outcome, evidence)
    evaluate: Callable[[Session, Nonconformity, dict, date, date], tuple[str, list[dict]]]


def _bad(key: str, message: str, **params):
    return ValidationFailed(message, fields={f"rule.{key}": N_("invalid")}, **params)


def _days(raw: dict) -> int:
    days = raw.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise _bad("days", N_("The rule needs a number of days from 1 to %(max)s."), max=MAX_DAYS)
    return days


# "No new NC of this category / department for N days" --------------------------------


def _validate_no_new_nc(session: Session, raw: dict) -> dict:
    days = _days(raw)
    code = (raw.get("department") or "").strip().upper() or None
    if code and session.scalar(select(Department.id).where(Department.code == code)) is None:
        raise _bad("department", N_("No department with code %(code)s."), code=code)
    category = (raw.get("category") or "").strip() or None
    if category is not None and category not in CAUSE_CATEGORIES:
        raise _bad("category", N_("Unknown cause category."))
    if code is None and category is None:
        raise _bad("department", N_("Name a department, a cause category, or both."))
    return {"kind": "no_new_nc", "days": days, "department": code, "category": category}


def _evaluate_no_new_nc(session, nc, params, window_from, today):
    stmt = (
        select(Nonconformity)
        .where(
            Nonconformity.id != nc.id,
            Nonconformity.status != "rejected",
            Nonconformity.reported_at >= local_day_start(window_from),
            Nonconformity.reported_at < local_day_start(today + timedelta(days=1)),
        )
        .order_by(Nonconformity.reported_at)
    )
    if params.get("department"):
        stmt = stmt.join(Department, Department.id == Nonconformity.department_id).where(
            Department.code == params["department"]
        )
    if params.get("category"):
        stmt = stmt.where(Nonconformity.categories_json.contains(f'"{params["category"]}"'))
    found = session.scalars(stmt.limit(MAX_EVIDENCE)).all()
    evidence = [
        {
            "kind": "nc",
            "number": other.number,
            "on": local_date(other.reported_at).isoformat(),
            "text": other.description[:200],
        }
        for other in found
    ]
    return ("not_met" if evidence else "met"), evidence


# "No new record of type X with field Y = Z" ----------------------------------------------


def _validate_no_record_value(session: Session, raw: dict) -> dict:
    days = _days(raw)
    code = (raw.get("record_type") or "").strip().upper()
    rtype = session.scalar(select(RecordType).where(RecordType.code == code)) if code else None
    if rtype is None:
        raise _bad("record_type", N_("No record type %(code)s."), code=code or "—")
    field = (raw.get("field") or "").strip()
    if field not in {f["name"] for f in rtype.schema.fields}:
        raise _bad(
            "field",
            N_("The record type %(code)s has no field %(field)s."),
            code=code,
            field=field or "—",
        )
    value = raw.get("value")
    if value is None or str(value).strip() == "":
        raise _bad("value", N_("Give the value that must not occur again."))
    return {
        "kind": "no_record_value",
        "days": days,
        "record_type": code,
        "field": field,
        "value": str(value).strip(),
    }


def _evaluate_no_record_value(session, nc, params, window_from, today):
    records = session.scalars(
        select(Record)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(
            RecordType.code == params["record_type"],
            Record.created_at >= local_day_start(window_from),
            Record.created_at < local_day_start(today + timedelta(days=1)),
        )
        .options(selectinload(Record.amendments))
        .order_by(Record.created_at)
    )
    evidence = []
    for record in records:
        value = record.current_values.get(params["field"])
        if value is not None and str(value).strip() == params["value"]:
            evidence.append(
                {
                    "kind": "record",
                    "number": record.number,
                    "on": local_date(record.created_at).isoformat(),
                    "text": f"{params['field']} = {value}",
                }
            )
            if len(evidence) >= MAX_EVIDENCE:
                break
    return ("not_met" if evidence else "met"), evidence


# "KPI K at or above T for the window": supplied by the KPIs (a layer above) ------------------


def _validate_unavailable(session: Session, raw: dict) -> dict:
    raise _bad("kind", N_("KPI rules are not available yet: qdms has no KPIs so far."))


def _evaluate_unavailable(session, nc, params, window_from, today):
    return "unavailable", []


KINDS: dict[str, RuleKind] = {
    "no_new_nc": RuleKind(
        N_("No new nonconformity of this department / cause category for N days"),
        True,
        _validate_no_new_nc,
        _evaluate_no_new_nc,
    ),
    "no_record_value": RuleKind(
        N_("No new record of a type with a field at a value for N days"),
        True,
        _validate_no_record_value,
        _evaluate_no_record_value,
    ),
    # until the KPIs supply it (provide_kind at app start), refused at approval
    "kpi_threshold": RuleKind(
        N_("KPI at or above a threshold for the window (not available yet)"),
        False,
        _validate_unavailable,
        _evaluate_unavailable,
    ),
}


def provide_kind(name: str, kind: RuleKind) -> None:
    """Register (or replace) the rule kind ``name``: the registration point through which
    a feature built on capa supplies a check of its own data, which capa cannot import
    (app.kpis supplies ``kpi_threshold`` when the app starts)."""
    KINDS[name] = kind


def validate(session: Session, raw: dict | None) -> dict | None:
    """The cleaned rule, or None when none is given."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise _bad("kind", N_("The rule must be an object."))
    kind = KINDS.get(raw.get("kind"))
    if kind is None:
        raise _bad("kind", N_("Unknown kind of rule."))
    return kind.validate(session, raw)


def evaluate(
    session: Session, nc: Nonconformity, rule: dict, *, approved_on: date, today: date
) -> Evaluation:
    """Evaluate ``rule`` for ``nc`` on ``today``: the window is the rule's N days up to
    and including today, but never before the plan was approved (what happened before
    the actions is no measure of them)."""
    window_from = max(today - timedelta(days=rule["days"]), approved_on)
    outcome, evidence = KINDS[rule["kind"]].evaluate(session, nc, rule, window_from, today)
    return Evaluation(outcome, window_from, evidence)


def describe(rule: dict | None) -> str:
    """The rule as canonical text (what the plan's signature covers)."""
    return json.dumps(rule, sort_keys=True, ensure_ascii=False) if rule else ""
