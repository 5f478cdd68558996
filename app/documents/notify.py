"""Mail about the revision workflow (queued in the outbox in the same transaction).

Called by the HTML views and the API after a workflow action, with the status the
revision had before it: people asked to sign hear about it, and the author hears when the
revision comes back, is approved or becomes effective.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.documents.models import Revision
from app.errors import N_
from app.notifications import services as mail


def _params(revision: Revision) -> dict:
    doc = revision.document
    return {"number": doc.number, "title": doc.bilingual_title, "label": revision.label}


def revision_changed(session: Session, revision: Revision, previous_status: str) -> None:
    if revision.status == previous_status:
        return
    key = f"revision:{revision.id}:r{revision.review_round}:{revision.status}"
    if revision.status == "in_review":
        for person in revision.current_round():
            mail.queue(
                session,
                person.user,
                kind="signature_requested",
                subject=N_("Please sign %(number)s %(label)s"),
                body=N_(
                    "%(number)s %(title)s, revision %(label)s, waits for your review or "
                    'approval. Open "My work" in qdms to read and sign it.'
                ),
                object_ref=revision.ref,
                dedupe_key=f"{key}:{person.user_id}",
                **_params(revision),
            )
        return
    messages = {
        "draft": (
            N_("%(number)s %(label)s was returned to you"),
            N_("%(number)s %(title)s, revision %(label)s, was returned with comments."),
        ),
        "approved": (
            N_("%(number)s %(label)s is approved"),
            N_(
                "%(number)s %(title)s, revision %(label)s, is approved and becomes effective "
                "on %(day)s."
            ),
        ),
        "effective": (
            N_("%(number)s %(label)s is effective"),
            N_("%(number)s %(title)s, revision %(label)s, is now effective."),
        ),
    }
    if revision.status in messages:
        subject, body = messages[revision.status]
        mail.queue(
            session,
            revision.author,
            kind=f"revision_{revision.status}",
            subject=subject,
            body=body,
            object_ref=revision.ref,
            dedupe_key=f"{key}:{revision.author_id}",
            day=revision.effective_date.isoformat() if revision.effective_date else "",
            **_params(revision),
        )
