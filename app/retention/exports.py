"""The destruction record as PDF (docs/adr/0033-destruction.md). Flask-side."""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_babel import gettext
from flask_login import current_user

from app import pdf
from app.extensions import utcnow
from app.i18n import current_language
from app.retention.models import DESTRUCTION_STATUSES, METHODS, Destruction
from app.signatures.models import MEANINGS
from app.tables import page_of_css


def destruction_record_pdf(batch: Destruction) -> bytes:
    now = utcnow()
    title = f"{gettext('Destruction record')} {batch.number}"
    organisation = current_app.config["QDMS_ORGANISATION"]
    return pdf.render_pdf(
        "destruction.html",
        {
            "meta": {
                "language": current_language(),
                "title": title,
                "author": organisation,
                "subject": title,
                "created": now,
            },
            "batch": batch,
            "STATUSES": DESTRUCTION_STATUSES,
            "METHODS": METHODS,
            "SIGNATURE_MEANINGS": MEANINGS,
            "organisation": organisation,
            "generated_by": current_user.full_name,
            "generated_at": now,
            "page_of": page_of_css(),
        },
    ).data


def destruction_record_response(batch: Destruction):
    return send_file(
        io.BytesIO(destruction_record_pdf(batch)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{batch.number}.pdf",
        max_age=0,
    )
