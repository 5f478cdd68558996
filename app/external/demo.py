"""The demo organisation's register of external documents.

The standards its quality system is built on (GB/T 19001 and ISO 9001, each with the 2008
edition superseded by the current one), the audit guideline, a law and a customer's service
specification, held by the quality officer, with one currency check overdue so the
highlight shows. Entries are cited by the demo's internal documents when those exist
(looked up by type and title; skipped quietly otherwise).

Everything goes through ``app.external.services`` as the officer would do it in the UI.
Idempotent: an entry is looked up by its reference, a citation by its pair.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentType
from app.documents.services import add_months
from app.extensions import local_today
from app.external import services
from app.external.models import ExternalDocument
from app.people.models import Department, User

# reference of the current edition, then its editions oldest first:
# (edition, designation, published, effective, received)
ENTRIES = [
    {
        "reference": "GB/T 19001-2016",
        "title": "质量管理体系 要求",
        "publisher": "国家质量监督检验检疫总局 / 国家标准化管理委员会 (SAC)",
        "kind": "standard",
        "location": "质量管理部资料柜 A-3；电子版：共享盘 /标准",
        "editions": [
            ("2008", "GB/T 19001-2008", date(2008, 10, 29), date(2009, 3, 1), date(2009, 1, 6)),
            ("2016", "GB/T 19001-2016", date(2016, 12, 30), date(2017, 7, 1), date(2017, 2, 20)),
        ],
        "registered_months_ago": 20,
        "checked_months_ago": 2,
    },
    {
        "reference": "ISO 9001:2015",
        "title": "Quality management systems — Requirements",
        "publisher": "ISO (International Organization for Standardization)",
        "kind": "standard",
        "location": "质量管理部资料柜 A-3",
        "editions": [
            ("2008", "ISO 9001:2008", date(2008, 11, 15), None, date(2009, 1, 6)),
            ("2015", "ISO 9001:2015", date(2015, 9, 15), None, date(2015, 10, 12)),
        ],
        "registered_months_ago": 3,
    },
    {
        "reference": "GB/T 19011-2021",
        "title": "管理体系审核指南",
        "publisher": "国家市场监督管理总局 / 国家标准化管理委员会",
        "kind": "standard",
        "location": "质量管理部资料柜 A-3",
        "editions": [
            ("2021", "GB/T 19011-2021", date(2021, 8, 20), date(2022, 3, 1), date(2021, 11, 3)),
        ],
        # registered over a year ago and never checked since: the check is overdue
        "registered_months_ago": 14,
    },
    {
        "reference": "中华人民共和国消费者权益保护法",
        "title": "中华人民共和国消费者权益保护法（2013年修正）",
        "publisher": "全国人民代表大会常务委员会",
        "kind": "regulation",
        "location": "电子版：共享盘 /法律法规",
        "editions": [
            (
                "2013 修正",
                "中华人民共和国消费者权益保护法",
                date(2013, 10, 25),
                date(2014, 3, 15),
                date(2014, 1, 8),
            ),
        ],
    },
    {
        "reference": "HX/KF-SR-2024",
        "title": "华信物业 外包客户服务质量要求",
        "publisher": "华信物业管理有限公司（顾客）",
        "kind": "customer_specification",
        "department": "CS",
        "holder": "cs_head",
        "location": "客户服务部 合同档案柜",
        "interval": 6,
        "editions": [
            ("V3.0", "HX/KF-SR-2024", date(2024, 6, 1), date(2024, 7, 1), date(2024, 6, 12)),
        ],
    },
]

# (type code, internal document title) → references it cites
CITATIONS = [
    ("QM", "质量手册", ("GB/T 19001-2016", "ISO 9001:2015")),
    ("QP", "文件控制程序", ("GB/T 19001-2016",)),
    ("QP", "内部审核程序", ("GB/T 19011-2021",)),
    ("QP", "顾客投诉处理与服务补救程序", ("中华人民共和国消费者权益保护法",)),
    ("SP", "服务承诺标准", ("HX/KF-SR-2024",)),
]


def _by_reference(session: Session, reference: str) -> ExternalDocument | None:
    return session.scalar(
        select(ExternalDocument).where(
            func.lower(ExternalDocument.reference) == reference.lower(),
            ExternalDocument.status == "current",
        )
    )


def _register(session, officer, entry, depts, users, today: date) -> ExternalDocument:
    editions = entry["editions"]
    label, designation, published, effective, received = editions[0]
    registered = add_months(today, -entry.get("registered_months_ago", 0))
    ext = services.register(
        session,
        officer,
        reference=designation,
        title=entry["title"],
        publisher=entry["publisher"],
        kind=entry["kind"],
        department=depts.get(entry.get("department", "QA")),
        holder=users.get(entry.get("holder", "officer"), officer),
        location=entry["location"],
        check_interval_months=entry.get("interval", 12),
        edition=label,
        published_on=published,
        effective_on=effective,
        received_on=received,
        today=registered,
    )
    for label, designation, published, effective, received in editions[1:]:
        services.record_edition(
            session,
            officer,
            ext,
            edition=label,
            reference=designation,
            published_on=published,
            effective_on=effective,
            received_on=received,
            today=registered,
        )
    if entry.get("checked_months_ago"):
        services.record_currency_check(
            session,
            officer,
            ext,
            note="已查询国家标准全文公开系统：现行有效",
            today=add_months(today, -entry["checked_months_ago"]),
        )
    return ext


def seed(session: Session, *, today: date | None = None) -> list[str]:
    """Register whatever of the demo register is missing and add the missing citations;
    return what was added. Needs the demo organisation (the ``officer`` user and the QA
    department); without it nothing is added."""
    today = today or local_today()
    officer = session.scalar(select(User).where(User.username == "officer"))
    depts = {d.code: d for d in session.scalars(select(Department))}
    if officer is None or "QA" not in depts:
        return []
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    added: list[str] = []
    for entry in ENTRIES:
        if _by_reference(session, entry["reference"]) is None:
            ext = _register(session, officer, entry, depts, users, today)
            added.append(f"external document {ext.number} {ext.reference}")
    for type_code, title, references in CITATIONS:
        document = session.scalar(
            select(Document)
            .join(DocumentType, Document.type_id == DocumentType.id)
            .where(
                DocumentType.code == type_code,
                Document.title == title,
                Document.status != "obsolete",
            )
            .order_by(Document.id)
        )
        if document is None:
            continue
        cited = {e.id for e in services.cited_by_document(session, document)}
        for reference in references:
            ext = _by_reference(session, reference)
            if ext is not None and ext.id not in cited:
                services.cite(session, officer, ext, document.number)
                added.append(f"citation {document.number} → {ext.number}")
    return added
