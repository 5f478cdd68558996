"""The demo management reviews (data/reviews.toml): last year's closed with its actions
(some done), this year's compiled and ready for the meeting.

Everything goes through ``app.reviews.services`` as the quality officer and the general
manager (黄志强, top management) would do it; the chair signs the minutes. The report is
drawn on request (``qdms demo`` keeps no PDF: seeding stays fast)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.extensions import local_today
from app.people.models import User
from app.reviews import services
from app.reviews.models import ManagementReview


def _day(text: str, today: date) -> date:
    """``Y-03-31``, ``Y-1-12-15`` (the seeding year, or the year before) or ``+14`` days."""
    if text.startswith("+"):
        return today + timedelta(days=int(text[1:]))
    year = today.year
    rest = text[2:]
    if text.startswith("Y-1-"):
        year, rest = year - 1, text[4:]
    month, day = (int(p) for p in rest.split("-"))
    return date(year, month, day)


def _walk(session: Session, users: dict, entry: dict, today: date) -> ManagementReview:
    officer, chair = users[entry["by"]], users[entry["chair"]]
    r = services.plan(
        session,
        officer,
        period_start=_day(entry["period"][0], today),
        period_end=_day(entry["period"][1], today),
        planned_date=_day(entry["planned"], today),
        chair=chair.username,
    )
    services.update(
        session,
        officer,
        r,
        external_issues=entry.get("external_issues"),
        resources=entry.get("resources"),
        attendees=entry.get("attendees"),
    )
    services.compile_inputs(session, officer, r)
    if entry["to"] == "inputs_compiled":
        return r
    services.update(session, officer, r, narratives=entry.get("narratives", {}))
    decisions = []
    for d in entry.get("decision", []):
        decisions.append(
            (
                services.add_decision(
                    session,
                    officer,
                    r,
                    text=d["text"],
                    category=d["category"],
                    owner=d["owner"],
                    due_date=_day(d["due"], today),
                ),
                d,
            )
        )
    services.hold(session, officer, r)
    services.approve(session, chair, r, password=DEMO_PASSWORD)
    services.close(session, officer, r)
    for decision, d in decisions:
        if d.get("done"):
            services.complete_action(session, users[d["owner"]], decision, evidence=d["done"])
    return r


def seed(session: Session) -> list[str]:
    """Add whatever of the demo reviews is missing; return what was added. Needs the demo
    organisation (and its chair, gm); without it nothing is added."""
    today = local_today()
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    if "officer" not in users or "gm" not in users or not users["gm"].has_role("management"):
        return []
    added: list[str] = []
    for entry in loader.reviews()["review"]:
        start = _day(entry["period"][0], today)
        if session.scalar(
            select(ManagementReview.id).where(ManagementReview.period_start == start)
        ):
            continue
        r = _walk(session, users, entry, today)
        if r.status != entry["to"]:
            raise ValueError(f"demo review {r.number} ended {r.status}, not {entry['to']}")
        added.append(f"management review {r.number} {r.status}")
    return added
