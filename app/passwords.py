"""Passwords: hashing with argon2id, and the policy a new password must meet.

Used by people (creating users, resetting passwords), auth (logging in, changing one's
own) and signatures (a signature is re-authenticated by password).

The defaults are argon2-cffi's (RFC 9106 low-memory profile: 3 passes, 64 MiB). A
deployment can tune them with QDMS_ARGON2_TIME_COST / QDMS_ARGON2_MEMORY_KIB; existing
hashes are upgraded to the new parameters at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import N_, ValidationFailed

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("qdms-no-such-user")


def configure(time_cost: int | None = None, memory_cost: int | None = None) -> None:
    """Set the argon2 cost for new hashes (process-wide, called by the app factory)."""
    global _hasher, _DUMMY_HASH
    default = PasswordHasher()
    wanted = (time_cost or default.time_cost, memory_cost or default.memory_cost)
    if (_hasher.time_cost, _hasher.memory_cost) != wanted:
        _hasher = PasswordHasher(time_cost=wanted[0], memory_cost=wanted[1])
        _DUMMY_HASH = _hasher.hash("qdms-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password_policy(password: str, min_length: int) -> None:
    """Refuse a new password shorter than ``min_length`` (QDMS_PASSWORD_MIN_LENGTH)."""
    if len(password) < min_length:
        raise ValidationFailed(
            N_("The password must have at least %(n)s characters."),
            fields={"password": N_("too short")},
            n=min_length,
        )
