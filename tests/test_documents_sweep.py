"""`qdms sweep`: future effective dates arrive; periodic-review reminders reach the outbox."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.documents import services
from app.documents.models import Document
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.people.models import Department
from tests.conftest import PASSWORD


def _sweep(runner, day: date):
    r = runner.invoke(args=["sweep", "--today", day.isoformat()])
    assert r.exit_code == 0, r.output
    return r.output


def test_a_future_effective_date_is_reached_by_the_sweep(
    runner, make_user, make_document, store, make_docx
):
    from app.uploads import check_upload

    boss = make_user("boss", roles=("approver",), department="QA")
    doc = make_document()
    rev = services.add_revision(
        db.session,
        doc.created_by,
        doc,
        store,
        change_summary="首次发布",
        change_reason="新程序",
        upload=check_upload(make_docx(), "a.docx", max_bytes=10**7),
    )
    services.submit(db.session, doc.created_by, rev, reviewers=[], approvers=[boss])
    day = local_today() + timedelta(days=10)
    services.approve(db.session, boss, rev, password=PASSWORD, effective_date=day)
    db.session.commit()

    assert "0 made effective" in _sweep(runner, day - timedelta(days=1))
    db.session.expire_all()
    assert rev.status == "approved"
    out = _sweep(runner, day)
    assert "effective: QP-CS-001 A/0" in out
    db.session.expire_all()
    assert rev.status == "effective" and doc.status == "effective"
    assert doc.review_due_date == services.add_months(day, doc.review_interval_months)


def test_review_reminders_at_30_and_10_days_and_when_overdue(runner, make_user, make_document):
    officer = make_user(
        "officer", roles=("officer",), department="QA", email="qa@example.com", language="zh_CN"
    )
    head = make_user("head", roles=("approver",), department="CS", language="en")
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    cs.head = head
    make_user("bystander", roles=("officer",), department="QA").is_active = False
    doc = make_document(effective=True)
    due = doc.review_due_date
    db.session.commit()

    def messages():  # the reminders (the workflow that made it effective mailed too)
        db.session.expire_all()
        return db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.like("review%"))
            .order_by(OutboxMessage.id)
        ).all()

    assert "0 reminders" in _sweep(runner, due - timedelta(days=31))
    assert messages() == []
    assert "2 reminders" in _sweep(runner, due - timedelta(days=30))
    assert {(m.recipient.username, m.kind) for m in messages()} == {
        ("officer", "review_due"),
        ("head", "review_due"),
    }
    # the same day again, or a day later: nothing twice
    assert "0 reminders" in _sweep(runner, due - timedelta(days=30))
    assert "0 reminders" in _sweep(runner, due - timedelta(days=29))
    assert "2 reminders" in _sweep(runner, due - timedelta(days=10))
    assert "2 reminders" in _sweep(runner, due + timedelta(days=1))
    assert "0 reminders" in _sweep(runner, due + timedelta(days=3))
    assert "2 reminders" in _sweep(runner, due + timedelta(days=8))  # weekly while overdue

    sent = messages()
    assert len(sent) == 8
    overdue = [m for m in sent if m.kind == "review_overdue"]
    assert len(overdue) == 4
    by_user = {m.recipient.username: m for m in overdue}
    assert by_user["head"].subject == f"Periodic review overdue: {doc.number}"  # English user
    assert doc.number in by_user["officer"].subject and "逾期" in by_user["officer"].subject
    assert by_user["officer"].to_address == "qa@example.com"
    assert all(m.sent_at is None for m in sent)  # no SMTP configured: they stay in the outbox

    # a confirmed review moves the due date: no more overdue reminders
    officer = db.session.get(type(officer), officer.id)
    doc = db.session.get(Document, doc.id)
    services.confirm_review(
        db.session, officer, doc, password=PASSWORD, today=due + timedelta(days=9)
    )
    db.session.commit()
    assert "0 reminders" in _sweep(runner, due + timedelta(days=15))


def test_the_holder_is_reminded_of_a_due_currency_check(runner, make_user):
    from app.external import services as external

    holder = make_user("keeper", roles=("officer",), department="QA", language="zh_CN")
    ext = external.register(
        db.session,
        holder,
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="SAC",
        kind="standard",
        department=holder.department,
        holder=holder,
        edition="2016",
    )
    db.session.commit()
    due = ext.next_check_date
    assert "0 reminders" in _sweep(runner, due - timedelta(days=1))
    assert "1 reminders" in _sweep(runner, due)
    assert "0 reminders" in _sweep(runner, due + timedelta(days=2))
    assert "1 reminders" in _sweep(runner, due + timedelta(days=7))
    db.session.expire_all()
    mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "currency_check_due")
    ).all()
    assert len(mails) == 2 and all(m.recipient.username == "keeper" for m in mails)
    assert "GB/T 19001-2016" in mails[0].subject


def test_the_administrator_reads_the_outbox(client, login_as, make_user, runner, make_document):
    make_user("officer", roles=("officer",), department="QA", email="qa@example.com")
    doc = make_document(effective=True)
    _sweep(runner, doc.review_due_date)
    login_as("root", roles=("admin",))
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert f"Periodic review overdue: {doc.number}" not in page  # due today, not overdue
    assert f"Periodic review due {doc.review_due_date}: {doc.number}" in page
    assert "qa@example.com" in page
