"""Shared set-up of the internal-audit tests: the NC tests' small organisation, a record
of each confidentiality, and an audit walked to a chosen status."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app

from app.audits import services
from app.capa import services as capa
from app.extensions import db, local_today
from tests.capa_helpers import Org, make_org, plan_body
from tests.conftest import PASSWORD

__all__ = ["PASSWORD", "Org", "fill_all", "make_org", "make_records", "new_audit", "walk"]


def make_records(org: Org) -> dict:
    """A public record of CS and a confidential one of QA (numbers by key)."""
    from app.records import services as records  # only the tests that link records need it
    from app.storage import get_store

    store = get_store(current_app)
    out = {}
    for code, dept, conf in (("REC-CS-01", "CS", "internal"), ("REC-QA-09", "QA", "confidential")):
        rtype = records.create_type(
            db.session,
            org.officer,
            {
                "code": code,
                "name": "记录 " + code,
                "department": dept,
                "confidentiality": conf,
                "fields": [{"name": "note", "label": "备注", "type": "text"}],
                "retention": {"years": 3},
            },
        )
        rec = records.file_record(db.session, store, org.officer, rtype, {"note": "x"})
        out[dept] = rec.number
    db.session.commit()
    return out


def new_audit(org: Org, *, departments=("CS",), team=(), clauses=("7.5.3", "8.5"), start=None):
    start = start or local_today() + timedelta(days=10)
    a = services.plan(
        db.session,
        org.officer,
        title="客户服务部年度内审",
        objectives="验证服务过程符合程序",
        scope="柜台服务与投诉处理",
        clauses=list(clauses),
        departments=list(departments),
        lead_auditor=org.auditor.username,
        team=list(team),
        planned_start=start,
        planned_end=start + timedelta(days=1),
    )
    db.session.commit()
    return a


def fill_all(org: Org, a, *, verdict="conforming") -> None:
    for item in list(a.items):
        if not item.done:
            services.record_item(
                db.session, org.auditor, a, item, verdict=verdict, evidence="抽查 3 份记录"
            )
    db.session.commit()


def walk(org: Org, a, to: str):
    """Walk ``a`` forward to status ``to`` (checklist all conforming)."""
    order = ["prepared", "in_progress", "reporting"]
    for status in order[: order.index(to) + 1]:
        if status == "prepared":
            services.prepare(db.session, org.auditor, a)
        elif status == "in_progress":
            services.start(db.session, org.auditor, a)
        else:
            fill_all(org, a)
            services.to_reporting(db.session, org.auditor, a, conclusions="体系基本有效")
        db.session.commit()
    return a


def plan_nc(org: Org, nc, today: date | None = None) -> None:
    """Walk the NC an audit opened to an approved action plan."""
    s = db.session
    capa.contain(s, org.head, nc, text="立即纠正")
    capa.analyse(
        s,
        org.head,
        nc,
        whys=["未培训"],
        categories=["people"],
        similar=[],
        similar_elsewhere="否",
    )
    capa.approve_plan(s, org.head, nc, **plan_body(org, today=today), today=today)
    s.commit()
