"""The complaint pages: quick intake, the list with its filters and time-left badges, a
case's timeline and forms, the officer's categories; personal data masked for others."""

from __future__ import annotations

import pytest

from app.complaints import services
from app.extensions import db
from tests.complaint_helpers import make_complaint_org, take
from tests.conftest import PASSWORD


@pytest.fixture
def org(app):
    return make_complaint_org()


def _login(client, user):
    r = client.form_post("/login", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302
    return client


def test_quick_intake_takes_a_case_with_its_defaults(client, org):
    """Does the short form take a case with channel hotline, received now and the
    department head as handler, then show it?"""
    _login(client, org.reporter)
    page = client.get("/complaints/new").get_data(as_text=True)
    assert "autofocus" in page and 'id="intake-form"' in page
    r = client.form_post(
        "/complaints/new",
        {
            "customer_name": "王芳",
            "customer_contact": "13800000001",
            "category": "SVC",
            "request": "退还多收的费用",
            "channel": "hotline",
            "department": "CS",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    c = services.get_complaint(db.session, r.headers["Location"].rsplit("/", 1)[1])
    assert (c.channel, c.handler_id, c.status) == ("hotline", org.head.id, "received")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "王芳" in page and 'id="step-form"' in page and "cmp-clock-row" in page


def test_intake_refuses_bad_input_in_chinese(client, org):
    """Is a missing customer a 400 in the user's language, and no case written?"""
    _login(client, org.reporter)
    client.form_post("/language", {"lang": "zh_CN"})
    r = client.form_post(
        "/complaints/new",
        {
            "customer_name": "",
            "category": "SVC",
            "request": "x",
            "channel": "hotline",
            "department": "CS",
        },
    )
    assert r.status_code == 400
    assert "顾客" in r.get_data(as_text=True)
    r = client.form_post(
        "/complaints/new",
        {
            "customer_name": "王芳",
            "category": "NOPE",
            "request": "x",
            "channel": "hotline",
            "department": "CS",
        },
    )
    assert r.status_code == 400
    assert services.list_stmt is not None
    assert db.session.query(services.Complaint).count() == 0


def test_steps_close_and_the_list(client, org):
    """Do the step and close forms work from the page, and the list show the case with
    its badge and filters?"""
    c = take(org)
    _login(client, org.head)
    url = f"/complaints/{c.number}"
    assert client.form_post(f"{url}/steps", {"step": "apology", "note": "致歉"}).status_code == 302
    r = client.form_post(f"{url}/close", {"reason": ""})
    assert r.status_code == 400
    r = client.form_post(f"{url}/close", {"reason": "轻微"})
    assert r.status_code == 302
    listed = client.get("/complaints?status=closed").get_data(as_text=True)
    assert c.number in listed
    assert c.number not in client.get("/complaints?status=received").get_data(as_text=True)
    assert client.get("/complaints?format=xlsx").status_code == 200


def test_personal_data_is_masked_on_the_page_for_another_department(client, org):
    """Does staff of QA see the case without the customer's name and contact?"""
    c = take(org)
    _login(client, org.outsider)
    page = client.get(f"/complaints/{c.number}").get_data(as_text=True)
    assert "王芳" not in page and "13800000001" not in page and "王***" in page
    assert 'id="step-form"' not in page
    assert client.form_post(f"/complaints/{c.number}/steps", {"step": "apology"}).status_code == 403


def test_categories_page_for_officers(client, org):
    """May an officer add a category from the page, and nobody else open it?"""
    _login(client, org.head)
    assert client.get("/complaints/categories").status_code == 403
    client = _login(client.application.test_client(), org.officer)
    assert "SVC" in client.get("/complaints/categories").get_data(as_text=True)
    r = client.form_post(
        "/complaints/categories",
        {"code": "WAIT", "name": "排队", "apology": "1", "restoration": "4", "active": "y"},
    )
    assert r.status_code == 302
    assert "WAIT" in client.get("/complaints/categories").get_data(as_text=True)
    r = client.form_post(
        "/complaints/settings",
        {"approval_above": "300", "repeat_days": "60", "first_contact_minutes": "20"},
    )
    assert r.status_code == 302
    assert services.settings(db.session).repeat_days == 60


def test_dashboard_card_for_handlers(client, org):
    """Does the handler's dashboard show their open cases and the clocks about to breach,
    and a person handling nothing no card?"""
    take(org)
    _login(client, org.head)
    page = client.get("/").get_data(as_text=True)
    assert 'id="complaint-card"' in page and 'id="count-clocks-due"' in page
    other = _login(client.application.test_client(), org.outsider)
    assert 'id="complaint-card"' not in other.get("/").get_data(as_text=True)
