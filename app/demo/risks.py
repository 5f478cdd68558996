"""The demo risk-point register (data/risks.toml).

Everything goes through ``app.risks.services`` as the officer or a department head would
do it on the register's pages, on the days the data gives (so some reviews are due).
Documents are linked by their demo key when they exist (skipped quietly otherwise).
Idempotent: a risk point is looked up by its process and department.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.documents.models import Document, DocumentType
from app.extensions import add_months, local_today
from app.people.models import Department, User
from app.risks import services
from app.risks.models import RiskPoint


def _document_number(session: Session, spec) -> str | None:
    return session.scalar(
        select(Document.number)
        .join(DocumentType, Document.type_id == DocumentType.id)
        .where(
            DocumentType.code == spec.type_code,
            Document.title == spec.title,
            Document.status != "obsolete",
        )
        .order_by(Document.id)
    )


def seed(session: Session, *, today: date | None = None) -> list[str]:
    """Add whatever of the demo register is missing; return what was added. Needs the demo
    organisation; without it nothing is added."""
    today = today or local_today()
    depts = {d.code: d for d in session.scalars(select(Department))}
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    if "officer" not in users:
        return []
    specs = {d.key: d for d in loader.documents()}
    added: list[str] = []
    for entry in loader.risks()["risk"]:
        department = depts.get(entry["department"])
        if department is None:
            continue
        exists = session.scalar(
            select(RiskPoint.id).where(
                RiskPoint.process == entry["process"], RiskPoint.department_id == department.id
            )
        )
        if exists is not None:
            continue
        created = add_months(today, -entry.get("created_months_ago", 0))
        actor = users.get(entry.get("by", "officer"), users["officer"])
        risk = services.create_risk_point(
            session,
            actor,
            process=entry["process"],
            department=department,
            cause=entry["cause"],
            consequence=entry["consequence"],
            likelihood=entry["likelihood"],
            severity=entry["severity"],
            controls=entry["controls"],
            owner=users.get(entry["owner"], actor),
            review_date=add_months(created, entry.get("review_in_months", 12)),
            today=created,
        )
        for review in entry.get("reviews", []):
            day = add_months(today, -review["months_ago"])
            services.record_review(
                session,
                users.get(review["by"], actor),
                risk,
                notes=review["notes"],
                next_review_date=add_months(day, review.get("next_in_months", 12)),
                today=day,
            )
        for key in entry.get("links", []):
            number = _document_number(session, specs[key])
            if number is not None:
                services.link(session, actor, risk, f"document:{number}")
        added.append(f"risk point {risk.number} {risk.process}")
    return added
