"""The demo organisation's record plan and records (PRODUCT.md §4's service records).

Three record types from the seed material, each coded by its form's number when the demo
documents have it (looked up by title; a fixed code otherwise):

- 顾客投诉登记表: a customer complaint with the five service-recovery steps (apology,
  urgent restoration, empathy, symbolic compensation, follow-up) and their dates;
- 顾客满意度调查表: a satisfaction survey scored 1–5 on reliability, responsiveness,
  assurance, empathy and tangibles (SERVQUAL);
- 服务承诺履行检查表: a service commitment fulfilment check, one row per commitment.

With realistic records: complaints completed and signed by the handler, one still a
draft, surveys from several customers, a monthly commitment check. Everything goes
through ``app.records.services`` as staff would file it. Idempotent: a type that exists
is left as it is, records are filed only with a type just created.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo_documents import ENGLISH_TITLES
from app.documents.models import Document, DocumentType
from app.extensions import local_date, local_today
from app.people.models import User
from app.records import services
from app.records.models import RecordType
from app.storage import FileStore

STEPS = (
    ("apology", "一、道歉 Apology"),
    ("restoration", "二、紧急复原 Urgent restoration"),
    ("empathy", "三、移情 Empathy"),
    ("compensation", "四、象征性补偿 Symbolic compensation"),
    ("follow_up", "五、跟踪回访 Follow-up"),
)
DIMENSIONS = (
    ("reliability", "可靠性 Reliability"),
    ("responsiveness", "响应性 Responsiveness"),
    ("assurance", "保证性 Assurance"),
    ("empathy", "移情性 Empathy"),
    ("tangibles", "有形性 Tangibles"),
)


def _complaint_fields() -> list[dict]:
    form = [
        {"name": "customer", "label": "顾客姓名 / 单位 Customer", "type": "text", "required": True},
        {"name": "phone", "label": "联系电话 Phone", "type": "text"},
        {"name": "received_on", "label": "受理日期 Received on", "type": "date", "required": True},
        {
            "name": "channel",
            "label": "投诉渠道 Channel",
            "type": "choice",
            "choices": [
                "热线 Hotline",
                "在线 Online",
                "信函 Letter",
                "窗口 Counter",
                "转办 Referred",
            ],
            "required": True,
        },
        {
            "name": "level",
            "label": "投诉等级 Level",
            "type": "choice",
            "choices": ["一般 Minor", "重大 Major", "紧急 Urgent"],
            "required": True,
        },
        {
            "name": "description",
            "label": "投诉内容 Complaint",
            "type": "long_text",
            "required": True,
        },
        {"name": "expectation", "label": "顾客期望 What the customer expects", "type": "long_text"},
    ]
    for name, label in STEPS:
        form.append({"name": f"{name}_action", "label": f"{label}：处理情况", "type": "long_text"})
        form.append({"name": f"{name}_on", "label": f"{label}：日期", "type": "date"})
    form += [
        {"name": "handler", "label": "处理人 Handler", "type": "person", "required": True},
        {"name": "repeat", "label": "30 天内重复投诉 Repeat within 30 days", "type": "yes_no"},
        {
            "name": "handler_signature",
            "label": "处理人签名 Handler's signature",
            "type": "signature",
        },
    ]
    return form


def _survey_fields() -> list[dict]:
    form = [
        {"name": "customer", "label": "顾客 Customer", "type": "text", "required": True},
        {"name": "surveyed_on", "label": "调查日期 Surveyed on", "type": "date", "required": True},
        {
            "name": "method",
            "label": "调查方式 Method",
            "type": "choice",
            "choices": ["电话 Phone", "问卷 Questionnaire", "面访 Interview"],
        },
    ]
    for name, label in DIMENSIONS:
        form.append(
            {
                "name": name,
                "label": f"{label}（1–5）",
                "type": "number",
                "min": 1,
                "max": 5,
                "required": True,
            }
        )
    form += [
        {"name": "comments", "label": "意见和建议 Comments", "type": "long_text"},
        {"name": "surveyor", "label": "调查人 Surveyor", "type": "person", "required": True},
    ]
    return form


def _commitment_fields() -> list[dict]:
    return [
        {"name": "period", "label": "检查期间 Period", "type": "text", "required": True},
        {"name": "checked_on", "label": "检查日期 Checked on", "type": "date", "required": True},
        {
            "name": "items",
            "label": "承诺事项 Commitments",
            "type": "table",
            "required": True,
            "columns": [
                {
                    "name": "commitment",
                    "label": "承诺 Commitment",
                    "type": "text",
                    "required": True,
                },
                {"name": "target", "label": "标准 Target", "type": "text"},
                {"name": "actual", "label": "实际 Actual", "type": "text"},
                {"name": "met", "label": "已履行 Met", "type": "yes_no", "required": True},
            ],
        },
        {
            "name": "conclusion",
            "label": "结论 Conclusion",
            "type": "choice",
            "choices": ["全部履行 All met", "部分履行 Partly met", "未履行 Not met"],
            "required": True,
        },
        {"name": "actions", "label": "改进措施 Actions", "type": "long_text"},
        {"name": "checker", "label": "检查人 Checked by", "type": "person", "required": True},
        {"name": "checker_signature", "label": "检查人签名 Signature", "type": "signature"},
    ]


# title of the form document → (fallback code, name, department, retention, location, form)
TYPES = [
    (
        "顾客投诉登记表",
        "QP-CS-001-F01",
        "CS",
        {"years": 3, "from": "completed"},
        "客户服务部档案柜 B-2；电子记录：qdms",
        "confidential",  # customers' names, phones and grievances
        _complaint_fields,
    ),
    (
        "顾客满意度调查表",
        "QP-MK-001-F01",
        "MK",
        {"years": 3, "from": "created"},
        "营销部资料室；电子记录：qdms",
        "confidential",  # customers' names and opinions
        _survey_fields,
    ),
    (
        "服务承诺履行检查表",
        "SP-CS-001-F01",
        "CS",
        {"years": 2, "from": "completed"},
        "客户服务部档案柜 B-3",
        "internal",
        _commitment_fields,
    ),
]


def _code(session: Session, title: str, fallback: str) -> str:
    number = session.scalar(
        select(Document.number)
        .join(DocumentType, Document.type_id == DocumentType.id)
        .where(Document.title == title, DocumentType.code == "F")
    )
    return number or fallback


def seed(session: Session, store: FileStore, password: str) -> list[str]:
    users = {u.username: u for u in session.scalars(select(User))}
    officer = users.get("officer")
    if officer is None:
        return []
    added: list[str] = []
    created: dict[str, RecordType] = {}
    for title, fallback, dept, retention, location, confidentiality, make in TYPES:
        existing = session.scalar(select(RecordType).where(RecordType.name == title))
        if existing is not None:
            continue
        rtype = services.create_type(
            session,
            officer,
            {
                "code": _code(session, title, fallback),
                "name": title,
                "name_en": ENGLISH_TITLES.get(title),
                "department": dept,
                "retention": retention,
                "medium": "electronic",
                "location": location,
                "confidentiality": confidentiality,
                "fields": make(),
            },
        )
        created[title] = rtype
        added.append(f"record type {rtype.code}")
    today = local_today()

    def day(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    complaint = created.get("顾客投诉登记表")
    if complaint is not None and "author" in users:
        filer = users.get("staff") or users["author"]
        for values, done in (
            (
                {
                    "customer": "杭州恒信物业 陈女士",
                    "phone": "0571-8890 2231",
                    "received_on": day(20),
                    "channel": "热线 Hotline",
                    "level": "重大 Major",
                    "description": "小区门禁系统故障两天未修复，报修后无人回电，业主出入不便。",
                    "expectation": "当天修复门禁并说明延误原因。",
                    "apology_action": "客服代表当即致歉，说明已升级处理。",
                    "apology_on": day(20),
                    "restoration_action": "运维检修部派工程师现场更换读卡模块，4 小时内恢复。",
                    "restoration_on": day(20),
                    "empathy_action": "班组长致电说明延误原因（派工单漏派），理解业主的不便。",
                    "empathy_on": day(19),
                    "compensation_action": "赠送一个月门禁系统免费维护。",
                    "compensation_on": day(18),
                    "follow_up_action": "三个工作日后回访，门禁运行正常，顾客表示满意。",
                    "follow_up_on": day(15),
                    "handler": filer.username,
                    "repeat": False,
                    "handler_signature": True,
                },
                True,
            ),
            (
                {
                    "customer": "Mr. Daniel Hughes (Riverside Offices)",
                    "received_on": day(9),
                    "channel": "在线 Online",
                    "level": "一般 Minor",
                    "description": "Invoice for October charged the after-hours call-out twice.",
                    "expectation": "Corrected invoice and an apology.",
                    "apology_action": "Apologised in the chat and by e-mail.",
                    "apology_on": day(9),
                    "restoration_action": "Finance issued a corrected invoice the same day.",
                    "restoration_on": day(9),
                    "empathy_action": "Explained the billing error and the check added.",
                    "empathy_on": day(8),
                    "compensation_action": "Waived the November call-out fee.",
                    "compensation_on": day(8),
                    "follow_up_action": "Called back: invoice received, customer satisfied.",
                    "follow_up_on": day(5),
                    "handler": filer.username,
                    "handler_signature": True,
                },
                True,
            ),
            (
                {
                    "customer": "滨江花园 刘先生",
                    "received_on": day(1),
                    "channel": "窗口 Counter",
                    "level": "一般 Minor",
                    "description": "维修人员上门未穿工装、未出示工作证。",
                    "apology_action": "窗口当面致歉。",
                    "apology_on": day(1),
                    "handler": filer.username,
                },
                False,
            ),
        ):
            services.file_record(
                session, store, filer, complaint, values, password=password, complete=done
            )
            added.append("complaint record")
    survey = created.get("顾客满意度调查表")
    if survey is not None and "mk_staff" in users:
        surveyor = users["mk_staff"]
        for customer, scores, comment in (
            ("杭州恒信物业", (4, 3, 4, 4, 5), "报修响应偏慢，希望夜间也能派工。"),
            ("Riverside Offices", (5, 4, 5, 4, 4), "Friendly engineers; billing needs care."),
            ("滨江花园业委会", (3, 3, 4, 3, 4), "上门人员着装和证件需规范。"),
        ):
            values = {
                "customer": customer,
                "surveyed_on": day(7),
                "method": "电话 Phone",
                "comments": comment,
                "surveyor": surveyor.username,
            }
            values.update({name: s for (name, _l), s in zip(DIMENSIONS, scores, strict=True)})
            services.file_record(session, store, surveyor, survey, values, complete=True)
            added.append("survey record")
        added += _old_surveys(session, store, officer, surveyor, survey, password)
    check = created.get("服务承诺履行检查表")
    if check is not None and "cs_head" in users:
        head = users["cs_head"]
        services.file_record(
            session,
            store,
            head,
            check,
            {
                "period": f"{today.year}-{today.month:02d}",
                "checked_on": day(2),
                "items": [
                    {
                        "commitment": "热线 15 秒内接听",
                        "target": "≥ 90 %",
                        "actual": "93 %",
                        "met": True,
                    },
                    {
                        "commitment": "故障 4 小时内到场",
                        "target": "100 %",
                        "actual": "96 %",
                        "met": False,
                    },
                    {
                        "commitment": "处理完毕 3 个工作日内回访",
                        "target": "100 %",
                        "actual": "100 %",
                        "met": True,
                    },
                ],
                "conclusion": "部分履行 Partly met",
                "actions": "故障到场超时 2 单：夜间派工增加一名值班工程师。",
                "checker": head.username,
                "checker_signature": True,
            },
            password=password,
            complete=True,
        )
        added.append("commitment check record")
    return added


def _old_surveys(session, store, officer, surveyor, survey, password) -> list[str]:
    """Three surveys of 2021, kept 3 years after they were made: due for destruction, so
    the retention page has something to show; one is on legal hold (a customer dispute)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from app.records.models import Record
    from app.retention import services as retention

    filed = []
    for n, (customer, scores) in enumerate(
        (
            ("金桥商务中心", (4, 4, 3, 4, 4)),
            ("Harbour View Apartments", (3, 2, 3, 3, 4)),
            ("西湖国际公寓", (5, 4, 4, 5, 4)),
        )
    ):
        values = {
            "customer": customer,
            "surveyed_on": f"2021-06-{10 + n:02d}",
            "method": "电话 Phone",
            "surveyor": surveyor.username,
        }
        values.update({name: s for (name, _l), s in zip(DIMENSIONS, scores, strict=True)})
        record = services.file_record(
            session, store, surveyor, survey, values, complete=True, today=date(2021, 6, 10 + n)
        )
        filed.append(record)
    session.flush()
    for record in filed:
        made = datetime(2021, 6, record.seq + 9, 3, 0, tzinfo=UTC)
        session.execute(
            update(Record)
            .where(Record.id == record.id)
            .values(
                created_at=made,
                completed_at=made,
                retain_until=services.retain_until(survey, local_date(made), local_date(made)),
            )
        )
    retention.place_hold(
        session,
        officer,
        "record",
        filed[1].number,
        "顾客对 2021 年服务费结算提出争议，保全相关调查记录。",
        password,
    )
    return ["old survey record"] * len(filed) + ["legal hold"]
