"""Parallel requests compile a management review or approve its minutes once (as
tests/test_concurrency.py does for documents): twenty at once, one 200, nineteen 409, one
snapshot, event or signature."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.reviews import services
from app.reviews.models import ReviewSnapshot
from tests.review_helpers import PASSWORD, make_chair, make_org, new_review, tokens_for
from tests.test_concurrency import _events, _one_won, _race, _signatures


@pytest.fixture
def org(app):
    return make_org()


def test_parallel_compiles_compile_once(app_config, org):
    """Do twenty simultaneous first compiles make one snapshot, with nineteen 409s?"""
    chair = make_chair(org)
    r = new_review(org, chair)
    headers = tokens_for(org.officer)["officer"]
    answers = _race(app_config, f"/api/v1/management-reviews/{r.number}/compile", headers, json={})
    _one_won(answers)
    assert _events("review_compiled") == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ReviewSnapshot)) == 1


def test_parallel_approvals_sign_once(app_config, org):
    """Do twenty simultaneous approvals by the chair give one signature and one kept
    report, with nineteen 409s?"""
    chair = make_chair(org)
    r = new_review(org, chair)
    services.compile_inputs(db.session, org.officer, r)
    services.hold(db.session, org.officer, r)
    db.session.commit()
    headers = tokens_for(chair)["gm"]
    answers = _race(
        app_config,
        f"/api/v1/management-reviews/{r.number}/approve",
        headers,
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("review_minutes_approved") == 1
    assert _events("review_minutes_approved") == 1
    assert _events("review_report_stored") == 1
