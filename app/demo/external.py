"""The demo register of external documents (data/external.toml).

Everything goes through ``app.external.services`` as the officer would do it in the UI.
Entries are cited by the demo's internal documents when those exist (looked up by type and
title; skipped quietly otherwise). Idempotent: an entry is looked up by its reference, a
citation by its pair.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo import loader
from app.documents.models import Document, DocumentType
from app.extensions import add_months, local_today
from app.external import services
from app.external.models import ExternalDocument
from app.people.models import Department, User


def _by_reference(session: Session, reference: str) -> ExternalDocument | None:
    return session.scalar(
        select(ExternalDocument).where(
            func.lower(ExternalDocument.reference) == reference.lower(),
            ExternalDocument.status == "current",
        )
    )


def _register(session, officer, entry, depts, users, today: date) -> ExternalDocument:
    first, *later = entry["editions"]
    registered = add_months(today, -entry.get("registered_months_ago", 0))
    ext = services.register(
        session,
        officer,
        reference=first["reference"],
        title=entry["title"],
        publisher=entry["publisher"],
        kind=entry["kind"],
        department=depts.get(entry.get("department", "QA")),
        holder=users.get(entry.get("holder", "officer"), officer),
        location=entry["location"],
        check_interval_months=entry.get("check_interval_months", 12),
        edition=first["edition"],
        published_on=first["published"],
        effective_on=first.get("effective"),
        received_on=first["received"],
        today=registered,
    )
    for edition in later:
        services.record_edition(
            session,
            officer,
            ext,
            edition=edition["edition"],
            reference=edition["reference"],
            published_on=edition["published"],
            effective_on=edition.get("effective"),
            received_on=edition["received"],
            today=registered,
        )
    if "checked" in entry:
        services.record_currency_check(
            session,
            officer,
            ext,
            note=entry["checked"]["note"],
            today=add_months(today, -entry["checked"]["months_ago"]),
        )
    return ext


def seed(session: Session, *, today: date | None = None) -> list[str]:
    """Register whatever of the demo register is missing and add the missing citations;
    return what was added. Needs the demo organisation (the ``officer`` user and the QA
    department); without it nothing is added."""
    today = today or local_today()
    officer = session.scalar(select(User).where(User.username == "officer"))
    depts = {d.code: d for d in session.scalars(select(Department))}
    if officer is None or "QA" not in depts:
        return []
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    data = loader.external()
    added: list[str] = []
    for entry in data["entry"]:
        if _by_reference(session, entry["reference"]) is None:
            ext = _register(session, officer, entry, depts, users, today)
            added.append(f"external document {ext.number} {ext.reference}")
    specs = {d.key: d for d in loader.documents()}
    for citation in data["citation"]:
        spec = specs[citation["document"]]
        document = session.scalar(
            select(Document)
            .join(DocumentType, Document.type_id == DocumentType.id)
            .where(
                DocumentType.code == spec.type_code,
                Document.title == spec.title,
                Document.status != "obsolete",
            )
            .order_by(Document.id)
        )
        if document is None:
            continue
        cited = {e.id for e in services.cited_by_document(session, document)}
        for reference in citation["cites"]:
            ext = _by_reference(session, reference)
            if ext is not None and ext.id not in cited:
                services.cite(session, officer, ext, document.number)
                added.append(f"citation {document.number} → {ext.number}")
    return added
