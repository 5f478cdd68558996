"""The one electronic-signature service every signed action uses.

``sign`` re-authenticates the signer by password and records printed name, UTC time,
meaning and the SHA-256 of what was signed, sealed with the audit key (``seal_of``). A
wrong password (or an inactive or locked signer) raises :class:`SignatureFailed` before
anything is written. ``verify_signatures`` checks every signature against its seal and
against the "signed" event that recorded it (``qdms verify``).

A wrong password is not free (21 CFR 11.300(d)): once the request's transaction has ended
(it rolls back: the signed action did not happen), :func:`record_failed_signature` counts
the attempt toward the account's lockout, audits it, and, when it locks the account,
tells the quality officers (``signals.signature_lockout``; the outbox mails them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signals
from app.audit_trail import services as audit
from app.audit_trail.models import ChainHead, Event
from app.auth import services as auth
from app.errors import N_, SignatureFailed, ValidationFailed
from app.extensions import utcnow
from app.passwords import verify_password
from app.people.models import User
from app.signatures.models import MEANINGS, Signature
from app.unit_of_work import after_end


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
    refused = not signer.is_active or signer.is_locked(now)  # no password is checked then
    if refused or not password or not verify_password(signer.password_hash, password):
        after_end(
            session,
            partial(
                record_failed_signature,
                session.get_bind(),
                signer.id,
                meaning=meaning,
                object_ref=object_ref,
            ),
        )
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
    sig.seal = seal_of(sig)
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


def seal_of(sig: Signature) -> str:
    """The HMAC, with the audit key, of every column of ``sig`` but its id (the "signed"
    event binds the id to the rest)."""
    return audit.mac(
        "signature",
        {
            "user_id": sig.user_id,
            "username": sig.username,
            "printed_name": sig.printed_name,
            "meaning": sig.meaning,
            "object_ref": sig.object_ref,
            "sha256": sig.content_sha256,
            "comment": sig.comment,
            "signed_at": audit.format_at(sig.signed_at),
        },
    )


# A signature is written a moment before its event (the password check is between them).
_EVENT_WITHIN = timedelta(minutes=5)


def verify_signatures(session: Session) -> list[str]:
    """Every signature against its "signed" event (who, what it means, on what, the
    SHA-256 of what was signed, when) and against its seal; one line per problem, naming
    the signature and what differs."""
    head = session.get(ChainHead, 1)
    sealed_from = head.signatures_sealed_from if head is not None else 1
    events: dict[int, Event] = {}
    for ev in session.scalars(select(Event).where(Event.action == "signed").order_by(Event.seq)):
        after = json.loads(ev.after or "{}")
        if isinstance(after.get("signature_id"), int):
            events.setdefault(after["signature_id"], ev)
    problems = []
    for sig in session.scalars(select(Signature).order_by(Signature.id)).yield_per(1000):
        name = f"signature {sig.id} ({sig.meaning} by {sig.username} on {sig.object_ref})"
        ev = events.get(sig.id)
        if ev is None:
            problems.append(f"{name}: no event of the trail records it")
            continue
        after = json.loads(ev.after)
        differ = [
            column
            for column, ours, theirs in (
                ("username", sig.username, ev.actor_username),
                ("object_ref", sig.object_ref, ev.object_ref),
                ("meaning", sig.meaning, after.get("meaning")),
                ("printed_name", sig.printed_name, after.get("printed_name")),
                ("content_sha256", sig.content_sha256, after.get("sha256")),
                ("comment", sig.comment, ev.reason),
            )
            if ours != theirs
        ]
        if not timedelta(0) <= ev.at - sig.signed_at <= _EVENT_WITHIN:
            differ.append("signed_at")
        if differ:
            problems.append(
                f"{name}: {', '.join(differ)} differ from event #{ev.seq} that recorded it"
            )
        elif sig.seal is None and sig.id >= sealed_from:
            problems.append(f"{name}: its seal was removed")
        elif sig.seal is not None and not hmac.compare_digest(sig.seal, seal_of(sig)):
            problems.append(f"{name} was altered: its seal does not match its fields")
    return problems


def record_failed_signature(engine, user_id: int, *, meaning: str, object_ref: str) -> None:
    """Count a failed signature toward ``user_id``'s lockout and audit it, in a transaction
    of its own (run by ``unit_of_work.after_end`` once the request's has ended); when it
    locks the account, the quality officers are told (21 CFR 11.300(d))."""
    policy = auth.lockout_policy()
    with Session(bind=engine) as session:
        user = session.get(User, user_id)
        if user is None:
            return
        now = utcnow()
        about = {"meaning": meaning, "signing": object_ref}
        count = auth.claim_attempt(session, user, now) if user.is_active else None
        if count is None:  # locked or inactive: audited, not counted again
            audit.record(session, user, f"user:{user.username}", "signature_failed", after=about)
        else:
            locked = auth.register_failure(
                session,
                user,
                count,
                now=now,
                threshold=policy.threshold,
                lock_minutes=policy.minutes,
                action="signature_failed",
                about=about,
            )
            if locked:
                signals.signature_lockout.send(
                    user, session=session, attempts=count, object_ref=object_ref
                )
        session.commit()
