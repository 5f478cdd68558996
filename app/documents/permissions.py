"""Who may see and do what with controlled documents.

Named predicates used by views, templates (to hide buttons), the API and, through
``visible_documents``, every list and search filter — so a list never shows a document
its reader could not open.

The rules (docs/DECISIONS.md, "Document permissions"):

- Quality officers, auditors and administrators see every document and every revision
  (auditors need the history; administrators keep the numbering schemes).
- Everyone else sees a document when it has an effective revision and its
  confidentiality allows it (``confidential``: only the owning department), and sees only
  that effective revision — "electronic viewing always shows the effective revision".
- The people working on a revision (its author, its reviewers and approvers) and the
  person who registered the document see it and that revision whatever its state.
- Whoever may act on a document sees it: the authors of the owning department (who may
  start its next revision, ``can_add_revision``) see the document — also before it has an
  effective revision — and its revisions in progress (draft, in review, approved). Drafts
  stay hidden from everyone else.
- A revision issued to a person (a copy they hold, or a read-and-understood task) is
  readable by them, and its document is in their lists.

``can_view_document`` (the predicate), ``visible_documents`` (the SQL filter of every
list) and the index's scope terms (``app/documents/search.py``) state the same rule;
tests/test_document_visibility.py checks that they agree on generated cases.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select, true

from app.documents.models import Document, Revision, RevisionParticipant

PRIVILEGED_ROLES = ("officer", "auditor", "admin")
# Revisions a department's authors see while they are being worked on.
IN_PROGRESS = ("draft", "in_review", "approved")


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def sees_everything(user) -> bool:
    return _signed_in(user) and user.has_role(*PRIVILEGED_ROLES)


def _confidentiality_allows(user, doc: Document) -> bool:
    return doc.confidentiality != "confidential" or doc.department_id == user.department_id


def _acts_on(user, doc: Document) -> bool:
    """An author of the owning department of a document that is not withdrawn: they may
    start its next revision (``can_add_revision``), so they see it."""
    return (
        user.has_role("author")
        and user.department_id is not None
        and doc.department_id == user.department_id
        and doc.status != "obsolete"
    )


def _involved_in(user, revision: Revision) -> bool:
    return revision.author_id == user.id or any(p.user_id == user.id for p in revision.participants)


def _issued_to(user, revision: Revision) -> bool:
    """The revision was issued to ``user`` (a copy they hold, or a read-and-understood task)
    while it is approved or effective: they may read it, whatever its confidentiality, and
    before its effective date (so training can come first)."""
    if revision.status not in ("approved", "effective"):
        return False
    from app.distribution.services import issued_to  # the distribution feature builds on this one

    return issued_to(user, revision)


def can_view_document(user, doc: Document) -> bool:
    if not _signed_in(user):
        return False
    if sees_everything(user) or doc.created_by_id == user.id:
        return True
    if doc.status == "effective" and _confidentiality_allows(user, doc):
        return True
    if _acts_on(user, doc):
        return True
    return any(_involved_in(user, r) or _issued_to(user, r) for r in doc.revisions)


def can_view_revision(user, revision: Revision) -> bool:
    doc = revision.document
    if not can_view_document(user, doc):
        return False
    if sees_everything(user) or _involved_in(user, revision):
        return True
    if revision.status == "effective" and _confidentiality_allows(user, doc):
        return True
    if _issued_to(user, revision):
        return True
    if revision.status in IN_PROGRESS and _acts_on(user, doc):
        return True
    # whoever registered a document follows its drafts
    return doc.created_by_id == user.id and revision.status != "cancelled"


def visible_documents(user):
    """A WHERE clause for ``select(Document)`` matching ``can_view_document``."""
    if sees_everything(user):
        return true()
    # The documents of the revisions the user wrote or signs, as one uncorrelated IN list:
    # each half is an index lookup. (A correlated EXISTS with an OR inside made PostgreSQL
    # estimate a scan of every revision per document and switch on JIT compilation — three
    # times slower lists for staff; benchmarks/documents.py.)
    involved = Document.id.in_(
        select(Revision.document_id)
        .where(Revision.author_id == user.id)
        .union(
            select(Revision.document_id)
            .join(RevisionParticipant, RevisionParticipant.revision_id == Revision.id)
            .where(RevisionParticipant.user_id == user.id)
        )
    )
    clauses = [
        and_(
            Document.status == "effective",
            or_(
                Document.confidentiality != "confidential",
                Document.department_id == user.department_id,
            ),
        ),
        Document.created_by_id == user.id,
        involved,
        Document.id.in_(_issued_document_ids(user)),
    ]
    if user.has_role("author") and user.department_id is not None:
        clauses.append(
            and_(Document.department_id == user.department_id, Document.status != "obsolete")
        )
    return or_(*clauses)


def _issued_document_ids(user):
    """The documents of the approved or effective revisions issued to ``user`` (a live
    copy to them, their department or as custodian; a read-and-understood task), as a
    select of ids — ``_issued_to`` in SQL."""
    # The distribution feature builds on this one: its tables are named here, not imported
    # at module level (the import would be circular).
    from app.distribution.models import (
        LIVE_ACK_STATUSES,
        Acknowledgement,
        ControlledCopy,
        DistributionLine,
    )

    issued = ("approved", "effective")
    holder = [DistributionLine.user_id == user.id, DistributionLine.custodian_id == user.id]
    if user.department_id is not None:
        holder.append(DistributionLine.department_id == user.department_id)
    return (
        select(Revision.document_id)
        .join(Acknowledgement, Acknowledgement.revision_id == Revision.id)
        .where(
            Revision.status.in_(issued),
            Acknowledgement.user_id == user.id,
            Acknowledgement.status.in_((*LIVE_ACK_STATUSES, "done")),
        )
        .union(
            select(Revision.document_id)
            .join(ControlledCopy, ControlledCopy.revision_id == Revision.id)
            .join(DistributionLine, DistributionLine.id == ControlledCopy.line_id)
            .where(
                Revision.status.in_(issued),
                ControlledCopy.status.in_(("issued", "received")),
                or_(*holder),
            )
        )
    )


def can_create_document(user) -> bool:
    """Quality officers register documents; authors register those of their department."""
    return _signed_in(user) and user.has_role("officer", "author")


def can_create_in(user, department) -> bool:
    if not can_create_document(user):
        return False
    return user.has_role("officer") or department.id == user.department_id


def can_add_revision(user, doc: Document) -> bool:
    """Start a new revision: the officer, or an author of the owning department (or the
    author who registered the document)."""
    if not _signed_in(user) or doc.status == "obsolete":
        return False
    if user.has_role("officer"):
        return True
    return user.has_role("author") and (
        doc.department_id == user.department_id or doc.created_by_id == user.id
    )


def can_edit_revision(user, revision: Revision) -> bool:
    """Replace the file, submit or cancel a draft: its author or the officer. (Whether the
    revision is still a draft is the workflow's question: 409 from the service.)"""
    return _signed_in(user) and (revision.author_id == user.id or user.has_role("officer"))


def pending_task(user, revision: Revision) -> RevisionParticipant | None:
    """The unsigned review or approval this user owes on the revision, if any."""
    if not _signed_in(user) or revision.status != "in_review":
        return None
    return next(
        (p for p in revision.current_round() if p.user_id == user.id and p.decision is None),
        None,
    )


def can_manage_document(user, doc: Document | None = None) -> bool:
    """Withdraw a document, confirm its periodic review: the quality officer."""
    return _signed_in(user) and user.has_role("officer")


def can_manage_document_types(user) -> bool:
    """Document types and numbering schemes: the administrator."""
    return _signed_in(user) and user.has_role("admin")
