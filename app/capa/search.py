"""Nonconformities in the search index (record builder, see app.search.registry).

One item per NC: its number, description, containment, root cause (the whys, the cause
categories' words, could it occur elsewhere), its actions with their evidence and its
amendments. Scoped as ``permissions.can_view_nc`` (``index_scope``): its department,
reporter, department head and action owners; officers, auditors and administrators
search everything. A closed or rejected NC is live too: looking up what happened before
is the point of "similar NCs". A number typed as ``2026-7`` or ``NC-2026-0007`` opens
the NC (``exact``).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.capa.models import (
    CAUSE_CATEGORIES,
    SOURCES,
    STATUSES,
    NcAction,
    NcAmendment,
    Nonconformity,
)
from app.capa.permissions import can_view_nc, index_scope
from app.capa.services import normalise_number
from app.errors import N_
from app.i18n import translate
from app.search import registry

BATCH = 500


def _both(label: str) -> str:
    """A label in both languages, so 人员 and "people" both find the NC."""
    with force_locale("zh_CN"):
        return f"{label} {gettext(label)}"


def load(session: Session, ids: list[int]) -> dict[int, dict | None]:
    ncs = session.scalars(
        select(Nonconformity)
        .where(Nonconformity.id.in_(ids))
        .options(
            selectinload(Nonconformity.actions),
            selectinload(Nonconformity.amendments),
            selectinload(Nonconformity.department),
        )
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for nc in ncs:
        cause = [
            *nc.whys,
            *(_both(CAUSE_CATEGORIES[c]) for c in nc.categories),
            nc.similar_elsewhere or "",
        ]
        actions = [f"{a.text} {a.evidence or ''}" for a in nc.actions]
        amendments = [f"{a.text} {a.reason}" for a in nc.amendments]
        out[nc.id] = {
            "number": nc.number,
            "title": nc.description[:200],
            "body": "\n".join(
                x
                for x in (nc.description, nc.containment or "", *cause, *actions, *amendments)
                if x
            ),
            "type": nc.source,
            "department": nc.department.code,
            "status": nc.status,
            "year": str(nc.year),
            "date": nc.reported_at.replace(tzinfo=None),
            "label": "",
            "url": f"/nonconformities/{nc.number}",
            "live": True,
            "scope": index_scope(nc),
        }
    return out


def all_ids(session: Session) -> Iterator[list[int]]:
    return registry.batched_ids(session, select(Nonconformity.id), Nonconformity.id, BATCH)


def count(session: Session) -> int:
    return session.scalar(select(func.count(Nonconformity.id)))


def exact(session: Session, user, text: str) -> str | None:
    """A typed NC number, with or without ``NC-`` and leading zeros, opens the NC."""
    number = normalise_number(text)
    if not number.startswith("NC-"):
        return None
    nc = session.scalar(select(Nonconformity).where(Nonconformity.number == number))
    if nc is None or not can_view_nc(user, nc):
        return None
    return f"/nonconformities/{nc.number}"


registry.register(
    registry.Builder(
        kind="nonconformity",
        load=load,
        all_ids=all_ids,
        count=count,
        watch={
            Nonconformity: lambda nc: [("nonconformity", nc.id)],
            NcAction: lambda a: [("nonconformity", a.nc_id)],
            NcAmendment: lambda a: [("nonconformity", a.nc_id)],
        },
        title=N_("Nonconformities"),
        statuses=STATUSES,
        type_labels=lambda session, language: {k: translate(v) for k, v in SOURCES.items()},
        exact=exact,
    )
)
