"""The one electronic-signature service every signed action uses.

``sign`` re-authenticates the signer by password and records printed name, UTC time,
meaning and the SHA-256 of what was signed. A wrong password (or an inactive or locked
signer) raises :class:`SignatureFailed` before anything is written.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit_trail import services as audit
from app.errors import N_, SignatureFailed, ValidationFailed
from app.extensions import utcnow
from app.passwords import verify_password
from app.people.models import User
from app.signatures.models import MEANINGS, Signature


def content_hash(content: bytes | str) -> str:
    if isinstance(content, str):
        content = content.encode("utf-8")
    return hashlib.sha256(content).hexdigest()


def sign(
    session: Session,
    signer: User,
    password: str,
    *,
    meaning: str,
    object_ref: str,
    content: bytes | str,
    comment: str | None = None,
    about: dict | None = None,
) -> Signature:
    """Sign ``content`` (the exact bytes or canonical text of what is signed) as ``signer``.

    ``about`` adds to the audit event what the object reference alone does not say (the
    revision label of a document's signature), so the trail can name it."""
    if meaning not in MEANINGS:
        raise ValueError(f"unknown signature meaning {meaning!r}")
    now = utcnow()
    if (
        not password
        or not signer.is_active
        or signer.is_locked(now)
        or not verify_password(signer.password_hash, password)
    ):
        raise SignatureFailed(
            N_("Signature failed: the password is wrong."),
            fields={"password": N_("The password is not correct; nothing was signed.")},
        )
    if comment is not None and len(comment) > 4000:
        raise ValidationFailed(N_("The comment is too long."), fields={"comment": N_("too long")})
    sig = Signature(
        user_id=signer.id,
        username=signer.username,
        printed_name=signer.full_name,
        meaning=meaning,
        object_ref=object_ref,
        content_sha256=content_hash(content),
        comment=comment,
        signed_at=now,
    )
    session.add(sig)
    session.flush()
    audit.record(
        session,
        signer,
        object_ref,
        "signed",
        after={
            "signature_id": sig.id,
            "meaning": meaning,
            "printed_name": sig.printed_name,
            "sha256": sig.content_sha256,
            **(about or {}),
        },
        reason=comment,
    )
    return sig


def signatures_for(session: Session, object_ref: str) -> list[Signature]:
    return list(
        session.scalars(
            select(Signature).where(Signature.object_ref == object_ref).order_by(Signature.id)
        )
    )
