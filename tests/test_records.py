"""Records (issue 7): the record plan, filing through the form, immutability, amendments."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from app.demo import records as demo_records
from app.errors import InvalidTransition, ValidationFailed
from app.extensions import db
from app.people.models import User
from app.records import services
from app.records.models import Record, RecordAmendment, RecordType
from tests.conftest import PASSWORD

SIMPLE = [
    {"name": "customer", "label": "顾客", "type": "text", "required": True},
    {"name": "received_on", "label": "受理日期", "type": "date", "required": True},
    {"name": "score", "label": "评分", "type": "number", "min": 1, "max": 5},
    {"name": "level", "label": "等级", "type": "choice", "choices": ["一般", "重大"]},
    {"name": "closed", "label": "已关闭", "type": "yes_no"},
    {"name": "signature", "label": "处理人签名", "type": "signature"},
]


@pytest.fixture
def complaint_type(app, make_user):
    officer = make_user("officer", roles=("officer",), department="QA")
    make_user("cs_staff", roles=("staff",), department="CS")
    make_user("mk_staff", roles=("staff",), department="MK")
    rtype = services.create_type(
        db.session,
        officer,
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "CS",
            "retention": {"years": 3, "from": "completed"},
            "fields": SIMPLE,
        },
    )
    db.session.commit()
    return rtype


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_form_definitions_are_checked():
    """Is a form with a bad name, an unknown type, duplicate names or choiceless choice
    refused, and a good one (with a table) normalised?"""
    from app.records.fields import check_form

    for bad in (
        [],
        [{"name": "Bad Name", "label": "x", "type": "text"}],
        [{"name": "a", "label": "x", "type": "colour"}],
        [{"name": "a", "label": "x", "type": "text"}, {"name": "a", "label": "y", "type": "text"}],
        [{"name": "a", "label": "x", "type": "choice", "choices": []}],
        [
            {
                "name": "a",
                "label": "x",
                "type": "table",
                "columns": [{"name": "b", "label": "y", "type": "table", "columns": []}],
            }
        ],
        [{"name": "a", "label": "x", "type": "number", "min": 5, "max": 1}],
    ):
        with pytest.raises(ValidationFailed):
            check_form(bad)
    form = check_form(demo_records.fields("顾客投诉登记表"))
    assert [f["name"] for f in form][:3] == ["customer", "phone", "received_on"]


def test_filing_with_missing_or_invalid_fields_is_a_400_naming_them(
    complaint_type, client, api_token
):
    """Does the API refuse bad values with 400 and the field names, in the caller's
    language, and leave nothing written?"""
    headers = api_token("cs_staff")
    before = db.session.scalar(select(func.count(Record.id)))
    response = client.post(
        "/api/v1/records",
        json={
            "type": "QP-CS-001-F01",
            "values": {
                "customer": "",
                "received_on": "2026-13-40",
                "score": 9,
                "level": "x",
                "colour": "red",
            },
            "complete": True,
        },
        headers={**headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"customer", "received_on", "score", "level", "colour"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # in Chinese
    unknown = client.post("/api/v1/records", json={"type": "NOPE", "values": {}}, headers=headers)
    assert unknown.status_code == 400 and "type" in unknown.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Record.id))) == before


def test_complete_record_is_immutable_and_amended_only_with_a_reason(
    complaint_type, client, api_token
):
    """Is a complete record refused PUT and PATCH (409), an amendment without a reason
    refused (400), and one with a reason appended beside the original values, signed when
    it corrects a signature field?"""
    headers = api_token("cs_staff")
    filed = client.post(
        "/api/v1/records",
        json={
            "type": "QP-CS-001-F01",
            "values": {
                "customer": "陈女士",
                "received_on": "2026-11-02",
                "score": 4,
                "signature": True,
            },
            "password": PASSWORD,
        },
        headers=headers,
    )
    assert filed.status_code == 201, filed.text
    record = filed.get_json()
    number = record["number"]
    assert number == f"QP-CS-001-F01-{record['created_at'][:4]}-0001"
    assert record["status"] == "draft" and record["values"]["signature"]["username"] == "cs_staff"
    patched = client.patch(
        f"/api/v1/records/{number}", json={"values": {"score": 5}}, headers=headers
    )
    assert patched.status_code == 200 and patched.get_json()["values"]["score"] == 5
    assert patched.get_json()["values"]["customer"] == "陈女士"  # PATCH keeps the rest

    done = client.post(f"/api/v1/records/{number}/complete", headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "complete"
    assert done.get_json()["retain_until"] and done.get_json()["sha256"]
    for method in (client.put, client.patch):
        refused = method(
            f"/api/v1/records/{number}", json={"values": {"score": 1}}, headers=headers
        )
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "invalid_transition"
    again = client.post(f"/api/v1/records/{number}/complete", headers=headers)
    assert again.status_code == 409

    no_reason = client.post(
        f"/api/v1/records/{number}/amendments", json={"values": {"score": 3}}, headers=headers
    )
    assert no_reason.status_code == 400
    assert "reason" in no_reason.get_json()["error"]["fields"]
    amended = client.post(
        f"/api/v1/records/{number}/amendments",
        json={"values": {"score": 3}, "reason": "录入错误：顾客评 3 分"},
        headers=headers,
    )
    assert amended.status_code == 201, amended.text
    unsigned = client.post(
        f"/api/v1/records/{number}/amendments",
        json={"values": {"signature": True}, "reason": "重新签名"},
        headers=headers,
    )
    assert unsigned.status_code == 403
    assert unsigned.get_json()["error"]["code"] == "signature_failed"
    signed = client.post(
        f"/api/v1/records/{number}/amendments",
        json={"values": {"signature": True}, "reason": "重新签名", "password": PASSWORD},
        headers=headers,
    )
    assert signed.status_code == 201 and signed.get_json()["signed"] is True

    shown = client.get(f"/api/v1/records/{number}", headers=headers).get_json()
    assert shown["values"]["score"] == 5  # as filed
    assert shown["current_values"]["score"] == 3  # as amended
    assert [a["reason"] for a in shown["amendments"]] == ["录入错误：顾客评 3 分", "重新签名"]
    stored = db.session.scalar(select(Record).where(Record.number == number))
    assert stored.values["score"] == 5 and len(stored.amendments) == 2
    with pytest.raises(InvalidTransition):
        services.update_draft(db.session, None, _user("cs_staff"), stored, {"score": 1})


def test_a_new_form_version_never_changes_records_already_filed(complaint_type, store):
    """Does changing a type's form make a new version that new records use, while a
    record filed before keeps its version and values?"""
    staff, officer = _user("cs_staff"), _user("officer")
    old = services.file_record(
        db.session, store, staff, complaint_type, {"customer": "A", "received_on": "2026-11-01"}
    )
    services.update_type(
        db.session,
        officer,
        complaint_type,
        {"fields": [*SIMPLE, {"name": "channel", "label": "渠道", "type": "text"}]},
    )
    new = services.file_record(
        db.session, store, staff, complaint_type, {"customer": "B", "channel": "热线"}
    )
    db.session.commit()
    assert old.schema.version == 1 and new.schema.version == 2
    assert "channel" not in {f["name"] for f in old.schema.fields}
    assert new.values["channel"] == "热线" and old.values == {
        "customer": "A",
        "received_on": "2026-11-01",
    }
    with pytest.raises(ValidationFailed):  # the code cannot change: numbers use it
        services.update_type(db.session, officer, complaint_type, {"code": "X-1"})


def test_record_list_is_newest_year_first_and_filters_by_type_and_year(
    complaint_type, client, api_token, store
):
    """Does the list show the newest year first, then filing order (a record back-filed
    into 2024 after 2026's comes after them), filter by type and year, and offer the years
    that have records?"""
    from datetime import date

    staff = _user("cs_staff")
    numbers = {}
    for label, day in (("a", date(2026, 3, 1)), ("b", date(2024, 5, 2)), ("c", date(2026, 4, 3))):
        record = services.file_record(
            db.session, store, staff, complaint_type, {"customer": label}, today=day
        )
        numbers[label] = record.number
    db.session.commit()

    def listed(**kw) -> list[str]:
        return [r.number for r in db.session.scalars(services.list_stmt(**kw))]

    assert listed() == [numbers["c"], numbers["a"], numbers["b"]]
    assert listed(year=2024) == [numbers["b"]]
    assert listed(type_code="qp-cs-001-f01 ", year=2026) == [numbers["c"], numbers["a"]]
    assert listed(type_code="QP-OTHER") == [] and listed(year=2025) == []
    assert services.years(db.session) == [2026, 2024]
    body = client.get("/api/v1/records?year=2026", headers=api_token("officer")).get_json()
    assert [r["number"] for r in body["items"]] == [numbers["c"], numbers["a"]]
    assert body["total"] == 2


def test_years_of_an_empty_record_list(app):
    assert services.years(db.session) == []


def test_confidential_records_stay_in_their_department(app, client, api_token, store, make_user):
    """Is a confidential record of CS a 404 and absent from lists for MK staff, visible to
    CS staff and the officer, and does search find records by their field values?"""
    from app.search import services as search
    from app.search import sync

    app.config["QDMS_SEARCH_AFTER_COMMIT"] = True
    officer = make_user("officer", roles=("officer",), department="QA")
    cs = make_user("cs_staff", roles=("staff",), department="CS")
    make_user("mk_staff", roles=("staff",), department="MK")
    rtype = services.create_type(
        db.session,
        officer,
        {
            "code": "CS-F09",
            "name": "投诉赔偿审批",
            "department": "CS",
            "retention": {"years": 5, "from": "created"},
            "confidentiality": "confidential",
            "fields": [{"name": "customer", "label": "顾客", "type": "text", "required": True}],
        },
    )
    record = services.file_record(db.session, store, cs, rtype, {"customer": "钱塘物业赔偿"})
    db.session.commit()
    number = record.number
    mk = api_token("mk_staff")
    assert client.get(f"/api/v1/records/{number}", headers=mk).status_code == 404
    assert client.get("/api/v1/records", headers=mk).get_json()["total"] == 0
    for who in ("cs_staff", "officer"):
        shown = client.get(f"/api/v1/records/{number}", headers=api_token(who))
        assert shown.status_code == 200
    index = sync.store_for(app)
    found = search.search(db.session, index, cs, "钱塘物业赔偿")
    assert [h.number for h in found.hits] == [number] and found.hits[0].kind == "record"
    hidden = search.search(db.session, index, _user("mk_staff"), "钱塘物业赔偿")
    assert hidden.total == 0 and "record" not in hidden.facets.get("kind", {})


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_fifty_concurrent_filings_get_distinct_consecutive_numbers(
    app_config, complaint_type, store
):
    """Do 50 threads filing at once on PostgreSQL get -0001…-0050, no gap, no duplicate?"""
    from app import create_app

    staff_id, type_id = _user("cs_staff").id, complaint_type.id
    app = create_app(
        {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 50, "max_overflow": 5}}
    )
    barrier = threading.Barrier(50)
    errors: list[Exception] = []

    def worker(i: int):
        with app.app_context():
            try:
                actor = db.session.get(User, staff_id)
                rtype = db.session.get(RecordType, type_id)
                barrier.wait(timeout=60)
                services.file_record(db.session, store, actor, rtype, {"customer": f"顾客 {i}"})
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
    numbers = sorted(db.session.scalars(select(Record.number)))
    year = db.session.scalar(select(Record.year))
    assert numbers == [f"QP-CS-001-F01-{year}-{n:04d}" for n in range(1, 51)]


def test_filing_page_shows_inline_errors_and_files_a_record(complaint_type, login_as):
    """Does the generated form show each problem beside its field (400, nothing filed),
    and file and complete a record when the input is right?"""
    page = login_as("cs_staff")
    form = page.get("/records/new/QP-CS-001-F01")
    assert form.status_code == 200 and 'name="v.customer"' in form.text
    bad = page.form_post(
        "/records/new/QP-CS-001-F01",
        {"v.customer": "", "v.received_on": "not a date", "v.score": "7", "action": "complete"},
    )
    assert bad.status_code == 400
    assert bad.text.count("invalid-feedback") >= 3
    assert db.session.scalar(select(func.count(Record.id))) == 0
    good = page.form_post(
        "/records/new/QP-CS-001-F01",
        {
            "v.customer": "陈女士",
            "v.received_on": "2026-11-02",
            "v.score": "4",
            "v.level": "重大",
            "v.closed": "yes",
            "sign.signature": "1",
            "password": PASSWORD,
            "action": "complete",
        },
    )
    assert good.status_code == 302, good.text
    record = db.session.scalar(select(Record))
    assert record.status == "complete" and record.values["closed"] is True
    assert record.values["signature"]["username"] == "cs_staff"
    shown = page.get(good.headers["Location"])
    assert "陈女士" in shown.text and record.number in shown.text
    amend = page.form_post(
        f"/records/{record.number}/amend",
        {
            "v.customer": "陈女士（恒信物业）",
            "v.received_on": "2026-11-02",
            "v.score": "4",
            "v.level": "重大",
            "v.closed": "yes",
            "reason": "补充单位名称",
        },
    )
    assert amend.status_code == 302, amend.text
    assert db.session.scalar(select(RecordAmendment.values_json)) == (
        '{"customer":"陈女士（恒信物业）"}'
    )
    shown = page.get(f"/records/{record.number}")
    assert "补充单位名称" in shown.text and "陈女士（恒信物业）" in shown.text


def test_a_signature_shows_the_organisations_day(app):
    """Is a signature made at 02:16 in Shanghai (18:16 UTC the day before) shown, searched
    and printed with Shanghai's day?"""
    from app.records.fields import display

    signed = {"name": "张伟 Zhang Wei", "signed_at": "2026-11-21T18:16:00Z"}
    assert display({"type": "signature"}, signed) == "张伟 Zhang Wei (2026-11-22)"


def test_a_new_record_type_is_its_departments_unless_internal_is_chosen(
    app, client, api_token, login_as, make_user, store
):
    """Is a record type created without a confidentiality (API and form) confidential to
    its owning department — MK staff cannot open its records, officers and auditors can —
    and internal only when chosen?"""
    officer = api_token("officer", roles=("officer",))
    make_user("cs_staff", roles=("staff",), department="CS")
    make_user("mk_staff", roles=("staff",), department="MK")
    body = {
        "name": "顾客回访记录",
        "department": "CS",
        "retention": {"years": 3, "from": "created"},
        "fields": SIMPLE,
    }
    r = client.post("/api/v1/record-types", json={**body, "code": "R-1"}, headers=officer)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["confidentiality"] == "confidential"
    r = client.post(
        "/api/v1/record-types",
        json={**body, "code": "R-2", "confidentiality": "internal"},
        headers=officer,
    )
    assert r.get_json()["confidentiality"] == "internal"
    record = services.file_record(
        db.session,
        store,
        _user("cs_staff"),
        services.get_type(db.session, "R-1"),
        {"customer": "王女士"},
    )
    db.session.commit()
    assert (
        client.get(f"/api/v1/records/{record.number}", headers=api_token("mk_staff")).status_code
        == 404
    )
    for who, roles in (("cs_staff", ("staff",)), ("auditor", ("auditor",))):
        shown = client.get(f"/api/v1/records/{record.number}", headers=api_token(who, roles=roles))
        assert shown.status_code == 200, who

    # the plan's form offers confidential first-hand, and saving it as offered keeps it
    login_as("officer", roles=("officer",), department="QA")
    page = client.get("/records/plan/new").get_data(as_text=True)
    select_html = page[page.index('name="confidentiality"') :].split("</select>")[0]
    assert '<option selected value="confidential">' in select_html
    saved = client.form_post(
        "/records/plan/new",
        {
            "code": "R-3",
            "name": "投诉回访",
            "department": "CS",
            "retention_years": "3",
            "retention_from": "created",
            "medium": "electronic",
            "confidentiality": "confidential",
            "fields_json": json.dumps(SIMPLE, ensure_ascii=False),
        },
    )
    assert saved.status_code == 302
    assert services.get_type(db.session, "R-3").confidentiality == "confidential"


def test_the_plans_file_button_is_a_verb_in_chinese(complaint_type, login_as, client):
    """Does the record plan's "File" button (to file a record) read 填写 in Chinese, not
    the noun 文件 of a file attachment?"""
    login_as("cs_staff")
    client.form_post("/profile/language", {"language": "zh_CN"})
    page = client.get("/records/plan").get_data(as_text=True)
    link = page[page.index('href="/records/new/QP-CS-001-F01"') :].split("</a>")[0]
    assert link.endswith(">填写")


def test_bad_record_input_is_a_clear_400_never_a_500(complaint_type, client, api_token):
    """Are values that are not an object (JSON or multipart), a NUL character in a value,
    a retention that is not an object and a year beyond any list each a 400 naming the
    field, with nothing written — and is changing a type's retention through the API
    (which reschedules its records) answered and audited?"""
    headers = api_token("cs_staff")
    officer = api_token("officer")
    before = db.session.scalar(select(func.count(Record.id)))
    for body, field in (
        ({"type": "QP-CS-001-F01", "values": ["陈女士"]}, "values"),
        ({"type": "QP-CS-001-F01", "values": {"customer": "陈\x00"}}, "values"),
        ({"type": ["QP-CS-001-F01"], "values": {"customer": "陈女士"}}, "type"),
        ({"type": "QP-CS-001-F01", "values": {"customer": "陈"}, "complete": "maybe"}, "complete"),
    ):
        r = client.post("/api/v1/records", json=body, headers=headers)
        assert r.status_code == 400, (body, r.get_json())
        assert field in r.get_json()["error"]["fields"], (field, r.get_json())
    for values in ("[1]", "not json", '{"customer": "\\u0000"}'):
        r = client.post(
            "/api/v1/records", data={"type": "QP-CS-001-F01", "values": values}, headers=headers
        )
        assert r.status_code == 400, (values, r.get_json())
        assert r.get_json()["error"]["fields"] == {"values": "must be an object"}
    assert db.session.scalar(select(func.count(Record.id))) == before
    r = client.get("/api/v1/records", query_string={"year": 10**12}, headers=headers)
    assert r.status_code == 400 and "year" in r.get_json()["error"]["fields"]
    r = client.patch(
        "/api/v1/record-types/QP-CS-001-F01", json={"retention": "3 years"}, headers=officer
    )
    assert r.status_code == 400 and r.get_json()["error"]["fields"] == {
        "retention": "must be an object"
    }
    r = client.patch(
        "/api/v1/record-types/QP-CS-001-F01",
        json={"retention": {"years": 5, "from": "created"}},
        headers=officer,
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["retention"] == {"years": 5, "from": "created"}
    trail = client.get(
        "/api/v1/audit-trail", query_string={"object": "record_type:QP-CS-001-F01"}, headers=officer
    ).get_json()["items"]
    assert trail[-1]["action"] == "record_type_changed"
    assert trail[-1]["after"]["records_rescheduled"] == 0
