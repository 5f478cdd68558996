"""English names: departments, document types, record types and documents carry an
English name beside the Chinese one; the English UI, PDFs, exports and mail use it and fall
back to the Chinese one."""

from __future__ import annotations

import csv
import io

from pypdf import PdfReader
from sqlalchemy import select

from app.documents.models import Document
from app.extensions import db
from app.notifications.models import OutboxMessage
from app.people.models import Department


def _document(client, headers, **extra):
    body = {"type": "QP", "department": "CS", "title": "顾客投诉处理程序", **extra}
    response = client.post("/api/v1/documents", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_administrator_gives_a_department_its_english_name(login_as):
    """Does the department form take an English name, the list show it, and the English
    UI use it (while the Chinese UI keeps the Chinese name)?"""
    admin = login_as("root", roles=("admin",), department=None, language="en")
    response = admin.form_post(
        "/admin/departments/new",
        {"code": "HR", "name": "人力资源部", "name_en": "Human Resources", "head": ""},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    dept = db.session.scalar(select(Department).where(Department.code == "HR"))
    assert (dept.name, dept.name_en) == ("人力资源部", "Human Resources")
    listing = admin.get("/admin/departments").get_data(as_text=True)
    assert "Human Resources" in listing and "人力资源部" in listing
    # editing without touching the English name keeps it; clearing it clears it
    admin.form_post(
        "/admin/departments/HR/edit",
        {"code": "HR", "name": "人力资源部", "name_en": "", "head": "", "is_active": "y"},
    )
    db.session.expire_all()
    assert db.session.get(Department, dept.id).name_en is None


def test_a_document_reads_in_the_readers_language(client, api_token, login_as, make_user):
    """Does the English UI show the English title, department and type names, the Chinese
    UI the Chinese ones, and a document without an English title its Chinese title?"""
    make_user("cs_author", roles=("author", "staff"), department="CS")
    db.session.execute(
        Department.__table__.update()
        .where(Department.code == "CS")
        .values(name="客户服务部", name_en="Customer Service")
    )
    db.session.commit()
    author = api_token("cs_author")
    with_english = _document(client, author, title_en="Customer Complaint Handling Procedure")
    assert with_english["title_en"] == "Customer Complaint Handling Procedure"
    without = _document(client, author, title="服务补救程序")
    assert without["title_en"] is None

    english = login_as("eve", roles=("officer",), department="QA", language="en")
    page = english.get(f"/documents/{with_english['number']}").get_data(as_text=True)
    assert "Customer Complaint Handling Procedure" in page
    assert "Customer Service" in page
    assert "Procedure" in page  # the type's English name
    listing = english.get("/documents?status=all").get_data(as_text=True)
    assert "Customer Complaint Handling Procedure" in listing
    assert "服务补救程序" in listing  # no English title: the Chinese one

    english.form_post("/logout")
    chinese = login_as("wang", roles=("officer",), department="QA", language="zh_CN")
    page = chinese.get(f"/documents/{with_english['number']}").get_data(as_text=True)
    assert "顾客投诉处理程序" in page and "客户服务部" in page


def test_the_officer_sets_the_english_title_later(client, api_token, login_as, make_user):
    """Can the officer give an existing document an English title (API and page), audited,
    while others may not and a too-long title is refused in the reader's language?"""
    make_user("cs_author", roles=("author", "staff"), department="CS")
    number = _document(client, api_token("cs_author"))["number"]
    officer = api_token("officer", roles=("officer",))
    response = client.patch(
        f"/api/v1/documents/{number}", json={"title_en": "Complaint Procedure"}, headers=officer
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title_en"] == "Complaint Procedure"
    refused = client.patch(
        f"/api/v1/documents/{number}", json={"title_en": "x"}, headers=api_token("cs_author")
    )
    assert refused.status_code == 403
    too_long = client.patch(
        f"/api/v1/documents/{number}",
        json={"title_en": "x" * 201},
        headers={**officer, "Accept-Language": "zh-CN"},
    )
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["message"] == "标题过长。"
    trail = client.get(f"/api/v1/audit-trail?object=document:{number}", headers=officer)
    assert any(e["after"] == {"title_en": "Complaint Procedure"} for e in trail.get_json()["items"])

    page = login_as("wang", roles=("officer",), department="QA", language="zh_CN")
    response = page.form_post(f"/documents/{number}/english-title", {"title_en": "Complaints"})
    assert response.status_code == 302
    assert db.session.scalar(select(Document.title_en).where(Document.number == number)) == (
        "Complaints"
    )


def test_exports_and_prints_use_the_english_names(
    client, api_token, login_as, make_document, make_user
):
    """Does the master list's CSV in English carry the English title, in Chinese the
    Chinese one, and a PDF printed in English the English title on its cover?"""
    doc = make_document(effective=True)
    doc.title_en = "Customer Complaint Handling Procedure"
    db.session.commit()
    english = login_as("eve", roles=("officer",), department="QA", language="en")
    rows = list(
        csv.reader(io.StringIO(english.get("/master-list?format=csv").data.decode("utf-8-sig")))
    )
    assert rows[1][1] == "Customer Complaint Handling Procedure"
    cover = PdfReader(io.BytesIO(english.get(f"/documents/{doc.number}/revisions/A0/pdf").data))
    assert "Customer Complaint Handling Procedure" in cover.pages[0].extract_text()

    english.form_post("/logout")
    chinese = login_as("wang", roles=("officer",), department="QA", language="zh_CN")
    rows = list(
        csv.reader(io.StringIO(chinese.get("/master-list?format=csv").data.decode("utf-8-sig")))
    )
    assert rows[1][1] == "客户投诉处理程序"


def test_mail_names_the_document_in_the_recipients_language(
    client, api_token, make_user, make_docx
):
    """Does a reviewer who reads English get the English title in the mail asking them to
    sign, and a Chinese reader the Chinese title?"""
    make_user("cs_author", roles=("author", "staff"), department="CS")
    make_user("emma", roles=("staff",), department="CS", language="en")
    make_user("li", roles=("staff",), department="CS", language="zh_CN")
    make_user("boss", roles=("approver",), department="QA")
    author = api_token("cs_author")
    number = _document(client, author, title_en="Complaint Procedure")["number"]
    upload = client.post(
        f"/api/v1/documents/{number}/revisions",
        data={
            "change_summary": "首次发布",
            "change_reason": "新程序",
            "file": (io.BytesIO(make_docx(("程序",))), "proc.docx"),
        },
        headers=author,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    submitted = client.post(
        f"/api/v1/documents/{number}/revisions/A0/submit",
        json={"reviewers": ["emma", "li"], "approvers": ["boss"]},
        headers=author,
    )
    assert submitted.status_code == 200, submitted.get_json()
    bodies = {
        m.recipient.username: m.body
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "signature_requested")
        )
    }
    assert "Complaint Procedure" in bodies["emma"]
    assert "顾客投诉处理程序" in bodies["li"] and "Complaint Procedure" not in bodies["li"]


def test_search_finds_a_document_by_either_title(client, api_token, login_as, make_document):
    """Does the search find an effective document by its English title as well as its
    Chinese one, and show the English title to an English reader?"""
    doc = make_document(effective=True)
    doc.title_en = "Customer Complaint Handling Procedure"
    db.session.commit()
    headers = api_token("officer", roles=("officer",))
    english = client.get("/api/v1/search?q=complaint handling", headers=headers).get_json()
    assert [(h["number"], h["title"], h["title_en"]) for h in english["items"]] == [
        (doc.number, "客户投诉处理程序", "Customer Complaint Handling Procedure")
    ]
    chinese = client.get("/api/v1/search?q=投诉处理", headers=headers).get_json()
    assert [h["number"] for h in chinese["items"]] == [doc.number]
    page = login_as("eve", roles=("officer",), department="QA", language="en")
    html = page.get("/search?q=complaint").get_data(as_text=True)
    assert "Customer Complaint Handling Procedure" in html
