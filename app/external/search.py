"""External documents in the search index (record builder, see app.search.registry).

One item per register entry: its number and designation (``EXT-0007 GB/T 19001-2016``:
both found whole and in part), title, publisher and its editions. Everyone signed in may
read the register (``permissions.can_view_external``), so the scope is ``all``; a
withdrawn entry is history (found with ``include_history``). Its superseded editions are
part of the entry (an old reference finds the entry, whose page shows which edition is
current).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.errors import N_
from app.external.models import KINDS, STATUSES, ExternalDocument, ExternalEdition
from app.i18n import translate
from app.search import registry

BATCH = 500


def load(session: Session, ids: list[int]) -> dict[int, dict | None]:
    entries = session.scalars(
        select(ExternalDocument)
        .where(ExternalDocument.id.in_(ids))
        .options(selectinload(ExternalDocument.editions), selectinload(ExternalDocument.department))
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for e in entries:
        editions = [
            " ".join(x for x in (ed.reference, ed.edition, ed.note or "") if x) for ed in e.editions
        ]
        current = e.current_edition
        out[e.id] = {
            "number": f"{e.number} {e.reference}",
            "title": e.title,
            "body": "\n".join([e.publisher, e.location or "", *editions]),
            "type": e.kind,
            "department": e.department.code,
            "status": e.status,
            "year": str(
                (current.published_on.year if current and current.published_on else None)
                or e.created_at.year
            ),
            "date": e.created_at.replace(tzinfo=None),
            "label": current.edition if current else "",
            "url": f"/external/{e.number}",
            "live": e.status == "current",
            "history": e.status != "current",
            "scope": ["all"],
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, select(ExternalDocument.id), ExternalDocument.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count(ExternalDocument.id)))


registry.register(
    registry.Builder(
        kind="external",
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            ExternalDocument: lambda e: [("external", e.id)],
            ExternalEdition: lambda ed: [("external", ed.external_document_id)],
        },
        title=N_("External documents"),
        statuses=STATUSES,
        # the kinds of external document are the type facet's values
        type_labels=lambda session, language: {k: translate(v) for k, v in KINDS.items()},
    )
)
