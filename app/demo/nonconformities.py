"""The demo nonconformities (data/nonconformities.toml): twelve NCs in every state.

Everything goes through ``app.capa.services`` as the people named would do it on the NC's
page, signatures with the demo password; a reopened NC's data rule is evaluated on the
real data of the demo. Documents and risk points are linked by their demo key or process
when they exist (skipped quietly otherwise). Idempotent: an NC is looked up by its
description.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.capa import services
from app.capa.models import NcLink, Nonconformity
from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.demo.risks import _document_number
from app.extensions import local_today
from app.people.models import Department, User
from app.risks.models import RiskPoint


def _plan(session, users, nc, spec: dict, today: date) -> None:
    approved = today - timedelta(days=spec.get("approved_days_ago", 0))
    services.approve_plan(
        session,
        users[spec["by"]],
        nc,
        actions=[
            {
                "text": a["text"],
                "type": a["type"],
                "owner": a["owner"],
                "due_date": today + timedelta(days=a["due_in"]),
            }
            for a in spec["actions"]
        ],
        criterion=spec["criterion"],
        check_date=today + timedelta(days=spec["check_in"]),
        rule=spec.get("rule"),
        password=DEMO_PASSWORD,
        today=approved,
    )


def _walk(session, users, specs, entry: dict, today: date) -> Nonconformity:
    by = users[entry["by"]]
    nc = services.report(
        session,
        by,
        description=entry["description"],
        department=session.scalar(select(Department).where(Department.code == entry["department"])),
        severity=entry["severity"],
        source=entry["source"],
        today=today,
    )
    for key in entry.get("links", []):
        number = _document_number(session, specs[key]) if key in specs else None
        if number is not None:
            session.add(NcLink(nc=nc, object_ref=f"document:{number}", created_by_id=by.id))
    session.flush()
    if "reject" in entry:
        r = entry["reject"]
        services.reject(session, users[r["by"]], nc, reason=r["reason"], password=DEMO_PASSWORD)
        return nc
    if "containment" in entry:
        c = entry["containment"]
        services.contain(session, users[c["by"]], nc, text=c["text"])
    if "analysis" in entry:
        a = entry["analysis"]
        services.analyse(
            session,
            users[a["by"]],
            nc,
            whys=a.get("whys", []),
            categories=a.get("categories", []),
            similar=a.get("similar", []),
            similar_elsewhere=a["elsewhere"],
        )
    if "plan" in entry:
        _plan(session, users, nc, entry["plan"], today)
    for done, action in zip(entry.get("done", []), list(nc.current_actions), strict=False):
        services.complete_action(
            session, users[done["by"]], action, evidence=done["evidence"], today=today
        )
    for v in entry.get("verifications", []):
        services.verify(
            session,
            users[v["by"]],
            nc,
            effective=v["effective"],
            evidence=v["evidence"],
            password=DEMO_PASSWORD,
        )
    if "reopened_plan" in entry:
        _plan(session, users, nc, entry["reopened_plan"], today)
    if "risk" in entry and nc.status == "closed":
        risk = session.scalar(select(RiskPoint).where(RiskPoint.process == entry["risk"]))
        if risk is not None:
            services.link_risk_point(session, users["officer"], nc, risk)
    return nc


def seed(session: Session, *, today: date | None = None) -> list[str]:
    """Add whatever of the demo NCs is missing; return what was added. Needs the demo
    organisation; without it nothing is added."""
    today = today or local_today()
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    if "officer" not in users:
        return []
    specs = {d.key: d for d in loader.documents()}
    added: list[str] = []
    for entry in loader.nonconformities()["nc"]:
        exists = session.scalar(
            select(Nonconformity.id).where(Nonconformity.description == entry["description"])
        )
        if exists is not None:
            continue
        nc = _walk(session, users, specs, entry, today)
        if nc.status != entry["to"]:
            raise ValueError(f"demo NC {nc.number} ended {nc.status}, not {entry['to']}")
        added.append(f"nonconformity {nc.number} {nc.status}")
    return added
