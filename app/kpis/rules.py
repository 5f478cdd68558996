"""The NC effectiveness rule "KPI K at or above T over the window" (``kpi_threshold``).

capa sits below the KPIs and must not import them, so it keeps a registration point
(``app.capa.rules.provide_kind``); ``install`` supplies this kind there when the app starts.
"Above" means better: at or below the threshold for a KPI where lower is better.
"""

from __future__ import annotations

import math

from sqlalchemy import select

from app.capa import rules as capa_rules
from app.errors import N_
from app.kpis import periods as P
from app.kpis import services
from app.kpis.models import Kpi

LABEL = N_("KPI at or better than a threshold over the window")


def _validate(session, raw: dict) -> dict:
    days = capa_rules._days(raw)
    code = str(raw.get("kpi") or "").strip().upper()
    if not code or session.scalar(select(Kpi.id).where(Kpi.code == code)) is None:
        raise capa_rules._bad("kpi", N_("No KPI with code %(code)s."), code=code or "—")
    threshold = raw.get("threshold")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
    ):
        raise capa_rules._bad("threshold", N_("Give the threshold the KPI must reach."))
    return {"kind": "kpi_threshold", "days": days, "kpi": code, "threshold": float(threshold)}


def _evaluate(session, nc, params, window_from, today):
    kpi = session.scalar(select(Kpi).where(Kpi.code == params["kpi"]))
    if kpi is None:
        return "unavailable", []
    wanted = P.between(
        P.containing(window_from, kpi.period_kind), P.containing(today, kpi.period_kind)
    )
    rows = [v for v in services.values(session, kpi, wanted) if v.value is not None]
    if not rows:
        return "unavailable", []
    threshold = params["threshold"]
    ok = (lambda v: v >= threshold) if kpi.direction == "higher" else (lambda v: v <= threshold)
    evidence = [
        {"kind": "kpi", "number": kpi.code, "on": v.period, "text": f"{v.value:g}{kpi.unit}"}
        for v in rows
        if not ok(v.value)
    ]
    return ("not_met" if evidence else "met"), evidence


def install() -> None:
    """Supply the ``kpi_threshold`` rule kind to capa (called by the app factory)."""
    capa_rules.provide_kind("kpi_threshold", capa_rules.RuleKind(LABEL, True, _validate, _evaluate))
