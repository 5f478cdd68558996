"""Shared set-up of the nonconformity tests: a small organisation and an NC walked to a
chosen step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from app.capa import services
from app.extensions import db, local_today
from app.people import services as people
from app.people.models import Department, User
from tests.conftest import PASSWORD


@dataclass
class Org:
    officer: User
    head: User  # head of CS
    reporter: User  # staff of CS
    owner: User  # staff of CS, owns the actions
    outsider: User  # staff of QA
    auditor: User
    cs: Department
    qa: Department


def make_org() -> Org:
    def dept(code, name):
        found = db.session.scalar(select(Department).where(Department.code == code))
        return found or people.create_department(db.session, None, code, name)

    cs, qa = dept("CS", "客户服务部"), dept("QA", "质量部")

    def user(name, roles, department):
        return people.create_user(
            db.session,
            None,
            username=name,
            full_name=name.title(),
            password=PASSWORD,
            roles=list(roles),
            department=department,
        )

    org = Org(
        officer=user("officer", ("officer",), qa),
        head=user("head", ("staff",), cs),
        reporter=user("reporter", ("staff",), cs),
        owner=user("owner", ("staff",), cs),
        outsider=user("outsider", ("staff",), qa),
        auditor=user("auditor", ("auditor",), qa),
        cs=cs,
        qa=qa,
    )
    cs.head = org.head
    db.session.commit()
    return org


def plan_body(org: Org, *, today: date | None = None, rule=None, check_in: int = 10) -> dict:
    today = today or local_today()
    return {
        "actions": [
            {
                "text": "培训窗口人员",
                "owner": org.owner.username,
                "type": "corrective",
                "due_date": today + timedelta(days=5),
            }
        ],
        "criterion": "90 天内无同类投诉",
        "check_date": today + timedelta(days=check_in),
        "rule": rule,
        "password": PASSWORD,
    }


def walk(org: Org, to: str, *, today: date | None = None, rule=None, check_in: int = 10):
    """A new NC of CS reported by the reporter, walked to status ``to``."""
    today = today or local_today()
    s = db.session
    nc = services.report(
        s, org.reporter, description="窗口服务态度差 投诉", department=org.cs, today=today
    )
    order = ["contained", "analysed", "action_planned", "implemented", "verifying"]
    steps = order[: order.index(to) + 1] if to in order else []
    if "contained" in steps:
        services.contain(s, org.head, nc, text="当场道歉并更换窗口人员")
    if "analysed" in steps:
        services.analyse(
            s,
            org.head,
            nc,
            whys=["态度差", "未培训"],
            categories=["people"],
            similar=[],
            similar_elsewhere="其他窗口也可能发生",
        )
    if "action_planned" in steps:
        services.approve_plan(
            s,
            org.head,
            nc,
            **plan_body(org, today=today, rule=rule, check_in=check_in),
            today=today,
        )
    if "implemented" in steps:
        for action in list(nc.open_actions):
            services.complete_action(s, org.owner, action, evidence="培训记录", today=today)
    if "verifying" in steps:
        services.start_verification(s, nc, today=today + timedelta(days=check_in))
    s.commit()
    return nc
