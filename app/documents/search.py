"""Revisions in the search index (record builder, see app.search.registry).

One index item per released revision (effective, superseded or obsolete): its document's
number and title, the revision's extracted text, type, department, status and year.
Drafts, revisions in review and approved revisions not yet effective are work in progress,
not in the search (their authors, reviewers and approvers reach them through the document
and their tasks; docs/adr/0027-search-engine-and-index-sync.md). Who may find it:

- ``live`` when the revision is the effective one: what everybody searches by default;
  superseded and obsolete revisions are ``history``, found only with ``include_history``,
  which only officers, auditors and administrators (who see every revision) may ask for.
- ``scope``: ``permissions.index_scopes`` — ``all``, or for a confidential document its
  own department, the people working on it and those a later feature grants it to
  (distribution: whoever it was issued to; distribution also watches its copies and
  tasks) — ``permissions.can_view_revision`` for an effective revision, expressed as
  index terms so the search filters before it pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.documents.models import (
    REVISION_STATUSES,
    Document,
    DocumentType,
    Revision,
    RevisionParticipant,
)
from app.documents.permissions import can_view_document, index_scopes
from app.errors import N_
from app.extensions import local_date
from app.names import in_language
from app.search import registry

BATCH = 500


RELEASED = ("effective", "superseded", "obsolete")


def _indexed():
    return select(Revision.id).where(Revision.status.in_(RELEASED), Revision.destroyed_at.is_(None))


def load(session: Session, ids: list[int]) -> dict[int, dict | None]:
    revisions = session.scalars(
        select(Revision)
        .where(Revision.id.in_(ids))
        .options(
            selectinload(Revision.document).selectinload(Document.type),
            selectinload(Revision.document).selectinload(Document.department),
            selectinload(Revision.participants),
        )
    ).all()
    scopes = index_scopes(session, revisions)
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for r in revisions:
        if r.status not in RELEASED or r.destroyed_at is not None:
            continue  # None: not in the index (or removed from it)
        doc = r.document
        when = r.effective_at or r.approved_at or r.created_at
        out[r.id] = {
            "number": doc.number,
            # the English title on a second line: found by either (app.search.query._hit)
            "title": f"{doc.title}\n{doc.title_en}" if doc.title_en else doc.title,
            "body": r.text or "",
            "type": doc.type.code,
            "department": doc.department.code,
            "status": r.status,
            "year": str((r.effective_date or local_date(when)).year),
            "date": when.replace(tzinfo=None),
            "label": r.label,
            "url": f"/documents/{doc.number}/revisions/{r.path_label}",
            "live": r.status == "effective",
            "history": r.status != "effective",
            "scope": scopes[r.id],
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, _indexed(), Revision.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_indexed().subquery()))


def _family(session: Session, document_ids: list[int]) -> list[int]:
    return list(session.scalars(select(Revision.id).where(Revision.document_id.in_(document_ids))))


def _type_labels(session: Session, language: str) -> dict[str, str]:
    # DocumentType.name_in on the columns: the search page asks on every request
    rows = session.execute(select(DocumentType.code, DocumentType.name, DocumentType.name_en))
    return {code: in_language(name, en, language) for code, name, en in rows}


_NUMBER_ONLY = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){1,5}$")


def exact(session: Session, user, text: str) -> str | None:
    """The page of the document whose number is exactly ``text`` (any case), if ``user``
    may open it: a number typed into the search box goes straight to the document."""
    text = (text or "").strip()
    if not _NUMBER_ONLY.match(text):
        return None
    doc = session.scalar(select(Document).where(func.upper(Document.number) == text.upper()))
    if doc is None or not can_view_document(user, doc):
        return None
    return f"/documents/{doc.number}"


registry.register(
    registry.Builder(
        kind="document",
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            Revision: lambda r: [("document", r.id)],
            # number, title, department, confidentiality: every revision of the document
            Document: lambda d: [("document.family", d.id)],
            RevisionParticipant: lambda p: [("document", p.revision_id)],
        },
        expands={"document.family": _family},
        title=N_("Controlled documents"),
        statuses=REVISION_STATUSES,
        type_labels=_type_labels,
        exact=exact,
    )
)
