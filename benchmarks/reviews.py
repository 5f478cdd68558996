"""The management review at scale: compiling the inputs of a year, and the report PDF.

Issue 24, acceptance point 4: "compiling a review over a year of an organisation with
10,000 documents, 200,000 records, 100,000 complaints, 20,000 NCs, 600 audits and 40 KPIs
under 5 s; the report PDF under 5 s cold. Figures in docs/PERFORMANCE.md."

Instance: a throw-away qdms instance (``Instance`` of ``documents.py``), migrated with the
real migrations. People through the people services (``_seed_people``: ten departments
with heads, authors and staff, two officers, an auditor, an admin) plus a general manager
with the role ``management`` who chairs. Then, by bulk ``insert()`` over the three years
before today (so the review's year and the year before it, its comparison, are full):

- ``--documents`` documents, each with one effective revision (effective dates spread
  over the years, a tenth of them past their periodic review), and a read-and-understood
  task per revision for two people, 85 % done;
- ``--records`` completed records of twelve record types (one a SERVQUAL survey with five
  numeric scores);
- ``--complaints`` complaints in four categories and six channels, each with its clocks
  (apology, restoration, follow-up), three in four met, a third followed up with a score;
- ``--ncs`` nonconformities from every source (a tenth from suppliers), most closed, each
  with one or two actions (some overdue), a verification for the closed ones, root-cause
  categories;
- ``--audits`` audits with ten checklist items and a few findings each (OFIs too);
- ``--kpis`` KPIs: the computed sources (each for the organisation and some departments,
  monthly) and SERVQUAL means over the survey records, targets for every month, and
  entered ones with their monthly values; every month but the last two closed, its
  values frozen (as ``close`` leaves them in a running organisation);
- 30 risk points with links made over the years.

Scenario: plan a review of the last full 12 months and compile it (``services.compile_inputs``
in a request context as the officer, the first compile in the process), three times on a
fresh review each; then the report PDF of the compiled review, the first one rendered in
the process (cold: fonts and templates load), then warm.
"""

from __future__ import annotations

import argparse
import gc
import json
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
    PASSWORD,
    Instance,
    _machine,
    _seed_people,
)

BATCH = 5000
CHANNELS = ["hotline", "counter", "online", "letter", "gov_hotline", "on_site"]
SOURCES = ["internal"] * 5 + ["audit"] * 2 + ["complaint"] * 2 + ["supplier"]
CAUSES = ["people", "method", "equipment", "material", "environment", "measurement"]
GRADES = ["minor_nc"] * 3 + ["observation", "ofi", "ofi", "major_nc"]
SERVQUAL = ["tangibles", "reliability", "responsiveness", "assurance", "empathy"]
COMPUTED = [
    "nc_closure_days",
    "capa_overdue_actions",
    "documents_overdue_reviews",
    "acknowledgement_completion",
    "audit_programme_completion",
]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--ncs", type=int, default=20_000)
    parser.add_argument("--audits", type=int, default=600)
    parser.add_argument("--kpis", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--database-url", help="PostgreSQL URL of a new database (default SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the instance")
    return parser.parse_args(argv)


def _at(rng: random.Random, first: date, days: int) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)


def _bulk(conn, table, rows) -> None:
    from sqlalchemy import insert

    for i in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[i : i + BATCH])


def seed(args, today: date) -> dict:
    from sqlalchemy import select

    from app.audits.models import Audit, AuditDepartment, ChecklistItem, Finding
    from app.capa.models import NcAction, NcVerification, Nonconformity
    from app.complaints.models import Complaint, ComplaintCategory, ComplaintClock
    from app.distribution.models import Acknowledgement, Issue
    from app.documents.models import Document, DocumentType, Revision
    from app.extensions import db
    from app.kpis.models import Kpi, KpiPeriodClose, KpiTarget, KpiValue
    from app.people import services as people
    from app.people.models import Department, User
    from app.records.models import Record, RecordSchema, RecordType
    from app.risks.models import RiskLink, RiskPoint
    from app.signatures.models import Signature

    started = time.perf_counter()
    persons = _seed_people(db.session)
    gm = people.create_user(
        db.session,
        None,
        username="gm",
        full_name="黄志强",
        password=PASSWORD,
        roles=["approver", "management"],
        department=db.session.scalar(select(Department).where(Department.code == "GM")),
        language="zh_CN",
    )
    db.session.commit()
    rng = random.Random(args.seed)
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    codes = [code for code, _, _ in DEPARTMENTS]
    users = [u.id for u in db.session.scalars(select(User))]
    officer = db.session.scalar(select(User).where(User.username == "officer")).id
    auditor = db.session.scalar(select(User).where(User.username == "auditor")).id
    first = date(today.year - 2, 1, 1)
    span = (today - first).days
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    types = {t.code: t.id for t in db.session.scalars(select(DocumentType))}
    qp = types.get("QP") or next(iter(types.values()))

    with db.engine.begin() as conn:
        # a signature every verification points to (the benchmark reads none of it)
        sig = conn.execute(
            Signature.__table__.insert().values(
                user_id=officer,
                printed_name="officer",
                username="officer",
                meaning="nc_verified_effective",
                object_ref="bench",
                content_sha256="0" * 64,
                signed_at=now,
            )
        ).inserted_primary_key[0]
        # documents, one effective revision each, and acknowledgements
        docs, revs = [], []
        for i in range(1, args.documents + 1):
            code = codes[i % len(codes)]
            effective = _at(rng, first, span)
            docs.append(
                {
                    "id": i,
                    "number": f"QP-{code}-{i:05d}",
                    "title": f"服务程序 {i}",
                    "type_id": qp,
                    "department_id": depts[code],
                    "confidentiality": "internal",
                    "training_required": False,
                    "review_interval_months": 24,
                    "retention": {},
                    "status": "effective",
                    "created_at": effective,
                    "review_due_date": today - timedelta(days=rng.randrange(30))
                    if i % 10 == 0
                    else today + timedelta(days=rng.randrange(30, 700)),
                }
            )
            revs.append(
                {
                    "id": i,
                    "document_id": i,
                    "major": "A",
                    "minor": 0,
                    "status": "effective",
                    "change_type": "new",
                    "change_summary": "首次发布",
                    "change_reason": "新建",
                    "author_id": officer,
                    "review_round": 0,
                    "created_at": effective,
                    "effective_at": effective,
                    "effective_date": effective.date(),
                }
            )
        _bulk(conn, Document.__table__, docs)
        _bulk(conn, Revision.__table__, revs)
        conn.execute(
            Document.__table__.update().values(current_revision_id=Document.__table__.c.id)
        )
        issues, acks = [], []
        for i in range(1, args.documents + 1):
            issues.append(
                {
                    "id": i,
                    "revision_id": i,
                    "issued_at": revs[i - 1]["effective_at"],
                    "training_required": False,
                    "acknowledge_within_days": 14,
                }
            )
            for u in rng.sample(users, 2):
                due = revs[i - 1]["effective_date"] + timedelta(days=14)
                done = rng.random() < 0.85
                acks.append(
                    {
                        "revision_id": i,
                        "user_id": u,
                        "issue_id": i,
                        "status": "done" if done else ("overdue" if due < today else "open"),
                        "due_date": due,
                        "created_at": revs[i - 1]["effective_at"],
                    }
                )
        _bulk(conn, Issue.__table__, issues)
        _bulk(conn, Acknowledgement.__table__, acks)
        counts["documents"] = len(docs)
        # records: twelve types, one of them the SERVQUAL survey
        rtypes = []
        for n in range(12):
            code = codes[n % len(codes)]
            rtypes.append(
                {
                    "id": n + 1,
                    "code": f"{code}-F{n + 1:02d}",
                    "name": f"服务记录 {n + 1}",
                    "department_id": depts[code],
                    "retention_years": 3,
                    "retention_from": "created",
                    "medium": "electronic",
                    "confidentiality": "internal",
                    "is_active": True,
                    "created_at": now,
                }
            )
        _bulk(conn, RecordType.__table__, rtypes)
        survey_fields = [{"name": d, "label": d, "type": "number"} for d in SERVQUAL]
        _bulk(
            conn,
            RecordSchema.__table__,
            [
                {
                    "id": t["id"],
                    "record_type_id": t["id"],
                    "version": 1,
                    "created_at": now,
                    "fields_json": json.dumps(
                        survey_fields
                        if t["id"] == 1
                        else [{"name": "note", "label": "备注", "type": "text"}]
                    ),
                }
                for t in rtypes
            ],
        )
        recs = []
        for i in range(1, args.records + 1):
            t = rtypes[i % 12]
            at = _at(rng, first, span)
            values = {d: rng.randint(3, 5) for d in SERVQUAL} if t["id"] == 1 else {"note": "正常"}
            recs.append(
                {
                    "number": f"{t['code']}-{at.year}-{i:06d}",
                    "record_type_id": t["id"],
                    "schema_id": t["id"],
                    "year": at.year,
                    "seq": i,
                    "status": "complete",
                    "title": t["name"],
                    "values_json": json.dumps(values),
                    "department_id": t["department_id"],
                    "created_by_id": officer,
                    "created_at": at,
                    "completed_at": at,
                }
            )
        _bulk(conn, Record.__table__, recs)
        counts["records"] = len(recs)
        del recs
        # complaints with their clocks
        cats = []
        for n, (code, name) in enumerate(
            (("SVC", "服务态度"), ("FAC", "设施环境"), ("BIL", "收费争议"), ("DEL", "服务延误"))
        ):
            cats.append(
                {"id": n + 1, "code": code, "name_zh": name, "name_en": code, "is_active": True}
            )
        _bulk(conn, ComplaintCategory.__table__, cats)
        cmps, clocks = [], []
        for i in range(1, args.complaints + 1):
            at = _at(rng, first, span)
            resolved = at + timedelta(hours=rng.randint(1, 72))
            sat = rng.randint(1, 5) if i % 3 == 0 else None
            cmps.append(
                {
                    "id": i,
                    "number": f"CMP-{at.year}-{i:05d}",
                    "year": at.year,
                    "seq": i,
                    "channel": CHANNELS[i % 6],
                    "category_id": 1 + i % 4,
                    "department_id": depts[codes[i % len(codes)]],
                    "site": "营业厅",
                    "commitment": "24 小时内处理",
                    "request": "要求处理",
                    "customer_name": "顾客",
                    "customer_contact": f"138{i:08d}",
                    "customer_key": f"k{i % 20000}",
                    "status": "closed",
                    "received_at": at,
                    "received_by_id": officer,
                    "first_contact": i % 4 == 0,
                    "reopened": 0,
                    "is_repeat": i % 25 == 0,
                    "breached": i % 4 == 3,
                    "resolved_at": resolved,
                    "satisfaction": sat,
                }
            )
            for step, hours in (("apology", 1), ("restoration", 24), ("follow_up", 168)):
                due = at + timedelta(hours=hours)
                late = i % 4 == 3 and step == "apology"
                clocks.append(
                    {
                        "complaint_id": i,
                        "step": step,
                        "within_hours": hours,
                        "due_at": due,
                        "done_at": due + timedelta(hours=1)
                        if late
                        else due - timedelta(minutes=30),
                    }
                )
        _bulk(conn, Complaint.__table__, cmps)
        _bulk(conn, ComplaintClock.__table__, clocks)
        counts["complaints"] = len(cmps)
        del cmps, clocks
        # nonconformities, actions, verifications
        ncs, actions, checks = [], [], []
        for i in range(1, args.ncs + 1):
            at = _at(rng, first, span)
            closed = at + timedelta(days=rng.randint(5, 90))
            is_closed = closed.date() < today and rng.random() < 0.85
            ncs.append(
                {
                    "id": i,
                    "number": f"NC-{at.year}-{i:05d}",
                    "year": at.year,
                    "seq": i,
                    "source": SOURCES[i % len(SOURCES)],
                    "severity": "major" if i % 9 == 0 else "minor",
                    "description": "服务过程不符合",
                    "department_id": depts[codes[i % len(codes)]],
                    "status": "closed" if is_closed else "action_planned",
                    "reported_by_id": officer,
                    "reported_at": at,
                    "round": 1,
                    "categories_json": json.dumps(rng.sample(CAUSES, rng.randint(1, 2))),
                    "closed_at": closed if is_closed else None,
                }
            )
            for _k in range(1 + i % 2):
                due = (at + timedelta(days=rng.randint(5, 40))).date()
                done = is_closed or rng.random() < 0.5
                actions.append(
                    {
                        "nc_id": i,
                        "round": 1,
                        "type": "corrective",
                        "text": "培训",
                        "owner_id": rng.choice(users),
                        "due_date": due,
                        "status": "done" if done else "open",
                        "done_at": datetime(due.year, due.month, due.day, tzinfo=UTC)
                        if done
                        else None,
                    }
                )
            if is_closed:
                checks.append(
                    {
                        "nc_id": i,
                        "round": 1,
                        "effective": rng.random() < 0.9,
                        "evidence": "无再发生",
                        "verified_by_id": officer,
                        "verified_at": closed,
                        "signature_id": sig,
                    }
                )
        _bulk(conn, Nonconformity.__table__, ncs)
        _bulk(conn, NcAction.__table__, actions)
        _bulk(conn, NcVerification.__table__, checks)
        counts["ncs"] = len(ncs)
        # audits with items and findings
        audits, adepts, items, findings = [], [], [], []
        item_id = 0
        for i in range(1, args.audits + 1):
            start = (
                (first + timedelta(days=rng.randrange(span)))
                if i % 20
                else today + timedelta(days=30)
            )
            status = "closed" if start < today - timedelta(days=10) else "planned"
            audits.append(
                {
                    "id": i,
                    "number": f"AUD-{start.year}-{i:03d}",
                    "year": start.year,
                    "seq": i,
                    "type": "internal",
                    "title": f"内审 {i}",
                    "objectives": "验证",
                    "scope": "全部",
                    "status": status,
                    "lead_auditor_id": auditor,
                    "planned_start": start,
                    "planned_end": start + timedelta(days=1),
                    "created_by_id": officer,
                    "created_at": now,
                }
            )
            dept = depts[codes[i % len(codes)]]
            adepts.append({"audit_id": i, "department_id": dept})
            for pos in range(1, 11):
                item_id += 1
                clause = f"{rng.randint(4, 10)}.{rng.randint(1, 3)}"
                items.append(
                    {
                        "id": item_id,
                        "audit_id": i,
                        "clause": clause,
                        "question": "是否符合",
                        "position": pos,
                        "done": status == "closed",
                        "verdict": "conforming" if status == "closed" else None,
                        "links_json": "[]",
                    }
                )
                if status == "closed" and pos <= 3:
                    findings.append(
                        {
                            "audit_id": i,
                            "seq": pos,
                            "item_id": item_id,
                            "grade": rng.choice(GRADES),
                            "clause": clause,
                            "statement": "发现",
                            "department_id": dept,
                            "status": "accepted",
                            "raised_at": datetime(start.year, start.month, start.day, tzinfo=UTC),
                        }
                    )
        _bulk(conn, Audit.__table__, audits)
        _bulk(conn, AuditDepartment.__table__, adepts)
        _bulk(conn, ChecklistItem.__table__, items)
        _bulk(conn, Finding.__table__, findings)
        counts["audits"] = len(audits)
        # risk points and their links
        risks, links = [], []
        for i in range(1, 31):
            lk, sv = rng.randint(1, 5), rng.randint(1, 5)
            risks.append(
                {
                    "id": i,
                    "number": f"RP-{i:03d}",
                    "process": f"过程 {i}",
                    "department_id": depts[codes[i % len(codes)]],
                    "cause": "原因",
                    "consequence": "后果",
                    "likelihood": lk,
                    "severity": sv,
                    "score": lk * sv,
                    "controls": "控制",
                    "owner_id": officer,
                    "review_date": today + timedelta(days=rng.randint(-30, 300)),
                    "created_by_id": officer,
                    "created_at": now,
                }
            )
            for k in range(rng.randint(0, 12)):
                links.append(
                    {
                        "risk_point_id": i,
                        "object_ref": f"nonconformity:NC-{i}-{k}",
                        "created_by_id": officer,
                        "created_at": _at(rng, first, span),
                    }
                )
        _bulk(conn, RiskPoint.__table__, risks)
        _bulk(conn, RiskLink.__table__, links)
        # KPIs: computed (organisation and departments), SERVQUAL, entered
        kpis, targets, values = [], [], []
        months = []
        d = date(today.year - 2, 1, 1)
        while d <= today:
            months.append(f"{d.year}-{d.month:02d}")
            d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        for n in range(1, args.kpis + 1):
            if n <= 5:
                source, params, dept = (
                    f"servqual_{SERVQUAL[n - 1]}",
                    {"record_type": rtypes[1]["code"]},
                    None,
                )
                params = {"record_type": rtypes[0]["code"]}
            elif n <= 25:
                source, params = COMPUTED[n % len(COMPUTED)], {}
                dept = None if n <= 10 else depts[codes[n % len(codes)]]
            else:
                source, params, dept = "entered", {}, depts[codes[n % len(codes)]]
            kpis.append(
                {
                    "id": n,
                    "code": f"KPI-{n:02d}",
                    "name": f"指标 {n}",
                    "unit": "",
                    "direction": "higher",
                    "period_kind": "month",
                    "source": source,
                    "params_json": json.dumps(params),
                    "department_id": dept,
                    "breach_periods": 3,
                    "is_active": True,
                    "created_by_id": officer,
                    "created_at": now,
                }
            )
            for m in months:
                targets.append({"kpi_id": n, "period": m, "target": 90.0, "warning": 80.0})
                # as in a running organisation, every month before the last two is closed:
                # its value frozen (computed KPIs too); the open ones are computed live
                frozen = m < months[-2]
                if source == "entered" or frozen:
                    values.append(
                        {
                            "kpi_id": n,
                            "period": m,
                            "value": rng.uniform(84, 100),
                            "frozen": frozen,
                            "entered_by_id": officer,
                            "entered_at": now,
                            "frozen_at": now if frozen else None,
                        }
                    )
        _bulk(conn, Kpi.__table__, kpis)
        _bulk(conn, KpiTarget.__table__, targets)
        _bulk(conn, KpiValue.__table__, values)
        _bulk(
            conn,
            KpiPeriodClose.__table__,
            [{"period": m, "closed_by_id": officer, "closed_at": now} for m in months[:-2]],
        )
        counts["kpis"] = len(kpis)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for table in (
                "document",
                "revision",
                "issue",
                "record_type",
                "record_schema",
                "complaint",
                "complaint_category",
                "nonconformity",
                "audit",
                "audit_checklist_item",
                "risk_point",
                "kpi",
            ):
                sql = (
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                    "(SELECT COALESCE(MAX(id), 1) FROM {t}))"
                )
                conn.exec_driver_sql(sql.format(t=table))  # our own table names, not input
            conn.exec_driver_sql("ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    counts["seconds"] = time.perf_counter() - started
    counts["chair"] = gm.username
    del persons
    return counts


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db, local_today
    from app.people.models import User
    from app.reviews import report, services

    instance = Instance(args.database_url, args.keep)
    app = None
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        today = local_today()
        with app.app_context():
            upgrade()
            seeded = seed(args, today)
            db.session.remove()
        print(
            f"seeded in {seeded['seconds']:.0f} s: {seeded['documents']:,} documents, "
            f"{seeded['records']:,} records, {seeded['complaints']:,} complaints, "
            f"{seeded['ncs']:,} NCs, {seeded['audits']:,} audits, {seeded['kpis']} KPIs",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()
        compiles = []
        number = None
        start_day = today - timedelta(days=365)
        for run in range(args.runs):
            with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
                officer = db.session.scalar(db.select(User).where(User.username == "officer"))
                r = services.plan(
                    db.session,
                    officer,
                    period_start=start_day,
                    period_end=today,
                    planned_date=today + timedelta(days=7 + run),
                    chair="gm",
                )
                db.session.commit()
                began = time.perf_counter()
                snap = services.compile_inputs(db.session, officer, r)
                db.session.commit()
                compiles.append((time.perf_counter() - began, len(snap.content_json)))
                number = r.number
                db.session.remove()
        pdfs = []
        for _ in range(3):
            with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
                r = services.get_review(db.session, number)
                began = time.perf_counter()
                data = report.render_report(r)
                pdfs.append((time.perf_counter() - began, len(data)))
                db.session.remove()
        print()
        print(f"backend: {instance.backend}; machine: {_machine()}")
        print(
            "compile (a year, previous year compared): "
            + ", ".join(f"{s:.2f} s" for s, _ in compiles)
            + f" (snapshot {compiles[0][1] // 1024} KiB; the first is the process's first)"
        )
        print(
            "report PDF: "
            + ", ".join(f"{s:.2f} s ({size // 1024} KiB)" for s, size in pdfs)
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
