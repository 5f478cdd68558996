"""Quality objectives and KPIs: the rules (docs/adr/0047).

Guarantees:

- a KPI's value of a period is *entered* (typed or imported) or *computed* by its source
  (``app.kpis.sources``); a period without data has the value ``None`` ("no data") and
  the status ``none`` — never 0 % or 100 %;
- computed values of open periods are computed live; closing a period stores them and
  freezes every value of the period (``KpiPeriodClose`` is one row per period: of two
  parallel closings one wins, the other gets a 409 and writes nothing);
- a frozen value never changes; a signed amendment with a reason stands beside it;
- an import writes every row or none: a bad row is a 400 naming its line;
- every change writes an audit event in the caller's transaction. Services flush and
  never commit.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app import inputs
from app.audit_trail import services as audit
from app.capa import services as capa
from app.capa.models import NcLink
from app.errors import N_, Conflict, NotFound, ValidationFailed
from app.extensions import local_today, utcnow
from app.kpis import periods as P
from app.kpis import sources as S
from app.kpis.models import (
    DEFAULT_BREACH_PERIODS,
    DIRECTIONS,
    PERIOD_KINDS,
    Kpi,
    KpiAmendment,
    KpiBreach,
    KpiPeriodClose,
    KpiTarget,
    KpiValue,
    Objective,
)
from app.locking import lock
from app.people.models import Department, User
from app.signatures.services import sign

MAX_TEXT = 4000
MAX_IMPORT_ROWS = 10000
MAX_ABS_VALUE = 1e12
CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")
YEAR = re.compile(r"^\d{4}$")


# Loading ----------------------------------------------------------------------------------


def get_kpi(session: Session, code: str) -> Kpi:
    kpi = session.scalar(select(Kpi).where(Kpi.code == (code or "").strip().upper()))
    if kpi is None:
        raise NotFound(N_("No such KPI."))
    return kpi


def get_objective(session: Session, objective_id: int) -> Objective:
    objective = session.get(Objective, objective_id) if 0 < objective_id < 2**31 else None
    if objective is None:
        raise NotFound(N_("No such objective."))
    return objective


def department_by_code(session: Session, code: str | None) -> Department | None:
    """The department with ``code``; None when none is given (the organisation)."""
    code = (code or "").strip().upper()
    if not code:
        return None
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise ValidationFailed(
            N_("No department with code %(code)s."), fields={"department": N_("invalid")}, code=code
        )
    return dept


def _text(value, field: str, message: str, *, required: bool = True, max_len: int = MAX_TEXT):
    return inputs.text(value, field, message, required=required, max_len=max_len)


def _number(value, field: str, *, required: bool = True) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(N_("Please give a number."), fields={field: N_("required")})
        return None
    if isinstance(value, bool):
        raise ValidationFailed(N_("Please give a number."), fields={field: N_("invalid")})
    try:
        number = float(value.strip().replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(N_("Please give a number."), fields={field: N_("invalid")}) from None
    if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
        raise ValidationFailed(N_("The number is out of range."), fields={field: N_("invalid")})
    return number


# Status -------------------------------------------------------------------------------------


def status_of(value: float | None, target: float | None, warning: float | None, direction: str):
    """green (at or better than target), amber (not worse than the warning threshold), red,
    or none (no value or no target)."""
    if value is None or target is None:
        return "none"
    better = (lambda a, b: a >= b) if direction == "higher" else (lambda a, b: a <= b)
    if better(value, target):
        return "green"
    if warning is not None and better(value, warning):
        return "amber"
    return "red"


def target_for(kpi: Kpi, period: P.Period) -> tuple[float | None, float | None]:
    """The target and warning of ``period``: its own, else its year's."""
    by_period = {t.period: t for t in kpi.targets}
    t = by_period.get(str(period)) or by_period.get(str(period.year))
    return (t.target, t.warning) if t else (None, None)


# Objectives -----------------------------------------------------------------------------


PLAN_FIELDS = {
    "what": N_("Please say what will be done."),
    "resources": N_("Please name the resources."),
    "who": N_("Please say who is responsible."),
    "when": N_("Please say when it will be completed."),
    "evaluation": N_("Please say how the results will be evaluated."),
}


def _year(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100:
        raise ValidationFailed(N_("Please give a year."), fields={"year": N_("invalid")})
    return value


def _kpis_by_code(session: Session, codes: Iterable[str] | None) -> list[Kpi]:
    out = []
    for code in codes or []:
        kpi = session.scalar(select(Kpi).where(Kpi.code == str(code).strip().upper()))
        if kpi is None:
            raise ValidationFailed(
                N_("No KPI with code %(code)s."), fields={"kpis": N_("invalid")}, code=code
            )
        if kpi not in out:
            out.append(kpi)
    return out


def create_objective(
    session: Session,
    actor: User,
    *,
    year: int,
    department: Department | None,
    title: str,
    plan: dict,
    kpis: Sequence[str] = (),
) -> Objective:
    """Set a quality objective of ``year`` (for ``department``, or the organisation) with
    its 6.2.2 plan; the KPIs named by code measure it."""
    year = _year(year)
    title = _text(title, "title", N_("Please give the objective a title."), max_len=300)
    plan = plan if isinstance(plan, dict) else {}
    cleaned = {
        key: _text(plan.get(key), f"plan.{key}", message) for key, message in PLAN_FIELDS.items()
    }
    measured = _kpis_by_code(session, kpis)
    objective = Objective(
        year=year, department=department, title=title, created_by=actor, **cleaned
    )
    session.add(objective)
    for kpi in measured:
        kpi.objective = objective
    session.flush()
    audit.record(session, actor, objective.ref, "objective_created", after=objective.audit_state())
    return objective


def objectives_stmt(
    year: int | None = None,
    department: Department | None = None,
    *,
    include_withdrawn: bool = True,
):
    stmt = select(Objective).options(
        selectinload(Objective.kpis), selectinload(Objective.department)
    )
    if year is not None:
        stmt = stmt.where(Objective.year == year)
    if not include_withdrawn:
        stmt = stmt.where(Objective.is_active.is_(True))
    if department is not None:
        stmt = stmt.where(Objective.department_id == department.id)
    return stmt.order_by(Objective.year.desc(), Objective.department_id, Objective.id)


# KPIs -----------------------------------------------------------------------------------------


def _targets(items, period_kind: str) -> list[dict]:
    out: dict[str, dict] = {}
    if not isinstance(items, list):
        raise ValidationFailed(N_("Targets must be a list."), fields={"targets": N_("invalid")})
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(N_("Targets must be a list."), fields={"targets": N_("invalid")})
        raw = str(item.get("period") or "").strip().upper()
        key = f"targets.{i}.period"
        if YEAR.match(raw) and 2000 <= int(raw) <= 2100:
            period = raw
        else:
            period = str(P.parse(raw, period_kind, field=key))
        target = _number(item.get("target"), f"targets.{i}.target")
        warning = _number(item.get("warning"), f"targets.{i}.warning", required=False)
        out[period] = {"period": period, "target": target, "warning": warning}
    return list(out.values())


def create_kpi(
    session: Session,
    actor: User,
    *,
    code: str,
    name: str,
    name_en: str | None = None,
    unit: str = "",
    direction: str,
    period_kind: str,
    source: str,
    params: dict | None = None,
    department: Department | None = None,
    objective: Objective | None = None,
    targets: list | None = None,
    breach_periods: int | None = None,
) -> Kpi:
    """Define a KPI. ``source`` is ``entered`` or the name of a computed source; its
    parameters are checked; the code is unique (409 when taken)."""
    code = (code or "").strip().upper()
    if not CODE.match(code):
        raise ValidationFailed(
            N_("A KPI code is 1 to 40 letters, digits, dots, dashes or underscores."),
            fields={"code": N_("invalid")},
        )
    if session.scalar(select(Kpi.id).where(Kpi.code == code)) is not None:
        raise Conflict(N_("The KPI code %(code)s is taken."), code=code)
    name = _text(name, "name", N_("Please give the KPI a name."), max_len=200)
    name_en = _text(name_en, "name_en", "", required=False, max_len=200)
    unit = _text(unit, "unit", "", required=False, max_len=20) or ""
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            N_("Please choose whether higher or lower is better."),
            fields={"direction": N_("not one of the choices")},
        )
    if period_kind not in PERIOD_KINDS:
        raise ValidationFailed(
            N_("Please choose monthly or quarterly."),
            fields={"period": N_("not one of the choices")},
        )
    if source != "entered" and source not in S.SOURCES:
        raise ValidationFailed(
            N_("Unknown KPI source."), fields={"source": N_("not one of the choices")}
        )
    cleaned = {} if source == "entered" else S.clean_params(session, source, params)
    if source == "entered" and params:
        raise ValidationFailed(
            N_("An entered KPI takes no parameters."), fields={"params": N_("invalid")}
        )
    breach = DEFAULT_BREACH_PERIODS if breach_periods is None else breach_periods
    if isinstance(breach, bool) or not isinstance(breach, int) or not 1 <= breach <= 24:
        raise ValidationFailed(
            N_("The number of periods is 1 to 24."), fields={"breach_periods": N_("invalid")}
        )
    _check_objective_open(objective)
    planned = _targets(targets or [], period_kind)
    kpi = Kpi(
        code=code,
        name=name,
        name_en=name_en,
        unit=unit,
        direction=direction,
        period_kind=period_kind,
        source=source,
        params_json=json.dumps(cleaned, ensure_ascii=False, sort_keys=True),
        department=department,
        objective=objective,
        breach_periods=breach,
        created_by=actor,
    )
    session.add(kpi)
    for t in planned:
        session.add(KpiTarget(kpi=kpi, **t))
    session.flush()
    audit.record(
        session, actor, kpi.ref, "kpi_created", after={**kpi.audit_state(), "targets": planned}
    )
    return kpi


def set_targets(session: Session, actor: User, kpi: Kpi, targets: list) -> list[KpiTarget]:
    """Set (or replace) the target and warning of the periods or years given."""
    planned = _targets(targets, kpi.period_kind)
    if not planned:
        raise ValidationFailed(N_("Please give a target."), fields={"targets": N_("required")})
    existing = {t.period: t for t in kpi.targets}
    before = [
        {"period": t.period, "target": t.target, "warning": t.warning}
        for t in kpi.targets
        if t.period in {p["period"] for p in planned}
    ]
    for t in planned:
        row = existing.get(t["period"])
        if row is None:
            session.add(KpiTarget(kpi=kpi, **t))
        else:
            row.target, row.warning = t["target"], t["warning"]
    session.flush()
    session.expire(kpi, ["targets"])
    audit.record(
        session,
        actor,
        kpi.ref,
        "kpi_targets_set",
        before={"targets": before},
        after={"targets": planned},
    )
    return kpi.targets


# Editing, withdrawing and deactivating (docs/adr/0049) ------------------------------------
#
# What may change: an objective's title, department and plan; a KPI's names, unit,
# direction, department, objective, run length and source parameters. What may not: a
# KPI's code, period kind and source (they define what its history means; a different
# measure is a new KPI) and an objective's year. Each change is locked on the object's row
# and audited with only the fields that changed; an unchanged form writes nothing.
# Withdrawing an objective or deactivating a KPI keeps its history; doing it twice at
# once: the second waits for the first and gets a 409.


def _check_objective_open(objective: Objective | None, current: Objective | None = None):
    """A KPI is given only an active objective (it keeps a withdrawn one it already has)."""
    if objective is not None and not objective.is_active and objective is not current:
        raise ValidationFailed(
            N_("The objective %(title)s is withdrawn: choose an active one."),
            fields={"objective": N_("invalid")},
            title=objective.title,
        )


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    changed = [key for key in after if after[key] != before.get(key)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def update_objective(
    session: Session,
    actor: User,
    objective: Objective,
    *,
    title: str,
    department: Department | None,
    plan: dict,
) -> Objective:
    """Change an objective's title, department and 6.2.2 plan (its year stays). Audited
    with the fields that changed, before and after; an unchanged form writes nothing."""
    title = _text(title, "title", N_("Please give the objective a title."), max_len=300)
    plan = plan if isinstance(plan, dict) else {}
    cleaned = {
        key: _text(plan.get(key), f"plan.{key}", message) for key, message in PLAN_FIELDS.items()
    }
    lock(session, objective)
    before = objective.audit_state()
    objective.title = title
    objective.department = department
    for key, value in cleaned.items():
        setattr(objective, key, value)
    after = objective.audit_state()
    session.flush()
    old, new = _changes(before, after)
    if new:
        audit.record(session, actor, objective.ref, "objective_updated", before=old, after=new)
    return objective


def _reason(reason, message: str) -> str:
    return _text(reason, "reason", message)


def withdraw_objective(
    session: Session, actor: User, objective: Objective, *, reason: str
) -> Objective:
    """Withdraw an objective, with a reason: it leaves the default list and is no longer
    offered to KPIs; its KPIs keep it. Already withdrawn (or withdrawn twice at once): 409."""
    reason = _reason(reason, N_("Please give the reason for withdrawing the objective."))
    lock(session, objective)
    if not objective.is_active:
        raise Conflict(N_("The objective is withdrawn already."))
    objective.is_active = False
    session.flush()
    audit.record(session, actor, objective.ref, "objective_withdrawn", reason=reason)
    return objective


def reinstate_objective(
    session: Session, actor: User, objective: Objective, *, reason: str
) -> Objective:
    """Make a withdrawn objective active again, with a reason. Active already: 409."""
    reason = _reason(reason, N_("Please give the reason for reinstating the objective."))
    lock(session, objective)
    if objective.is_active:
        raise Conflict(N_("The objective is active already."))
    objective.is_active = True
    session.flush()
    audit.record(session, actor, objective.ref, "objective_reactivated", reason=reason)
    return objective


def _kpi_state(kpi: Kpi) -> dict:
    return {**kpi.audit_state(), "objective": kpi.objective.title if kpi.objective else None}


def update_kpi(
    session: Session,
    actor: User,
    kpi: Kpi,
    *,
    name: str,
    name_en: str | None,
    unit: str,
    direction: str,
    department: Department | None,
    objective: Objective | None,
    breach_periods: int,
    params: dict | None,
) -> Kpi:
    """Change what may change of a KPI (not its code, period kind or source). New source
    parameters are checked like at definition; they change the live values of open
    periods only: a frozen value stays as it was closed. Audited with the fields that
    changed; an unchanged form writes nothing."""
    name = _text(name, "name", N_("Please give the KPI a name."), max_len=200)
    name_en = _text(name_en, "name_en", "", required=False, max_len=200)
    unit = _text(unit, "unit", "", required=False, max_len=20) or ""
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            N_("Please choose whether higher or lower is better."),
            fields={"direction": N_("not one of the choices")},
        )
    if (
        isinstance(breach_periods, bool)
        or not isinstance(breach_periods, int)
        or not 1 <= breach_periods <= 24
    ):
        raise ValidationFailed(
            N_("The number of periods is 1 to 24."), fields={"breach_periods": N_("invalid")}
        )
    if kpi.is_entered and params:
        raise ValidationFailed(
            N_("An entered KPI takes no parameters."), fields={"params": N_("invalid")}
        )
    cleaned = {} if kpi.is_entered else S.clean_params(session, kpi.source, params)
    lock(session, kpi)
    _check_objective_open(objective, kpi.objective)
    before = _kpi_state(kpi)
    kpi.name, kpi.name_en, kpi.unit, kpi.direction = name, name_en, unit, direction
    kpi.department, kpi.objective, kpi.breach_periods = department, objective, breach_periods
    kpi.params_json = json.dumps(cleaned, ensure_ascii=False, sort_keys=True)
    after = _kpi_state(kpi)
    session.flush()
    old, new = _changes(before, after)
    if new:
        audit.record(session, actor, kpi.ref, "kpi_updated", before=old, after=new)
    return kpi


def deactivate_kpi(session: Session, actor: User, kpi: Kpi, *, reason: str) -> Kpi:
    """Deactivate a KPI, with a reason: it leaves the dashboard, is not computed at period
    close nor swept for runs below target; its values stay readable. Inactive already (or
    deactivated twice at once): 409."""
    reason = _reason(reason, N_("Please give the reason for deactivating the KPI."))
    lock(session, kpi)
    if not kpi.is_active:
        raise Conflict(N_("%(code)s is inactive already."), code=kpi.code)
    kpi.is_active = False
    session.flush()
    audit.record(session, actor, kpi.ref, "kpi_deactivated", reason=reason)
    return kpi


def reactivate_kpi(session: Session, actor: User, kpi: Kpi, *, reason: str) -> Kpi:
    """Make an inactive KPI active again, with a reason. Active already: 409. Periods
    closed while it was inactive keep "no data" (nothing was frozen for it)."""
    reason = _reason(reason, N_("Please give the reason for reactivating the KPI."))
    lock(session, kpi)
    if kpi.is_active:
        raise Conflict(N_("%(code)s is active already."), code=kpi.code)
    kpi.is_active = True
    session.flush()
    audit.record(session, actor, kpi.ref, "kpi_reactivated", reason=reason)
    return kpi


def _require_active(kpi: Kpi) -> None:
    if not kpi.is_active:
        raise Conflict(N_("%(code)s is inactive: reactivate it first."), code=kpi.code)


# Values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodValue:
    period: str
    value: float | None
    target: float | None
    warning: float | None
    status: str
    frozen: bool
    entered_by: str | None = None
    amended: bool = False
    stale: bool = False  # a live value of an older version (see _live)


def closed_periods(session: Session, names: Iterable[str]) -> set[str]:
    names = list(names)
    if not names:
        return set()
    return set(
        session.scalars(select(KpiPeriodClose.period).where(KpiPeriodClose.period.in_(names)))
    )


def is_closed(session: Session, period: P.Period) -> bool:
    return bool(closed_periods(session, [str(period)]))


# Live values of open periods, reused while nothing they read changes: each kept with the
# version it was computed under — the database, the newest event of the object kinds its
# source reads (Source.reads; a recorded document revision does not recompute the
# complaint KPIs) and a time bucket (clocks and due dates run out without an event) — and
# when. A reader that accepts it (the dashboard of a large organisation, see
# queries.summaries_of) may be shown the value of an older version for a while.
LIVE_CACHE: OrderedDict = OrderedDict()  # identity -> Live
LIVE_CACHE_SIZE = 8192
_LIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Live:
    version: tuple
    value: float | None
    at: float  # time.time() when computed


@dataclass(frozen=True)
class LiveVersion:
    database: str
    marks: dict[str, int]  # object kind -> its newest event (audit_trail.change_marks)
    bucket: int

    def of(self, source: str) -> tuple:
        """The version of ``source``'s live values: it moves when a kind it reads changes."""
        reads = S.SOURCES[source].reads
        return (max((self.marks.get(k, 0) for k in reads), default=0), self.bucket)


def live_version(session: Session, seconds: int) -> LiveVersion | None:
    """The versions under which live values may be reused (None: no reuse)."""
    if seconds <= 0:
        return None
    return LiveVersion(
        str(session.get_bind().url),
        audit.change_marks(session),
        int(time.time() // seconds),
    )


def _live(identity: tuple, version: tuple, make, stale_within: float | None):
    """The live value under ``version`` (computed by ``make`` unless kept), or, given
    ``stale_within`` seconds, one kept under an older version computed less long ago;
    and whether it is such an older one."""
    with _LIVE_LOCK:
        kept = LIVE_CACHE.get(identity)
        if kept is not None:
            LIVE_CACHE.move_to_end(identity)
    if kept is not None and kept.version == version:
        return kept.value, False
    if kept is not None and stale_within and time.time() - kept.at < stale_within:
        return kept.value, True
    value = make()
    with _LIVE_LOCK:
        LIVE_CACHE[identity] = Live(version, value, time.time())
        while len(LIVE_CACHE) > LIVE_CACHE_SIZE:
            LIVE_CACHE.popitem(last=False)
    return value, False


def compute(session: Session, kpi: Kpi, period: P.Period, memo: dict | None = None):
    """The computed source's value of ``period`` (live); ``memo`` shares figures between
    the KPIs computed together."""
    return S.compute(
        session,
        kpi.source,
        period.start,
        period.end,
        kpi.department.code if kpi.department else None,
        kpi.params,
        memo,
    )


def _computed(session: Session, kpi: Kpi, period: P.Period, memo: dict | None):
    started = time.perf_counter()
    try:
        return compute(session, kpi, period, memo)
    finally:
        if memo is not None:  # the reader learns what computing cost, by what it reads
            costs = memo.setdefault("cost", {})
            reads = S.SOURCES[kpi.source].reads
            costs[reads] = costs.get(reads, 0.0) + time.perf_counter() - started


def values(
    session: Session,
    kpi: Kpi,
    wanted: Sequence[P.Period],
    *,
    stored: dict[str, KpiValue] | None = None,
    closed: set[str] | None = None,
    memo: dict | None = None,
    version: LiveVersion | None = None,
    stale_within: float | None = None,
) -> list[PeriodValue]:
    """The value, target and status of each period of ``wanted``: stored values where
    there are (entered, or frozen at close), computed live for the open periods of a
    computed KPI. ``stored``/``closed`` may be given when loaded in bulk; with ``version``
    (``live_version``) live values are reused from ``LIVE_CACHE``, and with
    ``stale_within`` (seconds) one of an older version computed less long ago may be
    (``PeriodValue.stale``)."""
    names = [str(p) for p in wanted]
    if stored is None:
        stored = {
            v.period: v
            for v in session.scalars(
                select(KpiValue)
                .where(KpiValue.kpi_id == kpi.id, KpiValue.period.in_(names))
                .options(selectinload(KpiValue.amendments), selectinload(KpiValue.entered_by))
            )
        }
    if closed is None:
        closed = closed_periods(session, names)
    out = []
    for period in wanted:
        name = str(period)
        row = stored.get(name)
        frozen = bool(row and row.frozen) or name in closed
        stale = False
        if row is not None and (row.frozen or kpi.is_entered):
            value = row.current
        elif kpi.is_entered or frozen:
            value = None
        elif version is not None:
            identity = (version.database, kpi.id, kpi.params_json, kpi.department_id, name)
            value, stale = _live(
                identity,
                version.of(kpi.source),
                lambda period=period: _computed(session, kpi, period, memo),
                stale_within,
            )
        else:
            value = compute(session, kpi, period, memo)
        target, warning = target_for(kpi, period)
        out.append(
            PeriodValue(
                name,
                value,
                target,
                warning,
                status_of(value, target, warning, kpi.direction),
                frozen,
                row.entered_by.username if row is not None and row.entered_by else None,
                bool(row is not None and row.amendments),
                stale,
            )
        )
    return out


def _require_open(session: Session, kpi: Kpi, period: P.Period) -> KpiValue | None:
    row = session.scalar(
        select(KpiValue).where(KpiValue.kpi_id == kpi.id, KpiValue.period == str(period))
    )
    if (row is not None and row.frozen) or is_closed(session, period):
        raise Conflict(
            N_("The period %(period)s is closed: its value is frozen (amend it with a signature)."),
            period=str(period),
        )
    return row


def enter_value(
    session: Session, actor: User, kpi: Kpi, period: str, value, *, field: str = "value"
) -> KpiValue:
    """Enter (or replace) the value of an entered KPI for an open period; a closed one
    is a 409. ``value`` None or empty: no data."""
    if not kpi.is_entered:
        raise ValidationFailed(
            N_("%(code)s is computed from live data: its values cannot be entered."),
            fields={field: N_("invalid")},
            code=kpi.code,
        )
    _require_active(kpi)
    p = P.parse(period, kpi.period_kind)
    number = _number(value, field, required=False)
    row = _require_open(session, kpi, p)
    before = None if row is None else {"value": row.value}
    if row is None:
        row = KpiValue(kpi=kpi, period=str(p))
        session.add(row)
    row.value, row.entered_by, row.entered_at = number, actor, utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        kpi.ref,
        "kpi_value_entered",
        before=before and {**before, "period": str(p)},
        after={"period": str(p), "value": number},
    )
    return row


def import_csv(
    session: Session, actor: User, content: bytes, *, may_enter: Callable[[Kpi], bool]
) -> dict:
    """Import ``code,period,value`` rows (a header line is allowed). Every row is checked
    before anything is written: the first bad one is a 400 naming its line. Answer:
    ``{"rows": n, "created": n, "updated": n}``."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            N_("The file is not UTF-8 text."), fields={"file": N_("invalid")}
        ) from None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed(
            N_("At most %(max)s rows per file."),
            fields={"file": N_("too long")},
            max=MAX_IMPORT_ROWS,
        )
    planned: dict[tuple[int, str], tuple[Kpi, P.Period, float | None, int]] = {}
    kpis: dict[str, Kpi] = {}
    for line, row in enumerate(rows, start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if line == 1 and [c.strip().lower() for c in row[:3]] == ["code", "period", "value"]:
            continue

        def bad(why: str, line=line):
            return ValidationFailed(
                N_("Line %(line)s: %(problem)s"),
                fields={"file": N_("invalid")},
                line=line,
                problem=why,
            )

        if len(row) != 3:
            raise bad(N_("a row has three columns: code, period, value"))
        code = row[0].strip().upper()
        kpi = kpis.get(code)
        if kpi is None:
            kpi = session.scalar(select(Kpi).where(Kpi.code == code)) if code else None
            if kpi is None:
                raise bad(N_("no KPI has this code"))
            kpis[code] = kpi
        if not kpi.is_entered:
            raise bad(N_("the KPI is computed from live data: its values cannot be entered"))
        if not may_enter(kpi):
            raise bad(N_("you may not enter values of this KPI"))
        if not kpi.is_active:
            raise bad(N_("the KPI is inactive"))
        try:
            period = P.parse(row[1], kpi.period_kind)
        except ValidationFailed:
            raise bad(
                N_("the period is not one of this KPI (2026-03 monthly, 2026-Q1 quarterly)")
            ) from None
        try:
            value = _number(row[2], "value", required=False)
        except ValidationFailed:
            raise bad(N_("the value is not a number")) from None
        try:
            _require_open(session, kpi, period)
        except Conflict:
            raise bad(N_("the period is closed: its value is frozen")) from None
        planned[(kpi.id, str(period))] = (kpi, period, value, line)
    if not planned:
        raise ValidationFailed(N_("The file holds no values."), fields={"file": N_("required")})
    existing = {
        (v.kpi_id, v.period): v
        for v in session.scalars(
            select(KpiValue).where(
                KpiValue.kpi_id.in_({k.id for k in kpis.values()}),
                KpiValue.period.in_({key[1] for key in planned}),
            )
        )
    }
    created = updated = 0
    now = utcnow()
    by_kpi: dict[str, list] = {}
    for (kpi_id, name), (kpi, _period, value, _line) in planned.items():
        row = existing.get((kpi_id, name))
        if row is None:
            session.add(
                KpiValue(kpi=kpi, period=name, value=value, entered_by=actor, entered_at=now)
            )
            created += 1
        else:
            row.value, row.entered_by, row.entered_at = value, actor, now
            updated += 1
        by_kpi.setdefault(kpi.code, []).append({"period": name, "value": value})
    session.flush()
    for code, items in by_kpi.items():
        audit.record(
            session,
            actor,
            f"kpi:{code}",
            "kpi_values_imported",
            after={"values": items, "count": len(items)},
        )
    return {"rows": len(planned), "created": created, "updated": updated}


def close_period(
    session: Session, actor: User, period: str, *, today: date | None = None
) -> KpiPeriodClose:
    """Close ``period`` (``2026-03`` or ``2026-Q1``) once it has ended: the computed value
    of every active KPI of its kind is stored, and every value is frozen (an inactive
    KPI's too, as it was given or "no data"; none is computed for it). Closing it again (or
    two closings at once): 409, nothing written."""
    p = P.parse(period)
    today = today or local_today()
    if p.end > today:
        raise ValidationFailed(
            N_("%(period)s has not ended yet: it can be closed from %(date)s."),
            fields={"period": N_("invalid")},
            period=str(p),
            date=p.end.isoformat(),
        )
    if is_closed(session, p):
        raise Conflict(N_("%(period)s is already closed."), period=str(p))
    # one row per period: of two closings at once, the second insert waits for the first
    # and fails on the unique period (the request then rolls back: 409, nothing written).
    # No savepoint: on SQLite a savepoint opened first would be the transaction itself.
    closing = KpiPeriodClose(period=str(p), closed_by=actor)
    session.add(closing)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(N_("%(period)s is already closed."), period=str(p)) from None
    kpis = session.scalars(
        select(Kpi).where(Kpi.period_kind == p.kind).options(selectinload(Kpi.department))
    ).all()
    stored = {
        v.kpi_id: v for v in session.scalars(select(KpiValue).where(KpiValue.period == str(p)))
    }
    now = utcnow()
    frozen = []
    memo: dict = {}
    for kpi in kpis:
        row = stored.get(kpi.id)
        if row is None:
            row = KpiValue(kpi=kpi, period=str(p))
            session.add(row)
        # an inactive KPI is not computed: its value stays as given (none: no data), frozen
        # like every other, so that only a signed amendment changes it once reactivated
        if kpi.is_active and not kpi.is_entered:
            row.value = compute(session, kpi, p, memo)
        row.frozen, row.frozen_at = True, now
        frozen.append({"code": kpi.code, "value": row.value})
    session.flush()
    audit.record(
        session,
        actor,
        f"kpi_period:{p}",
        "kpi_period_closed",
        after={"period": str(p), "values": frozen, "count": len(frozen)},
    )
    return closing


def amend_value(
    session: Session,
    actor: User,
    kpi: Kpi,
    period: str,
    value,
    *,
    reason: str,
    password: str,
) -> KpiAmendment:
    """Amend a frozen value with a reason, signed (password). The frozen value stays; the
    amendment is shown in its place."""
    p = P.parse(period, kpi.period_kind)
    number = _number(value, "value", required=False)
    reason = _text(reason, "reason", N_("Please give the reason for the amendment."))
    row = session.scalar(
        select(KpiValue).where(KpiValue.kpi_id == kpi.id, KpiValue.period == str(p))
    )
    if row is None or not row.frozen:
        raise Conflict(
            N_("%(period)s is open: change the value directly, no amendment is needed."),
            period=str(p),
        )
    previous = row.current
    content = json.dumps(
        {
            "kpi": kpi.code,
            "period": str(p),
            "previous": previous,
            "value": number,
            "reason": reason,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    sig = sign(
        session, actor, password, meaning="kpi_value_amended", object_ref=kpi.ref, content=content
    )
    amendment = KpiAmendment(
        kpi_value=row, value=number, reason=reason, user=actor, signature_id=sig.id
    )
    session.add(amendment)
    session.flush()
    audit.record(
        session,
        actor,
        kpi.ref,
        "kpi_value_amended",
        before={"period": str(p), "value": previous},
        after={"period": str(p), "value": number},
        reason=reason,
    )
    return amendment


# Below target for N periods ------------------------------------------------------------


def breach_run(session: Session, kpi: Kpi, last: P.Period) -> list[PeriodValue] | None:
    """The KPI's last ``breach_periods`` periods up to ``last`` when every one of them is
    below target (amber or red); None otherwise (a period without data breaks the run)."""
    run = values(session, kpi, P.last_n(last, kpi.breach_periods))
    if all(v.status in ("amber", "red") for v in run):
        return run
    return None


def raise_breach_nc(
    session: Session, actor: User, kpi: Kpi, last: P.Period, *, today: date | None = None
) -> KpiBreach:
    """Open an NC (source ``kpi``) for a run of periods below target ending at ``last``,
    linked both ways (the NC to ``kpi:CODE``, the breach to the NC). 409 when this run
    has its NC already, 400 when the KPI is not below target for the whole run
    (409 when the KPI is inactive)."""
    _require_active(kpi)
    run = breach_run(session, kpi, last)
    if run is None:
        raise ValidationFailed(
            N_("%(code)s is not below target for %(n)s periods up to %(period)s."),
            code=kpi.code,
            n=kpi.breach_periods,
            period=str(last),
        )
    if session.scalar(
        select(KpiBreach.id).where(KpiBreach.kpi_id == kpi.id, KpiBreach.period == str(last))
    ):
        raise Conflict(N_("A nonconformity was already raised for this run."))
    department = kpi.department or (kpi.objective.department if kpi.objective else None)
    if department is None:
        department = actor.department
    if department is None:
        raise ValidationFailed(
            N_("The KPI has no department to raise the nonconformity in."),
            fields={"department": N_("required")},
        )
    figures = ", ".join(f"{v.period} {v.value:g}{kpi.unit}" for v in run if v.value is not None)
    nc = capa.report(
        session,
        actor,
        description=f"[{kpi.code}] {kpi.name}: {figures}",
        department=department,
        severity="minor",
        source="kpi",
        today=today,
    )
    session.add(NcLink(nc=nc, object_ref=kpi.ref, created_by_id=actor.id))
    breach = KpiBreach(kpi=kpi, period=str(last), periods=len(run), nc=nc)
    session.add(breach)
    try:  # one NC per run: the unique (KPI, period) decides between parallel requests
        session.flush()
    except IntegrityError:
        raise Conflict(N_("A nonconformity was already raised for this run.")) from None
    audit.record(session, actor, nc.ref, "nc_linked", after={"link": kpi.ref})
    audit.record(
        session,
        actor,
        kpi.ref,
        "kpi_breach_nc",
        after={"period": str(last), "nonconformity": nc.number},
    )
    return breach


def breaches_for(session: Session, kpi: Kpi) -> list[KpiBreach]:
    return list(
        session.scalars(
            select(KpiBreach)
            .where(KpiBreach.kpi_id == kpi.id)
            .options(selectinload(KpiBreach.nc))
            .order_by(KpiBreach.period.desc())
        )
    )


def kpis_stmt(department: Department | None = None, *, include_inactive: bool = True):
    stmt = select(Kpi).options(
        selectinload(Kpi.targets), selectinload(Kpi.department), selectinload(Kpi.objective)
    )
    if department is not None:
        stmt = stmt.where(Kpi.department_id == department.id)
    if not include_inactive:
        stmt = stmt.where(Kpi.is_active.is_(True))
    return stmt.order_by(Kpi.code)
