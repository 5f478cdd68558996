"""The mail outbox: queue in the caller's transaction, deliver after commit.

``queue`` renders the message in the recipient's language and adds it to the session, so
a message exists exactly when the change it reports was committed (a rollback discards
it). ``deliver_pending`` runs after the commit (``qdms sweep``) and sends through
``QDMS_SMTP_URL``; without it, messages stay in the outbox for the administrator to read.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import signals
from app.errors import N_
from app.extensions import utcnow
from app.names import Bilingual
from app.notifications.models import OutboxMessage
from app.people.models import User, UserRole

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def _values(params: dict, language: str) -> dict:
    """A message's parameters for one reader: ``*_label`` message ids translated, names
    kept in both languages (``Bilingual``) in the reader's."""
    return {
        k: gettext(v)
        if isinstance(v, str) and k.endswith("_label")
        else v.pick(language)
        if isinstance(v, Bilingual)
        else v
        for k, v in params.items()
    }


def queue(
    session: Session,
    recipient: User,
    *,
    kind: str,
    subject: str,
    body: str,
    object_ref: str | None = None,
    dedupe_key: str | None = None,
    **params,
) -> OutboxMessage | None:
    """Queue one message; ``subject`` and ``body`` are message ids with ``params``,
    translated into the recipient's language. Returns None when ``dedupe_key`` was
    already queued (a reminder is sent once)."""
    if dedupe_key is not None and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    language = recipient.language or current_app.config["QDMS_DEFAULT_LANGUAGE"]
    with force_locale(language):
        values = _values(params, language)
        text_subject = gettext(subject, **values)
        text_body = gettext(body, **values)
    message = OutboxMessage(
        recipient=recipient,
        to_address=recipient.email,
        subject=text_subject[:200],
        body=text_body,
        kind=kind,
        object_ref=object_ref,
        dedupe_key=dedupe_key,
    )
    session.add(message)
    session.flush()
    return message


def queue_each(session: Session, messages: list[dict]) -> int:
    """Many different messages at once (a sweep's reminders), each a dict of ``queue``'s
    arguments (``recipient``, ``kind``, ``subject``, ``body``, ``object_ref``,
    ``dedupe_key``, ``params``): those whose dedupe key was already queued are skipped,
    the others rendered in their recipient's language and inserted in one statement.
    Returns how many were queued. Same guarantees as ``queue``, without a query and a
    flush per message."""
    keys = [m["dedupe_key"] for m in messages if m.get("dedupe_key")]
    seen: set[str] = set()
    for i in range(0, len(keys), 500):
        seen.update(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(keys[i : i + 500])
                )
            )
        )
    default = current_app.config["QDMS_DEFAULT_LANGUAGE"]
    by_language: dict[str, list[dict]] = {}
    for message in messages:
        key = message.get("dedupe_key")
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        by_language.setdefault(message["recipient"].language or default, []).append(message)
    now = utcnow()
    rows = []
    for language, group in by_language.items():
        with force_locale(language):
            for m in group:
                values = _values(m.get("params", {}), language)
                rows.append(
                    {
                        "recipient_id": m["recipient"].id,
                        "to_address": m["recipient"].email,
                        "subject": gettext(m["subject"], **values)[:200],
                        "body": gettext(m["body"], **values),
                        "kind": m["kind"],
                        "object_ref": m.get("object_ref"),
                        "dedupe_key": m.get("dedupe_key"),
                        "created_at": now,
                        "attempts": 0,
                    }
                )
    for i in range(0, len(rows), 1000):
        session.execute(insert(OutboxMessage), rows[i : i + 1000])
    return len(rows)


def queue_many(
    session: Session,
    user_ids: list[int],
    *,
    kind: str,
    subject: str,
    body: str,
    object_ref: str | None = None,
    **params,
) -> int:
    """The same message to many people (an issue to thousands): rendered once per language
    and inserted in one statement. Returns how many were queued."""
    if not user_ids:
        return 0
    default = current_app.config["QDMS_DEFAULT_LANGUAGE"]
    people = session.execute(
        select(User.id, User.email, User.language).where(User.id.in_(user_ids))
    ).all()
    rendered: dict[str, tuple[str, str]] = {}
    now = utcnow()
    rows = []
    for uid, email, language in people:
        language = language or default
        if language not in rendered:
            with force_locale(language):
                values = _values(params, language)
                rendered[language] = (gettext(subject, **values)[:200], gettext(body, **values))
        text_subject, text_body = rendered[language]
        rows.append(
            {
                "recipient_id": uid,
                "to_address": email,
                "subject": text_subject,
                "body": text_body,
                "kind": kind,
                "object_ref": object_ref,
                "created_at": now,
                "attempts": 0,
            }
        )
    session.execute(insert(OutboxMessage), rows)
    return len(rows)


def _smtp(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("QDMS_SMTP_URL must start with smtp:// or smtps://")
    cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    client = cls(
        parts.hostname or "localhost",
        parts.port or (465 if cls is smtplib.SMTP_SSL else 25),
        timeout=30,
    )
    if parts.scheme == "smtp" and "starttls" in (parts.query or ""):
        client.starttls()
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def deliver_pending(session: Session, smtp_url: str | None, sender: str) -> tuple[int, int]:
    """Send what is queued; returns (sent, failed). Each message is committed on its own,
    so a failure in the middle loses nothing and sends nothing twice."""
    if not smtp_url:
        return 0, 0
    pending = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.to_address.is_not(None),
            OutboxMessage.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboxMessage.id)
    ).all()
    if not pending:
        return 0, 0
    sent = failed = 0
    client = _smtp(smtp_url)
    try:
        for message in pending:
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = sender, message.to_address, message.subject
            mail.set_content(message.body)
            message.attempts += 1
            try:
                client.send_message(mail)
            except smtplib.SMTPException as exc:
                message.last_error = str(exc)[:2000]
                failed += 1
                log.warning("mail %s to %s failed: %s", message.id, message.to_address, exc)
            else:
                message.sent_at = utcnow()
                sent += 1
            session.commit()
    finally:
        client.quit()
    return sent, failed


@signals.signature_lockout.connect
def signature_lockout(user: User, *, session: Session, attempts: int, object_ref: str) -> int:
    """Mail every active quality officer that wrong signature passwords locked ``user``'s
    account (21 CFR 11.300(d)). Returns how many were queued."""
    officers = session.scalars(
        select(User.id).where(
            User.is_active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role == "officer")),
        )
    ).all()
    return queue_many(
        session,
        list(officers),
        kind="signature_lockout",
        subject=N_("Account locked after failed signatures: %(username)s"),
        body=N_(
            "%(attempts)s wrong passwords were given to sign as %(name)s (%(username)s), the "
            "last one for %(signing)s. The account is locked. If this was not the user, "
            "treat it as an attempt to misuse their electronic signature."
        ),
        object_ref=f"user:{user.username}",
        username=user.username,
        name=user.full_name,
        attempts=attempts,
        signing=object_ref,
    )
