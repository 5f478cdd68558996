"""The audit report (ISO 19011 6.5.1) as a bilingual PDF: plain data built here, laid out
by templates/pdf/audit_report.html through app.pdf. Flask-side (translations, send_file).

Every heading and label is given in Chinese and English (the report goes to the auditee
and to the certification body); the texts people wrote are shown as written.
"""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_babel import force_locale, gettext

from app import pdf
from app.audits.models import FINDING_STATUSES, TYPES, VERDICTS, Audit
from app.errors import N_
from app.extensions import utcnow
from app.i18n import localtime
from app.tables import page_of_css

HEADINGS = {
    "title": N_("Internal audit report"),
    "objectives": N_("Audit objectives"),
    "scope": N_("Audit scope"),
    "auditee": N_("Auditee"),
    "client": N_("Audit client"),
    "team": N_("Audit team and participants"),
    "dates": N_("Dates and places"),
    "criteria": N_("Audit criteria"),
    "findings": N_("Audit findings and evidence"),
    "conclusions": N_("Audit conclusions"),
    "conformity": N_("Degree of conformity per clause"),
    "diverging": N_("Unresolved diverging opinions"),
    "sampling": N_("Sampling statement"),
    "signature": N_("Signature"),
    "lead": N_("Lead auditor"),
    "members": N_("Team members"),
    "none": N_("None"),
    "not_signed": N_("Not signed yet"),
    "clause": N_("Clause"),
    "verdict": N_("Verdict"),
    "evidence": N_("Evidence"),
    "finding": N_("Finding"),
    "nc": N_("Nonconformity"),
    "response": N_("Auditee response"),
    "items": N_("Items"),
    "signed_by": N_("Signed by"),
    "signed_at": N_("Signed at"),
    "meaning": N_("Meaning"),
    "audit_report_signed": N_("Audit report signed"),
    "sampling_text": N_(
        "An audit examines a sample of the available information within a limited time; "
        "a nonconformity may therefore exist that was not found, and the conclusions rest "
        "on the evidence sampled."
    ),
    "planned": N_("Planned"),
    "performed": N_("Performed"),
    "quality_officer": N_("Quality officer"),
}


def _both(msgid: str) -> dict:
    with force_locale("zh_CN"):
        zh = gettext(msgid)
    with force_locale("en"):
        en = gettext(msgid)
    return {"zh": zh, "en": en}


def report_data(a: Audit) -> dict:
    """The report's content as plain data (dicts and strings)."""
    h = {key: _both(msgid) for key, msgid in HEADINGS.items()}
    verdicts = {k: _both(v) for k, v in VERDICTS.items()}
    statuses = {k: _both(v) for k, v in FINDING_STATUSES.items()}
    per_clause: dict[str, dict] = {}
    for item in a.items:
        row = per_clause.setdefault(item.clause, {"clause": item.clause, "counts": {}})
        key = item.verdict or "open"
        row["counts"][key] = row["counts"].get(key, 0) + 1
    conformity = []
    for row in per_clause.values():
        total = sum(row["counts"].values())
        ok = row["counts"].get("conforming", 0) + row["counts"].get("na", 0)
        conformity.append(
            {
                "clause": row["clause"],
                "total": total,
                "conforming": ok,
                "percent": round(100 * ok / total) if total else 0,
                "counts": [(verdicts[k], n) for k, n in row["counts"].items() if k in verdicts],
            }
        )
    sig = a.report_signature
    return {
        "h": h,
        "number": a.number,
        "title": a.title,
        "type": _both(TYPES[a.type]),
        "objectives": a.objectives,
        "scope": a.scope,
        "client": a.client,
        "places": a.places,
        "departments": [
            {"code": d.code, "zh": d.name, "en": d.name_en or d.name} for d in a.departments
        ],
        "heads": [d.head.full_name for d in a.departments if d.head],
        "lead": a.lead_auditor.full_name,
        "team": [u.full_name for u in a.team],
        "planned": f"{a.planned_start.isoformat()} – {a.planned_end.isoformat()}",
        "performed": (
            f"{localtime(a.started_at)} – {localtime(a.ended_at)}" if a.started_at else ""
        ),
        "criteria": [
            {"code": c.code, "zh": c.title_zh, "en": c.title_en, "standard": c.standard}
            for c in a.criteria
        ],
        "findings": [
            {
                "label": f.label,
                "grade": verdicts[f.grade],
                "clause": f.clause,
                "statement": f.statement,
                "evidence": f.evidence or "",
                "nc": f.nc.number if f.nc else "",
                "status": statuses[f.status],
                "reason": f.response_reason or "",
            }
            for f in a.findings
        ],
        "diverging": [
            {"label": f.label, "reason": f.response_reason or ""}
            for f in a.findings
            if f.status == "disputed"
        ],
        "conclusions": a.conclusions or "",
        "conformity": conformity,
        "items": len(a.items),
        "signature": (
            {
                "name": sig.printed_name,
                "username": sig.username,
                "at": localtime(sig.signed_at),
                "sha256": sig.content_sha256,
            }
            if sig
            else None
        ),
    }


def render_report(a: Audit) -> bytes:
    data = report_data(a)
    now = utcnow()
    meta = {
        "language": "zh_CN",
        "title": f"{a.number} {a.title}",
        "author": current_app.config["QDMS_ORGANISATION"],
        "subject": data["h"]["title"]["en"],
        "created": now,
    }
    with force_locale("zh_CN"):
        page_of = page_of_css()
    return pdf.render_pdf(
        "audit_report.html",
        {
            "meta": meta,
            "r": data,
            "organisation": current_app.config["QDMS_ORGANISATION"],
            "page_of": page_of,
            "generated_at": now,
        },
    ).data


def report_response(a: Audit):
    return send_file(
        io.BytesIO(render_report(a)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{a.number}-report.pdf",
    )
