"""Read-only questions other features ask of the documents feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.models import Document, Revision
from app.extensions import local_day_start
from app.people.models import Department


@dataclass(frozen=True)
class DocumentFigures:
    """Document control over a period (the management review's document-control input)."""

    revisions_issued: int  # revisions that became effective in the period
    by_change_type: dict[str, int]
    effective_documents: int  # documents in force at the time of asking
    overdue_reviews: int  # of those, periodic review due before the period's end


def document_figures(session: Session, start: date, end: date) -> DocumentFigures:
    lo = local_day_start(start)
    hi = local_day_start(end + timedelta(days=1))
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


def overdue_review_count(session: Session, at: date, *, department: str | None = None) -> int:
    """Documents in force whose periodic review was due before ``at`` and is not yet
    confirmed (a snapshot of today's register: the review date moves when confirmed)."""
    stmt = select(func.count(Document.id)).where(
        Document.status == "effective", Document.review_due_date < at
    )
    if department is not None:
        stmt = stmt.join(Department, Department.id == Document.department_id).where(
            Department.code == department
        )
    return session.scalar(stmt) or 0
