"""Read-only questions other features ask of the documents feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.models import Document
from app.people.models import Department


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
