"""Read-only questions other features ask of the documents feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.models import Document, Revision


@dataclass(frozen=True)
class DocumentFigures:
    """Document control over a period (the management review's document-control input)."""

    revisions_issued: int  # revisions that became effective in the period
    by_change_type: dict[str, int]
    effective_documents: int  # documents in force at the time of asking
    overdue_reviews: int  # of those, periodic review due before the period's end


def document_figures(session: Session, start: date, end: date) -> DocumentFigures:
    lo = datetime.combine(start, time.min, tzinfo=timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
    by_change = dict(
        session.execute(
            select(Revision.change_type, func.count())
            .where(Revision.effective_at >= lo, Revision.effective_at < hi)
            .group_by(Revision.change_type)
        ).all()
    )
    effective = session.scalar(
        select(func.count()).select_from(Document).where(Document.status == "effective")
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.status == "effective", Document.review_due_date < end)
    )
    return DocumentFigures(
        revisions_issued=sum(by_change.values()),
        by_change_type=by_change,
        effective_documents=effective or 0,
        overdue_reviews=overdue or 0,
    )
