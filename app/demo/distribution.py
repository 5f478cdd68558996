"""The demo distribution (data/distribution.toml): issued documents, controlled copies
with and without receipts, an open recall, and read-and-understood tasks in every state.

Everything goes through the services as the people would do it in the UI: the quality
officer (``officer``) issues and records returns, holders sign receipts and people sign
"read and understood" with the demo password, so copy numbers, signatures and the audit
trail are real. A recall is made, not backdated: a document is issued, then a real new
revision goes through review and approval and supersedes it.

Idempotent: nothing is done when any issue exists.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.demo.documents import DOCUMENTS, apply_edits, edits_of, find_document, play_step
from app.demo.loader import DEMO_PASSWORD
from app.demo.organisation import add_user
from app.distribution import services
from app.distribution.models import Acknowledgement, ControlledCopy, DistributionLine, Issue
from app.distribution.reminders import mark_overdue
from app.documents.models import Document
from app.documents.services import effective_revision, open_revision
from app.extensions import local_today
from app.people import services as people
from app.people.models import Department, User
from app.storage import FileStore, get_store


def _issue(session, officer, revision, spec: dict, today: date, added) -> list[ControlledCopy]:
    """Issue ``revision`` as ``spec`` says (lines as the issue form sends them); its copies."""
    record = services.issue(
        session,
        officer,
        revision,
        distribution=services.parse_distribution(session, spec["lines"]),
        training_required=spec.get("training_required"),  # None: the document's flag
        acknowledge_within_days=spec.get("acknowledge_within_days"),
        note=spec.get("note"),
        today=today - timedelta(days=spec["days_ago"]) if "days_ago" in spec else None,
    )
    copies = session.scalars(
        select(ControlledCopy)
        .join(ControlledCopy.line)
        .where(DistributionLine.issue_id == record.id)
        .order_by(ControlledCopy.seq)
    ).all()
    added.append(
        f"issue {revision.document.number} {revision.label}: "
        + ", ".join(c.copy_no for c in copies)
    )
    return list(copies)


def _held(copies: list[ControlledCopy], spec: dict) -> list[ControlledCopy]:
    """The paper copies ``spec["holder"]`` holds (a department code, a username or a
    location), or only the ``spec["copy"]``-th of them."""
    paper = []
    for copy in copies:
        line = copy.line
        key = (
            line.department.code
            if line.department
            else line.user.username
            if line.user
            else line.location
        )
        if copy.medium == "paper" and key == spec["holder"]:
            paper.append(copy)
    return [paper[spec["copy"] - 1]] if "copy" in spec else paper


def _acknowledge(session, revision, users: list[User]) -> None:
    for user in users:
        ack = session.scalar(
            select(Acknowledgement).where(
                Acknowledgement.revision_id == revision.id,
                Acknowledgement.user_id == user.id,
                Acknowledgement.status.in_(("open", "overdue")),
            )
        )
        if ack is not None:
            services.sign_acknowledgement(session, user, ack, password=DEMO_PASSWORD)


def _play_issue(session, store, spec: dict, doc: Document, users, today, added) -> None:
    """One [[issue]] of the plan: issue, receipts, acknowledgements, revision, returns."""
    officer = users["officer"]
    revision = effective_revision(doc)
    copies = _issue(session, officer, revision, spec, today, added)
    for receipt in spec.get("receipts", ()):
        for copy in _held(copies, receipt):
            services.sign_receipt(session, users[receipt["signer"]], copy, password=DEMO_PASSWORD)
    _acknowledge(session, revision, [users[name] for name in spec.get("acknowledged", ())])
    if "revise" in spec:
        step = loader.step(spec["revise"])
        demo_doc = next(d for d in DOCUMENTS if d.key == spec["document"])
        body = apply_edits(demo_doc.body, [*edits_of(demo_doc), *step.edits])
        play_step(session, store, doc, step, body, users, today)
        added.append(f"revision {doc.number} {effective_revision(doc).label}")
    for returned in spec.get("returns", ()):
        (copy,) = _held(copies, returned)
        services.record_return(
            session,
            officer,
            copy,
            returned_by=returned["returned_by"],
            disposition=returned["disposition"],
            note=returned.get("note"),
        )


def seed(
    session: Session, store: FileStore | None = None, *, today: date | None = None
) -> list[str]:
    """Play the distribution plan; return what was added. Does nothing when any issue
    exists, or without the demo organisation and its documents in the state
    :mod:`app.demo.documents` leaves them in."""
    if session.scalar(select(Issue.id).limit(1)) is not None:
        return []
    today = today or local_today()
    plan = loader.distribution()
    organisation = loader.organisation()
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    if not {u["username"] for u in organisation["users"]} <= users.keys():
        return []
    if not {d["code"] for d in organisation["departments"]} <= departments.keys():
        return []
    specs = {d.key: d for d in DOCUMENTS}
    docs = {}
    for spec in plan["issue"]:
        demo_doc = specs[spec["document"]]
        doc = docs[spec["document"]] = find_document(session, demo_doc.type_code, demo_doc.title)
        if doc is None or effective_revision(doc) is None:
            return []
        if "revise" in spec and open_revision(doc) is not None:
            return []
    if store is None:  # the CLI's app context; tests pass their store
        store = get_store(current_app)
    added: list[str] = []
    leaver_spec = plan["leaver"]
    leaver = session.scalar(select(User).where(User.username == leaver_spec["username"]))
    if leaver is None:
        leaver = add_user(session, leaver_spec, departments[leaver_spec["department"]])
        added.append(f"user {leaver.username}")
    for spec in plan["issue"]:
        _play_issue(session, store, spec, docs[spec["document"]], users, today, added)
    # The leaver's open tasks are cancelled when she is deactivated.
    people.update_user(
        session,
        users[leaver_spec["deactivated_by"]],
        leaver,
        full_name=leaver.full_name,
        email=leaver.email,
        department=leaver.department,
        language=leaver.language,
        roles=[r.role for r in leaver.role_rows],
        is_active=False,
    )
    # what the nightly sweep would have recorded by now
    mark_overdue(session, today)
    session.flush()
    return added
