"""Authentication: password login with lockout, and API tokens.

Login does not raise on a wrong password: the failed-attempt counter and the audit
events must be committed even though the login fails, so it returns a result instead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app import api
from app.audit_trail import services as audit
from app.auth.models import ApiToken, LoginThrottle
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


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``threshold`` failed attempts in a row an account is locked for ``minutes``."""

    threshold: int = 5
    minutes: int = 15


_POLICY = [LockoutPolicy()]  # this process's (configure_lockout, called by the app factory)


def configure_lockout(threshold: int, minutes: int) -> None:
    """Set the lockout policy (QDMS_LOCKOUT_THRESHOLD, QDMS_LOCKOUT_MINUTES) for services
    that run outside a request: a failed signature is counted after the request's end."""
    _POLICY[0] = LockoutPolicy(threshold, minutes)


def lockout_policy() -> LockoutPolicy:
    return _POLICY[0]


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def _locked_message(locked_until: datetime | None, now: datetime) -> str:
    """The lockout answer: the same words for an account and for a name that is none."""
    left = (locked_until - now).total_seconds() if locked_until else 0
    return LOCKED % {"minutes": max(1, int(left // 60) + 1)}


def claim_attempt(session: Session, user: User, now: datetime) -> int | None:
    """Count one more attempt against ``user``'s lockout, atomically, unless the account is
    locked: ``UPDATE … SET failed_logins = failed_logins + 1 WHERE not locked RETURNING``.

    Returns the new count, or None when the account is locked (then nothing is counted and
    no password may be checked). The update holds the row until the transaction ends, so
    parallel attempts on one account are counted one after the other: each sees the
    count, and the lock, the ones before it committed. A correct password then resets the
    count (:func:`authenticate`)."""
    table = User.__table__
    count = session.execute(
        update(table)
        .where(
            table.c.id == user.id,
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
        .values(failed_logins=table.c.failed_logins + 1)
        .returning(table.c.failed_logins)
    ).scalar()
    session.expire(user, ["failed_logins", "locked_until"])
    return count


def register_failure(
    session: Session,
    user: User,
    count: int,
    action: str,
    *,
    now: datetime,
    threshold: int,
    lock_minutes: int,
    about: dict | None = None,
) -> bool:
    """Audit a failed attempt already counted by :func:`claim_attempt` (a login, or a
    signature: ``action``), and lock the account when the count reaches ``threshold``.
    Returns whether it locked."""
    ref = f"user:{user.username}"
    audit.record(session, user, ref, action, after={"failed_logins": count, **(about or {})})
    if count < threshold:
        session.flush()
        return False
    user.locked_until = now + timedelta(minutes=lock_minutes)
    user.failed_logins = 0
    audit.record(
        session,
        user,
        ref,
        "locked",
        after={"locked_until": user.locked_until.isoformat(), "failed_logins": 0},
    )
    session.flush()
    return True


def _unknown_name(
    session: Session, name: str, password: str, *, now: datetime, threshold: int, lock_minutes: int
) -> LoginResult:
    """A login under a name that is no active account: the same argon2 cost, the same
    counting and the same lockout answer as an account's (no user enumeration)."""
    table = LoginThrottle.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(username=name, failed_logins=0).on_conflict_do_nothing())
    count = session.execute(
        update(table)
        .where(
            table.c.username == name,
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
        .values(failed_logins=table.c.failed_logins + 1, last_failed_at=now)
        .returning(table.c.failed_logins)
    ).scalar()
    if count is None:
        locked_until = session.scalar(select(table.c.locked_until).where(table.c.username == name))
        return LoginResult(None, _locked_message(locked_until, now))
    verify_password(None, password)  # same cost as a real check
    if count < threshold:
        return LoginResult(None, BAD_CREDENTIALS)
    session.execute(
        update(table)
        .where(table.c.username == name)
        .values(failed_logins=0, locked_until=now + timedelta(minutes=lock_minutes))
    )
    return LoginResult(None, LOCKED % {"minutes": lock_minutes})


def forget_unknown_names(session: Session, now: datetime, after: timedelta) -> int:
    """Drop the failure counters of names that are no account once their last failure is
    ``after`` old and no lock holds (``qdms sweep``): guessed names would otherwise pile up
    for ever. A counter is a brake on guessing, not history; the failures themselves are
    not in the trail (there is no account to record them against)."""
    table = LoginThrottle.__table__
    gone = session.execute(
        delete(table).where(
            or_(table.c.last_failed_at.is_(None), table.c.last_failed_at < now - after),
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
    )
    return gone.rowcount or 0


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    threshold: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password login; count failures and lock the account after ``threshold``.

    The attempt is counted before the password is checked (:func:`claim_attempt`), so
    parallel guesses are counted one by one and a locked account's hash is never checked."""
    now = now or utcnow()
    user = find_user(session, username)
    if user is None or not user.is_active:
        name = username.strip().lower()[:64]
        return _unknown_name(
            session, name, password, now=now, threshold=threshold, lock_minutes=lock_minutes
        )
    count = claim_attempt(session, user, now)
    if count is None:
        audit.record(session, user, f"user:{user.username}", "login_refused_locked")
        return LoginResult(None, _locked_message(user.locked_until, now))
    if not verify_password(user.password_hash, password):
        locked = register_failure(
            session,
            user,
            count,
            action="login_failed",
            now=now,
            threshold=threshold,
            lock_minutes=lock_minutes,
        )
        if locked:
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


def end_sessions(session: Session, user: User) -> int:
    """End every browser session of ``user``: each carries the generation it was made in
    (``session_generation``), and one that no longer matches is logged out at its next
    request. Returns the new generation (the caller's own session may take it)."""
    table = User.__table__
    generation = session.execute(
        update(table)
        .where(table.c.id == user.id)
        .values(session_generation=table.c.session_generation + 1)
        .returning(table.c.session_generation)
    ).scalar_one()
    session.expire(user, ["session_generation"])
    return generation


def record_logout(
    session: Session, user: User, *, reason: str | None = None, everywhere: bool = False
) -> None:
    """Audit a logout; ``everywhere`` (a logout the user asked for) also ends the user's
    other sessions."""
    if everywhere:
        end_sessions(session, user)
    audit.record(session, user, f"user:{user.username}", "logout", reason=reason)


def change_password(
    session: Session, user: User, current: str, new: str, *, min_length: int = 10
) -> int:
    """Change one's own password; the current password must be given. Every other session
    of the user ends; returns the new session generation for the caller's own."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(
            N_("The current password is wrong."), fields={"current_password": N_("wrong")}
        )
    new = check_password_policy(
        new, min_length, username=user.username, current_hash=user.password_hash
    )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    audit.record(session, user, f"user:{user.username}", "password_changed")
    session.flush()
    return end_sessions(session, user)


# API tokens ---------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, actor: User | None, user: User, name: str = "", *, days: int = 90
) -> str:
    """Create a token for ``user`` that works for ``days`` (QDMS_API_TOKEN_DAYS) and return
    it; only its SHA-256 is stored."""
    if days < 1:
        raise ValidationFailed(N_("A token must work for at least one day."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user,
        name=name,
        prefix=token[:12],
        token_hash=_digest(token),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        f"user:{user.username}",
        "token_created",
        after={
            "token_id": row.id,
            "prefix": row.prefix,
            "name": name,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return token


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The user a bearer token belongs to, or None: unknown, revoked or expired, or its
    user deactivated or locked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    now = now or utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if not row.user.is_active or row.user.is_locked(now):
        return None
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
