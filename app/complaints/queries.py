"""Read-only questions other features ask of the complaints feature: the KPIs and the
management review read it through these functions and nothing else (they import this
module; it imports none of them). Each function takes the session and plain arguments and
returns plain data: numbers, dicts, small frozen dataclasses.

Every figure is a SQL aggregate (a handful of grouped queries whatever the number of
cases: benchmarks/complaints.py runs them over 1,000,000).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from flask import current_app, has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.complaints.models import (
    CHANNELS,
    STEPS,
    Complaint,
    ComplaintCategory,
    ComplaintClock,
)
from app.extensions import local_day_start, utcnow
from app.i18n import current_language
from app.people.models import Department


@dataclass(frozen=True)
class ComplaintFigures:
    """What happened to the complaints received in a period (see :func:`figures`)."""

    received: int  # cases received in [start, end)
    by_category: dict[str, int]  # category code -> cases
    by_channel: dict[str, int]  # channel code -> cases
    resolved: int  # of those, reached resolved (or later)
    first_contact: int  # of those resolved, resolved at first contact
    commitment_cases: int  # cases with at least one decided clock (met or breached)
    commitment_cases_met: int  # of those, every decided clock met
    clocks_due: dict[str, int]  # step -> decided clocks (met or breached)
    clocks_met: dict[str, int]  # step -> clocks met
    satisfaction_count: int  # follow-ups with a satisfaction score
    satisfaction_sum: int
    breaches: int  # clocks breached
    repeats: int  # repeat complaints


def _cases(start: date, end: date, department: str | None, category: str | None):
    """The WHERE clause of the cases received in [start, end) (organisation's dates)."""
    where = [
        Complaint.received_at >= local_day_start(start),
        Complaint.received_at < local_day_start(end),
    ]
    if department is not None:
        where.append(
            Complaint.department_id
            == select(Department.id).where(Department.code == department).scalar_subquery()
        )
    if category is not None:
        where.append(
            Complaint.category_id
            == select(ComplaintCategory.id)
            .where(ComplaintCategory.code == category)
            .scalar_subquery()
        )
    return and_(*where)


def _zero() -> ComplaintFigures:
    return ComplaintFigures(0, {}, {}, 0, 0, 0, 0, {}, {}, 0, 0, 0, 0)


def _plus(a: ComplaintFigures, b: ComplaintFigures) -> ComplaintFigures:
    """The figures of two disjoint sets of cases together (every figure adds up)."""
    out = {}
    for f in fields(ComplaintFigures):
        x, y = getattr(a, f.name), getattr(b, f.name)
        out[f.name] = (
            {k: x.get(k, 0) + y.get(k, 0) for k in x.keys() | y.keys()}
            if isinstance(x, dict)
            else x + y
        )
    return ComplaintFigures(**out)


@dataclass(frozen=True)
class FigureGroups:
    """The figures of a period's cases split by handling department and category (codes):
    the figures of the organisation, a department or a category are sums of groups, so
    readings of one period in several ways cost one set of queries (the KPI dashboard)."""

    groups: dict[tuple[str, str], ComplaintFigures]

    def select(self, department: str | None = None, category: str | None = None):
        total = _zero()
        for (dept, cat), f in self.groups.items():
            if department in (None, dept) and category in (None, cat):
                total = _plus(total, f)
        return total


def figure_groups(
    session: Session,
    start: date,
    end: date,
    *,
    department: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
) -> FigureGroups:
    """The figures of the cases received from ``start`` (included) to ``end`` (excluded),
    dates in the organisation's time zone, optionally only of one handling department and
    one category (codes), by department and category. A clock is *met* when its step was
    recorded at or before its due time, *breached* when recorded after it or not recorded
    and the due time has passed (``now``, default the current time, or the sweep marked
    it); a pending clock is not decided. Two grouped queries."""
    now = now or utcnow()
    where = _cases(start, end, department, category)
    dept_codes = dict(session.execute(select(Department.id, Department.code)).all())
    cat_codes = dict(session.execute(select(ComplaintCategory.id, ComplaintCategory.code)).all())
    parts: dict[tuple[str, str], dict] = {}

    def part(dept_id: int, cat_id: int) -> dict:
        key = (dept_codes.get(dept_id, ""), cat_codes.get(cat_id, ""))
        if key not in parts:
            parts[key] = {f.name: {} if f.type.startswith("dict") else 0 for f in fields(_zero())}
        return parts[key]

    for dept_id, cat_id, channel, n, resolved, first, sat_n, sat_sum, repeats in session.execute(
        select(
            Complaint.department_id,
            Complaint.category_id,
            Complaint.channel,
            func.count(Complaint.id),
            func.count(Complaint.resolved_at),
            func.coalesce(
                func.sum(
                    case((and_(Complaint.resolved_at.is_not(None), Complaint.first_contact), 1))
                ),
                0,
            ),
            func.count(Complaint.satisfaction),
            func.coalesce(func.sum(Complaint.satisfaction), 0),
            func.coalesce(func.sum(case((Complaint.is_repeat, 1))), 0),
        )
        .where(where)
        .group_by(Complaint.department_id, Complaint.category_id, Complaint.channel)
    ):
        p = part(dept_id, cat_id)
        cat = cat_codes.get(cat_id, "")
        p["received"] += int(n)
        p["by_category"][cat] = p["by_category"].get(cat, 0) + int(n)
        p["by_channel"][channel] = p["by_channel"].get(channel, 0) + int(n)
        p["resolved"] += int(resolved)
        p["first_contact"] += int(first)
        p["satisfaction_count"] += int(sat_n)
        p["satisfaction_sum"] += int(sat_sum)
        p["repeats"] += int(repeats)

    # a breach the sweep noticed counts even when it ran for a later day than ``now``
    decided = case(
        (ComplaintClock.done_at.is_not(None), 1),
        (ComplaintClock.due_at < now, 1),
        (ComplaintClock.breach_noticed_at.is_not(None), 1),
        else_=0,
    )
    met = case(
        (
            and_(
                ComplaintClock.done_at.is_not(None), ComplaintClock.done_at <= ComplaintClock.due_at
            ),
            1,
        ),
        else_=0,
    )
    # One query over the clocks, driven by the period's cases (the received_at index,
    # then each case's clocks): per case its decided and met clocks, in all and by step,
    # summed by department and category. (Grouping the clocks by step directly, SQLite
    # without statistics scans every clock of every year.)
    steps = list(STEPS)
    per_case = (
        select(
            Complaint.department_id,
            Complaint.category_id,
            func.sum(decided).label("decided"),
            func.sum(met).label("met"),
            *(
                func.sum(case((ComplaintClock.step == s, decided), else_=0)).label(f"d_{s}")
                for s in steps
            ),
            *(
                func.sum(case((ComplaintClock.step == s, met), else_=0)).label(f"m_{s}")
                for s in steps
            ),
        )
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(where)
        .group_by(ComplaintClock.complaint_id, Complaint.department_id, Complaint.category_id)
        .subquery()
    )
    c = per_case.c
    for row in session.execute(
        select(
            c.department_id,
            c.category_id,
            func.coalesce(func.sum(case((c.decided > 0, 1))), 0),
            func.coalesce(func.sum(case((and_(c.decided > 0, c.decided == c.met), 1))), 0),
            *(func.sum(c[f"d_{s}"]) for s in steps),
            *(func.sum(c[f"m_{s}"]) for s in steps),
        ).group_by(c.department_id, c.category_id)
    ):
        dept_id, cat_id, n_cases, n_cases_met = row[:4]
        p = part(dept_id, cat_id)
        p["commitment_cases"] += int(n_cases)
        p["commitment_cases_met"] += int(n_cases_met)
        due, done = row[4 : 4 + len(steps)], row[4 + len(steps) :]
        for step, n_due, n_met in zip(steps, due, done, strict=True):
            if n_due:
                p["clocks_due"][step] = int(n_due)
                p["clocks_met"][step] = int(n_met or 0)
                p["breaches"] += int(n_due) - int(n_met or 0)

    return FigureGroups({key: ComplaintFigures(**p) for key, p in parts.items()})


def figures(
    session: Session,
    start: date,
    end: date,
    *,
    department: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
) -> ComplaintFigures:
    """The figures of the cases received in [start, end), optionally of one handling
    department and one category (codes): see :func:`figure_groups`."""
    return figure_groups(
        session, start, end, department=department, category=category, now=now
    ).select()


def _english() -> bool:
    # outside a request (the command line, a report worker): the organisation's default
    if has_request_context():
        return current_language() == "en"
    return current_app.config["QDMS_DEFAULT_LANGUAGE"] == "en"


def category_names(session: Session) -> dict[str, str]:
    """Category code -> its name in the current locale (every category, active or not, so
    old figures keep their names)."""
    english = _english()
    return {
        code: (en if english else zh)
        for code, zh, en in session.execute(
            select(
                ComplaintCategory.code, ComplaintCategory.name_zh, ComplaintCategory.name_en
            ).order_by(ComplaintCategory.code)
        )
    }


def channel_names() -> dict[str, str]:
    """Channel code -> its name in the current locale (outside a request: the
    organisation's default language; needs an application context)."""
    if has_request_context():
        return {code: gettext(label) for code, label in CHANNELS.items()}
    with force_locale(current_app.config["QDMS_DEFAULT_LANGUAGE"]):
        return {code: gettext(label) for code, label in CHANNELS.items()}


def open_by_department(session: Session, since: datetime) -> dict[int, int]:
    """Department id -> open cases received since ``since`` (the audit programme's
    priorities read it)."""
    return {
        dept: int(n)
        for dept, n in session.execute(
            select(Complaint.department_id, func.count(Complaint.id))
            .where(Complaint.status != "closed", Complaint.received_at >= since)
            .group_by(Complaint.department_id)
        )
    }


def commitment_steps() -> tuple[str, ...]:
    """The recovery steps a service-commitment clock may time (the KPIs' ``step``)."""
    # appended by the KPIs below the module's own code (the file merges by union), so the
    # import stays here rather than in the header another branch also edits
    from app.complaints.models import STEPS  # noqa: PLC0415

    return tuple(STEPS)
