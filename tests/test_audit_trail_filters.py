"""Searching the audit trail: by object as people type it, user, action and dates, logins
left out unless asked, and exports (CSV, .xlsx, PDF) of exactly the filtered events."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.audit_trail import services as audit
from app.audit_trail.models import Event
from app.extensions import db
from tests.conftest import PASSWORD


@pytest.fixture
def trail(make_user, make_document):
    """QP-CS-001 effective A/0 (created, submitted, signed, approved, effective) and a
    draft QP-CS-002; the approver is 陈建国 (username approver)."""
    make_user("approver", roles=("approver",), department="QA", full_name="陈建国")
    make_document(effective=True)
    make_document(title="服务补救程序")
    return db.session


def _refs_and_actions(body) -> list[tuple[str, str]]:
    return [(e["object"], e["action"]) for e in body["items"]]


def _api(client, headers, **query):
    return client.get("/api/v1/audit-trail", query_string=query, headers=headers)


def test_a_number_typed_as_people_know_it_finds_the_documents_events(trail, client, api_token):
    """Does ``qp-cs-001`` (any case, no prefix) find exactly the document's events —
    its revisions' included — in the API and on the page, and ``QP-CS-001 A/0`` the
    events that name that revision (its signatures too)?"""
    headers = api_token("emma", roles=("auditor",))
    exact = _api(client, headers, object="document:QP-CS-001").get_json()
    typed = _api(client, headers, object="qp-cs-001").get_json()
    assert typed["total"] == exact["total"] >= 6
    assert {ref for ref, _ in _refs_and_actions(typed)} == {"document:QP-CS-001"}
    actions = [a for _, a in _refs_and_actions(typed)]
    assert actions[:2] == ["created", "revision_created"]  # oldest first
    assert {"revision_in_review", "signed", "revision_approved", "revision_effective"} <= set(
        actions
    )
    revision = _api(client, headers, object="QP-CS-001 A/0").get_json()
    assert "created" not in [a for _, a in _refs_and_actions(revision)]
    assert {"revision_created", "signed", "revision_approved"} <= {
        a for _, a in _refs_and_actions(revision)
    }
    assert _api(client, headers, object="QP-CS-001 B/0").get_json()["total"] == 0

    client.form_post("/login", {"username": "emma", "password": PASSWORD})
    html = client.get("/audit-trail?object=qp-cs-001").get_data(as_text=True)
    assert html.count('<tr class="trail-event">') == exact["total"]
    assert "QP-CS-002" not in html.split("trail-table")[1]
    far = client.get("/audit-trail?object=qp-cs-001&page=99999999999999999999")
    assert far.status_code == 200  # a sane offset, never a database overflow
    nothing = client.get("/audit-trail?object=QP-XX-999").get_data(as_text=True)
    assert "Nothing in the audit trail is called QP-XX-999." in nothing


def test_a_username_or_full_name_finds_the_persons_events(trail, client, api_token):
    """Does typing a username or a person's full name as the object find their account's
    events, and the user filter the events they did?"""
    headers = api_token("emma", roles=("auditor",))
    for typed in ("approver", "APPROVER", "陈建国"):
        body = _api(client, headers, object=typed).get_json()
        assert {ref for ref, _ in _refs_and_actions(body)} == {"user:approver"}, typed
    done = _api(client, headers, user="陈建国").get_json()
    assert {e["username"] for e in done["items"]} == {"approver"}
    assert {"signed", "revision_approved"} <= {e["action"] for e in done["items"]}
    both = _api(client, headers, user="approver", object="QP-CS-002").get_json()
    assert both["total"] == 0


def test_action_and_user_filters(trail, client, api_token):
    """Does ``action=`` keep that action only, and ``user=`` that person's deeds?"""
    headers = api_token("emma", roles=("auditor",))
    body = _api(client, headers, action="revision_approved").get_json()
    assert _refs_and_actions(body) == [("document:QP-CS-001", "revision_approved")]
    by_author = _api(client, headers, user="author").get_json()
    assert by_author["total"] >= 4
    assert {e["username"] for e in by_author["items"]} == {"author"}


def test_logins_are_left_out_unless_asked(trail, client, api_token, login_as):
    """Are logins, logouts and failed logins left out by default, and shown with
    ``include_logins`` or when the action filter names one?"""
    client.form_post("/login", {"username": "approver", "password": "wrong"})
    login_as("zhang", roles=("staff",))
    headers = api_token("emma", roles=("auditor",))
    default = {a for _, a in _refs_and_actions(_api(client, headers, per_page=200).get_json())}
    assert not default & {"login", "login_failed", "logout"}
    everything = _api(client, headers, per_page=200, include_logins="true").get_json()
    assert {"login", "login_failed"} <= {a for _, a in _refs_and_actions(everything)}
    logins = _api(client, headers, action="login").get_json()
    assert logins["total"] == 1 and logins["items"][0]["object"] == "user:zhang"
    assert client.get("/audit-trail").status_code == 403  # zhang is staff: own trail only
    assert "logged in" not in client.get("/audit-trail?object=zhang").get_data(as_text=True)
    shown = client.get("/audit-trail?object=zhang&include_logins=1").get_data(as_text=True)
    assert "Zhang logged in" in shown


def test_a_date_range_counts_the_organisations_days(app, client, api_token, monkeypatch):
    """Do ``from``/``to`` take whole days of the organisation's calendar (Shanghai),
    both included, so an event at 00:00 local time (16:00 UTC the day before) counts?"""
    moments = [
        datetime(2026, 3, 1, 15, 59, tzinfo=UTC),  # 03-01 23:59 in Shanghai
        datetime(2026, 3, 1, 16, 0, tzinfo=UTC),  # 03-02 00:00
        datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC),  # 03-02 23:59:59
        datetime(2026, 3, 2, 16, 0, tzinfo=UTC),  # 03-03 00:00
    ]
    headers = api_token("emma", roles=("auditor",))
    for i, moment in enumerate(moments):
        monkeypatch.setattr(audit, "utcnow", lambda moment=moment: moment)
        audit.record(db.session, None, "department:QA", "updated", after={"name": f"n{i}"})
    db.session.commit()
    monkeypatch.undo()

    def names(**query):
        body = _api(client, headers, object="department:QA", **query).get_json()
        return [e["after"]["name"] for e in body["items"]]

    assert names(**{"from": "2026-03-02", "to": "2026-03-02"}) == ["n1", "n2"]
    assert names(**{"from": "2026-03-02"}) == ["n1", "n2", "n3"]
    assert names(to="2026-03-01") == ["n0"]
    assert names(**{"from": "2026-03-04"}) == []


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"action": "teleported"}, "action"),
        ({"user": "nobody"}, "user"),
        ({"include_logins": "perhaps"}, "include_logins"),
        ({"format": "docx"}, "format"),
        ({"object": "QP-CS-001\x00"}, "object"),  # PostgreSQL text holds no NUL
        ({"user": "x" * 201}, "user"),
    ],
)
def test_bad_filters_are_a_clear_400_in_the_users_language(
    trail, client, api_token, make_user, query, field
):
    """Is a bad date, an unknown action or user, a bad flag or format a 400 naming the
    field in the API, and a 400 page with the message in Chinese, never a 500?"""
    headers = {**api_token("emma", roles=("auditor",)), "Accept-Language": "zh-CN"}
    r = _api(client, headers, **query)
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error["message"]
    make_user("wang", roles=("officer",), language="zh_CN")
    client.form_post("/login", {"username": "wang", "password": PASSWORD})
    page = client.get("/audit-trail", query_string=query)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert error["message"] in html.replace("&#39;", "'")


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_exports_hold_exactly_the_filtered_events_as_sentences(trail, client, make_user, api_token):
    """Do CSV, .xlsx and PDF downloads (page and API) hold exactly the filtered events,
    oldest first, as sentences in the reader's language, the PDF with Page X of Y?"""
    make_user("wang", roles=("officer",), language="zh_CN", full_name="王芳")
    client.form_post("/login", {"username": "wang", "password": PASSWORD})
    expected = db.session.scalars(
        select(Event).where(Event.object_ref == "document:QP-CS-001").order_by(Event.seq)
    ).all()
    r = client.get("/audit-trail?object=QP-CS-001&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    header, *rows = _csv_rows(r.data)
    assert header[:5] == ["时间", "用户", "操作", "对象", "事件"]
    assert len(rows) == len(expected)
    assert rows[0][4] == "Author 新建了 QP-CS-001"
    approved = next(row for row in rows if row[2] == "已批准")
    assert approved[4] == "陈建国 批准了 QP-CS-001 A/0" and "状态：审批中 → 已批准" in approved[5]
    assert not any("revision_" in cell or "document:" in cell for row in rows for cell in row)

    r = client.get("/audit-trail?object=QP-CS-001&action=revision_approved&format=xlsx")
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][4] == "陈建国 批准了 QP-CS-001 A/0"

    r = client.get("/audit-trail?object=QP-CS-001&format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages]
    assert f"第 1 页 共 {len(pages)} 页" in pages[0]
    assert "审计追踪" in pages[0] and "QP-CS-001" in pages[0]

    headers = api_token("emma", roles=("auditor",))
    r = client.get("/api/v1/audit-trail?object=qp-cs-001&format=csv", headers=headers)
    assert r.status_code == 200 and len(_csv_rows(r.data)) == len(expected) + 1


def test_an_export_too_big_for_one_file_is_refused(trail, app, client, api_token):
    """Is an export of more events than the limit a 400 asking to narrow the filters?"""
    app.config["QDMS_TRAIL_PDF_MAX_ROWS"] = 3
    headers = api_token("emma", roles=("auditor",))
    r = client.get("/api/v1/audit-trail?object=QP-CS-001&format=pdf", headers=headers)
    assert r.status_code == 400 and "narrow" in r.get_json()["error"]["message"]
    ok = client.get("/api/v1/audit-trail?action=revision_approved&format=pdf", headers=headers)
    assert ok.status_code == 200


def test_staff_see_only_their_own_account_whatever_they_type(trail, client, api_token):
    """Can staff filter their own account's events by their username or name, but get a
    403 for a document, another person, a name that matches nothing, or no object?"""
    headers = api_token("zhang", roles=("staff",))
    assert _api(client, headers, object="zhang").status_code == 200
    assert _api(client, headers, object="Zhang").status_code == 200
    assert _api(client, headers, object="user:zhang", format="csv").status_code == 200
    for typed in ("QP-CS-001", "approver", "QP-XX-999", ""):
        assert _api(client, headers, object=typed).status_code == 403, typed


def test_a_copy_or_record_number_typed_finds_its_events(trail, client, api_token, store):
    """Does a controlled copy's number or a record's number, typed in lower case without a
    prefix, find that copy's or record's events (and "read" its field names as labels)?"""
    from app.distribution import services as distribution
    from app.documents.models import Document
    from app.people.models import User
    from app.records import services as records

    officer = db.session.scalar(select(User).where(User.username == "approver"))
    doc = db.session.scalar(select(Document).where(Document.number == "QP-CS-001"))
    distribution.issue(
        db.session,
        officer,
        doc.current_revision,
        distribution=distribution.parse_distribution(
            db.session, [{"location": "前台", "custodian": "approver", "medium": "paper"}]
        ),
    )
    rtype = records.create_type(
        db.session,
        officer,
        {
            "code": "REC-QA-01",
            "name": "检查表",
            "department": "QA",
            "fields": [{"name": "checked_by", "label": "检查人", "type": "text"}],
            "retention": {"years": 3},
        },
    )
    number = records.file_record(db.session, store, officer, rtype, {"checked_by": "李"}).number
    copy = distribution.get_copy(db.session, "QP-CS-001-A0-C01")
    distribution.sign_receipt(db.session, officer, copy, password=PASSWORD)
    db.session.commit()
    headers = api_token("emma", roles=("auditor",))
    copy = _api(client, headers, object="qp-cs-001-a0-c01").get_json()
    assert _refs_and_actions(copy) == [
        ("copy:QP-CS-001-A0-C01", "signed"),
        ("copy:QP-CS-001-A0-C01", "copy_received"),
    ]
    filed = _api(client, headers, object=number.lower()).get_json()
    assert _refs_and_actions(filed) == [(f"record:{number}", "record_filed")]
    client.form_post("/login", {"username": "emma", "password": PASSWORD})
    html = client.get(f"/audit-trail?object={number.lower()}").get_data(as_text=True)
    assert f'陈建国 filed <a href="/records/{number}">{number}</a>' in html
    assert "Fields: </span>检查人" in html
