"""The management review report as a PDF (through app.pdf) and its figures as an .xlsx.
Flask-side (templates, translations, send_file).

Before the minutes are approved the report is drawn on request in the reader's language
(a working copy). When the chair approves, ``keep`` draws it once in the chair's language
(else QDMS_DEFAULT_LANGUAGE), writes it to docs_store (content-addressed, SHA-256),
notes the hash on the review and audits it: from then on the report is that record,
served as stored and verified on read; an amendment keeps a new one (docs/adr/0048).
"""

from __future__ import annotations

import hashlib
import io
import json

from flask import current_app, send_file
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from app import pdf
from app.audit_trail import services as audit
from app.extensions import utcnow
from app.i18n import current_language, localtime
from app.memo import Recent
from app.reviews import display
from app.reviews.models import CATEGORIES, STATUSES, ManagementReview
from app.storage import get_store, store_bytes
from app.tables import Table, page_of_css, send_table


def report_data(r: ManagementReview) -> dict:
    """The report's content as plain data, in the current language."""
    sig = r.minutes_signature
    snap = r.snapshot
    narratives = r.narratives
    return {
        "number": r.number,
        "period": f"{r.period_start.isoformat()} – {r.period_end.isoformat()}",
        "previous_period": " – ".join(snap.content.get("previous_period", [])) if snap else "",
        "planned_date": r.planned_date.isoformat(),
        "chair": r.chair.full_name,
        "status": gettext(STATUSES[r.status]),
        "snapshot": {
            "version": snap.version,
            "sha256": snap.sha256,
            "at": localtime(snap.compiled_at),
        }
        if snap
        else None,
        "sections": [
            {**s, "narrative": narratives.get(s["key"], "")}
            for s in display.sections(snap.content if snap else None, width=600, height=250)
        ],
        "attendees": [
            {"name": a.user.full_name, "signed": a.signature_id is not None} for a in r.attendees
        ],
        "decisions": [
            {
                "label": d.label,
                "text": d.text,
                "category": gettext(CATEGORIES[d.category]),
                "owner": d.owner.full_name if d.owner else "",
                "due_date": d.due_date.isoformat() if d.due_date else "",
                "status": gettext("Done") if d.status == "done" else gettext("Open"),
            }
            for d in r.decisions
        ],
        "amendments": [
            {"text": a.text, "reason": a.reason, "name": a.user.full_name, "at": localtime(a.at)}
            for a in r.amendments
        ],
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


def render_report(r: ManagementReview, data: dict | None = None) -> bytes:
    """The report in the current language (``data``: its report_data, when known)."""
    now = utcnow()
    title = gettext("Management review report")
    meta = {
        "language": current_language(),
        "title": f"{r.number} {title}",
        "author": current_app.config["QDMS_ORGANISATION"],
        "subject": title,
        "created": now,
    }
    return pdf.render_pdf(
        "review_report.html",
        {
            "meta": meta,
            "r": report_data(r) if data is None else data,
            "organisation": current_app.config["QDMS_ORGANISATION"],
            "page_of": page_of_css(),
            "generated_at": localtime(now),
        },
    ).data


# Working copies drawn lately, by what they show: a review's report takes 2-4 s to draw
# and is opened again and again while the meeting is prepared; a change to anything it
# shows (or another language) is another key. Never the kept record (see ``keep``).
_DRAFTS: Recent[bytes] = Recent(8)


def _draft(r: ManagementReview) -> bytes:
    data = report_data(r)
    key = hashlib.sha256(
        json.dumps(
            [current_language(), current_app.config["QDMS_ORGANISATION"], data],
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        ).encode("utf-8")
    ).hexdigest()
    return _DRAFTS.get_or_make(key, lambda: render_report(r, data))


def keep(session: Session, r: ManagementReview) -> str:
    """Draw the approved review's report in the chair's language (the minutes as the
    chair signed them; else the organisation's), store it in docs_store and note (and
    audit) its SHA-256: the report kept as a record."""
    with force_locale(r.chair.language or current_app.config["QDMS_DEFAULT_LANGUAGE"]):
        data = render_report(r)
    blob = store_bytes(session, get_store(current_app), data)
    before = r.report_sha256
    r.report_sha256 = blob.sha256
    session.flush()
    audit.record(
        session,
        None,
        r.ref,
        "review_report_stored",
        before={"sha256": before} if before else None,
        after={"sha256": blob.sha256},
    )
    return blob.sha256


def report_bytes(r: ManagementReview) -> bytes:
    if r.report_sha256:
        return get_store(current_app).read(r.report_sha256)
    return _draft(r)


def report_response(r: ManagementReview):
    return send_file(
        io.BytesIO(report_bytes(r)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{r.number}-report.pdf",
    )


def figures_table(r: ManagementReview) -> Table:
    """Every figure of the snapshot, one row each: input, figure, value, previous period."""
    rows = []
    for s in display.sections(r.snapshot.content if r.snapshot else None):
        for f in s["figures"]:
            rows.append([s["clause"], s["title"], f["label"], f["value"], f["previous"]])
    return Table(
        title=gettext("Figures of %(number)s", number=r.number),
        filename=f"{r.number}-figures",
        subtitle=gettext("Period") + f": {r.period_start.isoformat()} – {r.period_end.isoformat()}",
        headers=[
            gettext("Clause"),
            gettext("Input"),
            gettext("Figure"),
            gettext("This period"),
            gettext("Previous period"),
        ],
        rows=rows,
        widths={"B": 40, "C": 30},
    )


def figures_download(r: ManagementReview, fmt: str):
    return send_table(figures_table(r), fmt)
