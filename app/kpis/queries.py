"""Read-only questions other features ask of the KPIs: the management review (and the
dashboard) read them through these functions and draw the charts with ``kpi_trend``, the
same chart as the KPI dashboard and the KPI report's PDF.

``KpiSummary`` and ``KpiPeriodValue`` are plain frozen data (names in the current
locale); nothing here writes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from flask import current_app, has_request_context
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import charts
from app.extensions import db
from app.i18n import current_language
from app.kpis import periods as P
from app.kpis import services
from app.kpis import sources as S
from app.kpis.models import Kpi, KpiValue
from app.people.models import Department

TREND_PERIODS = 12


@dataclass(frozen=True)
class KpiPeriodValue:
    period: str  # 2026-03 or 2026-Q1
    value: float | None  # None: no data
    target: float | None
    warning: float | None
    status: str  # green | amber | red | none
    frozen: bool


@dataclass(frozen=True)
class KpiSummary:
    code: str
    name: str  # in the current locale
    unit: str
    direction: str  # higher | lower
    department: str | None  # department code; None: the organisation
    objective: str | None  # the objective's title
    values: tuple[KpiPeriodValue, ...]  # the last 12 periods up to ``end``, oldest first
    stale: bool = False  # live values computed before the latest change (being refreshed)

    @property
    def latest(self) -> KpiPeriodValue | None:
        """The latest period with a value (None when no period has one)."""
        return next((v for v in reversed(self.values) if v.value is not None), None)

    @property
    def status(self) -> str:
        latest = self.latest
        return latest.status if latest else "none"


def _kpis_stmt(department: str | None):
    stmt = (
        select(Kpi)
        .where(Kpi.is_active.is_(True))
        .options(
            selectinload(Kpi.targets),
            selectinload(Kpi.department),
            selectinload(Kpi.objective),
        )
        .order_by(Kpi.code)
    )
    if department is not None:
        stmt = stmt.join(Department, Department.id == Kpi.department_id).where(
            Department.code == department.strip().upper()
        )
    return stmt


def summaries_of(
    session: Session,
    kpis: list[Kpi],
    end: date,
    *,
    n: int = TREND_PERIODS,
    cache: bool = True,
    stale_ok: bool = False,
) -> list[KpiSummary]:
    """The summaries of ``kpis``: their last ``n`` periods up to the one holding ``end``.
    Live values are reused while nothing they read is recorded (``cache``;
    QDMS_KPI_LIVE_CACHE_SECONDS at most). With ``stale_ok`` (the dashboard), when computing
    the changed ones took longer than QDMS_KPI_INLINE_MS the last time, the values computed
    before are shown (``KpiSummary.stale``) and the new ones computed in the background."""
    # outside a request (a command compiling a review), names are the organisation's: Chinese
    language = current_language() if has_request_context() else "zh_CN"
    wanted = {kind: P.last_n(P.containing(end, kind), n) for kind in {k.period_kind for k in kpis}}
    names = {str(p) for ps in wanted.values() for p in ps}
    stored: dict[int, dict[str, KpiValue]] = {}
    if kpis and names:
        for v in session.scalars(
            select(KpiValue)
            .where(KpiValue.kpi_id.in_([k.id for k in kpis]), KpiValue.period.in_(names))
            .options(selectinload(KpiValue.amendments), selectinload(KpiValue.entered_by))
        ):
            stored.setdefault(v.kpi_id, {})[v.period] = v
    closed = services.closed_periods(session, names)
    memo: dict = {}  # the complaint figures of a period, read once for all its KPIs
    seconds = current_app.config["QDMS_KPI_LIVE_CACHE_SECONDS"] if cache else 0
    version = services.live_version(session, seconds) if kpis else None
    budget = current_app.config["QDMS_KPI_INLINE_MS"] / 1000

    def stale_within(kpi: Kpi) -> float | None:
        if not stale_ok or version is None or kpi.is_entered:
            return None
        cost = _COST.get((version.database, S.SOURCES[kpi.source].reads), 0.0)
        # values of before up to two cache periods old: a time bucket turning over on a
        # quiet dashboard is recomputed behind it too
        return 2 * seconds if cost > budget else None

    out = []
    for kpi in kpis:
        rows = services.values(
            session,
            kpi,
            wanted[kpi.period_kind],
            stored=stored.get(kpi.id, {}),
            closed=closed,
            memo=memo,
            version=version,
            stale_within=stale_within(kpi),
        )
        out.append(
            KpiSummary(
                code=kpi.code,
                name=kpi.name_in(language),
                unit=kpi.unit,
                direction=kpi.direction,
                department=kpi.department.code if kpi.department else None,
                objective=kpi.objective.title if kpi.objective else None,
                values=tuple(
                    KpiPeriodValue(r.period, r.value, r.target, r.warning, r.status, r.frozen)
                    for r in rows
                ),
                stale=any(r.stale for r in rows),
            )
        )
    if version is not None:
        for reads, cost in memo.get("cost", {}).items():
            _COST[version.database, reads] = cost
    if any(s.stale for s in out):
        _refresh_later(current_app._get_current_object(), [k.id for k in kpis], end, n)
    return out


# How long computing the live values of the KPIs that read the same kinds of records took
# the last time, by database and kinds (seconds; a complaint changes the complaint KPIs
# together, and their cost is mostly the period's figures they share), and the background
# recomputations under way (one per database at a time).
_COST: dict[tuple[str, tuple[str, ...]], float] = {}
_REFRESHING: dict[str, threading.Thread] = {}
_REFRESH_LOCK = threading.Lock()


def _refresh_later(app, ids: list[int], end: date, n: int) -> None:
    database = str(db.engine.url)
    with _REFRESH_LOCK:
        if database in _REFRESHING:
            return

        def run():
            try:
                with app.app_context():
                    try:
                        kpis = list(db.session.scalars(select(Kpi).where(Kpi.id.in_(ids))))
                        summaries_of(db.session, kpis, end, n=n)
                    except Exception:  # a thread has nobody to answer: the log says it
                        app.logger.exception("recomputing the KPIs' live values failed")
                    finally:
                        db.session.remove()
            finally:
                with _REFRESH_LOCK:
                    _REFRESHING.pop(database, None)

        thread = threading.Thread(target=run, name="qdms-kpi-refresh", daemon=True)
        _REFRESHING[database] = thread
    thread.start()


def wait_for_refresh(timeout: float = 60.0) -> None:
    """Wait for the background recomputations under way (tests, benchmarks)."""
    with _REFRESH_LOCK:
        threads = list(_REFRESHING.values())
    for thread in threads:
        thread.join(timeout)


def kpi_summaries(
    session: Session, start: date, end: date, *, department: str | None = None
) -> list[KpiSummary]:
    """Every active KPI (of ``department`` when given, else all of them: the
    organisation's and every department's), each with its last 12 periods up to the
    period holding ``end``. ``start`` is the reporting period's first day: a KPI defined
    for nothing after it is still listed (its values say "no data")."""
    del start  # the trend is always the last 12 periods; the caller's period is the end
    kpis = list(session.scalars(_kpis_stmt(department)))
    return summaries_of(session, kpis, end)


def format_value(value: float | None, unit: str = "") -> str:
    """A value as shown: ``92.5%``, ``3``; "no data" in the reader's language for None."""
    if value is None:
        return gettext("No data")
    return f"{value:,.2f}".rstrip("0").rstrip(".") + unit


def kpi_trend(summary: KpiSummary, *, width: int = 640, height: int = 280) -> Markup:
    """The KPI's trend chart (SVG): its values over the periods, with the target and
    warning lines; periods without data are gaps. The dashboard, the KPI report's PDF and
    the management review draw it with this one function."""
    labels = [v.period for v in summary.values]
    has_target = any(v.target is not None for v in summary.values)
    has_warning = any(v.warning is not None for v in summary.values)
    return charts.trend(
        f"{summary.code} {summary.name}",
        labels,
        [(gettext("Value"), [v.value for v in summary.values])],
        target=(gettext("Target"), [v.target for v in summary.values]) if has_target else None,
        warning=(gettext("Warning"), [v.warning for v in summary.values]) if has_warning else None,
        no_data=gettext("No data"),
        unit=summary.unit,
        width=width,
        height=height,
    )
