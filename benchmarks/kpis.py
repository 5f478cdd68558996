"""Quality objectives and KPIs at scale: computing a month, and the KPI dashboard.

Issue 23, acceptance point 4: "benchmarks/kpis.py: 40 KPIs × 60 periods: computing all
KPIs of one month under 2 s (with a large complaint table), the KPI dashboard under
300 ms; figures in docs/PERFORMANCE.md."

Instance. A throw-away qdms instance (``Instance`` of ``documents.py``: temporary instance
dir, docs store and database — SQLite, or a new PostgreSQL database created and dropped
with ``--database-url``), migrated with the real migrations.

Data. The people and the complaint cases of ``complaints.py`` (its ``seed``: ten
departments, five categories with their clocks, ``--cases`` cases over five years with
their clocks, in bulk). Then 40 KPIs through ``app.kpis.services.create_kpi`` with their
targets for the six years: 22 computed — complaint first-contact resolution, commitment
fulfilment (overall and per commitment), follow-up satisfaction and complaints received,
for the organisation, for CS and OM and per category; NC closure time, overdue corrective
actions, acknowledgement completion, overdue periodic reviews and audit programme
completion — and 18 entered, 30 monthly and 10 quarterly. 60 months (20 quarters) of
history before the current one are closed: their values (entered, or the frozen value of
the computed ones: stand-ins, the figures are not recomputed for the history) and the
closed periods are bulk-inserted. The current month (and quarter) is open: its computed
values are live.

Measuring. (1) "Computing all KPIs of one month": ``services.close_period`` of the last
ended month (every monthly KPI computed from live data and frozen), in a transaction rolled
back, ``--requests`` times: wall time; and the live values of the current month for all 40
KPIs (``queries.summaries_of`` with one period). (2) The dashboard ``GET /kpis`` as the
officer (40 KPIs, 12 periods each, a trend chart each), through ``app.test_client()``: the
first request (charts drawn, live values computed), then p50/p95/max of the next ones
(charts from the SVG cache; live values reused while nothing they read changed); the same
with an NC recorded before each request (the complaint KPIs' values stay valid; the NC
KPIs are recomputed), with a complaint taken before each (the complaint KPIs' values
change: recomputed while the page answers, or — when that took longer than
QDMS_KPI_INLINE_MS — the values of before shown and recomputed in the background, whose
time is printed too), and with the live-value cache emptied before each (every computed
KPI recomputed while the page answers). Exit 1 when a target is missed.

    .venv/bin/python benchmarks/kpis.py --cases 1000000
    .venv/bin/python benchmarks/kpis.py --cases 100000 --database-url \\
        postgresql://postgres@127.0.0.1:5432/qdms_bench_kpis
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import complaints as complaint_bench  # noqa: E402
from benchmarks.documents import Instance, QueryCounter, _login, _machine  # noqa: E402

CLOSE_TARGET_S = 2.0
DASHBOARD_TARGET_MS = 300
MONTHS = 60
QUARTERS = 20

COMPUTED = [
    # (code, source, department, params, unit, direction, period)
    ("CMP-FCR", "complaint_first_contact_resolution", None, {}, "%", "higher", "month"),
    ("CMP-FCR-CS", "complaint_first_contact_resolution", "CS", {}, "%", "higher", "month"),
    ("CMP-FCR-OM", "complaint_first_contact_resolution", "OM", {}, "%", "higher", "month"),
    ("CMP-CF", "complaint_commitment_fulfilment", None, {}, "%", "higher", "month"),
    ("CMP-CF-CS", "complaint_commitment_fulfilment", "CS", {}, "%", "higher", "month"),
    (
        "CMP-CF-APO",
        "complaint_commitment_fulfilment",
        None,
        {"step": "apology"},
        "%",
        "higher",
        "month",
    ),
    (
        "CMP-CF-RES",
        "complaint_commitment_fulfilment",
        None,
        {"step": "restoration"},
        "%",
        "higher",
        "month",
    ),
    (
        "CMP-CF-FUP",
        "complaint_commitment_fulfilment",
        None,
        {"step": "follow_up"},
        "%",
        "higher",
        "month",
    ),
    ("CMP-SAT", "complaint_satisfaction", None, {}, "", "higher", "month"),
    ("CMP-SAT-CS", "complaint_satisfaction", "CS", {}, "", "higher", "month"),
    ("CMP-N", "complaint_count", None, {}, "", "lower", "month"),
    ("CMP-N-SVC", "complaint_count", None, {"category": "SVC"}, "", "lower", "month"),
    ("CMP-N-FAULT", "complaint_count", None, {"category": "FAULT"}, "", "lower", "month"),
    ("CMP-N-BILL", "complaint_count", None, {"category": "BILL"}, "", "lower", "month"),
    ("CMP-N-WAIT", "complaint_count", None, {"category": "WAIT"}, "", "lower", "month"),
    ("CMP-N-ENV", "complaint_count", None, {"category": "ENV"}, "", "lower", "month"),
    ("NC-DAYS", "nc_closure_days", None, {}, "d", "lower", "month"),
    ("CAPA-OVERDUE", "capa_overdue_actions", None, {}, "", "lower", "month"),
    ("ACK", "acknowledgement_completion", None, {}, "%", "higher", "month"),
    ("DOC-REVIEW", "documents_overdue_reviews", None, {}, "", "lower", "month"),
    ("AUDIT", "audit_programme_completion", None, {}, "%", "higher", "quarter"),
    ("CMP-FCR-Q", "complaint_first_contact_resolution", None, {}, "%", "higher", "quarter"),
]
ENTERED_MONTHLY = 10
ENTERED_QUARTERLY = 8


def seed_kpis(rng: random.Random) -> dict:
    """The 40 KPIs, their targets, 60 months / 20 quarters of closed history."""
    from sqlalchemy import insert, select

    from app.extensions import db, local_today, utcnow
    from app.kpis import periods as P
    from app.kpis import services
    from app.kpis.models import Kpi, KpiPeriodClose, KpiValue
    from app.people.models import Department, User

    officer = db.session.scalar(select(User).where(User.username == "officer"))
    depts = {d.code: d for d in db.session.scalars(select(Department))}
    today = local_today()
    years = range(today.year - 6, today.year + 1)
    specs = list(COMPUTED)
    specs += [
        (f"ENT-M{i:02d}", "entered", rng.choice(list(depts)), {}, "%", "higher", "month")
        for i in range(ENTERED_MONTHLY)
    ]
    specs += [
        (f"ENT-Q{i:02d}", "entered", rng.choice(list(depts)), {}, "%", "higher", "quarter")
        for i in range(ENTERED_QUARTERLY)
    ]
    for code, source, dept, params, unit, direction, kind in specs:
        services.create_kpi(
            db.session,
            officer,
            code=code,
            name=f"指标 {code}",
            unit=unit,
            direction=direction,
            period_kind=kind,
            source=source,
            params=params or None,
            department=depts.get(dept) if dept else None,
            targets=[{"period": str(y), "target": 90, "warning": 80} for y in years],
        )
    db.session.commit()
    kpis = db.session.scalars(select(Kpi)).all()
    history = {
        "month": P.last_n(P.containing(today, "month").previous(), MONTHS),
        "quarter": P.last_n(P.containing(today, "quarter").previous(), QUARTERS),
    }
    now = utcnow()
    rows = [
        {
            "kpi_id": k.id,
            "period": str(p),
            "value": round(rng.uniform(70, 100), 2),
            "frozen": True,
            "entered_by_id": officer.id if k.is_entered else None,
            "entered_at": now if k.is_entered else None,
            "frozen_at": now,
        }
        for k in kpis
        for p in history[k.period_kind][:-1]  # the last ended period stays open: closed below
    ]
    # the last ended month's entered values (open: closing it is what is measured)
    rows += [
        {
            "kpi_id": k.id,
            "period": str(history["month"][-1]),
            "value": 91.5,
            "frozen": False,
            "entered_by_id": officer.id,
            "entered_at": now,
            "frozen_at": None,
        }
        for k in kpis
        if k.is_entered and k.period_kind == "month"
    ]
    db.session.execute(insert(KpiValue), rows)
    closes = [str(p) for kind in history for p in history[kind][:-1]]
    db.session.execute(
        insert(KpiPeriodClose),
        [{"period": p, "closed_by_id": officer.id, "closed_at": now} for p in closes],
    )
    db.session.commit()
    return {"kpis": len(kpis), "values": len(rows), "last_month": str(history["month"][-1])}


def _stats(values: list[float]) -> tuple[float, float, float]:
    return complaint_bench._ms(values)


def run(app, args, seeded) -> list[dict]:
    from sqlalchemy import select

    from app.capa import services as capa
    from app.complaints import services as complaints
    from app.complaints.models import ComplaintCategory
    from app.extensions import db, local_today
    from app.kpis import queries, services
    from app.kpis.models import Kpi
    from app.people.models import Department, User

    counter = QueryCounter(db.engine)
    results = []
    officer_id = db.session.scalar(select(User.id).where(User.username == "officer"))

    times, sql = [], []
    for _ in range(args.requests):
        db.session.rollback()
        officer = db.session.get(User, officer_id)
        counter.count = 0
        t = time.perf_counter()
        services.close_period(db.session, officer, seeded["last_month"])
        db.session.flush()
        times.append(time.perf_counter() - t)
        sql.append(counter.count)
        db.session.rollback()
    p50, p95, worst = _stats(times)
    results.append(
        {
            "name": f"close {seeded['last_month']} (all monthly KPIs computed)",
            "unit": "s",
            "p50": p50,
            "p95": p95,
            "max": worst,
            "sql": max(sql),
            "target": CLOSE_TARGET_S,
        }
    )

    kpis = db.session.scalars(select(Kpi)).all()
    times, sql = [], []
    with app.test_request_context():
        for _ in range(args.requests):
            counter.count = 0
            t = time.perf_counter()
            queries.summaries_of(db.session, kpis, local_today(), n=1, cache=False)
            times.append(time.perf_counter() - t)
            sql.append(counter.count)
    p50, p95, worst = _stats(times)
    results.append(
        {
            "name": "current period of all 40 KPIs, live",
            "unit": "s",
            "p50": p50,
            "p95": p95,
            "max": worst,
            "sql": max(sql),
            "target": CLOSE_TARGET_S,
        }
    )

    client = _login(app, "officer")
    counter.count = 0
    t = time.perf_counter()
    first = client.get("/kpis")
    first_ms = (time.perf_counter() - t) * 1000
    assert first.status_code == 200, first.status_code
    assert first.get_data(as_text=True).count("data:image/svg+xml") >= 40
    results.append(
        {
            "name": "dashboard /kpis, first request",
            "unit": "ms",
            "p50": first_ms,
            "p95": first_ms,
            "max": first_ms,
            "sql": counter.count,
            "target": None,
        }
    )

    def nc():  # an NC recorded: the complaint KPIs' live values stay valid
        capa.report(db.session, officer(), description="窗口排队过长", department=dept())
        db.session.commit()

    def complaint():  # a complaint taken: the complaint KPIs are recomputed
        complaints.intake(
            db.session,
            officer(),
            category=category,
            customer_name="王芳",
            department=dept(),
            request="退还多收的费用",
        )
        db.session.commit()

    def officer():
        return db.session.get(User, officer_id)

    def dept():
        return db.session.scalar(select(Department).where(Department.code == "CS"))

    category = db.session.scalar(select(ComplaintCategory.code).order_by(ComplaintCategory.id))
    refresh_times = []
    for name, before in (
        ("dashboard /kpis", None),
        ("dashboard /kpis after an NC is recorded", nc),
        ("dashboard /kpis after a complaint is taken", complaint),
        ("dashboard /kpis, cold: live values emptied", services.LIVE_CACHE.clear),
    ):
        times, sql = [], []
        for _ in range(args.requests):
            if before:
                before()
            counter.count = 0
            t = time.perf_counter()
            r = client.get("/kpis")
            times.append((time.perf_counter() - t) * 1000)
            sql.append(counter.count)
            assert r.status_code == 200
            # the values recomputed behind the page (a large organisation): how long until
            # the next look shows them
            t = time.perf_counter()
            queries.wait_for_refresh()
            if 'id="kpi-refreshing"' in r.get_data(as_text=True):
                refresh_times.append(time.perf_counter() - t)
        p50, p95, worst = _stats(times)
        results.append(
            {
                "name": name,
                "unit": "ms",
                "p50": p50,
                "p95": p95,
                "max": worst,
                "sql": max(sql),
                # cold (a process's first look, nothing kept): every computed KPI computed
                # while the page answers, reported as the first request is
                "target": None if name.endswith("emptied") else DASHBOARD_TARGET_MS,
            }
        )
    if refresh_times:
        p50, p95, worst = _stats(refresh_times)
        results.append(
            {
                "name": f"recomputed in the background ({len(refresh_times)}x)",
                "unit": "s",
                "p50": p50,
                "p95": p95,
                "max": worst,
                "sql": 0,
                "target": None,
            }
        )
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from app import create_app

    instance = Instance(args.database_url, args.keep)
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        with app.app_context():
            upgrade()
            print(f"seeding {args.cases:,} cases on {instance.backend} …", file=sys.stderr)
            t = time.perf_counter()
            complaint_bench.seed(args, app)
            seeded = seed_kpis(random.Random(args.seed))
            load_s = time.perf_counter() - t
            rows = run(app, args, seeded)
    finally:
        instance.close()
    load = os.getloadavg()
    print(
        f"KPI benchmark: {seeded['kpis']} KPIs, {MONTHS} months / {QUARTERS} quarters, "
        f"{seeded['values']:,} stored values, {args.cases:,} complaint cases, {instance.backend}"
    )
    print(f"machine: {_machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; bulk load {load_s:.0f} s")
    print(f"{'scenario':48} {'p50':>9} {'p95':>9} {'max':>9} {'SQL':>5}  target")
    ok = True
    for r in rows:
        unit = r["unit"]

        def fmt(v, unit=unit):
            return f"{v:8.1f}ms" if unit == "ms" else f"{v:8.3f}s "

        verdict = ""
        if r["target"] is not None:
            met = r["p95"] < r["target"]
            ok = ok and met
            verdict = f"p95 < {r['target']} {r['unit']} {'met' if met else 'MISSED'}"
        print(
            f"{r['name']:48} {fmt(r['p50'])} {fmt(r['p95'])} {fmt(r['max'])} {r['sql']:5d}  "
            f"{verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
