"""The demo organisation: a plausible service company (PRODUCT.md's seed material).

Idempotent: running it again adds only what is missing. Later features add their demo
documents and records here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people import services as people
from app.people.models import Department, User
from app.storage import FileStore, get_store

DEMO_PASSWORD = "Demo-2026!"  # noqa: S105 - printed by `make run`; demo data only

DEPARTMENTS = [
    ("GM", "总经理办公室", "General Manager's Office"),
    ("QA", "质量管理部", "Quality Management"),
    ("CS", "客户服务部", "Customer Service"),
    ("OM", "运维检修部", "Operations and Maintenance"),
    ("MK", "营销部", "Marketing"),
]

# username, full name, department, roles, language
USERS = [
    ("admin", "系统管理员 Admin", "GM", ["admin"], "zh_CN"),
    ("officer", "王芳 Wang Fang", "QA", ["officer", "author"], "zh_CN"),
    ("author", "李明 Li Ming", "CS", ["author", "staff"], "zh_CN"),
    ("approver", "陈建国 Chen Jianguo", "QA", ["approver", "staff"], "zh_CN"),
    ("auditor", "Emma Clarke", "QA", ["auditor"], "en"),
    ("staff", "张伟 Zhang Wei", "CS", ["staff"], "zh_CN"),
    ("cs_head", "刘洋 Liu Yang", "CS", ["approver", "staff"], "zh_CN"),
    ("om_head", "赵磊 Zhao Lei", "OM", ["approver", "staff"], "zh_CN"),
    ("om_tech", "孙强 Sun Qiang", "OM", ["staff"], "zh_CN"),
    ("mk_head", "周婷 Zhou Ting", "MK", ["approver", "staff"], "zh_CN"),
    ("mk_staff", "吴静 Wu Jing", "MK", ["staff"], "zh_CN"),
    ("gm", "黄志强 Huang Zhiqiang", "GM", ["approver"], "zh_CN"),
]

HEADS = {"GM": "gm", "QA": "approver", "CS": "cs_head", "OM": "om_head", "MK": "mk_head"}


def seed(session: Session, store: FileStore | None = None) -> list[str]:
    """Create whatever of the demo organisation is missing; return what was added.

    ``store`` is where the demo documents' files go (default: the app's QDMS_DOCS_STORE).
    """
    added: list[str] = []
    depts: dict[str, Department] = {}
    for code, name, name_en in DEPARTMENTS:
        dept = session.scalar(select(Department).where(Department.code == code))
        if dept is None:
            dept = people.create_department(session, None, code, name, name_en)
            added.append(f"department {code}")
        depts[code] = dept
    users: dict[str, User] = {}
    for username, full_name, dept_code, roles, language in USERS:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = people.create_user(
                session,
                None,
                username=username,
                full_name=full_name,
                password=DEMO_PASSWORD,
                roles=roles,
                department=depts[dept_code],
                email=f"{username}@demo.qdms.example",
                language=language,
            )
            added.append(f"user {username}")
        users[username] = user
    for code, head in HEADS.items():
        dept = depts[code]
        if dept.head_id is None:
            people.update_department(
                session, None, dept, name=dept.name, head=users[head], is_active=dept.is_active
            )
    from app.demo_documents import seed_documents  # it imports DEMO_PASSWORD from here

    if store is None:
        from flask import current_app

        store = get_store(current_app)
    added += seed_documents(session, store)
    from app.external.demo import seed as seed_external

    added += seed_external(session)
    from app.distribution.demo import seed as seed_distribution

    added += seed_distribution(session, store)
    from app.records.demo import seed as seed_records

    added += seed_records(session, store, DEMO_PASSWORD)
    return added


def logins() -> list[tuple[str, str, str]]:
    return [(u[0], DEMO_PASSWORD, ", ".join(u[3])) for u in USERS]
