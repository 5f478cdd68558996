"""The document screens: the signed workflow through real forms, errors, lists, exports."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.documents.models import Document, Revision
from app.extensions import db, local_today
from app.signatures.models import Signature
from app.storage import StoredBlob
from tests.conftest import PASSWORD


def _as(client, login_as, username, roles=("staff",), **kw):
    client.form_post("/logout")
    return login_as(username, roles=roles, **kw)


def _counts():
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Document, Revision, Signature, StoredBlob)
    )


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_workflow_through_the_screens(client, login_as, make_user, make_docx):
    make_user("reviewer", roles=("staff",), full_name="审核人 Reviewer")
    make_user("boss", roles=("approver",), department="QA", full_name="陈建国")
    login_as("author", roles=("author", "staff"))

    r = client.form_post(
        "/documents/new",
        {
            "type": "QP",
            "department": "CS",
            "title": "顾客投诉处理程序",
            "confidentiality": "internal",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(
        "/documents/QP-CS-001/revisions/new"
    )

    r = client.form_post(
        "/documents/QP-CS-001/revisions/new",
        {
            "change_type": "minor",
            "change_summary": "首次发布",
            "change_reason": "建立投诉处理流程",
            "source": "upload",
            "file": (io.BytesIO(make_docx(("一、道歉", "二、紧急复原"))), "程序.docx"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, _html(r)
    page = _html(client.get("/documents/QP-CS-001/revisions/A0"))
    assert "二、紧急复原" in page  # the .docx shown inline (mammoth)
    assert 'id="submit-panel"' in page

    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/submit",
        {"reviewers": ["reviewer"], "approvers": ["boss"]},
    )
    assert r.status_code == 302, _html(r)

    _as(client, login_as, "reviewer")
    assert "QP-CS-001" in _html(client.get("/my-work"))
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/review",
        {"decision": "approve", "comment": "同意", "password": PASSWORD},
    )
    assert r.status_code == 302, _html(r)

    _as(client, login_as, "boss", roles=("approver",), department="QA")
    before = _counts()
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/approve",
        {"decision": "approve", "password": "wrong-password"},
    )
    assert r.status_code == 403
    assert 'id="approve-panel"' in _html(r) and "is-invalid" in _html(r)
    assert _counts() == before
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/approve", {"decision": "approve", "password": PASSWORD}
    )
    assert r.status_code == 302

    page = _html(client.get("/documents/QP-CS-001"))
    assert "status-effective" in page
    # every signature on screen: printed name, meaning, time
    assert "陈建国" in page and "审核人 Reviewer" in page
    assert 'data-meaning="approved"' in page and 'data-meaning="reviewed"' in page
    assert f"{local_today():%Y-%m-%d}" in page


def _in_review(make_user, make_document, store, make_docx):
    """QP-CS-001 A/0 by ``author``, waiting for approver ``boss``."""
    from app.documents import services
    from app.uploads import check_upload

    boss = make_user("boss", roles=("approver",), department="QA", full_name="陈建国")
    doc = make_document()
    rev = services.add_revision(
        db.session,
        doc.created_by,
        doc,
        store,
        change_summary="首次发布",
        change_reason="新程序",
        upload=check_upload(make_docx(("服务补救",)), "a.docx", max_bytes=10**7),
    )
    services.submit(db.session, doc.created_by, rev, reviewers=[], approvers=[boss])
    db.session.commit()
    return doc


def test_rejection_returns_the_draft_with_comments(
    client, login_as, make_user, make_document, store, make_docx
):
    _in_review(make_user, make_document, store, make_docx)
    login_as("boss")
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/approve", {"decision": "reject", "password": PASSWORD}
    )
    assert r.status_code == 400  # a rejection needs its reason
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/approve",
        {"decision": "reject", "comment": "第三步缺少时限", "password": PASSWORD},
    )
    assert r.status_code == 302
    _as(client, login_as, "author")
    page = _html(client.get("/documents/QP-CS-001/revisions/A0"))
    assert 'id="rejection"' in page and "第三步缺少时限" in page
    assert "QP-CS-001" in _html(client.get("/my-work"))


def test_bad_uploads_and_illegal_actions_are_4xx_and_write_nothing(
    client, login_as, make_user, make_document, store, make_docx
):
    _in_review(make_user, make_document, store, make_docx)
    make_document(title="文件控制程序")  # QP-CS-002, no revision yet
    login_as("author")
    before = _counts()
    for data, name in (
        (b"MZ\x90\x00" + b"\x00" * 300, "setup.docx"),  # a renamed .exe
        (b"PK\x03\x04broken", "broken.docx"),  # a corrupt .docx
    ):
        r = client.form_post(
            "/documents/QP-CS-002/revisions/new",
            {
                "change_type": "minor",
                "change_summary": "首次发布",
                "change_reason": "新程序",
                "source": "upload",
                "file": (io.BytesIO(data), name),
            },
            content_type="multipart/form-data",
        )
        assert r.status_code == 400, name
        assert "is-invalid" in _html(r)
    assert _counts() == before
    # cancelling a revision that is in review is not in the table: 409, nothing changes
    r = client.form_post("/documents/QP-CS-001/revisions/A0/cancel", {"reason": "不要了"})
    assert r.status_code == 409
    assert _counts() == before
    # the author cannot sign their own revision
    r = client.form_post(
        "/documents/QP-CS-001/revisions/A0/approve", {"decision": "approve", "password": PASSWORD}
    )
    assert r.status_code == 403
    assert _counts() == before


def test_lists_filters_and_exports(client, login_as, make_document):
    make_document(title="顾客投诉处理程序", effective=True)
    make_document(type_code="WI", title="热线接听作业指导书", effective=True)
    make_document(title="内部价格表", effective=True, confidentiality="confidential")
    make_document(
        department="QA", title="质量部保密规定", effective=True, confidentiality="confidential"
    )
    login_as("staffer")  # CS staff
    page = _html(client.get("/documents"))
    assert "顾客投诉处理程序" in page and "内部价格表" in page
    assert "质量部保密规定" not in page  # another department's confidential document
    page = _html(client.get("/documents?type=WI"))
    assert "热线接听作业指导书" in page and "顾客投诉处理程序" not in page
    page = _html(client.get("/documents?q=投诉"))
    assert "顾客投诉处理程序" in page and "热线接听" not in page
    r = client.get("/documents?q=qp-cs-001")  # a number typed exactly opens it
    assert r.status_code == 302 and r.headers["Location"].endswith("/documents/QP-CS-001")
    hidden = db.session.scalar(select(Document.number).where(Document.title == "质量部保密规定"))
    assert client.get(f"/documents/{hidden}").status_code == 404
    assert client.get(f"/documents?q={hidden}").status_code == 200  # no jump, no leak
    page = _html(client.get("/master-list"))
    assert "顾客投诉处理程序" in page and "质量部保密规定" not in page
    r = client.get("/master-list?format=xlsx")
    assert r.status_code == 200 and r.data.startswith(b"PK")
    assert client.get("/master-list?format=exe").status_code == 400


def test_document_types_page_is_for_the_administrator(client, login_as):
    login_as("root", roles=("admin",))
    assert "{type}-{dept}-{seq:03}" in _html(client.get("/admin/document-types"))
    r = client.form_post(
        "/admin/document-types/SP/edit",
        {
            "name": "服务规范",
            "name_en": "Service standard",
            "level": "3",
            "number_pattern": "{type}-{seq}-{seq}",
            "review_interval_months": "24",
            "retention_years": "3",
            "retention_from": "superseded",
            "is_active": "y",
        },
    )
    assert r.status_code == 400 and "is-invalid" in _html(r)
    r = client.form_post(
        "/admin/document-types/SP/edit",
        {
            "name": "服务规范",
            "name_en": "Service standard",
            "level": "3",
            "number_pattern": "SS-{dept}-{seq:02}",
            "review_interval_months": "36",
            "retention_years": "5",
            "retention_from": "created",
            "is_active": "y",
        },
    )
    assert r.status_code == 302
    assert "SS-{dept}-{seq:02}" in _html(client.get("/admin/document-types"))


def test_the_dashboard_counts_my_work_and_what_is_due(
    client, login_as, make_user, make_document, store, make_docx
):
    _in_review(make_user, make_document, store, make_docx)
    make_document(title="文件控制程序", effective=True)
    login_as("boss")
    page = _html(client.get("/"))
    assert 'id="count-signatures-waiting">1<' in page
    assert 'id="count-effective">1<' in page
    assert "count-reviews-due" not in page  # for the quality officer only
    _as(client, login_as, "qa", roles=("officer",), department="QA")
    page = _html(client.get("/"))
    assert 'id="count-reviews-due">0<' in page and 'id="count-currency-checks-due">0<' in page


def test_the_document_page_links_the_external_documents_it_cites(
    client, login_as, make_user, make_document
):
    from app.external import services as external

    officer = make_user("qa", roles=("officer",), department="QA")
    doc = make_document(title="质量手册", effective=True)
    ext = external.register(
        db.session,
        officer,
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="SAC",
        kind="standard",
        department=officer.department,
        holder=officer,
        edition="2016",
    )
    external.cite(db.session, officer, ext, doc.number)
    db.session.commit()
    login_as("staffer")
    r = client.get(f"/documents/{doc.number}")
    assert r.status_code == 200
    assert f'href="/external/{ext.number}"' in _html(r) and "GB/T 19001-2016" in _html(r)


def test_history_heading_names_the_change_summary(client, login_as, make_document):
    """Does the revision history head its summary column "Change summary" / 更改摘要 (the
    column shows the summary, not the kind of change)?"""
    make_document(effective=True)
    login_as("officer", roles=("officer",), department="QA", language="en")
    page = _html(client.get("/documents/QP-CS-001"))
    head = page[page.index('id="revisions"') :].split("</thead>")[0]
    assert "<th>Change summary</th>" in head and "<th>Change</th>" not in head
    client.form_post("/profile/language", {"language": "zh_CN"})
    page = _html(client.get("/documents/QP-CS-001"))
    head = page[page.index('id="revisions"') :].split("</thead>")[0]
    assert "<th>更改摘要</th>" in head and "更改类型" not in head


def test_a_draft_from_the_template_is_named_after_its_number_and_revision(
    client, login_as, make_document
):
    """Is a draft made from the type's template stored and downloaded as
    `QP-CS-001-A1.docx` (not `1.docx`: the `/` of `A/1` is no folder)?"""
    make_document(effective=True)
    login_as("author", roles=("author", "staff"))
    r = client.form_post(
        "/documents/QP-CS-001/revisions/new",
        {
            "change_type": "minor",
            "change_summary": "回访时限",
            "change_reason": "顾客反馈",
            "source": "template",
        },
    )
    assert r.status_code == 302, _html(r)
    revision = db.session.scalar(select(Revision).where(Revision.minor == 1))
    assert revision.file_name == "QP-CS-001-A1.docx"
    download = client.get("/documents/QP-CS-001/revisions/A1/file")
    assert download.status_code == 200 and download.data.startswith(b"PK")
    assert download.headers["Content-Disposition"] == "attachment; filename=QP-CS-001-A1.docx"
    assert "QP-CS-001-A1.docx" in _html(client.get("/documents/QP-CS-001/revisions/A1"))
