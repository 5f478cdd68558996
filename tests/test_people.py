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
    assert r.status_code == 400 and "at least 10 characters" in r.get_data(as_text=True)
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


CHINESE = {
    "wei": "张伟",
    "jing": "陈静",
    "anna": "安娜",
    "fang": "王芳",
}  # pinyin: an chen wang zhang
ENGLISH = {"aa": "carol Chen", "bb": "Bob Baker", "cc": "alice Adams"}


def _offered(html: str, select_name: str, wanted) -> list[str]:
    """The usernames of ``wanted`` offered by the select named ``select_name``, in order."""
    import re

    start = html.index(f'name="{select_name}"')
    body = html[start : html.index("</select>", start)]
    values = re.findall(r'<option[^>]*value="(?:user:)?([a-z0-9_.-]+)"', body)
    return [v for v in values if v in wanted]


def test_people_to_choose_are_active_and_sorted_by_pinyin_in_chinese(
    client, login_as, make_user, make_document, store
):
    """Do the person choices — reviewers and approvers at submission, issue recipients and
    custodians, a department's head, an external document's holder, a record's person
    field — offer active people only, by pinyin in Chinese (安娜 陈静 王芳 张伟) and by name
    without regard to case in English?"""
    from app.documents import services as documents
    from app.records import services as records

    for username, name in {**CHINESE, **ENGLISH}.items():
        make_user(username, roles=("approver", "staff"), department="CS", full_name=name)
    make_user("gone", roles=("approver", "staff"), department="CS", full_name="艾离职")
    _user("gone").is_active = False
    db.session.commit()
    draft = make_document()  # QP-CS-001, by `author`: a draft to submit
    doc = make_document(title="已生效的程序", effective=True)
    make_user("root", roles=("admin",), department="QA", language="zh_CN")
    officer = make_user("officer", roles=("officer",), department="QA", language="zh_CN")
    records.create_type(
        db.session,
        officer,
        {
            "code": "R-1",
            "name": "回访记录",
            "department": "QA",
            "retention": {"years": 1, "from": "created"},
            "fields": [{"name": "handler", "label": "处理人", "type": "person"}],
        },
    )
    _user("author").language = "zh_CN"
    documents.add_revision(
        db.session,
        _user("author"),
        draft,
        store,
        change_summary="首次发布",
        change_reason="新文件",
        from_template=True,
    )
    db.session.commit()
    wanted_zh = ["anna", "jing", "fang", "wei"]
    wanted_en = ["cc", "bb", "aa"]
    everyone = set(CHINESE) | set(ENGLISH) | {"gone"}

    def check(html: str, select_name: str, expected: list[str]) -> None:
        offered = _offered(html, select_name, everyone)
        assert "gone" not in offered, select_name
        assert [u for u in offered if u in expected] == expected, (select_name, offered)

    login_as("author")
    submit = client.get("/documents/QP-CS-001/revisions/A0").get_data(as_text=True)
    check(submit, "reviewers", wanted_zh)
    check(submit, "approvers", wanted_zh)
    client.form_post("/logout")

    login_as("officer")
    issue = client.get(f"/documents/{doc.number}/revisions/A0/issue").get_data(as_text=True)
    check(issue, "recipient-0", wanted_zh)
    check(issue, "custodian-0", wanted_zh)
    external = client.get("/external/new").get_data(as_text=True)
    check(external, "holder", wanted_zh)
    record = client.get("/records/new/R-1").get_data(as_text=True)
    check(record, "v.handler", wanted_zh)
    client.form_post("/profile/language", {"language": "en"})
    check(client.get("/external/new").get_data(as_text=True), "holder", wanted_en)
    check(client.get("/records/new/R-1").get_data(as_text=True), "v.handler", wanted_en)
    client.form_post("/logout")

    login_as("root")
    head = client.get("/admin/departments/CS/edit").get_data(as_text=True)
    check(head, "head", wanted_zh)
