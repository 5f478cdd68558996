"""The audit trail's filters at scale: the filtered, paginated list and an export.

Issue 18, point 4: "Pagination of the filtered list must stay fast (the trail can have
hundreds of thousands of events): filter in SQL."

Instance. A throw-away qdms instance (``Instance`` of ``documents.py``: SQLite, or a new
PostgreSQL database created and dropped with ``--database-url``), migrated with the real
migrations.

Data. The people of ``documents.py`` (ten departments, 64 users, through the people
services), then ``--events`` audit events (300,000) inserted in batches with SQLAlchemy
Core over the three years before now, ``seq`` following time as ``record()`` writes them:
40 % signing in and out (login, logout, a few failed logins) by everyone, the rest the
document workflow's events on 10,000 document numbers (created, revision_created,
revision_in_review, signed, revision_approved, revision_effective, revision_superseded;
rarely revision_obsolete and withdrawn) with the payloads the services write, by the
officers, authors and approvers. The hash chain is not computed (nothing measured reads
it; ``qdms verify`` fails on this instance). PostgreSQL gets ``VACUUM ANALYZE`` after the
load; SQLite nothing (the app never runs ``ANALYZE``).

Measurement. Through ``app.test_client()``, one request at a time, logged in as the
auditor through the real login form (the API with a bearer token): the trail page 1 and
page 1,000 (logins left out, the default), with the logins, a typed document number, a
document number and revision label, one user's deeds (a department head), a rare action,
a one-month date range three years back, and all filters at once; the API with a typed
number; a CSV export of one document's events. p50 / p95 server time, SQL statements per
request, rows shown. Then the query plans of the filtered list. ``--indexes`` adds the
indexes proposed for the user, action and date filters (``INDEXES``) before measuring.

    .venv/bin/python benchmarks/audit_trail.py                  # SQLite, 300,000 events
    .venv/bin/python benchmarks/audit_trail.py --events 20000   # a quick check
    .venv/bin/python benchmarks/audit_trail.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/qdms_bench_trail
"""

from __future__ import annotations

import argparse
import gc
import json
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
    Instance,
    QueryCounter,
    _login,
    _machine,
    _seed_people,
)

BATCH = 5000
# The indexes first measured here with --indexes; migration 0012 now creates the same
# columns (ix_audit_event_actor_seq, ix_audit_event_action_seq, ix_audit_event_at), so a
# database at 0012 has them and --indexes fails on the existing ix_audit_event_at.
INDEXES = [
    "CREATE INDEX ix_audit_event_actor_username_seq ON audit_event (actor_username, seq)",
    "CREATE INDEX ix_audit_event_action_seq ON audit_event (action, seq)",
    "CREATE INDEX ix_audit_event_at ON audit_event (at)",
]
TARGET_MS = 100


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--indexes",
        action="store_true",
        help="add the indexes proposed for the user, action and date filters (see INDEXES)",
    )
    return parser.parse_args(argv)


def _canonical(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def seed_events(conn, people: dict, args, rng: random.Random, now: datetime) -> dict:
    """``args.events`` events over three years, oldest first; returns what was written."""
    from sqlalchemy import insert, select, update

    from app.audit_trail.models import ChainHead, Event

    first = conn.execute(select(ChainHead.last_seq).where(ChainHead.id == 1)).scalar_one() + 1

    everyone = [p for group in people.values() for p in group]
    workers = people["officer"] + [p for k, g in people.items() if "author" in k for p in g]
    heads = [p for k, g in people.items() if k.startswith("head:") for p in g]
    numbers = [
        f"{rng.choice(['QP', 'WI', 'SP'])}-{rng.choice(['CS', 'OM', 'MK', 'QA'])}-{i:04}"
        for i in range(1, args.documents + 1)
    ]
    start = now - timedelta(days=3 * 365)
    step = (now - start) / args.events
    flow = [
        ("revision_created", None, "draft"),
        ("revision_in_review", "draft", "in_review"),
        ("signed", None, None),
        ("revision_approved", "in_review", "approved"),
        ("revision_effective", "approved", "effective"),
        ("revision_superseded", "effective", "superseded"),
    ]
    counts: dict[str, int] = {}
    rows = []
    for n in range(args.events):
        seq, at = first + n, start + step * n
        if rng.random() < 0.4:
            person = rng.choice(everyone)
            action = rng.choices(["login", "logout", "login_failed"], [50, 48, 2])[0]
            ref, before, after = f"user:{person.username}", None, None
        else:
            number = rng.choice(numbers)
            label = f"{rng.choice('ABC')}/{rng.randint(0, 3)}"
            if rng.random() < 0.01:
                action = rng.choice(["revision_obsolete", "withdrawn", "created"])
                before, after = None, {"status": "obsolete"} if action != "created" else None
                if action == "revision_obsolete":
                    before = {"label": label, "status": "effective"}
                    after = {"label": label, "status": "obsolete"}
            else:
                action, old, new = rng.choice(flow)
                if action == "signed":
                    before = None
                    after = {
                        "label": label,
                        "meaning": "approved",
                        "printed_name": "王芳",
                        "sha256": f"{rng.getrandbits(256):064x}",
                        "signature_id": seq,
                    }
                else:
                    before = {"label": label, "status": old} if old else None
                    after = {"label": label, "status": new}
            person = rng.choice(heads if action in ("signed", "revision_approved") else workers)
            ref = f"document:{number}"
        counts[action] = counts.get(action, 0) + 1
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor_id": person.id,
                "actor_username": person.username,
                "object_ref": ref,
                "action": action,
                "before": _canonical(before),
                "after": _canonical(after),
                "reason": None,
                "prev_hash": "0" * 64,
                "hash": "0" * 64,
            }
        )
        if len(rows) == BATCH:
            conn.execute(insert(Event), rows)
            rows = []
    if rows:
        conn.execute(insert(Event), rows)
    conn.execute(update(ChainHead).where(ChainHead.id == 1).values(last_seq=seq))
    return {"counts": counts, "numbers": numbers, "heads": heads, "start": start}


def measure(client, counter, url, *, headers=None, n=20, warmup=3) -> dict:
    times, queries, rows = [], [], []
    for i in range(warmup + n):
        counter.count = 0
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code}")
        if i >= warmup:
            times.append(elapsed)
            queries.append(counter.count)
            if response.mimetype == "application/json":
                rows.append(len(response.get_json()["items"]))
            elif response.mimetype == "text/html":
                rows.append(response.get_data(as_text=True).count('<tr class="trail-event">'))
            else:
                rows.append(response.get_data(as_text=True).count("\n") - 1)
    return {
        "p50": statistics.median(times),
        "p95": statistics.quantiles(times, n=20)[18],
        "queries": (min(queries), max(queries)),
        "rows": round(statistics.median(rows)),
    }


def explain(app, url_filters: dict) -> list[str]:
    """The plan of one page of the filtered list, for each filter set."""
    from sqlalchemy import text
    from werkzeug.datastructures import MultiDict

    from app.audit_trail.services import filtered_events, parse_filters
    from app.extensions import db

    out = []
    with app.test_request_context(), app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        for name, query in url_filters.items():
            stmt = filtered_events(parse_filters(db.session, MultiDict(query)), newest_first=True)
            compiled = stmt.limit(50).compile(db.engine, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN ANALYZE " if pg else "EXPLAIN QUERY PLAN "
            plan = db.session.execute(text(prefix + str(compiled))).all()
            lines = [r[0] if pg else r[-1] for r in plan]
            out.append(f"{name}:\n    " + "\n    ".join(lines))
    return out


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from app import create_app
    from app.auth import services as auth
    from app.extensions import db
    from app.people.models import User

    rng = random.Random(args.seed)
    instance = Instance(args.database_url, args.keep)
    app = None
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        now = datetime.now(UTC)
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            people = _seed_people(db.session)
            with db.engine.begin() as conn:
                seeded = seed_events(conn, people, args, rng, now)
                for statement in INDEXES if args.indexes else []:
                    conn.execute(text(statement))
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("VACUUM ANALYZE"))
            auditor = db.session.scalar(select(User).where(User.username == "auditor"))
            token = auth.create_token(db.session, None, auditor, "benchmark")
            db.session.commit()
            engine = db.engine
            db.session.remove()
        print(
            f"seeded {args.events:,} events in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()
        counter = QueryCounter(engine)
        client = _login(app, "auditor")
        number = seeded["numbers"][17]
        head = seeded["heads"][3].username
        old = seeded["start"] + timedelta(days=30)
        month = {
            "from": old.date().isoformat(),
            "to": (old + timedelta(days=30)).date().isoformat(),
        }
        filters = {
            "page 1 (no logins)": {},
            "page 1,000 (no logins)": {"page": "1000"},
            "with logins": {"include_logins": "1"},
            f"object={number.lower()} (typed)": {"object": number.lower()},
            f"object={number} A/0": {"object": f"{number} A/0"},
            f"user={head}": {"user": head},
            "action=withdrawn (rare)": {"action": "withdrawn"},
            "one month, 3 years back": month,
            "user + action + month": {"user": head, "action": "signed", **month},
        }
        results = []
        for name, query in filters.items():
            url = "/audit-trail?" + "&".join(f"{k}={v}" for k, v in query.items())
            results.append((name, measure(client, counter, url, n=args.requests)))
        api = f"/api/v1/audit-trail?object={number.lower()}"
        headers = {"Authorization": f"Bearer {token}"}
        results.append(("API object (typed)", measure(client, counter, api, headers=headers)))
        export = f"/audit-trail?object={number}&format=csv"
        results.append(("CSV export of one document", measure(client, counter, export, n=5)))
        plans = explain(
            app, {k: {x: y for x, y in v.items() if x != "page"} for k, v in filters.items()}
        )

        indexes = " with the proposed indexes" if args.indexes else ""
        print(f"\n{args.events:,} events{indexes}, {instance.backend}; {_machine()}")
        print("\n| scenario | rows | p50 ms | p95 ms | queries |\n|---|--:|--:|--:|--:|")
        for name, r in results:
            q = r["queries"]
            queries = f"{q[0]}" if q[0] == q[1] else f"{q[0]}–{q[1]}"
            flag = "" if r["p95"] <= TARGET_MS else " (over 100 ms)"
            print(f"| {name} | {r['rows']} | {r['p50']:.1f} | {r['p95']:.1f}{flag} | {queries} |")
        print("\nplans:\n" + "\n".join(plans))
        return 0
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
