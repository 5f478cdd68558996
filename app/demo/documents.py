"""The demo's controlled documents (data/documents/*.md), played through the services.

A quality manual, procedures with their forms, work instructions and a service standard,
mostly in Chinese with a few in English, each with a real .docx per revision. Everything is
done through ``app.documents.services`` exactly as a person would do it in the UI:
registered, drafted, submitted, reviewed and approved with the demo users' electronic
signatures (their password is ``app.demo.DEMO_PASSWORD``), so every document has a genuine
audit trail and signatures over its real file hash.

Each document's steps say how far each revision gets (see ``loader.Step``), so the
revisions are left in every state a screen can show: effective, superseded, in review,
draft, rejected, cancelled, approved and effective in ten days, withdrawn, and periodic
reviews overdue, due soon and confirmed.

Dates are relative to ``local_today()``. An effective revision's *effective date* is set in
the past by passing ``today=`` to ``approve`` (the service's own parameter), so the master
list and the review-due dates look like a system in use for two years; the time stamps of
signatures and audit events are the real seeding time (the trail cannot be backdated).

Idempotent: a document is looked up by type and title, and skipped when it exists.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

# python-docx is used directly here rather than through app.docx_io (docs/adr/0020): the
# adapter only builds the empty type template, and these rich demo bodies (headings, bullets,
# tables) are needed by nothing but the demo. The bytes still go through
# app.uploads.check_upload, so text and page count come from the adapter as for any upload.
import docx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.demo.loader import DEMO_PASSWORD, Block, DemoDocument, Step
from app.documents import services
from app.documents.models import Document, DocumentType
from app.extensions import local_today
from app.people.models import Department, User
from app.storage import FileStore
from app.uploads import check_upload

# A real upload is limited by QDMS_MAX_UPLOAD_MB (50 MB by default); the demo files are a
# few tens of kilobytes, so the default limit is applied without needing the app config.
MAX_BYTES = 50 * 1024 * 1024

FUTURE_DAYS = 10  # an approved revision becomes effective this many days from today

DOCUMENTS: tuple[DemoDocument, ...] = loader.documents()  # in creation order


def apply_edits(body: Sequence[Block], edits: Sequence[tuple[str, str]]) -> tuple[Block, ...]:
    """The body with the text replacements applied; an edit that matches nothing is a bug."""
    for old, new in edits:
        if not any(old in text for _, value in body for text in _texts(value)):
            raise ValueError(f"demo edit {old!r} matches nothing")
        body = [(kind, _replace(value, old, new)) for kind, value in body]
    return tuple(body)


def _texts(value) -> list[str]:
    """A block's strings: its text, or a table's cells."""
    return [value] if isinstance(value, str) else [cell for row in value for cell in row]


def _replace(value, old: str, new: str):
    if isinstance(value, str):
        return value.replace(old, new)
    return tuple(tuple(cell.replace(old, new) for cell in row) for row in value)


def build_docx(
    *,
    number: str,
    title: str,
    label: str,
    department: str,
    body: Sequence[Block],
    history: Sequence[tuple[str, str, str]],
) -> bytes:
    """A .docx laid out like the type template (docx_io.make_template): a header table naming
    the document and revision, the title, the body, then the revision history."""
    document = docx.Document()
    section = document.sections[0]
    header = section.header.add_table(rows=2, cols=4, width=section.page_width)
    header.style = "Table Grid"
    cells = [("文件编号 No.", number), ("版本 Rev.", label), ("文件名称 Title", title)]
    cells.append(("部门 Dept.", department))
    for i, (name, value) in enumerate(cells):
        row, col = divmod(i, 2)
        header.cell(row, col * 2).text = name
        header.cell(row, col * 2 + 1).text = value
    document.add_heading(title, level=1)
    for kind, value in body:
        if kind == "h":
            document.add_heading(value, level=2)
        elif kind == "p":
            document.add_paragraph(value)
        elif kind == "li":
            document.add_paragraph(value, style="List Bullet")
        elif kind == "table":
            _table(document, value)
        else:
            raise ValueError(f"unknown demo block {kind!r}")
    document.add_heading("修订记录 Revision history", level=2)
    _table(document, (("版本 Rev.", "更改内容 Change", "编制 Author"), *history))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document, rows: Sequence[Sequence[str]]) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True


def find_document(session: Session, type_code: str, title: str) -> Document | None:
    return session.scalars(
        select(Document)
        .join(Document.type)
        .where(DocumentType.code == type_code, Document.title == title)
        .order_by(Document.id)
        .limit(1)
    ).first()


def play_step(
    session: Session,
    store: FileStore,
    doc: Document,
    step: Step,
    body: Sequence[Block],
    users: dict[str, User],
    today: date,
) -> None:
    """Take one revision, its file built from ``body``, as far through the workflow as
    ``step.outcome`` says."""
    author = users[step.author]
    major, minor, _ = services.next_label(doc, step.change_type)
    label = f"{major}/{minor}"
    issued = [r for r in doc.revisions if r.status in services.ISSUED_STATUSES]
    history = [(r.label, r.change_summary, r.author.full_name) for r in issued]
    history.append((label, step.summary, author.full_name))
    data = build_docx(
        number=doc.number,
        title=doc.title,
        label=label,
        department=doc.department.name,
        body=body,
        history=history,
    )
    upload = check_upload(data, f"{doc.number} {doc.title}.docx", max_bytes=MAX_BYTES)
    revision = services.add_revision(
        session,
        author,
        doc,
        store,
        change_summary=step.summary,
        change_reason=step.reason,
        change_type=step.change_type,
        upload=upload,
    )
    if step.outcome == "draft":
        return
    if step.outcome == "cancelled":
        services.cancel(session, author, revision, reason=step.comment)
        return
    reviewers = [users[u] for u in step.reviewers]
    approvers = [users[u] for u in step.approvers]
    services.submit(session, author, revision, reviewers=reviewers, approvers=approvers)
    if step.outcome == "awaiting_review":
        return
    if step.outcome == "rejected":
        services.review(
            session,
            reviewers[0],
            revision,
            decision="reject",
            password=DEMO_PASSWORD,
            comment=step.comment,
        )
        return
    for reviewer in reviewers:
        services.review(
            session,
            reviewer,
            revision,
            decision="approve",
            password=DEMO_PASSWORD,
            comment=step.comment,
        )
    if step.outcome == "awaiting_approval":
        return
    if step.outcome == "future":
        effective_date, day = today + timedelta(days=FUTURE_DAYS), today
    elif step.outcome == "effective":
        effective_date, day = None, today - timedelta(days=step.days_ago)
    else:
        raise ValueError(f"unknown demo outcome {step.outcome!r}")
    for approver in approvers:
        services.approve(
            session,
            approver,
            revision,
            password=DEMO_PASSWORD,
            effective_date=effective_date,
            today=day,
        )


def edits_of(spec: DemoDocument) -> list[tuple[str, str]]:
    """Every edit of the document's steps: its text as its story leaves it."""
    return [edit for step in spec.steps for edit in step.edits]


def _seed_one(
    session: Session,
    store: FileStore,
    spec: DemoDocument,
    users: dict[str, User],
    departments: dict[str, Department],
    today: date,
) -> Document:
    parent_spec = next((d for d in DOCUMENTS if d.key == spec.parent), None)
    parent = (
        find_document(session, parent_spec.type_code, parent_spec.title) if parent_spec else None
    )
    if spec.parent and parent is None:
        raise LookupError(f"the demo form {spec.title} needs its procedure first")
    doc = services.create_document(
        session,
        users[spec.steps[0].author],
        type_code=spec.type_code,
        title=spec.title,
        title_en=spec.title_en,
        department=departments[spec.department] if spec.department else None,
        parent_number=parent.number if parent else None,
        training_required=spec.training_required,
        review_interval_months=spec.review_interval_months,
        confidentiality=spec.confidentiality,
    )
    edits: list[tuple[str, str]] = []
    for step in spec.steps:
        edits.extend(step.edits)
        play_step(session, store, doc, step, apply_edits(spec.body, edits), users, today)
    officer = users["officer"]
    if spec.withdraw_reason:
        services.withdraw(
            session, officer, doc, reason=spec.withdraw_reason, password=DEMO_PASSWORD
        )
    if spec.confirm_review:
        services.confirm_review(
            session,
            officer,
            doc,
            password=DEMO_PASSWORD,
            comment=spec.confirm_review,
            today=today,
        )
    return doc


def seed(session: Session, store: FileStore, *, today: date | None = None) -> list[str]:
    """Create whichever demo documents are missing (by type and title); return what was added.

    Needs the demo departments and users (:mod:`app.demo.organisation`). Flushes only; the
    caller commits.
    """
    today = today or local_today()
    names = {"officer"}
    for spec in DOCUMENTS:
        for step in spec.steps:
            names.update((step.author, *step.reviewers, *step.approvers))
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    missing = names - users.keys()
    if missing:
        raise LookupError(f"demo users missing: {', '.join(sorted(missing))}")
    added: list[str] = []
    for spec in DOCUMENTS:
        if find_document(session, spec.type_code, spec.title) is not None:
            continue
        doc = _seed_one(session, store, spec, users, departments, today)
        added.append(f"document {doc.number} {doc.title}")
    return added
