"""A Hypothesis rule-based state machine over the revision lifecycle.

Random sequences of creating documents, starting revisions, submitting, reviewing,
rejecting, approving (today or later), sweeping forward in time, cancelling and
withdrawing — with wrong passwords and wrong people mixed in. After every step:
no document has two effective revisions, every status change is an edge of the table,
the document's summary fields agree with its revisions, and the audit chain is intact.
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
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, update

from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.documents import services
from app.documents.models import Document, Revision
from app.errors import DomainError
from app.extensions import db, local_today
from app.people.models import User
from tests.conftest import PASSWORD

GOOD_MOSTLY = st.sampled_from([True, True, True, False])


def test_revision_lifecycle_state_machine(app, make_user, make_document, store, make_docx):
    """Does no sequence of actions yield two effective revisions or an edge outside the table?"""
    from app.uploads import check_upload

    author = make_user("author", roles=("author", "staff"))
    reviewer = make_user("reviewer", roles=("staff",))
    approvers = [make_user(f"approver{i}", roles=("approver",), department="QA") for i in (1, 2)]
    officer = make_user("officer", roles=("officer",), department="QA")
    people = [author, reviewer, *approvers, officer]
    upload = check_upload(make_docx(("服务补救",)), "x.docx", max_bytes=10**7)

    class Lifecycle(RuleBasedStateMachine):
        documents = Bundle("documents")

        @initialize()
        def start(self):
            # the people outlive a run: a run's wrong passwords must not have locked one
            # (hypothesis replays a case and expects the same outcome)
            db.session.execute(
                update(User)
                .where(User.id.in_([p.id for p in people]))
                .values(failed_logins=0, locked_until=None)
            )
            db.session.commit()
            self.today = local_today()
            self.created = 0
            self.doc_ids: list[int] = []
            self.before = self._statuses()
            self.last_seq = db.session.scalar(select(func.max(Event.seq))) or 0

        def _statuses(self) -> dict[int, str]:
            stmt = select(Revision.id, Revision.status).where(
                Revision.document_id.in_(self.doc_ids)
            )
            return dict(db.session.execute(stmt).all())

        def _attempt(self, fn, *args, **kwargs) -> bool:
            """Run one action as a request would: commit on success, roll back on refusal."""
            try:
                fn(*args, **kwargs)
            except DomainError:
                db.session.rollback()
                return False
            db.session.commit()
            return True

        def _open(self, doc) -> Revision | None:
            return services.open_revision(doc)

        @precondition(lambda self: self.created < 3)
        @rule(target=documents)
        def create(self):
            self.created += 1
            doc = make_document("QP", "CS", author=author)
            self.doc_ids.append(doc.id)
            return doc.id

        @rule(doc_id=documents, major=st.booleans(), template=st.booleans())
        def start_revision(self, doc_id, major, template):
            doc = db.session.get(Document, doc_id)
            self._attempt(
                services.add_revision,
                db.session,
                author,
                doc,
                store,
                change_type="major" if major else "minor",
                change_summary="s",
                change_reason="r",
                upload=None if template else upload,
                from_template=template,
            )

        def _pending(self, rev, role):
            return next(
                (p.user for p in rev.current_round() if p.role == role and p.decision is None), None
            )

        @rule(
            doc_id=documents,
            with_reviewer=st.booleans(),
            two=st.booleans(),
            reject=st.sampled_from([False, False, False, True]),
            good_password=GOOD_MOSTLY,
            days=st.sampled_from([0, 0, 3]),
            steps=st.integers(1, 4),
        )
        def advance(self, doc_id, with_reviewer, two, reject, good_password, days, steps):
            """Up to ``steps`` natural next steps for the document, sometimes going wrong."""
            for _ in range(steps):
                if not self._step(doc_id, with_reviewer, two, reject, good_password, days):
                    break

        def _step(self, doc_id, with_reviewer, two, reject, good_password, days) -> bool:
            doc = db.session.get(Document, doc_id)
            rev = self._open(doc)
            password = PASSWORD if good_password else "wrong-password"
            if rev is None:
                return self._attempt(
                    services.add_revision,
                    db.session,
                    author,
                    doc,
                    store,
                    change_type="major" if two else "minor",
                    change_summary="s",
                    change_reason="r",
                    upload=upload,
                )
            if rev.status == "approved":
                return False
            if rev.status == "draft":
                return self._attempt(
                    services.submit,
                    db.session,
                    author,
                    rev,
                    reviewers=[reviewer] if with_reviewer else [],
                    approvers=approvers if two else approvers[:1],
                )
            if reject or self._pending(rev, "reviewer"):
                signer = self._pending(rev, "reviewer") or self._pending(rev, "approver")
                return self._attempt(
                    services.review,
                    db.session,
                    signer,
                    rev,
                    decision="reject" if reject else "approve",
                    password=password,
                    comment="不清楚" if reject else None,
                )
            return self._attempt(
                services.approve,
                db.session,
                self._pending(rev, "approver"),
                rev,
                password=password,
                effective_date=self.today + timedelta(days=days) if days else None,
                today=self.today,
            )

        @rule(doc_id=documents, who=st.sampled_from(range(5)), approve=st.booleans())
        def anyone_signs(self, doc_id, who, approve):
            """Someone, perhaps not asked, perhaps the author, tries to sign."""
            rev = self._open(db.session.get(Document, doc_id))
            if rev is not None:
                if approve:
                    self._attempt(
                        services.approve,
                        db.session,
                        people[who],
                        rev,
                        password=PASSWORD,
                        today=self.today,
                    )
                else:
                    self._attempt(
                        services.review,
                        db.session,
                        people[who],
                        rev,
                        decision="approve",
                        password=PASSWORD,
                    )

        def _waiting(self) -> bool:
            # this run's documents only: the database keeps earlier runs' (a precondition
            # that saw them made hypothesis's replay of a case differ from the case)
            return (
                db.session.scalar(
                    select(Revision.id)
                    .where(Revision.status == "approved", Revision.document_id.in_(self.doc_ids))
                    .limit(1)
                )
                is not None
            )

        @precondition(lambda self: self._waiting())
        @rule(days=st.integers(min_value=1, max_value=5))
        def time_passes(self, days):
            self.today += timedelta(days=days)
            self._attempt(services.run_due_effective, db.session, self.today)

        @rule(doc_id=documents, roll=st.integers(0, 5))
        def cancel(self, doc_id, roll):
            rev = self._open(db.session.get(Document, doc_id))
            if rev is not None and roll == 0:  # rare: it ends the revision's story
                self._attempt(services.cancel, db.session, author, rev, reason="不要了")

        @rule(doc_id=documents, good_password=st.booleans(), roll=st.integers(0, 5))
        def withdraw(self, doc_id, good_password, roll):
            doc = db.session.get(Document, doc_id)
            if roll == 0:  # rare: it ends the document's story
                self._attempt(
                    services.withdraw,
                    db.session,
                    officer,
                    doc,
                    reason="停用",
                    password=PASSWORD if good_password else "wrong-password",
                )

        @invariant()
        def at_most_one_effective_and_only_table_edges(self):
            # Each status change is logged with its before and after status: every one
            # must be an edge of the table, and every changed revision must have one.
            changed_labels, born = set(), set()
            for ev in db.session.scalars(
                select(Event).where(Event.seq > self.last_seq).order_by(Event.seq)
            ):
                before, after = json.loads(ev.before or "{}"), json.loads(ev.after or "{}")
                if ev.action == "revision_created":
                    assert after["status"] == "draft", f"new revision born {after['status']}"
                    born.add((ev.object_ref, after["label"]))
                if "status" in before and "status" in after and "label" in after:
                    edge = (before["status"], after["status"])
                    assert edge in services.ALLOWED_EDGES, edge
                    changed_labels.add((ev.object_ref, after["label"], after["status"]))
                self.last_seq = ev.seq
            after = self._statuses()
            for rev_id, status in after.items():
                old = self.before.get(rev_id)
                rev = db.session.get(Revision, rev_id)
                if old is None:
                    assert (rev.ref, rev.label) in born, "a revision appeared without its event"
                if status != (old or "draft"):
                    assert (rev.ref, rev.label, status) in changed_labels, (old, status)
            self.before = after
            for doc in (db.session.get(Document, i) for i in self.doc_ids):
                effective = [r for r in doc.revisions if r.status == "effective"]
                assert len(effective) <= 1, doc.number
                open_ = [r for r in doc.revisions if r.status in services.OPEN_STATUSES]
                assert len(open_) <= 1, doc.number
                if effective:
                    assert doc.status == "effective"
                    assert doc.current_revision_id == effective[0].id
                elif doc.status == "obsolete":
                    assert not open_ and doc.current_revision_id is None
                else:
                    assert doc.status == "draft" and doc.current_revision_id is None

        def teardown(self):
            # Settle this example's approved revisions, so the next example starts with
            # none waiting (examples share the database; Hypothesis replays need them
            # independent).
            services.run_due_effective(db.session, self.today + timedelta(days=3650))
            db.session.commit()
            self.at_most_one_effective_and_only_table_edges()

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            # SQLite explores; PostgreSQL (its locks and SQL) replays fewer, as long, runs
            max_examples=25 if db.engine.dialect.name == "sqlite" else 10,
            stateful_step_count=50,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert verify_chain(db.session).ok
