"""One unit of work per request: views never commit, the request commits once after its
answer (an error answer rolls back), and side effects run only after a commit — mail, file
removals, index updates and slow layouts never happen for a rolled-back request or inside
its transaction."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from app import unit_of_work
from app.documents.models import Document, Revision
from app.extensions import db
from app.notifications import services as mail
from app.notifications.models import OutboxMessage
from app.people.models import User
from app.search.models import SearchQueueItem
from app.storage import store_bytes


@pytest.fixture
def app_config(app_config):
    """Uploads laid out after their commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_LAY_OUT_UPLOADS": True}


ROOT = Path(__file__).resolve().parent.parent


def test_no_view_commits():
    """Does no routes.py or api.py call session.commit() (the request commits)?"""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for pattern in ("*/routes.py", "*/api.py")
        for path in (ROOT / "app").glob(pattern)
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"session\.commit\(\)", line)
    ]
    assert found == []


def _write_everything(store, content: bytes):
    """In the request's transaction: a mail, a document (an index update), a stored file
    whose removal is queued after commit."""
    from app.documents import services as documents
    from app.people.models import Department

    user = db.session.scalar(select(User).where(User.username == "alice"))
    mail.queue(db.session, user, kind="test", subject="Test", body="Test")
    blob = store_bytes(db.session, store, content)
    unit_of_work.after_commit(db.session, lambda: store.remove(blob.sha256))
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    documents.create_document(db.session, user, type_code="QP", title="事务内", department=cs)
    return blob.sha256


def test_a_rolled_back_request_sends_no_mail_removes_no_file_indexes_nothing(
    app, client, store, make_user
):
    """Does an answer of 400 roll the request's writes back, its queued mail, index keys
    and file removal with them — and does a 200 commit them all, the removal after?"""
    make_user("alice", roles=("officer",))
    shas = {}

    def failing():
        shas["failed"] = _write_everything(store, b"kept file")
        return "refused", 400

    def succeeding():
        shas["done"] = _write_everything(store, b"doomed file")
        return "ok", 200

    app.add_url_rule("/test/failing", "test_failing", failing, methods=["POST"])
    app.add_url_rule("/test/succeeding", "test_succeeding", succeeding, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False

    def counts():
        db.session.rollback()
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (OutboxMessage, Document, SearchQueueItem)
        )

    before = counts()
    assert client.post("/test/failing").status_code == 400
    assert counts() == before
    assert store.path_for(shas["failed"]).exists()  # the removal never ran
    assert client.post("/test/succeeding").status_code == 200
    outbox, documents, queued = counts()
    assert (outbox, documents) == (before[0] + 1, before[1] + 1) and queued > before[2]
    assert not store.path_for(shas["done"]).exists()  # removed after the commit


def test_a_failed_commit_is_an_error_answer_not_a_500(app, client, make_user):
    """When the request's commit itself fails (two requests wrote the same unique value),
    is the answer a 409 in the caller's language, with nothing written?"""
    make_user("alice")

    def duplicate():
        from app.people.models import Department

        db.session.add(Department(code="CS", name="重复"))  # flushed by the commit
        return "written", 200

    app.add_url_rule("/test/duplicate", "test_duplicate", duplicate, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/test/duplicate", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 409
    assert "冲突" in response.get_data(as_text=True)


def test_the_printed_page_count_is_laid_out_after_the_upload_commits(
    app, store, make_document, make_docx, monkeypatch
):
    """Is a .docx laid out (to count its printed pages) only once the upload's transaction
    has committed — the revision is visible to another connection by then — and is the
    count stored?"""
    from app.documents import printing
    from app.documents import services as documents
    from app.uploads import check_upload

    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    seen = []
    real = printing.docx_page_count
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])

    def counting(store_, sha256):
        with other.connect() as conn:  # another connection: sees committed rows only
            seen.append(conn.scalar(select(func.count(Revision.id))))
        return real(store_, sha256) + 1000  # unmistakably the after-commit count

    monkeypatch.setattr(printing, "docx_page_count", counting)
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="初稿",
        change_reason="新文件",
        upload=check_upload(make_docx(("正文",)), "a.docx", max_bytes=10**7),
    )
    assert seen == []  # not inside the transaction
    db.session.commit()
    other.dispose()
    assert seen == [1]
    db.session.expire_all()
    assert db.session.get(Revision, rev.id).page_count > 1000


def test_an_unusable_index_says_search_is_being_rebuilt(app, client, api_token, make_document):
    """With no usable index and no time to wait, does a search answer 503 "being rebuilt"
    (API and page, in the reader's language) while a rebuild runs outside the request, and
    find the document once it is done?"""
    from app.search import sync

    make_document(effective=True)
    headers = api_token("officer", roles=("officer",))
    app.config["QDMS_SEARCH_REBUILD_WAIT"] = 0
    store = sync.store_for(app)
    gate = threading.Event()
    real = sync.rebuild

    def slow_rebuild(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    sync.rebuild = slow_rebuild
    try:
        r = client.get("/api/v1/search?q=投诉", headers={**headers, "Accept-Language": "zh-CN"})
        assert r.status_code == 503
        assert r.get_json()["error"] == {
            "code": "search_rebuilding",
            "message": "检索索引正在重建，请过几分钟再试。",
        }
    finally:
        sync.rebuild = real
        gate.set()
    sync.rebuild_in_background(db.engine, store, "test").join(60)
    app.config["QDMS_SEARCH_REBUILD_WAIT"] = 60
    found = client.get("/api/v1/search?q=投诉", headers=headers).get_json()
    assert found["total"] == 1
