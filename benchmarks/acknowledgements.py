"""Read-and-understood acknowledgements at scale: issuing a revision to 5,000 people, and
the acknowledgement matrix of 200 documents × 5,000 people.

Issue 4: "issuing a revision to 5,000 people creates their tasks in under 5 s, and the
matrix for 200 documents × 5,000 people renders in under 1 s server time".

For each backend (SQLite in a temporary instance dir, and/or a new PostgreSQL database
that the script creates and drops) the script builds a throw-away qdms instance, migrates
it with the real migrations and seeds 20 departments and 5,000 active people (plus a few
inactive leavers) and 200 effective documents that require training, each with its
effective revision. Then:

- Set-up: all documents but the last few are issued electronically to every department
  by bulk inserts — the issue, its lines, copies and copy sequence, and one task per
  person with a mix of done, open and overdue — as ``services.issue`` would have written
  them, backdated over two years (without the outbox mail, the audit event of each
  issue and the signatures behind the done tasks, which nothing measured reads).
- Scenario A: the remaining documents are issued through the real code to the same
  distribution (every department, electronic): ``--issues`` of them with
  ``services.parse_distribution`` + ``services.issue`` + commit, timed one by one with
  their SQL statements, and ``--api-issues`` through ``POST /api/v1/.../issue``. They
  go into a table that already holds the others' tasks, so at the end there are
  documents × people tasks (1,000,000 at the default size).
- Scenario B: ``GET /api/v1/acknowledgements/matrix`` through the Flask test client with
  an officer's bearer token (the API returns the whole table; there is no HTML matrix
  page yet): by department as JSON, CSV and .xlsx, by person as JSON and CSV, one
  department, and as a department head; p50/p95 server time and SQL statements.

The matrix is read through ``ix_acknowledgement_revision_department`` (migration 0006,
first measured here as a proposal). The script prints whether each target is met;
it exits 1 only when something fails to run (an error, or a count that does not add up),
not when a target is missed.

    .venv/bin/python benchmarks/acknowledgements.py                  # both backends
    .venv/bin/python benchmarks/acknowledgements.py --backend sqlite --people 500 --documents 20
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import secrets
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import Instance, QueryCounter, _machine  # noqa: E402

PASSWORD = "Bench-2026!"  # noqa: S105 - throw-away users of a throw-away database
ISSUE_TARGET_S = 5.0
MATRIX_TARGET_MS = 1000.0
ACK_DAYS = 14

# code, name, relative size (people)
DEPARTMENTS = [
    ("GM", "总经理办公室", 1),
    ("QA", "质量管理部", 3),
    ("CS", "客户服务部", 14),
    ("OM", "运维检修部", 12),
    ("MK", "营销部", 6),
    ("HR", "人力资源部", 2),
    ("FN", "财务部", 2),
    ("IT", "信息技术部", 5),
    ("PU", "采购部", 2),
    ("LG", "后勤保障部", 4),
    ("HC", "热线中心", 10),
    ("FS", "现场服务部", 9),
    ("DC", "数据中心运维部", 6),
    ("SA", "安全监察部", 2),
    ("LE", "法务部", 1),
    ("PM", "项目管理部", 3),
    ("TR", "培训中心", 2),
    ("EC", "华东分公司", 7),
    ("SC", "华南分公司", 6),
    ("NC", "华北分公司", 5),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
GIVEN += ["涛", "明", "超", "秀英", "华", "平", "建国", "志强", "海燕", "晓东", "雪梅"]
TOPICS = [
    "客户投诉处理",
    "服务补救",
    "设备巡检",
    "预防性维护",
    "故障抢修",
    "数据备份与恢复",
    "账号权限管理",
    "信息安全事件响应",
    "变更管理",
    "供应商评价",
    "内部审核",
    "纠正措施",
    "文件控制",
    "培训管理",
    "消防安全检查",
    "应急预案演练",
]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--people", type=int, default=5000, help="active people (the audience)")
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--issues", type=int, default=3, help="issues timed through the service")
    parser.add_argument("--api-issues", type=int, default=1, help="issues timed through the API")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per matrix scenario")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (postgresql://USER@HOST:PORT); a new database "
        "qdms_bench_ack_<random> is created there and dropped at the end",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    args = parser.parse_args(argv)
    if args.people < 2 * len(DEPARTMENTS):
        parser.error(f"at least {2 * len(DEPARTMENTS)} people")
    if args.issues < 1 or args.api_issues < 0:
        parser.error("at least one issue through the service")
    if args.documents < args.issues + args.api_issues + 1:
        parser.error("documents must exceed --issues + --api-issues")
    if args.runs < 2 or args.warmup < 0:
        parser.error("at least 2 runs")
    if not args.pg_url.startswith("postgresql://"):
        parser.error("--pg-url takes a postgresql:// URL")
    return args


# Seeding --------------------------------------------------------------------------------


@dataclass
class Seeded:
    officer_id: int
    head_username: str  # a department head (the matrix of their department)
    head_dept: str
    departments: list[str]
    people: int  # active people, the audience of an issue
    leavers: int
    bulk: list[tuple[str, int]]  # (number, revision id) issued by bulk insert
    timed: list[tuple[str, int]]  # (number, revision id) left for scenario A
    statuses: dict[str, int] = field(default_factory=dict)  # of the bulk-inserted tasks


def _people_rows(args, rng, dept_ids: dict[str, int], password_hash: str, now: datetime):
    """args.people - 1 active people (the officer is the last) and 2 % inactive leavers,
    spread over the departments by size."""
    weights = [w for _, _, w in DEPARTMENTS]
    codes = [c for c, _, _ in DEPARTMENTS]
    active = args.people - 1
    # every department has at least two people; the rest by weight
    depts = [c for c in codes for _ in range(2)]
    depts += rng.choices(codes, weights, k=active - len(depts))
    leavers = max(1, args.people // 50)
    depts += rng.choices(codes, weights, k=leavers)
    rows, counters = [], dict.fromkeys(codes, 0)
    for i, code in enumerate(depts):
        counters[code] += 1
        username = f"{code.lower()}{counters[code]:04}"
        roll = rng.random()
        rows.append(
            {
                "username": username,
                "full_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "email": f"{username}@example.com",
                "department_id": dept_ids[code],
                "language": None if roll < 0.85 else "zh_CN" if roll < 0.95 else "en",
                "is_active": i < active,
                "password_hash": password_hash,
                "failed_logins": 0,
                "password_changed_at": now,
                "created_at": now - timedelta(days=rng.uniform(1, 3000)),
            }
        )
    return rows, leavers


def _task_status(rng, age: float, issued: datetime, now: datetime):
    """Status, signed_at of one person's task for a revision issued ``age`` days ago."""
    if age < ACK_DAYS:
        p_done = 0.9 * age / ACK_DAYS
    elif age < 30:
        p_done = 0.85
    else:
        p_done = 0.95
    if rng.random() < p_done:
        signed = issued + timedelta(days=rng.uniform(0, min(age, ACK_DAYS + 7)))
        return "done", min(signed, now)
    return ("open" if age < ACK_DAYS else "overdue"), None


def seed(args, rng) -> Seeded:
    from sqlalchemy import insert, select, text, update

    from app.distribution.models import (
        Acknowledgement,
        ControlledCopy,
        DistributionLine,
        Issue,
    )
    from app.documents.models import Document, DocumentType, Revision
    from app.extensions import db, local_today
    from app.passwords import hash_password
    from app.people import services as people
    from app.people.models import User, UserRole
    from app.sequences import NumberSequence

    session = db.session
    now = datetime.now(UTC)
    today = local_today()
    # Departments and the officer through the people services.
    depts = {c: people.create_department(session, None, c, n) for c, n, _ in DEPARTMENTS}
    officer = people.create_user(
        session,
        None,
        username="officer",
        full_name="质量专员",
        password=PASSWORD,
        roles=["officer", "author", "staff"],
        department=depts["QA"],
        language="zh_CN",
    )
    session.commit()
    dept_ids = {c: d.id for c, d in depts.items()}
    rows, leavers = _people_rows(args, rng, dept_ids, hash_password(PASSWORD), now)
    session.execute(insert(User.__table__), rows)
    users = session.execute(
        select(User.id, User.username, User.department_id, User.is_active).where(
            User.id != officer.id
        )
    ).all()
    session.execute(insert(UserRole.__table__), [{"user_id": u.id, "role": "staff"} for u in users])
    session.commit()
    # A head for each department (its first member), through the service.
    by_id = {u.id: u for u in users}
    first: dict[int, int] = {}
    for u in users:
        if u.is_active:
            first.setdefault(u.department_id, u.id)
    for dept in depts.values():
        head = session.get(User, first[dept.id])
        people.update_department(session, None, dept, name=dept.name, head=head, is_active=True)
    session.commit()
    head_dept = "CS"
    head_username = by_id[first[dept_ids[head_dept]]].username
    audience = sorted((u.id, u.department_id) for u in users if u.is_active)
    audience.append((officer.id, officer.department_id))
    assert len(audience) == args.people, (len(audience), args.people)

    # 200 effective documents that require training, one effective revision each.
    types = {t.code: t for t in session.scalars(select(DocumentType))}
    codes = [c for c, _, _ in DEPARTMENTS]
    counters: dict[str, int] = {}
    docs = []
    for i in range(args.documents):
        type_code = "QP" if i % 4 == 0 else "WI"
        code = codes[i % len(codes)]
        key = f"{type_code}-{code}"
        counters[key] = counters.get(key, 0) + 1
        created = now - timedelta(days=rng.uniform(60, 2000))
        docs.append(
            {
                "number": f"{key}-{counters[key]:03}",
                "title": f"{rng.choice(TOPICS)}{'程序' if type_code == 'QP' else '作业指导书'}",
                "type_id": types[type_code].id,
                "department_id": dept_ids[code],
                "parent_id": None,
                "confidentiality": "internal",
                "training_required": True,
                "review_interval_months": types[type_code].review_interval_months,
                "review_due_date": today + timedelta(days=rng.randint(30, 700)),
                "retention": {"years": 3, "from": "superseded"},
                "status": "effective",
                "created_by_id": officer.id,
                "created_at": created,
            }
        )
    session.execute(insert(Document.__table__), docs)
    doc_ids = dict(session.execute(select(Document.number, Document.id)).all())
    # When each document's revision was issued: a fifth within the last two weeks (tasks
    # not yet due), a tenth within the month, the rest over two years.
    issued_at = {}
    for d in docs:
        roll = rng.random()
        days = rng.uniform(0.2, 13.5) if roll < 0.2 else rng.uniform(14.5, 30) if roll < 0.3 else 0
        issued_at[d["number"]] = now - timedelta(days=days or rng.uniform(30, 730))
    revisions = [
        {
            "document_id": doc_ids[d["number"]],
            "major": "A",
            "minor": 0,
            "status": "effective",
            "change_type": "initial",
            "change_summary": "首次发布",
            "change_reason": "新文件",
            "author_id": officer.id,
            "review_round": 1,
            "effective_date": (issued_at[d["number"]] - timedelta(hours=2)).date(),
            "created_at": d["created_at"],
            "submitted_at": d["created_at"] + timedelta(days=1),
            "approved_at": issued_at[d["number"]] - timedelta(hours=3),
            "effective_at": issued_at[d["number"]] - timedelta(hours=2),
        }
        for d in docs
    ]
    session.execute(insert(Revision.__table__), revisions)
    rev_ids = dict(session.execute(select(Revision.document_id, Revision.id)).all())
    session.execute(
        update(Document.__table__).values(
            current_revision_id=select(Revision.id)
            .where(Revision.document_id == Document.__table__.c.id)
            .scalar_subquery()
        )
    )
    session.commit()
    numbers = [d["number"] for d in docs]
    revs = [(n, rev_ids[doc_ids[n]]) for n in numbers]
    n_timed = args.issues + args.api_issues
    bulk, timed = revs[:-n_timed], revs[-n_timed:]

    # The bulk issues: what services.issue writes for an electronic issue to every
    # department (one line and one electronic copy per department, one task per person).
    statuses = dict.fromkeys(("done", "open", "overdue"), 0)
    dept_list = sorted(depts.values(), key=lambda d: d.code)
    started = time.perf_counter()
    session.execute(
        insert(Issue.__table__),
        [
            {
                "revision_id": rev_id,
                "issued_by_id": officer.id,
                "issued_at": issued_at[number],
                "training_required": True,
                "acknowledge_within_days": ACK_DAYS,
            }
            for number, rev_id in bulk
        ],
    )
    issue_ids = dict(session.execute(select(Issue.revision_id, Issue.id)).all())
    session.execute(
        insert(DistributionLine.__table__),
        [
            {
                "issue_id": issue_ids[rev_id],
                "revision_id": rev_id,
                "recipient_kind": "department",
                "department_id": dept.id,
                "medium": "electronic",
                "copies": 1,
            }
            for _, rev_id in bulk
            for dept in dept_list
        ],
    )
    lines = session.execute(
        select(DistributionLine.id, DistributionLine.revision_id).order_by(DistributionLine.id)
    ).all()
    seqs: dict[int, int] = {}
    copies = []
    numbers_of = {rev_id: number for number, rev_id in bulk}
    for line_id, rev_id in lines:
        seqs[rev_id] = seq = seqs.get(rev_id, 0) + 1
        copies.append(
            {
                "copy_no": f"{numbers_of[rev_id]}-A0-C{seq:02}",
                "revision_id": rev_id,
                "line_id": line_id,
                "seq": seq,
                "medium": "electronic",
                "status": "issued",
                "issued_by_id": officer.id,
                "issued_at": issued_at[numbers_of[rev_id]],
            }
        )
    session.execute(insert(ControlledCopy.__table__), copies)
    session.execute(
        insert(NumberSequence.__table__),
        [{"key": f"copy:{rev_id}", "last_value": n} for rev_id, n in seqs.items()],
    )
    session.commit()
    conn = session.connection()
    for number, rev_id in bulk:
        issued = issued_at[number]
        age = (now - issued).total_seconds() / 86400
        due = issued.date() + timedelta(days=ACK_DAYS)
        tasks = []
        for uid, did in audience:
            status, signed = _task_status(rng, age, issued, now)
            statuses[status] += 1
            tasks.append(
                {
                    "revision_id": rev_id,
                    "user_id": uid,
                    "issue_id": issue_ids[rev_id],
                    "department_id": did,
                    "status": status,
                    "due_date": due,
                    "created_at": issued,
                    "signed_at": signed,
                    "closed_at": signed,
                }
            )
        conn.execute(insert(Acknowledgement.__table__), tasks)
    session.commit()
    print(
        f"  bulk-inserted {len(bulk)} issues and {sum(statuses.values()):,} tasks in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    if session.get_bind().dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))  # what autovacuum does soon after a bulk load
    return Seeded(
        officer_id=officer.id,
        head_username=head_username,
        head_dept=head_dept,
        departments=[d.code for d in dept_list],
        people=len(audience),
        leavers=leavers,
        bulk=bulk,
        timed=timed,
        statuses=statuses,
    )


# Measuring ------------------------------------------------------------------------------


@dataclass
class IssueResult:
    how: str
    seconds: list[float]
    queries: list[int]
    tasks: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Result:
    scenario: str
    url: str
    rows: int
    p50: float
    p95: float
    queries: tuple[int, int]
    kib: float


def _distribution(codes: list[str]) -> list[dict]:
    return [{"department": c, "medium": "electronic"} for c in codes]


def scenario_issue(app, counter, seeded: Seeded, args, token: str) -> list[IssueResult]:
    """Issue the remaining documents through the real code, one at a time."""
    from sqlalchemy import func, select

    from app.distribution import services
    from app.distribution.models import Acknowledgement
    from app.documents.models import Revision
    from app.extensions import db
    from app.notifications.models import OutboxMessage
    from app.people.models import User

    entries = _distribution(seeded.departments)
    service = IssueResult("parse_distribution + issue + commit", [], [], [])
    api = IssueResult("API POST …/revisions/A0/issue", [], [], [])
    for i, (number, rev_id) in enumerate(seeded.timed):
        through_api = i >= args.issues
        with app.app_context():
            session = db.session
            mail_before = session.scalar(select(func.count()).select_from(OutboxMessage))
            gc.collect()
            if through_api:
                client = app.test_client()
                counter.count = 0
                start = time.perf_counter()
                response = client.post(
                    f"/api/v1/documents/{number}/revisions/A0/issue",
                    json={"distribution": entries, "training_required": True},
                    headers={"Authorization": f"Bearer {token}"},
                )
                elapsed = time.perf_counter() - start
                if response.status_code != 201:
                    raise RuntimeError(f"issue {number}: {response.status_code} {response.json}")
                result = api
            else:
                officer = session.get(User, seeded.officer_id)
                revision = session.get(Revision, rev_id)
                counter.count = 0
                start = time.perf_counter()
                specs = services.parse_distribution(session, entries)
                services.issue(session, officer, revision, distribution=specs)
                session.commit()
                elapsed = time.perf_counter() - start
                result = service
            queries = counter.count
        with app.app_context():
            session = db.session
            tasks = session.scalar(
                select(func.count())
                .select_from(Acknowledgement)
                .where(Acknowledgement.revision_id == rev_id, Acknowledgement.status == "open")
            )
            mail = session.scalar(select(func.count()).select_from(OutboxMessage)) - mail_before
        if tasks != seeded.people or mail != seeded.people:
            raise RuntimeError(
                f"issue of {number} opened {tasks} tasks and queued {mail} messages, "
                f"expected {seeded.people} of each"
            )
        result.seconds.append(elapsed)
        result.queries.append(queries)
        result.tasks.append(tasks)
        print(
            f"  A: {result.how} {number}: {elapsed:.2f} s, {queries} queries, {tasks:,} tasks",
            file=sys.stderr,
        )
    return [r for r in (service, api) if r.seconds]


def _rows(response, fmt: str) -> int:
    if fmt == "json":
        return len(response.get_json()["rows"])
    if fmt == "csv":
        return response.get_data().count(b"\n") - 1
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(response.get_data()), read_only=True).active.max_row - 1


def measure(client, counter, name, url, headers, args) -> Result:
    fmt = "csv" if "format=csv" in url else "xlsx" if "format=xlsx" in url else "json"
    times, queries, rows, sizes = [], [], [], []
    for i in range(args.warmup + args.runs):
        counter.count = 0
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        if i >= args.warmup:
            times.append(elapsed * 1000)
            queries.append(counter.count)
            rows.append(_rows(response, fmt))
            sizes.append(len(response.get_data()))
    return Result(
        name,
        url,
        round(statistics.median(rows)),
        statistics.median(times),
        statistics.quantiles(times, n=20)[18],
        (min(queries), max(queries)),
        statistics.median(sizes) / 1024,
    )


def scenario_matrix(app, counter, seeded: Seeded, args, tokens: dict) -> list[Result]:
    base = "/api/v1/acknowledgements/matrix"
    dept = seeded.head_dept
    scenarios = [
        ("matrix by department, JSON", base, "officer"),
        ("matrix by department, CSV", f"{base}?format=csv", "officer"),
        ("matrix by department, .xlsx", f"{base}?format=xlsx", "officer"),
        ("matrix by person, JSON", f"{base}?by=person", "officer"),
        ("matrix by person, CSV", f"{base}?by=person&format=csv", "officer"),
        (f"matrix, department={dept}", f"{base}?department={dept}", "officer"),
        (f"matrix as the head of {dept}", base, "head"),
        (f"matrix by person as the head of {dept}", f"{base}?by=person", "head"),
    ]
    client = app.test_client()
    results = []
    for name, url, who in scenarios:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        result = measure(client, counter, name, url, headers, args)
        results.append(result)
        print(
            f"  B: {name}: p50 {result.p50:.0f} ms, p95 {result.p95:.0f} ms, "
            f"{result.rows} rows, {result.queries[1]} queries",
            file=sys.stderr,
        )
    return results


def _check_matrix(app, seeded: Seeded, args, token: str) -> dict:
    """The matrix adds up: one row per document, documents × people tasks."""
    client = app.test_client()
    body = client.get(
        "/api/v1/acknowledgements/matrix", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    headers = body["headers"]
    i_done, i_total, i_overdue = (len(headers) - 3, len(headers) - 2, len(headers) - 1)
    total = sum(r[i_total] for r in body["rows"])
    done = sum(r[i_done] for r in body["rows"])
    overdue = sum(r[i_overdue] for r in body["rows"])
    expected = args.documents * seeded.people
    if len(body["rows"]) != args.documents or total != expected:
        raise RuntimeError(
            f"the matrix shows {len(body['rows'])} documents and {total:,} tasks; "
            f"expected {args.documents} and {expected:,}"
        )
    if done != seeded.statuses["done"]:
        raise RuntimeError(f"the matrix shows {done:,} done, seeded {seeded.statuses['done']:,}")
    return {"tasks": total, "done": done, "overdue": overdue, "open": total - done - overdue}


# One backend ----------------------------------------------------------------------------


@dataclass
class BackendRun:
    backend: str
    seconds_seed: float = 0
    seconds_all: float = 0
    counts: dict = field(default_factory=dict)
    seeded: Seeded | None = None
    issues: list[IssueResult] = field(default_factory=list)
    matrix: list[Result] = field(default_factory=list)


def run_backend(args, backend: str) -> BackendRun:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.auth import services as auth
    from app.extensions import db
    from app.people.models import User

    database_url = None
    if backend == "postgresql":
        database_url = f"{args.pg_url.rstrip('/')}/qdms_bench_ack_{secrets.token_hex(4)}"
    instance = Instance(database_url, args.keep)
    rng = random.Random(args.seed)
    run = BackendRun(instance.backend)
    app = None
    started = time.perf_counter()
    print(f"{run.backend}: {instance.url}", file=sys.stderr)
    try:
        app = create_app(instance.config())
        with app.app_context():
            upgrade()
            seeded = seed(args, rng)
            officer = db.session.get(User, seeded.officer_id)
            head = db.session.scalar(select(User).where(User.username == seeded.head_username))
            tokens = {
                "officer": auth.create_token(db.session, None, officer, "bench"),
                "head": auth.create_token(db.session, None, head, "bench"),
            }
            db.session.commit()
            if instance.pg_name:
                server = db.session.scalar(select(func.version())) or ""
                run.backend += " " + server.split(" on ")[0].removeprefix("PostgreSQL ")
            engine = db.engine
            db.session.remove()
        run.seeded = seeded
        run.seconds_seed = time.perf_counter() - started
        gc.collect()
        counter = QueryCounter(engine)
        run.issues = scenario_issue(app, counter, seeded, args, tokens["officer"])
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE acknowledgement"))  # as autovacuum would, soon
        run.counts = _check_matrix(app, seeded, args, tokens["officer"])
        gc.collect()
        run.matrix = scenario_matrix(app, counter, seeded, args, tokens)
        run.seconds_all = time.perf_counter() - started
        return run
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        instance.close()


# Report ---------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _q(queries) -> str:
    lo, hi = min(queries), max(queries)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def report(run: BackendRun, args) -> str:
    s, c = run.seeded, run.counts
    out = [
        f"qdms acknowledgements benchmark — {run.backend}: {len(s.departments)} departments, "
        f"{s.people:,} active people (+{s.leavers} inactive), {args.documents} documents, "
        f"{c['tasks']:,} live or done tasks ({c['done']:,} done, {c['open']:,} open, "
        f"{c['overdue']:,} overdue)",
        f"seeding {run.seconds_seed:.0f} s, in all {run.seconds_all:.0f} s. {len(s.bulk)} "
        f"documents were issued by bulk insert (their rows as services.issue writes them, "
        f"no mail, audit event or signatures); the other {len(s.timed)} through the real "
        f"code, timed in A, into the table holding the others' tasks.",
        "",
        f"A. Issue one revision electronically to all {len(s.departments)} departments "
        f"({s.people:,} people); target < {ISSUE_TARGET_S:.0f} s",
        "",
        "| how | issues | tasks each | median s | max s | queries | target |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in run.issues:
        out.append(
            f"| {r.how} | {len(r.seconds)} | {r.tasks[0]:,} | {r.median:.2f} | "
            f"{max(r.seconds):.2f} | {_q(r.queries)} | {_met(max(r.seconds) < ISSUE_TARGET_S)} |"
        )
    out += [
        "",
        f"B. The acknowledgement matrix ({args.documents} documents × {s.people:,} people), "
        f"server time through the Flask test client, {args.runs} requests after "
        f"{args.warmup} warm-up; target < {MATRIX_TARGET_MS:.0f} ms",
        "",
        "| request | rows | p50 ms | p95 ms | queries | KiB | target (p95) |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in run.matrix:
        out.append(
            f"| {r.scenario} | {r.rows:,} | {r.p50:.0f} | {r.p95:.0f} | {_q(r.queries)} | "
            f"{r.kib:,.0f} | {_met(r.p95 < MATRIX_TARGET_MS)} |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    args = _parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    runs, failed = [], False
    for backend in backends:
        try:
            runs.append(run_backend(args, backend))
        except Exception:
            traceback.print_exc()
            print(f"{backend}: the benchmark failed to run", file=sys.stderr)
            failed = True
        gc.collect()
    print()
    print(f"{date.today().isoformat()}, {_machine()}")
    for run in runs:
        print()
        print(report(run, args))
    if runs:
        print()
        print("Targets:")
        for run in runs:
            issue_ok = all(max(r.seconds) < ISSUE_TARGET_S for r in run.issues)
            matrix = run.matrix[0]
            print(
                f"- {run.backend}: issue to {run.seeded.people:,} people < "
                f"{ISSUE_TARGET_S:.0f} s: {_met(issue_ok)} (median "
                f"{run.issues[0].median:.2f} s); matrix < {MATRIX_TARGET_MS:.0f} ms: "
                f"{_met(matrix.p95 < MATRIX_TARGET_MS)} (p50 {matrix.p50:.0f} ms, "
                f"p95 {matrix.p95:.0f} ms)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
