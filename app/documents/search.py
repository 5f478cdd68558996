"""Revisions in the search index (record builder, see app.search.registry).

One index item per released revision (effective, superseded or obsolete): its document's
number and title, the revision's extracted text, type, department, status and year.
Drafts, revisions in review and approved revisions not yet effective are work in progress,
not in the search (their authors, reviewers and approvers reach them through the document
and their tasks; docs/DECISIONS.md "Chinese recall, history, kinds"). Who may find it:

- ``live`` when the revision is the effective one: what everybody searches by default;
  superseded and obsolete revisions are ``history``, found only with ``include_history``,
  which only officers, auditors and administrators (who see every revision) may ask for.
- ``scope``: ``all``, or for a confidential document its own department plus those it was
  issued to (departments and people holding a live copy, people with a read-and-understood
  task) and the people working on it — ``permissions.can_view_revision`` for an effective
  revision, expressed as index terms so the search filters before it pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session, selectinload

from app.distribution.models import Acknowledgement, ControlledCopy, DistributionLine
from app.documents.models import Document, Revision, RevisionParticipant
from app.errors import N_
from app.extensions import local_date
from app.search import registry

BATCH = 500


RELEASED = ("effective", "superseded", "obsolete")


def _indexed():
    return select(Revision.id).where(Revision.status.in_(RELEASED), Revision.destroyed_at.is_(None))


def _issued_scopes(session: Session, revision_ids: list[int]) -> dict[int, set[str]]:
    """Who a confidential revision was issued to, as scope terms."""
    scopes: dict[int, set[str]] = defaultdict(set)
    if not revision_ids:
        return scopes
    lines = session.execute(
        select(
            ControlledCopy.revision_id,
            DistributionLine.department_id,
            DistributionLine.user_id,
            DistributionLine.custodian_id,
        )
        .join(ControlledCopy.line)
        .where(
            ControlledCopy.revision_id.in_(revision_ids),
            ControlledCopy.status.in_(("issued", "received")),
        )
    )
    for revision_id, department_id, user_id, custodian_id in lines:
        if department_id:
            scopes[revision_id].add(f"dept:{department_id}")
        for person in (user_id, custodian_id):
            if person:
                scopes[revision_id].add(f"user:{person}")
    tasks = session.execute(
        select(Acknowledgement.revision_id, Acknowledgement.user_id).where(
            Acknowledgement.revision_id.in_(revision_ids),
            Acknowledgement.status.in_(("open", "overdue", "done")),
        )
    )
    for revision_id, user_id in tasks:
        scopes[revision_id].add(f"user:{user_id}")
    return scopes


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
    confidential = [r.id for r in revisions if r.document.confidentiality == "confidential"]
    issued = _issued_scopes(session, confidential)
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for r in revisions:
        if r.status not in RELEASED or r.destroyed_at is not None:
            continue  # None: not in the index (or removed from it)
        doc = r.document
        if doc.confidentiality == "confidential":
            scope = {f"dept:{doc.department_id}", f"user:{r.author_id}", *issued[r.id]}
            scope.update(f"user:{p.user_id}" for p in r.participants)
            if doc.created_by_id:
                scope.add(f"user:{doc.created_by_id}")
        else:
            scope = {"all"}
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
            "scope": sorted(scope),
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, _indexed(), Revision.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_indexed().subquery()))


def _family(session: Session, document_ids: list[int]) -> list[int]:
    return list(session.scalars(select(Revision.id).where(Revision.document_id.in_(document_ids))))


def _new(obj) -> bool:
    session = object_session(obj)
    return session is not None and obj in session.new


registry.register(
    registry.Builder(
        kind="document",
        label=N_("Controlled documents"),
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            Revision: lambda r: [("document", r.id)],
            # number, title, department, confidentiality: every revision of the document
            Document: lambda d: [("document.family", d.id)],
            RevisionParticipant: lambda p: [("document", p.revision_id)],
            ControlledCopy: lambda c: [("document", c.revision_id)],
            # a new task widens a confidential revision's scope; signing it changes nothing
            Acknowledgement: lambda a: [("document", a.revision_id)] if _new(a) else [],
        },
        expands={"document.family": _family},
    )
)
