"""Issue, receipt, recall, return and acknowledgements through the JSON API (docs/API.md,
"Distribution"), and `qdms sweep` for overdue tasks and recalls."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.distribution.models import Acknowledgement, ControlledCopy
from app.documents import services as documents
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.people import services as people
from app.people.models import Department, User
from app.uploads import check_upload
from tests.conftest import PASSWORD


@pytest.fixture
def org(api_token, make_user, make_document):
    """CS (head carol; alice, bob; an inactive member), OM (dave), an effective QP-CS-001
    that requires training, and API tokens."""
    carol = make_user("carol", roles=("staff",), department="CS", full_name="Carol Head")
    make_user("alice", department="CS", full_name="Alice")
    make_user("bob", department="CS", full_name="Bob")
    gone = make_user("gone", department="CS")
    make_user("dave", department="OM", full_name="Dave")
    make_user("officer", roles=("officer",), department="QA")
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    cs.head = carol
    gone.is_active = False
    db.session.commit()
    doc = make_document(effective=True, training_required=True)
    return {
        "doc": doc,
        "officer": api_token("officer", roles=("officer",)),
        **{name: api_token(name) for name in ("alice", "bob", "carol", "dave")},
    }


def _issue(client, org, distribution, rev="A0", **extra):
    return client.post(
        f"/api/v1/documents/{org['doc'].number}/revisions/{rev}/issue",
        json={"distribution": distribution, **extra},
        headers=org["officer"],
    )


def _new_revision_effective(doc, make_docx, store, summary="第二版"):
    author = db.session.scalar(select(User).where(User.username == "author"))
    approver = db.session.scalar(select(User).where(User.username == "approver"))
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary=summary,
        change_reason="改进",
        change_type="major",
        upload=check_upload(make_docx((summary,)), "b.docx", max_bytes=10**7),
    )
    documents.submit(db.session, author, rev, reviewers=[], approvers=[approver])
    documents.approve(db.session, approver, rev, password=PASSWORD)
    db.session.commit()
    return rev


def _copies(client, org, **query):
    r = client.get("/api/v1/copies", query_string=query, headers=org["officer"])
    assert r.status_code == 200, r.get_json()
    return {c["copy_no"]: c for c in r.get_json()["items"]}


def test_issue_receipt_supersede_recall_return(client, org, make_docx, store):
    r = _issue(
        client,
        org,
        [
            {"department": "CS", "medium": "paper", "copies": 2},
            {"user": "dave", "medium": "paper", "copies": 1},
            {"department": "CS", "medium": "electronic"},
        ],
    )
    assert r.status_code == 201, r.get_json()
    issued = {c["copy_no"]: c for c in r.get_json()["copies"]}
    assert list(issued) == [f"QP-CS-001-A0-C0{i}" for i in (1, 2, 3, 4)]
    assert [c["medium"] for c in issued.values()] == ["paper", "paper", "paper", "electronic"]
    assert issued["QP-CS-001-A0-C03"]["holder"] == "user:dave"

    # receipt: the holder only, with the right password
    url = "/api/v1/copies/QP-CS-001-A0-C01/receipt"
    r = client.post(url, json={"password": "wrong"}, headers=org["alice"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "signature_failed"
    assert client.post(url, json={"password": PASSWORD}, headers=org["dave"]).status_code == 404
    r = client.post(url, json={"password": PASSWORD}, headers=org["alice"])
    assert r.status_code == 200 and r.get_json()["status"] == "received"
    assert r.get_json()["received_by"] == "alice"
    assert client.post(url, json={"password": PASSWORD}, headers=org["alice"]).status_code == 409
    r = client.post(
        "/api/v1/copies/QP-CS-001-A0-C03/receipt", json={"password": PASSWORD}, headers=org["dave"]
    )
    assert r.status_code == 200
    # an electronic copy needs no receipt
    r = client.post(
        "/api/v1/copies/QP-CS-001-A0-C04/receipt", json={"password": PASSWORD}, headers=org["bob"]
    )
    assert r.status_code in (403, 409)
    # dave sees only his copy
    r = client.get("/api/v1/copies", headers=org["dave"])
    assert [c["copy_no"] for c in r.get_json()["items"]] == ["QP-CS-001-A0-C03"]
    # nothing to recall yet
    assert _copies(client, org, status="recall_open") == {}

    # B/0 becomes effective: A/0 is superseded, its paper copies recalled
    _new_revision_effective(org["doc"], make_docx, store)
    recalls = _copies(client, org, status="recall_open")
    assert sorted(recalls) == [f"QP-CS-001-A0-C0{i}" for i in (1, 2, 3)]
    assert _copies(client, org, document="QP-CS-001")["QP-CS-001-A0-C04"]["status"] == "withdrawn"
    # the holders were told (head of CS for the department's copies, dave for his)
    kinds = db.session.scalars(
        select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "recall_open")
    ).all()
    holders = set(db.session.scalars(select(User.username).where(User.id.in_(kinds))))
    assert holders == {"carol", "dave"}

    # return: officer only, a valid disposition, once
    url = "/api/v1/copies/QP-CS-001-A0-C02/return"
    body = {"returned_by": "alice", "disposition": "destroyed"}
    assert client.post(url, json=body, headers=org["alice"]).status_code == 403
    r = client.post(url, json={**body, "disposition": "burnt"}, headers=org["officer"])
    assert r.status_code == 400 and "disposition" in r.get_json()["error"]["fields"]
    r = client.post(url, json=body, headers=org["officer"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "returned" and r.get_json()["returned_by"] == "Alice"
    assert client.post(url, json=body, headers=org["officer"]).status_code == 409
    assert sorted(_copies(client, org, status="recall_open")) == [
        "QP-CS-001-A0-C01",
        "QP-CS-001-A0-C03",
    ]
    r = client.post(
        "/api/v1/copies/QP-CS-001-A0-C01/return",
        json={"returned_by": "Someone Outside", "disposition": "kept_as_obsolete_reference"},
        headers=org["officer"],
    )
    assert r.status_code == 200 and r.get_json()["returned_by"] == "Someone Outside"

    # extending B/0's distribution continues its own sequence
    r = _issue(client, org, [{"department": "OM", "medium": "paper", "copies": 1}], rev="B0")
    assert r.status_code == 201, r.get_json()
    # B/0 was carried forward electronically to CS (C01), so this paper copy is C02
    assert [c["copy_no"] for c in r.get_json()["copies"]] == ["QP-CS-001-B0-C02"]


def test_bad_issues_are_clear_400s_and_write_nothing(client, org):
    before = db.session.scalar(select(func.count()).select_from(ControlledCopy))
    cases = [
        ([], "distribution"),
        ([{"department": "XX", "medium": "paper"}], "distribution[0].department"),
        ([{"department": "CS", "medium": "fax"}], "distribution[0].medium"),
        ([{"department": "CS", "medium": "paper", "copies": 0}], "distribution[0].copies"),
        ([{"department": "CS", "medium": "electronic", "copies": 3}], "distribution[0].copies"),
        ([{"location": "前台", "medium": "paper"}], "distribution[0].custodian"),
        ([{"user": "gone", "medium": "paper"}], "distribution[0].user"),
        (
            [{"department": "CS", "medium": "paper"}, {"department": "CS", "medium": "paper"}],
            "distribution[1].department",
        ),
        ([{"department": "CS", "user": "bob"}], "distribution[0].recipient"),
    ]
    for distribution, field in cases:
        r = _issue(client, org, distribution)
        assert r.status_code == 400, (distribution, r.get_json())
        assert field in r.get_json()["error"]["fields"], (field, r.get_json())
    r = client.post(
        f"/api/v1/documents/{org['doc'].number}/revisions/A0/issue",
        json={"distribution": [{"department": "CS"}], "acknowledge_within_days": 0},
        headers=org["officer"],
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/documents/{org['doc'].number}/revisions/A0/issue",
        json={"distribution": [{"department": "CS"}]},
        headers={**org["officer"], "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 201  # paper by default, one copy
    # staff may not issue
    assert _issue_as(client, org, "alice").status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ControlledCopy)) == before + 1


def _issue_as(client, org, who):
    return client.post(
        f"/api/v1/documents/{org['doc'].number}/revisions/A0/issue",
        json={"distribution": [{"department": "CS"}]},
        headers=org[who],
    )


def test_a_draft_revision_cannot_be_issued(client, org, make_docx, store):
    author = db.session.scalar(select(User).where(User.username == "author"))
    documents.add_revision(
        db.session,
        author,
        org["doc"],
        store,
        change_summary="草稿",
        change_reason="x",
        upload=check_upload(make_docx(), "c.docx", max_bytes=10**7),
    )
    db.session.commit()
    r = _issue(client, org, [{"department": "CS"}], rev="A1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_transition"


def _tasks(client, token, **query):
    r = client.get("/api/v1/acknowledgements", query_string=query, headers=token)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_acknowledgements_reach_exactly_the_audience(client, org, runner, make_docx, store):
    r = _issue(
        client,
        org,
        [
            {"department": "CS", "medium": "electronic"},
            {"department": "OM", "medium": "paper", "copies": 1},  # paper: no tasks
        ],
        acknowledge_within_days=10,
    )
    assert r.status_code == 201 and r.get_json()["acknowledgements"] == 4
    owners = db.session.scalars(
        select(User.username).join(Acknowledgement, Acknowledgement.user_id == User.id)
    ).all()
    # the active members of CS (the author works there too); not dave (OM), not the inactive
    assert sorted(owners) == ["alice", "author", "bob", "carol"]
    [task] = _tasks(client, org["alice"])
    assert task["document"] == "QP-CS-001" and task["revision"] == "A/0"
    assert task["status"] == "open"
    assert task["due_date"] == (local_today() + timedelta(days=10)).isoformat()
    assert _tasks(client, org["dave"]) == []

    # the right person with the right password
    url = f"/api/v1/acknowledgements/{task['id']}/sign"
    assert client.post(url, json={"password": PASSWORD}, headers=org["bob"]).status_code == 404
    r = client.post(url, json={"password": PASSWORD}, headers=org["officer"])
    assert r.status_code == 403
    r = client.post(url, json={"password": "nope"}, headers=org["alice"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "signature_failed"
    assert _tasks(client, org["alice"])[0]["status"] == "open"
    r = client.post(url, json={"password": PASSWORD}, headers=org["alice"])
    assert r.status_code == 200 and r.get_json()["status"] == "done"
    assert r.get_json()["signed_at"].endswith("Z")
    assert client.post(url, json={"password": PASSWORD}, headers=org["alice"]).status_code == 409
    # a head sees their people's tasks; staff do not see others'
    assert len(_tasks(client, org["carol"], user="bob")) == 1
    r = client.get("/api/v1/acknowledgements", query_string={"user": "bob"}, headers=org["dave"])
    assert r.status_code == 403

    # someone joining CS later gets the task; someone leaving loses it
    admin = None
    erin = people.create_user(
        db.session,
        admin,
        username="erin",
        full_name="Erin",
        password=PASSWORD,
        roles=["staff"],
        department=db.session.scalar(select(Department).where(Department.code == "CS")),
    )
    bob = db.session.scalar(select(User).where(User.username == "bob"))
    om = db.session.scalar(select(Department).where(Department.code == "OM"))
    people.update_user(
        db.session,
        admin,
        bob,
        full_name=bob.full_name,
        email=None,
        department=om,
        language=None,
        roles=["staff"],
        is_active=True,
    )
    db.session.commit()
    assert len(_tasks(client, org["officer"], user="erin")) == 1
    assert _tasks(client, org["officer"], user="bob")[0]["status"] == "cancelled"
    assert erin.id

    # the sweep past the due date: overdue, reminded; a week later escalated to the head
    due = local_today() + timedelta(days=10)
    out = runner.invoke(args=["sweep", "--today", (due + timedelta(days=1)).isoformat()])
    assert out.exit_code == 0, out.output
    assert "3 acknowledgements overdue" in out.output  # alice signed, bob left
    db.session.rollback()
    assert sorted(
        db.session.scalars(
            select(User.username)
            .join(Acknowledgement, Acknowledgement.user_id == User.id)
            .where(Acknowledgement.status == "overdue")
        )
    ) == ["author", "carol", "erin"]
    overdue_mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "acknowledgement_overdue")
    ).all()
    assert {m.recipient.username for m in overdue_mail} == {"author", "carol", "erin"}
    assert all("QP-CS-001" in m.subject for m in overdue_mail)
    assert _tasks(client, org["officer"], user="erin", status="overdue")
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "acknowledgement_escalation")
        )
        == 0
    )
    out = runner.invoke(args=["sweep", "--today", (due + timedelta(days=8)).isoformat()])
    assert out.exit_code == 0, out.output
    db.session.rollback()
    [escalation] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "acknowledgement_escalation")
    ).all()
    assert escalation.recipient.username == "carol" and "Erin" in escalation.body
    # the same day again: nothing new
    count = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    runner.invoke(args=["sweep", "--today", (due + timedelta(days=8)).isoformat()])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == count

    # superseding closes the open tasks and opens tasks for the new revision
    _new_revision_effective(org["doc"], make_docx, store)
    erin_tasks = _tasks(client, org["officer"], user="erin")
    assert {(t["revision"], t["status"]) for t in erin_tasks} == {
        ("A/0", "superseded"),
        ("B/0", "open"),
    }
    alice_tasks = _tasks(client, org["alice"])
    assert {(t["revision"], t["status"]) for t in alice_tasks} == {("A/0", "done"), ("B/0", "open")}
    # and alice can read B/0 through her task
    r = client.get("/api/v1/documents/QP-CS-001/revisions/B0", headers=org["alice"])
    assert r.status_code == 200


def test_recall_reminders_after_seven_days(client, org, runner, make_docx, store):
    assert _issue(client, org, [{"user": "dave", "medium": "paper"}]).status_code == 201
    _new_revision_effective(org["doc"], make_docx, store)
    for days, expected in ((3, 0), (7, 1), (8, 1), (14, 2)):
        day = local_today() + timedelta(days=days)
        assert runner.invoke(args=["sweep", "--today", day.isoformat()]).exit_code == 0
        db.session.rollback()
        sent = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "recall_reminder")
        ).all()
        assert len(sent) == expected, days
    assert {m.recipient.username for m in sent} == {"dave"}


def test_matrix_by_department_and_person_with_exports(client, org):
    r = _issue(
        client,
        org,
        [{"department": "CS", "medium": "electronic"}, {"user": "dave", "medium": "electronic"}],
    )
    assert r.status_code == 201
    [task] = _tasks(client, org["alice"])
    client.post(
        f"/api/v1/acknowledgements/{task['id']}/sign",
        json={"password": PASSWORD},
        headers=org["alice"],
    )
    r = client.get("/api/v1/acknowledgements/matrix", headers=org["officer"])
    assert r.status_code == 200
    table = r.get_json()
    assert table["headers"][3:5] == ["CS", "OM"]
    assert table["rows"] == [["QP-CS-001", "客户投诉处理程序", "A/0", "1/4", "0/1", 1, 5, 0]]
    # the head of CS sees only CS
    r = client.get("/api/v1/acknowledgements/matrix", headers=org["carol"])
    assert r.status_code == 200 and r.get_json()["rows"][0][3:] == ["1/4", 1, 4, 0]
    assert client.get("/api/v1/acknowledgements/matrix", headers=org["alice"]).status_code == 403
    r = client.get(
        "/api/v1/acknowledgements/matrix", query_string={"format": "csv"}, headers=org["officer"]
    )
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[1][:5] == ["QP-CS-001", "客户投诉处理程序", "A/0", "1/4", "0/1"]
    r = client.get(
        "/api/v1/acknowledgements/matrix",
        query_string={"format": "xlsx", "by": "person"},
        headers=org["officer"],
    )
    sheet = load_workbook(io.BytesIO(r.data)).active
    people_rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert people_rows["alice"][3:] == (1, 0, 0)
    assert people_rows["dave"][3:] == (0, 1, 0)
    r = client.get(
        "/api/v1/acknowledgements/matrix", query_string={"format": "pdfx"}, headers=org["officer"]
    )
    assert r.status_code == 400


def test_withdrawing_a_document_recalls_its_copies_and_cancels_its_tasks(client, org, runner):
    r = _issue(
        client,
        org,
        [
            {"department": "OM", "medium": "paper", "copies": 2},
            {"user": "alice", "medium": "electronic"},
        ],
    )
    assert r.status_code == 201
    # three days before the due date alice is reminded once
    due = local_today() + timedelta(days=14)
    for _ in range(2):
        assert (
            runner.invoke(
                args=["sweep", "--today", (due - timedelta(days=3)).isoformat()]
            ).exit_code
            == 0
        )
    db.session.rollback()
    [reminder] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "acknowledgement_due")
    ).all()
    assert reminder.recipient.username == "alice" and due.isoformat() in reminder.subject
    r = client.post(
        f"/api/v1/documents/{org['doc'].number}/withdraw",
        json={"reason": "服务取消", "password": PASSWORD},
        headers=org["officer"],
    )
    assert r.status_code == 200, r.get_json()
    recalls = _copies(client, org, status="recall_open")
    assert sorted(recalls) == ["QP-CS-001-A0-C01", "QP-CS-001-A0-C02"]
    assert _copies(client, org)["QP-CS-001-A0-C03"]["status"] == "withdrawn"
    assert [t["status"] for t in _tasks(client, org["alice"])] == ["cancelled"]
    # an obsolete revision cannot be issued again
    r = _issue(client, org, [{"department": "CS"}])
    assert r.status_code == 409


def test_the_document_page_shows_who_holds_what(client, org, login_as):
    assert _issue(client, org, [{"user": "dave", "medium": "paper"}]).status_code == 201
    login_as("officer")
    page = client.get("/documents/QP-CS-001").get_data(as_text=True)
    assert 'id="holdings"' in page and "QP-CS-001-A0-C01" in page and "Dave" in page


def test_an_approved_successor_issued_for_training_is_its_own_matrix_row(
    client, org, make_docx, store
):
    assert _issue(client, org, [{"department": "OM", "medium": "electronic"}]).status_code == 201
    author = db.session.scalar(select(User).where(User.username == "author"))
    approver = db.session.scalar(select(User).where(User.username == "approver"))
    rev = documents.add_revision(
        db.session,
        author,
        org["doc"],
        store,
        change_summary="下月生效",
        change_reason="培训先行",
        change_type="major",
        upload=check_upload(make_docx(("下月生效",)), "b.docx", max_bytes=10**7),
    )
    documents.submit(db.session, author, rev, reviewers=[], approvers=[approver])
    later = local_today() + timedelta(days=30)
    documents.approve(db.session, approver, rev, password=PASSWORD, effective_date=later)
    db.session.commit()
    r = _issue(client, org, [{"user": "dave", "medium": "electronic"}], rev="B0")
    assert r.status_code == 201 and r.get_json()["acknowledgements"] == 1
    # dave may read the approved B/0 before it is effective: it was issued to him
    assert (
        client.get("/api/v1/documents/QP-CS-001/revisions/B0", headers=org["dave"]).status_code
        == 200
    )
    rows = client.get("/api/v1/acknowledgements/matrix", headers=org["officer"]).get_json()["rows"]
    assert [(row[0], row[2], row[-3], row[-2]) for row in rows] == [
        ("QP-CS-001", "A/0", 0, 1),
        ("QP-CS-001", "B/0", 0, 1),
    ]


def _live_electronic(revision_label: str) -> list[str]:
    """The copy numbers of the electronic copies in force of QP-CS-001 ``revision_label``."""
    db.session.rollback()
    return sorted(
        db.session.scalars(
            select(ControlledCopy.copy_no).where(
                ControlledCopy.copy_no.like(f"QP-CS-001-{revision_label}-%"),
                ControlledCopy.medium == "electronic",
                ControlledCopy.status.in_(("issued", "received")),
            )
        )
    )


def test_one_electronic_copy_per_recipient_across_issues(client, org):
    """Does issuing the same revision again to a recipient who already holds an electronic
    copy of it create no second copy (409 naming the recipient and the copy, nothing
    written), while paper copies and other recipients can still be added?"""
    r = _issue(client, org, [{"department": "CS", "medium": "electronic"}])
    assert r.status_code == 201, r.get_json()
    count = db.session.scalar(select(func.count()).select_from(ControlledCopy))
    again = _issue(
        client,
        org,
        [
            {"department": "OM", "medium": "paper", "copies": 1},
            {"department": "cs", "medium": "electronic"},
        ],
    )
    assert again.status_code == 409, again.get_json()
    error = again.get_json()["error"]
    assert error["code"] == "conflict"
    assert "CS" in error["message"] and "QP-CS-001-A0-C01" in error["message"]
    assert list(error["fields"]) == ["distribution[1].department"]
    assert db.session.scalar(select(func.count()).select_from(ControlledCopy)) == count
    # the same for a person, in Chinese
    assert _issue(client, org, [{"user": "dave", "medium": "electronic"}]).status_code == 201
    r = client.post(
        f"/api/v1/documents/{org['doc'].number}/revisions/A0/issue",
        json={"distribution": [{"user": "dave", "medium": "electronic"}]},
        headers={**org["officer"], "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 409 and "已持有" in r.get_json()["error"]["message"]
    # paper to the same department and another recipient are fine
    r = _issue(
        client,
        org,
        [
            {"department": "CS", "medium": "paper", "copies": 2},
            {"user": "bob", "medium": "electronic"},
        ],
    )
    assert r.status_code == 201, r.get_json()
    assert _live_electronic("A0") == ["QP-CS-001-A0-C01", "QP-CS-001-A0-C02", "QP-CS-001-A0-C05"]


def test_one_electronic_copy_per_recipient_within_one_issue(client, org):
    """Is a recipient named twice for electronic copies in one issue refused (400 naming the
    second line) — a department, and a location typed in another case?"""
    for distribution, field in (
        (
            [
                {"department": "CS", "medium": "electronic"},
                {"department": "CS", "medium": "electronic"},
            ],
            "distribution[1].department",
        ),
        (
            [
                {"location": "Front desk", "custodian": "alice", "medium": "electronic"},
                {"location": "front desk ", "custodian": "bob", "medium": "electronic"},
            ],
            "distribution[1].location",
        ),
    ):
        r = _issue(client, org, distribution)
        assert r.status_code == 400, r.get_json()
        assert list(r.get_json()["error"]["fields"]) == [field]
    assert _live_electronic("A0") == []


def test_reissuing_a_carried_forward_revision_adds_no_second_electronic_copy(
    client, org, make_docx, store, login_as
):
    """When B/0 supersedes A/0 its electronic recipients are carried forward; is the issue
    form then pre-filled without them (with "already holds" shown), is issuing them again
    refused through the form and the API, and does the carried-forward copy stay?"""
    r = _issue(
        client,
        org,
        [
            {"department": "CS", "medium": "electronic"},
            {"department": "OM", "medium": "paper", "copies": 2},
        ],
    )
    assert r.status_code == 201
    _new_revision_effective(org["doc"], make_docx, store)
    assert _live_electronic("B0") == ["QP-CS-001-B0-C01"]  # carried forward

    login_as("officer", roles=("officer",), department="QA")
    form = client.get("/documents/QP-CS-001/revisions/B0/issue")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'id="holders"' in html and "already holds QP-CS-001-B0-C01" in html
    # the paper line of A/0 is filled in again, the electronic CS line is not
    assert '<option value="department:OM" selected>' in html
    assert '<option value="department:CS" selected>' not in html

    posted = client.form_post(
        "/documents/QP-CS-001/revisions/B0/issue",
        {
            "recipient-0": "department:OM",
            "medium-0": "paper",
            "copies-0": "2",
            "recipient-1": "department:CS",
            "medium-1": "electronic",
            "copies-1": "1",
            "acknowledge_within_days": "14",
        },
    )
    assert posted.status_code == 409
    page = posted.get_data(as_text=True)
    assert "already holds electronic copy QP-CS-001-B0-C01" in page
    assert 'data-index="1"' in page and "table-danger" in page
    api = _issue(client, org, [{"department": "CS", "medium": "electronic"}], rev="B0")
    assert api.status_code == 409
    assert _live_electronic("B0") == ["QP-CS-001-B0-C01"]
    # the paper copies alone go through
    assert _issue(client, org, [{"department": "OM", "medium": "paper", "copies": 2}], rev="B0")
    assert _live_electronic("B0") == ["QP-CS-001-B0-C01"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_officers_issuing_at_once_give_one_electronic_copy(app_config, org):
    """Do two parallel issue requests naming the same electronic recipient on PostgreSQL
    give one 201 and one 409, and one electronic copy?"""
    import threading

    from app import create_app

    parallel = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 4}})
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def officer_issues():
        with parallel.test_client() as c:
            barrier.wait(timeout=30)
            r = c.post(
                "/api/v1/documents/QP-CS-001/revisions/A0/issue",
                json={"distribution": [{"department": "CS", "medium": "electronic"}]},
                headers=org["officer"],
            )
            answers.append(r.status_code)

    threads = [threading.Thread(target=officer_issues) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with parallel.app_context():
        db.engine.dispose()
    assert sorted(answers) == [201, 409]
    assert _live_electronic("A0") == ["QP-CS-001-A0-C01"]


def test_bad_input_is_a_clear_400_or_404_never_a_500(client, org):
    """Is input of the wrong shape (a list for the body, a list for a row's medium, a
    copies count of 5,000 digits, a NUL character, an unknown choice, a page beyond any
    list) a 400 naming the field, and an id that no row can have a 404 — nothing issued?"""
    url = f"/api/v1/documents/{org['doc'].number}/revisions/A0/issue"
    before = db.session.scalar(select(func.count()).select_from(ControlledCopy))
    for body, field in (
        ([{"department": "CS"}], "body"),
        ({"distribution": {"department": "CS"}}, "distribution"),
        ({"distribution": [{"department": "CS", "medium": ["paper"]}]}, "distribution[0].medium"),
        ({"distribution": [{"department": "CS", "copies": "9" * 5000}]}, "distribution[0].copies"),
        ({"distribution": [{"department": "CS\x00"}]}, "distribution"),
        ({"distribution": [{"department": "CS"}], "acknowledge_within_days": "x"}, None),
        ({"distribution": [{"department": "CS"}], "training_required": [1]}, None),
    ):
        r = client.post(url, json=body, headers=org["officer"])
        assert r.status_code == 400, (body, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "validation_failed" and error["message"]
        assert field is None or field in error["fields"], (field, error)
    assert db.session.scalar(select(func.count()).select_from(ControlledCopy)) == before
    for path, query, field in (
        ("/api/v1/copies", {"page": 10**12}, "page"),
        ("/api/v1/copies", {"document": "QP\x00"}, "document"),
        ("/api/v1/acknowledgements", {"status": "maybe"}, "status"),
        ("/api/v1/acknowledgements/matrix", {"by": "colour"}, "by"),
        ("/api/v1/acknowledgements/matrix", {"format": "docx"}, "format"),
    ):
        r = client.get(path, query_string=query, headers=org["officer"])
        assert r.status_code == 400, (path, query, r.get_json())
        assert field in r.get_json()["error"]["fields"]
    r = client.post(
        "/api/v1/copies/QP-CS-001-A0-C01/return",
        json={"returned_by": "a\x00b", "disposition": "destroyed"},
        headers=org["officer"],
    )
    assert r.status_code == 400 and "returned_by" in r.get_json()["error"]["fields"]
    for path in ("/api/v1/acknowledgements/2147483648", "/api/v1/acknowledgements/¹"):
        r = client.post(f"{path}/sign", json={"password": PASSWORD}, headers=org["alice"])
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/copies/QP-CS-001-A0-C01%00", headers=org["officer"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
