"""Issue, receipt, recall, return and read-and-understood through the browser's forms
(server-rendered pages, real CSRF), in both languages."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.distribution.models import Acknowledgement, ControlledCopy
from app.extensions import db
from app.people.models import Department, User
from tests.conftest import PASSWORD
from tests.test_distribution_api import _new_revision_effective


@pytest.fixture
def setup(make_user, make_document):
    carol = make_user("carol", department="CS", full_name="Carol Head")
    make_user("alice", department="CS", full_name="Alice")
    make_user("dave", department="OM", full_name="Dave")
    make_user("officer", roles=("officer",), department="QA", full_name="Quality Officer")
    db.session.scalar(select(Department).where(Department.code == "CS")).head = carol
    db.session.commit()
    return make_document(effective=True, training_required=True)


def _logout(client):
    client.form_post("/logout")


def test_issue_receipt_recall_return_through_the_forms(client, login_as, setup, make_docx, store):
    login_as("officer")
    page = client.get("/documents/QP-CS-001/revisions/A0").get_data(as_text=True)
    assert 'id="issue-revision"' in page and "Not issued." in page
    form = client.get("/documents/QP-CS-001/revisions/A0/issue").get_data(as_text=True)
    assert 'name="recipient-0"' in form and 'name="recipient-2"' in form
    token = client.csrf_token("/documents/QP-CS-001/revisions/A0/issue")

    # a bad row: the form comes back with the row marked and nothing written
    bad = {
        "csrf_token": token,
        "recipient-0": "location",
        "location-0": "前台",
        "custodian-0": "",
        "medium-0": "paper",
        "copies-0": "1",
        "acknowledge_within_days": "14",
    }
    r = client.post("/documents/QP-CS-001/revisions/A0/issue", data=bad)
    assert r.status_code == 400
    assert "Recipient 1: name the custodian who signs for the copies" in r.get_data(as_text=True)
    assert db.session.scalar(select(ControlledCopy.id)) is None

    good = {
        "csrf_token": token,
        "recipient-0": "department:CS",
        "medium-0": "paper",
        "copies-0": "2",
        "recipient-1": "location",
        "location-1": "前台",
        "custodian-1": "dave",
        "medium-1": "paper",
        "copies-1": "1",
        "recipient-2": "department:CS",
        "medium-2": "electronic",
        "copies-2": "1",
        "recipient-3": "",  # a blank row is ignored
        "training_required": "y",
        "acknowledge_within_days": "7",
    }
    r = client.post("/documents/QP-CS-001/revisions/A0/issue", data=good)
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "A/0 issued: 4 controlled copies." in page
    for n in (1, 2, 3, 4):
        assert f"QP-CS-001-A0-C0{n}" in page
    assert "前台 (Dave)" in page
    _logout(client)

    # the holder signs the receipt on the copy's page
    login_as("dave")
    page = client.get("/copies/QP-CS-001-A0-C03").get_data(as_text=True)
    assert 'id="receipt-panel"' in page
    r = client.form_post("/copies/QP-CS-001-A0-C03/receipt", {"password": "wrong"})
    assert r.status_code == 403 and "Signature failed" in r.get_data(as_text=True)
    r = client.form_post("/copies/QP-CS-001-A0-C03/receipt", {"password": PASSWORD})
    assert r.status_code == 302
    assert "Receipt of QP-CS-001-A0-C03 signed." in client.get(r.headers["Location"]).get_data(
        as_text=True
    )
    # not his copy: not even visible
    assert client.get("/copies/QP-CS-001-A0-C01").status_code == 404
    assert (
        client.form_post("/copies/QP-CS-001-A0-C01/receipt", {"password": PASSWORD}).status_code
        == 404
    )
    assert client.get("/recalls").status_code == 403
    assert client.get("/documents/QP-CS-001/revisions/A0/issue").status_code == 403
    _logout(client)

    _new_revision_effective(setup, make_docx, store)

    login_as("officer")
    page = client.get("/recalls").get_data(as_text=True)
    for n in (1, 2, 3):
        assert f'id="recall-QP-CS-001-A0-C0{n}"' in page
    assert "QP-CS-001-A0-C04" not in page  # electronic: no recall
    assert 'id="count-recalls">3<' in client.get("/").get_data(as_text=True)
    r = client.form_post(
        "/copies/QP-CS-001-A0-C03/return",
        {"returned_by": "dave", "disposition": "destroyed", "note": "碎纸机"},
    )
    assert r.status_code == 302
    r = client.form_post(
        "/copies/QP-CS-001-A0-C03/return", {"returned_by": "", "disposition": "destroyed"}
    )
    assert r.status_code in (400, 409)
    page = client.get("/recalls").get_data(as_text=True)
    assert "recall-QP-CS-001-A0-C03" not in page and "recall-QP-CS-001-A0-C01" in page
    # the copy page tells the story
    page = client.get("/copies/QP-CS-001-A0-C03").get_data(as_text=True)
    assert "Dave" in page and "Destroyed" in page
    # B/0's issue form offers A/0's recipients
    page = client.get("/documents/QP-CS-001/revisions/B0/issue").get_data(as_text=True)
    assert "The recipients of the previous revision are filled in." in page
    assert 'value="department:CS" selected' in page


def test_staff_land_on_their_open_acknowledgements_and_sign(client, login_as, setup):
    from app.distribution import services

    officer = db.session.scalar(select(User).where(User.username == "officer"))
    rev = setup.current_revision
    services.issue(
        db.session,
        officer,
        rev,
        distribution=services.parse_distribution(
            db.session, [{"department": "CS", "medium": "electronic"}]
        ),
    )
    db.session.commit()
    r = client.form_post("/login", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/acknowledgements")
    page = client.get("/acknowledgements").get_data(as_text=True)
    assert "QP-CS-001" in page and 'id="open-acknowledgements-count">1<' in page
    ack = db.session.scalar(select(Acknowledgement).join(User).where(User.username == "alice"))
    page = client.get(f"/acknowledgements/{ack.id}").get_data(as_text=True)
    assert 'id="content"' in page and "客户投诉处理程序" in page  # the document itself
    r = client.form_post(f"/acknowledgements/{ack.id}", {"password": "bad"})
    assert r.status_code == 403
    r = client.form_post(f"/acknowledgements/{ack.id}", {"password": PASSWORD})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Nothing to read and sign." in page and "My training history" in page
    # the next login goes to the dashboard
    _logout(client)
    r = client.form_post("/login", {"username": "alice", "password": PASSWORD})
    assert r.headers["Location"].endswith("/")
    # another person's task is invisible to alice; dave's training history too
    _logout(client)
    login_as("dave")
    assert client.get(f"/acknowledgements/{ack.id}").status_code == 404
    assert client.get("/people/alice/training").status_code == 404
    assert client.get("/acknowledgements/matrix").status_code == 403
    _logout(client)
    # the head of CS sees the matrix of CS and alice's history
    login_as("carol")
    page = client.get("/acknowledgements/matrix").get_data(as_text=True)
    assert "QP-CS-001" in page and ">1/3<" in page  # alice signed; CS: alice, author, carol
    assert "QP-CS-001" in client.get("/people/alice/training").get_data(as_text=True)


def test_matrix_pages_and_exports_in_chinese(client, login_as, setup):
    from app.distribution import services

    officer = db.session.scalar(select(User).where(User.username == "officer"))
    services.issue(
        db.session,
        officer,
        setup.current_revision,
        distribution=services.parse_distribution(
            db.session,
            [
                {"department": "CS", "medium": "electronic"},
                {"user": "dave", "medium": "electronic"},
            ],
        ),
    )
    db.session.commit()
    login_as("officer", roles=("officer",))
    client.form_post("/language", {"lang": "zh_CN"})
    page = client.get("/acknowledgements/matrix").get_data(as_text=True)
    assert "阅读确认矩阵" in page and "0/3" in page and "0/1" in page
    page = client.get("/acknowledgements/matrix?by=person").get_data(as_text=True)
    assert "Dave" in page and "Alice" in page
    r = client.get("/acknowledgements/matrix?format=csv&by=person")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "用户名" and {row[0] for row in rows[1:]} == {
        "alice",
        "author",
        "carol",
        "dave",
    }
    assert client.get("/acknowledgements/matrix?format=xlsx").status_code == 200
