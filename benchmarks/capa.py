"""Nonconformities at scale: the NC register filtered by status and department, "My
actions", and the sweep's NC work.

Issue 21, acceptance point 6: "benchmarks/capa.py: 100,000 NCs with 300,000 actions: the
NC register filtered by status and department and "My actions" each p95 under 100 ms,
the sweep under 30 s; figures in docs/PERFORMANCE.md."

Instance: a throw-away qdms instance (``Instance`` of ``documents.py``), migrated with the
real migrations. People through the people services (``_seed_people``: ten departments
with a head, two authors and three staff each, two officers, an auditor, an admin). Then,
with bulk ``insert()`` (SQLAlchemy Core), ``--ncs`` NCs reported over the six years
before today in the departments' proportions, numbered per year; about 75 % closed, 5 %
rejected, the rest spread over the open states (the recent ones mostly); each NC past
analysis has a plan (one signature row each) and one to five actions (3.4 on average:
about ``--ncs`` × 3 actions in all), owned by the department's staff, authors and head; actions of
closed and implemented NCs are done, those of ``action_planned`` NCs open (due from a
month ago to two months ahead: some overdue, some due within 3 days). A tenth of the
implemented NCs have their check date today (a daily sweep moves them to verifying), the
others later; a quarter of the plans carry a ``no_new_nc`` data rule.

Scenarios, through ``app.test_client()``, one request at a time, server time:
the register ``GET /api/v1/nonconformities?status=…&department=…`` and the HTML page
``/nonconformities?status=…&department=…`` as the officer (sees all) and as a member of
staff (the visibility filter), random (status, department) pairs; "My actions"
``GET /api/v1/actions`` and ``/my-actions`` as the busiest owner. Then the NC part of the
sweep (``app.capa.reminders.sweep``: checks due, rule evaluation, reminders) timed, rolled
back and run again ``--sweeps`` times (every reminder is new: the first sweep after
start-up); then committed and run once more on the same day (everything already sent).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import (  # noqa: E402
    DEPARTMENTS,
    Instance,
    QueryCounter,
    _login,
    _seed_people,
    measure,
)

STATUS_SHARES = [  # of NCs older than three months; the recent ones are mostly open
    ("closed", 80),
    ("rejected", 5),
    ("verifying", 3),
    ("implemented", 4),
    ("action_planned", 5),
    ("analysed", 1),
    ("contained", 1),
    ("reported", 1),
]
RECENT_SHARES = [
    ("closed", 20),
    ("rejected", 5),
    ("verifying", 10),
    ("implemented", 15),
    ("action_planned", 30),
    ("analysed", 8),
    ("contained", 6),
    ("reported", 6),
]
PLANNED = {"action_planned", "implemented", "verifying", "closed"}
SOURCES = ["audit", "complaint", "internal", "review", "kpi", "supplier"]
TYPES = ["correction", "corrective", "preventive", "improvement"]
TEXTS = [
    "顾客投诉回拨超时",
    "巡检记录缺少签字",
    "外包抢修到场超时",
    "问卷漏印题目",
    "Calibration certificate without uncertainty",
    "知识库未更新导致首次解决率下降",
]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ncs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="a new PostgreSQL database")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def _pick(rng, shares):
    total = sum(s for _, s in shares)
    x = rng.uniform(0, total)
    for value, share in shares:
        x -= share
        if x <= 0:
            return value
    return shares[-1][0]


def seed(args, today: date) -> dict:
    """People through the services, then NCs, plans, signatures and actions in bulk."""
    from sqlalchemy import insert, select

    from app.capa.models import NcAction, NcPlan, Nonconformity
    from app.extensions import db
    from app.people.models import Department, User
    from app.sequences import NumberSequence
    from app.signatures.models import Signature

    rng = random.Random(args.seed)
    start = time.perf_counter()
    people = _seed_people(db.session)
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    users = {u.username: u.id for u in db.session.scalars(select(User))}
    officer = people["officer"][0]
    weights = [share for _, _, share in DEPARTMENTS]
    codes = [code for code, _, _ in DEPARTMENTS]
    owners = {
        code: [p.id for key in ("staff", "author", "head") for p in people[f"{key}:{code}"]]
        for code in codes
    }
    span = 6 * 365
    moments = sorted(
        datetime.combine(today - timedelta(days=rng.uniform(0, span)), dtime(), UTC)
        + timedelta(seconds=rng.uniform(0, 86400))
        for _ in range(args.ncs)
    )
    seqs: dict[int, int] = {}
    ncs, plans, sigs, actions = [], [], [], []
    for nc_id, at in enumerate(moments, start=1):
        code = rng.choices(codes, weights)[0]
        year = at.year
        seqs[year] = seqs.get(year, 0) + 1
        recent = (today - at.date()).days < 90
        status = _pick(rng, RECENT_SHARES if recent else STATUS_SHARES)
        reporter = rng.choice(owners[code])
        ncs.append(
            {
                "id": nc_id,
                "number": f"NC-{year}-{seqs[year]:04d}",
                "year": year,
                "seq": seqs[year],
                "source": rng.choice(SOURCES),
                "severity": "major" if rng.random() < 0.2 else "minor",
                "description": f"{rng.choice(TEXTS)}（{code}-{nc_id}）",
                "department_id": depts[code],
                "status": status,
                "reported_by_id": reporter,
                "reported_at": at,
                "containment": "隔离" if status not in ("reported", "rejected") else None,
                "whys_json": json.dumps(["为什么"]) if status in PLANNED | {"analysed"} else None,
                "categories_json": json.dumps([rng.choice(["people", "method", "equipment"])])
                if status in PLANNED | {"analysed"}
                else None,
                "round": 1 if status in PLANNED else 0,
                "rejection_reason": "不是不符合" if status == "rejected" else None,
                "closed_at": at + timedelta(days=40) if status == "closed" else None,
            }
        )
        if status not in PLANNED:
            continue
        approved = at + timedelta(days=3)
        sig_id = len(sigs) + 1
        sigs.append(
            {
                "id": sig_id,
                "user_id": officer.id,
                "printed_name": officer.full_name,
                "username": officer.username,
                "meaning": "nc_plan_approved",
                "object_ref": f"nonconformity:{ncs[-1]['number']}",
                "content_sha256": "0" * 64,
                "signed_at": approved,
            }
        )
        n_actions = rng.choice([1, 2, 3, 4, 4, 5, 5])
        if status == "action_planned":
            dues = [today + timedelta(days=rng.randint(-30, 60)) for _ in range(n_actions)]
        else:
            dues = [approved.date() + timedelta(days=rng.randint(5, 30)) for _ in range(n_actions)]
        check = max(dues) + timedelta(days=30)
        if status == "implemented":
            # a daily sweep: a tenth come due today, the rest later
            due_today = rng.random() < 0.1
            check = today if due_today else today + timedelta(days=rng.randint(1, 60))
            check = max(check, max(dues))
        rule = (
            json.dumps({"kind": "no_new_nc", "days": 90, "department": code, "category": None})
            if rng.random() < 0.25
            else None
        )
        plans.append(
            {
                "nc_id": nc_id,
                "round": 1,
                "criterion": "九十天内无同类问题",
                "rule_json": rule,
                "check_date": check,
                "approved_by_id": officer.id,
                "approved_at": approved,
                "signature_id": sig_id,
            }
        )
        done = status != "action_planned"
        for due in dues:
            actions.append(
                {
                    "nc_id": nc_id,
                    "round": 1,
                    "type": rng.choice(TYPES),
                    "text": "整改措施",
                    "owner_id": rng.choice(owners[code]),
                    "due_date": due,
                    "status": "done" if done else "open",
                    "evidence": "记录" if done else None,
                    "done_by_id": officer.id if done else None,
                    "done_at": approved + timedelta(days=10) if done else None,
                }
            )
    with db.engine.begin() as conn:
        for table, rows in (
            (Nonconformity.__table__, ncs),
            (Signature.__table__, sigs),
            (NcPlan.__table__, plans),
            (NcAction.__table__, actions),
        ):
            for i in range(0, len(rows), args.batch):
                conn.execute(insert(table), rows[i : i + args.batch])
        conn.execute(
            insert(NumberSequence.__table__),
            [{"key": f"nc:{year}", "last_value": n} for year, n in seqs.items()],
        )
        if db.engine.dialect.name == "postgresql":
            for table in ("nonconformity", "nc_action", "nc_plan", "signature"):
                sql = (
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"  # the four table names above
                )
                conn.exec_driver_sql(sql)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    busiest = max(
        {a["owner_id"] for a in actions},
        key=lambda uid: sum(1 for a in actions if a["owner_id"] == uid and a["status"] == "open"),
    )
    owner = next(name for name, uid in users.items() if uid == busiest)
    return {
        "seconds": time.perf_counter() - start,
        "ncs": len(ncs),
        "actions": len(actions),
        "open_actions": sum(1 for a in actions if a["status"] == "open"),
        "owner": owner,
        "owner_open": sum(1 for a in actions if a["owner_id"] == busiest and a["status"] == "open"),
        "staff": people["staff:CS"][0].username,
        "codes": codes,
    }


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.auth import services as auth
    from app.capa import reminders
    from app.extensions import db, local_today
    from app.people.models import User

    instance = Instance(args.database_url, args.keep)
    app = None
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        today = local_today()
        with app.app_context():
            upgrade()
            seeded = seed(args, today)
            tokens = {}
            for username in ("officer", seeded["staff"], seeded["owner"]):
                user = db.session.scalar(select(User).where(User.username == username))
                tokens[username] = {
                    "Authorization": f"Bearer {auth.create_token(db.session, None, user, 'b')}"
                }
            db.session.commit()
            engine = db.engine
            db.session.remove()
        print(
            f"seeded in {seeded['seconds']:.1f} s: {seeded['ncs']:,} NCs, "
            f"{seeded['actions']:,} actions ({seeded['open_actions']:,} open); busiest owner "
            f"{seeded['owner']} with {seeded['owner_open']} open",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()
        counter = QueryCounter(engine)
        rng = random.Random(args.seed)
        statuses = [s for s, _ in STATUS_SHARES]
        pairs = [(rng.choice(statuses), rng.choice(seeded["codes"])) for _ in range(40)]
        api = [f"/api/v1/nonconformities?status={s}&department={d}" for s, d in pairs]
        pages = [f"/nonconformities?status={s}&department={d}" for s, d in pairs]
        results = []
        # outside any app context: each request gets its own, as in use (no shared g)
        client = app.test_client()
        if client:
            n, w = args.requests, args.warmup
            for who in ("officer", seeded["staff"]):
                results.append(
                    measure(
                        client,
                        counter,
                        "register API",
                        who,
                        api,
                        headers=tokens[who],
                        n=n,
                        warmup=w,
                    )
                )
                page_client = _login(app, who)
                results.append(
                    measure(page_client, counter, "register page", who, pages, n=n, warmup=w)
                )
            owner = seeded["owner"]
            results.append(
                measure(
                    client,
                    counter,
                    "my actions API",
                    owner,
                    ["/api/v1/actions"],
                    headers=tokens[owner],
                    n=n,
                    warmup=w,
                )
            )
            page_client = _login(app, owner)
            results.append(
                measure(
                    page_client, counter, "my actions page", owner, ["/my-actions"], n=n, warmup=w
                )
            )
        sweeps = []
        with app.app_context():
            for _ in range(args.sweeps):  # the first sweep of the day, rolled back each time
                start = time.perf_counter()
                report = reminders.sweep(db.session, today)
                sweeps.append(time.perf_counter() - start)
                db.session.rollback()
            report = reminders.sweep(db.session, today)
            db.session.commit()
            start = time.perf_counter()
            again = reminders.sweep(db.session, today)  # the same day again: all sent
            repeat = time.perf_counter() - start
            db.session.rollback()
        print()
        print(f"backend: {instance.backend}; {seeded['ncs']:,} NCs, {seeded['actions']:,} actions")
        print(
            f"{'scenario':<18} {'user':<12} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}"
        )
        for r in results:
            q = f"{r.queries[0]}–{r.queries[1]}"
            print(f"{r.scenario:<18} {r.user:<12} {r.rows:>5} {r.p50:>8.1f} {r.p95:>8.1f} {q:>8}")
        print(
            f"sweep (NC part): {len(report.to_verifying):,} moved to verifying, "
            f"{report.reminders:,} reminders; runs "
            + ", ".join(f"{s:.1f} s" for s in sweeps)
            + f"; again the same day: {again.reminders} reminders, {repeat:.1f} s"
        )
        return 0
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
