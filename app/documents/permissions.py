"""Who may see and do what with controlled documents.

Named predicates used by views, templates (to hide buttons), the API and, through
``visible_documents``, every list and search filter — so a list never shows a document
its reader could not open.

The rules (docs/adr/0019-who-sees-what.md):

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
- A feature built on this one may grant reading an approved or effective revision (and
  so its document) whatever its confidentiality: distribution grants it to whoever the
  revision was issued to (a copy they hold, or a read-and-understood task). It registers
  a :class:`Grant` here at import, so this module never imports it.

``can_view_document`` (the predicate), ``visible_documents`` (the SQL filter of every
list) and ``index_scopes`` (the search index's scope terms, used by
``app/documents/search.py``) state the same rule, side by side, and each grant states its
part the same three ways; tests/test_document_visibility.py checks that they agree on
generated cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from app.documents.models import Document, Revision, RevisionParticipant
from app.security import sees_everything, signed_in

# Revisions a department's authors see while they are being worked on.
IN_PROGRESS = ("draft", "in_review", "approved")
# Revisions a grant may open to a reader (issued: approved ones before their effective
# date, so that training can come first).
GRANTABLE = ("approved", "effective")


@dataclass(frozen=True)
class Grant:
    """Reading that a later feature grants on revisions, stated three ways that agree:

    - ``allows(user, revision)``: the predicate (asked only for a grantable revision);
    - ``document_ids(user)``: a select of the ids of the documents having a grantable
      revision the grant allows ``user`` to read (``allows`` in SQL, for every list);
    - ``scopes(session, revision_ids)``: ``{revision id: index scope terms}`` of whom the
      grant lets read each revision (``user:<id>``, ``dept:<id>``; for the search index).
    """

    allows: Callable[[object, Revision], bool]
    document_ids: Callable[[object], object]
    scopes: Callable[[Session, list[int]], dict[int, set[str]]]


_GRANTS: dict[str, Grant] = {}


def register_grant(name: str, grant: Grant) -> None:
    """Add a feature's grant (at its import; registering a name again replaces it)."""
    _GRANTS[name] = grant


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


def _granted(user, revision: Revision) -> bool:
    """A later feature lets ``user`` read the approved or effective ``revision`` (it was
    issued to them), whatever its confidentiality and before its effective date."""
    if revision.status not in GRANTABLE:
        return False
    return any(grant.allows(user, revision) for grant in _GRANTS.values())


def can_view_document(user, doc: Document) -> bool:
    if not signed_in(user):
        return False
    if sees_everything(user) or doc.created_by_id == user.id:
        return True
    if doc.status == "effective" and _confidentiality_allows(user, doc):
        return True
    if _acts_on(user, doc):
        return True
    return any(_involved_in(user, r) or _granted(user, r) for r in doc.revisions)


def can_view_revision(user, revision: Revision) -> bool:
    doc = revision.document
    if not can_view_document(user, doc):
        return False
    if sees_everything(user) or _involved_in(user, revision):
        return True
    if revision.status == "effective" and _confidentiality_allows(user, doc):
        return True
    if _granted(user, revision):
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
        *(Document.id.in_(grant.document_ids(user)) for grant in _GRANTS.values()),
    ]
    if user.has_role("author") and user.department_id is not None:
        clauses.append(
            and_(Document.department_id == user.department_id, Document.status != "obsolete")
        )
    return or_(*clauses)


def index_scopes(session: Session, revisions: list[Revision]) -> dict[int, list[str]]:
    """The search index's ``scope`` terms of each revision (``can_view_revision`` for an
    effective revision, as terms the search filters on before it pages; a reader's own
    terms: ``app.search.services.scopes_for``). ``all`` for an internal document; for a
    confidential one its department, the people working on the revision, who registered
    the document, and whom a grant lets read it. Needs ``document`` and ``participants``
    loaded."""
    confidential = [r.id for r in revisions if r.document.confidentiality == "confidential"]
    granted: dict[int, set[str]] = defaultdict(set)
    if confidential:
        for grant in _GRANTS.values():
            for revision_id, terms in grant.scopes(session, confidential).items():
                granted[revision_id].update(terms)
    scopes = {}
    for r in revisions:
        doc = r.document
        if doc.confidentiality != "confidential":
            scopes[r.id] = ["all"]
            continue
        scope = {f"dept:{doc.department_id}", f"user:{r.author_id}", *granted[r.id]}
        scope.update(f"user:{p.user_id}" for p in r.participants)
        if doc.created_by_id:
            scope.add(f"user:{doc.created_by_id}")
        scopes[r.id] = sorted(scope)
    return scopes


def can_create_document(user) -> bool:
    """Quality officers register documents; authors register those of their department."""
    return signed_in(user) and user.has_role("officer", "author")


def can_create_in(user, department) -> bool:
    if not can_create_document(user):
        return False
    return user.has_role("officer") or department.id == user.department_id


def can_add_revision(user, doc: Document) -> bool:
    """Start a new revision: the officer, or an author of the owning department (or the
    author who registered the document)."""
    if not signed_in(user) or doc.status == "obsolete":
        return False
    if user.has_role("officer"):
        return True
    return user.has_role("author") and (
        doc.department_id == user.department_id or doc.created_by_id == user.id
    )


def can_edit_revision(user, revision: Revision) -> bool:
    """Replace the file, submit or cancel a draft: its author or the officer. (Whether the
    revision is still a draft is the workflow's question: 409 from the service.)"""
    return signed_in(user) and (revision.author_id == user.id or user.has_role("officer"))


def pending_task(user, revision: Revision) -> RevisionParticipant | None:
    """The unsigned review or approval this user owes on the revision, if any."""
    if not signed_in(user) or revision.status != "in_review":
        return None
    return next(
        (p for p in revision.current_round() if p.user_id == user.id and p.decision is None),
        None,
    )


def can_sign_revision(user, revision: Revision) -> bool:
    """Review, approve or reject a revision in review: the people asked to sign its
    current round (checked before the form, so that anyone else gets 403, not the form's
    400). Of a revision not in review, the workflow answers: 409."""
    if not signed_in(user):
        return False
    if revision.status != "in_review":
        return True
    return any(p.user_id == user.id for p in revision.current_round())


def can_manage_document(user, doc: Document | None = None) -> bool:
    """Withdraw a document, confirm its periodic review: the quality officer."""
    return signed_in(user) and user.has_role("officer")


def can_manage_document_types(user) -> bool:
    """Document types and numbering schemes: the administrator."""
    return signed_in(user) and user.has_role("admin")
