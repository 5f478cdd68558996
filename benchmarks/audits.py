"""Internal audits at scale: the audit page, the checklist page and the programme's
coverage matrix, and the report PDF of a 120-item audit.

Issue 22, acceptance point 4: "10 years × 60 audits × 120 checklist items (72,000
items): the audit page, the checklist page and the programme matrix each p95 under
100 ms server time with a flat query count; the report PDF of a 120-item audit under 3 s
cold. Figures in docs/PERFORMANCE.md."

Instance: a throw-away qdms instance (``Instance`` of ``documents.py``), migrated with the
real migrations (so the clause library is the seeded one). People through the people
services (``_seed_people``: ten departments, officers, an auditor, an admin). Then, by
bulk ``insert()``, ``--years`` × ``--per-year`` audits led by the auditor, one or two
departments each, ten criteria each, ``--items`` checklist items each (questions cycling
through the criteria's), all done and closed in past years, half done in the current one;
about 3 % of items are minor NCs with a finding (no NC row: the pages do not read it).

Scenarios, through ``app.test_client()``, one request at a time, server time, as the
officer: ``/audits/<number>`` and ``/audits/<number>/checklist`` over random audits,
``/audit-programme/<year>`` over random years; the query counts must not grow with the
rows (``--items 30`` and ``--items 120`` give the same counts). Then the report PDF of a
120-item audit, the first one rendered in the process (cold: fonts and templates load),
then warm.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
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

BATCH = 2000
VERDICTS = ["conforming"] * 28 + ["observation", "ofi", "minor_nc", "na"]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--per-year", type=int, default=60)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--database-url", help="PostgreSQL URL of a new database (default SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the instance")
    return parser.parse_args(argv)


def seed(args, today: date) -> dict:
    from sqlalchemy import insert, select

    from app.audits.models import (
        Audit,
        AuditCriterionChoice,
        AuditDepartment,
        ChecklistItem,
        Criterion,
        Finding,
    )
    from app.extensions import db
    from app.people.models import Department, User
    from app.sequences import NumberSequence

    started = time.perf_counter()
    _seed_people(db.session)
    rng = random.Random(args.seed)
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    auditor = db.session.scalar(select(User).where(User.username == "auditor"))
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    library = list(db.session.scalars(select(Criterion).order_by(Criterion.position)))
    codes = [code for code, _, _ in DEPARTMENTS]
    audits, choices, departments, items, findings = [], [], [], [], []
    first_year = today.year - args.years + 1
    item_id = 0
    audit_id = 0
    for year in range(first_year, today.year + 1):
        current = year == today.year
        for seq in range(1, args.per_year + 1):
            audit_id += 1
            month = (seq - 1) * 12 // args.per_year + 1
            start = date(year, month, rng.randint(1, 27))
            status = "in_progress" if current and seq % 2 else "closed"
            if current and start > today:
                status = "planned"
            at = datetime.combine(start, datetime.min.time(), UTC)
            audits.append(
                {
                    "id": audit_id,
                    "number": f"AUD-{year}-{seq:03d}",
                    "year": year,
                    "seq": seq,
                    "type": "internal",
                    "title": f"{rng.choice(codes)} 部门年度内审 {seq}",
                    "objectives": "验证过程符合程序并有效实施",
                    "scope": "部门全部服务过程",
                    "status": status,
                    "lead_auditor_id": auditor.id,
                    "planned_start": start,
                    "planned_end": start + timedelta(days=1),
                    "created_by_id": officer.id,
                    "created_at": at,
                    "conclusions": "基本符合" if status == "closed" else None,
                }
            )
            for code in rng.sample(codes, rng.choice((1, 1, 2))):
                departments.append({"audit_id": audit_id, "department_id": depts[code]})
            chosen = sorted(rng.sample(library, 10), key=lambda c: c.position)
            for c in chosen:
                choices.append({"audit_id": audit_id, "criterion_id": c.id})
            questions = [(c, q) for c in chosen for q in c.questions]
            dept_id = departments[-1]["department_id"]
            fseq = 0
            for pos in range(1, args.items + 1):
                item_id += 1
                c, q = questions[(pos - 1) % len(questions)]
                done = status == "closed" or (status == "in_progress" and pos <= args.items // 2)
                verdict = rng.choice(VERDICTS) if done else None
                items.append(
                    {
                        "id": item_id,
                        "audit_id": audit_id,
                        "criterion_id": c.id,
                        "clause": c.code,
                        "question": q["zh"],
                        "question_en": q["en"],
                        "position": pos,
                        "done": done,
                        "verdict": verdict,
                        "evidence": "抽查 3 份记录，符合要求" if done else None,
                        "links_json": "[]",
                    }
                )
                if verdict == "minor_nc":
                    fseq += 1
                    findings.append(
                        {
                            "audit_id": audit_id,
                            "seq": fseq,
                            "item_id": item_id,
                            "grade": verdict,
                            "clause": c.code,
                            "statement": f"{c.code} {q['zh']}",
                            "evidence": "抽查 3 份记录，1 份缺少签字",
                            "department_id": dept_id,
                            "status": "accepted",
                            "raised_at": at,
                        }
                    )
    with db.engine.begin() as conn:
        for table, rows in (
            (Audit.__table__, audits),
            (AuditDepartment.__table__, departments),
            (AuditCriterionChoice.__table__, choices),
            (ChecklistItem.__table__, items),
            (Finding.__table__, findings),
        ):
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i : i + BATCH])
        for year in range(first_year, today.year + 1):
            conn.execute(
                insert(NumberSequence.__table__),
                [{"key": f"audit:{year}", "last_value": args.per_year}],
            )
    return {
        "audits": len(audits),
        "items": len(items),
        "findings": len(findings),
        "years": list(range(first_year, today.year + 1)),
        "numbers": [a["number"] for a in audits],
        "seconds": time.perf_counter() - started,
    }


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade

    from app import create_app
    from app.audits import report, services
    from app.extensions import db, local_today

    instance = Instance(args.database_url, args.keep)
    app = None
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        today = local_today()
        with app.app_context():
            upgrade()
            seeded = seed(args, today)
            engine = db.engine
            db.session.remove()
        print(
            f"seeded in {seeded['seconds']:.1f} s: {seeded['audits']:,} audits, "
            f"{seeded['items']:,} checklist items, {seeded['findings']:,} findings",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()
        counter = QueryCounter(engine)
        rng = random.Random(args.seed)
        sample = rng.sample(seeded["numbers"], 40)
        client = _login(app, "officer")
        n, w = args.requests, args.warmup
        results = [
            measure(
                client,
                counter,
                "audit page",
                "officer",
                [f"/audits/{x}" for x in sample],
                n=n,
                warmup=w,
            ),
            measure(
                client,
                counter,
                "checklist page",
                "officer",
                [f"/audits/{x}/checklist" for x in sample],
                n=n,
                warmup=w,
            ),
            measure(
                client,
                counter,
                "programme matrix",
                "officer",
                [f"/audit-programme/{y}" for y in seeded["years"]],
                n=n,
                warmup=w,
            ),
        ]
        pdf = []
        with app.test_request_context():
            for number in sample[:4]:
                a = services.get_audit(db.session, number)
                start = time.perf_counter()
                data = report.render_report(a)
                pdf.append((time.perf_counter() - start, len(a.items), len(data)))
                db.session.remove()
        print()
        print(
            f"backend: {instance.backend}; {seeded['audits']:,} audits, {seeded['items']:,} items"
        )
        print(f"{'scenario':<18} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for r in results:
            q = f"{r.queries[0]}–{r.queries[1]}"
            print(f"{r.scenario:<18} {r.p50:>8.1f} {r.p95:>8.1f} {q:>8}")
        print(
            "report PDF: "
            + ", ".join(f"{s:.2f} s ({items} items, {size // 1024} KiB)" for s, items, size in pdf)
            + " (the first is cold)"
        )
        return 0
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
