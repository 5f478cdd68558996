"""The register of external documents (外来文件), docs/adr/0026-external-documents-register.md.

Guarantees:

- Control numbers come from the ``EXT`` document type's scheme (``EXT-{seq:04}``) through
  :func:`app.documents.services.allocate_number`: atomic, consecutive, never reused.
- Editions are tracked like revisions: an entry has exactly one current edition, and
  recording a new one supersedes the previous one in the same transaction (also enforced
  by a partial unique index). Editions and currency checks are never edited or deleted.
- Every change writes an audit event about ``external:EXT-nnnn`` in the caller's
  transaction; citations are also written to the citing document's trail.
- Services flush and never commit; bad input raises :class:`ValidationFailed` naming the
  field, illegal actions on a withdrawn entry :class:`InvalidTransition`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.audit_trail import services as audit
from app.documents.models import Document, DocumentType
from app.documents.services import allocate_number
from app.errors import N_, Conflict, InvalidTransition, NotFound, ValidationFailed
from app.extensions import add_months, local_date, local_today, utcnow
from app.external.models import (
    CHECK_OUTCOMES,
    KINDS,
    STATUSES,
    ExternalCheck,
    ExternalCitation,
    ExternalDocument,
    ExternalEdition,
)
from app.locking import lock
from app.people.models import Department, User
from app.people.services import chosen_department, chosen_person
from app.storage import FileStore, store_bytes
from app.uploads import CheckedFile

EXTERNAL_TYPE = "EXT"
DEFAULT_INTERVAL_MONTHS = 12
# ISO and SAC review their standards at least every five years; a longer interval
# would let a withdrawn standard go unnoticed.
MAX_INTERVAL_MONTHS = 60


# Loading --------------------------------------------------------------------


def get_external(session: Session, number: str) -> ExternalDocument:
    ext = session.scalar(
        select(ExternalDocument).where(ExternalDocument.number == (number or "").strip().upper())
    )
    if ext is None:
        raise NotFound(N_("No external document %(number)s."), number=number)
    return ext


def get_edition(ext: ExternalDocument, edition_id: int) -> ExternalEdition:
    edition = next((e for e in ext.editions if e.id == edition_id), None)
    if edition is None:
        raise NotFound(N_("No such edition of %(number)s."), number=ext.number)
    return edition


def list_stmt(
    *,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    due_on: date | None = None,
) -> Select:
    """The register, filtered: ``q`` matches the reference (also without spaces, so
    ``GB/T19001`` finds ``GB/T 19001-2016``), the title, the publisher or the number;
    ``due_on`` keeps entries whose currency check is due on that day."""
    stmt = select(ExternalDocument).order_by(ExternalDocument.number)
    if kind:
        if kind not in KINDS:
            raise ValidationFailed(N_("Unknown kind."), fields={"kind": N_("invalid")})
        stmt = stmt.where(ExternalDocument.kind == kind)
    if status:
        if status not in STATUSES:
            raise ValidationFailed(N_("Unknown status."), fields={"status": N_("invalid")})
        stmt = stmt.where(ExternalDocument.status == status)
    q = (q or "").strip()
    if q:
        compact = q.replace(" ", "")
        stmt = stmt.where(
            or_(
                ExternalDocument.reference.icontains(q, autoescape=True),
                func.replace(ExternalDocument.reference, " ", "").icontains(
                    compact, autoescape=True
                ),
                ExternalDocument.title.icontains(q, autoescape=True),
                ExternalDocument.publisher.icontains(q, autoescape=True),
                ExternalDocument.number.icontains(q, autoescape=True),
            )
        )
    if due_on is not None:
        stmt = stmt.where(
            ExternalDocument.status == "current", ExternalDocument.next_check_date <= due_on
        )
    return stmt


def due_currency_checks(session: Session, today: date) -> list[ExternalDocument]:
    """For `qdms sweep` and the dashboard: current entries whose "check for a newer
    edition" date is today or past, most overdue first."""
    stmt = list_stmt(due_on=today).order_by(None)
    stmt = stmt.order_by(ExternalDocument.next_check_date, ExternalDocument.number)
    return list(session.scalars(stmt))


def cited_by_document(session: Session, document: Document) -> list[ExternalDocument]:
    """The external documents an internal document cites, by control number (withdrawn
    ones included, so the document page can warn about them)."""
    stmt = (
        select(ExternalDocument)
        .join(ExternalCitation, ExternalCitation.external_document_id == ExternalDocument.id)
        .where(ExternalCitation.document_id == document.id)
        .order_by(ExternalDocument.number)
    )
    return list(session.scalars(stmt))


def citing_documents(session: Session, ext: ExternalDocument, *, where=None) -> list[Document]:
    """The internal documents that cite ``ext``, by number. ``where`` narrows them to what
    the reader may see (``app.documents.permissions.visible_documents(user)``)."""
    stmt = (
        select(Document)
        .join(ExternalCitation, ExternalCitation.document_id == Document.id)
        .where(ExternalCitation.external_document_id == ext.id)
        .order_by(Document.number)
    )
    if where is not None:
        stmt = stmt.where(where)
    return list(session.scalars(stmt))


def citable_documents(session: Session, ext: ExternalDocument) -> list[Document]:
    """Internal documents that may start citing ``ext``: not obsolete, not citing it yet."""
    already = select(ExternalCitation.document_id).where(
        ExternalCitation.external_document_id == ext.id
    )
    stmt = (
        select(Document)
        .where(Document.status != "obsolete", Document.id.not_in(already))
        .order_by(Document.number)
    )
    return list(session.scalars(stmt))


# Checking input -------------------------------------------------------------


def _text(
    value: str | None, field: str, *, max_len: int, required: bool = True, message: str = ""
) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationFailed(message, fields={field: N_("required")})
        return None
    if len(value) > max_len:
        raise ValidationFailed(
            N_("%(field)s is too long."),
            fields={field: N_("too long")},
            field=field,
        )
    return value


def _kind(kind: str | None) -> str:
    if kind not in KINDS:
        raise ValidationFailed(N_("Unknown kind."), fields={"kind": N_("invalid")})
    return kind


def _interval(months) -> int:
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0
    if not 1 <= months <= MAX_INTERVAL_MONTHS:
        raise ValidationFailed(
            N_("The currency check interval is 1 to %(max)s months."),
            fields={"check_interval_months": N_("invalid")},
            max=MAX_INTERVAL_MONTHS,
        )
    return months


def _holder(holder: User | None) -> User:
    return chosen_person(
        holder,
        "holder",
        missing=N_("Please choose the holder."),
        inactive=N_("The holder must be an active user."),
    )


def _reference(session: Session, reference: str | None, *, exclude_id: int | None = None) -> str:
    reference = _text(
        reference,
        "reference",
        max_len=120,
        message=N_("Please give the external reference, e.g. GB/T 19001-2016."),
    )
    # Two live entries for one standard would split its holders and checks.
    stmt = select(ExternalDocument.number).where(
        func.lower(ExternalDocument.reference) == reference.lower(),
        ExternalDocument.status == "current",
    )
    if exclude_id is not None:
        stmt = stmt.where(ExternalDocument.id != exclude_id)
    taken = session.scalar(stmt)
    if taken:
        raise Conflict(
            N_("%(reference)s is already registered as %(number)s."),
            fields={"reference": N_("taken")},
            reference=reference,
            number=taken,
        )
    return reference


def _require_current(ext: ExternalDocument) -> None:
    if ext.status != "current":
        raise InvalidTransition(
            N_("%(number)s is withdrawn; it cannot be changed."), number=ext.number
        )


def _edition_dates(
    published_on: date | None, effective_on: date | None, received_on: date | None, today: date
) -> date:
    received_on = received_on or today
    if received_on > today:
        raise ValidationFailed(
            N_("The date received cannot be in the future."),
            fields={"received_on": N_("invalid")},
        )
    if published_on is not None and published_on > received_on:
        raise ValidationFailed(
            N_("An edition cannot be received before it is published."),
            fields={"published_on": N_("invalid")},
        )
    if published_on is not None and effective_on is not None and effective_on < published_on:
        raise ValidationFailed(
            N_("The effective date cannot be before the publication date."),
            fields={"effective_on": N_("invalid")},
        )
    return received_on


def _attach(
    session: Session, store: FileStore | None, edition: ExternalEdition, upload: CheckedFile
) -> None:
    if store is None:
        raise ValueError("a file store is needed to keep an uploaded edition")
    blob = store_bytes(session, store, upload.data)
    edition.file_sha256 = blob.sha256
    edition.file_name = upload.file_name
    edition.file_kind = upload.kind
    edition.page_count = upload.page_count


def _allocate_number(session: Session, today: date) -> str:
    doc_type = session.scalar(select(DocumentType).where(DocumentType.code == EXTERNAL_TYPE))
    if doc_type is None:
        raise InvalidTransition(N_("The numbering scheme of external documents is missing."))
    while True:
        number = allocate_number(session, doc_type, None, None, today=today)
        # allocate_number skips numbers of internal documents; skip imported ones here too.
        if session.scalar(select(ExternalDocument.id).where(ExternalDocument.number == number)):
            continue
        return number


# Register -------------------------------------------------------------------


def register(
    session: Session,
    actor: User,
    *,
    reference: str,
    title: str,
    publisher: str,
    kind: str,
    department: Department | None,
    holder: User | None,
    edition: str,
    location: str | None = None,
    check_interval_months: int = DEFAULT_INTERVAL_MONTHS,
    published_on: date | None = None,
    effective_on: date | None = None,
    received_on: date | None = None,
    note: str | None = None,
    upload: CheckedFile | None = None,
    store: FileStore | None = None,
    today: date | None = None,
) -> ExternalDocument:
    """Register an external document with its first (current) edition and give it the next
    control number. The first currency check falls one interval from today."""
    today = today or local_today()
    reference = _reference(session, reference)
    title = _text(title, "title", max_len=300, message=N_("Please give the title."))
    publisher = _text(publisher, "publisher", max_len=200, message=N_("Please name the publisher."))
    kind = _kind(kind)
    department = chosen_department(department, missing=N_("Please choose the owning department."))
    holder = _holder(holder)
    location = _text(location, "location", max_len=200, required=False)
    interval = _interval(check_interval_months)
    label = _text(edition, "edition", max_len=60, message=N_("Please give the edition, e.g. 2016."))
    note = _text(note, "note", max_len=4000, required=False)
    received_on = _edition_dates(published_on, effective_on, received_on, today)
    ext = ExternalDocument(
        number=_allocate_number(session, today),
        reference=reference,
        title=title,
        publisher=publisher,
        kind=kind,
        department=department,
        holder=holder,
        location=location,
        check_interval_months=interval,
        next_check_date=add_months(today, interval),
        status="current",
        created_by=actor,
    )
    session.add(ext)
    first = ExternalEdition(
        external_document=ext,
        edition=label,
        reference=reference,
        published_on=published_on,
        effective_on=effective_on,
        received_on=received_on,
        note=note,
        status="current",
        recorded_by=actor,
    )
    session.add(first)
    if upload is not None:
        _attach(session, store, first, upload)
    session.flush()
    audit.record(
        session,
        actor,
        ext.ref,
        "created",
        after={**ext.audit_state(), "edition": first.audit_state()},
    )
    return ext


def update_details(
    session: Session,
    actor: User,
    ext: ExternalDocument,
    *,
    reference: str,
    title: str,
    publisher: str,
    kind: str,
    department: Department | None,
    holder: User | None,
    location: str | None,
    check_interval_months: int,
) -> ExternalDocument:
    """Correct the entry's details. A changed interval moves the next check to one new
    interval after the last check (or the registration). The control number never changes."""
    _require_current(ext)
    before = ext.audit_state()
    ext.reference = _reference(session, reference, exclude_id=ext.id)
    ext.title = _text(title, "title", max_len=300, message=N_("Please give the title."))
    ext.publisher = _text(
        publisher, "publisher", max_len=200, message=N_("Please name the publisher.")
    )
    ext.kind = _kind(kind)
    ext.department = chosen_department(
        department, missing=N_("Please choose the owning department.")
    )
    ext.holder = _holder(holder)
    ext.location = _text(location, "location", max_len=200, required=False)
    interval = _interval(check_interval_months)
    if interval != ext.check_interval_months:
        ext.check_interval_months = interval
        base = ext.last_checked_on or local_date(ext.created_at)
        ext.next_check_date = add_months(base, interval)
    session.flush()
    after = ext.audit_state()
    if after != before:
        audit.record(session, actor, ext.ref, "updated", before=before, after=after)
    return ext


def record_edition(
    session: Session,
    actor: User,
    ext: ExternalDocument,
    *,
    edition: str,
    reference: str | None = None,
    published_on: date | None = None,
    effective_on: date | None = None,
    received_on: date | None = None,
    note: str | None = None,
    upload: CheckedFile | None = None,
    store: FileStore | None = None,
    today: date | None = None,
) -> ExternalEdition:
    """Record a newer edition: it becomes current and the previous one superseded, in this
    transaction. ``reference`` is the new edition's designation (``GB/T 19001-2016`` →
    ``…-2024``); it becomes the entry's reference. Receiving the newest edition counts as
    a currency check: the next one falls one interval from today."""
    today = today or local_today()
    lock(session, ext)
    _require_current(ext)
    label = _text(edition, "edition", max_len=60, message=N_("Please give the edition, e.g. 2016."))
    if any(e.edition.lower() == label.lower() for e in ext.editions):
        raise Conflict(
            N_("Edition %(edition)s of %(number)s is already recorded."),
            fields={"edition": N_("taken")},
            edition=label,
            number=ext.number,
        )
    new_reference = ext.reference
    if (reference or "").strip() and reference.strip() != ext.reference:
        new_reference = _reference(session, reference, exclude_id=ext.id)
    note = _text(note, "note", max_len=4000, required=False)
    received_on = _edition_dates(published_on, effective_on, received_on, today)
    previous = ext.current_edition
    if (
        previous is not None
        and previous.published_on is not None
        and published_on is not None
        and published_on < previous.published_on
    ):
        raise ValidationFailed(
            N_("The new edition cannot be older than the current edition (published %(date)s)."),
            fields={"published_on": N_("invalid")},
            date=previous.published_on.isoformat(),
        )
    before = ext.audit_state()
    before_edition = previous.edition if previous else None
    if previous is not None:
        previous.status = "superseded"
        previous.superseded_at = utcnow()
        # flushed first: the partial unique index allows one current edition at a time
        session.flush()
    new = ExternalEdition(
        external_document=ext,
        edition=label,
        reference=new_reference,
        published_on=published_on,
        effective_on=effective_on,
        received_on=received_on,
        note=note,
        status="current",
        recorded_by=actor,
    )
    session.add(new)
    if upload is not None:
        _attach(session, store, new, upload)
    ext.reference = new_reference
    ext.last_checked_on = today
    ext.next_check_date = add_months(today, ext.check_interval_months)
    session.flush()
    audit.record(
        session,
        actor,
        ext.ref,
        "edition_recorded",
        before={
            "edition": before_edition,
            "reference": before["reference"],
            "next_check_date": before["next_check_date"],
        },
        after={**new.audit_state(), "next_check_date": ext.next_check_date.isoformat()},
    )
    return new


def record_currency_check(
    session: Session,
    actor: User,
    ext: ExternalDocument,
    *,
    outcome: str = "current",
    note: str | None = None,
    today: date | None = None,
) -> ExternalCheck:
    """Record a "check for a newer edition". Still current: the next check falls one
    interval from today. A newer edition exists: the entry is due from today until the
    new edition is recorded (a note says where it is expected from)."""
    today = today or local_today()
    _require_current(ext)
    if outcome not in CHECK_OUTCOMES:
        raise ValidationFailed(N_("Unknown check outcome."), fields={"outcome": N_("invalid")})
    note = _text(
        note,
        "note",
        max_len=4000,
        required=outcome == "newer_edition",
        message=N_("Please say which newer edition exists and when it will be obtained."),
    )
    before = {
        "last_checked_on": ext.last_checked_on.isoformat() if ext.last_checked_on else None,
        "next_check_date": ext.next_check_date.isoformat() if ext.next_check_date else None,
    }
    ext.last_checked_on = today
    if outcome == "current":
        ext.next_check_date = add_months(today, ext.check_interval_months)
    else:
        ext.next_check_date = min(ext.next_check_date or today, today)
    check = ExternalCheck(
        external_document=ext,
        checked_on=today,
        outcome=outcome,
        note=note,
        next_check_date=ext.next_check_date,
        checked_by=actor,
    )
    session.add(check)
    session.flush()
    audit.record(
        session,
        actor,
        ext.ref,
        "currency_checked",
        before=before,
        after={
            "outcome": outcome,
            "last_checked_on": today.isoformat(),
            "next_check_date": ext.next_check_date.isoformat(),
        },
        reason=note,
    )
    return check


def withdraw(
    session: Session, actor: User, ext: ExternalDocument, *, reason: str
) -> list[Document]:
    """Withdraw the entry from the register (the publisher withdrew it, or we no longer
    need it). It leaves the due list; its history stays. Returns the internal documents
    that still cite it, which need a look."""
    lock(session, ext)
    if ext.status != "current":
        raise InvalidTransition(N_("%(number)s is already withdrawn."), number=ext.number)
    reason = _text(
        reason, "reason", max_len=4000, message=N_("Please give the reason for withdrawing.")
    )
    before = ext.audit_state()
    ext.status = "withdrawn"
    ext.withdrawn_at = utcnow()
    ext.withdrawal_reason = reason
    ext.next_check_date = None
    session.flush()
    audit.record(
        session, actor, ext.ref, "withdrawn", before=before, after=ext.audit_state(), reason=reason
    )
    return citing_documents(session, ext)


# Citations ------------------------------------------------------------------


def _document(session: Session, number: str | None) -> Document:
    number = (number or "").strip()
    if not number:
        raise ValidationFailed(
            N_("Please choose the internal document."), fields={"document": N_("required")}
        )
    doc = session.scalar(select(Document).where(Document.number == number.upper()))
    if doc is None:
        raise ValidationFailed(
            N_("No document %(number)s."), fields={"document": N_("invalid")}, number=number
        )
    return doc


def _citation(session: Session, document: Document, ext: ExternalDocument):
    return session.scalar(
        select(ExternalCitation).where(
            ExternalCitation.document_id == document.id,
            ExternalCitation.external_document_id == ext.id,
        )
    )


def cite(
    session: Session, actor: User, ext: ExternalDocument, document_number: str
) -> ExternalCitation:
    """Record that internal document ``document_number`` cites ``ext``. Written to the
    trails of both."""
    lock(session, ext)
    _require_current(ext)
    document = _document(session, document_number)
    if document.status == "obsolete":
        raise InvalidTransition(
            N_("%(number)s is obsolete; it cannot cite anything."), number=document.number
        )
    if _citation(session, document, ext) is not None:
        raise Conflict(
            N_("%(document)s already cites %(number)s."),
            fields={"document": N_("taken")},
            document=document.number,
            number=ext.number,
        )
    citation = ExternalCitation(document=document, external_document=ext, created_by=actor)
    session.add(citation)
    session.flush()
    audit.record(session, actor, ext.ref, "citation_added", after={"document": document.number})
    audit.record(
        session,
        actor,
        f"document:{document.number}",
        "external_cited",
        after={"external": ext.number, "reference": ext.reference},
    )
    return citation


def uncite(session: Session, actor: User, ext: ExternalDocument, document_number: str) -> None:
    """Remove a citation (also allowed for withdrawn entries: tidying up is always fine).
    The link row goes; both audit trails keep that it existed."""
    document = session.scalar(
        select(Document).where(Document.number == (document_number or "").strip().upper())
    )
    citation = _citation(session, document, ext) if document is not None else None
    if citation is None:
        raise NotFound(
            N_("%(document)s does not cite %(number)s."),
            document=document_number,
            number=ext.number,
        )
    session.delete(citation)
    session.flush()
    audit.record(session, actor, ext.ref, "citation_removed", before={"document": document.number})
    audit.record(
        session,
        actor,
        f"document:{document.number}",
        "external_uncited",
        before={"external": ext.number, "reference": ext.reference},
    )
