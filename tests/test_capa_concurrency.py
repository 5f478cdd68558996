"""Parallel requests sign an NC's plan or verification once (as tests/test_concurrency.py
does for documents): twenty at once, one 200, nineteen 409, one signature, one event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth import services as auth
from app.extensions import db, local_today
from tests.capa_helpers import make_org, walk
from tests.conftest import PASSWORD
from tests.test_concurrency import _events, _one_won, _race, _signatures


@pytest.fixture
def org(app):
    return make_org()


def _headers(user) -> dict:
    token = auth.create_token(db.session, None, user, "race")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_parallel_plan_approvals_sign_once(app_config, org):
    """Do twenty simultaneous plan approvals give one signed plan and nineteen 409s?"""
    nc = walk(org, "analysed")
    today = local_today()
    body = {
        "actions": [
            {
                "text": "培训",
                "owner": org.owner.username,
                "due_date": (today + timedelta(days=2)).isoformat(),
                "type": "corrective",
            }
        ],
        "effectiveness": {
            "criterion": "无重复",
            "check_date": (today + timedelta(days=5)).isoformat(),
        },
        "password": PASSWORD,
    }
    answers = _race(
        app_config, f"/api/v1/nonconformities/{nc.number}/plan", _headers(org.head), json=body
    )
    _one_won(answers)
    assert _signatures("nc_plan_approved") == 1
    assert _events("nc_action_planned") == 1
    db.session.refresh(nc)
    assert len(nc.actions) == 1 and len(nc.plans) == 1


def test_parallel_verifications_sign_once(app_config, org):
    """Do twenty simultaneous verifications give one signature, one closure and 409s?"""
    nc = walk(org, "verifying")
    answers = _race(
        app_config,
        f"/api/v1/nonconformities/{nc.number}/verification",
        _headers(org.officer),
        json={"effective": False, "evidence": "又发生", "password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("nc_verified_not_effective") == 1
    assert _events("nc_reopened") == 1
    db.session.refresh(nc)
    assert nc.round == 2 and len(nc.verifications) == 1
