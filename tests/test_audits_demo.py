"""The demo's 2026 audit programme: every department covered, two closed audits with
findings (one disputed), one in progress half done, one planned; seeded once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql import true

from app.audits import services
from app.audits.models import Audit
from app.demo import audits, organisation
from app.extensions import db


def test_demo_audits_seed_the_2026_programme_once(app):
    """Does the demo seed the 2026 programme as the issue asks, and a second seed add
    nothing?"""
    organisation.seed(db.session)
    added = audits.seed(db.session)
    db.session.commit()
    assert len(added) == 4
    rows = db.session.scalars(select(Audit).order_by(Audit.number)).all()
    assert [a.status for a in rows] == ["closed", "closed", "in_progress", "planned"]
    assert all(a.year == 2026 for a in rows)
    closed = [a for a in rows if a.status == "closed"]
    assert all(a.findings and a.report_signature_id for a in closed)
    assert any(f.response_reason for a in closed for f in a.findings)  # the dispute
    running = rows[2]
    assert 0 < running.items_to_do < len(running.items)
    prog = services.programme(db.session, 2026, true())
    assert prog["uncovered_departments"] == []
    assert audits.seed(db.session) == []
