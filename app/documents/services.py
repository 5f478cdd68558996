"""Controlled documents: numbering, revisions and their signed workflow.

Revision lifecycle (docs/adr/0018-document-workflow.md)::

    draft → in_review → approved → effective → superseded | obsolete
    in_review → draft (rejection)      draft → cancelled

``TRANSITIONS`` is the whole table; ``_move`` is the only place a revision's status
changes, and it refuses anything not in the table with :class:`InvalidTransition`.
Guarantees: at most one effective revision per document (the previous one is superseded
in the same transaction); every review, approval, withdrawal and periodic-review
confirmation is an electronic signature over the exact file hash; every change writes an
audit event in the caller's transaction.
"""

from __future__ import annotations

import functools
import logging
import string
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from app import docx_io, signals
from app.audit_trail import services as audit
from app.audit_trail.services import canonical_json
from app.documents import notify, printing
from app.documents.models import (
    CONFIDENTIALITY,
    RETENTION_FROM,
    REVISION_STATUSES,
    Document,
    DocumentType,
    Revision,
    RevisionParticipant,
)
from app.documents.permissions import can_view_document, can_view_revision, visible_documents
from app.errors import N_, Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.extensions import add_months, local_today, utcnow
from app.locking import lock
from app.people.models import Department, User
from app.people.services import chosen_department
from app.sequences import next_value
from app.signatures.services import content_hash, sign
from app.storage import FileStore, store_bytes
from app.unit_of_work import after_commit
from app.uploads import CheckedFile, check_upload

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft"}), "in_review"),
    "cancel": (frozenset({"draft"}), "cancelled"),
    "reject": (frozenset({"in_review"}), "draft"),
    "approve": (frozenset({"in_review"}), "approved"),
    "make_effective": (frozenset({"approved"}), "effective"),
    "supersede": (frozenset({"effective"}), "superseded"),
    "withdraw": (frozenset({"effective"}), "obsolete"),
    # an open revision of a withdrawn document is cancelled with it
    "cancel_open": (frozenset({"draft", "in_review", "approved"}), "cancelled"),
}
ACTION_LABELS = {
    "submit": N_("submitted for review"),
    "cancel": N_("cancelled"),
    "reject": N_("rejected"),
    "approve": N_("approved"),
    "make_effective": N_("made effective"),
    "supersede": N_("superseded"),
    "withdraw": N_("withdrawn"),
    "cancel_open": N_("cancelled"),
}
ALLOWED_EDGES = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
OPEN_STATUSES = frozenset({"draft", "in_review", "approved"})
ISSUED_STATUSES = frozenset({"approved", "effective", "superseded", "obsolete"})

PATTERN_FIELDS = {"type", "dept", "parent", "seq", "yyyy"}


STAMPS = {
    "in_review": "submitted_at",
    "approved": "approved_at",
    "effective": "effective_at",
    "superseded": "superseded_at",
    "obsolete": "obsoleted_at",
    "cancelled": "cancelled_at",
}


def _move(
    session: Session,
    actor: User | None,
    revision: Revision,
    action: str,
    *,
    reason: str | None = None,
    now=None,
    extra: dict | None = None,
) -> None:
    """The only place a revision's status changes: check the table, stamp the time, log.

    Refuses anything not in ``TRANSITIONS`` with :class:`InvalidTransition`.
    """
    sources, target = TRANSITIONS[action]
    if revision.status not in sources:
        raise InvalidTransition(
            N_("Revision %(label)s is %(status)s; it cannot be %(action)s."),
            label=revision.label,
            status=REVISION_STATUSES[revision.status],
            action=ACTION_LABELS[action],
        )
    before = revision.status
    revision.status = target
    if target in STAMPS:
        setattr(revision, STAMPS[target], now or utcnow())
    session.flush()
    audit.record(
        session,
        actor,
        revision.ref,
        f"revision_{target}",
        before={"label": revision.label, "status": before},
        after={"label": revision.label, "status": target, **(extra or {})},
        reason=reason,
    )


# Numbering ------------------------------------------------------------------


def check_pattern(pattern: str, *, is_form: bool = False) -> str:
    """A numbering pattern uses only known fields and exactly one ``{seq…}``."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ValidationFailed(
            N_("The numbering pattern is malformed."), fields={"number_pattern": N_("invalid")}
        ) from exc
    if fields.count("seq") != 1 or not set(fields) <= PATTERN_FIELDS:
        raise ValidationFailed(
            N_(
                "A numbering pattern needs exactly one {seq} and only {type}, {dept}, "
                "{parent}, {yyyy}."
            ),
            fields={"number_pattern": N_("invalid")},
        )
    if is_form != ("parent" in fields):
        raise ValidationFailed(
            N_("Form numbers are built from their parent: use {parent} in forms' patterns only."),
            fields={"number_pattern": N_("invalid")},
        )
    return pattern


def allocate_number(
    session: Session,
    doc_type: DocumentType,
    department: Department | None,
    parent: Document | None,
    *,
    today: date | None = None,
) -> str:
    """The next number of the type's scheme; atomic, never reused (see app.sequences)."""
    values = {
        "type": doc_type.code,
        "dept": department.code if department else "",
        "parent": parent.number if parent else "",
        "yyyy": f"{(today or local_today()).year:04d}",
    }
    while True:
        seq = next_value(session, _scheme_key(doc_type.number_pattern, values))
        number = doc_type.number_pattern.format(**values, seq=seq)
        # A number taken outside the scheme (an import, a changed pattern) is skipped.
        if session.scalar(select(Document.id).where(Document.number == number)) is None:
            return number


def _scheme_key(pattern: str, values: dict) -> str:
    """The counter's name: the pattern with every field but {seq} filled in."""
    parts = []
    for literal, field, spec, _ in string.Formatter().parse(pattern):
        parts.append(literal)
        if field == "seq":
            parts.append("#")
        elif field is not None:
            parts.append(format(values[field], spec or ""))
    return "doc:" + "".join(parts)


def get_type(session: Session, code: str) -> DocumentType:
    doc_type = session.scalar(select(DocumentType).where(DocumentType.code == (code or "").upper()))
    if doc_type is None or not doc_type.is_active:
        raise NotFound(N_("No document type %(code)s."), fields={"type": N_("invalid")}, code=code)
    return doc_type


# A document's revisions with their authors, signatures and participants: a fixed number of
# queries however long the history (the document page and API show them all; without this
# each revision lazily loads its own, benchmarks/documents.py counts them).
WITH_HISTORY = selectinload(Document.revisions).options(
    joinedload(Revision.author),
    selectinload(Revision.signatures),
    selectinload(Revision.participants).joinedload(RevisionParticipant.user),
)


def get_document(session: Session, number: str, *, with_history: bool = False) -> Document:
    stmt = select(Document).where(Document.number == (number or "").strip())
    doc = session.scalar(stmt.options(WITH_HISTORY) if with_history else stmt)
    if doc is None:
        raise NotFound(N_("No document %(number)s."), number=number)
    return doc


def get_revision(document: Document, path_label: str) -> Revision:
    """A revision by its path label (``A0``), preferring a live one over cancelled drafts."""
    matches = [r for r in document.revisions if r.path_label == path_label.upper()]
    live = [r for r in matches if r.status != "cancelled"]
    if not matches:
        raise NotFound(
            N_("No revision %(label)s of %(number)s."), label=path_label, number=document.number
        )
    return (live or matches)[-1]


def visible_document(session: Session, user: User, number: str) -> Document:
    """The document with its history, for a reader who may see it; otherwise NotFound
    (404), as if it did not exist — never reveal what a user may not open."""
    doc = get_document(session, number, with_history=True)
    if not can_view_document(user, doc):
        raise NotFound(N_("No document %(number)s."), number=number)
    return doc


def visible_parent(session: Session, user: User, number: str) -> Document:
    """A parent named in a form or request: unknown or invisible is a field error."""
    try:
        return visible_document(session, user, number)
    except NotFound as err:
        raise ValidationFailed(
            err.message, fields={"parent": N_("invalid")}, **err.params
        ) from None


def visible_revision(session: Session, user: User, number: str, path_label: str) -> Revision:
    revision = get_revision(visible_document(session, user, number), path_label)
    if not can_view_revision(user, revision):
        raise NotFound(N_("No revision %(label)s of %(number)s."), label=path_label, number=number)
    return revision


def _clean_text(value: str | None, field: str, *, max_len: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, fields={field: N_("required")})
    if len(value) > max_len:
        raise ValidationFailed(
            N_("%(field)s is too long."), fields={field: N_("too long")}, field=field
        )
    return value


# Documents ------------------------------------------------------------------


def create_document(
    session: Session,
    actor: User,
    *,
    type_code: str,
    title: str,
    title_en: str | None = None,
    department: Department | None = None,
    parent_number: str | None = None,
    training_required: bool = False,
    review_interval_months: int | None = None,
    confidentiality: str = "internal",
) -> Document:
    """Register a new controlled document and give it its number."""
    doc_type = get_type(session, type_code)
    if doc_type.is_external:
        raise ValidationFailed(
            N_("External documents are registered in the external document register."),
            fields={"type": N_("invalid")},
        )
    title = _clean_text(title, "title", max_len=200, message=N_("Please give the title."))
    title_en = _english_title(title_en)
    parent = None
    if parent_number:
        parent = get_document(session, parent_number)
        if parent.type.is_form:
            raise ValidationFailed(
                N_("A form cannot be the parent of a document."), fields={"parent": N_("invalid")}
            )
    if doc_type.is_form and parent is None:
        raise ValidationFailed(
            N_("A form belongs to a procedure: choose its parent document."),
            fields={"parent": N_("required")},
        )
    department = chosen_department(
        department or (parent.department if parent else None),
        missing=N_("Please choose the owning department."),
    )
    if confidentiality not in CONFIDENTIALITY:
        raise ValidationFailed(
            N_("Unknown confidentiality level."), fields={"confidentiality": N_("invalid")}
        )
    interval = review_interval_months or doc_type.review_interval_months
    if not 1 <= int(interval) <= 120:
        raise ValidationFailed(
            N_("The review interval is 1 to 120 months."),
            fields={"review_interval_months": N_("invalid")},
        )
    number = allocate_number(session, doc_type, department, parent)
    doc = Document(
        number=number,
        title=title,
        title_en=title_en,
        type=doc_type,
        department=department,
        parent=parent,
        confidentiality=confidentiality,
        training_required=bool(training_required),
        review_interval_months=int(interval),
        retention=dict(doc_type.retention or {}),
        status="draft",
        created_by=actor,
    )
    session.add(doc)
    session.flush()
    audit.record(session, actor, doc.ref, "created", after=document_state(doc))
    return doc


def _english_title(title_en: str | None) -> str | None:
    title_en = (title_en or "").strip()
    if len(title_en) > 200:
        raise ValidationFailed(N_("The title is too long."), fields={"title_en": N_("too long")})
    return title_en or None


def set_english_title(session: Session, actor: User, doc: Document, title_en: str | None) -> None:
    """Give a document its English title (or clear it: blank). Audited; the Chinese title,
    part of the controlled identity, does not change here."""
    title_en = _english_title(title_en)
    if title_en == doc.title_en:
        return
    before = {"title_en": doc.title_en}
    doc.title_en = title_en
    session.flush()
    audit.record(session, actor, doc.ref, "updated", before=before, after={"title_en": title_en})


def document_state(doc: Document) -> dict:
    return {
        "number": doc.number,
        "title": doc.title,
        "title_en": doc.title_en,
        "type": doc.type.code,
        "department": doc.department.code,
        "parent": doc.parent.number if doc.parent else None,
        "confidentiality": doc.confidentiality,
        "training_required": doc.training_required,
        "review_interval_months": doc.review_interval_months,
        "status": doc.status,
    }


# Revisions ------------------------------------------------------------------


def _next_major(major: str) -> str:
    """A → B … Z → AA → AB (like spreadsheet columns)."""
    letters = [ord(c) - 65 for c in major]
    i = len(letters) - 1
    while i >= 0:
        if letters[i] < 25:
            letters[i] += 1
            return "".join(chr(c + 65) for c in letters)
        letters[i] = 0
        i -= 1
    return "A" + "".join(chr(c + 65) for c in letters)


def next_label(document: Document, change_type: str) -> tuple[str, int, str]:
    """(major, minor, change_type) of the next revision: A/0 first, then by change type."""
    issued = [r for r in document.revisions if r.status in ISSUED_STATUSES]
    if not issued:
        return "A", 0, "initial"
    if change_type not in ("major", "minor"):
        raise ValidationFailed(
            N_("The change type is major or minor."), fields={"change_type": N_("invalid")}
        )
    last = issued[-1]
    if change_type == "minor":
        return last.major, last.minor + 1, "minor"
    return _next_major(last.major), 0, "major"


def open_revision(document: Document) -> Revision | None:
    return next((r for r in document.revisions if r.status in OPEN_STATUSES), None)


def effective_revision(document: Document) -> Revision | None:
    return next((r for r in document.revisions if r.status == "effective"), None)


def add_revision(
    session: Session,
    actor: User,
    document: Document,
    store: FileStore,
    *,
    change_summary: str,
    change_reason: str,
    change_type: str = "minor",
    upload: CheckedFile | None = None,
    from_template: bool = False,
) -> Revision:
    """Start a new draft revision from an uploaded file or from the type's template."""
    lock(session, document)
    if document.status == "obsolete":
        raise InvalidTransition(
            N_("%(number)s is obsolete; it cannot get a new revision."), number=document.number
        )
    current = open_revision(document)
    if current is not None:
        raise Conflict(
            N_("Revision %(label)s of %(number)s is still open: finish or cancel it first."),
            label=current.label,
            number=document.number,
        )
    if (upload is None) == (not from_template):
        raise ValidationFailed(
            N_("Upload a .docx or .pdf file, or start from the template."),
            fields={"file": N_("required")},
        )
    summary = _clean_text(
        change_summary, "change_summary", max_len=4000, message=N_("Please summarise the change.")
    )
    reason = _clean_text(
        change_reason,
        "change_reason",
        max_len=4000,
        message=N_("Please give the reason for the change."),
    )
    major, minor, kind = next_label(document, change_type)
    revision = Revision(
        document=document,
        major=major,
        minor=minor,
        status="draft",
        change_type=kind,
        change_summary=summary,
        change_reason=reason,
        author=actor,
        review_round=0,
    )
    session.add(revision)
    if upload is None:
        data = docx_io.make_template(
            number=document.number,
            title=document.title,
            label=revision.label,
            department=document.department.name,
        )
        # `A/0` written `A0`, as in paths and copy numbers: a `/` in a file name is a folder
        name = f"{document.number}-{revision.path_label}.docx"
        upload = check_upload(data, name, max_bytes=len(data))
    _attach(session, store, revision, upload)
    session.flush()
    audit.record(session, actor, document.ref, "revision_created", after=revision_state(revision))
    return revision


def _attach(session: Session, store: FileStore, revision: Revision, upload: CheckedFile) -> None:
    blob = store_bytes(session, store, upload.data)
    revision.file_sha256 = blob.sha256
    revision.file_name = upload.file_name
    revision.file_kind = upload.kind
    revision.text = upload.text
    revision.page_count = upload.page_count
    if upload.kind == "docx" and printing.lays_out_uploads():
        # Word's own count (docProps) is only what the author's machine last saw; the
        # true count is the layout qdms prints — laid out once the upload has committed
        # (a layout takes seconds: never inside the transaction), and cached for the
        # first print. Until then, and if the layout fails, Word's count stands.
        session.flush()
        after_commit(
            session,
            functools.partial(
                _count_printed_pages, session.get_bind(), store, revision.id, blob.sha256
            ),
        )


def _count_printed_pages(bind, store: FileStore, revision_id: int, sha256: str) -> None:
    """After the commit of an upload: store the page count of the printed layout."""
    pages = printing.docx_page_count(store, sha256)
    with Session(bind=bind) as own:
        own.execute(
            update(Revision)
            .where(Revision.id == revision_id, Revision.file_sha256 == sha256)
            .values(page_count=pages)
        )
        own.commit()


def replace_file(
    session: Session, actor: User, revision: Revision, store: FileStore, upload: CheckedFile
) -> Revision:
    """A draft's author (or an officer) uploads a corrected file; earlier files stay stored."""
    lock(session, revision.document)
    if revision.status != "draft":
        raise InvalidTransition(N_("Only a draft's file can be replaced."))
    before = {"file_sha256": revision.file_sha256, "file_name": revision.file_name}
    _attach(session, store, revision, upload)
    session.flush()
    audit.record(
        session,
        actor,
        revision.ref,
        "revision_file_replaced",
        before=before,
        after={
            "label": revision.label,
            "file_sha256": revision.file_sha256,
            "file_name": revision.file_name,
        },
    )
    return revision


def revision_state(revision: Revision) -> dict:
    return {
        "label": revision.label,
        "status": revision.status,
        "change_type": revision.change_type,
        "change_summary": revision.change_summary,
        "file_sha256": revision.file_sha256,
        "file_name": revision.file_name,
        "effective_date": revision.effective_date.isoformat() if revision.effective_date else None,
    }


def _signed_content(revision: Revision, decision: str) -> str:
    """What a workflow signature covers: the document, the label, the exact file, the round."""
    return canonical_json(
        {
            "document": revision.document.number,
            "revision": revision.label,
            "file_sha256": revision.file_sha256,
            "round": revision.review_round,
            "decision": decision,
        }
    )


def _sign(
    session,
    actor,
    password,
    revision: Revision,
    meaning: str,
    comment=None,
    *,
    object_ref: str | None = None,
):
    """Sign a workflow decision over the revision's exact file (see ``_signed_content``)."""
    sig = sign(
        session,
        actor,
        password,
        meaning=meaning,
        object_ref=object_ref or revision.ref,
        content=_signed_content(revision, meaning),
        comment=comment,
        about={"label": revision.label},
    )
    revision.signatures.append(sig)
    return sig


def _require_effective(document: Document, message: str) -> Revision:
    current = effective_revision(document)
    if current is None:
        raise InvalidTransition(message, number=document.number)
    return current


def _mails(action):
    """A workflow action that mails the people its revision's new status concerns
    (``notify.revision_changed``: those asked to sign, the author), in the transaction.
    The action runs with its document locked (``app.locking``), on the state committed
    when the lock was granted."""

    @functools.wraps(action)
    def act(session: Session, actor, revision: Revision, *args, **kwargs):
        lock(session, revision.document)
        previous = revision.status
        result = action(session, actor, revision, *args, **kwargs)
        notify.revision_changed(session, revision, previous)
        return result

    return act


@_mails
def submit(
    session: Session,
    actor: User,
    revision: Revision,
    *,
    reviewers: list[User],
    approvers: list[User],
) -> Revision:
    """Send a draft for review and approval; all named people must sign."""
    if revision.status == "draft" and not revision.file_sha256:
        raise ValidationFailed(N_("The revision has no file yet."), fields={"file": N_("required")})
    if not approvers:
        raise ValidationFailed(
            N_("Name at least one approver."), fields={"approvers": N_("required")}
        )
    people = [*reviewers, *approvers]
    if len({u.id for u in people}) != len(people):
        raise ValidationFailed(
            N_("Each person can be named once, as reviewer or as approver."),
            fields={"reviewers": N_("invalid")},
        )
    if any(u.id == revision.author_id for u in people):
        raise ValidationFailed(
            N_("The author cannot review or approve their own revision."),
            fields={"approvers": N_("invalid")},
        )
    if any(not u.is_active for u in people):
        raise ValidationFailed(
            N_("Inactive users cannot review or approve."), fields={"reviewers": N_("invalid")}
        )
    if any(not u.has_role("approver") for u in approvers):
        raise ValidationFailed(
            N_("Approvers must have the approver role."), fields={"approvers": N_("invalid")}
        )
    next_round = revision.review_round + 1
    _move(
        session,
        actor,
        revision,
        "submit",
        extra={
            "round": next_round,
            "reviewers": [u.username for u in reviewers],
            "approvers": [u.username for u in approvers],
        },
    )
    revision.review_round = next_round
    for role, users in (("reviewer", reviewers), ("approver", approvers)):
        for user in users:
            revision.participants.append(
                RevisionParticipant(round=next_round, user=user, role=role)
            )
    session.flush()
    return revision


def _my_task(revision: Revision, actor: User, roles: set[str]) -> RevisionParticipant:
    if revision.status != "in_review":
        raise InvalidTransition(N_("Revision %(label)s is not in review."), label=revision.label)
    mine = [p for p in revision.current_round() if p.user_id == actor.id and p.role in roles]
    if not mine:
        raise PermissionDenied(N_("You are not asked to sign this revision."))
    if mine[0].decision is not None:
        raise InvalidTransition(N_("You have already signed this revision."))
    return mine[0]


@_mails
def review(
    session: Session,
    actor: User,
    revision: Revision,
    *,
    decision: str,
    password: str,
    comment: str | None = None,
) -> Revision:
    """A reviewer signs "reviewed", or any reviewer/approver rejects (back to draft)."""
    if decision not in ("approve", "reject"):
        raise ValidationFailed(
            N_("The decision is approve or reject."), fields={"decision": N_("invalid")}
        )
    comment = (comment or "").strip() or None
    roles = {"reviewer"} if decision == "approve" else {"reviewer", "approver"}
    task = _my_task(revision, actor, roles)
    if decision == "reject" and not comment:
        raise ValidationFailed(
            N_("Please say why you reject it."), fields={"comment": N_("required")}
        )
    meaning = "reviewed" if decision == "approve" else "rejected"
    sig = _sign(session, actor, password, revision, meaning, comment)
    task.decision = "approved" if decision == "approve" else "rejected"
    task.comment, task.signature_id, task.decided_at = comment, sig.id, sig.signed_at
    if decision == "reject":
        _move(session, actor, revision, "reject", reason=comment)
    session.flush()
    return revision


@_mails
def approve(
    session: Session,
    actor: User,
    revision: Revision,
    *,
    password: str,
    effective_date: date | None = None,
    comment: str | None = None,
    today: date | None = None,
) -> Revision:
    """An approver signs "approved". The last approval approves the revision; it becomes
    effective at once when its effective date is today (or none was given), otherwise
    `qdms sweep` makes it effective on that date."""
    today = today or local_today()
    if effective_date is not None and effective_date < today:
        raise ValidationFailed(
            N_("The effective date cannot be in the past."),
            fields={"effective_date": N_("invalid")},
        )
    task = _my_task(revision, actor, {"approver"})
    pending = [p for p in revision.current_round() if p.role == "reviewer" and p.decision is None]
    if pending:
        raise InvalidTransition(
            N_("Approval waits for the reviews of %(names)s."),
            names=", ".join(p.user.full_name for p in pending),
        )
    sig = _sign(session, actor, password, revision, "approved", comment)
    task.decision, task.comment = "approved", (comment or "").strip() or None
    task.signature_id, task.decided_at, task.effective_date = sig.id, sig.signed_at, effective_date
    if all(p.decision == "approved" for p in revision.current_round() if p.role == "approver"):
        dates = [p.effective_date for p in revision.current_round() if p.effective_date]
        revision.effective_date = max(dates) if dates else today
        _move(session, actor, revision, "approve")
        if revision.effective_date <= today:
            make_effective(session, actor, revision, today=today)
    session.flush()
    return revision


def make_effective(
    session: Session, actor: User | None, revision: Revision, *, today: date
) -> Revision:
    """Approved → effective; the previous effective revision is superseded in this same
    transaction, so a document never has two effective revisions."""
    document = revision.document
    previous = effective_revision(document)
    now = utcnow()
    _move(session, actor, revision, "make_effective", now=now)
    if previous is not None and previous.id != revision.id:
        _move(
            session, actor, previous, "supersede", now=now, extra={"superseded_by": revision.label}
        )
        signals.revision_retired.send(
            previous, session=session, actor=actor, successor=revision, today=today
        )
    document.current_revision = revision
    document.status = "effective"
    document.review_due_date = add_months(
        revision.effective_date or today, document.review_interval_months
    )
    session.flush()
    return revision


def run_due_effective(session: Session, today: date) -> list[Revision]:
    """For `qdms sweep`: approved revisions whose effective date has come."""
    due = session.scalars(
        select(Revision)
        .where(Revision.status == "approved", Revision.effective_date <= today)
        .order_by(Revision.effective_date, Revision.id)
    ).all()
    made = []
    for revision in due:
        lock(session, revision.document)
        if revision.status == "approved":  # not made effective meanwhile by another sweep
            made.append(make_effective(session, None, revision, today=today))
    for revision in made:
        notify.revision_changed(session, revision, "approved")
    return made


@_mails
def cancel(session: Session, actor: User, revision: Revision, *, reason: str) -> Revision:
    reason = _clean_text(
        reason, "reason", max_len=4000, message=N_("Please give the reason for cancelling.")
    )
    _move(session, actor, revision, "cancel", reason=reason)
    session.flush()
    return revision


def withdraw(
    session: Session, actor: User, document: Document, *, reason: str, password: str
) -> Document:
    """Make the document obsolete (signed): its effective revision becomes obsolete and any
    open revision is cancelled, so nothing can become effective later."""
    lock(session, document)
    reason = _clean_text(
        reason, "reason", max_len=4000, message=N_("Please give the reason for withdrawing.")
    )
    current = _require_effective(document, N_("%(number)s has no effective revision to withdraw."))
    _sign(session, actor, password, current, "obsoleted", reason, object_ref=document.ref)
    now = utcnow()
    for revision in list(document.revisions):
        if revision.status in OPEN_STATUSES:
            _move(session, actor, revision, "cancel_open", reason=reason, now=now)
    _move(session, actor, current, "withdraw", reason=reason, now=now)
    signals.revision_retired.send(
        current, session=session, actor=actor, successor=None, today=local_today()
    )
    document.status = "obsolete"
    document.withdrawn_at = now
    document.current_revision = None
    document.review_due_date = None
    session.flush()
    audit.record(
        session, actor, document.ref, "withdrawn", reason=reason, after={"status": "obsolete"}
    )
    return document


def confirm_review(
    session: Session,
    actor: User,
    document: Document,
    *,
    password: str,
    comment: str | None = None,
    today: date | None = None,
) -> Document:
    """Periodic review without change (signed): the effective revision stays, the next
    review is due one interval from today."""
    today = today or local_today()
    lock(session, document)
    current = _require_effective(document, N_("%(number)s has no effective revision to review."))
    _sign(session, actor, password, current, "review_confirmed", comment, object_ref=document.ref)
    before = document.review_due_date
    document.review_due_date = add_months(today, document.review_interval_months)
    session.flush()
    audit.record(
        session,
        actor,
        document.ref,
        "periodic_review_confirmed",
        before={"review_due_date": before.isoformat() if before else None},
        after={"review_due_date": document.review_due_date.isoformat()},
        reason=comment,
    )
    return document


# Queries ---------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def documents_query(
    user: User,
    *,
    type_code: str | None = None,
    department: str | None = None,
    status: str | None = None,
    q: str | None = None,
):
    """``select(Document)`` of what ``user`` may see, filtered; ordered by number.

    Relationships shown in lists are loaded with the rows (no query per row).
    """
    stmt = select(Document).options(
        joinedload(Document.type),
        joinedload(Document.department),
        joinedload(Document.current_revision).defer(Revision.text),
        joinedload(Document.parent),
    )
    return _narrow(stmt, user, type_code=type_code, department=department, status=status, q=q)


# An alias, so that the permission filter's subqueries on revision do not correlate to
# the join of the current revision (as in master_list); made once, because a new alias
# must work out its columns again on every request (a millisecond of the list page).
_CURRENT_REVISION = aliased(Revision, name="current_revision")


def document_list_query(
    user: User,
    *,
    type_code: str | None = None,
    department: str | None = None,
    status: str | None = None,
    q: str | None = None,
):
    """The rows of :func:`documents_query` as plain columns, for the document list page:
    number, title, title_en, confidentiality, status, review_due_date, department (code),
    and the current revision's major, minor and effective_date (None without one).

    The same permission filter and order; columns instead of Document objects with their
    type, department, revision and parent, which cost a third of the page
    (benchmarks/page_cpu.py).
    """
    current = _CURRENT_REVISION
    stmt = (
        select(
            Document.number,
            Document.title,
            Document.title_en,
            Document.confidentiality,
            Document.status,
            Document.review_due_date,
            Department.code.label("department"),
            current.major,
            current.minor,
            current.effective_date,
        )
        .select_from(Document)
        .outerjoin(current, current.id == Document.current_revision_id)
    )
    return _narrow(stmt, user, type_code=type_code, department=department, status=status, q=q)


def _narrow(
    stmt,
    user: User,
    *,
    type_code: str | None,
    department: str | None,
    status: str | None,
    q: str | None,
):
    """``stmt``, a select from ``document``, narrowed to what ``user`` may see and to the
    filters; ordered by number."""
    stmt = (
        stmt.join(Document.type)
        .join(Document.department)
        .where(visible_documents(user), DocumentType.is_external.is_(False))
        .order_by(Document.number)
    )
    if type_code:
        stmt = stmt.where(DocumentType.code == type_code.upper())
    if department:
        stmt = stmt.where(Department.code == department.upper())
    if status:
        stmt = stmt.where(Document.status == status)
    if q and q.strip():
        pattern = _like(q.strip())
        stmt = stmt.where(
            Document.number.ilike(pattern, escape="\\") | Document.title.ilike(pattern, escape="\\")
        )
    return stmt


MASTER_LIST_COLUMNS = (
    ("number", N_("Number")),
    ("title", N_("Title")),
    ("type", N_("Type")),
    ("level", N_("Level")),
    ("department", N_("Department")),
    ("revision", N_("Revision")),
    ("effective_date", N_("Effective date")),
    ("review_due_date", N_("Review due")),
    ("parent", N_("Parent document")),
    ("status", N_("Status")),
)


def master_list(
    session: Session,
    user: User,
    *,
    type_code: str | None = None,
    department: str | None = None,
    status: str | None = "effective",
    q: str | None = None,
) -> list[dict]:
    """The master document list (受控文件清单): one plain row per controlled document.

    By default the documents in force; ``status=None`` lists every status.
    """
    # Columns, not Document objects with their type, department, revision and parent: the
    # list runs to thousands of rows, and building those objects took ten times as long as
    # the query itself (benchmarks/documents.py). Aliases, so that the permission filter's
    # subqueries on revision and document do not correlate to these joins.
    current, parent = aliased(Revision), aliased(Document)
    stmt = (
        select(
            Document.number,
            Document.title,
            Document.title_en,
            DocumentType.code.label("type"),
            DocumentType.level,
            Department.code.label("department"),
            Department.name.label("department_name"),
            Department.name_en.label("department_name_en"),
            current.major,
            current.minor,
            current.effective_date,
            Document.review_due_date,
            parent.number.label("parent"),
            Document.status,
        )
        .select_from(Document)
        .outerjoin(current, current.id == Document.current_revision_id)
        .outerjoin(parent, parent.id == Document.parent_id)
    )
    stmt = _narrow(stmt, user, type_code=type_code, department=department, status=status, q=q)
    return [
        {
            "number": row.number,
            "title": row.title,
            "title_en": row.title_en,
            "type": row.type,
            "level": row.level,
            "department": row.department,
            "department_name": row.department_name,
            "department_name_en": row.department_name_en,
            # Revision.label
            "revision": f"{row.major}/{row.minor}" if row.major is not None else None,
            "effective_date": row.effective_date,
            "review_due_date": row.review_due_date,
            "parent": row.parent,
            "status": row.status,
        }
        for row in session.execute(stmt)
    ]


def my_work(session: Session, user: User) -> dict[str, list]:
    """The "my work" queue: drafts to finish, reviews and approvals waiting for ``user``."""
    drafts = session.scalars(
        select(Revision)
        .where(Revision.author_id == user.id, Revision.status == "draft")
        .options(joinedload(Revision.document), selectinload(Revision.participants))
        .order_by(Revision.created_at)
    ).all()
    tasks = session.scalars(
        select(RevisionParticipant)
        .join(RevisionParticipant.revision)
        .where(
            RevisionParticipant.user_id == user.id,
            RevisionParticipant.decision.is_(None),
            RevisionParticipant.round == Revision.review_round,
            Revision.status == "in_review",
        )
        .options(joinedload(RevisionParticipant.revision).joinedload(Revision.document))
        .order_by(Revision.submitted_at)
    ).all()
    return {
        "drafts": list(drafts),
        "reviews": [t for t in tasks if t.role == "reviewer"],
        "approvals": [t for t in tasks if t.role == "approver"],
    }


def reviews_due(session: Session, today: date, *, within_days: int = 30) -> list[Document]:
    """Effective documents whose periodic review falls due within ``within_days`` (or is
    overdue)."""
    return list(
        session.scalars(
            select(Document)
            .where(
                Document.status == "effective",
                Document.review_due_date <= today + timedelta(days=within_days),
            )
            .order_by(Document.review_due_date, Document.number)
        )
    )


# Document types (administrator) ---------------------------------------------------


def update_type(
    session: Session,
    actor: User,
    doc_type: DocumentType,
    *,
    name: str,
    name_en: str,
    level: int,
    number_pattern: str,
    review_interval_months: int,
    retention_years: int | None,
    retention_from: str,
    is_active: bool,
) -> DocumentType:
    """Change a type's names, level, numbering pattern and defaults (audited).

    Numbers already given never change; a new pattern applies to new documents only.
    """
    before = doc_type.audit_state()
    doc_type.name = _clean_text(name, "name", max_len=80, message=N_("Please give the name."))
    doc_type.name_en = _clean_text(
        name_en, "name_en", max_len=80, message=N_("Please give the name.")
    )
    if not 0 <= int(level) <= 9:
        raise ValidationFailed(N_("The level is 0 to 9."), fields={"level": N_("invalid")})
    if not 1 <= int(review_interval_months) <= 120:
        raise ValidationFailed(
            N_("The review interval is 1 to 120 months."),
            fields={"review_interval_months": N_("invalid")},
        )
    if retention_from not in RETENTION_FROM:
        raise ValidationFailed(
            N_("Unknown retention start."), fields={"retention_from": N_("invalid")}
        )
    if retention_years is not None and not 0 <= int(retention_years) <= 100:
        raise ValidationFailed(
            N_("Retention is 0 to 100 years."), fields={"retention_years": N_("invalid")}
        )
    if doc_type.is_external:
        number_pattern = doc_type.number_pattern  # EXT numbers are fixed by the register
    doc_type.number_pattern = check_pattern(number_pattern.strip(), is_form=doc_type.is_form)
    doc_type.level = int(level)
    doc_type.review_interval_months = int(review_interval_months)
    doc_type.retention = (
        {"years": int(retention_years), "from": retention_from}
        if retention_years is not None
        else {}
    )
    doc_type.is_active = bool(is_active)
    session.flush()
    after = doc_type.audit_state()
    if after != before:
        audit.record(
            session, actor, f"document_type:{doc_type.code}", "updated", before=before, after=after
        )
    return doc_type


def verify_signed_content(session: Session) -> list[str]:
    """For ``qdms verify``: the signatures of the round that approved each revision (not
    destroyed) against what they signed as it is now — the document number, the label,
    the exact file (``_signed_content``). One line per signature that no longer matches:
    the revision's file, label or number was changed after it was signed."""
    problems = []
    stmt = (
        select(Revision)
        .where(
            Revision.status.in_(("approved", "effective", "superseded", "obsolete")),
            Revision.destroyed_at.is_(None),
        )
        .options(
            selectinload(Revision.participants),
            selectinload(Revision.signatures),
            joinedload(Revision.document),
        )
        .order_by(Revision.id)
    )
    for revision in session.scalars(stmt):
        by_id = {s.id: s for s in revision.signatures}
        for participant in revision.current_round():
            sig = by_id.get(participant.signature_id)
            if sig is None or sig.meaning not in ("reviewed", "approved"):
                continue
            if sig.content_sha256 != content_hash(_signed_content(revision, sig.meaning)):
                problems.append(
                    f"signature {sig.id} ({sig.meaning} by {sig.username} on "
                    f"{revision.document.number} {revision.label}): what it signed is no "
                    "longer the revision's number, label or file_sha256"
                )
    return problems
