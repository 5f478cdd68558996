"""The demo internal audits (data/audits.toml): the 2026 programme.

Everything goes through ``app.audits.services`` (and ``app.capa.services`` for the
nonconformities the findings open) as the people named would do it on the pages;
signatures with the demo password. Idempotent: an audit is looked up by its title.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audits import services
from app.audits.models import Audit
from app.capa import services as capa
from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.extensions import local_today
from app.people.models import User


def _plan_nc(session, head, nc, today) -> None:
    capa.contain(
        session, head, nc, text="立即纠正发现的问题。\nThe problem found was corrected at once."
    )
    capa.analyse(
        session,
        head,
        nc,
        whys=["职责未明确 No one was named to do it"],
        categories=["method"],
        similar=[],
        similar_elsewhere=(
            "其他部门可能存在类似情况，纳入下次审核。\nOther departments may be alike; the next "
            "audits check."
        ),
    )
    capa.approve_plan(
        session,
        head,
        nc,
        actions=[
            {
                "text": "明确责任人并修订程序。\nName an owner and revise the procedure.",
                "type": "corrective",
                "owner": head.username,
                "due_date": today + timedelta(days=30),
            }
        ],
        criterion="下次审核不再发现同类问题。\nThe next audit finds no repeat.",
        check_date=today + timedelta(days=90),
        password=DEMO_PASSWORD,
        today=today,
    )


def _walk(session, users, entry: dict, today) -> Audit:
    officer, lead = users["officer"], users[entry["lead"]]
    a = services.plan(
        session,
        officer,
        type=entry["type"],
        title=entry["title"],
        objectives=entry["objectives"],
        scope=entry["scope"],
        clauses=entry["clauses"],
        departments=entry["departments"],
        lead_auditor=entry["lead"],
        team=entry["team"],
        planned_start=entry["start"],
        planned_end=entry["end"],
        places=entry.get("places"),
        independence_justification=entry.get("justification"),
    )
    if entry["to"] == "planned":
        return a
    services.prepare(session, lead, a)
    services.start(session, lead, a)
    by_position = {i + 1: item for i, item in enumerate(a.items)}
    for spec in entry["items"]:
        result = services.record_item(
            session,
            lead,
            a,
            by_position[spec["at"]],
            verdict=spec["verdict"],
            evidence=spec["evidence"],
            department=spec.get("department"),
        )
        f = result.finding
        if f is None:
            continue
        r = spec["response"]
        services.respond(
            session, users[r["by"]], a, f, decision=r["decision"], reason=r.get("reason")
        )
        if "decision" in spec:
            d = spec["decision"]
            services.resolve(session, lead, a, f, decision=d["decision"], reason=d["reason"])
        _plan_nc(session, users[spec["plan_by"]], f.nc, today)
    rest = [i for i in a.items if not i.done]
    if entry.get("half"):
        rest = rest[: len(a.items) // 2]
    elif not entry.get("fill_rest"):
        rest = []
    for item in rest:
        services.record_item(
            session,
            lead,
            a,
            item,
            verdict="conforming",
            evidence="抽查记录齐全。\nSampled records complete.",
        )
    if entry["to"] == "in_progress":
        return a
    services.to_reporting(session, lead, a, conclusions=entry.get("conclusions"))
    services.sign_report(session, lead, a, password=DEMO_PASSWORD)
    services.close(session, lead, a)
    return a


def seed(session: Session) -> list[str]:
    """Add whatever of the demo audits is missing; return what was added. Needs the demo
    organisation; without it nothing is added."""
    today = local_today()
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    if "officer" not in users:
        return []
    added: list[str] = []
    for entry in loader.audits()["audit"]:
        if session.scalar(select(Audit.id).where(Audit.title == entry["title"])) is not None:
            continue
        a = _walk(session, users, entry, today)
        if a.status != entry["to"]:
            raise ValueError(f"demo audit {a.number} ended {a.status}, not {entry['to']}")
        added.append(f"audit {a.number} {a.status}")
    return added
