"""Administration of departments and users, and the profile page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit_trail.models import Event
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.people import services
from app.people.models import Department, User


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def test_admin_creates_a_department_and_a_user(login_as):
    """Can an administrator create a department and a user with several roles, audited?"""
    client = login_as("root", roles=("admin",))
    r = client.form_post("/admin/departments/new", {"code": "om", "name": "运维检修部"})
    assert r.status_code == 302
    r = client.form_post(
        "/admin/users/new",
        {
            "username": "sunqiang",
            "full_name": "孙强",
            "email": "sun@example.com",
            "department": "OM",
            "language": "zh_CN",
            "roles": ["author", "staff"],
            "password": "first-password1",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    user = _user("sunqiang")
    assert user.department.code == "OM" and user.roles == ["author", "staff"]
    assert "孙强" in client.get("/admin/users").get_data(as_text=True)
    events = db.session.scalars(select(Event.object_ref).where(Event.action == "created")).all()
    assert "department:OM" in events and "user:sunqiang" in events


def test_bad_user_input_gets_inline_errors_and_writes_nothing(login_as):
    """Do a taken username, no role and a short password give 4xx with messages, no user?"""
    client = login_as("root", roles=("admin",))
    r = client.form_post(
        "/admin/users/new",
        {"username": "root", "full_name": "X", "roles": ["staff"], "password": "long-enough1"},
    )
    assert r.status_code == 409 and "is taken" in r.get_data(as_text=True)
    r = client.form_post(
        "/admin/users/new",
        {"username": "newbie", "full_name": "New", "password": "long-enough1"},
    )
    assert r.status_code == 400 and "at least one role" in r.get_data(as_text=True)
    r = client.form_post(
        "/admin/users/new",
        {"username": "newbie", "full_name": "New", "roles": ["staff"], "password": "short"},
    )
    assert r.status_code == 400 and "at least 8 characters" in r.get_data(as_text=True)
    assert _user("newbie") is None


def test_department_code_is_validated_and_unique(app, make_department):
    """Are malformed and duplicate department codes refused?"""
    make_department("CS")
    with pytest.raises(ValidationFailed):
        services.create_department(db.session, None, "c", "too short")
    with pytest.raises(ValidationFailed):
        services.create_department(db.session, None, "C-S", "bad chars")
    with pytest.raises(Conflict):
        services.create_department(db.session, None, "cs", "duplicate, lower-case")


def test_edit_user_changes_roles_and_department_with_before_and_after(login_as, make_user):
    """Does editing a user record the before and after state in the trail?"""
    make_user("zhang", roles=("staff",), department="CS")
    client = login_as("root", roles=("admin",), department="QA")
    r = client.form_post(
        "/admin/users/zhang/edit",
        {
            "full_name": "张伟",
            "email": "",
            "department": "QA",
            "language": "",
            "roles": ["staff", "auditor"],
            "is_active": "y",
        },
    )
    assert r.status_code == 302
    user = _user("zhang")
    assert user.roles == ["auditor", "staff"] and user.department.code == "QA"
    event = db.session.scalars(
        select(Event).where(Event.object_ref == "user:zhang", Event.action == "updated")
    ).one()
    assert '"department":"CS"' in event.before and '"department":"QA"' in event.after


def test_admin_cannot_lock_themselves_out(login_as):
    """Is removing one's own admin role or deactivating oneself refused?"""
    client = login_as("root", roles=("admin",))
    r = client.form_post(
        "/admin/users/root/edit",
        {"full_name": "Root", "department": "CS", "roles": ["staff"], "is_active": "y"},
    )
    assert r.status_code == 400
    assert _user("root").roles == ["admin"]


def test_deactivated_department_keeps_its_code(login_as, make_department):
    """Is the department code immutable on edit, and deactivation recorded?"""
    make_department("MK", "营销部")
    client = login_as("root", roles=("admin",))
    r = client.form_post(
        "/admin/departments/MK/edit", {"code": "ZZ", "name": "市场营销部", "head": ""}
    )
    assert r.status_code == 302
    dept = db.session.scalar(select(Department).where(Department.code == "MK"))
    assert dept.name == "市场营销部" and not dept.is_active
    assert db.session.scalar(select(Department).where(Department.code == "ZZ")) is None


def test_department_head_can_be_set(login_as, make_user):
    """Can the administrator name a department head (used later for escalations)?"""
    make_user("liu", roles=("approver",), department="CS")
    client = login_as("root", roles=("admin",))
    r = client.form_post(
        "/admin/departments/CS/edit", {"name": "客户服务部", "head": "liu", "is_active": "y"}
    )
    assert r.status_code == 302
    dept = db.session.scalar(select(Department).where(Department.code == "CS"))
    assert dept.head.username == "liu"


def test_unknown_objects_are_404(login_as):
    """Do unknown users and departments give 404 pages?"""
    client = login_as("root", roles=("admin",))
    assert client.get("/admin/users/ghost/edit").status_code == 404
    assert client.get("/admin/departments/NOPE/edit").status_code == 404


def test_profile_language_setting_wins_over_accept_language(login_as):
    """Does a user's own language setting override the browser's Accept-Language?"""
    client = login_as("alice")
    r = client.form_post("/profile/language", {"language": "zh_CN"})
    assert r.status_code == 302
    assert _user("alice").language == "zh_CN"
    html = client.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in html


def test_profile_api_token_created_once_and_revocable(login_as, client):
    """Is a token created on the profile shown once, usable, and revocable by its owner?"""
    login_as("alice")
    html = client.form_post("/profile/tokens", {"name": "excel"}).get_data(as_text=True)
    token = html.split('id="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/profile").get_data(as_text=True)
    from app.auth.models import ApiToken

    row = db.session.scalar(select(ApiToken))
    client.form_post("/profile/tokens/revoke", {"token_id": str(row.id)})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cannot_revoke_someone_elses_token(login_as, client, api_token):
    """Is another user's token untouchable from my profile?"""
    api_token("bob")
    from app.auth.models import ApiToken

    row = db.session.scalar(select(ApiToken))
    login_as("alice")
    client.form_post("/profile/tokens/revoke", {"token_id": str(row.id)})
    db.session.refresh(row)
    assert row.revoked_at is None
