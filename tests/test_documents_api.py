"""The documents rows of docs/API.md: the whole workflow over HTTP, errors, permissions, exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.documents.models import Document, Revision
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.signatures.models import Signature
from app.storage import StoredBlob
from tests.conftest import PASSWORD


@pytest.fixture
def team(api_token, make_user):
    make_user("reviewer", roles=("staff",), department="CS", full_name="审核人 Reviewer")
    make_user("boss", roles=("approver",), department="QA", full_name="陈建国")
    return {
        "author": api_token("author", roles=("author", "staff")),
        "reviewer": api_token("reviewer"),
        "boss": api_token("boss"),
        "officer": api_token("officer", roles=("officer",)),
        "staff": api_token("staffer"),
    }


def _counts():
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Document, Revision, Signature, Event, StoredBlob)
    )


def _new_document(client, team, **extra):
    body = {"type": "QP", "department": "CS", "title": "顾客投诉处理程序", **extra}
    r = client.post("/api/v1/documents", json=body, headers=team["author"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _upload(client, team, number, data, name="proc.docx", **form):
    form = {"change_summary": "首次发布", "change_reason": "新程序", **form}
    form["file"] = (io.BytesIO(data), name)
    return client.post(
        f"/api/v1/documents/{number}/revisions",
        data=form,
        headers=team["author"],
        content_type="multipart/form-data",
    )


def test_the_whole_workflow_through_the_api(client, team, make_docx):
    """create → upload → submit → review → approve (signed) → effective, then A/1 supersedes."""
    doc = _new_document(client, team, training_required=True)
    assert doc["number"] == "QP-CS-001" and doc["status"] == "draft"
    assert doc["current_revision"] is None and doc["revisions"] == []

    r = _upload(client, team, "QP-CS-001", make_docx(("服务补救五步法",)))
    assert r.status_code == 201, r.get_json()
    rev = r.get_json()
    assert rev["label"] == "A/0" and rev["status"] == "draft" and len(rev["sha256"]) == 64

    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        json={"reviewers": ["reviewer"], "approvers": ["boss"]},
        headers=team["author"],
    )
    assert r.status_code == 200 and r.get_json()["status"] == "in_review"

    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/review",
        json={"decision": "approve", "password": PASSWORD, "comment": "同意"},
        headers=team["reviewer"],
    )
    assert r.status_code == 200, r.get_json()
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        json={"password": PASSWORD},
        headers=team["boss"],
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "effective"
    assert body["effective_date"] == local_today().isoformat()
    assert [(s["username"], s["meaning"]) for s in body["signatures"]] == [
        ("reviewer", "reviewed"),
        ("boss", "approved"),
    ]
    assert body["signatures"][1]["name"] == "陈建国"
    assert body["signatures"][1]["signed_at"].endswith("Z")

    # the people asked to sign, then the author, were told by mail (the outbox)
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.recipient.username, m.kind) for m in mails] == [
        ("reviewer", "signature_requested"),
        ("boss", "signature_requested"),
        ("author", "revision_effective"),
    ]
    assert "QP-CS-001" in mails[0].subject and "A/0" in mails[0].subject

    doc = client.get("/api/v1/documents/QP-CS-001", headers=team["staff"]).get_json()
    assert doc["status"] == "effective" and doc["current_revision"] == "A/0"
    assert doc["review_due_date"] is not None

    # A staff member may read the effective file.
    r = client.get("/api/v1/documents/QP-CS-001/revisions/A0/file", headers=team["staff"])
    assert r.status_code == 200 and r.data.startswith(b"PK")

    # A minor change from the template: A/1, effective, A/0 superseded.
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions",
        json={
            "from_template": True,
            "change_summary": "回访时限改为24小时",
            "change_type": "minor",
        },
        headers=team["author"],
    )
    assert r.status_code == 201 and r.get_json()["label"] == "A/1"
    client.post(
        "/api/v1/documents/QP-CS-001/revisions/A1/submit",
        json={"approvers": ["boss"]},
        headers=team["author"],
    )
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A1/approve",
        json={"password": PASSWORD},
        headers=team["boss"],
    )
    assert r.get_json()["status"] == "effective"
    doc = client.get("/api/v1/documents/QP-CS-001", headers=team["officer"]).get_json()
    assert [(r["label"], r["status"]) for r in doc["revisions"]] == [
        ("A/0", "superseded"),
        ("A/1", "effective"),
    ]
    # Staff see only the revision in force.
    doc = client.get("/api/v1/documents/QP-CS-001", headers=team["staff"]).get_json()
    assert [r["label"] for r in doc["revisions"]] == ["A/1"]
    r = client.get("/api/v1/documents/QP-CS-001/revisions/A0", headers=team["staff"])
    assert r.status_code == 404


def test_future_effective_date_leaves_it_approved(client, team, make_docx):
    _new_document(client, team)
    _upload(client, team, "QP-CS-001", make_docx())
    client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        json={"approvers": ["boss"]},
        headers=team["author"],
    )
    later = (local_today() + timedelta(days=10)).isoformat()
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        json={"password": PASSWORD, "effective_date": later},
        headers=team["boss"],
    )
    assert r.get_json()["status"] == "approved" and r.get_json()["effective_date"] == later


def test_a_wrong_password_is_403_and_signs_nothing(client, team, make_docx):
    _new_document(client, team)
    _upload(client, team, "QP-CS-001", make_docx())
    client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        json={"approvers": ["boss"]},
        headers=team["author"],
    )
    before = _counts()
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        json={"password": "not-my-password"},
        headers={**team["boss"], "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "signature_failed"
    assert "密码" in r.get_json()["error"]["message"]
    assert _counts()[:3] == before[:3]  # no document, revision or signature change
    rev = client.get("/api/v1/documents/QP-CS-001/revisions/A0", headers=team["boss"]).get_json()
    assert rev["status"] == "in_review" and rev["signatures"] == []


def test_an_illegal_transition_is_409_and_changes_nothing(client, team, make_docx):
    _new_document(client, team)
    _upload(client, team, "QP-CS-001", make_docx())
    before = _counts()
    # approving a draft that was never submitted
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/approve",
        json={"password": PASSWORD},
        headers={**team["officer"], "Accept-Language": "en"},
    )
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "invalid_transition"
    assert "not in review" in r.get_json()["error"]["message"]
    # withdrawing a document that has nothing in force
    r = client.post(
        "/api/v1/documents/QP-CS-001/withdraw",
        json={"reason": "不再使用", "password": PASSWORD},
        headers=team["officer"],
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_transition"
    assert _counts() == before


@pytest.mark.parametrize(
    ("data", "name", "field"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "procedure.docx", "file"),  # a renamed .exe
        (b"PK\x03\x04" + b"\x00" * 100, "broken.docx", "file"),  # a corrupt .docx
    ],
)
def test_a_malformed_upload_is_400_and_writes_nothing(client, team, data, name, field):
    _new_document(client, team)
    before = _counts()
    r = _upload(client, team, "QP-CS-001", data, name=name)
    assert r.status_code == 400
    assert field in r.get_json()["error"]["fields"]
    assert _counts() == before


def test_an_oversized_upload_is_refused_and_writes_nothing(app, client, team, make_docx):
    app.config["MAX_CONTENT_LENGTH"] = 20_000
    _new_document(client, team)
    before = _counts()
    r = _upload(client, team, "QP-CS-001", make_docx(("x" * 10,)) + b"\x00" * 30_000)
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "too_large"
    assert _counts() == before


def test_bad_input_names_the_fields(client, team):
    r = client.post("/api/v1/documents", json={"type": "QP", "title": ""}, headers=team["author"])
    assert r.status_code == 400 and "title" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/documents", json=["not", "an", "object"], headers=team["author"])
    assert r.status_code == 400
    r = client.post(
        "/api/v1/documents",
        json={"type": "QP", "title": "X", "department": "CS", "review_interval_months": "often"},
        headers=team["author"],
    )
    assert r.status_code == 400 and "review_interval_months" in r.get_json()["error"]["fields"]
    r = client.get("/api/v1/documents?status=bogus", headers=team["author"])
    assert r.status_code == 400


def test_permissions(client, team, make_docx, make_document):
    # staff cannot register documents; an author only in their own department
    r = client.post(
        "/api/v1/documents",
        json={"type": "QP", "department": "CS", "title": "X"},
        headers=team["staff"],
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/documents",
        json={"type": "QP", "department": "QA", "title": "X"},
        headers=team["author"],
    )
    assert r.status_code == 403
    # a confidential document of another department does not exist for staff elsewhere
    make_document(
        department="CS", title="内部价格表", effective=True, confidentiality="confidential"
    )
    qa_staff = team["boss"]  # a QA approver, not involved in the CS document
    number = db.session.scalar(select(Document.number).where(Document.title == "内部价格表"))
    assert client.get(f"/api/v1/documents/{number}", headers=qa_staff).status_code == 404
    listed = client.get("/api/v1/documents?q=内部", headers=qa_staff).get_json()
    assert listed["total"] == 0
    # the CS staff member sees it
    assert client.get(f"/api/v1/documents/{number}", headers=team["staff"]).status_code == 200
    # a draft is not visible to staff, but to its author
    _new_document(client, team, title="草稿程序")
    assert client.get("/api/v1/documents/QP-CS-002", headers=team["staff"]).status_code == 404
    assert client.get("/api/v1/documents/QP-CS-002", headers=team["author"]).status_code == 200
    # only the officer withdraws
    r = client.post(
        f"/api/v1/documents/{number}/withdraw",
        json={"reason": "x", "password": PASSWORD},
        headers=team["staff"],
    )
    assert r.status_code == 403


def test_master_list_json_csv_xlsx(client, team, make_document):
    make_document(title="文件控制程序", effective=True)
    make_document(title="草稿", effective=False)
    body = client.get("/api/v1/master-list", headers=team["staff"]).get_json()
    assert [row["title"] for row in body["items"]] == ["文件控制程序"]
    assert body["items"][0]["revision"] == "A/0"

    r = client.get(
        "/api/v1/master-list?format=csv", headers={**team["staff"], "Accept-Language": "zh-CN"}
    )
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and rows[1][1] == "文件控制程序" and rows[1][5] == "A/0"

    r = client.get(
        "/api/v1/master-list?format=xlsx", headers={**team["officer"], "Accept-Language": "en"}
    )
    sheet = load_workbook(io.BytesIO(r.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Number", "Title"]
    assert {sheet.cell(row=i, column=2).value for i in range(2, sheet.max_row + 1)} == {
        "文件控制程序"
    }
    everything = client.get("/api/v1/master-list?status=all", headers=team["officer"]).get_json()
    assert everything["total"] == 2
    r = client.get("/api/v1/master-list?format=doc", headers=team["officer"])
    assert r.status_code == 400


def test_document_types_are_edited_by_the_administrator(client, team, api_token):
    admin = api_token("root", roles=("admin",))
    r = client.patch(
        "/api/v1/document-types/WI",
        json={"number_pattern": "{type}{seq:04}"},
        headers=team["officer"],
    )
    assert r.status_code == 403
    r = client.patch(
        "/api/v1/document-types/WI", json={"number_pattern": "{type}-{dept}"}, headers=admin
    )
    assert r.status_code == 400 and "number_pattern" in r.get_json()["error"]["fields"]
    r = client.patch(
        "/api/v1/document-types/WI",
        json={"number_pattern": "{type}-{dept}-{yyyy}-{seq:03}", "review_interval_months": 12},
        headers=admin,
    )
    assert r.status_code == 200, r.get_json()
    r = client.post(
        "/api/v1/documents",
        json={"type": "WI", "department": "CS", "title": "热线接听"},
        headers=team["author"],
    )
    assert r.get_json()["number"] == f"WI-CS-{local_today().year}-001"
    assert r.get_json()["review_interval_months"] == 12


def test_an_unknown_or_hidden_parent_is_a_field_error(client, team, make_document, make_user):
    qa_author = make_user("qa_author", roles=("author",), department="QA")
    hidden = make_document(
        department="QA",
        title="保密程序",
        confidentiality="confidential",
        effective=True,
        author=qa_author,
    )
    for parent in ("QP-XX-999", hidden.number):
        r = client.post(
            "/api/v1/documents",
            json={"type": "F", "title": "登记表", "parent": parent},
            headers=team["author"],
        )
        assert r.status_code == 400 and "parent" in r.get_json()["error"]["fields"], parent


def test_bad_input_is_a_400_in_the_error_shape_never_a_500(client, team, make_docx):
    """Are a list for an object, a wrong type, an unknown choice, a huge page and a NUL
    character (in a body, a query or a path) each a 400 or 404 naming the problem, on
    SQLite and PostgreSQL alike, with nothing written?"""
    _new_document(client, team)
    _upload(client, team, "QP-CS-001", make_docx())
    before = _counts()
    nul = "QP\x00"
    cases = [
        ("post", "/api/v1/documents/QP-CS-001/revisions/A0/submit", ["boss"], "body"),
        ("post", "/api/v1/documents/QP-CS-001/revisions/A0/submit", {"approvers": 5}, "approvers"),
        ("post", "/api/v1/documents/QP-CS-001/revisions/A0/cancel", {"reason": [1]}, "reason"),
        ("post", "/api/v1/documents", {"type": "QP", "title": nul, "department": "CS"}, "title"),
        ("post", "/api/v1/documents", {"type": nul, "title": "X", "department": "CS"}, "type"),
        ("patch", "/api/v1/documents/QP-CS-001", {"title_en": nul}, "title_en"),
        ("post", "/api/v1/documents/QP-CS-001/revisions/A0/submit", {"approvers": "a;b\x00"}, None),
        ("post", "/api/v1/documents/QP-CS-001/revisions/A0/approve", {"effective_date": 5}, None),
    ]
    for method, url, body, field in cases:
        r = getattr(client, method)(url, json=body, headers=team["officer"])
        assert r.status_code == 400, (url, body, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "validation_failed" and error["message"], (url, body)
        assert field is None or field in error["fields"], (url, body, error)
    for query, field in [
        ("documents?page=1000000000000", "page"),
        ("documents?q=%00", "q"),
        ("documents?department=CS%00", "department"),
        ("master-list?q=%00", "q"),
        ("users?active=maybe", "active"),
        ("users?department=%00", "department"),
        ("departments?page=1000000000000", "page"),
    ]:
        r = client.get(f"/api/v1/{query}", headers=team["officer"])
        assert r.status_code == 400 and field in r.get_json()["error"]["fields"], query
    for method, url in [
        ("get", "/api/v1/documents/QP-CS-001%00"),
        ("get", "/api/v1/documents/QP-CS-001/revisions/A%00"),
        ("post", "/api/v1/documents/%00/withdraw"),
        ("patch", "/api/v1/document-types/QP%00"),
    ]:
        r = getattr(client, method)(url, json={}, headers=team["officer"])
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", url
    assert _counts() == before


def test_a_document_type_can_be_set_to_level_0(client, api_token):
    """Can the administrator put a type on level 0 (what an absent level leaves alone)?"""
    admin = api_token("root", roles=("admin",))
    r = client.patch("/api/v1/document-types/QM", json={"level": 0}, headers=admin)
    assert r.status_code == 200 and r.get_json()["level"] == 0, r.get_json()
    r = client.patch("/api/v1/document-types/QM", json={"name_en": "Manual"}, headers=admin)
    assert r.get_json()["level"] == 0 and r.get_json()["name_en"] == "Manual"


def test_submit_takes_usernames_as_a_list_or_one_separated_string(client, team, make_docx):
    """Are reviewers and approvers read from one string separated by commas or semicolons
    as well as from a list?"""
    _new_document(client, team)
    _upload(client, team, "QP-CS-001", make_docx())
    r = client.post(
        "/api/v1/documents/QP-CS-001/revisions/A0/submit",
        json={"reviewers": "reviewer; ", "approvers": " boss"},
        headers=team["author"],
    )
    assert r.status_code == 200, r.get_json()
    assert [(p["username"], p["role"]) for p in r.get_json()["participants"]] == [
        ("reviewer", "reviewer"),
        ("boss", "approver"),
    ]
