"""The register of external documents (外来文件): numbering, editions, currency checks,
citations, withdrawal, permissions, the screens and the JSON API."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit_trail.models import Event
from app.audit_trail.services import verify_chain
from app.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.external import services
from app.external.models import (
    ExternalCheck,
    ExternalCitation,
    ExternalDocument,
    ExternalEdition,
)
from app.people.models import Department, User
from app.storage import StoredBlob
from app.uploads import check_upload
from tests.conftest import PASSWORD

DAY = date(2026, 3, 10)


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles=("officer",), department="QA", full_name="王芳")


def _dept(code="QA"):
    return db.session.scalar(select(Department).where(Department.code == code))


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def _register(actor, reference="GB/T 19001-2016", *, commit=True, **kw):
    values = {
        "title": "质量管理体系 要求",
        "publisher": "国家质量监督检验检疫总局 / 国家标准化管理委员会",
        "kind": "standard",
        "department": _dept("QA"),
        "holder": actor,
        "location": "质量管理部资料柜 A-3",
        "edition": "2016",
        "published_on": date(2016, 12, 30),
        "effective_on": date(2017, 7, 1),
        "received_on": date(2017, 1, 15),
        "today": DAY,
        **kw,
    }
    ext = services.register(db.session, actor, reference=reference, **values)
    if commit:
        db.session.commit()
    return ext


def _events(ref):
    return db.session.scalars(
        select(Event).where(Event.object_ref == ref).order_by(Event.seq)
    ).all()


def _count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _error(r):
    body = r.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


# Services -----------------------------------------------------------------------


def test_control_numbers_are_consecutive_and_never_reused(officer, make_document):
    """Are control numbers EXT-0001, -0002, … in order, untouched by internal documents and
    refused registrations, and not reused after a withdrawal?"""
    first = _register(officer, "GB/T 19001-2016")
    make_document("QP", department="QA")  # internal numbering is a different scheme
    second = _register(officer, "ISO 9001:2015", title="Quality management systems")
    with pytest.raises(ValidationFailed):
        _register(officer, "GB/T 19004-2020", title="")
    db.session.rollback()
    services.withdraw(db.session, officer, second, reason="不再适用")
    db.session.commit()
    third = _register(officer, "GB/T 19004-2020", title="质量管理 组织的质量 实现持续成功指南")
    assert [first.number, second.number, third.number] == ["EXT-0001", "EXT-0002", "EXT-0003"]
    assert services.get_external(db.session, "ext-0002").id == second.id


def test_a_reference_is_registered_once_while_current(officer):
    """Is a second live entry for the same reference refused (case-insensitive), but allowed
    once the first is withdrawn?"""
    first = _register(officer, "ISO 9001:2015")
    with pytest.raises(Conflict) as err:
        _register(officer, "iso 9001:2015")
    assert err.value.fields == {"reference": "taken"}
    db.session.rollback()
    services.withdraw(db.session, officer, first, reason="重新登记")
    db.session.commit()
    assert _register(officer, "ISO 9001:2015").number == "EXT-0002"


def test_registration_checks_its_input(officer, make_user):
    """Does bad input name the field (kind, interval, holder, dates) and write nothing?"""
    inactive = make_user("gone", roles=("staff",))
    inactive.is_active = False
    db.session.commit()
    cases = [
        ({"kind": "rumour"}, "kind"),
        ({"check_interval_months": 0}, "check_interval_months"),
        ({"check_interval_months": 61}, "check_interval_months"),
        ({"holder": None}, "holder"),
        ({"holder": inactive}, "holder"),
        ({"department": None}, "department"),
        ({"edition": " "}, "edition"),
        ({"publisher": "x" * 201}, "publisher"),
        ({"received_on": date(2026, 3, 11)}, "received_on"),
        ({"published_on": date(2017, 2, 1)}, "published_on"),
        ({"effective_on": date(2016, 1, 1)}, "effective_on"),
    ]
    for change, field in cases:
        with pytest.raises(ValidationFailed) as err:
            _register(officer, commit=False, **change)
        assert field in err.value.fields, (change, err.value.fields)
        db.session.rollback()
    assert _count(ExternalDocument) == 0 and _count(ExternalEdition) == 0


def test_a_new_edition_supersedes_the_current_one(officer):
    """Does recording an edition make it the only current one, supersede the previous in
    the same step, carry the new reference, and count as a currency check?"""
    ext = _register(
        officer,
        "ISO 9001:2008",
        title="Quality management systems — Requirements",
        publisher="ISO",
        edition="2008",
        published_on=date(2008, 11, 15),
        effective_on=None,
        received_on=date(2009, 1, 10),
    )
    new = services.record_edition(
        db.session,
        officer,
        ext,
        edition="2015",
        reference="ISO 9001:2015",
        published_on=date(2015, 9, 15),
        received_on=date(2015, 10, 8),
        today=date(2026, 5, 2),
    )
    db.session.commit()
    old, current = ext.editions
    assert (old.edition, old.status, current.edition, current.status) == (
        "2008",
        "superseded",
        "2015",
        "current",
    )
    assert old.superseded_at is not None and current is new and ext.current_edition is new
    assert ext.reference == "ISO 9001:2015" and old.reference == "ISO 9001:2008"
    assert ext.last_checked_on == date(2026, 5, 2) and ext.next_check_date == date(2027, 5, 2)
    event = _events(ext.ref)[-1]
    assert event.action == "edition_recorded"
    assert json.loads(event.before)["edition"] == "2008"
    assert json.loads(event.after)["edition"] == "2015"


def test_editions_are_checked(officer):
    """Are a repeated edition label and an edition older than the current one refused, and
    does the database itself refuse a second current edition?"""
    ext = _register(officer)
    with pytest.raises(Conflict):
        services.record_edition(db.session, officer, ext, edition="2016", today=DAY)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        services.record_edition(
            db.session, officer, ext, edition="2008", published_on=date(2008, 10, 29), today=DAY
        )
    assert err.value.fields == {"published_on": "invalid"}
    db.session.rollback()
    db.session.add(
        ExternalEdition(
            external_document_id=ext.id,
            edition="2024",
            reference="GB/T 19001-2024",
            received_on=DAY,
            status="current",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert [e.status for e in ext.editions] == ["current"]


def test_a_currency_check_moves_the_next_check_date(officer):
    """Is an entry due one interval after registration, and does a "still current" check
    move the date one interval on, while "newer edition" keeps it due until recorded?"""
    ext = _register(officer, check_interval_months=1, today=date(2026, 1, 31))
    assert ext.next_check_date == date(2026, 2, 28)  # month end, not an invalid date
    assert services.due_currency_checks(db.session, date(2026, 2, 27)) == []
    assert services.due_currency_checks(db.session, date(2026, 3, 1)) == [ext]

    check = services.record_currency_check(db.session, officer, ext, today=date(2026, 3, 1))
    db.session.commit()
    assert check.next_check_date == ext.next_check_date == date(2026, 4, 1)
    assert ext.last_checked_on == date(2026, 3, 1)
    assert services.due_currency_checks(db.session, date(2026, 3, 5)) == []

    with pytest.raises(ValidationFailed) as err:
        services.record_currency_check(
            db.session, officer, ext, outcome="newer_edition", today=date(2026, 3, 5)
        )
    assert err.value.fields == {"note": "required"}
    db.session.rollback()
    services.record_currency_check(
        db.session,
        officer,
        ext,
        outcome="newer_edition",
        note="GB/T 19001-2024 已发布，已向标准化研究院订购",
        today=date(2026, 3, 5),
    )
    db.session.commit()
    assert services.due_currency_checks(db.session, date(2026, 3, 5)) == [ext]
    services.record_edition(
        db.session,
        officer,
        ext,
        edition="2024",
        reference="GB/T 19001-2024",
        today=date(2026, 3, 20),
    )
    db.session.commit()
    assert services.due_currency_checks(db.session, date(2026, 3, 20)) == []
    assert [c.outcome for c in ext.checks] == ["current", "newer_edition"]
    assert [e.action for e in _events(ext.ref)].count("currency_checked") == 2


def test_changing_the_interval_recomputes_the_next_check_and_is_audited(officer, make_user):
    """Does editing the details write before and after, and move the next check to one new
    interval after the last check?"""
    ext = _register(officer)
    services.record_currency_check(db.session, officer, ext, today=date(2026, 4, 1))
    db.session.commit()
    keeper = make_user("keeper", roles=("staff",), department="QA")
    services.update_details(
        db.session,
        officer,
        ext,
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="国家市场监督管理总局 / 国家标准化管理委员会",
        kind="standard",
        department=_dept("QA"),
        holder=keeper,
        location="电子版：共享盘 /标准",
        check_interval_months=6,
    )
    db.session.commit()
    assert ext.next_check_date == date(2026, 10, 1) and ext.holder.username == "keeper"
    event = _events(ext.ref)[-1]
    before, after = json.loads(event.before), json.loads(event.after)
    assert event.action == "updated" and before["holder"] == "officer"
    assert after["holder"] == "keeper" and after["check_interval_months"] == 6
    assert after["publisher"].startswith("国家市场监督管理总局")
    assert ext.number == "EXT-0001"  # never changes


def test_citations_in_both_directions(officer, make_document):
    """Does a citation show from the document (cited_by_document) and from the entry
    (citing_documents), get written to both audit trails, and refuse duplicates?"""
    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    procedure = make_document("QP", department="QA", title="文件控制程序")
    gbt = _register(officer, "GB/T 19001-2016")
    iso = _register(officer, "ISO 9001:2015", title="Quality management systems")
    services.cite(db.session, officer, gbt, manual.number)
    services.cite(db.session, officer, iso, manual.number.lower())
    services.cite(db.session, officer, gbt, procedure.number)
    db.session.commit()
    assert services.cited_by_document(db.session, manual) == [gbt, iso]
    assert services.cited_by_document(db.session, procedure) == [gbt]
    assert services.citing_documents(db.session, gbt) == [manual, procedure]
    with pytest.raises(Conflict):
        services.cite(db.session, officer, gbt, manual.number)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        services.cite(db.session, officer, gbt, "QP-XX-999")
    assert err.value.fields == {"document": "invalid"}
    db.session.rollback()

    services.uncite(db.session, officer, gbt, procedure.number)
    db.session.commit()
    assert services.citing_documents(db.session, gbt) == [manual]
    with pytest.raises(NotFound):
        services.uncite(db.session, officer, gbt, procedure.number)
    db.session.rollback()
    assert [e.action for e in _events(gbt.ref)] == [
        "created",
        "citation_added",
        "citation_added",
        "citation_removed",
    ]
    doc_events = [e.action for e in _events(f"document:{procedure.number}")]
    assert doc_events[-2:] == ["external_cited", "external_uncited"]


def test_an_obsolete_document_cannot_cite(officer, make_document):
    """Is citing from a withdrawn (obsolete) internal document refused?"""
    from app.documents import services as documents

    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    documents.withdraw(db.session, officer, manual, reason="合并", password=PASSWORD)
    db.session.commit()
    ext = _register(officer)
    with pytest.raises(InvalidTransition):
        services.cite(db.session, officer, ext, manual.number)


def test_a_withdrawn_entry_is_frozen_and_leaves_the_due_list(officer, make_document):
    """Does withdrawal need a reason, name the documents still citing it, drop the entry
    from the due list, and refuse further editions, checks, citations and edits?"""
    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    ext = _register(officer)
    services.cite(db.session, officer, ext, manual.number)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.withdraw(db.session, officer, ext, reason=" ")
    db.session.rollback()
    still_citing = services.withdraw(db.session, officer, ext, reason="标准已废止")
    db.session.commit()
    assert still_citing == [manual]
    assert ext.status == "withdrawn" and ext.next_check_date is None and ext.withdrawn_at
    assert services.due_currency_checks(db.session, date(2099, 1, 1)) == []
    for action in (
        lambda: services.record_edition(db.session, officer, ext, edition="2024", today=DAY),
        lambda: services.record_currency_check(db.session, officer, ext, today=DAY),
        lambda: services.cite(db.session, officer, ext, manual.number),
        lambda: services.withdraw(db.session, officer, ext, reason="again"),
    ):
        with pytest.raises(InvalidTransition):
            action()
        db.session.rollback()
    event = _events(ext.ref)[-1]
    assert event.action == "withdrawn" and event.reason == "标准已废止"
    # tidying up a withdrawn entry's citations is still allowed
    services.uncite(db.session, officer, ext, manual.number)
    db.session.commit()
    assert services.cited_by_document(db.session, manual) == []


def test_search_finds_references_with_or_without_spaces(officer):
    """Does q match the reference (also written without spaces), the Chinese title, the
    publisher and the control number, and do kind/status filters apply?"""
    _register(officer, "GB/T 19001-2016")
    _register(
        officer,
        "Q/HX-KF-2023",
        title="客户服务质量要求",
        publisher="华信物业管理有限公司",
        kind="customer_specification",
    )

    def found(**kw):
        return [e.reference for e in db.session.scalars(services.list_stmt(**kw))]

    assert found(q="GB/T19001") == ["GB/T 19001-2016"]
    assert found(q="gb/t 19001") == ["GB/T 19001-2016"]
    assert found(q="服务质量") == ["Q/HX-KF-2023"]
    assert found(q="华信") == ["Q/HX-KF-2023"]
    assert found(q="EXT-0002") == ["Q/HX-KF-2023"]
    assert found(q="100%") == []
    assert found(kind="customer_specification") == ["Q/HX-KF-2023"]
    assert found(status="withdrawn") == []
    with pytest.raises(ValidationFailed):
        found(kind="rumour")


def test_every_change_is_audited_and_the_chain_holds(officer, make_document, store, pdf_bytes):
    """Does each service write its audit event about external:EXT-nnnn, with the chain intact?"""
    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    upload = check_upload(pdf_bytes, "GB-T-19001-2016.pdf", max_bytes=10**7)
    ext = _register(officer, upload=upload, store=store)
    services.record_currency_check(db.session, officer, ext, today=DAY)
    services.record_edition(db.session, officer, ext, edition="2024", today=DAY)
    services.cite(db.session, officer, ext, manual.number)
    services.uncite(db.session, officer, ext, manual.number)
    services.withdraw(db.session, officer, ext, reason="废止")
    db.session.commit()
    actions = [e.action for e in _events("external:EXT-0001")]
    assert actions == [
        "created",
        "currency_checked",
        "edition_recorded",
        "citation_added",
        "citation_removed",
        "withdrawn",
    ]
    created = json.loads(_events("external:EXT-0001")[0].after)
    assert created["edition"]["file_sha256"] == ext.editions[0].file_sha256
    assert all(e.actor_username == "officer" for e in _events("external:EXT-0001"))
    assert verify_chain(db.session).ok


# Screens --------------------------------------------------------------------------


def test_officer_keeps_the_register_through_the_screens(
    login_as, officer, make_document, pdf_bytes
):
    """Can an officer register (with a PDF), record an edition and a check, cite, uncite
    and withdraw through the forms, and does every page show the result?"""
    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    client = login_as("officer")
    assert client.get("/external/new").status_code == 200
    r = client.form_post(
        "/external/new",
        {
            "reference": "ISO 9001:2008",
            "title": "Quality management systems — Requirements",
            "publisher": "ISO",
            "kind": "standard",
            "department": "QA",
            "holder": "officer",
            "location": "QA cabinet A-3",
            "check_interval_months": "12",
            "edition": "2008",
            "published_on": "2008-11-15",
            "received_on": "2009-01-10",
            "file": (io.BytesIO(pdf_bytes), "iso9001-2008.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/external/EXT-0001")
    ext = services.get_external(db.session, "EXT-0001")
    edition = ext.editions[0]
    assert edition.file_kind == "pdf" and edition.page_count == 2
    r = client.get(f"/external/EXT-0001/editions/{edition.id}/file")
    assert r.status_code == 200 and r.data == pdf_bytes and r.mimetype == "application/pdf"

    r = client.form_post(
        "/external/EXT-0001/editions/new",
        {
            "edition": "2015",
            "reference": "ISO 9001:2015",
            "published_on": "2015-09-15",
            "received_on": "2015-10-08",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.form_post("/external/EXT-0001/checks/new", {"outcome": "current"})
    assert r.status_code == 302
    r = client.form_post("/external/EXT-0001/citations/new", {"document": manual.number})
    assert r.status_code == 302

    page = client.get("/external/EXT-0001").get_data(as_text=True)
    assert "ISO 9001:2015" in page and "ISO 9001:2008" in page and "iso9001-2008.pdf" in page
    assert f'href="/documents/{manual.number}"' in page
    assert "Currency checks" in page and "Still the current edition" in page
    listing = client.get("/external?q=ISO9001").get_data(as_text=True)
    assert "EXT-0001" in listing and ">2015<" in listing

    r = client.form_post(f"/external/EXT-0001/citations/{manual.number}/remove")
    assert r.status_code == 302
    assert services.citing_documents(db.session, ext) == []
    assert client.form_post("/external/EXT-0001/withdraw", {"reason": ""}).status_code == 400
    r = client.form_post("/external/EXT-0001/withdraw", {"reason": "ISO 9001 不再作为认证依据"})
    assert r.status_code == 302
    assert services.get_external(db.session, "EXT-0001").status == "withdrawn"
    link = 'href="/external/EXT-0001"'
    assert link not in client.get("/external").get_data(as_text=True)  # current ones only
    assert link in client.get("/external?status=withdrawn").get_data(as_text=True)
    # a withdrawn entry offers no actions and refuses them
    assert (
        client.form_post("/external/EXT-0001/checks/new", {"outcome": "current"}).status_code == 409
    )


def test_form_errors_are_shown_inline_and_write_nothing(login_as, officer):
    """Do a renamed executable, a taken reference and a bad date give a 4xx page with the
    field's message, and nothing written?"""
    client = login_as("officer")
    form = {
        "reference": "GB/T 19001-2016",
        "title": "质量管理体系 要求",
        "publisher": "SAC",
        "kind": "standard",
        "department": "QA",
        "holder": "officer",
        "check_interval_months": "12",
        "edition": "2016",
    }
    r = client.form_post(
        "/external/new",
        {**form, "file": (io.BytesIO(b"MZ\x90\x00not a pdf"), "standard.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "Only Word (.docx) and PDF files" in r.get_data(as_text=True)
    r = client.form_post("/external/new", {**form, "published_on": "2016-13-45"})
    assert r.status_code == 400
    assert _count(ExternalDocument) == 0 and _count(StoredBlob) == 0
    assert client.form_post("/external/new", form).status_code == 302
    r = client.form_post("/external/new", {**form, "reference": "gb/t 19001-2016"})
    assert r.status_code == 409 and "already registered as EXT-0001" in r.get_data(as_text=True)
    assert _count(ExternalDocument) == 1


def test_staff_read_the_register_but_cannot_change_it(login_as, officer, make_user):
    """May staff open the list and an entry, but get 403 on every form and action?"""
    ext = _register(officer)
    client = login_as("zhang", roles=("staff",))
    page = client.get("/external").get_data(as_text=True)
    assert "EXT-0001" in page and "Register external document" not in page
    detail = client.get("/external/EXT-0001").get_data(as_text=True)
    assert "GB/T 19001-2016" in detail and "Record new edition" not in detail
    for path in (
        "new",
        "EXT-0001/edit",
        "EXT-0001/editions/new",
        "EXT-0001/checks/new",
        "EXT-0001/citations/new",
        "EXT-0001/withdraw",
    ):
        assert client.get(f"/external/{path}").status_code == 403, path
        assert client.form_post(f"/external/{path}", {"reason": "x"}).status_code == 403, path
    assert client.form_post("/external/EXT-0001/citations/QM-QA-001/remove").status_code == 403
    assert client.get("/external/EXT-9999").status_code == 404
    assert ext.status == "current" and len(_events(ext.ref)) == 1


def test_a_due_check_is_highlighted(login_as, officer):
    """Is an entry whose check date has come marked "Check due" in the list and the page?"""
    _register(officer, today=date(2020, 1, 1))
    _register(officer, "ISO 9001:2015", title="Quality management systems", today=local_today())
    client = login_as("officer")
    page = client.get("/external").get_data(as_text=True)
    assert page.count("Check due</span>") == 1 and "Currency checks due: 1" in page
    only_due = client.get("/external?due=1").get_data(as_text=True)
    assert "EXT-0001" in only_due and "EXT-0002" not in only_due
    assert "was due on 2021-01-01" in client.get("/external/EXT-0001").get_data(as_text=True)


# API ------------------------------------------------------------------------------


NEW = {
    "reference": "GB/T 19001-2016",
    "title": "质量管理体系 要求",
    "publisher": "国家标准化管理委员会",
    "kind": "standard",
    "department": "QA",
    "holder": "officer",
    "edition": "2016",
    "published_on": "2016-12-30",
    "effective_on": "2017-07-01",
}


def test_api_round_trip(client, api_token, officer, make_document, pdf_bytes):
    """register → list → detail → edition (multipart) → check → cite → uncite → withdraw."""
    manual = make_document("QM", department="QA", title="质量手册", effective=True)
    headers = api_token("officer")
    r = client.post("/api/v1/external-documents", json=NEW, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["number"] == "EXT-0001" and body["current_edition"] == "2016"
    assert body["holder"] == "officer" and body["check_interval_months"] == 12
    assert body["editions"][0]["published_on"] == "2016-12-30" and body["citing_documents"] == []

    listing = client.get("/api/v1/external-documents?q=19001&kind=standard", headers=headers)
    assert (
        listing.get_json()["total"] == 1 and listing.get_json()["items"][0]["number"] == "EXT-0001"
    )

    r = client.post(
        "/api/v1/external-documents/EXT-0001/editions",
        data={
            "edition": "2024",
            "reference": "GB/T 19001-2024",
            "published_on": "",
            "file": (io.BytesIO(pdf_bytes), "gbt19001-2024.pdf"),
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    edition = r.get_json()
    assert edition["status"] == "current" and len(edition["sha256"]) == 64
    r = client.get(
        f"/api/v1/external-documents/EXT-0001/editions/{edition['id']}/file", headers=headers
    )
    assert r.status_code == 200 and r.data == pdf_bytes

    r = client.post(
        "/api/v1/external-documents/EXT-0001/checks", json={"outcome": "current"}, headers=headers
    )
    assert r.status_code == 201 and r.get_json()["outcome"] == "current"
    r = client.post(
        "/api/v1/external-documents/EXT-0001/citations",
        json={"document": manual.number},
        headers=headers,
    )
    assert r.status_code == 201 and r.get_json()["document"] == manual.number

    detail = client.get("/api/v1/external-documents/EXT-0001", headers=headers).get_json()
    assert detail["reference"] == "GB/T 19001-2024"
    assert [e["status"] for e in detail["editions"]] == ["superseded", "current"]
    assert [c["number"] for c in detail["citing_documents"]] == [manual.number]
    assert len(detail["checks"]) == 1

    r = client.delete(
        f"/api/v1/external-documents/EXT-0001/citations/{manual.number}", headers=headers
    )
    assert r.status_code == 204
    r = client.delete(
        f"/api/v1/external-documents/EXT-0001/citations/{manual.number}", headers=headers
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/external-documents/EXT-0001/withdraw", json={"reason": "废止"}, headers=headers
    )
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    r = client.post(
        "/api/v1/external-documents/EXT-0001/withdraw", json={"reason": "again"}, headers=headers
    )
    assert r.status_code == 409 and _error(r)["code"] == "invalid_transition"
    statuses = client.get("/api/v1/external-documents?status=withdrawn", headers=headers)
    assert statuses.get_json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "title": None}, "title"),
        ({k: v for k, v in NEW.items() if k != "publisher"}, "publisher"),
        ({**NEW, "kind": "rumour"}, "kind"),
        ({**NEW, "holder": "nobody"}, "holder"),
        ({**NEW, "department": "ZZ"}, "department"),
        ({**NEW, "published_on": "30.12.2016"}, "published_on"),
        ({**NEW, "check_interval_months": "soon"}, "check_interval_months"),
        ({**NEW, "check_interval_months": 0}, "check_interval_months"),
        ({**NEW, "effective_on": "2015-01-01"}, "effective_on"),
        (["not", "an", "object"], "body"),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(client, api_token, officer, body, field):
    """Is each kind of bad input a 400 with `fields` naming the problem, and nothing written
    (not even a control number)?"""
    headers = api_token("officer")
    r = client.post("/api/v1/external-documents", json=body, headers=headers)
    assert r.status_code == 400, r.get_json()
    assert field in _error(r)["fields"]
    assert _count(ExternalDocument) == 0
    r = client.post("/api/v1/external-documents", json=NEW, headers=headers)
    assert r.get_json()["number"] == "EXT-0001"


def test_api_errors_never_500(client, api_token, officer):
    """Are unknown entries 404, bad filters and bodies 400, and a staff member's writes 403?"""
    headers = api_token("officer")
    assert client.post("/api/v1/external-documents", json=NEW, headers=headers).status_code == 201
    cases = [
        ("get", "/api/v1/external-documents/EXT-9999", None, 404),
        ("get", "/api/v1/external-documents/EXT-0001/editions/x/file", None, 404),
        ("get", "/api/v1/external-documents/EXT-0001/editions/999/file", None, 404),
        ("get", "/api/v1/external-documents/EXT-0001/editions/1/file", None, 404),  # no file
        ("get", "/api/v1/external-documents?kind=rumour", None, 400),
        ("get", "/api/v1/external-documents?due=perhaps", None, 400),
        ("post", "/api/v1/external-documents/EXT-9999/checks", {}, 404),
        ("post", "/api/v1/external-documents/EXT-0001/checks", {"outcome": "maybe"}, 400),
        ("post", "/api/v1/external-documents/EXT-0001/checks", {"outcome": "newer_edition"}, 400),
        ("post", "/api/v1/external-documents/EXT-0001/editions", {}, 400),
        ("post", "/api/v1/external-documents/EXT-0001/editions", {"edition": "2016"}, 409),
        ("post", "/api/v1/external-documents/EXT-0001/citations", {"document": "QM-X-1"}, 400),
        ("post", "/api/v1/external-documents/EXT-0001/withdraw", {}, 400),
    ]
    for method, path, body, status in cases:
        r = getattr(client, method)(path, json=body, headers=headers)
        assert r.status_code == status, (path, body, r.get_json())
        assert _error(r)["code"]
    r = client.post(
        "/api/v1/external-documents/EXT-0001/checks",
        data="not json",
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 400 and "body" in _error(r)["fields"]

    staff = api_token("zhang", roles=("staff",))
    assert client.get("/api/v1/external-documents/EXT-0001", headers=staff).status_code == 200
    for path, body in [
        ("/api/v1/external-documents", NEW),
        ("/api/v1/external-documents/EXT-0001/editions", {"edition": "2024"}),
        ("/api/v1/external-documents/EXT-0001/checks", {}),
        ("/api/v1/external-documents/EXT-0001/withdraw", {"reason": "x"}),
        ("/api/v1/external-documents/EXT-0001/citations", {"document": "QM-QA-001"}),
    ]:
        r = client.post(path, json=body, headers=staff)
        assert r.status_code == 403 and _error(r)["code"] == "forbidden", path
    r = client.delete("/api/v1/external-documents/EXT-0001/citations/QM-QA-001", headers=staff)
    assert r.status_code == 403
    assert len(_events("external:EXT-0001")) == 1 and _count(ExternalCheck) == 0


def test_citing_documents_the_reader_may_not_see_are_hidden(
    client, api_token, officer, make_document
):
    """Does the entry list only the citing documents its reader may open (a draft is not
    shown to staff, but is to the officer)?"""
    draft = make_document("QP", department="QA", title="外来文件控制程序")
    ext = _register(officer)
    services.cite(db.session, officer, ext, draft.number)
    db.session.commit()
    staff = client.get("/api/v1/external-documents/EXT-0001", headers=api_token("zhang"))
    assert staff.get_json()["citing_documents"] == []
    mine = client.get("/api/v1/external-documents/EXT-0001", headers=api_token("officer"))
    assert [d["number"] for d in mine.get_json()["citing_documents"]] == [draft.number]
    assert _count(ExternalCitation) == 1


# Demo -----------------------------------------------------------------------------


def test_demo_register_is_seeded_once(app, make_user, make_document):
    """Does the demo register GB/T 19001, ISO 9001 (2008 superseded by 2015) and a customer
    specification, cite them from the quality manual, and add nothing the second time?"""
    from app.demo import external as external_demo

    assert external_demo.seed(db.session) == []  # no demo organisation yet: nothing to do
    officer = make_user("officer", roles=("officer", "author"), department="QA")
    make_user("cs_head", roles=("approver", "staff"), department="CS")
    manual = make_document("QM", department="QA", title="质量手册", effective=True, author=officer)
    added = external_demo.seed(db.session)
    db.session.commit()
    assert len(added) >= 4
    iso = db.session.scalar(
        select(ExternalDocument).where(ExternalDocument.reference == "ISO 9001:2015")
    )
    assert [(e.edition, e.status) for e in iso.editions] == [
        ("2008", "superseded"),
        ("2015", "current"),
    ]
    assert iso.holder.username == "officer"
    overdue = services.due_currency_checks(db.session, local_today())
    assert [e.reference for e in overdue] == ["GB/T 19011-2021"]
    refs = {e.reference for e in services.cited_by_document(db.session, manual)}
    assert {"GB/T 19001-2016", "ISO 9001:2015"} <= refs
    assert external_demo.seed(db.session) == []
    assert _count(ExternalDocument) == len([a for a in added if a.startswith("external document")])
