"""Audits and findings in the search: found by their words, only by those who may see
them, and an audit number typed without its prefix opens the audit."""

from __future__ import annotations

import pytest
from flask import current_app

from app.audits import services as audits
from app.extensions import db
from app.search import services, sync
from tests.audit_helpers import make_org, new_audit, walk


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


@pytest.fixture
def org(app):
    sync.ensure_index(db.session, sync.store_for(app), wait=None)
    return make_org()


def _numbers(user, text, kind) -> list[str]:
    results = services.search(
        db.session, sync.store_for(current_app), user, text, selected={"kind": kind}
    )
    return [h.number for h in results.hits]


def test_audits_and_findings_are_found_by_who_may_see_them(org):
    """Is an audit found by its scope and a finding by its evidence, by the auditee and
    the auditors but not by an outsider; and does 2026-1 open the audit?"""
    a = walk(org, new_audit(org), "in_progress")
    result = audits.record_item(
        db.session, org.auditor, a, a.items[0], verdict="minor_nc", evidence="交接班记录缺失"
    )
    db.session.commit()
    assert _numbers(org.reporter, "柜台", "audit") == [a.number]
    assert _numbers(org.outsider, "柜台", "audit") == []
    assert _numbers(org.auditor, "交接班", "finding") == [result.finding.label]
    assert _numbers(org.outsider, "交接班", "finding") == []
    typed = f"{a.year}-{a.seq}"
    assert services.exact_match(db.session, org.reporter, typed) == f"/audits/{a.number}"
    assert services.exact_match(db.session, org.outsider, typed) is None
