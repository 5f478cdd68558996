"""Management review services and pages: the transition table, the sweep's reminders of
review actions, the review page in Chinese with its sections, charts and the shared
"My actions" list."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import InvalidTransition
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.reviews import services
from tests.review_helpers import PASSWORD, make_chair, make_org, new_review


@pytest.fixture
def org(app):
    return make_org()


def test_the_transition_table_is_the_lifecycle():
    """Is the table exactly planned → inputs_compiled → held → minutes_approved → closed
    (and a recompile that stays compiled)?"""
    assert {
        ("planned", "inputs_compiled"),
        ("inputs_compiled", "inputs_compiled"),
        ("inputs_compiled", "held"),
        ("held", "minutes_approved"),
        ("minutes_approved", "closed"),
    } == services.ALLOWED_EDGES


def test_no_step_is_skipped(org):
    """Can a planned review be neither held, approved nor closed?"""
    chair = make_chair(org)
    r = new_review(org, chair)
    for work in (
        lambda: services.hold(db.session, org.officer, r),
        lambda: services.approve(db.session, chair, r, password=PASSWORD),
        lambda: services.close(db.session, org.officer, r),
    ):
        with pytest.raises(InvalidTransition):
            work()
        db.session.rollback()


def test_sweep_reminds_action_owners_once(org, runner):
    """Does `qdms sweep` remind the owner of a review action a week before it is due and
    weekly once overdue, once a day?"""
    chair = make_chair(org)
    r = new_review(org, chair)
    services.compile_inputs(db.session, org.officer, r)
    due = local_today() + timedelta(days=20)
    services.add_decision(
        db.session,
        org.officer,
        r,
        text="完善回访制度",
        category="improvement",
        owner=org.owner.username,
        due_date=due,
    )
    db.session.commit()

    def count(day):
        result = runner.invoke(args=["sweep", "--today", day.isoformat()])
        assert result.exit_code == 0, result.output
        return len(
            db.session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.to_address == org.owner.email,
                    OutboxMessage.kind == "review_action",
                )
            ).all()
        )

    assert count(due - timedelta(days=10)) == 0
    assert count(due - timedelta(days=5)) == 1
    assert count(due - timedelta(days=5)) == 1  # once
    assert count(due + timedelta(days=1)) == 2  # overdue
    assert count(due + timedelta(days=2)) == 2  # the same week


def test_review_page_in_chinese_and_my_actions(org, client, login_as):
    """Does the review page show every input with its figures and charts in Chinese, and
    does the owner find the review's action in My actions and record it done there?"""
    chair = make_chair(org)
    r = new_review(org, chair)
    services.compile_inputs(db.session, org.officer, r)
    d = services.add_decision(
        db.session,
        org.officer,
        r,
        text="完善回访制度",
        category="improvement",
        owner=org.owner.username,
        due_date=local_today() + timedelta(days=9),
    )
    db.session.commit()
    login_as("officer")
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    page = client.get(f"/management-reviews/{r.number}").get_data(as_text=True)
    for title in ("以往管理评审所采取措施的情况", "不合格以及纠正措施", "审核结果", "文件控制"):
        assert title in page
    assert page.count('src="data:image/svg+xml;base64,') >= 5 and "完善回访制度" in page
    xlsx = client.get(f"/management-reviews/{r.number}/figures.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook  # the download read back

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("条款", "输入", "指标") and any(row[0] == "9.3.2 c4" for row in rows)
    client.form_post("/logout")
    login_as("owner")
    mine = client.get("/my-actions").get_data(as_text=True)
    assert d.label in mine and "完善回访制度" in mine
    response = client.form_post(
        f"/management-review-actions/{d.id}/done", {"evidence": "制度已发布"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert services.get_decision(db.session, d.id).status == "done"


def test_attendance_is_signed_once_by_an_attendee(org):
    """May an attendee sign their attendance once (password), and nobody else?"""
    from app.errors import PermissionDenied

    chair = make_chair(org)
    r = new_review(org, chair)
    services.update(db.session, org.officer, r, attendees=[org.owner.username])
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.sign_attendance(db.session, org.reporter, r, password=PASSWORD)
    db.session.rollback()
    sig = services.sign_attendance(db.session, org.owner, r, password=PASSWORD)
    db.session.commit()
    assert sig.meaning == "review_attended" and r.attendees[0].signature_id == sig.id
    with pytest.raises(InvalidTransition):
        services.sign_attendance(db.session, org.owner, r, password=PASSWORD)


def test_a_working_copy_of_the_report_is_drawn_once_until_what_it_shows_changes(
    org, app, monkeypatch
):
    """Before approval the report is drawn on request; asked again with nothing changed,
    the same PDF comes back without drawing; a recompile (another snapshot) or another
    language draws a new one."""
    from flask_babel import force_locale

    from app.reviews import report

    chair = make_chair(org)
    r = new_review(org, chair)
    services.compile_inputs(db.session, org.officer, r)
    db.session.commit()
    drawn = []
    real = report.render_report

    def counting(review, data=None):
        drawn.append(review.number)
        return real(review, data)

    monkeypatch.setattr(report, "render_report", counting)
    # (an earlier test of this process may have drawn the same content)
    monkeypatch.setattr(report, "_DRAFTS", type(report._DRAFTS)(8))
    with app.test_request_context():
        first = report.report_bytes(r)
        assert first.startswith(b"%PDF") and report.report_bytes(r) == first
        assert len(drawn) == 1
        services.compile_inputs(db.session, org.officer, r, recompile=True)
        db.session.commit()
        assert report.report_bytes(r) != first and len(drawn) == 2
        with force_locale("zh_CN"):  # the tests' default language is English
            assert report.report_bytes(r) != first
        assert len(drawn) == 3
