"""Parallel requests move an audit or sign its report once (as tests/test_concurrency.py
does for documents): twenty at once, one 200, nineteen 409, one event or signature."""

from __future__ import annotations

import pytest

from app.auth import services as auth
from app.extensions import db
from tests.audit_helpers import PASSWORD, make_org, new_audit, walk
from tests.test_concurrency import _events, _one_won, _race, _signatures


@pytest.fixture
def org(app):
    return make_org()


def _headers(user) -> dict:
    token = auth.create_token(db.session, None, user, "race")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_parallel_starts_start_once(app_config, org):
    """Do twenty simultaneous `start` requests start the audit once, with nineteen 409s?"""
    a = walk(org, new_audit(org), "prepared")
    answers = _race(app_config, f"/api/v1/audits/{a.number}/start", _headers(org.auditor), json={})
    _one_won(answers)
    assert _events("audit_started") == 1


def test_parallel_report_signatures_sign_once(app_config, org):
    """Do twenty simultaneous report signatures give one signature and one issue?"""
    a = walk(org, new_audit(org), "reporting")
    answers = _race(
        app_config,
        f"/api/v1/audits/{a.number}/sign",
        _headers(org.auditor),
        json={"password": PASSWORD},
    )
    _one_won(answers)
    assert _signatures("audit_report_signed") == 1
    assert _events("audit_report_issued") == 1
