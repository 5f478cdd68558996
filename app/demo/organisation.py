"""The demo departments, their heads and the demo users (data/organisation.toml)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import loader
from app.demo.loader import DEMO_PASSWORD
from app.people import services as people
from app.people.models import Department, User


def add_user(session: Session, spec: dict, department: Department) -> User:
    """Create a demo user from its data (username, full_name, roles, language), with the
    demo password and an e-mail address in the demo's domain."""
    domain = loader.organisation()["email_domain"]
    return people.create_user(
        session,
        None,
        username=spec["username"],
        full_name=spec["full_name"],
        password=DEMO_PASSWORD,
        roles=spec["roles"],
        department=department,
        email=f"{spec['username']}@{domain}",
        language=spec.get("language", "zh_CN"),
    )


def seed(session: Session) -> list[str]:
    """Create whatever departments and users are missing, then set the heads not yet set."""
    data = loader.organisation()
    added: list[str] = []
    depts: dict[str, Department] = {}
    for spec in data["departments"]:
        code = spec["code"]
        dept = session.scalar(select(Department).where(Department.code == code))
        if dept is None:
            dept = people.create_department(session, None, code, spec["name"], spec["name_en"])
            added.append(f"department {code}")
        depts[code] = dept
    users: dict[str, User] = {}
    for spec in data["users"]:
        user = session.scalar(select(User).where(User.username == spec["username"]))
        if user is None:
            user = add_user(session, spec, depts[spec["department"]])
            added.append(f"user {user.username}")
        users[user.username] = user
    for spec in data["departments"]:
        dept = depts[spec["code"]]
        if spec.get("head") and dept.head_id is None:
            people.update_department(
                session,
                None,
                dept,
                name=dept.name,
                head=users[spec["head"]],
                is_active=dept.is_active,
            )
    return added
