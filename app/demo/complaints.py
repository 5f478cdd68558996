"""The demo's customer complaints (data/complaints.toml): the categories with their
commitment clocks, the complaints of the old register form (records.toml) as cases, and a
year of cases made from the stories — across categories, channels and departments, some
resolved at first contact, some followed up with a satisfaction score, some breached, a
few repeats, two still open — so that the KPIs and the management review have live data.

Everything goes through ``app.complaints.services`` as the people named would do it on the
case's page (a compensation above the set value is approved with the demo password); a
last sweep marks the breaches. Deterministic (no randomness: the i-th case follows the
i-th pattern) and idempotent: nothing is added once any case exists.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.complaints import reminders, services
from app.complaints.models import Complaint
from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.extensions import local_today, local_zone, utcnow
from app.people.models import Department, User

CASES = 36  # made from the stories, one every ~10 days over the last year
CHANNELS = ["hotline", "counter", "online", "hotline", "gov_hotline", "letter", "on_site"]
RECORD_CHANNELS = {"热线": "hotline", "在线": "online", "信函": "letter", "窗口": "counter"}
HANDLERS = {"CS": "cs_head", "OM": "om_head", "MK": "mk_head"}


def _users(session: Session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User))}


def _categories(session: Session, officer: User, data: dict) -> None:
    for cat in data["category"]:
        services.save_category(
            session,
            officer,
            code=cat["code"],
            name=cat["name"],
            name_en=cat["name_en"],
            clocks=[{"step": s, "within_hours": h} for s, h in cat["clocks"].items()],
        )


def _at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = local_today() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=local_zone())


def _plan(i: int, data: dict) -> dict:
    """The i-th generated case: when, who, what, and which of eight patterns it follows."""
    cats = data["category"]
    cat = cats[i % len(cats)]
    story = cat["stories"][(i // len(cats)) % len(cat["stories"])]
    days_ago = 3 + (CASES - 1 - i) * 10  # oldest first: 353 days ago … 3 days ago
    return {
        "category": cat,
        "story": story,
        "received": _at(days_ago, 9 + i % 8, (i * 7) % 60),
        "customer": data["customers"][i % len(data["customers"])],
        "contact": f"138{57000000 + i * 7919:08d}",
        "site": data["sites"][i % len(data["sites"])],
        "channel": CHANNELS[i % len(CHANNELS)],
        "pattern": i % 8,
    }


def _steps(session, users, c, plan: dict, *, now: datetime) -> None:
    """Recovery steps by pattern: 0 resolved at first contact; 1 and 5 every step in time
    (5 with a compensation the head approves); 2 a late apology; 3 a late restoration and
    follow-up; 4 closed after apology and restoration, with a reason; 6 and 7 still open
    (6: apologised) when recent, else like 1."""
    head = users[HANDLERS[c.department.code]]
    story, start, pattern = plan["story"], c.received_at, plan["pattern"]
    clocks = {k.step for k in c.clocks}
    if pattern in (6, 7) and now - start > timedelta(days=10):
        pattern = 1

    def rec(step: str, after: timedelta, **kw):
        at = start + after
        if at <= now:
            services.record_step(session, head, c, step=step, at=at, **kw)

    if pattern == 7:
        return
    apology_after = {0: 5, 2: 180, 3: 20}.get(pattern, 15)
    rec("apology", timedelta(minutes=apology_after), note="向顾客诚恳致歉，说明将尽快处理。")
    if pattern == 6:
        return
    restore_after = {0: timedelta(minutes=20), 3: timedelta(hours=30), 4: timedelta(hours=2)}
    rec("restoration", restore_after.get(pattern, timedelta(hours=5)), note=story["restoration"])
    if pattern == 4:
        services.close(session, head, c, reason="轻微投诉，致歉并复原后顾客表示满意，无需回访。")
        return
    rec("empathy", timedelta(hours=6), note=story["empathy"])
    if pattern in (3, 5):
        # above the approval value once (a signed approval costs a password check)
        value = "300" if pattern == 5 and plan["received"].month % 2 else "50"
        rec("compensation", timedelta(hours=8), note=story["compensation"], value=value)
        if services.pending_compensation(c) is not None:
            services.approve_compensation(session, head, c, password=DEMO_PASSWORD)
    follow_after = (
        timedelta(days=9) if pattern == 3 and "follow_up" in clocks else timedelta(days=3)
    )
    if start + follow_after > now:
        return
    satisfaction = {0: 5, 1: 4, 2: 3, 3: 2, 5: 5}[pattern]
    rec("follow_up", follow_after, note=story["follow_up"], satisfaction=satisfaction)
    missing = services.missing_steps(c)
    services.close(session, head, c, reason="未发生补偿：顾客诉求已满足。" if missing else None)


def _from_records(users, data: dict) -> list[dict]:
    """The complaints of the old register form (records.toml) that are in Chinese, as case
    plans: the same customer, channel, complaint and steps on the same days."""
    out = []
    for t in loader.records()["type"]:
        if t["name"] != "顾客投诉登记表":
            continue
        for r in t.get("records", []):
            v = r["values"]
            if not any("\u4e00" <= ch <= "\u9fff" for ch in v["customer"]):
                continue
            received = v["received_on"]["days_ago"]
            out.append(
                {
                    "record": v,
                    "received": _at(received, 9),
                    "customer": v["customer"],
                    "contact": v.get("phone", ""),
                    "channel": RECORD_CHANNELS.get(v["channel"].split()[0], "hotline"),
                }
            )
    return out


def _record_steps(session, users, c, plan: dict, now: datetime) -> None:
    v = plan["record"]
    handler = users.get(v.get("handler", "staff")) or users["cs_head"]
    for step in ("apology", "restoration", "empathy", "compensation", "follow_up"):
        if f"{step}_action" not in v:
            break
        day = v[f"{step}_on"]["days_ago"]
        at = max(_at(day, 10 + ["apology", "restoration"].count(step)), c.received_at)
        if step == "apology" and at == c.received_at:
            at += timedelta(minutes=30)
        kw = {}
        if step == "compensation":
            kw["value"] = "100"
        if step == "follow_up":
            kw["satisfaction"] = 4
        if at > now:
            break
        services.record_step(session, handler, c, step=step, at=at, note=v[f"{step}_action"], **kw)
        if services.pending_compensation(c) is not None:
            services.approve_compensation(session, users["cs_head"], c, password=DEMO_PASSWORD)


def seed(session: Session) -> list[str]:
    if session.scalar(select(Complaint.id).limit(1)) is not None:
        return []
    data = loader.complaints()
    users = _users(session)
    if "officer" not in users:
        return []
    _categories(session, users["officer"], data)
    departments = {d.code: d for d in session.scalars(select(Department))}
    now = utcnow()
    plans = [_plan(i, data) for i in range(CASES)]
    # two repeats: the same customer and category ten days after an earlier case
    for base in (10, 25):
        again = dict(plans[base])
        again["received"] = plans[base]["received"] + timedelta(days=10)
        again["pattern"] = 1
        plans.append(again)
    plans += [
        {**p, "category": data["category"][0], "site": "东街营业厅"}
        for p in _from_records(users, data)
    ]
    plans.sort(key=lambda p: p["received"])
    added = []
    for plan in plans:
        code = plan["category"]["department"]
        c = services.intake(
            session,
            users[HANDLERS[code]] if plan["channel"] == "on_site" else users["staff"],
            channel=plan["channel"],
            category=plan["category"]["code"],
            customer_name=plan["customer"],
            customer_contact=plan["contact"],
            department=departments[code],
            site=plan["site"],
            request=plan.get("story", {}).get("request") or plan["record"]["description"],
            commitment="24 小时内恢复服务" if plan["category"]["code"] != "WAIT" else "",
            received_at=plan["received"],
        )
        if "record" in plan:
            _record_steps(session, users, c, plan, now)
        else:
            _steps(session, users, c, plan, now=now)
        added.append(c.number)
    reminders.sweep(session, local_today())
    return added
