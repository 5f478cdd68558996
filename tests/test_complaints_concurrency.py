"""Parallel requests (a double click, or twenty at once) record a complaint's step, close it
or approve its compensation once: one 200, the others 409, one row, one event."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth import services as auth
from app.complaints.models import ComplaintStep
from app.extensions import db
from tests.complaint_helpers import make_complaint_org, step, take
from tests.conftest import PASSWORD
from tests.test_concurrency import _events, _one_won, _race, _signatures


@pytest.fixture
def org(app):
    return make_complaint_org()


def _headers(user) -> dict:
    token = auth.create_token(db.session, None, user, "race")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_parallel_steps_record_once(app_config, org):
    """Do twenty simultaneous apologies record one step and move the case once?"""
    c = take(org)
    answers = _race(
        app_config,
        f"/api/v1/complaints/{c.number}/steps",
        _headers(org.head),
        json={"step": "apology", "note": "致歉"},
    )
    _one_won(answers, code="conflict")
    assert db.session.scalar(select(func.count(ComplaintStep.id))) == 1
    assert _events("complaint_acknowledged") == 1


def test_parallel_closes_close_once(app_config, org):
    """Do twenty simultaneous closes give one closure and nineteen 409s?"""
    c = take(org)
    step(org, c, "apology")
    answers = _race(
        app_config,
        f"/api/v1/complaints/{c.number}/close",
        _headers(org.head),
        json={"reason": "轻微"},
    )
    _one_won(answers)
    assert _events("complaint_closed") == 1


def test_parallel_approvals_sign_once(app_config, org):
    """Do twenty simultaneous approvals of a compensation give one signature?"""
    c = take(org)
    step(org, c, "compensation", value="800", note="退一个月费用")
    answers = _race(
        app_config,
        f"/api/v1/complaints/{c.number}/compensation/approve",
        _headers(org.head),
        json={"password": PASSWORD},
    )
    _one_won(answers, code="conflict")
    assert _signatures("complaint_compensation_approved") == 1
