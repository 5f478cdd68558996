"""Authentication: password login with lockout, and API tokens.

Login does not raise on a wrong password: the failed-attempt counter and the audit
events must be committed even though the login fails, so it returns a result instead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import api
from app.audit_trail import services as audit
from app.auth.models import ApiToken
from app.errors import N_, NotFound, ValidationFailed
from app.extensions import utcnow
from app.passwords import check_password_policy, hash_password, needs_rehash, verify_password
from app.people.models import User

TOKEN_PREFIX = "qdms_"  # noqa: S105 - a label, not a secret
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # how exactly a token's last use is kept


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None  # an N_ message id when the login failed

    @property
    def ok(self) -> bool:
        return self.error is None


BAD_CREDENTIALS = N_("Invalid username or password.")
LOCKED = N_(
    "This account is locked after too many failed logins. Try again in %(minutes)s minutes."
)


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    threshold: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password login; count failures and lock the account after ``threshold``."""
    now = now or utcnow()
    user = find_user(session, username)
    if user is None or not user.is_active:
        verify_password(None, password)  # same cost as a real check
        return LoginResult(None, BAD_CREDENTIALS)
    if user.is_locked(now):
        audit.record(session, user, f"user:{user.username}", "login_refused_locked")
        remaining = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(None, LOCKED % {"minutes": remaining})
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        audit.record(
            session,
            user,
            f"user:{user.username}",
            "login_failed",
            after={"failed_logins": user.failed_logins},
        )
        if user.failed_logins >= threshold:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            audit.record(
                session,
                user,
                f"user:{user.username}",
                "locked",
                after={
                    "locked_until": user.locked_until.isoformat(),
                    "failed_logins": user.failed_logins,
                },
            )
            return LoginResult(None, LOCKED % {"minutes": lock_minutes})
        return LoginResult(None, BAD_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, user, f"user:{user.username}", "login")
    session.flush()
    return LoginResult(user)


def record_logout(session: Session, user: User, *, reason: str | None = None) -> None:
    audit.record(session, user, f"user:{user.username}", "logout", reason=reason)


def change_password(
    session: Session, user: User, current: str, new: str, *, min_length: int = 8
) -> None:
    """Change one's own password; the current password must be given."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(
            N_("The current password is wrong."), fields={"current_password": N_("wrong")}
        )
    check_password_policy(new, min_length)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    audit.record(session, user, f"user:{user.username}", "password_changed")
    session.flush()


# API tokens ---------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, actor: User | None, user: User, name: str = "") -> str:
    """Create a token for ``user`` and return it; only its SHA-256 is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, prefix=token[:12], token_hash=_digest(token))
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        f"user:{user.username}",
        "token_created",
        after={"token_id": row.id, "prefix": row.prefix, "name": name},
    )
    return token


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, inactive)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now  # to the minute: not a write on every request
    return row.user


def revoke_token(session: Session, actor: User | None, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(N_("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            f"user:{row.user.username}",
            "token_revoked",
            after={"token_id": row.id, "prefix": row.prefix},
        )
    session.flush()
    return row


api.set_token_user(user_for_token)  # the API's bearer authentication asks this feature
