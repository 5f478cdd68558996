"""The demo document set (app/demo/documents.py): every workflow state, signed, stored, once.

Seeding is the slow part (dozens of signatures): the ``demo`` fixture seeds once per
backend and each test starts from a copy; tests/test_cli.py covers the demo users and
the `qdms demo` command itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from app import storage
from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.demo import seed
from app.demo.documents import DOCUMENTS, FUTURE_DAYS
from app.documents.models import Document, Revision
from app.extensions import db, local_today
from app.signatures.models import Signature


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_documents_cover_every_state_and_seed_once(demo, app, store):
    """Does the demo seed signed documents in every state, with intact files and trail, once?"""
    today = local_today()
    docs = {d.number: d for d in db.session.scalars(select(Document))}
    assert len(docs) == len(DOCUMENTS)
    revisions = db.session.scalars(select(Revision).order_by(Revision.id)).all()
    statuses = Counter(r.status for r in revisions)
    for status in ("effective", "superseded", "in_review", "draft", "approved", "obsolete"):
        assert statuses[status] >= 1, status
    assert statuses["cancelled"] == 1

    # numbering: forms under their procedure
    assert {"QM-QA-001", "QP-QA-001", "QP-CS-001", "QP-CS-001-F01", "QP-CS-001-F02"} <= set(docs)
    forms = [d for d in docs.values() if d.type.is_form]
    assert len(forms) >= 6
    assert all(d.number.startswith(f"{d.parent.number}-F") for d in forms)
    assert all(d.department_id == d.parent.department_id for d in forms)

    # history: A/0 → A/1 → B/0 on the manual, one effective revision per document
    manual = docs["QM-QA-001"]
    assert [(r.label, r.status) for r in manual.revisions] == [
        ("A/0", "superseded"),
        ("A/1", "superseded"),
        ("B/0", "effective"),
    ]
    assert manual.revisions[2].change_type == "major"
    for doc in docs.values():
        assert [r.status for r in doc.revisions].count("effective") <= 1
        if doc.status == "effective":
            assert doc.current_revision.status == "effective"

    # approved, becoming effective in ten days
    (future,) = [r for r in revisions if r.status == "approved"]
    assert future.effective_date == today + timedelta(days=FUTURE_DAYS)
    assert future.document.current_revision.label == "A/0"

    # open tasks: cs_head must review one revision, approver must approve another
    waiting = {}
    for r in revisions:
        if r.status == "in_review":
            for p in r.current_round():
                if p.decision is None:
                    waiting.setdefault((p.user.username, p.role), []).append(r)
    (to_review,) = waiting[("cs_head", "reviewer")]
    assert to_review.document.title == "Complaint Escalation Work Instruction"
    (to_approve,) = [
        r
        for r in waiting[("approver", "approver")]
        if all(p.decision == "approved" for p in r.current_round() if p.role == "reviewer")
    ]
    assert (to_approve.document.number, to_approve.label) == ("QP-QA-004", "A/1")

    # rejected back to draft with the reviewer's signed comment; a fresh draft by `author`
    rejections = [p for r in revisions for p in r.participants if p.decision == "rejected"]
    (rejection,) = rejections
    assert rejection.revision.status == "draft" and rejection.user.username == "cs_head"
    assert "3 个工作日内" in rejection.comment and rejection.signature_id is not None
    fresh = [r for r in revisions if r.status == "draft" and r.review_round == 0]
    assert [r.author.username for r in fresh] == ["author"]

    # withdrawn with a signed reason
    (obsolete,) = [d for d in docs.values() if d.status == "obsolete"]
    assert obsolete.current_revision is None and obsolete.withdrawn_at is not None
    withdrawn = db.session.scalars(
        select(Event).where(Event.object_ref == obsolete.ref, Event.action == "withdrawn")
    ).one()
    assert "传真" in withdrawn.reason

    # periodic review: one overdue, one due within a month, one confirmed today
    due = [d.review_due_date for d in docs.values() if d.review_due_date]
    assert any(d < today for d in due)
    assert any(today <= d <= today + timedelta(days=31) for d in due)
    meanings = Counter(db.session.scalars(select(Signature.meaning)))
    assert meanings["review_confirmed"] == 1 and meanings["obsoleted"] == 1
    assert meanings["rejected"] == 1 and meanings["reviewed"] >= 5 and meanings["approved"] >= 20

    # confidentiality and training flags, both languages searchable
    assert [d.confidentiality for d in docs.values()].count("confidential") == 1
    assert sum(d.training_required for d in docs.values()) >= 3
    complaints = docs["QP-CS-001"].current_revision
    for step in ("道歉", "紧急复原", "移情", "象征性赎罪", "跟踪"):
        assert step in complaints.text
    assert "3 个工作日内回访" in complaints.text  # the A/1 change is in the A/1 file
    assert "5 个工作日内回访" in complaints.document.revisions[0].text
    english = [d for d in docs.values() if d.title.isascii() and d.status == "effective"]
    assert len(english) >= 2 and all("customer" in d.current_revision.text for d in english)
    survey = docs["QP-MK-001-F01"].current_revision.text
    for dimension in ("可靠性", "响应性", "保证性", "移情性", "有形性"):
        assert dimension in survey

    # signatures: never the author's own, every decision signed
    for r in revisions:
        for p in r.participants:
            assert p.user_id != r.author_id
            assert (p.decision is None) == (p.signature_id is None)

    # files: real .docx with extracted text, every stored file intact, the trail verifies
    for r in revisions:
        assert r.file_kind == "docx" and r.file_name.endswith(".docx")
        assert len(r.text) > 300 and r.document.number in r.text
    report = storage.check(db.session, store)
    assert report.ok and not report.unreferenced
    assert report.checked >= len({r.file_sha256 for r in revisions}) > 1
    assert store.read(complaints.file_sha256)
    assert verify_chain(db.session).ok

    # a second run adds nothing
    counts = (_count(Document), _count(Revision), _count(Signature), _count(Event))
    assert seed(db.session, store) == []
    db.session.commit()
    assert (_count(Document), _count(Revision), _count(Signature), _count(Event)) == counts


def test_every_demo_page_opens_for_every_kind_of_user(demo, app, client):
    """With the demo organisation, does every document, revision, external document and
    list page answer 200 or 404 (never a 500) for the officer, staff, an approver, the
    auditor and the administrator — in Chinese and in English?"""
    from app.demo import DEMO_PASSWORD
    from app.external.models import ExternalDocument

    paths = ["/", "/documents", "/my-work", "/master-list", "/external", "/audit-trail"]
    for doc in db.session.scalars(select(Document)):
        paths.append(f"/documents/{doc.number}")
        paths += [f"/documents/{doc.number}/revisions/{r.path_label}" for r in doc.revisions]
    paths += [f"/external/{n}" for n in db.session.scalars(select(ExternalDocument.number))]
    # distribution: every copy, every acknowledgement, the registers, training histories
    from app.distribution.models import Acknowledgement, ControlledCopy

    paths += ["/copies", "/copies?mine=1", "/recalls", "/acknowledgements"]
    paths += ["/acknowledgements/matrix", "/acknowledgements/matrix?by=person"]
    paths += [f"/copies/{n}" for n in db.session.scalars(select(ControlledCopy.copy_no))]
    paths += [f"/acknowledgements/{i}" for i in db.session.scalars(select(Acknowledgement.id))]
    paths += [f"/people/{u}/training" for u in ("staff", "om_tech", "cs_head")]
    # records and retention: every record, the plan, what is due, holds, destructions
    from app.records.models import Record

    paths += ["/records", "/records/plan", "/retention/", "/retention/holds"]
    paths += ["/retention/destructions"]
    paths += [f"/records/{n}" for n in db.session.scalars(select(Record.number))]
    seen = Counter()
    people = [("officer", "zh_CN"), ("staff", "en"), ("cs_head", "zh_CN"), ("auditor", "en")]
    people.append(("admin", "zh_CN"))
    if db.engine.dialect.name == "postgresql":
        # the SQL that differs by backend is the visibility filter: one reader who sees
        # everything and one who sees least, in both languages (the pages' rendering is
        # the same on both backends, walked in full on SQLite)
        people = people[:2]
    for username, language in people:
        r = client.form_post("/login", {"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 302, username
        client.form_post("/profile/language", {"language": language})
        for path in paths:
            status = client.get(path).status_code
            assert status in (200, 403, 404), (username, path, status)
            seen[(username, status)] += 1
        client.form_post("/logout")
    # officers and auditors open everything; staff are kept out of drafts and history
    walked = {username for username, _ in people}
    assert all(seen[(u, 404)] == 0 for u in ("officer", "auditor") if u in walked)
    assert all(seen[(u, 200)] == len(paths) for u in ("officer", "auditor") if u in walked)
    assert seen[("staff", 404)] > 0 and seen[("staff", 200)] > 20
    assert seen[("staff", 403)] >= 3  # the retention pages are not staff's
