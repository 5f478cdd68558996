"""Shared set-up of the complaint tests: the organisation of the NC tests (CS with its
head, QA, an officer, an auditor) and two categories with their clocks."""

from __future__ import annotations

from datetime import datetime

from app.complaints import services
from app.extensions import db, local_zone
from tests.capa_helpers import Org, make_org

SERVICE_CLOCKS = [
    {"step": "apology", "within_hours": 1},
    {"step": "restoration", "within_hours": 24},
    {"step": "follow_up", "within_hours": 168},
]


def make_complaint_org() -> Org:
    org = make_org()
    services.save_category(
        db.session,
        org.officer,
        code="SVC",
        name="服务态度",
        name_en="Service manner",
        clocks=SERVICE_CLOCKS,
    )
    services.save_category(
        db.session,
        org.officer,
        code="FAC",
        name="设施环境",
        name_en="Facilities",
        clocks=[{"step": "apology", "within_hours": 2}],
    )
    db.session.commit()
    return org


def local(*args) -> datetime:
    """A time on the organisation's wall clock."""
    return datetime(*args, tzinfo=local_zone())


def take(
    org: Org,
    *,
    category="SVC",
    channel="hotline",
    department=None,
    name="王芳",
    contact="13800000001",
    site="人民路营业厅",
    at=None,
    request="退还多收的费用",
):
    c = services.intake(
        db.session,
        org.reporter,
        channel=channel,
        category=category,
        customer_name=name,
        customer_contact=contact,
        department=department or org.cs,
        site=site,
        request=request,
        received_at=at,
    )
    db.session.commit()
    return c


def step(org: Org, c, name: str, at=None, actor=None, **kw):
    result = services.record_step(db.session, actor or org.head, c, step=name, at=at, **kw)
    db.session.commit()
    return result
