"""Controlled documents at scale: the document list, the document page and the master list.

Issue 3, acceptance point 6. The script builds a throw-away qdms instance (temporary
instance dir, docs store and database: SQLite by default, or a new PostgreSQL database
that it creates and drops), migrates it with the real migrations, and seeds it with
10,000 documents and 30,000 revisions. Then it logs in through the real login form as a
quality officer (sees everything) and as a staff member (the ``visible_documents``
filter applies) and times each page with the Flask test client: p50/p95 server time and
the number of SQL statements per request.

A page's query count must not grow with the rows it shows (no N+1): the second table
measures pages in pairs that differ only in how many rows they show (20 or 200 per API
page, the small GM department or all of the master list, a document with 1 or 5
revisions, with no forms or the most), and the script exits 1 if the larger one issues
more statements.

Seeding. Departments and users go through the people services (a few dozen rows, real
argon2 hashes at a cheap cost, real audit events). Documents, revisions, participants,
signatures, ``stored_blob`` rows and the documents' audit events are written with bulk
``insert()`` in batches: through the services, 30,000 revisions would mean some 60,000
signatures, each an argon2 password check, and 200,000 audit events appended one by one.
The rows are what the services would have written — the same statuses, labels, time
stamps, signatures (with ``revision_signature`` links) and audit events — backdated over
six years. The audit events form a valid hash chain, computed with the trail's own
``canonical_json`` and ``seal`` (and the signatures sealed with ``seal_of``, the head with
``head_mac``: ``qdms verify`` passes on the seeded database),
because the document page shows the trail to officers and its query must meet a
realistically large ``audit_event`` table. The ``stored_blob`` rows satisfy the foreign
key but their files are not written: none of the measured pages reads a file (the
revision page, which does, is not measured), so ``qdms check`` would fail here.

    .venv/bin/python benchmarks/documents.py
    .venv/bin/python benchmarks/documents.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/qdms_bench_documents
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Bench-2026!"  # noqa: S105 - throw-away users of a throw-away database
BATCH = 2000

# code, name, share of the documents (GM is the small department of the N+1 checks)
DEPARTMENTS = [
    ("GM", "总经理办公室", 2),
    ("QA", "质量管理部", 9),
    ("CS", "客户服务部", 20),
    ("OM", "运维检修部", 22),
    ("MK", "营销部", 8),
    ("HR", "人力资源部", 6),
    ("FN", "财务部", 5),
    ("IT", "信息技术部", 13),
    ("PU", "采购部", 5),
    ("LG", "后勤保障部", 10),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
GIVEN += ["涛", "明", "超", "秀英", "华", "平", "建国", "志强", "海燕", "晓东", "雪梅"]

# fmt: off
TOPICS_ZH = [
    "客户投诉处理", "服务补救", "投诉回访", "满意度调查", "呼叫中心质检", "工单派发",
    "设备巡检", "备品备件管理", "预防性维护", "故障抢修", "配电房巡视", "机房环境监控",
    "数据备份与恢复", "账号权限管理", "信息安全事件响应", "变更管理", "合同评审",
    "供应商评价", "采购验收", "仓库收发", "内部审核", "管理评审", "不合格服务控制",
    "纠正措施", "风险和机遇应对", "文件控制", "记录控制", "培训管理", "岗位资格认定",
    "新员工入职", "绩效考核", "费用报销", "发票管理", "营销活动审批", "客户资料保密",
    "车辆调度", "消防安全检查", "食堂卫生管理", "应急预案演练", "服务质量监督",
]
TOPICS_EN = [
    "Customer complaint handling", "Service recovery", "Complaint follow-up calls",
    "Customer satisfaction survey", "Call quality monitoring", "Work order dispatch",
    "Equipment inspection", "Spare parts management", "Preventive maintenance",
    "Breakdown repair", "Data backup and restore", "Access rights management",
    "Supplier evaluation", "Internal audit", "Management review", "Corrective action",
    "Training management", "Incident response", "Change management", "Fire safety check",
]
# fmt: on
SITES = ["华东区", "华南区", "北京分公司", "上海分公司", "成都服务中心", "武汉备件库"]
SITES += ["一号数据中心", "二号数据中心", "10kV配电房", "热线中心", "总部", "西安分部"]
SITES_EN = ["East China", "South China", "Beijing branch", "Data centre 1", "Hotline centre"]
SUFFIX = {
    "QM": ("质量手册", "Quality manual"),
    "QP": ("程序", "procedure"),
    "WI": ("作业指导书", "work instruction"),
    "SP": ("服务规范", "service standard"),
}
FORM_SUFFIX_ZH = ["记录表", "登记表", "检查表", "申请单", "台账"]
FORM_SUFFIX_EN = ["record form", "checklist", "request form", "log"]
SENTENCES = [
    "本程序规定了{t}的职责、流程和记录要求，适用于公司各部门。",
    "接到信息后，责任人应在两个工作日内完成初步处理并记录在案。",
    "部门负责人每月对执行情况进行检查，发现问题时发起纠正措施。",
    "质量管理部负责本文件的归口管理和定期评审，评审周期为两年。",
    "涉及客户信息的资料应按保密要求保存，未经批准不得对外提供。",
    "Records are kept for three years after the revision is superseded.",
    "每项工作完成后，操作人员应填写相应表单并由班组长签字确认。",
    "出现重大偏差时，应立即报告部门负责人，并在24小时内提交书面说明。",
    "The department head reviews the results monthly and reports trends.",
    "相关人员应经过培训并考核合格后方可独立上岗。",
    "本文件自批准之日起实施，原版本同时作废并按规定回收。",
    "现场检查发现的问题应拍照留存，录入系统并跟踪至关闭。",
]
CHANGES = [
    ("更新职责分工", "组织机构调整"),
    ("增加回访时限要求", "客户投诉分析发现回访不及时"),
    ("修订表单编号", "表单合并"),
    ("按内审发现修订第4.3条", "内部审核不符合项NC-{n}整改"),
    ("Clarified escalation steps", "Management review action"),
    ("补充应急处置流程", "演练发现流程缺口"),
    ("调整巡检周期", "设备运行数据分析"),
    ("统一术语和引用文件", "标准换版"),
]
REJECT_COMMENTS = ["第3节职责描述不清，请补充。", "请附上培训要求。", "Please cite the form."]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=30_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--database-url",
        help="postgresql://USER@HOST:PORT/NAME: create the database NAME (it must not "
        "exist), use it and drop it at the end; default: SQLite in the temporary instance dir",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    args = parser.parse_args(argv)
    problem = size_problem(args.documents, args.revisions)
    if problem:
        parser.error(problem)
    if args.database_url and not args.database_url.startswith("postgresql://"):
        parser.error("--database-url takes a postgresql:// URL (SQLite is the default)")
    return args


def size_problem(documents: int, revisions: int) -> str | None:
    """Why the generator cannot make this many documents and revisions, if it cannot."""
    if not documents <= revisions <= 5 * documents:
        return "each document has 1 to 5 revisions: documents ≤ revisions ≤ 5 × documents"
    if documents < 100:
        return "at least 100 documents"
    return None


# Throw-away instance ---------------------------------------------------------------------


class Instance:
    """A temporary instance dir and database; ``close`` removes both."""

    def __init__(self, database_url: str | None, keep: bool):
        self.root = Path(tempfile.mkdtemp(prefix="qdms-bench-documents-"))
        self.keep = keep
        self.pg_admin_url = None
        self.pg_name = None
        if database_url:
            parts = urlsplit(database_url)
            self.pg_name = parts.path.lstrip("/") or f"qdms_bench_{self.root.name[-8:].lower()}"
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.pg_name):
                raise SystemExit(f"unsafe PostgreSQL database name {self.pg_name!r}")
            base = database_url.split("://", 1)[1].rsplit("/", 1)[0]
            self.pg_admin_url = f"postgresql://{base}/postgres"
            with self._pg_admin() as conn:
                if conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (self.pg_name,)
                ).fetchone():
                    raise SystemExit(
                        f"database {self.pg_name} exists; the benchmark only uses a new one"
                    )
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.url = f"postgresql+psycopg://{base}/{self.pg_name}"
        else:
            self.url = f"sqlite:///{self.root / 'qdms.sqlite3'}"

    def _pg_admin(self):
        import psycopg

        return psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=5)

    @property
    def backend(self) -> str:
        import sqlite3

        return "PostgreSQL" if self.pg_name else f"SQLite {sqlite3.sqlite_version}"

    def config(self) -> dict:
        return {
            "SQLALCHEMY_DATABASE_URI": self.url,
            "QDMS_INSTANCE_DIR": str(self.root / "instance"),
            "QDMS_DOCS_STORE": str(self.root / "docs_store"),
            "QDMS_INDEX_DIR": str(self.root / "index"),
            "SECRET_KEY": "benchmark-" + self.root.name,
            "QDMS_DEFAULT_LANGUAGE": "zh_CN",
            # Logins are not measured; cheap argon2 keeps the set-up short.
            "QDMS_ARGON2_TIME_COST": 1,
            "QDMS_ARGON2_MEMORY_KIB": 8192,
        }

    def close(self) -> None:
        if self.keep:
            print(f"kept: {self.root} ({self.url})", file=sys.stderr)
            return
        if self.pg_name:
            with self._pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)


# Data generation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    full_name: str


@dataclass
class Rev:
    doc: Doc
    major: str
    minor: int
    status: str
    change_type: str
    created_at: datetime
    author: Person
    id: int = 0
    review_round: int = 0
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    effective_date: date | None = None
    effective_at: datetime | None = None
    superseded_at: datetime | None = None
    obsoleted_at: datetime | None = None
    cancelled_at: datetime | None = None
    effective_actor: Person | None = None  # who made it effective (None: `qdms sweep`)
    sha256: str = ""
    change_summary: str = ""
    change_reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.major}/{self.minor}"


@dataclass
class Doc:
    number: str
    title: str
    type_code: str
    dept: str
    parent: Doc | None
    created_at: datetime
    created_by: Person
    confidentiality: str
    id: int = 0
    status: str = "draft"
    revisions: list[Rev] = field(default_factory=list)
    children: int = 0
    current: Rev | None = None
    withdrawn_at: datetime | None = None
    review_due_date: date | None = None

    @property
    def ref(self) -> str:
        return f"document:{self.number}"


class Generator:
    """Builds the rows the document services would have written, backdated, in memory."""

    def __init__(self, rng: random.Random, people: dict, types: dict, now: datetime):
        self.rng = rng
        self.people = people  # role/department → [Person]
        self.types = types  # code → (id, number_pattern, review_interval_months)
        self.now = now
        self.docs: list[Doc] = []
        self.revisions: list[Rev] = []
        self.signatures: list[dict] = []  # "rev" and "signed_at" keys, ids later
        self.participants: list[dict] = []
        self.events: list[tuple] = []
        self.sequences: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    # titles and text ---------------------------------------------------------------
    def title(self, type_code: str) -> str:
        rng = self.rng
        english = rng.random() < 0.2
        topic = rng.choice(TOPICS_EN if english else TOPICS_ZH)
        if type_code == "F":
            suffix = rng.choice(FORM_SUFFIX_EN if english else FORM_SUFFIX_ZH)
        else:
            suffix = SUFFIX[type_code][1 if english else 0]
        title = f"{topic} {suffix}" if english else f"{topic}{suffix}"
        if type_code == "QM":  # one manual per site
            title = SUFFIX["QM"][1 if english else 0]
        if type_code == "QM" or rng.random() < 0.5:
            title += f" ({rng.choice(SITES_EN)})" if english else f"（{rng.choice(SITES)}）"
        return title

    def text(self, title: str) -> str:
        parts, length = [title], len(title)
        size = self.rng.randint(300, 3000)  # characters: one to a few pages
        while length < size:
            parts.append(self.rng.choice(SENTENCES).format(t=title))
            length += len(parts[-1])
        return "\n".join(parts)

    # documents ---------------------------------------------------------------------
    def make_documents(self, count: int) -> None:
        rng = self.rng
        weights = [w for _, _, w in DEPARTMENTS]
        codes = [c for c, _, _ in DEPARTMENTS]
        counters: dict[str, int] = {}
        n_forms = int(count * 0.40)
        n_manuals = max(1, count // 2000)
        top_types = rng.choices(["QP", "WI", "SP"], weights=[14, 36, 10], k=count - n_forms)
        top_types[:n_manuals] = ["QM"] * n_manuals
        parents = []
        for type_code in top_types:
            dept = "QA" if type_code == "QM" else rng.choices(codes, weights)[0]
            key = f"{type_code}-{dept}"
            counters[key] = counters.get(key, 0) + 1
            number = f"{type_code}-{dept}-{counters[key]:03}"
            self.sequences[f"doc:{type_code}-{dept}-#"] = counters[key]
            created = self.now - timedelta(days=rng.uniform(60, 6 * 365))
            doc = self._doc(number, type_code, dept, None, created)
            if type_code in ("QP", "WI"):
                parents.append(doc)
        # Forms: most procedures have a few, some have many, some none.
        for _ in range(n_forms):
            parent = rng.choice(parents) if rng.random() < 0.7 else rng.choice(parents[:200])
            parent.children += 1
            number = f"{parent.number}-F{parent.children:02}"
            self.sequences[f"doc:{parent.number}-F#"] = parent.children
            created = parent.created_at + timedelta(days=rng.uniform(0, 30))
            self._doc(number, "F", parent.dept, parent, min(created, self.now - timedelta(days=40)))

    def _doc(self, number, type_code, dept, parent, created) -> Doc:
        rng = self.rng
        roll = rng.random()
        confidentiality = "confidential" if roll < 0.03 else "public" if roll < 0.18 else "internal"
        creator = rng.choice(self.people[f"author:{dept}"] + self.people["officer"])
        doc = Doc(
            number=number,
            title=self.title(type_code),
            type_code=type_code,
            dept=dept,
            parent=parent,
            created_at=created,
            created_by=creator,
            confidentiality=confidentiality,
        )
        self.docs.append(doc)
        return doc

    # revisions ---------------------------------------------------------------------
    def revision_counts(self, total: int) -> list[int]:
        """1–5 revisions per document, summing exactly to ``total``."""
        rng = self.rng
        counts = rng.choices([1, 2, 3, 4, 5], weights=[15, 20, 30, 20, 15], k=len(self.docs))
        diff = total - sum(counts)
        while diff:
            i = rng.randrange(len(counts))
            step = 1 if diff > 0 else -1
            if 1 <= counts[i] + step <= 5:
                counts[i] += step
                diff -= step
        return counts

    def make_revisions(self, total: int) -> None:
        for doc, n in zip(self.docs, self.revision_counts(total), strict=True):
            self._history(doc, n)

    def _history(self, doc: Doc, n: int) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03:
            plan = ["cancelled"] * (n - 1) + [rng.choice(["draft", "in_review"])]
        elif roll < 0.08:
            plan = ["superseded"] * (n - 1) + ["obsolete"]
        elif n >= 2 and roll < 0.20:
            plan = ["superseded"] * (n - 2) + ["effective"]
            plan.append(rng.choices(["draft", "in_review", "approved"], [4, 4, 2])[0])
        else:
            plan = ["superseded"] * (n - 1) + ["effective"]
        if n >= 3 and plan[1] == "superseded" and rng.random() < 0.1:
            plan[1] = "cancelled"  # a draft abandoned between two issues
        open_last = plan[-1] in ("draft", "in_review", "approved")
        issued_slots = n - 1 if open_last else n
        start = doc.created_at + timedelta(hours=rng.uniform(1, 48))
        end = self.now - timedelta(days=21)
        slot = (end - start) / max(issued_slots, 1)
        last_issued: Rev | None = None
        effective: Rev | None = None
        for i, status in enumerate(plan):
            if last_issued is None:
                major, minor, kind = "A", 0, "initial"
            elif rng.random() < 0.25:
                major, minor, kind = _next_major(last_issued.major), 0, "major"
            else:
                major, minor, kind = last_issued.major, last_issued.minor + 1, "minor"
            if open_last and i == n - 1:
                created = self.now - timedelta(days=rng.uniform(2, 20))
            else:
                created = start + slot * i + timedelta(hours=rng.uniform(0, 24))
            author = rng.choice(self.people[f"author:{doc.dept}"] + [doc.created_by])
            rev = Rev(doc, major, minor, status, kind, created, author)
            rev.sha256 = hashlib.sha256(f"{doc.number} {rev.label} {i}".encode()).hexdigest()
            doc.revisions.append(rev)
            self.revisions.append(rev)
            self._events_created(rev)
            self._workflow(rev, slot)
            if status in ("superseded", "effective", "obsolete", "approved"):
                if effective is not None and rev.effective_at is not None:
                    effective.superseded_at = rev.effective_at
                    self._event(
                        rev.effective_at,
                        rev.effective_actor,
                        doc.ref,
                        "revision_superseded",
                        {"label": effective.label, "status": "effective"},
                        {"label": effective.label, "status": "superseded"},
                        f"superseded by {rev.label}",
                    )
                last_issued = rev
                if status != "approved":
                    effective = rev
        self._finish(doc, effective)

    def _finish(self, doc: Doc, effective: Rev | None) -> None:
        interval = self.types[doc.type_code][2]
        if effective is not None and effective.status == "effective":
            doc.status = "effective"
            doc.current = effective
            doc.review_due_date = _add_months(effective.effective_date, interval)
        elif effective is not None and effective.status == "obsolete":
            doc.status = "obsolete"
            doc.withdrawn_at = effective.obsoleted_at
        else:
            doc.status = "draft"

    def _workflow(self, rev: Rev, slot: timedelta) -> None:
        """Submit, review, approve and make effective as far as ``rev.status`` says."""
        rng = self.rng
        doc = rev.doc
        target = rev.status
        if target == "cancelled":
            rev.cancelled_at = rev.created_at + timedelta(days=rng.uniform(1, 20))
            self._event(
                rev.cancelled_at,
                rev.author,
                doc.ref,
                "revision_cancelled",
                {"label": rev.label, "status": "draft"},
                {"label": rev.label, "status": "cancelled"},
                "起草方向调整，作废本稿",
            )
            return
        rejected_once = rng.random() < 0.08
        if target == "draft" and not rejected_once:
            return
        span = min(slot, timedelta(days=60)) if target != "approved" else timedelta(days=6)
        if target in ("draft", "in_review", "approved"):
            span = min(span, (self.now - rev.created_at) * 0.8)
        t = rev.created_at + span * rng.uniform(0.05, 0.3)
        reviewers, approvers = self._signers(rev)
        rounds = 2 if rejected_once else 1
        for round_ in range(1, rounds + 1):
            rev.review_round = round_
            rev.submitted_at = t
            self._event(
                t,
                rev.author,
                doc.ref,
                "revision_in_review",
                {"label": rev.label, "status": "draft"},
                {
                    "label": rev.label,
                    "status": "in_review",
                    "round": round_,
                    "reviewers": [u.username for u in reviewers],
                    "approvers": [u.username for u in approvers],
                },
            )
            last_round = round_ == rounds
            if not last_round or target == "draft":
                t += span * 0.05
                rejecter = (reviewers or approvers)[0]
                comment = rng.choice(REJECT_COMMENTS)
                for user in reviewers + approvers:
                    signed = user is rejecter
                    self._participant(rev, round_, user, reviewers, "rejected" if signed else None)
                    if signed:
                        self._sign(rev, user, "rejected", t, round_, comment)
                self._event(
                    t,
                    rejecter,
                    doc.ref,
                    "revision_draft",
                    {"label": rev.label, "status": "in_review"},
                    {"label": rev.label, "status": "draft"},
                    comment,
                )
                if target == "draft":
                    return
                t += span * 0.1
                continue
            pending = target == "in_review"
            for user in reviewers:
                t += span * 0.03
                done = not (pending and rng.random() < 0.5)
                self._participant(rev, round_, user, reviewers, "approved" if done else None)
                if done:
                    self._sign(rev, user, "reviewed", t, round_, None, participant=True)
            for user in approvers:
                t += span * 0.03
                self._participant(rev, round_, user, reviewers, None if pending else "approved")
                if not pending:
                    self._sign(rev, user, "approved", t, round_, None, participant=True)
            if pending:
                return
        approver = approvers[-1]
        rev.approved_at = t
        today = self.now.date()
        if target == "approved":
            rev.effective_date = today + timedelta(days=rng.randint(1, 20))
        else:
            rev.effective_date = min(
                (t + timedelta(days=rng.choice([0, 0, 0, 1, 7, 14]))).date(), today
            )
        self._event(
            t,
            approver,
            doc.ref,
            "revision_approved",
            {"label": rev.label, "status": "in_review"},
            {"label": rev.label, "status": "approved"},
        )
        for p in self.participants[-len(approvers) :]:
            p["effective_date"] = rev.effective_date
        if target == "approved":
            return
        if rev.effective_date <= t.date():
            rev.effective_at, rev.effective_actor = t, approver
        else:  # `qdms sweep` at 01:15 on the effective date
            rev.effective_at = datetime.combine(rev.effective_date, datetime.min.time(), UTC)
            rev.effective_at += timedelta(hours=1, minutes=15)
            rev.effective_actor = None
        self._event(
            rev.effective_at,
            rev.effective_actor,
            doc.ref,
            "revision_effective",
            {"label": rev.label, "status": "approved"},
            {"label": rev.label, "status": "effective"},
        )
        if target == "obsolete":
            officer = rng.choice(self.people["officer"])
            when = min(rev.effective_at + slot * rng.uniform(0.3, 0.9), self.now)
            reason = "业务已停止，文件作废"
            self._sign(rev, officer, "obsoleted", when, rev.review_round, reason)
            rev.obsoleted_at = when
            self._event(
                when,
                officer,
                doc.ref,
                "revision_obsolete",
                {"label": rev.label, "status": "effective"},
                {"label": rev.label, "status": "obsolete"},
                reason,
            )
            self._event(when, officer, doc.ref, "withdrawn", None, {"status": "obsolete"}, reason)

    def _signers(self, rev: Rev) -> tuple[list[Person], list[Person]]:
        rng = self.rng
        dept = rev.doc.dept
        colleagues = [p for p in self.people[f"author:{dept}"] if p.id != rev.author.id]
        if rng.random() < 0.02:  # now and then a member of staff reviews a procedure
            colleagues.append(rng.choice(self.people[f"staff:{dept}"]))
        k = min(len(colleagues), rng.choices([0, 1, 2], [2, 6, 2])[0])
        reviewers = rng.sample(colleagues, k=k)
        approvers = [self.people[f"head:{dept}"][0]]
        if rev.doc.type_code in ("QM", "QP") or rng.random() < 0.1:
            approvers.append(self.people["head:QA"][0])
        approvers = [a for a in dict.fromkeys(approvers) if a.id != rev.author.id]
        if not approvers:
            approvers = [self.people["head:GM"][0]]
        reviewers = [r for r in reviewers if r not in approvers]
        return reviewers, approvers

    def _participant(self, rev, round_, user, reviewers, decision) -> None:
        self.participants.append(
            {
                "rev": rev,
                "round": round_,
                "user_id": user.id,
                "role": "reviewer" if user in reviewers else "approver",
                "decision": decision,
                "comment": None,
                "signature": None,
                "effective_date": None,
                "decided_at": None,
            }
        )

    def _sign(self, rev, user, meaning, at, round_, comment, *, participant=False):
        content = json.dumps(
            {
                "decision": meaning,
                "document": rev.doc.number,
                "file_sha256": rev.sha256,
                "revision": rev.label,
                "round": round_,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        sig = {
            "rev": rev,
            "user_id": user.id,
            "printed_name": user.full_name,
            "username": user.username,
            "meaning": meaning,
            "object_ref": rev.doc.ref,
            "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
            "comment": comment,
            "signed_at": at,
        }
        self.signatures.append(sig)
        if participant or meaning == "rejected":
            p = self.participants[-1]
            p["signature"], p["decided_at"], p["comment"] = sig, at, comment
        # the "signed" event names the signature id, known only once ids are given
        self._event(at, user, rev.doc.ref, "signed", None, sig, comment)

    def _events_created(self, rev: Rev) -> None:
        doc = rev.doc
        if not doc.revisions[:-1]:
            state = {
                "number": doc.number,
                "title": doc.title,
                "type": doc.type_code,
                "department": doc.dept,
                "parent": doc.parent.number if doc.parent else None,
                "confidentiality": doc.confidentiality,
                "training_required": False,
                "review_interval_months": self.types[doc.type_code][2],
                "status": "draft",
            }
            self._event(doc.created_at, doc.created_by, doc.ref, "created", None, state)
        summary, reason = self.rng.choice(CHANGES)
        rev.change_summary = "首次发布" if rev.change_type == "initial" else summary
        rev.change_reason = "新文件" if rev.change_type == "initial" else reason
        self._event(
            rev.created_at,
            rev.author,
            doc.ref,
            "revision_created",
            None,
            {
                "label": rev.label,
                "status": "draft",
                "change_type": rev.change_type,
                "change_summary": rev.change_summary,
                "file_sha256": rev.sha256,
                "file_name": f"{doc.number} {rev.label.replace('/', '')}.docx",
                "effective_date": None,
            },
        )

    def _event(self, at, actor, ref, action, before, after, reason=None) -> None:
        self.events.append((at, actor, ref, action, before, after, reason))

    # ids and rows ------------------------------------------------------------------
    def assign_ids(self) -> None:
        """Ids in time order, as a system in use would have given them."""
        self.docs.sort(key=lambda d: d.created_at)
        for i, doc in enumerate(self.docs, 1):
            doc.id = i
        self.revisions.sort(key=lambda r: r.created_at)
        for i, rev in enumerate(self.revisions, 1):
            rev.id = i
        self.signatures.sort(key=lambda s: s["signed_at"])
        for i, sig in enumerate(self.signatures, 1):
            sig["id"] = i
        self.events.sort(key=lambda e: e[0])


def _next_major(major: str) -> str:
    from app.documents.services import _next_major as next_major

    return next_major(major)


def _add_months(day: date, months: int) -> date:
    from app.documents.services import add_months

    return add_months(day, months)


# Seeding --------------------------------------------------------------------------------


def _seed_people(session) -> dict:
    """Departments and users through the people services (real hashes and audit events)."""
    from app.people import services as people

    rng = random.Random(7)
    out: dict[str, list[Person]] = {"officer": []}
    depts = {}
    for code, name, _ in DEPARTMENTS:
        depts[code] = people.create_department(session, None, code, name)

    def user(username, dept, roles):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        u = people.create_user(
            session,
            None,
            username=username,
            full_name=name,
            password=PASSWORD,
            roles=roles,
            department=depts[dept],
            language="zh_CN",
        )
        return Person(u.id, u.username, u.full_name), u

    for code, _, _ in DEPARTMENTS:
        c = code.lower()
        head, head_user = user(f"{c}_head", code, ["approver", "staff"])
        out[f"head:{code}"] = [head]
        out[f"author:{code}"] = [
            user(f"{c}_author{i}", code, ["author", "staff"])[0] for i in (1, 2)
        ]
        out[f"staff:{code}"] = [user(f"{c}_staff{i}", code, ["staff"])[0] for i in (1, 2, 3)]
        people.update_department(
            session, None, depts[code], name=depts[code].name, head=head_user, is_active=True
        )
    out["officer"] = [user(n, "QA", ["officer", "author"])[0] for n in ("officer", "officer2")]
    user("auditor", "QA", ["auditor"])
    user("admin", "GM", ["admin"])
    session.commit()
    return out


def _insert(conn, table, rows) -> None:
    from sqlalchemy import insert

    for i in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[i : i + BATCH])


def seed_documents(rng: random.Random, n_documents: int, n_revisions: int) -> Generator:
    """People through the services, then ``n_documents`` documents with ``n_revisions``
    revisions, their signatures and audit events by bulk insert (the module docstring);
    in the app context of a migrated, empty instance. Returns the generator, whose
    ``counts`` say what was written."""
    from sqlalchemy import bindparam, func, select, text, update

    from app.audit_trail.models import ChainHead, Event
    from app.audit_trail.services import canonical_json, head_mac, seal
    from app.documents.models import Document, DocumentType, Revision, RevisionParticipant
    from app.documents.models import revision_signature as link
    from app.extensions import db
    from app.sequences import NumberSequence
    from app.signatures.models import Signature
    from app.signatures.services import seal_of
    from app.storage import StoredBlob

    people = _seed_people(db.session)
    types = {
        t.code: (t.id, t.number_pattern, t.review_interval_months)
        for t in db.session.scalars(select(DocumentType))
    }
    dept_ids = {c: i for c, i in db.session.execute(text("SELECT code, id FROM department"))}
    gen = Generator(rng, people, types, datetime.now(UTC))
    gen.make_documents(n_documents)
    gen.make_revisions(n_revisions)
    head = db.session.get(ChainHead, 1)
    first_event_id = (db.session.scalar(select(func.max(Event.id))) or 0) + 1
    gen.assign_ids()

    documents = [
        {
            "id": d.id,
            "number": d.number,
            "title": d.title,
            "type_id": types[d.type_code][0],
            "department_id": dept_ids[d.dept],
            "parent_id": d.parent.id if d.parent else None,
            "confidentiality": d.confidentiality,
            "training_required": d.type_code in ("QP", "WI") and d.id % 3 == 0,
            "review_interval_months": types[d.type_code][2],
            "review_due_date": d.review_due_date,
            "retention": {"years": 3, "from": "superseded"},
            "status": d.status,
            "current_revision_id": None,
            "created_by_id": d.created_by.id,
            "created_at": d.created_at,
            "withdrawn_at": d.withdrawn_at,
        }
        for d in gen.docs
    ]
    blobs, revisions = [], []
    for r in gen.revisions:
        kind = "pdf" if r.doc.type_code == "F" and r.id % 4 == 0 else "docx"
        body = gen.text(r.doc.title)
        size = 20_000 + len(body) * 40  # a .docx or PDF is far larger than its text
        blobs.append({"sha256": r.sha256, "size": size, "created_at": r.created_at})
        revisions.append(
            {
                "id": r.id,
                "document_id": r.doc.id,
                "major": r.major,
                "minor": r.minor,
                "status": r.status,
                "change_type": r.change_type,
                "change_summary": r.change_summary,
                "change_reason": r.change_reason.format(n=r.id),
                "author_id": r.author.id,
                "file_sha256": r.sha256,
                "file_name": f"{r.doc.number} {r.major}{r.minor}.{kind}",
                "file_kind": kind,
                "text": body,
                "page_count": max(1, len(body) // 700),
                "review_round": r.review_round,
                "effective_date": r.effective_date,
                "created_at": r.created_at,
                "submitted_at": r.submitted_at,
                "approved_at": r.approved_at,
                "effective_at": r.effective_at,
                "superseded_at": r.superseded_at,
                "obsoleted_at": r.obsoleted_at,
                "cancelled_at": r.cancelled_at,
            }
        )
    signatures = [{k: v for k, v in s.items() if k != "rev"} for s in gen.signatures]
    for row in signatures:
        row["seal"] = seal_of(Signature(**row))
    links = [{"revision_id": s["rev"].id, "signature_id": s["id"]} for s in gen.signatures]
    participants = [
        {
            "id": i,
            "revision_id": p["rev"].id,
            "round": p["round"],
            "user_id": p["user_id"],
            "role": p["role"],
            "decision": p["decision"],
            "comment": p["comment"],
            "signature_id": p["signature"]["id"] if p["signature"] else None,
            "effective_date": p["effective_date"],
            "decided_at": p["decided_at"],
        }
        for i, p in enumerate(sorted(gen.participants, key=lambda p: p["rev"].id), 1)
    ]
    seq, prev = head.last_seq, head.last_hash
    events = []
    for i, (at, actor, ref, action, before, after, reason) in enumerate(gen.events):
        if action == "signed":
            after = {
                "signature_id": after["id"],
                "meaning": after["meaning"],
                "printed_name": after["printed_name"],
                "sha256": after["content_sha256"],
            }
        seq += 1
        row = {
            "seq": seq,
            "at": at,
            "actor_username": actor.username if actor else None,
            "object_ref": ref,
            "action": action,
            "before": canonical_json(before),
            "after": canonical_json(after),
            "reason": reason,
            "prev_hash": prev,
        }
        row["actor_id"] = actor.id if actor else None
        prev = seal(**row)
        events.append({"id": first_event_id + i, "hash": prev, "hash_version": 2, **row})
    sequences = [{"key": k, "last_value": v} for k, v in gen.sequences.items()]
    db.session.close()
    with db.engine.begin() as conn:
        for table, rows in (
            (Document.__table__, documents),
            (StoredBlob.__table__, blobs),
            (Revision.__table__, revisions),
            (Signature.__table__, signatures),
            (link, links),
            (RevisionParticipant.__table__, participants),
            (Event.__table__, events),
            (NumberSequence.__table__, sequences),
        ):
            _insert(conn, table, rows)
        current = [{"b_id": d.id, "b_rev": d.current.id} for d in gen.docs if d.current]
        conn.execute(
            update(Document.__table__)
            .where(Document.__table__.c.id == bindparam("b_id"))
            .values(current_revision_id=bindparam("b_rev")),
            current,
        )
        conn.execute(
            update(ChainHead.__table__)
            .where(ChainHead.__table__.c.id == 1)
            .values(
                last_seq=seq,
                last_hash=prev,
                mac=head_mac(seq, prev, head.keyed_from, head.signatures_sealed_from),
            )
        )
        if conn.dialect.name == "postgresql":  # explicit ids: move the id sequences on
            for table in (Document, Revision, Signature, RevisionParticipant, Event):
                column = table.__table__.c.id
                sequence = func.pg_get_serial_sequence(table.__tablename__, "id")
                conn.execute(select(func.setval(sequence, func.max(column))))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does shortly after a bulk load
    gen.counts = {
        "documents": len(documents),
        "revisions": len(revisions),
        "signatures": len(signatures),
        "participants": len(participants),
        "audit events": len(events),
    }
    return gen


# Measuring ------------------------------------------------------------------------------


class QueryCounter:
    """Counts the SQL statements the engine sends (``before_cursor_execute``)."""

    def __init__(self, engine):
        self.count = 0
        self.statements: list[str] | None = None
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.statements is not None:
            self.statements.append(statement)


@dataclass
class Result:
    scenario: str
    user: str
    rows: int
    p50: float
    p95: float
    queries: tuple[int, int]  # min, max over the timed requests
    kib: float
    detail: str = ""  # what the rows of the last request were


ROW_PATTERNS = {
    # one per row shown: list rows, revision-history rows, forms, audit-trail rows
    "html": re.compile(r'<td><a href="/documents/[^"/]+"><code>'),
    "revisions": re.compile(r'<td><a href="/documents/[^"]+/revisions/'),
    "forms": re.compile(r'<li><a href="/documents/[^"/]+"><code>'),
    "events": re.compile(r'<tr class="trail-event">'),
}


def _rows(url: str, response) -> tuple[int, str]:
    """How many rows the answer shows, and what they are."""
    if "/api/" in url:
        body = response.get_json()
        if "revisions" in body:
            return len(body["revisions"]), f"{len(body['revisions'])} revisions"
        return len(body["items"]), ""
    html = response.get_data(as_text=True)
    if re.search(r"/documents/[^/?]+$", url):
        counts = {k: len(ROW_PATTERNS[k].findall(html)) for k in ("revisions", "forms", "events")}
        return sum(counts.values()), ", ".join(f"{v} {k}" for k, v in counts.items())
    return len(ROW_PATTERNS["html"].findall(html)), ""


def measure(client, counter, name, user, urls, *, headers=None, n=30, warmup=3) -> Result:
    """``warmup`` untimed requests, then ``n`` timed ones cycling through ``urls``."""
    times, queries, rows, sizes = [], [], [], []
    for i in range(warmup + n):
        url = urls[i % len(urls)]
        counter.count = 0
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{user} GET {url}: {response.status_code}")
        if i >= warmup:
            times.append(elapsed * 1000)
            queries.append(counter.count)
            count, detail = _rows(url, response)
            rows.append(count)
            sizes.append(len(response.get_data()))
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 2 else times[0]
    return Result(
        name,
        user,
        round(statistics.median(rows)),
        statistics.median(times),
        p95,
        (min(queries), max(queries)),
        statistics.median(sizes) / 1024,
        detail,
    )


def _login(app, username: str):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    if response.status_code != 302:
        raise SystemExit(f"login as {username} failed: {response.status_code}")
    return client


def _samples(gen: Generator, rng: random.Random, n: int) -> dict:
    """Document numbers for the document page: a random sample per user (``n`` different
    documents), and the documents of the N+1 checks: two work instructions without forms,
    with 1 and 5 revisions, and two procedures with 3 revisions, without forms and with
    the most forms.

    The two sides of a check differ only in their number of rows: both effective, not
    confidential, without an open revision, outside CS (where the staff member reviews)
    and registered by one of their own authors, not by an officer — so a user loaded on
    one side (the registrant, the reader) is loaded the same way on the other.
    """
    officers = set(gen.people["officer"])
    comparable = [
        d
        for d in gen.docs
        if d.status == "effective"
        and d.confidentiality != "confidential"
        and d.revisions[-1].status == "effective"
        and d.dept != "CS"
        and d.created_by not in officers
        and d.created_by in {r.author for r in d.revisions}
    ]
    wi = [d for d in comparable if d.type_code == "WI" and not d.children]
    qp = [d for d in comparable if d.type_code == "QP" and len(d.revisions) == 3]
    staff_sees = [d for d in gen.docs if d.status == "effective"]
    staff_sees = [d for d in staff_sees if d.confidentiality != "confidential" or d.dept == "CS"]
    return {
        "officer": [d.number for d in rng.sample(gen.docs, n)],
        "staff": [d.number for d in rng.sample(staff_sees, n)],
        "1 revision": rng.choice([d for d in wi if len(d.revisions) == 1]).number,
        "5 revisions": rng.choice([d for d in wi if len(d.revisions) == 5]).number,
        "no forms": rng.choice([d for d in qp if not d.children]).number,
        "most forms": max(qp, key=lambda d: d.children).number,
    }


def run_scenarios(app, counter, samples, tokens, args) -> tuple[list[Result], list[tuple]]:
    """Every scenario as the officer and as the staff member; then the N+1 pairs."""
    one, five = samples["1 revision"], samples["5 revisions"]
    no_forms, most_forms = samples["no forms"], samples["most forms"]
    scenarios = [  # name, URLs (cycled), through the API
        ("document list, page 1", ["/documents"], False),
        ("document list, page 100", ["/documents?page=100"], False),
        ("document list, q=投诉", ["/documents?q=投诉"], False),
        ("document list, CS + QP", ["/documents?department=CS&type=QP"], False),
        ("document page", None, False),
        ("master list, all effective", ["/master-list"], False),
        ("master list, GM", ["/master-list?department=GM"], False),
        ("API documents, per_page=200", ["/api/v1/documents?per_page=200"], True),
        ("API document", None, True),
        ("API master list, all effective", ["/api/v1/master-list"], True),
    ]
    api_docs, api_master = "/api/v1/documents", "/api/v1/master-list"
    checks = [  # name, few rows, many rows, through the API
        ("document list (rows)", "/documents?type=QM", "/documents", False),
        ("API documents (per_page)", f"{api_docs}?per_page=20", f"{api_docs}?per_page=200", True),
        ("master list (department)", "/master-list?department=GM", "/master-list", False),
        ("API master list (department)", f"{api_master}?department=GM", api_master, True),
        ("document page (revisions)", f"/documents/{one}", f"/documents/{five}", False),
        ("document page (forms)", f"/documents/{no_forms}", f"/documents/{most_forms}", False),
        ("API document (revisions)", f"{api_docs}/{one}", f"{api_docs}/{five}", True),
    ]  # fmt: skip
    results, pairs = [], []
    for user, username in (("officer", "officer"), ("staff", "cs_staff1")):
        browser = _login(app, username)
        api = {"Authorization": f"Bearer {tokens[username]}"}
        for name, urls, through_api in scenarios:
            if urls is None:  # a different document each request
                prefix = "/api/v1/documents/" if through_api else "/documents/"
                urls = [prefix + number for number in samples[user]]
            client, headers = (app.test_client(), api) if through_api else (browser, None)
            result = measure(
                client,
                counter,
                name,
                user,
                urls,
                headers=headers,
                n=args.requests,
                warmup=args.warmup,
            )
            results.append(result)
            print(_format_result(result), file=sys.stderr)
        for name, few, many, through_api in checks:
            client, headers = (app.test_client(), api) if through_api else (browser, None)
            small = measure(client, counter, name, user, [few], headers=headers, n=3, warmup=1)
            large = measure(client, counter, name, user, [many], headers=headers, n=3, warmup=1)
            pairs.append((name, user, few, small, many, large))
    return results, pairs


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to ``width`` terminal columns (Chinese characters take two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    fill = " " * max(0, width - used)
    return fill + text if right else text + fill


def _format_result(r: Result) -> str:
    q = f"{r.queries[0]}" if r.queries[0] == r.queries[1] else f"{r.queries[0]}–{r.queries[1]}"
    return (
        f"| {_pad(r.scenario, 32)} | {r.user:<7} | {r.rows:>6} | {r.p50:>8.1f} | {r.p95:>8.1f} "
        f"| {q:>7} | {r.kib:>8.0f} |"
    )


def _table(results: list[Result]) -> str:
    head = (
        f"| {'scenario':<32} | {'user':<7} | {'rows':>6} | {'p50 ms':>8} | {'p95 ms':>8} "
        f"| {'queries':>7} | {'KiB':>8} |"
    )
    rule = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    return "\n".join([head, rule, *(_format_result(r) for r in results)])


def _pair_table(pairs) -> tuple[str, bool]:
    lines = [
        "| check | user | few rows: URL → rows: queries | many rows: URL → rows: queries | grows |",
        "|---|---|---|---|---|",
    ]
    ok = True
    for name, user, few, small, many, large in pairs:
        grows = large.queries[1] > small.queries[0]
        ok = ok and not grows
        lines.append(
            f"| {name} | {user} | `{few}` → {small.detail or small.rows}: {small.queries[1]} "
            f"| `{many}` → {large.detail or large.rows}: {large.queries[1]} "
            f"| {'YES' if grows else 'no'} |"
        )
    return "\n".join(lines), ok


def _machine() -> str:
    import os
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = "CPU model unknown"  # no /proc/cpuinfo
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
        mem = f", {mem} GiB"
    except (OSError, ValueError, IndexError):
        mem = ""
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}){mem}, "
        f"Python {platform.python_version()}"
    )


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.auth import services as auth
    from app.extensions import db
    from app.people.models import User

    instance = Instance(args.database_url, args.keep)
    rng = random.Random(args.seed)
    try:
        app = create_app(instance.config())
        started = time.perf_counter()
        with app.app_context():
            upgrade()
            migrated = time.perf_counter()
            gen = seed_documents(rng, args.documents, args.revisions)
            tokens = {}
            for username in ("officer", "cs_staff1"):
                user = db.session.scalar(select(User).where(User.username == username))
                tokens[username] = auth.create_token(db.session, None, user, "benchmark")
            db.session.commit()
            server = db.session.scalar(select(func.version())) if instance.pg_name else None
            engine = db.engine
            db.session.remove()
        seeded = time.perf_counter()
        counts = gen.counts
        print(
            f"migrated in {migrated - started:.1f} s, seeded in {seeded - migrated:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
            file=sys.stderr,
        )
        samples = _samples(gen, rng, args.requests + args.warmup)
        # Measure with the heap of a server, not of the generator: its million objects
        # would make Python's full garbage collections, and so the p95, much slower.
        del gen
        gc.collect()
        counter = QueryCounter(engine)
        results, pairs = run_scenarios(app, counter, samples, tokens, args)
        measured = time.perf_counter()
        pair_table, ok = _pair_table(pairs)
        backend = instance.backend
        if server:
            backend += " " + server.split(" on ")[0].removeprefix("PostgreSQL ")
        print()
        print(
            f"qdms documents benchmark — {backend}, {counts['documents']:,} documents, "
            f"{counts['revisions']:,} revisions, {counts['audit events']:,} audit events; "
            f"{args.requests} timed requests per scenario after {args.warmup} warm-up"
        )
        print(f"{date.today().isoformat()}, {_machine()}")
        print(
            f"seeding {seeded - started:.0f} s, measuring {measured - seeded:.0f} s "
            "(server time through the Flask test client; queries = SQL statements per request)"
        )
        print()
        print(_table(results))
        print()
        print("Query count at few and at many rows shown (it must not grow: no N+1):")
        print()
        print(pair_table)
        print()
        print("no N+1: OK" if ok else "N+1: the query count grows with the rows shown")
        return 0 if ok else 1
    finally:
        try:
            with app.app_context():
                db.engine.dispose()
        except Exception as exc:  # the app may be half set up
            print(f"cleanup: could not dispose of the engine: {exc}", file=sys.stderr)
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
