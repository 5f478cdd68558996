"""The demo distribution (app/demo/distribution.py): issued documents, copies with and
without receipts, an open recall, read-and-understood tasks in every state, once.

Seeding is the slow part: the ``demo`` fixture seeds once per backend, each test starts
from a copy and checks many things (as tests/test_demo.py does for the documents).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.demo import DEMO_PASSWORD, seed
from app.distribution.models import Acknowledgement, ControlledCopy, Issue
from app.distribution.services import open_task_count
from app.documents.models import Document
from app.extensions import db, local_today
from app.people.models import User
from app.signatures.models import Signature


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_demo_distribution_has_copies_recalls_and_tasks_in_every_state(demo, app, store):
    """Does the demo issue documents with received and unreceived paper copies, an open
    recall with one copy already returned, and tasks open, overdue, done, superseded and
    cancelled — with staff having tasks to do — and only once?"""
    today = local_today()

    issued = {
        (i.revision.document.number, i.revision.label) for i in db.session.scalars(select(Issue))
    }
    assert {("QM-QA-001", "B/0"), ("QP-QA-001", "A/1"), ("QP-CS-001", "A/1")} <= issued
    assert {("WI-OM-001", "A/0"), ("WI-OM-001", "A/1")} <= issued

    copies = db.session.scalars(select(ControlledCopy).order_by(ControlledCopy.id)).all()
    by_status = Counter(c.status for c in copies)
    paper = [c for c in copies if c.medium == "paper"]
    # receipts signed by the holder, and copies still waiting for one
    received = [c for c in paper if c.status == "received"]
    assert received and all(c.receipt_signature_id and c.received_by for c in received)
    assert any(c.status == "issued" for c in paper)
    assert by_status["received"] >= 5 and by_status["issued"] >= 5
    # every kind of recipient: department (paper and electronic), person, location
    kinds = {(c.line.recipient_kind, c.medium) for c in copies}
    assert {("department", "paper"), ("department", "electronic"), ("user", "paper")} <= kinds
    assert ("location", "paper") in kinds
    front_desk = [c for c in copies if c.line.recipient_kind == "location"]
    assert any(c.line.custodian.username == "staff" for c in front_desk)

    # the recall: WI-OM-001 A/0 superseded by A/1, one copy back and destroyed, one out
    old = {c.copy_no: c for c in copies if c.copy_no.startswith("WI-OM-001-A0-")}
    assert old["WI-OM-001-A0-C01"].status == "returned"
    assert old["WI-OM-001-A0-C01"].disposition == "destroyed"
    assert old["WI-OM-001-A0-C02"].status == "recall_open"
    assert old["WI-OM-001-A0-C03"].status == "withdrawn"  # the electronic copy
    assert old["WI-OM-001-A0-C02"].revision.status == "superseded"
    inspection = db.session.scalar(select(Document).where(Document.number == "WI-OM-001"))
    assert [(r.label, r.status) for r in inspection.revisions] == [
        ("A/0", "superseded"),
        ("A/1", "effective"),
    ]
    assert "红外测温仪" in inspection.current_revision.text

    # acknowledgements in every state
    acks = db.session.scalars(select(Acknowledgement)).all()
    states = Counter(a.state(today) for a in acks)
    for state in ("open", "overdue", "done", "superseded", "cancelled"):
        assert states[state] >= 1, state
    assert all(a.status == "overdue" for a in acks if a.state(today) == "overdue")  # swept
    done = [a for a in acks if a.status == "done"]
    assert all(a.signature.meaning == "read_and_understood" for a in done)
    (superseded,) = [a for a in acks if a.status == "superseded"]
    assert (superseded.revision.document.number, superseded.user.username) == (
        "WI-OM-001",
        "om_tech",
    )
    # A/1 reached the A/0 audience by itself
    assert {
        a.user.username
        for a in acks
        if a.revision_id == inspection.current_revision.id and a.status == "open"
    } == {"om_head", "om_tech"}
    cancelled = [a for a in acks if a.status == "cancelled"]
    assert {a.user.username for a in cancelled} == {"cs_former"}
    assert not _user("cs_former").is_active

    # staff logs in to tasks: at least two open, one done
    staff = _user("staff")
    mine = Counter(a.state(today) for a in acks if a.user_id == staff.id)
    assert mine["open"] >= 2 and mine["done"] >= 1
    assert open_task_count(db.session, staff) >= 2

    # signatures and trail are real
    meanings = Counter(db.session.scalars(select(Signature.meaning)))
    assert meanings["received"] == len([c for c in copies if c.receipt_signature_id])
    assert meanings["read_and_understood"] == len(done)
    actions = Counter(db.session.scalars(select(Event.action)))
    assert actions["recall_opened"] >= 2 and actions["copy_returned"] == 1
    assert verify_chain(db.session).ok

    # a second run adds nothing
    counts = tuple(_count(m) for m in (Issue, ControlledCopy, Acknowledgement, Event))
    assert seed(db.session, store) == []
    db.session.commit()
    assert tuple(_count(m) for m in (Issue, ControlledCopy, Acknowledgement, Event)) == counts


def test_demo_distribution_pages_open(demo, app, client):
    """With the demo distribution, does staff land on their tasks, and do the copies,
    recalls, tasks and matrix pages answer without a 500 for the officer, staff and a
    department head?"""
    copy_nos = list(db.session.scalars(select(ControlledCopy.copy_no)))
    ack_ids = list(db.session.scalars(select(Acknowledgement.id)))

    r = client.form_post("/login", {"username": "staff", "password": DEMO_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/acknowledgements")
    html = client.get("/acknowledgements").get_data(as_text=True)
    assert "QP-CS-001" in html and "WI-CS-001" in html
    client.form_post("/logout")

    r = client.form_post("/login", {"username": "officer", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    html = client.get("/recalls").get_data(as_text=True)
    assert "WI-OM-001-A0-C02" in html and "WI-OM-001-A0-C01" not in html
    client.form_post("/logout")

    paths = ["/copies", "/recalls", "/acknowledgements", "/acknowledgements/matrix"]
    paths += ["/acknowledgements/matrix?by=person", "/people/staff/training"]
    paths += [f"/copies/{n}" for n in copy_nos] + [f"/acknowledgements/{i}" for i in ack_ids]
    for username in ("officer", "staff", "om_head"):
        r = client.form_post("/login", {"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 302, username
        for path in paths:
            status = client.get(path).status_code
            assert status in (200, 403, 404), (username, path, status)
        client.form_post("/logout")
