"""Shared set-up of the management-review tests: the NC tests' small organisation plus a
member of top management who chairs, and a review walked to a chosen status."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db, local_today
from app.people import services as people
from app.reviews import services
from tests.capa_helpers import Org, make_org
from tests.conftest import PASSWORD

__all__ = ["PASSWORD", "Org", "make_chair", "make_org", "new_review", "tokens_for"]


def make_chair(org: Org):
    chair = people.create_user(
        db.session,
        None,
        username="gm",
        full_name="黄志强",
        password=PASSWORD,
        roles=["approver", "management"],
        language="zh_CN",
        department=org.qa,
    )
    db.session.commit()
    return chair


def new_review(org: Org, chair, *, days=300, planned_in=5):
    today = local_today()
    r = services.plan(
        db.session,
        org.officer,
        period_start=today - timedelta(days=days),
        period_end=today,
        planned_date=today + timedelta(days=planned_in),
        chair=chair.username,
    )
    db.session.commit()
    return r


def tokens_for(*users) -> dict:
    from app.auth import services as auth

    out = {
        u.username: {"Authorization": f"Bearer {auth.create_token(db.session, None, u, 't')}"}
        for u in users
    }
    db.session.commit()
    return out
