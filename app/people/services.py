"""Departments and users. Users are deactivated, never deleted."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypinyin import lazy_pinyin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import signals
from app.audit_trail import services as audit
from app.config import LANGUAGES
from app.errors import N_, Conflict, NotFound, ValidationFailed
from app.extensions import utcnow
from app.passwords import check_password_policy, hash_password
from app.people.models import ROLES, Department, User, UserRole

DEPARTMENT_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if dept is None:
        raise NotFound(N_("No department with code %(code)s."), code=code)
    return dept


def department_by_code(
    session: Session, code: str | None, field: str = "department"
) -> Department | None:
    """The department with ``code``; None when none is given; a field error when the code
    is unknown (a name in a form or body is input, not a path: 400, not 404)."""
    code = (code or "").strip().upper()
    if not code:
        return None
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise ValidationFailed(
            N_("No department with code %(code)s."), fields={field: N_("invalid")}, code=code
        )
    return dept


def user_by_username(session: Session, username: str | None, field: str) -> User | None:
    """The user named ``username``; None when none is given; a field error when unknown."""
    username = (username or "").strip().lower()
    if not username:
        return None
    user = session.scalar(select(User).where(func.lower(User.username) == username))
    if user is None:
        raise ValidationFailed(
            N_("No user named %(username)s."), fields={field: N_("invalid")}, username=username
        )
    return user


def chosen_department(
    department: Department | None, *, missing: str = N_("Please choose the department.")
) -> Department:
    """The department a form or request chose, which must be active (a 400 on the
    ``department`` field otherwise)."""
    if department is None:
        raise ValidationFailed(missing, fields={"department": N_("required")})
    if not department.is_active:
        raise ValidationFailed(
            N_("The department is inactive."), fields={"department": N_("invalid")}
        )
    return department


def chosen_person(user: User | None, field: str, *, missing: str, inactive: str) -> User:
    """The person a form or request chose for ``field`` (an owner, a holder …), who must be
    an active user (a 400 on ``field`` otherwise, with the caller's words)."""
    if user is None:
        raise ValidationFailed(missing, fields={field: N_("required")})
    if not user.is_active:
        raise ValidationFailed(inactive, fields={field: N_("invalid")})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFound(N_("No user named %(username)s."), username=username)
    return user


def _clean_name(name: str | None, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(N_("Please fill in the name."), fields={field: N_("required")})
    if len(name) > 120:
        raise ValidationFailed(N_("The name is too long."), fields={field: N_("too long")})
    return name


KEEP = object()  # an argument left out: the value stays as it is


def _english_name(name: str | None, field: str = "name_en") -> str | None:
    """An optional English name: blank is none."""
    name = (name or "").strip()
    if len(name) > 120:
        raise ValidationFailed(N_("The name is too long."), fields={field: N_("too long")})
    return name or None


def create_department(
    session: Session, actor: User | None, code: str, name: str, name_en: str | None = None
) -> Department:
    code = (code or "").strip().upper()
    if not DEPARTMENT_CODE.match(code):
        raise ValidationFailed(
            N_("A department code is 2–10 capital letters or digits, starting with a letter."),
            fields={"code": N_("invalid")},
        )
    name = _clean_name(name)
    name_en = _english_name(name_en)
    if session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(
            N_("Department %(code)s already exists."), fields={"code": N_("taken")}, code=code
        )
    dept = Department(code=code, name=name, name_en=name_en, is_active=True)
    session.add(dept)
    session.flush()
    audit.record(session, actor, f"department:{code}", "created", after=dept.audit_state())
    return dept


def update_department(
    session: Session,
    actor: User | None,
    dept: Department,
    *,
    name: str,
    head: User | None,
    is_active: bool,
    name_en: str | object | None = KEEP,
) -> Department:
    """Rename (both names; ``name_en`` left out keeps the English name), set the head or
    (de)activate. The code is immutable: numbers are built from it."""
    before = dept.audit_state()
    dept.name = _clean_name(name)
    if name_en is not KEEP:
        dept.name_en = _english_name(name_en)
    dept.head = head
    dept.is_active = is_active
    session.flush()
    after = dept.audit_state()
    if after != before:
        audit.record(
            session, actor, f"department:{dept.code}", "updated", before=before, after=after
        )
    return dept


def _check_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValidationFailed(
            N_("Unknown role: %(roles)s."), fields={"roles": N_("invalid")}, roles=", ".join(bad)
        )
    if not roles:
        raise ValidationFailed(N_("Choose at least one role."), fields={"roles": N_("required")})
    return roles


def _check_user_fields(email: str | None, language: str | None) -> tuple[str | None, str | None]:
    email = (email or "").strip() or None
    if email and not EMAIL.match(email):
        raise ValidationFailed(
            N_("The e-mail address is not valid."), fields={"email": N_("invalid")}
        )
    language = language or None
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed(N_("Unknown language."), fields={"language": N_("invalid")})
    return email, language


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    full_name: str,
    password: str,
    roles: Iterable[str],
    department: Department | None = None,
    email: str | None = None,
    language: str | None = None,
    password_min_length: int = 10,
) -> User:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise ValidationFailed(
            N_("A username is 2–64 lower-case letters, digits, dots, dashes or underscores."),
            fields={"username": N_("invalid")},
        )
    if session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise Conflict(
            N_("The username %(username)s is taken."),
            fields={"username": N_("taken")},
            username=username,
        )
    full_name = _clean_name(full_name, "full_name")
    roles = _check_roles(roles)
    email, language = _check_user_fields(email, language)
    password = check_password_policy(password or "", password_min_length, username=username)
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        department=department,
        language=language,
        is_active=True,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        failed_logins=0,
        role_rows=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, f"user:{username}", "created", after=user.audit_state())
    _membership_changed(session, user, None, was_active=False)
    return user


def _membership_changed(session: Session, user: User, previous_department_id, *, was_active):
    """Tell the features built on this one, in this transaction (read-and-understood tasks
    follow people into and out of departments: app.distribution)."""
    signals.membership_changed.send(
        user,
        session=session,
        previous_department_id=previous_department_id,
        was_active=was_active,
    )


def update_user(
    session: Session,
    actor: User | None,
    user: User,
    *,
    full_name: str,
    email: str | None,
    department: Department | None,
    language: str | None,
    roles: Iterable[str],
    is_active: bool,
) -> User:
    before = user.audit_state()
    previous_department_id, was_active = user.department_id, user.is_active
    roles = _check_roles(roles)
    if actor is not None and actor.id == user.id and (not is_active or "admin" not in roles):
        raise ValidationFailed(
            N_("You cannot deactivate yourself or remove your own administrator role."),
            fields={"roles": N_("invalid")},
        )
    user.full_name = _clean_name(full_name, "full_name")
    user.email, user.language = _check_user_fields(email, language)
    user.department = department
    user.is_active = is_active
    current = {r.role: r for r in user.role_rows}
    for role in set(current) - set(roles):
        user.role_rows.remove(current[role])
    for role in set(roles) - set(current):
        user.role_rows.append(UserRole(role=role))
    session.flush()
    session.refresh(user, ["role_rows"])
    after = user.audit_state()
    if after != before:
        audit.record(session, actor, f"user:{user.username}", "updated", before=before, after=after)
    if (user.department_id, user.is_active) != (previous_department_id, was_active):
        _membership_changed(session, user, previous_department_id, was_active=was_active)
    return user


def reset_password(
    session: Session, actor: User | None, user: User, password: str, *, min_length: int = 10
) -> None:
    """An administrator sets a new password, lifts any lockout and ends the user's
    sessions (``session_generation``)."""
    password = check_password_policy(
        password or "", min_length, username=user.username, current_hash=user.password_hash
    )
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    user.session_generation = (user.session_generation or 0) + 1
    audit.record(session, actor, f"user:{user.username}", "password_reset")
    session.flush()


def set_language(session: Session, user: User, language: str | None) -> None:
    _, language = _check_user_fields(None, language)
    user.language = language
    session.flush()


def name_sort_key(name: str, language: str) -> str:
    """How a person's name sorts for a reader of ``language``: in Chinese by its pinyin
    (张伟 under Z, 陈静 under C — code-point order would scatter them), in English by the
    name without regard to case."""
    if language == "zh_CN":
        return " ".join(lazy_pinyin(name)).casefold()
    return name.casefold()


def people_to_choose(
    session: Session,
    *,
    language: str,
    role: str | None = None,
    exclude_id: int | None = None,
) -> list[User]:
    """The people offered wherever a person is chosen (reviewers and approvers, recipients
    and custodians, a department's head, a record's person fields, a document's holder):
    active users only (with ``role`` if given, without ``exclude_id``), sorted by name for
    a reader of ``language`` (:func:`name_sort_key`), then by username."""
    stmt = select(User).where(User.is_active.is_(True))
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    people = session.scalars(stmt).all()
    return sorted(people, key=lambda u: (name_sort_key(u.full_name, language), u.username))


def departments(session: Session, *, active_only: bool = False) -> list[Department]:
    stmt = select(Department).order_by(Department.code)
    if active_only:
        stmt = stmt.where(Department.is_active.is_(True))
    return list(session.scalars(stmt))
