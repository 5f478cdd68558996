"""A Hypothesis rule-based state machine over the nonconformity lifecycle.

Random sequences of reporting, containing, analysing, approving plans (by the right or
the wrong person, with good or wrong passwords), doing actions, time passing (the
sweep's checks), verifying (effective or not, sometimes by an action owner) and
rejecting. After every step: each status change is an edge of ``TRANSITIONS``, every
status is one of the table's, no NC is implemented, verifying or closed with an open
action, and a closed NC was verified effective in its last round; the audit chain stays
intact.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.capa import reminders, services
from app.capa.models import STATUSES, Nonconformity
from app.errors import DomainError
from app.extensions import db, local_today
from tests.capa_helpers import make_org
from tests.conftest import PASSWORD

GOOD_MOSTLY = st.sampled_from([True, True, True, False])


def test_nc_lifecycle_state_machine(app):
    """Does no sequence of actions reach a state outside the table or close an NC with an
    open action?"""
    org = make_org()
    people = [org.officer, org.head, org.reporter, org.owner, org.outsider]

    class Lifecycle(RuleBasedStateMachine):
        ncs = Bundle("ncs")

        @initialize()
        def start(self):
            self.today = local_today()
            self.last_seq = db.session.scalar(select(func.max(Event.seq))) or 0

        def _attempt(self, fn, *args, **kwargs) -> bool:
            try:
                fn(*args, **kwargs)
            except DomainError:
                db.session.rollback()
                return False
            db.session.commit()
            return True

        @rule(target=ncs, who=st.sampled_from(range(5)))
        def report(self, who):
            nc = services.report(
                db.session, people[who], description="问题", department=org.cs, today=self.today
            )
            db.session.commit()
            return nc.id

        @rule(nc_id=ncs, who=st.sampled_from(range(5)), empty=st.booleans())
        def contain(self, nc_id, who, empty):
            nc = db.session.get(Nonconformity, nc_id)
            self._attempt(
                services.contain, db.session, people[who], nc, text="" if empty else "隔离"
            )

        @rule(nc_id=ncs, whys=st.booleans(), cats=st.booleans())
        def analyse(self, nc_id, whys, cats):
            nc = db.session.get(Nonconformity, nc_id)
            self._attempt(
                services.analyse,
                db.session,
                org.head,
                nc,
                whys=["为什么"] if whys else [],
                categories=["method"] if cats else [],
                similar=[],
                similar_elsewhere="否",
            )

        @rule(
            nc_id=ncs,
            signer=st.sampled_from(range(5)),
            owner=st.sampled_from(range(5)),
            two=st.booleans(),
            good=GOOD_MOSTLY,
            check_in=st.integers(0, 6),
        )
        def plan(self, nc_id, signer, owner, two, good, check_in):
            nc = db.session.get(Nonconformity, nc_id)
            actions = [
                {
                    "text": f"行动{i}",
                    "owner": people[(owner + i) % 5].username,
                    "type": "corrective",
                    "due_date": self.today + timedelta(days=i),
                }
                for i in range(2 if two else 1)
            ]
            self._attempt(
                services.approve_plan,
                db.session,
                people[signer],
                nc,
                actions=actions,
                criterion="无重复",
                check_date=self.today + timedelta(days=max(check_in, 1 if two else 0)),
                password=PASSWORD if good else "wrong",
                today=self.today,
            )

        @rule(nc_id=ncs, who=st.sampled_from(range(5)), which=st.integers(0, 3))
        def do_action(self, nc_id, who, which):
            nc = db.session.get(Nonconformity, nc_id)
            if nc.actions:
                action = nc.actions[which % len(nc.actions)]
                self._attempt(
                    services.complete_action,
                    db.session,
                    people[who],
                    action,
                    evidence="证据",
                    today=self.today,
                )

        @rule(days=st.integers(1, 5))
        def time_passes(self, days):
            self.today += timedelta(days=days)
            self._attempt(reminders.sweep, db.session, self.today)

        @rule(
            nc_id=ncs,
            who=st.sampled_from(range(5)),
            effective=st.booleans(),
            good=GOOD_MOSTLY,
        )
        def verify(self, nc_id, who, effective, good):
            nc = db.session.get(Nonconformity, nc_id)
            self._attempt(
                services.verify,
                db.session,
                people[who],
                nc,
                effective=effective,
                evidence="核查",
                password=PASSWORD if good else "wrong",
            )

        @rule(nc_id=ncs, roll=st.integers(0, 4), good=GOOD_MOSTLY)
        def reject(self, nc_id, roll, good):
            if roll == 0:  # rare: it ends the NC's story
                nc = db.session.get(Nonconformity, nc_id)
                self._attempt(
                    services.reject,
                    db.session,
                    org.officer,
                    nc,
                    reason="非不符合",
                    password=PASSWORD if good else "wrong",
                )

        @invariant()
        def only_table_edges_and_no_open_action_when_done(self):
            for ev in db.session.scalars(
                select(Event).where(Event.seq > self.last_seq).order_by(Event.seq)
            ):
                before, after = json.loads(ev.before or "{}"), json.loads(ev.after or "{}")
                if (
                    ev.object_ref.startswith("nonconformity:")
                    and "status" in before
                    and "status" in after
                ):
                    assert (before["status"], after["status"]) in services.ALLOWED_EDGES
                self.last_seq = ev.seq
            for nc in db.session.scalars(select(Nonconformity)):
                assert nc.status in STATUSES
                if nc.status in ("implemented", "verifying", "closed"):
                    assert not nc.open_actions, nc.number
                    assert nc.plan is not None and nc.current_actions
                if nc.status == "closed":
                    last = nc.verifications[-1]
                    assert last.effective and last.round == nc.round
                if nc.status == "action_planned" and nc.plan is not None:
                    assert nc.current_actions

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=20,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert verify_chain(db.session).ok
