from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.i18n import current_language
from app.names import in_language

ROLES = ("admin", "officer", "author", "approver", "auditor", "management", "staff")
ROLE_LABELS = {
    "admin": N_("Administrator"),
    "officer": N_("Quality officer"),
    "author": N_("Author"),
    "approver": N_("Approver"),
    "auditor": N_("Auditor"),
    "management": N_("Top management"),
    "staff": N_("Staff"),
}


class Department(db.Model):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str | None] = mapped_column(String(120))  # optional: app/names.py
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True, name="fk_department_head_id_user")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    head: Mapped[User | None] = relationship(foreign_keys=[head_id], post_update=True)

    def __repr__(self) -> str:
        return f"<Department {self.code}>"

    def name_in(self, language: str | None) -> str:
        return in_language(self.name, self.name_en, language)

    def audit_state(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "head": self.head.username if self.head else None,
            "is_active": self.is_active,
        }


class UserRole(db.Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    def __repr__(self) -> str:
        return f"<UserRole {self.user_id}:{self.role}>"


class User(db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised when the password changes or the user logs out: a browser session carries
    # the generation it was made in and ends when it no longer matches (app/auth/routes.py).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by=UserRole.role, lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    # Roles ------------------------------------------------------------------
    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.role_rows)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def audit_state(self) -> dict:
        return {
            "username": self.username,
            "full_name": self.full_name,
            "email": self.email,
            "department": self.department.code if self.department else None,
            "language": self.language,
            "roles": self.roles,
            "is_active": self.is_active,
        }


# How the audit trail names people and departments ------------------------------------


def _user_names(session, keys: set[str] | None) -> dict[str, str]:
    """{username: full name}; ``None``: every user (a small table, read once a page)."""
    stmt = select(User.username, User.full_name)
    if keys is not None:
        stmt = stmt.where(User.username.in_(sorted(keys)))
    return dict(session.execute(stmt).all())


def _find_users(session, typed: str) -> list[str]:
    """The usernames a typed username or full name stands for (case-insensitively)."""
    typed = typed.strip().lower()
    return list(
        session.scalars(
            select(User.username).where(
                or_(func.lower(User.username) == typed, func.lower(User.full_name) == typed)
            )
        )
    )


def _department_names(session, keys: set[str] | None) -> dict[str, str]:
    """{code: name in the reader's language}; ``None``: every department (a small table)."""
    stmt = select(Department)
    if keys is not None:
        stmt = stmt.where(Department.code.in_(sorted(keys)))
    language = current_language()
    return {d.code: d.name_in(language) for d in session.scalars(stmt)}


labels.register_kind("user", labels.Kind(names=_user_names, find=_find_users))
labels.register_kind(
    "department", labels.Kind(pattern=N_("department %(name)s"), names=_department_names)
)
labels.register_fields(
    {
        "username": N_("Username"),
        "full_name": N_("Full name"),
        "email": N_("E-mail"),
        "department": labels.department(N_("Department")),
        # the languages' own names, as the language switch shows them
        "language": labels.coded(N_("Language"), {"zh_CN": "简体中文", "en": "English"}),
        "roles": labels.coded(N_("Roles"), ROLE_LABELS),
        "head": labels.user(N_("Head of department")),
    }
)
