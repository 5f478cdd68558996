"""Customer complaints at scale: the filtered case list and quick intake.

Issue 23: "benchmarks/complaints.py: 1,000,000 complaint cases over 5 years: the case list
filtered p95 under 100 ms server time, case intake (POST) p95 under 50 ms; figures in
docs/PERFORMANCE.md."

Instance. A throw-away qdms instance (``Instance`` of ``documents.py``: temporary instance
dir, docs store and database — SQLite, or a new PostgreSQL database created and dropped
with ``--database-url``), migrated with the real migrations.

Data. The ten departments of ``documents.py`` with their heads and staff, through the people
services; five complaint categories with their commitment clocks through the complaint
services (the sizes of the demo's: apology 1–4 h, restoration 4–72 h, follow-up 7 days
for three of them). Then, with bulk ``insert()`` in batches (SQLAlchemy Core), ``--cases``
cases (1,000,000) received over the five years before today, a little more each year,
numbered ``CMP-{yyyy}-{seq:05}`` in time order with their ``number_sequence`` rows; spread
over the departments by size (CS and OM the large ones), the six channels and the
categories; each with its clocks (about 2.6 per case) done within or after their due time
(12 % of the clocks late), so 20 % of the cases are breached; 85 % closed, the rest open
in every status (the recent ones most), 8 % repeats, satisfaction on most followed-up cases.
Not written, on purpose: the steps' rows and audit events (nothing measured reads them).
PostgreSQL gets ``VACUUM ANALYZE`` after the load, as autovacuum soon would.

Measuring. Through ``app.test_client()``, one request at a time, with bearer tokens: the
list ``GET /api/v1/complaints`` (page 1, 50 per page, with the total) filtered four ways,
a random value each request — status and department; category and one month received;
channel and department; breached and department — and the page ``/complaints`` filtered
by status and department, as the officer; ``POST /api/v1/complaints`` (intake: number,
clocks, repeat check) as a member of CS. Each scenario: p50/p95/max server time, the CPU
time of the process per request (``time.process_time``: on SQLite the whole request with
the database, on PostgreSQL without the server's backend; on a shared machine it shows the
request's own cost when the wall time is inflated by the load) and SQL statements per
request. Exit 1 when a target is missed.

    .venv/bin/python benchmarks/complaints.py --cases 100000
    .venv/bin/python benchmarks/complaints.py --database-url postgresql://postgres@127.0.0.1:5432/qdms_bench_complaints
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import (  # noqa: E402
    BATCH,
    DEPARTMENTS,
    SURNAMES,
    Instance,
    QueryCounter,
    _login,
    _machine,
    _seed_people,
)

LIST_TARGET_MS = 100
INTAKE_TARGET_MS = 50
YEARS = 5
GROWTH = 1.15
CHANNELS = {
    "hotline": 40,
    "counter": 20,
    "online": 15,
    "letter": 5,
    "gov_hotline": 12,
    "on_site": 8,
}
CATEGORIES = [
    ("SVC", "服务态度", {"apology": 1, "restoration": 24, "follow_up": 168}),
    ("FAULT", "设备故障", {"apology": 1, "restoration": 24, "follow_up": 168}),
    ("BILL", "收费争议", {"apology": 2, "restoration": 72, "follow_up": 168}),
    ("WAIT", "排队等候", {"apology": 1, "restoration": 4}),
    ("ENV", "环境设施", {"apology": 4, "restoration": 48}),
]
SITES = ["人民路营业厅", "东街营业厅", "西湖营业厅", "滨江营业厅", "城北服务站", "城南服务站"]
REQUESTS = [
    "窗口人员态度生硬，要求道歉",
    "报修后未按约定时间上门",
    "账单重复收费，要求退还",
    "营业厅排队超过一小时",
    "电梯停运无人响应",
    "热线长时间无人接听",
]
OPEN = ["received", "acknowledged", "restoring", "resolved", "followed_up", "escalated"]


def _weighted(rng, table: dict):
    return rng.choices(list(table), weights=list(table.values()))[0]


def seed(args, app) -> dict:
    """People, categories, then the cases and their clocks in bulk; returns what the
    measuring needs."""
    from sqlalchemy import insert, select, text

    from app.complaints import services
    from app.complaints.models import Complaint, ComplaintCategory, ComplaintClock
    from app.extensions import db, local_zone
    from app.people.models import Department, User
    from app.sequences import NumberSequence

    rng = random.Random(args.seed)
    people = _seed_people(db.session)
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    for code, name, clocks in CATEGORIES:
        services.save_category(
            db.session,
            officer,
            code=code,
            name=name,
            name_en=code,
            clocks=[{"step": s, "within_hours": h} for s, h in clocks.items()],
        )
    db.session.commit()
    cats = {c.code: c.id for c in db.session.scalars(select(ComplaintCategory))}
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    heads = {code: people[f"head:{code}"][0].id for code, _, _ in DEPARTMENTS}
    staff = {code: [p.id for p in people[f"staff:{code}"]] for code, _, _ in DEPARTMENTS}
    share = {code: w for code, _, w in DEPARTMENTS}
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * YEARS)
    span = (now - start).total_seconds()
    # received times, a little more each year, sorted: ids follow time
    weights = [GROWTH**y for y in range(YEARS)]
    moments = []
    for _ in range(args.cases):
        year = rng.choices(range(YEARS), weights=weights)[0]
        moments.append(start + timedelta(seconds=span * (year + rng.random()) / YEARS))
    moments.sort()
    seqs: dict[int, int] = {}
    cases, clocks = [], []
    inserted = 0
    t0 = time.perf_counter()
    zone = local_zone()
    next_id = 1

    def flush():
        nonlocal cases, clocks
        with db.engine.begin() as conn:
            for i in range(0, len(cases), BATCH):
                conn.execute(insert(Complaint), cases[i : i + BATCH])
            for i in range(0, len(clocks), BATCH):
                conn.execute(insert(ComplaintClock), clocks[i : i + BATCH])
        cases, clocks = [], []

    for received in moments:
        year = received.astimezone(zone).year
        seqs[year] = seqs.get(year, 0) + 1
        dept = _weighted(rng, share)
        code, _, cat_clocks = CATEGORIES[rng.randrange(len(CATEGORIES))]
        age_days = (now - received).days
        status = "closed" if age_days > 30 or rng.random() < 0.6 else rng.choice(OPEN)
        breached = False
        for step, hours in cat_clocks.items():
            due = received + timedelta(hours=hours)
            late = rng.random() < 0.12
            done = (
                due + timedelta(hours=rng.uniform(0.1, 24))
                if late
                else (received + timedelta(hours=hours * rng.uniform(0.05, 0.95)))
            )
            if done > now or (status in OPEN[:2] and step != "apology"):
                done = None
            breached = breached or late or (done is None and due < now)
            clocks.append(
                {
                    "complaint_id": next_id,
                    "step": step,
                    "within_hours": hours,
                    "due_at": due,
                    "done_at": done,
                    "breach_noticed_at": due if done is None and due < now else None,
                }
            )
        resolved = status in ("resolved", "followed_up", "closed")
        name = rng.choice(SURNAMES) + "先生"
        contact = f"1{rng.randrange(3, 9)}{rng.randrange(10**9):09d}"
        cases.append(
            {
                "id": next_id,
                "number": f"CMP-{year}-{seqs[year]:05d}",
                "year": year,
                "seq": seqs[year],
                "channel": _weighted(rng, CHANNELS),
                "category_id": cats[code],
                "department_id": depts[dept],
                "site": rng.choice(SITES),
                "commitment": "",
                "request": rng.choice(REQUESTS),
                "customer_name": name,
                "customer_contact": contact,
                "customer_key": f"tel:{contact}",
                "handler_id": heads[dept] if rng.random() < 0.6 else rng.choice(staff[dept]),
                "status": status,
                "received_at": received,
                "received_by_id": rng.choice(staff["CS"]),
                "resolved_at": received + timedelta(hours=rng.uniform(0.2, 30))
                if resolved
                else None,
                "first_contact": resolved and rng.random() < 0.3,
                "reopened": 0,
                "satisfaction": rng.randint(1, 5) if resolved and rng.random() < 0.7 else None,
                "repeat_of_id": None,
                "is_repeat": rng.random() < 0.08,
                "breached": breached,
                "escalated_at": None,
                "closed_at": received + timedelta(days=rng.uniform(1, 20))
                if status == "closed"
                else None,
                "close_reason": None,
                "nc_number": None,
            }
        )
        next_id += 1
        if len(cases) >= 20000:
            inserted += len(cases)
            flush()
            print(f"  {inserted:,} cases ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    flush()
    with db.engine.begin() as conn:
        for year, last in seqs.items():
            conn.execute(insert(NumberSequence).values(key=f"complaint:{year}", last_value=last))
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('complaint_id_seq', :n)"), {"n": next_id})
            conn.execute(
                text(
                    "SELECT setval('complaint_clock_id_seq', (SELECT max(id) FROM complaint_clock))"
                )
            )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"load_s": time.perf_counter() - t0, "depts": [c for c, _, _ in DEPARTMENTS]}


def _ms(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)
    p95 = values[max(0, round(0.95 * len(values)) - 1)]
    return statistics.median(values), p95, values[-1]


def measure(name, send, n: int, counter, warmup: int = 3) -> dict:
    for _ in range(warmup):
        send()
    times, cpu, statements = [], [], []
    for _ in range(n):
        counter.count = 0
        t, c = time.perf_counter(), time.process_time()
        response = send()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        statements.append(counter.count)
        if response.status_code not in (200, 201):
            raise SystemExit(
                f"{name}: {response.status_code} {response.get_data(as_text=True)[:300]}"
            )
    p50, p95, worst = _ms(times)
    cpu50, cpu95, _ = _ms(cpu)
    return {
        "name": name,
        "p50": p50,
        "p95": p95,
        "max": worst,
        "cpu50": cpu50,
        "cpu95": cpu95,
        "sql": max(statements),
        "n": n,
    }


def run(app, args, depts) -> list[dict]:
    from app.auth import services as auth
    from app.extensions import db
    from app.people.models import User

    rng = random.Random(args.seed + 1)
    counter = QueryCounter(db.engine)

    def token(username):
        user = db.session.query(User).filter_by(username=username).one()
        value = auth.create_token(db.session, None, user, "bench")
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}

    officer, member = token("officer"), token("cs_staff1")
    client = app.test_client()
    page = _login(app, "officer")
    statuses = [
        "received",
        "acknowledged",
        "restoring",
        "resolved",
        "followed_up",
        "closed",
        "escalated",
    ]
    today = datetime.now(UTC).date()

    def month():
        first = today.replace(day=1) - timedelta(days=30 * rng.randrange(0, 12 * YEARS - 1))
        first = first.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return first.isoformat(), last.isoformat()

    def api(query):
        return lambda: client.get(f"/api/v1/complaints?per_page=50&{query()}", headers=officer)

    rows = [
        measure(
            "API list: status + department",
            api(lambda: f"status={rng.choice(statuses)}&department={rng.choice(depts)}"),
            args.requests,
            counter,
        ),
        measure(
            "API list: category + month",
            api(lambda: "category={}&from={}&to={}".format(rng.choice(CATEGORIES)[0], *month())),
            args.requests,
            counter,
        ),
        measure(
            "API list: channel + department",
            api(lambda: f"channel={_weighted(rng, CHANNELS)}&department={rng.choice(depts)}"),
            args.requests,
            counter,
        ),
        measure(
            "API list: breached + department",
            api(lambda: f"breached=true&department={rng.choice(depts)}"),
            args.requests,
            counter,
        ),
        measure(
            "page /complaints: status + department",
            lambda: page.get(
                f"/complaints?status={rng.choice(statuses)}&department={rng.choice(depts)}"
            ),
            args.requests,
            counter,
        ),
    ]

    def intake():
        return client.post(
            "/api/v1/complaints",
            json={
                "category": CATEGORIES[rng.randrange(len(CATEGORIES))][0],
                "customer": {"name": "王先生", "contact": f"139{rng.randrange(10**8):08d}"},
                "site": rng.choice(SITES),
                "request": rng.choice(REQUESTS),
            },
            headers=member,
        )

    rows.append(measure("intake: POST /api/v1/complaints", intake, args.requests, counter))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
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
            seeded = seed(args, app)
            rows = run(app, args, seeded["depts"])
    finally:
        instance.close()
    load = os.getloadavg()
    print(f"complaints benchmark: {args.cases:,} cases, {instance.backend}")
    print(f"machine: {_machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"bulk load: {seeded['load_s']:.0f} s")
    print(
        f"{'scenario':42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU p50':>8} {'CPU p95':>8}"
        f" {'SQL':>4}  target"
    )
    ok = True
    for r in rows:
        target = INTAKE_TARGET_MS if r["name"].startswith("intake") else LIST_TARGET_MS
        met = r["p95"] < target
        ok = ok and met
        print(
            f"{r['name']:42} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f}"
            f" {r['cpu50']:8.1f} {r['cpu95']:8.1f} {r['sql']:4d}"
            f"  p95 < {target} ms {'met' if met else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
