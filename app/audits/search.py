"""Audits and their findings in the search index (record builders, see app.search.registry).

An audit: its number, title, objectives, scope, conclusions and the evidence written on
its checklist. A finding: its label (``AUD-2026-001-F01``), statement, evidence and the
auditee's response. Both scoped as ``permissions.can_view_audit`` (``index_scope``): the
team, the audited departments and their heads; officers, auditors and administrators
search everything. A number typed as ``2026-1`` or ``AUD-2026-001`` opens the audit.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.audits.models import (
    FINDING_STATUSES,
    STATUSES,
    TYPES,
    VERDICTS,
    Audit,
    ChecklistItem,
    Finding,
    normalise_number,
)
from app.audits.permissions import can_view_audit, index_scope
from app.errors import N_
from app.i18n import translate
from app.search import registry

BATCH = 200


def _start(a: Audit):
    return a.created_at.replace(tzinfo=None)


def load_audits(session: Session, ids: list[int]) -> dict[int, dict | None]:
    audits = session.scalars(
        select(Audit)
        .where(Audit.id.in_(ids))
        .options(
            selectinload(Audit.items),
            selectinload(Audit.departments),
            selectinload(Audit.team),
        )
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for a in audits:
        evidence = [i.evidence for i in a.items if i.evidence]
        out[a.id] = {
            "number": a.number,
            "title": a.title[:200],
            "body": "\n".join(
                x for x in (a.title, a.objectives, a.scope, a.conclusions or "", *evidence) if x
            ),
            "type": a.type,
            "department": a.departments[0].code if a.departments else "",
            "status": a.status,
            "year": str(a.year),
            "date": _start(a),
            "label": "",
            "url": f"/audits/{a.number}",
            "live": True,
            "scope": index_scope(a),
        }
    return out


def load_findings(session: Session, ids: list[int]) -> dict[int, dict | None]:
    findings = session.scalars(
        select(Finding)
        .where(Finding.id.in_(ids))
        .options(selectinload(Finding.audit).selectinload(Audit.departments))
    ).all()
    out: dict[int, dict | None] = dict.fromkeys(ids)
    for f in findings:
        a = f.audit
        out[f.id] = {
            "number": f.label,
            "title": f.statement[:200],
            "body": "\n".join(
                x for x in (f.statement, f.evidence or "", f.response_reason or "") if x
            ),
            "type": f.grade,
            "department": f.department.code,
            "status": f.status,
            "year": str(a.year),
            "date": f.raised_at.replace(tzinfo=None),
            "label": "",
            "url": f"/audits/{a.number}#finding-{f.id}",
            "live": True,
            "scope": index_scope(a),
        }
    return out


def exact(session: Session, user, text: str) -> str | None:
    """A typed audit number, with or without ``AUD-`` and leading zeros, opens it."""
    number = normalise_number(text)
    if not number.startswith("AUD-"):
        return None
    a = session.scalar(select(Audit).where(Audit.number == number))
    if a is None or not can_view_audit(user, a):
        return None
    return f"/audits/{a.number}"


registry.register(
    registry.Builder(
        kind="audit",
        load=load_audits,
        all_ids=lambda s: registry.batched_ids(s, select(Audit.id), Audit.id, BATCH),
        count=lambda s: s.scalar(select(func.count(Audit.id))),
        watch={
            Audit: lambda a: [("audit", a.id)],
            ChecklistItem: lambda i: [("audit", i.audit_id)],
        },
        title=N_("Audits"),
        statuses=STATUSES,
        type_labels=lambda session, language: {k: translate(v) for k, v in TYPES.items()},
        exact=exact,
    )
)
registry.register(
    registry.Builder(
        kind="finding",
        load=load_findings,
        all_ids=lambda s: registry.batched_ids(s, select(Finding.id), Finding.id, BATCH),
        count=lambda s: s.scalar(select(func.count(Finding.id))),
        watch={Finding: lambda f: [("finding", f.id)]},
        title=N_("Audit findings"),
        statuses=FINDING_STATUSES,
        type_labels=lambda session, language: {k: translate(v) for k, v in VERDICTS.items()},
    )
)
