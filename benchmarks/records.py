"""Records at scale: the record list filtered by type and year, and the retention sweep.

Issue 7, acceptance point 5: "benchmarks/records.py: 200,000 records across 20 types;
record list filtered by type and year, and the retention sweep, each reported with time
and query count (targets: list p95 under 100 ms, sweep under 30 s)."

Instance. A throw-away qdms instance (``Instance`` of ``documents.py``: temporary
instance dir, docs store, index dir and database — SQLite, or a new PostgreSQL database
created and dropped with ``--database-url``), migrated with the real migrations; the app
runs with ``QDMS_SEARCH_AFTER_COMMIT`` off while seeding.

Data. Ten departments with a head, two authors and three members of staff each, two
quality officers, an auditor and an administrator, through the people services
(``_seed_people`` of ``documents.py``). Twenty record types through
``app.records.services.create_type`` (real forms: the demo's complaint, survey and
commitment-check forms and seventeen others with text, long text, dates, choices,
numbers, yes/no, people and tables), retention 1 to 10 years after creation or
completion, four of them confidential (customer compensation in CS, two of HR, one of
FN), their volumes as unequal as in use (complaints, follow-up calls and inspections by
the tens of thousands, management reviews by the dozen). Then, with bulk ``insert()`` in
batches of ``--batch`` (SQLAlchemy Core: nothing goes through the ORM), ``--records``
records (200,000) filed over the six years before today, a little more each year
(+15 %), numbered ``{code}-{yyyy}-{seq:04}`` in filing order (ids follow time, as in
use), with values for their form (80 % Chinese, 20 % English; required fields always,
optional ones mostly), the title ``services._title`` gives, and ``number_sequence`` rows
so the next filing continues the numbering. About 90 % are complete (completed minutes
to ten days after filing, by the filer or the department head; ``content_sha256`` and
``retain_until`` as ``complete_record`` computes them, ``services.retain_until``), the
rest drafts (half of the last two weeks' records, 9 % of older ones: forms never
finished). With today's date, about 40 % of the records are due. Then, through the
retention services (signed with the officer's password): a legal hold on one record type
and on 20 single due records of another, and one proposed destruction batch of 200 due
records. Not written, on purpose: the records' own audit events (filed, completed: nothing
measured reads them), signature and file fields (left empty: optional), amendments,
scans, destroyed records and document revisions (so the sweep's revision part runs on an
empty table; ``documents.py`` measures documents). PostgreSQL gets ``VACUUM ANALYZE``
after the load, which autovacuum would soon do (since PostgreSQL 13 inserts alone trigger
it; the dev server runs with autovacuum off): without the vacuum the visibility map is
empty, no index-only scan is possible and the record page is two to three times slower
(``--analyze-only`` measures that state, as the other benchmarks' ``ANALYZE``). SQLite
gets neither (the app never runs ``ANALYZE``).

Record list. The list of the UI page ``/records`` and of ``GET /api/v1/records``:
``services.list_stmt(type_code=…, year=…)`` narrowed by ``services.visible_to`` and
paginated (a count and one page of 50). Through ``app.test_client()``, one request at a
time: the API with bearer tokens from ``auth.services.create_token`` and the HTML page
logged in through the real login form, as ``officer`` (sees every record) and as
``cs_staff1`` (staff of CS: the confidential types of other departments are filtered
out), each request a random (type, year) pair of the 20 types × 7 years; then (through
the API, fewer requests) three fixed pairs at the ends: the largest pair, the rarest type
in the busiest year and the largest type three years back (see ``_extreme_pairs``). These
are the target's scenarios. Also, for comparison, unfiltered and type-only / year-only
lists. Each scenario gives p50, p95 and max server time (the test client's request: no
network or web server) and the SQL statements per request (a ``before_cursor_execute``
listener on the engine). Before measuring, the objects alive after seeding are frozen
(``gc.freeze()``), as ``wsgi.py`` does after start-up: otherwise a full garbage collection
of the app's 160,000 start-up objects (90 ms) lands in one request of a few hundred and
makes the p95 of a 20-request scenario.

Retention. ``app.retention.services.sweep(session, today)`` (``--sweeps`` runs; the
figures it returns are checked against what the generator wrote), the whole command
``qdms sweep`` in a subprocess pointed at the instance (``QDMS_INSTANCE_DIR``,
``QDMS_DOCS_STORE``, ``QDMS_INDEX_DIR``, ``QDMS_DATABASE_URL``; wall time from start to
exit, interpreter start-up included), the due list's first page ``services.due(session,
today, offset=0, limit=50)`` and a deep one, and ``GET /api/v1/retention/due`` as the
officer (page 1 and page 400). Time and query count for each. ``today`` is the real date
(the API has no other), so the data are generated back from it. Finally the plans of the
list, due-list and sweep queries (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN ANALYZE``
on PostgreSQL).

The search-index updates the people and types queue while seeding are applied before the
records are inserted (as the commit would have done): a record type's pending key makes
its next application index every record of the type.

The script prints the figures and whether each target is met, and exits 1 only when
something fails to run or a figure is wrong (a request not 200, the sweep's counts not
those written), not when a target is missed.

    .venv/bin/python benchmarks/records.py                     # SQLite, 200,000 records
    .venv/bin/python benchmarks/records.py --records 5000      # a quick check
    .venv/bin/python benchmarks/records.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/qdms_bench_records
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import (  # noqa: E402
    PASSWORD,
    Instance,
    QueryCounter,
    _login,
    _machine,
    _seed_people,
)

LIST_TARGET_MS = 100
SWEEP_TARGET_S = 30
YEARS = 6  # records filed over the six years before today
GROWTH = 1.15  # each year a little more than the last
STAFF = "cs_staff1"
OFFICER = "officer"
HOLD_TYPE = "QP-CS-002-F01"  # a legal hold on the whole type (litigation)
HOLD_RECORDS_OF = "QP-CS-001-F01"  # and on single records of this one
PROPOSE_FROM = "WI-OM-003-F01"  # a destruction batch waiting for approval


# Record types ----------------------------------------------------------------------------


def _f(name: str, label: str, type_: str = "text", required: bool = False, **kw) -> dict:
    return {"name": name, "label": label, "type": type_, "required": required, **kw}


def _forms() -> dict[str, list[dict]]:
    from app.demo import records as demo

    return {
        "complaint": demo.fields("顾客投诉登记表"),
        "survey": demo.fields("顾客满意度调查表"),
        "commitment": demo.fields("服务承诺履行检查表"),
        "compensation": [
            _f("customer", "顾客 Customer", required=True),
            _f("complaint_no", "投诉单号 Complaint no.", required=True),
            _f("amount", "赔偿金额（元） Amount (CNY)", "number", True, min=0, max=50000),
            _f("reason", "赔偿理由 Reason", "long_text", True),
            _f("approver", "审批人 Approved by", "person", True),
            _f("approved_on", "审批日期 Approved on", "date", True),
            _f("approver_signature", "审批人签名 Signature", "signature"),
        ],
        "follow_up": [
            _f("customer", "顾客 Customer", required=True),
            _f("called_on", "回访日期 Called on", "date", True),
            _f(
                "way",
                "回访方式 How",
                "choice",
                True,
                choices=["电话 Phone", "短信 SMS", "上门 Visit"],
            ),
            _f("satisfied", "是否满意 Satisfied", "yes_no", True),
            _f("notes", "回访记录 Notes", "long_text"),
            _f("caller", "回访人 Called by", "person", True),
        ],
        "inspection": [
            _f("site", "巡检地点 Site", required=True),
            _f("inspected_on", "巡检日期 Inspected on", "date", True),
            _f(
                "items",
                "巡检项目 Items",
                "table",
                True,
                columns=[
                    _f("item", "项目 Item", required=True),
                    _f("reading", "读数 Reading", "number"),
                    _f("normal", "正常 Normal", "yes_no", True),
                ],
            ),
            _f("findings", "发现的问题 Findings", "long_text"),
            _f("inspector", "巡检人 Inspector", "person", True),
        ],
        "repair": [
            _f("work_order", "工单号 Work order", required=True),
            _f("site", "故障地点 Site", required=True),
            _f("reported_on", "报修日期 Reported on", "date", True),
            _f(
                "severity",
                "故障等级 Severity",
                "choice",
                True,
                choices=["一般 Minor", "严重 Major", "紧急 Critical"],
            ),
            _f("cause", "故障原因 Cause", "long_text", True),
            _f("action", "处理措施 Action", "long_text", True),
            _f("hours", "修复用时（小时） Hours", "number", min=0, max=72),
            _f("engineer", "维修人 Engineer", "person", True),
        ],
        "round": [
            _f("room", "配电房 Switch room", required=True),
            _f("checked_on", "巡视日期 Checked on", "date", True),
            _f("temperature", "室温（℃） Temperature", "number", True, min=-10, max=50),
            _f("humidity", "湿度（%） Humidity", "number", min=0, max=100),
            _f("abnormal", "有无异常 Anything abnormal", "yes_no", True),
            _f("notes", "备注 Notes", "long_text"),
            _f("checker", "巡视人 Checked by", "person", True),
        ],
        "nonconformity": [
            _f("audit_no", "审核编号 Audit no.", required=True),
            _f("clause", "标准条款 Clause", required=True),
            _f("finding", "不符合事实 Finding", "long_text", True),
            _f("grade", "类别 Grade", "choice", True, choices=["一般 Minor", "严重 Major"]),
            _f("auditee", "受审核部门负责人 Auditee", "person", True),
            _f("due_on", "整改期限 Due on", "date", True),
        ],
        "corrective": [
            _f("source", "来源 Source", required=True),
            _f("problem", "问题描述 Problem", "long_text", True),
            _f("root_cause", "原因分析 Root cause", "long_text", True),
            _f("action", "纠正措施 Action", "long_text", True),
            _f("owner", "责任人 Owner", "person", True),
            _f("verified", "效果验证 Verified", "yes_no"),
        ],
        "review": [
            _f("meeting", "会议 Meeting", required=True),
            _f("held_on", "日期 Held on", "date", True),
            _f("inputs", "评审输入 Inputs", "long_text", True),
            _f("outputs", "评审输出 Outputs", "long_text", True),
            _f("chair", "主持人 Chair", "person", True),
        ],
        "training": [
            _f("course", "课程 Course", required=True),
            _f("held_on", "培训日期 Held on", "date", True),
            _f("hours", "学时 Hours", "number", True, min=1, max=16),
            _f(
                "attendees",
                "签到 Attendees",
                "table",
                True,
                columns=[
                    _f("person", "姓名 Name", "person", True),
                    _f("passed", "考核合格 Passed", "yes_no"),
                ],
            ),
            _f("trainer", "讲师 Trainer", required=True),
        ],
        "appraisal": [
            _f("employee", "员工 Employee", "person", True),
            _f("period", "考核期间 Period", required=True),
            _f("score", "得分 Score", "number", True, min=0, max=100),
            _f(
                "grade",
                "等级 Grade",
                "choice",
                True,
                choices=[
                    "优秀 Excellent",
                    "良好 Good",
                    "合格 Adequate",
                    "待改进 Needs improvement",
                ],
            ),
            _f("comments", "评语 Comments", "long_text"),
            _f("appraiser", "考核人 Appraiser", "person", True),
        ],
        "qualification": [
            _f("employee", "员工 Employee", "person", True),
            _f("post", "岗位 Post", required=True),
            _f("assessed_on", "认定日期 Assessed on", "date", True),
            _f(
                "result",
                "结论 Result",
                "choice",
                True,
                choices=["合格 Qualified", "不合格 Not yet"],
            ),
            _f("notes", "说明 Notes", "long_text"),
        ],
        "expense": [
            _f("claimant", "报销人 Claimant", "person", True),
            _f("purpose", "事由 Purpose", required=True),
            _f("amount", "金额（元） Amount (CNY)", "number", True, min=1, max=20000),
            _f("invoice_no", "发票号 Invoice no."),
            _f("approved", "部门负责人同意 Approved", "yes_no", True),
        ],
        "access": [
            _f("applicant", "申请人 Applicant", "person", True),
            _f("system", "系统 System", required=True),
            _f(
                "rights",
                "权限 Rights",
                "multi_choice",
                True,
                choices=["只读 Read", "录入 Enter", "审批 Approve", "管理 Administer"],
            ),
            _f("reason", "申请理由 Reason", "long_text", True),
            _f("granted_on", "开通日期 Granted on", "date"),
        ],
        "backup": [
            _f("system", "系统 System", required=True),
            _f("checked_on", "检查日期 Checked on", "date", True),
            _f("succeeded", "备份成功 Succeeded", "yes_no", True),
            _f("restore_tested", "恢复测试 Restore tested", "yes_no"),
            _f("size_gb", "备份大小（GB） Size", "number", min=0, max=5000),
            _f("operator", "检查人 Operator", "person", True),
        ],
        "supplier": [
            _f("supplier", "供应商 Supplier", required=True),
            _f("evaluated_on", "评价日期 Evaluated on", "date", True),
            _f("quality", "质量 Quality (1–5)", "number", True, min=1, max=5),
            _f("delivery", "交付 Delivery (1–5)", "number", True, min=1, max=5),
            _f("service", "服务 Service (1–5)", "number", True, min=1, max=5),
            _f(
                "conclusion",
                "结论 Conclusion",
                "choice",
                True,
                choices=["合格 Approved", "限期整改 Conditional", "淘汰 Removed"],
            ),
        ],
        "acceptance": [
            _f("order_no", "采购单号 Order no.", required=True),
            _f("supplier", "供应商 Supplier", required=True),
            _f("received_on", "验收日期 Received on", "date", True),
            _f(
                "lines",
                "验收明细 Lines",
                "table",
                True,
                columns=[
                    _f("item", "物品 Item", required=True),
                    _f("quantity", "数量 Quantity", "number", True, min=1, max=1000),
                    _f("accepted", "合格 Accepted", "yes_no", True),
                ],
            ),
            _f("receiver", "验收人 Received by", "person", True),
        ],
        "fire": [
            _f("area", "检查区域 Area", required=True),
            _f("checked_on", "检查日期 Checked on", "date", True),
            _f("extinguishers_ok", "灭火器完好 Extinguishers", "yes_no", True),
            _f("exits_clear", "疏散通道畅通 Exits clear", "yes_no", True),
            _f("hazards", "隐患 Hazards", "long_text"),
            _f("checker", "检查人 Checked by", "person", True),
        ],
    }


# code, name, department, retention years, from, confidential, relative volume, form
TYPES = [
    ("QP-CS-001-F01", "顾客投诉登记表", "CS", 3, "completed", False, 16, "complaint"),
    ("QP-MK-001-F01", "顾客满意度调查表", "MK", 3, "created", False, 10, "survey"),
    ("SP-CS-001-F01", "服务承诺履行检查表", "CS", 2, "completed", False, 3, "commitment"),
    ("QP-CS-002-F01", "投诉赔偿审批单", "CS", 5, "created", True, 3, "compensation"),
    ("QP-CS-003-F01", "服务回访记录", "CS", 1, "completed", False, 14, "follow_up"),
    ("WI-OM-001-F01", "设备巡检记录表", "OM", 2, "created", False, 14, "inspection"),
    ("WI-OM-002-F01", "故障抢修记录", "OM", 3, "completed", False, 8, "repair"),
    ("WI-OM-003-F01", "配电房巡视记录", "OM", 1, "created", False, 8, "round"),
    ("QP-QA-001-F01", "内部审核不符合项报告", "QA", 6, "completed", False, 1, "nonconformity"),
    ("QP-QA-002-F01", "纠正措施记录", "QA", 5, "completed", False, 1, "corrective"),
    ("QP-QA-003-F01", "管理评审记录", "QA", 10, "completed", False, 0.2, "review"),
    ("QP-HR-001-F01", "培训签到表", "HR", 3, "created", False, 6, "training"),
    ("QP-HR-002-F01", "员工绩效考核表", "HR", 10, "completed", True, 2, "appraisal"),
    ("QP-HR-003-F01", "岗位资格认定记录", "HR", 7, "completed", True, 1, "qualification"),
    ("QP-FN-001-F01", "费用报销审批单", "FN", 10, "completed", True, 4, "expense"),
    ("QP-IT-001-F01", "账号权限申请单", "IT", 2, "completed", False, 5, "access"),
    ("QP-IT-002-F01", "数据备份检查记录", "IT", 1, "created", False, 6, "backup"),
    ("QP-PU-001-F01", "供应商评价表", "PU", 4, "completed", False, 1.5, "supplier"),
    ("QP-PU-002-F01", "采购验收单", "PU", 3, "created", False, 3, "acceptance"),
    ("QP-LG-001-F01", "消防安全检查表", "LG", 2, "created", False, 3, "fire"),
]
LOCATIONS = ["部门档案柜；电子记录：qdms", "档案室 A-3", "共享盘/记录；电子记录：qdms"]


# Values ------------------------------------------------------------------------------------

# fmt: off
NAMES_ZH = [
    "杭州恒信物业 陈女士", "滨江花园 刘先生", "钱塘物业", "西湖国际大厦", "城西银泰城",
    "宁波港务集团", "绍兴柯桥纺织城", "华东医药仓储中心", "萧山国际机场", "湖滨商圈管委会",
    "张先生", "王女士", "李经理", "赵工", "孙主任", "周女士", "吴先生", "郑总",
]
NAMES_EN = [
    "Riverside Offices", "Mr. Daniel Hughes", "Harbour View Hotel", "Ms. Laura Chen",
    "Greenfield Logistics", "Westlake Tech Park", "Mr. Ahmed Karim", "Pacific Retail Ltd",
]
SITES_ZH = [
    "一号数据中心", "二号数据中心", "10kV配电房", "热线中心", "总部大楼三层", "华东区仓库",
    "成都服务中心", "武汉备件库", "西安分部", "上海分公司机房", "北京分公司", "南区变电站",
]
SITES_EN = ["Data centre 1", "Data centre 2", "Hotline centre", "East China warehouse"]
SYSTEMS = ["客服工单系统", "ERP", "OA 办公系统", "CRM", "财务系统", "监控平台", "qdms", "邮件系统"]
SUPPLIERS = ["杭州明达电气", "上海华阳备件", "深圳迅捷物流", "苏州精工", "ABB (China)", "Schneider"]
COURSES = ["服务礼仪", "投诉处理技巧", "电气安全", "消防安全", "信息安全意识", "ISO 9001 内审员"]
COURSES += ["Customer service basics", "Working at height"]
LONG_ZH = [
    "小区门禁系统故障两天未修复，报修后无人回电，业主出入不便。",
    "客服代表当即致歉，说明已升级处理，并留下直线电话。",
    "运维检修部派工程师现场更换读卡模块，4 小时内恢复。",
    "班组长致电说明延误原因（派工单漏派），顾客表示理解。",
    "三个工作日后回访，设备运行正常，顾客表示满意。",
    "巡检发现二号机柜风扇异响，已更换风扇并记录在案。",
    "配电房温度偏高，空调滤网堵塞，清洗后恢复正常。",
    "发票金额与合同不符，财务已开具红字发票并重新开票。",
    "备份作业因磁盘空间不足失败，扩容后重新执行成功。",
    "按内审发现修订派工流程，增加夜间值班工程师一名。",
    "现场检查发现灭火器压力不足两具，已通知后勤更换。",
    "供应商交付延迟一周，已发出书面警告并要求整改。",
    "新员工完成岗前培训并考核合格，可独立上岗。",
    "顾客对维修人员着装和证件规范提出意见，已在班前会强调。",
    "本次检查未发现异常，各项指标符合要求。",
    "原因分析：派工规则未覆盖节假日，导致工单积压。",
]
LONG_EN = [
    "Invoice for October charged the after-hours call-out twice.",
    "Apologised by phone and e-mail; a corrected invoice was issued the same day.",
    "The engineer replaced the card reader module; access restored within four hours.",
    "Called back after three working days: the customer is satisfied.",
    "Fan noise in rack 2 during the round; the fan was replaced and logged.",
    "Backup failed for lack of disk space; re-run after the volume was extended.",
    "No findings this round; all readings within limits.",
    "Root cause: the dispatch rules did not cover public holidays.",
]
SHORT_ZH = ["2024 年度第一次内审", "条款 8.2.1", "条款 7.5.3", "第三季度", "管理评审会议"]
SHORT_EN = ["Audit 2024-1", "Clause 8.5.1", "Q3 review", "Annual review"]
# fmt: on


class Values:
    """Values for a form's fields, as a person would have filled them in."""

    def __init__(self, rng: random.Random, people: dict[str, list[str]]):
        self.rng = rng
        self.people = people  # department code → usernames

    def text(self, name: str, en: bool, seq: int) -> str:
        rng = self.rng
        if name in ("customer", "meeting"):
            return rng.choice(NAMES_EN if en else NAMES_ZH)
        if name in ("site", "room", "area"):
            return rng.choice(SITES_EN if en else SITES_ZH)
        if name == "system":
            return rng.choice(SYSTEMS)
        if name == "supplier":
            return rng.choice(SUPPLIERS)
        if name in ("course", "trainer"):
            return rng.choice(COURSES) if name == "course" else rng.choice(NAMES_ZH[10:])
        if name in ("work_order", "complaint_no", "order_no", "invoice_no", "audit_no"):
            return f"{name[:2].upper()}-{rng.randint(2020, 2026)}-{seq:05d}"
        if name in ("phone",):
            return f"0571-{rng.randint(8000, 8999)} {rng.randint(1000, 9999)}"
        if name in ("period",):
            return f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}"
        return rng.choice(SHORT_EN if en else SHORT_ZH)

    def value(self, f: dict, dept: str, day: date, en: bool, seq: int):
        rng, kind = self.rng, f["type"]
        if kind == "text":
            return self.text(f["name"], en, seq)
        if kind == "long_text":
            bank = LONG_EN if en else LONG_ZH
            return (" " if en else "").join(rng.sample(bank, rng.randint(1, 3)))
        if kind == "number":
            low, high = f.get("min", 0), f.get("max", 100)
            return rng.randint(int(low), int(high))
        if kind == "date":
            return (day - timedelta(days=rng.randint(0, 5))).isoformat()
        if kind == "choice":
            return rng.choice(f["choices"])
        if kind == "multi_choice":
            return rng.sample(f["choices"], rng.randint(1, 2))
        if kind == "yes_no":
            return rng.random() < 0.85
        if kind == "person":
            return rng.choice(self.people[dept])
        if kind == "table":
            return [
                {c["name"]: self.value(c, dept, day, en, seq) for c in f["columns"]}
                for _ in range(rng.randint(2, 5))
            ]
        return None  # signature, file: left empty (optional in every form here)

    def form(self, form: list[dict], dept: str, day: date, seq: int, complete: bool) -> dict:
        en = self.rng.random() < 0.2
        out = {}
        for f in form:
            if f["type"] in ("signature", "file"):
                continue
            if (f.get("required") and complete) or self.rng.random() < 0.7:
                out[f["name"]] = self.value(f, dept, day, en, seq)
        return out


# Seeding -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    counts: Counter = field(default_factory=Counter)  # by status
    due: Counter = field(default_factory=Counter)  # complete and due today, by type code
    due_numbers: dict[str, list[str]] = field(default_factory=dict)  # a few, by type code
    per_pair: Counter = field(default_factory=Counter)  # (code, year) → records
    types: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    held_records: int = 0  # due and held (the type's and the single records')
    proposed: int = 0
    values_bytes: int = 0
    seconds: float = 0.0


def _ages(rng: random.Random, n: int) -> list[float]:
    """Ages in days, 0 to YEARS × 365, denser for recent days (GROWTH a year)."""
    k = math.log(GROWTH) / 365  # density ∝ exp(-k · age)
    span = YEARS * 365
    top = 1 - math.exp(-k * span)
    return [-math.log(1 - rng.random() * top) / k for _ in range(n)]


def _seed_types(session, officer) -> list:
    from app.records import services

    forms = _forms()
    out = []
    for i, (code, name, dept, years, start, secret, _, form) in enumerate(TYPES):
        out.append(
            services.create_type(
                session,
                officer,
                {
                    "code": code,
                    "name": name,
                    "department": dept,
                    "retention": {"years": years, "from": start},
                    "medium": "both" if i % 4 == 0 else "electronic",
                    "location": LOCATIONS[i % len(LOCATIONS)],
                    "confidentiality": "confidential" if secret else "internal",
                    "fields": forms[form],
                },
            )
        )
    return out


def seed(args, today: date) -> Seeded:
    from flask import current_app
    from sqlalchemy import func, insert, select, text

    from app.extensions import db
    from app.people.models import User
    from app.records import services
    from app.records.models import Record
    from app.search import sync
    from app.sequences import NumberSequence
    from app.signatures.services import content_hash

    started = time.perf_counter()
    rng = random.Random(args.seed)
    out = Seeded()
    people = _seed_people(db.session)
    officer = db.session.scalar(select(User).where(User.username == OFFICER))
    rtypes = _seed_types(db.session, officer)
    db.session.commit()
    # Apply the index updates queued so far (people, types) as the commit would have:
    # left pending, a type's key would make the next `qdms sweep` index all its records.
    sync.retry_pending(db.engine, sync.store_for(current_app))
    dept_ids = {c: i for c, i in db.session.execute(text("SELECT code, id FROM department"))}
    filers = {
        code: [
            p for key in (f"head:{code}", f"author:{code}", f"staff:{code}") for p in people[key]
        ]
        for code in dept_ids
    }
    usernames = {code: [p.username for p in ps] for code, ps in filers.items()}
    values = Values(random.Random(f"{args.seed}-values"), usernames)
    info = []
    for rtype, (*_, weight, _form) in zip(rtypes, TYPES, strict=True):
        dept = rtype.department.code
        info.append((rtype, rtype.schema.fields, rtype.schema.id, dept, weight))
    out.types = [t.code for t in rtypes]

    # The skeleton first (type and filing time), sorted: ids and numbers follow time.
    now = datetime.now(UTC).replace(microsecond=0)
    weights = [w for *_, w in info]
    kinds = rng.choices(range(len(info)), weights=weights, k=args.records)
    skeleton = sorted(
        (now - timedelta(days=age), kind)
        for age, kind in zip(_ages(rng, args.records), kinds, strict=True)
    )
    del kinds
    seqs: Counter = Counter()
    first_id = (db.session.scalar(select(func.max(Record.id))) or 0) + 1
    db.session.close()
    with db.engine.begin() as conn:
        for start in range(0, len(skeleton), args.batch):
            rows = []
            for offset, (created, kind) in enumerate(skeleton[start : start + args.batch]):
                rtype, form, schema_id, dept, _ = info[kind]
                year = created.year
                seqs[(rtype.code, year)] += 1
                seq = seqs[(rtype.code, year)]
                age = now - created
                draft = rng.random() < (0.5 if age < timedelta(days=14) else 0.09)
                filer = rng.choice(filers[dept])
                vals = values.form(form, dept, created.date(), seq, not draft)
                row = {
                    "id": first_id + start + offset,
                    "number": f"{rtype.code}-{year}-{seq:04d}",
                    "record_type_id": rtype.id,
                    "schema_id": schema_id,
                    "year": year,
                    "seq": seq,
                    "status": "draft" if draft else "complete",
                    "title": services._title(rtype, form, vals, None),
                    "values_json": services.canonical(vals),
                    "scan_sha256": None,
                    "scan_name": None,
                    "scan_mimetype": None,
                    "department_id": dept_ids[dept],
                    "created_by_id": filer.id,
                    "created_at": created,
                    "completed_by_id": None,
                    "completed_at": None,
                    "content_sha256": None,
                    "retain_until": None,
                }
                if not draft:
                    done = min(now, created + timedelta(minutes=rng.uniform(5, 10 * 24 * 60)))
                    closer = filer if rng.random() < 0.7 else filers[dept][0]  # or the head
                    until = services.retain_until(rtype, created.date(), done.date())
                    row.update(
                        completed_by_id=closer.id,
                        completed_at=done,
                        content_sha256=content_hash(
                            services.canonical({"values": vals, "scan": None})
                        ),
                        retain_until=until,
                    )
                    if until <= today:
                        out.due[rtype.code] += 1
                        numbers = out.due_numbers.setdefault(rtype.code, [])
                        if len(numbers) < 400:
                            numbers.append(row["number"])
                out.counts[row["status"]] += 1
                out.per_pair[(rtype.code, year)] += 1
                out.values_bytes += len(row["values_json"].encode())
                rows.append(row)
            conn.execute(insert(Record.__table__), rows)
        conn.execute(
            insert(NumberSequence.__table__),
            [{"key": f"record:{c}:{y}", "last_value": n} for (c, y), n in seqs.items()],
        )
        if conn.dialect.name == "postgresql":  # explicit ids: move the id sequence on
            sequence = func.pg_get_serial_sequence("record", "id")
            conn.execute(select(func.setval(sequence, func.max(Record.__table__.c.id))))
    out.years = sorted({y for _, y in out.per_pair})
    del skeleton
    _holds_and_proposal(out, today)
    if db.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE" if args.analyze_only else "VACUUM ANALYZE"))
    out.seconds = time.perf_counter() - started
    return out


def _holds_and_proposal(out: Seeded, today: date) -> None:
    """A legal hold on one type and on 20 single records, and a proposed destruction
    batch, through the retention services (signed, audited)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.people.models import User
    from app.retention import services as retention

    officer = db.session.scalar(select(User).where(User.username == OFFICER))
    retention.place_hold(
        db.session, officer, "record_type", HOLD_TYPE, "诉讼保全：钱塘物业赔偿纠纷案", PASSWORD
    )
    out.held_records = out.due[HOLD_TYPE]
    for number in out.due_numbers.get(HOLD_RECORDS_OF, [])[:20]:
        retention.place_hold(
            db.session, officer, "record", number, "顾客投诉升级为消费者协会调解", PASSWORD
        )
        out.held_records += 1
    batch = out.due_numbers.get(PROPOSE_FROM, [])[:200]
    if batch:
        retention.propose(
            db.session,
            officer,
            [f"record:{n}" for n in batch],
            "secure_erase",
            "保存期满的配电房巡视记录",
            today=today,
        )
        out.proposed = len(batch)
    db.session.commit()
    db.session.remove()


# Measuring ---------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    user: str
    times: list[float] = field(default_factory=list)  # ms
    queries: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # items shown
    totals: list[int] = field(default_factory=list)  # items matched
    target: float | None = None  # ms, p95

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times, n=20)[18] if len(self.times) > 1 else self.times[0]

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.p95 < self.target


RECORD_ROW = re.compile(r'<td><a href="/records/[^"]+">')


def _get(client, counter, url, headers=None):
    counter.count = 0
    start = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code}\n{response.get_data(True)[:2000]}")
    return response, elapsed, counter.count


def measure(client, counter, row: Row, urls, *, headers=None, warmup: int = 3) -> Row:
    for i, url in enumerate(urls):
        response, elapsed, queries = _get(client, counter, url, headers)
        if i < warmup:
            continue
        row.times.append(elapsed)
        row.queries.append(queries)
        if headers:
            body = response.get_json()
            row.rows.append(len(body["items"]))
            row.totals.append(body["total"])
        else:
            row.rows.append(len(RECORD_ROW.findall(response.get_data(as_text=True))))
    print(_format_row(row), file=sys.stderr)
    return row


def _extreme_pairs(seeded: Seeded) -> dict[str, tuple[str, int]]:
    """The (type, year) pairs at the ends: the most records; the rarest type in the
    busiest year (a plan that walks the year's records and filters the type reads the
    whole year to find a few); the largest type three years back (a plan that walks the
    records newest first, as PostgreSQL's does, reads every later year first)."""
    by_type, by_year = Counter(), Counter()
    for (code, year), n in seeded.per_pair.items():
        by_type[code] += n
        by_year[year] += n
    busiest = by_year.most_common(1)[0][0]
    rarest = min(by_type, key=lambda c: by_type[c])
    largest = max(by_type, key=lambda c: by_type[c])
    back = max(seeded.years[0], seeded.years[-1] - 3)
    return {
        "largest pair": max(seeded.per_pair, key=lambda p: seeded.per_pair[p]),
        "rarest type, busiest year": (rarest, busiest),
        f"largest type, {back}": (largest, back),
    }


def run_lists(app, counter, tokens: dict, seeded: Seeded, args) -> list[Row]:
    rng = random.Random(f"{args.seed}-pairs")
    pairs = [(c, y) for c in seeded.types for y in seeded.years]
    n, warm = args.requests, args.warmup
    rows = []
    for user in (OFFICER, STAFF):
        api = {"Authorization": f"Bearer {tokens[user]}"}
        drawn = [rng.choice(pairs) for _ in range(warm + n)]
        urls = [f"/api/v1/records?type={c}&year={y}" for c, y in drawn]
        row = Row("API, type + year (random pair)", user, target=LIST_TARGET_MS)
        rows.append(measure(app.test_client(), counter, row, urls, headers=api, warmup=warm))
        browser = _login(app, user)
        drawn = [rng.choice(pairs) for _ in range(warm + n // 2)]
        urls = [f"/records?type={c}&year={y}" for c, y in drawn]
        row = Row("page /records, type + year", user, target=LIST_TARGET_MS)
        rows.append(measure(browser, counter, row, urls, warmup=warm))
        few = max(10, n // 5)
        for name, (code, year) in _extreme_pairs(seeded).items():
            urls = [f"/api/v1/records?type={code}&year={year}"] * (warm + few)
            row = Row(f"API, type + year: {name}", user, target=LIST_TARGET_MS)
            rows.append(measure(app.test_client(), counter, row, urls, headers=api, warmup=warm))
        for name, make in (
            ("API, type only", lambda: f"/api/v1/records?type={rng.choice(seeded.types)}"),
            ("API, year only", lambda: f"/api/v1/records?year={rng.choice(seeded.years)}"),
            ("API, no filter", lambda: "/api/v1/records"),
            ("page /records, no filter", lambda: "/records"),
        ):
            urls = [make() for _ in range(warm + few)]
            client, headers = (
                (browser, None) if name.startswith("page") else (app.test_client(), api)
            )
            rows.append(
                measure(client, counter, Row(name, user), urls, headers=headers, warmup=warm)
            )
    return rows


@dataclass
class Timed:
    name: str
    times: list[float]  # s
    queries: list[int]
    note: str = ""
    target: float | None = None  # s

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else max(self.times) < self.target


def run_retention(app, counter, tokens: dict, seeded: Seeded, instance, args, today: date):
    from app.extensions import db
    from app.retention import services as retention

    out: list[Timed] = []
    problems: list[str] = []
    reports = []
    with app.app_context():
        for name, call, is_sweep in (
            ("`retention.sweep(session, today)`", lambda: retention.sweep(db.session, today), 1),
            (
                "`retention.due(…, offset=0, limit=50)`",
                lambda: retention.due(db.session, today, offset=0, limit=50),
                0,
            ),
            (
                "`retention.due(…, offset=20000, limit=50)`",
                lambda: retention.due(db.session, today, offset=20_000, limit=50),
                0,
            ),
        ):
            times, queries = [], []
            for _ in range(args.sweeps):
                db.session.remove()
                counter.count = 0
                start = time.perf_counter()
                result = call()
                times.append(time.perf_counter() - start)
                queries.append(counter.count)
                if is_sweep:
                    reports.append(result)
            if is_sweep:
                r = result
                note = (
                    f"{r.records_due:,} records + {r.revisions_due} revisions due, "
                    f"{r.on_hold:,} on hold, {r.proposed} proposed, {len(r.by_type)} types"
                )
            else:
                note = f"{len(result.items)} items of {result.total:,}"
            timed = Timed(name, times, queries, note, SWEEP_TARGET_S if is_sweep else None)
            out.append(timed)
            print(f"{name}: {timed.median:.3f} s, {queries[0]} queries; {note}", file=sys.stderr)
        db.session.remove()
    expected_due = sum(seeded.due.values())
    for r in reports:
        if dict(r.by_type) != {k: v for k, v in seeded.due.items() if v}:
            problems.append(f"sweep by type {r.by_type} is not what was written {seeded.due}")
        if r.records_due != expected_due:
            problems.append(f"sweep: {r.records_due} records due, {expected_due} written")
        if r.on_hold != seeded.held_records:
            problems.append(f"sweep: {r.on_hold} on hold, {seeded.held_records} held")
        if r.proposed != seeded.proposed:
            problems.append(f"sweep: {r.proposed} proposed, {seeded.proposed} proposed")
    # the command
    wall, lines = [], ""
    for _ in range(args.command_runs):
        seconds, output = _qdms_sweep(instance, today)
        wall.append(seconds)
        lines = output
        match = re.search(r"retention: (\d+) due \((\d+) records", output)
        if not match or int(match.group(2)) != expected_due:
            problems.append(f"qdms sweep did not report {expected_due} records due:\n{output}")
        print(f"qdms sweep: {seconds:.2f} s", file=sys.stderr)
    summary = next((x for x in lines.splitlines() if x.startswith("retention:")), "")
    out.insert(
        1,
        Timed(
            f"`qdms sweep --today {today}` (subprocess, wall)",
            wall,
            [],
            summary,
            SWEEP_TARGET_S,
        ),
    )
    # the due list through the API
    api = {"Authorization": f"Bearer {tokens[OFFICER]}"}
    api_rows = []
    with app.app_context():
        for name, url in (
            ("API retention due, page 1", "/api/v1/retention/due"),
            ("API retention due, page 400", "/api/v1/retention/due?page=400"),
        ):
            urls = [url] * (args.warmup + max(10, args.requests // 5))
            api_rows.append(
                measure(
                    app.test_client(),
                    counter,
                    Row(name, OFFICER),
                    urls,
                    headers=api,
                    warmup=args.warmup,
                )
            )
    return out, api_rows, problems


def _qdms_sweep(instance, today: date) -> tuple[float, str]:
    config = instance.config()
    env = dict(os.environ)
    env.update(
        {
            "QDMS_INSTANCE_DIR": config["QDMS_INSTANCE_DIR"],
            "QDMS_DOCS_STORE": config["QDMS_DOCS_STORE"],
            "QDMS_INDEX_DIR": config["QDMS_INDEX_DIR"],
            "QDMS_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "QDMS_SECRET_KEY": config["SECRET_KEY"],
        }
    )
    qdms = Path(sys.executable).parent / "qdms"
    if not qdms.exists():
        raise SystemExit(f"{qdms} not found: run this with the project's venv")
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - the project's own command
        [str(qdms), "sweep", "--today", today.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"qdms sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return wall, proc.stdout


def explain(app, seeded: Seeded, today: date) -> list[tuple[str, str]]:
    """The plans of the list's count and page queries and of the sweep's count."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.people.models import User
    from app.records import services
    from app.records.models import Record, RecordType
    from app.retention.services import _record_due_stmt

    extremes = _extreme_pairs(seeded)
    by_type = Counter()
    for (code, _), n in seeded.per_pair.items():
        by_type[code] += n
    biggest_type = by_type.most_common(1)[0][0]
    out = []

    def count(stmt):
        return select(func.count()).select_from(stmt.order_by(None).subquery())

    with app.app_context():
        engine = db.engine
        pg = engine.dialect.name == "postgresql"
        users = {
            u.username: u
            for u in db.session.scalars(select(User).where(User.username.in_((OFFICER, STAFF))))
        }
        for label, (code, year) in extremes.items():
            for username in (OFFICER, STAFF):
                stmt = services.list_stmt(type_code=code, year=year)
                stmt = services.visible_to(db.session, stmt, users[username], type_code=code)
                where = f"{username}, type={code} year={year} ({label})"
                out.append((f"list count, {where}", _plan(count(stmt), pg)))
                out.append((f"list page, {where}", _plan(stmt.limit(50), pg)))
        stmt = services.list_stmt(type_code=biggest_type)
        where = f"type={biggest_type} only (the largest type)"
        out.append((f"list count, {OFFICER}, {where}", _plan(count(stmt), pg)))
        out.append((f"list page, {OFFICER}, {where}", _plan(stmt.limit(50), pg)))
        stmt = services.visible_to(db.session, services.list_stmt(), users[STAFF])
        out.append((f"list count, {STAFF}, no filter", _plan(count(stmt), pg)))
        due = _record_due_stmt(today)
        out.append(("due list: count of the due records", _plan(count(due), pg)))
        page = due.order_by(Record.retain_until, Record.id).limit(50)
        out.append(("due list: first page", _plan(page, pg)))
        sweep = (
            select(RecordType.code, func.count())
            .join(Record, Record.record_type_id == RecordType.id)
            .where(Record.status == "complete", Record.retain_until <= today)
            .group_by(RecordType.code)
        )
        out.append(("sweep: due records by type", _plan(sweep, pg)))
        db.session.remove()
    return out


def _plan(stmt, pg: bool) -> str:
    from app.extensions import db

    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if pg:
        sql, args = "EXPLAIN (ANALYZE, COSTS OFF) " + compiled.string, params
    else:
        sql = "EXPLAIN QUERY PLAN " + compiled.string
        args = tuple(
            v.isoformat() if isinstance(v, date) else v
            for v in (params[k] for k in compiled.positiontup)
        )
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, args).all()
    if pg:
        return "\n".join(r[0] for r in rows)
    return "\n".join(f"{'  ' * _depth(rows, r)}{r[-1]}" for r in rows)


def _depth(rows, row) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


# Report -------------------------------------------------------------------------------------


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "FAIL")


def _q(values: list[int]) -> str:
    if not values:
        return "–"
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def _format_row(r: Row) -> str:
    target = f"< {r.target:.0f} ms" if r.target else ""
    total = f"{statistics.mean(r.totals):,.0f}" if r.totals else "–"
    return (
        f"| {r.scenario:<43} | {r.user:<9} | {len(r.times):>3} | {r.p50:>7.1f} | {r.p95:>7.1f} "
        f"| {max(r.times):>7.1f} | {_q(r.queries):>7} | {statistics.mean(r.rows):>5.1f} "
        f"| {total:>7} | {target:<8} | {_met(r.met):<4} |"
    )


def _table(rows: list[Row]) -> str:
    head = (
        f"| {'scenario':<43} | {'user':<9} | {'n':>3} | {'p50 ms':>7} | {'p95 ms':>7} "
        f"| {'max ms':>7} | {'queries':>7} | {'shown':>5} | {'matched':>7} | {'target':<8} "
        f"|      |"
    )
    rule = "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|"
    return "\n".join([head, rule, *(_format_row(r) for r in rows)])


def _timed_table(rows: list[Timed]) -> str:
    lines = [
        "| what | runs | median s | max s | queries | target | | result |",
        "|---|--:|--:|--:|--:|---|---|---|",
    ]
    for t in rows:
        target = f"< {t.target:.0f} s" if t.target else ""
        lines.append(
            f"| {t.name} | {len(t.times)} | {t.median:.3f} | {max(t.times):.3f} "
            f"| {_q(t.queries)} | {target} | {_met(t.met)} | {t.note} |"
        )
    return "\n".join(lines)


def _versions(app, instance, args) -> str:
    from sqlalchemy import func, select

    from app.extensions import db

    if not instance.pg_name:
        return instance.backend
    with app.app_context():
        server = db.session.scalar(select(func.version()))
        db.session.remove()
    done = "ANALYZE" if args.analyze_only else "VACUUM ANALYZE"
    return "PostgreSQL " + server.split(" on ")[0].removeprefix("PostgreSQL ") + f" ({done})"


def report(args, instance, app, seeded: Seeded, lists, timed, due_rows, plans, load, today):
    total = sum(seeded.counts.values())
    due = sum(seeded.due.values())
    pairs = sorted(seeded.per_pair.values())
    out = [
        f"qdms records benchmark — {_versions(app, instance, args)}, {total:,} records of "
        f"{len(seeded.types)} types, filed {seeded.years[0]}–{seeded.years[-1]}; today "
        f"{today}",
        f"{date.today().isoformat()}, {_machine()}, nproc {os.cpu_count()}; load average "
        f"(1 min) {load[0][0]:.2f} before measuring, {load[1][0]:.2f} after (shared machine)",
        "",
        "Data:",
        "- records by status: "
        + ", ".join(f"{v:,} {k}" for k, v in seeded.counts.most_common())
        + f"; values_json {seeded.values_bytes / total:,.0f} bytes a record on average",
        f"- due today (complete, retain_until ≤ {today}): {due:,} records "
        f"({100 * due / total:.0f} %), of {sum(1 for v in seeded.due.values() if v)} types; "
        f"on hold {seeded.held_records:,} (type {HOLD_TYPE} and 20 records of "
        f"{HOLD_RECORDS_OF}); proposed for destruction {seeded.proposed}",
        f"- records per (type, year): min {pairs[0]:,}, median {statistics.median(pairs):,.0f}, "
        f"max {pairs[-1]:,} over {len(pairs)} pairs; seeded in {seeded.seconds:.0f} s",
        "",
        "Record list (server time through the Flask test client, ms; queries = SQL "
        "statements per request; shown = rows on the page, matched = the total the API "
        f"reports; `{OFFICER}` sees every record, `{STAFF}` is staff of CS: the permission "
        "filter applies; each type + year request is a random pair):",
        "",
        _table(lists),
        "",
        "Retention (the service calls in one process, a new session each run; the command "
        "in a subprocess):",
        "",
        _timed_table(timed),
        "",
        _table(due_rows),
        "",
        "Query plans:",
    ]
    for name, plan in plans:
        out += ["", f"{name}:", "", "```", plan, "```"]
    out += ["", "Targets (issue 7, acceptance point 5):"]
    targeted = [r for r in lists if r.target]
    worst = max(targeted, key=lambda r: r.p95)
    out.append(
        f"- record list filtered by type and year, p95 < {LIST_TARGET_MS} ms: "
        f"{_met(all(r.met for r in targeted))} (worst: {worst.scenario} as {worst.user}, "
        f"{worst.p95:.1f} ms)"
    )
    for t in timed:
        if t.target:
            out.append(f"- {t.name} < {SWEEP_TARGET_S} s: {_met(t.met)} (max {max(t.times):.2f} s)")
    return "\n".join(out)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000, help="rows per bulk insert")
    parser.add_argument("--requests", type=int, default=100, help="timed list requests")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--sweeps", type=int, default=5, help="runs of retention.sweep")
    parser.add_argument("--command-runs", type=int, default=3, help="runs of qdms sweep")
    parser.add_argument(
        "--database-url",
        help="postgresql://USER@HOST:PORT/NAME: create the database NAME (it must not "
        "exist), use it and drop it at the end; default: SQLite in the temporary instance dir",
    )
    parser.add_argument(
        "--analyze-only",
        action="store_true",
        help="PostgreSQL: ANALYZE after the load, not VACUUM ANALYZE (no visibility map)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    args = parser.parse_args(argv)
    if args.records < 2000:
        parser.error("at least 2,000 records")
    if args.requests < 10 or args.warmup < 0 or args.sweeps < 1 or args.command_runs < 1:
        parser.error("--requests ≥ 10, --warmup ≥ 0, --sweeps ≥ 1, --command-runs ≥ 1")
    if args.database_url and not args.database_url.startswith("postgresql://"):
        parser.error("--database-url takes a postgresql:// URL (SQLite is the default)")
    return args


def main(argv=None) -> int:
    args = _parse_args(argv)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.auth import services as auth
    from app.extensions import db, local_today
    from app.people.models import User
    from app.search import sync

    instance = Instance(args.database_url, args.keep)
    app = None
    try:
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        today = local_today()  # the organisation's day: GET /api/v1/retention/due has no other
        with app.app_context():
            upgrade()
            seeded = seed(args, today)
            tokens = {}
            for username in (OFFICER, STAFF):
                user = db.session.scalar(select(User).where(User.username == username))
                tokens[username] = auth.create_token(db.session, None, user, "benchmark")
            db.session.commit()
            pending = sync.pending_count(db.session)
            engine = db.engine
            db.session.remove()
        print(
            f"seeded in {seeded.seconds:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in seeded.counts.items())
            + f"; {sum(seeded.due.values()):,} due; {pending} search_queue rows pending",
            file=sys.stderr,
        )
        app.config["QDMS_SEARCH_AFTER_COMMIT"] = True  # as in use (nothing is written here)
        gc.collect()
        gc.freeze()  # as wsgi.py does after start-up: no full collection walks the app's heap
        counter = QueryCounter(engine)
        load_before = os.getloadavg()
        lists = run_lists(app, counter, tokens, seeded, args)
        timed, due_rows, problems = run_retention(
            app, counter, tokens, seeded, instance, args, today
        )
        load = (load_before, os.getloadavg())
        plans = explain(app, seeded, today)
        print()
        print(report(args, instance, app, seeded, lists, timed, due_rows, plans, load, today))
        for problem in problems:
            print(f"PROBLEM: {problem}")
        return 1 if problems else 0
    finally:
        if app is not None:
            try:
                with app.app_context():
                    db.engine.dispose()
            except Exception as exc:  # the app may be half set up
                print(f"cleanup: could not dispose of the engine: {exc}", file=sys.stderr)
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
