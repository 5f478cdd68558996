"""Passwords: hashing with argon2id, and the policy a new password must meet.

Used by people (creating users, resetting passwords), auth (logging in, changing one's
own) and signatures (a signature is re-authenticated by password).

The defaults are argon2-cffi's (RFC 9106 low-memory profile: 3 passes, 64 MiB). A
deployment can tune them with QDMS_ARGON2_TIME_COST / QDMS_ARGON2_MEMORY_KIB; existing
hashes are upgraded to the new parameters at the next successful login.
"""

from __future__ import annotations

import functools
import unicodedata

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
    return _hasher.hash(normalise(password))


def normalise(password: str) -> str:
    """The form a password is hashed and checked in: Unicode NFKC, so the same password
    typed on another keyboard or input method (full-width digits, composed accents) is
    the same password."""
    return unicodedata.normalize("NFKC", password)


def verify_password(password_hash: str | None, password: str) -> bool:
    normal = normalise(password)
    if _verify(password_hash, normal):
        return True
    # a hash set before passwords were normalised is of the password as typed
    return normal != password and _verify(password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list, from leaked password sets), lower
    case; loaded on first use (about 1 MB)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415 - 1 MB, on first use

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(
    password: str,
    min_length: int,
    *,
    username: str | None = None,
    current_hash: str | None = None,
) -> str:
    """Check a new password and return it normalised (:func:`normalise`), ready to hash.

    Refused: invisible or control characters (zero-width spaces and joiners, direction
    marks, tabs: what cannot be typed the same way twice), fewer than ``min_length``
    characters (QDMS_PASSWORD_MIN_LENGTH), the username, a common password, and the
    current password (``current_hash``)."""
    password = normalise(password or "")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") for c in password):
        raise ValidationFailed(
            N_("The password must not contain invisible or control characters."),
            fields={"password": N_("invisible characters")},
        )
    if len(password) < min_length:
        raise ValidationFailed(
            N_("The password must have at least %(n)s characters."),
            fields={"password": N_("too short")},
            n=min_length,
        )
    folded = password.casefold()
    if username and folded == username.strip().casefold():
        raise ValidationFailed(
            N_("The password must not be the username."),
            fields={"password": N_("the username")},
        )
    if folded in common_passwords():
        raise ValidationFailed(
            N_("This password is one of the most common ones; choose another."),
            fields={"password": N_("too common")},
        )
    if current_hash and _verify(current_hash, password):
        raise ValidationFailed(
            N_("The new password must differ from the current one."),
            fields={"password": N_("the current password")},
        )
    return password
