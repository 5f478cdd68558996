"""The risk-point register (服务风险点), docs/adr/0043-risk-point-register.md.

Guarantees:

- Numbers ``RP-{seq:03}`` come from an atomic counter (app.sequences): consecutive, never
  reused. ``score`` is always ``likelihood × severity``, each 1 to 5.
- A change of the assessment needs a reason; it is written to the audit trail with the
  values before and after (the history the detail page shows). Reviews are rows that are
  never changed, at most one per risk point and day: of two reviews racing for the same
  risk point, one is recorded and the other is refused (``Conflict``, 409).
- Links are plain object references (``nonconformity:NC-2026-0001``): features built on
  top of risks link their objects without risks importing them. Linking is idempotent
  per pair and audited; the hit count is the number of distinct linked objects.
- Services flush and never commit; bad input raises :class:`ValidationFailed` naming the
  field.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.audit_trail import services as audit
from app.documents.models import Document
from app.errors import N_, Conflict, NotFound, ValidationFailed
from app.extensions import add_months, local_today, utcnow
from app.locking import lock
from app.people.models import Department, User
from app.people.services import chosen_department, chosen_person
from app.records.models import Record
from app.risks.models import (
    BANDS,
    SCALE,
    RiskLink,
    RiskPoint,
    RiskReview,
    band_of,
    format_number,
    normalise_number,
)
from app.sequences import next_value

SEQUENCE_KEY = "risk_point"
DEFAULT_REVIEW_MONTHS = 12
# A review further out than this would let a risk go unexamined through two management
# reviews (9.3 is at least yearly).
MAX_REVIEW_MONTHS = 24
OBJECT_REF = re.compile(r"^([a-z][a-z_]{0,39}):(\S.{0,118})$")
# Kinds whose objects live below risks: a link to one of them must name an existing object.
_CHECKED_KINDS = {"document": Document, "record": Record}


# Loading --------------------------------------------------------------------


def get_risk_point(session: Session, number: str) -> RiskPoint:
    """The risk point numbered ``number`` (``rp-1``, ``RP-001`` and ``1`` find RP-001)."""
    risk = session.scalar(select(RiskPoint).where(RiskPoint.number == normalise_number(number)))
    if risk is None:
        raise NotFound(N_("No risk point %(number)s."), number=number)
    return risk


def list_stmt(
    *,
    department: Department | None = None,
    process: str | None = None,
    band: str | None = None,
    likelihood: int | None = None,
    severity: int | None = None,
    due_on: date | None = None,
    owner: User | None = None,
    q: str | None = None,
) -> Select:
    """The register, highest score first. ``process`` matches part of the process name;
    ``band`` is one of BANDS; ``likelihood``/``severity`` pick one cell of the heat map;
    ``due_on`` keeps risk points whose review is due on that day (or overdue)."""
    stmt = select(RiskPoint).order_by(RiskPoint.score.desc(), RiskPoint.number)
    if department is not None:
        stmt = stmt.where(RiskPoint.department_id == department.id)
    process = (process or "").strip()
    if process:
        stmt = stmt.where(RiskPoint.process.icontains(process, autoescape=True))
    if band:
        if band not in BANDS:
            raise ValidationFailed(N_("Unknown score band."), fields={"band": N_("invalid")})
        low, high = BANDS[band]
        stmt = stmt.where(RiskPoint.score.between(low, high))
    if likelihood is not None:
        stmt = stmt.where(RiskPoint.likelihood == _level(likelihood, "likelihood"))
    if severity is not None:
        stmt = stmt.where(RiskPoint.severity == _level(severity, "severity"))
    if due_on is not None:
        stmt = stmt.where(RiskPoint.review_date <= due_on)
    if owner is not None:
        stmt = stmt.where(RiskPoint.owner_id == owner.id)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                RiskPoint.number.icontains(q, autoescape=True),
                RiskPoint.process.icontains(q, autoescape=True),
                RiskPoint.cause.icontains(q, autoescape=True),
                RiskPoint.consequence.icontains(q, autoescape=True),
            )
        )
    return stmt


def heat_map(session: Session, stmt: Select | None = None) -> dict[tuple[int, int], int]:
    """Counts per cell ``(likelihood, severity)`` of the risk points ``stmt`` selects (the
    whole register by default); every one of the 25 cells is present."""
    base = (stmt if stmt is not None else select(RiskPoint)).order_by(None).subquery()
    rows = session.execute(
        select(base.c.likelihood, base.c.severity, func.count()).group_by(
            base.c.likelihood, base.c.severity
        )
    ).all()
    cells = {(lk, sv): 0 for lk in SCALE for sv in SCALE}
    for lk, sv, count in rows:
        cells[(lk, sv)] = count
    return cells


def heat_map_grid(cells: dict[tuple[int, int], int]) -> list[dict]:
    """The heat map as plain rows for the page and the PDF: likelihood 5 (top) to 1, each
    with its cells for severity 1 to 5 (``score``, ``band``, ``count``)."""
    return [
        {
            "likelihood": lk,
            "cells": [
                {
                    "severity": sv,
                    "score": lk * sv,
                    "band": band_of(lk * sv),
                    "count": cells.get((lk, sv), 0),
                }
                for sv in SCALE
            ],
        }
        for lk in reversed(SCALE)
    ]


def due_reviews(session: Session, today: date) -> list[RiskPoint]:
    """For `qdms sweep`: risk points whose review date is today or past, most overdue
    first."""
    stmt = list_stmt(due_on=today).order_by(None).order_by(RiskPoint.review_date, RiskPoint.number)
    return list(session.scalars(stmt))


def risk_points_for(session: Session, object_ref: str) -> list[RiskPoint]:
    """The risk points ``object_ref`` (``nonconformity:NC-2026-0001``) is linked to, by
    number."""
    stmt = (
        select(RiskPoint)
        .join(RiskLink, RiskLink.risk_point_id == RiskPoint.id)
        .where(RiskLink.object_ref == (object_ref or "").strip())
        .order_by(RiskPoint.number)
    )
    return list(session.scalars(stmt))


def hits(risk_point: RiskPoint) -> int:
    """The number of distinct objects linked to ``risk_point``."""
    return risk_point.hits


# Checking input -------------------------------------------------------------


def _text(value: str | None, field: str, *, max_len: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, fields={field: N_("required")})
    if len(value) > max_len:
        raise ValidationFailed(
            N_("%(field)s is too long."), fields={field: N_("too long")}, field=field
        )
    return value


def _level(value, field: str) -> int:
    """A likelihood or severity: an integer from 1 to 5 (a bool or "3.5" is not)."""
    level = None
    if isinstance(value, int) and not isinstance(value, bool):
        level = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        level = int(value.strip())
    if level is None or level not in SCALE:
        message = (
            N_("The likelihood is a whole number from 1 to 5.")
            if field == "likelihood"
            else N_("The severity is a whole number from 1 to 5.")
        )
        raise ValidationFailed(message, fields={field: N_("must be 1 to 5")})
    return level


def _owner(owner: User | None) -> User:
    return chosen_person(
        owner,
        "owner",
        missing=N_("Please choose the owner."),
        inactive=N_("The owner must be an active user."),
    )


def _review_date(value: date | None, today: date, field: str = "review_date") -> date:
    if value is None:
        return add_months(today, DEFAULT_REVIEW_MONTHS)
    if not isinstance(value, date):
        raise ValidationFailed(N_("Please give a date."), fields={field: N_("invalid")})
    if value <= today:
        raise ValidationFailed(
            N_("The next review date must be after today."), fields={field: N_("invalid")}
        )
    if value > add_months(today, MAX_REVIEW_MONTHS):
        raise ValidationFailed(
            N_("The next review must fall within %(months)s months."),
            fields={field: N_("invalid")},
            months=MAX_REVIEW_MONTHS,
        )
    return value


def _assessment(
    *, process, cause, consequence, likelihood, severity, controls
) -> dict[str, str | int]:
    return {
        "process": _text(process, "process", max_len=120, message=N_("Please name the process.")),
        "cause": _text(cause, "cause", max_len=4000, message=N_("Please describe the cause.")),
        "consequence": _text(
            consequence,
            "consequence",
            max_len=4000,
            message=N_("Please describe the consequence."),
        ),
        "likelihood": _level(likelihood, "likelihood"),
        "severity": _level(severity, "severity"),
        "controls": _text(
            controls, "controls", max_len=4000, message=N_("Please give the control measures.")
        ),
    }


def check_object_ref(session: Session, object_ref: str | None) -> str:
    """``kind:key`` as given, stripped; a field error when malformed, or when its kind is
    one risks knows (document, record) and no such object exists."""
    ref = (object_ref or "").strip()
    match = OBJECT_REF.match(ref)
    if match is None:
        raise ValidationFailed(
            N_("Name the object as kind:number, e.g. document:QP-CS-001."),
            fields={"object": N_("invalid")},
        )
    kind, key = match.groups()
    model = _CHECKED_KINDS.get(kind)
    if model is not None:
        key = key.strip().upper()
        if session.scalar(select(model.id).where(model.number == key)) is None:
            raise ValidationFailed(
                N_("No %(kind)s %(number)s."),
                fields={"object": N_("invalid")},
                kind=kind,
                number=key,
            )
        ref = f"{kind}:{key}"
    return ref


# Changes --------------------------------------------------------------------


def create_risk_point(
    session: Session,
    actor: User,
    *,
    process: str,
    department: Department | None,
    cause: str,
    consequence: str,
    likelihood: int,
    severity: int,
    controls: str,
    owner: User | None,
    review_date: date | None = None,
    today: date | None = None,
) -> RiskPoint:
    """Add a risk point with the next number. ``review_date`` defaults to twelve months
    from today and must fall after today and within 24 months."""
    today = today or local_today()
    values = _assessment(
        process=process,
        cause=cause,
        consequence=consequence,
        likelihood=likelihood,
        severity=severity,
        controls=controls,
    )
    risk = RiskPoint(
        number=format_number(next_value(session, SEQUENCE_KEY)),
        department=chosen_department(department),
        owner=_owner(owner),
        review_date=_review_date(review_date, today),
        score=values["likelihood"] * values["severity"],
        created_by=actor,
        **values,
    )
    session.add(risk)
    session.flush()
    audit.record(session, actor, risk.ref, "created", after=risk.audit_state())
    return risk


def update_risk_point(
    session: Session,
    actor: User,
    risk: RiskPoint,
    *,
    reason: str,
    process: str,
    department: Department | None,
    cause: str,
    consequence: str,
    likelihood: int,
    severity: int,
    controls: str,
    owner: User | None,
    review_date: date | None,
    today: date | None = None,
) -> RiskPoint:
    """Change the assessment, with a reason (audited with before and after). The number
    never changes; an unchanged form writes nothing."""
    today = today or local_today()
    reason = _text(
        reason, "reason", max_len=4000, message=N_("Please give the reason for the change.")
    )
    values = _assessment(
        process=process,
        cause=cause,
        consequence=consequence,
        likelihood=likelihood,
        severity=severity,
        controls=controls,
    )
    department = chosen_department(department)
    owner = _owner(owner)
    lock(session, risk)
    before = risk.audit_state()
    if review_date is None or review_date != risk.review_date:
        review_date = _review_date(review_date, today)
    for key, value in values.items():
        setattr(risk, key, value)
    risk.score = risk.likelihood * risk.severity
    risk.department = department
    risk.owner = owner
    risk.review_date = review_date
    after = risk.audit_state()
    if after == before:
        session.flush()
        return risk
    risk.updated_at = utcnow()
    session.flush()
    changed = [k for k in after if after[k] != before[k]]
    audit.record(
        session,
        actor,
        risk.ref,
        "updated",
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        reason=reason,
    )
    return risk


def record_review(
    session: Session,
    actor: User,
    risk: RiskPoint,
    *,
    notes: str,
    next_review_date: date | None = None,
    reviewed_on: date | None = None,
    today: date | None = None,
) -> RiskReview:
    """Record a periodic review: the review date moves to ``next_review_date`` (default:
    twelve months after the review). A review is dated today or earlier, not before the
    last one; a second review of the same risk point on the same day is refused (409),
    so of two people reviewing at once, one is recorded."""
    today = today or local_today()
    reviewed_on = reviewed_on or today
    if not isinstance(reviewed_on, date) or reviewed_on > today:
        raise ValidationFailed(
            N_("A review cannot be dated in the future."), fields={"reviewed_on": N_("invalid")}
        )
    notes = _text(notes, "notes", max_len=4000, message=N_("Please write what the review found."))
    next_review_date = _review_date(next_review_date, reviewed_on, field="next_review_date")
    if next_review_date <= today:
        raise ValidationFailed(
            N_("The next review date must be after today."),
            fields={"next_review_date": N_("invalid")},
        )
    lock(session, risk)
    last = risk.last_reviewed_on
    if last is not None and reviewed_on == last:
        raise Conflict(
            N_("%(number)s was already reviewed on %(day)s."),
            fields={"reviewed_on": N_("taken")},
            number=risk.number,
            day=reviewed_on.isoformat(),
        )
    if last is not None and reviewed_on < last:
        raise ValidationFailed(
            N_("A review cannot be dated before the last review (%(day)s)."),
            fields={"reviewed_on": N_("invalid")},
            day=last.isoformat(),
        )
    review = RiskReview(
        risk_point=risk,
        reviewed_on=reviewed_on,
        reviewer=actor,
        notes=notes,
        previous_review_date=risk.review_date,
        next_review_date=next_review_date,
    )
    session.add(review)
    before = {
        "review_date": risk.review_date.isoformat(),
        "reviewed_on": last.isoformat() if last else None,
    }
    risk.last_reviewed_on = reviewed_on
    risk.review_date = next_review_date
    session.flush()
    audit.record(
        session,
        actor,
        risk.ref,
        "risk_reviewed",
        before=before,
        after={
            "reviewed_on": reviewed_on.isoformat(),
            "review_date": next_review_date.isoformat(),
        },
        reason=notes,
    )
    return review


def link(session: Session, actor: User, risk_point: RiskPoint, object_ref: str) -> None:
    """Link ``object_ref`` (``nonconformity:NC-2026-0001``) to ``risk_point``: its hit
    count rises by one. Linking the same pair again does nothing (and writes nothing)."""
    ref = check_object_ref(session, object_ref)
    lock(session, risk_point)
    exists = session.scalar(
        select(RiskLink.id).where(
            RiskLink.risk_point_id == risk_point.id, RiskLink.object_ref == ref
        )
    )
    if exists is not None:
        return
    session.add(RiskLink(risk_point=risk_point, object_ref=ref, created_by=actor))
    session.flush()
    session.expire(risk_point, ["hits", "links"])
    audit.record(session, actor, risk_point.ref, "risk_linked", after={"linked_object": ref})


def unlink(session: Session, actor: User, risk_point: RiskPoint, object_ref: str) -> None:
    """Remove a link made by mistake. The trail keeps that it existed."""
    ref = (object_ref or "").strip()
    lock(session, risk_point)
    row = session.scalar(
        select(RiskLink).where(RiskLink.risk_point_id == risk_point.id, RiskLink.object_ref == ref)
    )
    if row is None:
        raise NotFound(
            N_("%(object)s is not linked to %(number)s."), object=ref, number=risk_point.number
        )
    session.delete(row)
    session.flush()
    session.expire(risk_point, ["hits", "links"])
    audit.record(session, actor, risk_point.ref, "risk_unlinked", before={"linked_object": ref})
