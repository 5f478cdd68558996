"""Document numbers: per-scheme sequences, forms under their parent, atomic under load."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.documents import services
from app.documents.models import Document
from app.errors import ValidationFailed
from app.extensions import db
from app.people.models import Department, User


def test_numbers_follow_the_type_and_department_scheme(make_document, make_department):
    """Do numbers count per type and department: QP-CS-001, QP-CS-002, QP-QA-001, WI-CS-001?"""
    make_department("QA", "质量管理部")
    numbers = [
        make_document("QP", "CS").number,
        make_document("QP", "CS").number,
        make_document("QP", "QA").number,
        make_document("WI", "CS").number,
    ]
    assert numbers == ["QP-CS-001", "QP-CS-002", "QP-QA-001", "WI-CS-001"]


def test_forms_are_numbered_under_their_parent(make_document):
    """Is a form numbered {parent}-Fnn, counting per parent, in the parent's department?"""
    make_document("QP", "CS")
    make_document("QP", "CS")
    f1 = make_document("F", None, title="客户投诉登记表", parent="QP-CS-001")
    f2 = make_document("F", None, title="回访记录表", parent="QP-CS-001")
    f3 = make_document("F", None, title="其他表", parent="QP-CS-002")
    assert [f1.number, f2.number, f3.number] == ["QP-CS-001-F01", "QP-CS-001-F02", "QP-CS-002-F01"]
    assert f1.department.code == "CS" and f1.parent.number == "QP-CS-001"


def test_a_form_needs_a_parent_and_cannot_parent(make_document):
    """Is a form without a parent refused, and a form as a parent refused?"""
    make_document("QP", "CS")
    with pytest.raises(ValidationFailed) as err:
        make_document("F", "CS", title="孤立表单")
    assert "parent" in err.value.fields
    make_document("F", None, title="表", parent="QP-CS-001")
    with pytest.raises(ValidationFailed):
        make_document("F", None, title="表中表", parent="QP-CS-001-F01")


def test_numbers_are_never_reused_after_a_cancelled_draft(make_document, store, make_docx):
    """Does cancelling a document's draft leave its number taken?"""
    doc = make_document("QP", "CS")
    author = db.session.scalar(select(User).where(User.username == "author"))
    from app.uploads import check_upload

    rev = services.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="x",
        change_reason="y",
        upload=check_upload(make_docx(), "a.docx", max_bytes=10**7),
    )
    services.cancel(db.session, author, rev, reason="不需要")
    db.session.commit()
    assert make_document("QP", "CS").number == "QP-CS-002"


def test_bad_patterns_are_refused():
    """Does a numbering pattern need exactly one {seq} and only known fields?"""
    assert services.check_pattern("{type}-{dept}-{seq:03}")
    assert services.check_pattern("{parent}-F{seq:02}", is_form=True)
    for bad in ("{type}-{dept}", "{type}-{seq}-{seq}", "{type}-{owner}-{seq}", "{type-{seq}"):
        with pytest.raises(ValidationFailed):
            services.check_pattern(bad)
    with pytest.raises(ValidationFailed):
        services.check_pattern("{parent}-F{seq:02}", is_form=False)


def test_fifty_simultaneous_creations_get_fifty_consecutive_numbers(app_config, make_user):
    """Do 50 threads creating QP/CS documents at once get QP-CS-001…050, no gap, no duplicate?"""
    from app import create_app

    author = make_user("author", roles=("author",))
    author_id, dept_id = author.id, author.department_id
    # Its own app, with a pool big enough for 50 connections at once (like 50 workers).
    app = create_app(
        {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 50, "max_overflow": 5}}
    )
    barrier = threading.Barrier(50)
    errors: list[Exception] = []

    def worker(i: int):
        with app.app_context():
            try:
                actor = db.session.get(User, author_id)
                dept = db.session.get(Department, dept_id)
                barrier.wait(timeout=60)
                services.create_document(
                    db.session, actor, type_code="QP", title=f"程序 {i}", department=dept
                )
                db.session.commit()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        db.engine.dispose()
    assert errors == []
    numbers = sorted(db.session.scalars(select(Document.number)))
    assert numbers == [f"QP-CS-{n:03d}" for n in range(1, 51)]
