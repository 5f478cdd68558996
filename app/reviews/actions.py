"""The review's outputs in the shared "My actions" list: a source registered with
``app.capa.action_sources`` (capa is below reviews and knows nothing of them)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.capa import action_sources
from app.errors import N_
from app.reviews import services
from app.reviews.models import CATEGORIES


def _rows(session: Session, owner, status: str, today: date) -> list[action_sources.ActionRow]:
    return [
        action_sources.ActionRow(
            source="management_review",
            id=d.id,
            reference=d.label,
            type=d.category,
            type_label=CATEGORIES[d.category],
            text=d.text,
            owner=owner.username,
            due_date=d.due_date,
            status=d.status,
            overdue=d.is_overdue(today),
            evidence=d.evidence,
            done_by=d.done_by.username if d.done_by else None,
            done_at=d.done_at,
            endpoint="reviews.detail",
            endpoint_args={"number": d.review.number},
            done_endpoint="reviews.action_done",
            done_args={"decision_id": d.id},
        )
        for d in session.scalars(services.actions_stmt(owner, status=status, today=today))
    ]


SOURCE = action_sources.ActionSource(
    name="management_review", label=N_("Management review"), rows=_rows
)


def register() -> None:
    action_sources.register(SOURCE)
