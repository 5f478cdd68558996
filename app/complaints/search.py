"""Complaint cases in the search index (record builder, see app.search.registry).

One item per case: its number, category, service site, the commitment concerned, what the
customer asks for and the notes of its recovery steps. The customer's name and contact are
personal data (``permissions.can_see_personal_data``) and are **not indexed at all**: no
snippet, facet or suggestion can show them to anyone, whatever the reader's scope. The
rest of a case is read by everyone signed in (``permissions.can_view_complaint``), so its
scope is ``all``. A number typed as ``2026-7`` or ``CMP-2026-00007`` opens the case.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.complaints.models import (
    STATUSES,
    Complaint,
    ComplaintCategory,
    ComplaintStep,
    normalise_number,
)
from app.complaints.permissions import can_view_complaint
from app.errors import N_
from app.search import registry

BATCH = 500


def load(session: Session, ids: list[int]) -> dict[int, dict | None]:
    cases = session.scalars(
        select(Complaint)
        .where(Complaint.id.in_(ids))
        .options(
            selectinload(Complaint.steps),
            selectinload(Complaint.category),
            selectinload(Complaint.department),
        )
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for c in cases:
        notes = [s.note for s in c.steps if s.note]
        out[c.id] = {
            "number": c.number,
            "title": f"{c.category.name_zh} {c.request}"[:200],
            "body": "\n".join(
                x
                for x in (
                    c.request,
                    c.category.name_zh,
                    c.category.name_en,
                    c.site,
                    c.commitment,
                    *notes,
                    c.close_reason or "",
                )
                if x
            ),
            "type": c.category.code,
            "department": c.department.code,
            "status": c.status,
            "year": str(c.year),
            "date": c.received_at.replace(tzinfo=None),
            "label": "",
            "url": f"/complaints/{c.number}",
            "live": True,
            "scope": ["all"],
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, select(Complaint.id), Complaint.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count(Complaint.id)))


def exact(session: Session, user, text: str) -> str | None:
    """A typed case number, with or without ``CMP-`` and leading zeros, opens the case."""
    number = normalise_number(text)
    if not number.startswith("CMP-"):
        return None
    found = session.scalar(select(Complaint.number).where(Complaint.number == number))
    if found is None or not can_view_complaint(user):
        return None
    return f"/complaints/{found}"


def _type_labels(session: Session, language: str) -> dict[str, str]:
    return {
        code: (en if language.startswith("en") else zh)
        for code, zh, en in session.execute(
            select(ComplaintCategory.code, ComplaintCategory.name_zh, ComplaintCategory.name_en)
        )
    }


registry.register(
    registry.Builder(
        kind="complaint",
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            Complaint: lambda c: [("complaint", c.id)],
            ComplaintStep: lambda s: [("complaint", s.complaint_id)],
        },
        title=N_("Customer complaints"),
        statuses=STATUSES,
        type_labels=_type_labels,
        exact=exact,
    )
)
