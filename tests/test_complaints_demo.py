"""The demo's complaints: a year of cases in Chinese, across categories, channels and
departments, with live figures for the KPIs and the management review."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.complaints import queries
from app.complaints.models import Complaint, ComplaintCategory
from app.extensions import db, local_today

LATIN = re.compile(r"[A-Za-z]")


def test_the_demo_has_a_year_of_cases_with_live_figures(demo, app):
    """Are there 30-60 cases over the last year with every kind of outcome the KPIs need?"""
    today = local_today()
    f = queries.figures(db.session, today - timedelta(days=366), today + timedelta(days=1))
    assert 30 <= f.received <= 60
    assert len(f.by_category) >= 4 and len(f.by_channel) >= 5
    assert f.first_contact >= 3 and f.satisfaction_count >= 10 and f.breaches >= 3
    assert f.repeats >= 1 and f.resolved >= f.received // 2
    cases = db.session.scalars(select(Complaint)).all()
    assert len({c.department_id for c in cases}) >= 3
    assert any(c.status != "closed" for c in cases)
    assert any(c.nc_number for c in cases) or any(c.breached for c in cases)


def test_demo_complaints_are_in_chinese(demo, app):
    """Are the customers, requests, sites and notes of the demo in Chinese only?"""
    for c in db.session.scalars(select(Complaint)):
        for text in (c.customer_name, c.request, c.site, c.commitment, c.close_reason or ""):
            assert not LATIN.search(text), (c.number, text)
        for s in c.steps:
            assert not LATIN.search(s.note), (c.number, s.note)
    names = db.session.scalars(select(ComplaintCategory.name_zh)).all()
    assert names and not any(LATIN.search(n) for n in names)
