"""The figures the KPIs and the management review read (app/complaints/queries.py), against
a small set of cases counted by hand."""

from __future__ import annotations

from datetime import date

import pytest

from app.complaints import queries, services
from app.extensions import db
from tests.complaint_helpers import local, make_complaint_org, step, take

NOW = local(2026, 11, 20, 9, 0)


@pytest.fixture
def cases(app):
    """Five cases received in November 2026 (organisation's dates) and two just outside.

    ====  ===  =========  ====  ==================================================
    case  cat  channel    dept  steps (clocks: SVC apology 1 h, restoration 24 h,
                                follow-up 168 h; FAC apology 2 h)
    ====  ===  =========  ====  ==================================================
    A     SVC  hotline    CS    apology 09:10, restoration 09:20 (first contact),
                                follow-up 11-05 satisfaction 5: 3 met
    B     SVC  counter    CS    apology 12:00 (late), restoration next day 09:00,
                                follow-up 11-19 (late) satisfaction 3: 1 of 3 met
    C     SVC  online     QA    same customer as A (a repeat); apology in time,
                                nothing else: restoration and follow-up overdue
    D     FAC  hotline    QA    nothing yet; apology due 10:00 > NOW: pending
    F     FAC  letter     CS    received 11-01 00:30 (still 10-31 in UTC); apology in
                                time; closed with a reason
    ====  ===  =========  ====  ==================================================
    """
    org = make_complaint_org()
    take(org, category="FAC", name="赵强", contact="13900000009", at=local(2026, 10, 31, 23, 30))
    a = take(org, at=local(2026, 11, 2, 9, 0))
    step(org, a, "apology", at=local(2026, 11, 2, 9, 10))
    step(org, a, "restoration", at=local(2026, 11, 2, 9, 20))
    step(org, a, "follow_up", at=local(2026, 11, 5, 10, 0), satisfaction=5)
    b = take(
        org,
        channel="counter",
        name="李雷",
        contact="13700000002",
        site="东街营业厅",
        at=local(2026, 11, 3, 10, 0),
    )
    step(org, b, "apology", at=local(2026, 11, 3, 12, 0))
    step(org, b, "restoration", at=local(2026, 11, 4, 9, 0))
    step(org, b, "follow_up", at=local(2026, 11, 19, 12, 0), satisfaction=3)
    c = take(
        org, channel="online", department=org.qa, site="西街营业厅", at=local(2026, 11, 10, 8, 0)
    )
    step(org, c, "apology", at=local(2026, 11, 10, 8, 30), actor=org.officer)
    take(
        org,
        category="FAC",
        department=org.qa,
        name="周明",
        contact="13600000004",
        site="北街营业厅",
        at=local(2026, 11, 20, 8, 0),
    )
    f = take(
        org,
        category="FAC",
        channel="letter",
        name="吴敏",
        contact="13500000005",
        site="南街营业厅",
        at=local(2026, 11, 1, 0, 30),
    )
    step(org, f, "apology", at=local(2026, 11, 1, 0, 45))
    services.close(db.session, org.head, f, reason="轻微投诉，致歉后顾客满意")
    db.session.commit()
    take(org, name="孙丽", contact="13400000006", site="中街营业厅", at=local(2026, 12, 1, 0, 30))
    return org


def test_figures_match_the_hand_count(cases):
    """Do the figures of November equal what was counted by hand?"""
    f = queries.figures(db.session, date(2026, 11, 1), date(2026, 12, 1), now=NOW)
    assert f == queries.ComplaintFigures(
        received=5,
        by_category={"SVC": 3, "FAC": 2},
        by_channel={"hotline": 2, "counter": 1, "online": 1, "letter": 1},
        resolved=2,
        first_contact=1,
        commitment_cases=4,
        commitment_cases_met=2,
        clocks_due={"apology": 4, "restoration": 3, "follow_up": 3},
        clocks_met={"apology": 3, "restoration": 2, "follow_up": 1},
        satisfaction_count=2,
        satisfaction_sum=8,
        breaches=4,
        repeats=1,
    )


def test_figures_filtered_by_department_and_category(cases):
    """Do the department and category filters keep only their cases?"""
    cs = queries.figures(db.session, date(2026, 11, 1), date(2026, 12, 1), department="CS", now=NOW)
    assert (cs.received, cs.by_channel, cs.breaches, cs.commitment_cases_met) == (
        3,
        {"hotline": 1, "counter": 1, "letter": 1},
        2,
        2,
    )
    fac = queries.figures(db.session, date(2026, 11, 1), date(2026, 12, 1), category="FAC", now=NOW)
    assert (fac.received, fac.clocks_due, fac.clocks_met, fac.commitment_cases) == (
        2,
        {"apology": 1},
        {"apology": 1},
        1,
    )


def test_a_pending_clock_is_decided_once_its_time_has_passed(cases):
    """Does the unanswered FAC case count as breached once its due time is past?"""
    later = queries.figures(
        db.session, date(2026, 11, 1), date(2026, 12, 1), now=local(2026, 11, 20, 10, 1)
    )
    assert later.clocks_due["apology"] == 5
    assert later.clocks_met["apology"] == 3
    assert later.breaches == 5
    assert later.commitment_cases == 5


def test_a_reopened_case_is_no_first_contact_resolution(cases):
    """Does reopening take "resolved at first contact" away (it is derived, not typed)?"""
    a = services.get_complaint(db.session, "CMP-2026-00002")
    assert a.first_contact
    services.reopen(db.session, cases.head, a, reason="顾客再次来电")
    db.session.commit()
    f = queries.figures(db.session, date(2026, 11, 1), date(2026, 12, 1), now=NOW)
    assert (f.resolved, f.first_contact, f.satisfaction_count) == (1, 0, 1)


def test_empty_period_and_names(cases):
    """An empty period gives zeros; names come in the current language."""
    f = queries.figures(db.session, date(2025, 1, 1), date(2025, 2, 1), now=NOW)
    assert (f.received, f.by_category, f.clocks_due, f.breaches) == (0, {}, {}, 0)
    assert queries.category_names(db.session) == {"FAC": "Facilities", "SVC": "Service manner"}
    assert queries.channel_names()["gov_hotline"]
