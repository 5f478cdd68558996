"""The demo nonconformities: twelve, every state and source, one reopened after a failed
data check, one closed by a data-proven check; seeded once."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from app.capa.models import SOURCES, STATUSES, Nonconformity
from app.demo import nonconformities, organisation, risks
from app.extensions import db
from app.risks.services import risk_points_for


def test_demo_ncs_cover_every_state_and_source_and_seed_once(app):
    """Do the demo NCs reach every state from every source, with one reopened after a
    failed data check, one closed by a met data rule, and does a second seed add none?"""
    organisation.seed(db.session)
    risks.seed(db.session)
    added = nonconformities.seed(db.session)
    db.session.commit()
    assert len(added) == 12
    ncs = db.session.scalars(select(Nonconformity).order_by(Nonconformity.id)).all()
    assert set(Counter(nc.status for nc in ncs)) == set(STATUSES)
    assert {nc.source for nc in ncs} == set(SOURCES)
    reopened = [nc for nc in ncs if nc.round == 2]
    assert len(reopened) == 1
    (nc,) = reopened
    assert nc.status == "action_planned" and nc.plan is not None
    (failed,) = nc.checks
    assert failed.outcome == "not_met" and failed.evidence
    assert [v.effective for v in nc.verifications] == [False]
    proven = [nc for nc in ncs if nc.status == "closed" and nc.checks]
    assert len(proven) == 1 and proven[0].checks[0].outcome == "met"
    assert any(risk_points_for(db.session, nc.ref) for nc in ncs if nc.status == "closed")
    overdue = [a for nc in ncs for a in nc.open_actions if a.due_date < nc.reported_at.date()]
    assert overdue  # the sweep has an overdue action to remind
    assert nonconformities.seed(db.session) == []


def test_every_demo_nc_page_opens_for_every_kind_of_user(app, client):
    """With the demo NCs, does every NC page, the register (and its downloads) and "My
    actions" answer 200 or 404 — never a 500 — for officer, staff, a department head, the
    auditor and the administrator, in Chinese and in English?"""
    from app.demo import DEMO_PASSWORD

    organisation.seed(db.session)
    risks.seed(db.session)
    nonconformities.seed(db.session)
    db.session.commit()
    numbers = db.session.scalars(select(Nonconformity.number)).all()
    paths = ["/nonconformities", "/nonconformities?format=xlsx", "/my-actions", "/"]
    paths += ["/my-actions?status=done", "/nonconformities/report"]
    paths += [f"/nonconformities/{n}" for n in numbers]
    seen = Counter()
    for username, language in (
        ("officer", "zh_CN"),
        ("staff", "en"),
        ("cs_head", "zh_CN"),
        ("auditor", "en"),
        ("admin", "zh_CN"),
    ):
        client.form_post("/login", {"username": username, "password": DEMO_PASSWORD})
        client.form_post("/profile/language", {"language": language})
        for path in paths:
            status = client.get(path).status_code
            assert status in (200, 404), (username, path, status)
            seen[status] += 1
        client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    assert seen[404] > 0 and seen[200] > len(paths)  # staff do not see other departments'
