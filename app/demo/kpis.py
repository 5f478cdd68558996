"""The demo quality objectives and KPIs (data/kpis.toml).

Everything goes through ``app.kpis.services`` as the officer would do it on the KPI
pages: the objectives of the current year, the KPIs with their year's targets, the
entered values of the last periods (ending with the previous one), the older periods
closed (their computed values frozen from the demo's live data), and the NC raised for a
KPI below target three months in a row. Idempotent: a KPI is looked up by its code.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.extensions import local_today
from app.kpis import periods as P
from app.kpis import services
from app.kpis.models import Kpi, KpiPeriodClose
from app.people.models import Department, User
from app.records import queries as records


def seed(session: Session, *, today: date | None = None) -> list[str]:
    """Add whatever of the demo objectives and KPIs is missing; return what was added.
    Needs the demo organisation; without it nothing is added."""
    today = today or local_today()
    officer = session.scalar(select(User).where(User.username == "officer"))
    if officer is None:
        return []
    data = loader.kpis()
    depts = {d.code: d for d in session.scalars(select(Department))}
    added: list[str] = []
    if session.scalar(select(Kpi.id).limit(1)) is not None:
        return added
    kpis: dict[str, list[str]] = {}
    years = {today.year - 1, today.year}
    for entry in data["kpi"]:
        record_type = (entry.get("params") or {}).get("record_type")
        if record_type and not records.number_fields(session, record_type):
            continue  # the survey records are not seeded (the records demo skipped)
        kpi = services.create_kpi(
            session,
            officer,
            code=entry["code"],
            name=entry["name"],
            name_en=entry.get("name_en"),
            unit=entry.get("unit", ""),
            direction=entry["direction"],
            period_kind=entry["period"],
            source=entry["source"],
            params=entry.get("params"),
            department=depts.get(entry.get("department", "")),
            breach_periods=entry.get("breach_periods", 3),
            targets=[
                {"period": str(y), "target": entry["target"], "warning": entry.get("warning")}
                for y in sorted(years)
            ],
        )
        kpis.setdefault(entry["objective"], []).append(kpi.code)
        last = P.containing(today, kpi.period_kind).previous()
        values = entry.get("values", [])
        for period, value in zip(P.last_n(last, len(values)), values, strict=True):
            services.enter_value(session, officer, kpi, str(period), value)
        added.append(f"KPI {kpi.code}")
    for entry in data["objective"]:
        services.create_objective(
            session,
            officer,
            year=today.year,
            department=depts.get(entry.get("department", "")),
            title=entry["title"],
            plan={k: entry[k] for k in services.PLAN_FIELDS},
            kpis=kpis.get(entry["key"], []),
        )
        added.append(f"objective {entry['title']}")
    # the older periods are closed: their values frozen
    keep_open = data.get("closed_after", 2)
    for kind, n in (("month", 14), ("quarter", 6)):
        last_closed = P.containing(today, kind)
        for _ in range(keep_open + 1):
            last_closed = last_closed.previous()
        for period in P.last_n(last_closed, n - keep_open):
            exists = session.scalar(
                select(KpiPeriodClose.id).where(KpiPeriodClose.period == str(period))
            )
            if exists is None:
                services.close_period(session, officer, str(period), today=today)
    for entry in data["kpi"]:
        if entry.get("raise_nc"):
            kpi = services.get_kpi(session, entry["code"])
            last = P.containing(today, kpi.period_kind).previous()
            breach = services.raise_breach_nc(session, officer, kpi, last, today=today)
            added.append(f"NC {breach.nc.number} for {kpi.code}")
    return added
