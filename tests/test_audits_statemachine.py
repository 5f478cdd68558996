"""The audit lifecycle: the transition table, row by row, and a Hypothesis rule-based
state machine of random planning, preparing, starting, filling, reporting, signing,
closing and cancelling. After every step each status change is an edge of
``TRANSITIONS``; no audit is in reporting or closed with an item to do; a closed audit
has a signed report and every NC of its standing findings an approved plan."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.audit_trail.models import Event
from app.audits import services
from app.audits.models import STATUSES, VERDICTS, Audit
from app.errors import DomainError, InvalidTransition
from app.extensions import db, local_today
from tests.audit_helpers import PASSWORD, make_org, new_audit, plan_nc

ACTION_FROM = {
    "prepare": "planned",
    "start": "prepared",
    "report": "in_progress",
    "close": "reporting",
}


@pytest.mark.parametrize("action", [*ACTION_FROM, "cancel"])
def test_each_action_only_from_its_sources(app, action):
    """Is each action refused (409) from every status but its sources in the table?"""
    org = make_org()
    sources, _target = services.TRANSITIONS[action]
    a = new_audit(org)
    for status in STATUSES:
        db.session.execute(Audit.__table__.update().values(status=status))
        db.session.commit()
        db.session.expire_all()
        try:
            if action == "cancel":
                services.cancel(db.session, org.officer, a, reason="表驱动")
            else:
                fn = services.ACTIONS[action]
                fn(db.session, org.auditor, a)
            moved = True
        except InvalidTransition:
            moved = False
        db.session.rollback()
        # a source may still be refused by its gate (no signature, items to do): never
        # a status outside the sources
        if status not in sources:
            assert not moved, (action, status)


def test_audit_lifecycle_state_machine(app):
    """Does no sequence of actions leave the table, report with an item to do, or close
    an audit without its signature and its NCs' plans?"""
    org = make_org()
    today = local_today()

    class Lifecycle(RuleBasedStateMachine):
        audits = Bundle("audits")

        def _try(self, fn, *args, **kwargs):
            try:
                fn(*args, **kwargs)
                db.session.commit()
            except DomainError:
                db.session.rollback()

        @rule(target=audits, qa=st.booleans())
        def plan(self, qa):
            a = new_audit(org, departments=("QA",) if qa else ("CS",), clauses=("9.2",))
            return a.number

        @rule(number=audits, action=st.sampled_from([*ACTION_FROM]))
        def move(self, number, action):
            a = services.get_audit(db.session, number)
            self._try(services.ACTIONS[action], db.session, org.auditor, a)

        @rule(number=audits)
        def cancel(self, number):
            a = services.get_audit(db.session, number)
            self._try(services.cancel, db.session, org.officer, a, reason="随机")

        @rule(number=audits)
        def justify(self, number):
            a = services.get_audit(db.session, number)
            self._try(services.justify, db.session, org.officer, a, text="随机")

        @rule(number=audits, verdict=st.sampled_from(list(VERDICTS)), which=st.integers(0, 1))
        def fill(self, number, verdict, which):
            a = services.get_audit(db.session, number)
            if which < len(a.items):
                self._try(
                    services.record_item,
                    db.session,
                    org.auditor,
                    a,
                    a.items[which],
                    verdict=verdict,
                    evidence="随机证据",
                )

        @rule(number=audits, good=st.booleans())
        def sign(self, number, good):
            a = services.get_audit(db.session, number)
            self._try(
                services.sign_report,
                db.session,
                org.auditor,
                a,
                password=PASSWORD if good else "wrong",
            )

        @rule(number=audits)
        def plan_ncs(self, number):
            a = services.get_audit(db.session, number)
            for f in a.findings:
                if f.nc is not None and f.nc.status == "reported":
                    plan_nc(org, f.nc, today)

        @invariant()
        def states_hold(self):
            for a in db.session.scalars(select(Audit)):
                assert a.status in STATUSES
                if a.status in ("reporting", "closed"):
                    assert a.items_to_do == 0
                if a.status == "closed":
                    assert a.report_signature_id is not None
                    assert not services.close_blockers(a)
            for ev in db.session.scalars(select(Event).where(Event.object_ref.like("audit:%"))):
                before = json.loads(ev.before or "{}").get("status")
                after = json.loads(ev.after or "{}").get("status")
                if before and after and ev.action != "audit_planned":
                    assert (before, after) in services.ALLOWED_EDGES

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
