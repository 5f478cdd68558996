"""Retention, legal hold and destruction (issue 7, acceptance 3)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.documents import services as documents
from app.documents.models import Revision
from app.extensions import db, local_today
from app.people.models import User
from app.records import services as records
from app.records.models import Record, RecordAmendment
from app.retention import services as retention
from app.retention.models import Destruction, LegalHold
from app.storage import StoredBlob
from app.uploads import check_scan
from tests.conftest import PASSWORD
from tests.test_signatures import assert_wrong_password_at_the_field

FORM = [
    {"name": "customer", "label": "顾客", "type": "text", "required": True},
    {"name": "issue", "label": "投诉内容", "type": "long_text"},
    {"name": "evidence", "label": "证据", "type": "file"},
]
LONG_AGO = datetime(2018, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production: destroyed content must leave the
    search index, not only the database and docs_store."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 40, 90)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def people(make_user):
    make_user("officer", roles=("officer",), department="QA")
    make_user("officer2", roles=("officer", "approver"), department="QA")
    make_user("approver", roles=("approver",), department="QA")
    make_user("cs_staff", roles=("staff",), department="CS")


@pytest.fixture
def old_records(app, people, store):
    """Three complaint records completed in 2018, kept 3 years: due today. One has a
    scan, one an attached evidence file, one an amendment."""
    officer = _user("officer")
    rtype = records.create_type(
        db.session,
        officer,
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "CS",
            "retention": {"years": 3, "from": "completed"},
            "fields": FORM,
        },
    )
    staff = _user("cs_staff")
    filed = []
    for i, (customer, issue) in enumerate(
        [
            ("恒信物业", "电梯停运三小时无人响应"),
            ("Zephyrine Ltd", "quillwort invoice dispute"),
            ("张先生", "维修人员态度差"),
        ]
    ):
        scan = check_scan(_jpeg(i), f"scan{i}.jpg", max_bytes=10**6) if i == 0 else None
        files = (
            {"evidence": check_scan(_jpeg(100 + i), "photo.jpg", max_bytes=10**6)}
            if i == 1
            else None
        )
        record = records.file_record(
            db.session,
            store,
            staff,
            rtype,
            {"customer": customer, "issue": issue},
            scan=scan,
            files=files,
            complete=True,
            today=date(2018, 3, 1),
        )
        filed.append(record.number)
    db.session.commit()
    amended = records.get_record(db.session, filed[2])
    records.amend(db.session, officer, amended, {"issue": "维修人员迟到两小时"}, "电话核实")
    db.session.commit()
    # simulate their age: filed and completed in 2018
    db.session.execute(
        update(Record)
        .where(Record.number.in_(filed))
        .values(created_at=LONG_AGO, completed_at=LONG_AGO, retain_until=date(2021, 3, 1))
    )
    db.session.commit()
    return filed


def _search(client, headers, q):
    response = client.get(
        "/api/v1/search", query_string={"q": q, "include_history": "true"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return [item["number"] for item in response.get_json()["items"]]


def _due_refs(client, headers):
    response = client.get("/api/v1/retention/due", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_retention_proposal_signed_approval_removes_content_and_keeps_tombstones(
    old_records, client, api_token, store, runner
):
    """Retention → proposal → signed approval by someone else → content gone from
    docs_store, the database and search; tombstones and the destruction record (PDF)
    kept; `qdms check` and `qdms verify` still pass."""
    officer = api_token("officer")
    approver = api_token("approver")
    assert _search(client, officer, "quillwort") == [old_records[1]]
    scan_sha = records.get_record(db.session, old_records[0]).scan_sha256
    evidence_sha = records.get_record(db.session, old_records[1]).values["evidence"]["sha256"]
    assert store.path_for(scan_sha).exists() and store.path_for(evidence_sha).exists()

    due = _due_refs(client, officer)
    refs = [item["ref"] for item in due["items"]]
    assert due["total"] == 3 and refs == [f"record:{n}" for n in old_records]
    assert all(not i["on_hold"] and i["retain_until"] == "2021-03-01" for i in due["items"])
    # only the people who run or oversee retention see the list
    assert client.get("/api/v1/retention/due", headers=api_token("cs_staff")).status_code == 403
    runner_out = runner.invoke(args=["sweep", "--today", local_today().isoformat()])
    assert runner_out.exit_code == 0, runner_out.output
    assert (
        "retention: 3 due (3 records, 0 document revisions), 0 on hold, 0 proposed"
        in runner_out.output
    )

    bad = client.post("/api/v1/destructions", json={"items": refs}, headers=officer)
    assert bad.status_code == 400 and "method" in bad.get_json()["error"]["fields"]
    refused = client.post(
        "/api/v1/destructions", json={"items": refs, "method": "shredding"}, headers=approver
    )
    assert refused.status_code == 403  # approvers do not propose
    proposed = client.post(
        "/api/v1/destructions",
        json={"items": refs, "method": "secure_erase", "note": "2018 年投诉记录到期"},
        headers=officer,
    )
    assert proposed.status_code == 201, proposed.get_json()
    batch = proposed.get_json()
    assert batch["status"] == "proposed" and len(batch["items"]) == 3
    again = client.post(
        "/api/v1/destructions", json={"items": refs[:1], "method": "shredding"}, headers=officer
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["fields"] == {refs[0]: "already in another destruction batch"}

    url = f"/api/v1/destructions/{batch['number']}/approve"
    # the proposer may not approve, even holding the approver role
    officer2 = api_token("officer2")
    own = client.post(
        "/api/v1/destructions",
        json={"items": [], "method": "shredding"},
        headers=officer2,
    )
    assert own.status_code == 400  # no items
    no_witness = client.post(url, json={"password": PASSWORD}, headers=approver)
    assert no_witness.status_code == 400 and "witness" in no_witness.get_json()["error"]["fields"]
    wrong = client.post(url, json={"password": "nope", "witness": "李四"}, headers=approver)
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "signature_failed"
    assert store.path_for(scan_sha).exists()  # nothing happened
    assert records.get_record(db.session, old_records[0]).status == "complete"

    approved = client.post(url, json={"password": PASSWORD, "witness": "李四"}, headers=approver)
    assert approved.status_code == 200, approved.get_json()
    done = approved.get_json()
    assert done["status"] == "approved" and done["witness"] == "李四"
    assert done["signature"]["meaning"] == "destruction_approved"
    assert done["signature"]["username"] == "approver"

    # content gone: docs_store, database, search
    db.session.expire_all()
    assert not store.path_for(scan_sha).exists()
    assert not store.path_for(evidence_sha).exists()
    assert db.session.get(StoredBlob, scan_sha).destroyed_at is not None
    for number in old_records:
        record = records.get_record(db.session, number)
        assert record.status == "destroyed" and record.values == {}
        assert record.scan_sha256 is None
    amendment = db.session.scalar(select(RecordAmendment))
    assert amendment.values == {} and amendment.reason == ""
    assert _search(client, officer, "quillwort") == []
    assert _search(client, officer, "电梯停运") == []
    # nothing of the values stays in the audit trail either
    from app.audit_trail.models import Event

    texts = [e.before or "" for e in db.session.scalars(select(Event))] + [
        e.after or "" for e in db.session.scalars(select(Event))
    ]
    assert not any("quillwort" in t or "电梯停运" in t for t in texts)

    # tombstones: number, title, dates, SHA-256
    tombs = {t["number"]: t for t in done["items"]}
    first = tombs[old_records[0]]
    assert first["sha256"] and len(first["sha256"]) == 64
    assert first["created_on"] == "2018-03-01" and first["retain_until"] == "2021-03-01"
    assert first["files"][0]["sha256"] == scan_sha and first["files"][0]["removed"] is True
    assert first["destroyed_at"]
    assert tombs[old_records[1]]["files"][0]["sha256"] == evidence_sha
    record_page = client.get(f"/api/v1/records/{old_records[0]}", headers=officer).get_json()
    assert record_page["status"] == "destroyed" and record_page["values"] == {}
    assert _due_refs(client, officer)["total"] == 0

    # the destruction record, read back
    pdf = client.get(f"/api/v1/destructions/{batch['id']}/record.pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert batch["number"] in text and "李四" in text
    assert old_records[0] in text and first["sha256"][:16] in text.replace("\n", "")

    # still intact: every remaining file and the audit chain
    check = runner.invoke(args=["check"])
    assert check.exit_code == 0, check.output
    verify = runner.invoke(args=["verify"])
    assert verify.exit_code == 0, verify.output
    # a decided batch cannot be decided again
    twice = client.post(url, json={"password": PASSWORD, "witness": "李四"}, headers=approver)
    assert twice.status_code == 409


def test_proposer_cannot_approve_and_a_rejected_batch_frees_its_items(
    old_records, client, api_token
):
    officer2 = api_token("officer2")  # officer and approver
    refs = [f"record:{old_records[0]}"]
    batch = client.post(
        "/api/v1/destructions", json={"items": refs, "method": "shredding"}, headers=officer2
    ).get_json()
    own = client.post(
        f"/api/v1/destructions/{batch['number']}/approve",
        json={"password": PASSWORD, "witness": "王五"},
        headers={**officer2, "Accept-Language": "zh-CN"},
    )
    assert own.status_code == 403
    assert any("\u4e00" <= ch <= "\u9fff" for ch in own.get_json()["error"]["message"])
    approver = api_token("approver")
    no_reason = client.post(
        f"/api/v1/destructions/{batch['number']}/reject", json={}, headers=approver
    )
    assert no_reason.status_code == 400
    rejected = client.post(
        f"/api/v1/destructions/{batch['number']}/reject",
        json={"reason": "客户仍在诉讼"},
        headers=approver,
    )
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert records.get_record(db.session, old_records[0]).status == "complete"
    again = client.post(
        "/api/v1/destructions", json={"items": refs, "method": "shredding"}, headers=officer2
    )
    assert again.status_code == 201


@pytest.mark.parametrize("scope", ["record", "record_type", "document"])
def test_legal_hold_blocks_destruction(scope, old_records, client, api_token, make_document, store):
    """A hold on the record, on its type, or on a document blocks proposing, and a hold
    placed after the proposal blocks approval; placing and lifting are signed and audited."""
    officer = api_token("officer")
    approver = api_token("approver")
    doc = make_document(type_code="QP", effective=True, title="顾客投诉处理程序")
    documents.withdraw(db.session, _user("approver"), doc, reason="流程合并", password=PASSWORD)
    db.session.commit()
    db.session.execute(
        update(Revision).where(Revision.document_id == doc.id).values(obsoleted_at=LONG_AGO)
    )
    db.session.commit()
    revision = db.session.scalar(select(Revision).where(Revision.document_id == doc.id))
    revision_ref = f"revision:{doc.number}/{revision.path_label}"
    due = _due_refs(client, officer)
    assert revision_ref in [i["ref"] for i in due["items"]]  # 3 years after obsolete

    target = {
        "record": ("record", old_records[0], f"record:{old_records[0]}"),
        "record_type": ("record_type", "QP-CS-001-F01", f"record:{old_records[0]}"),
        "document": ("document", doc.number, revision_ref),
    }[scope]
    kind, key, blocked_ref = target
    unsigned = client.post(
        "/api/v1/legal-holds",
        json={"kind": kind, "key": key, "reason": "诉讼保全", "password": "wrong"},
        headers=officer,
    )
    assert unsigned.status_code == 403
    missing = client.post(
        "/api/v1/legal-holds",
        json={"kind": kind, "key": "NOPE-1", "reason": "x", "password": PASSWORD},
        headers=officer,
    )
    assert missing.status_code == 400 and "key" in missing.get_json()["error"]["fields"]
    placed = client.post(
        "/api/v1/legal-holds",
        json={
            "kind": kind,
            "key": key,
            "reason": "诉讼保全 (2026)民初 123 号",
            "password": PASSWORD,
        },
        headers=officer,
    )
    assert placed.status_code == 201, placed.get_json()
    hold = placed.get_json()
    assert hold["in_force"] is True and hold["placed_by"] == "officer"

    item = next(i for i in _due_refs(client, officer)["items"] if i["ref"] == blocked_ref)
    assert item["on_hold"] is True
    blocked = client.post(
        "/api/v1/destructions",
        json={"items": [blocked_ref], "method": "shredding"},
        headers=officer,
    )
    assert blocked.status_code == 409
    assert blocked.get_json()["error"]["fields"] == {blocked_ref: "on legal hold"}

    # lifted (signed), the item can be proposed; a new hold then blocks the approval
    lifted = client.post(
        f"/api/v1/legal-holds/{hold['id']}/lift",
        json={"reason": "案件已结", "password": PASSWORD},
        headers=officer,
    )
    assert lifted.status_code == 200 and lifted.get_json()["in_force"] is False
    assert (
        client.post(
            f"/api/v1/legal-holds/{hold['id']}/lift",
            json={"reason": "again", "password": PASSWORD},
            headers=officer,
        ).status_code
        == 409
    )
    batch = client.post(
        "/api/v1/destructions",
        json={"items": [blocked_ref], "method": "shredding"},
        headers=officer,
    ).get_json()
    assert batch["status"] == "proposed"
    client.post(
        "/api/v1/legal-holds",
        json={"kind": kind, "key": key, "reason": "新的诉讼", "password": PASSWORD},
        headers=officer,
    )
    late = client.post(
        f"/api/v1/destructions/{batch['number']}/approve",
        json={"password": PASSWORD, "witness": "李四"},
        headers=approver,
    )
    assert late.status_code == 409
    db.session.expire_all()
    assert db.session.get(Destruction, batch["id"]).status == "proposed"
    assert db.session.get(Revision, revision.id).file_sha256 is not None
    assert records.get_record(db.session, old_records[0]).status == "complete"

    trail = client.get(
        "/api/v1/audit-trail", query_string={"object": key_ref(kind, key)}, headers=officer
    ).get_json()["items"]
    actions = [e["action"] for e in trail]
    assert actions.count("legal_hold_placed") == 2 and actions.count("legal_hold_lifted") == 1
    signed = [e for e in trail if e["action"] == "signed"]
    meanings = [json.loads(json.dumps(e.get("after") or {})).get("meaning") for e in signed]
    assert meanings.count("legal_hold") == 2 and meanings.count("legal_hold_lifted") == 1


def key_ref(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def test_destroying_a_revision_removes_its_file_and_text(
    people, client, api_token, make_document, store, runner
):
    """An obsolete revision past its rule: its .docx and text go, its tombstone stays,
    the document page still answers, and the file's bytes shared by nothing else are gone."""
    officer = api_token("officer")
    approver = api_token("approver")
    doc = make_document(type_code="QP", effective=True, title="quillwort handling procedure")
    documents.withdraw(db.session, _user("approver"), doc, reason="merged", password=PASSWORD)
    db.session.commit()
    revision = db.session.scalar(select(Revision).where(Revision.document_id == doc.id))
    sha = revision.file_sha256
    assert _search(client, {**officer}, "quillwort") == [doc.number]
    # not due yet: obsolete today, kept 3 years
    assert _due_refs(client, officer)["total"] == 0
    ref = f"revision:{doc.number}/{revision.path_label}"
    early = client.post(
        "/api/v1/destructions", json={"items": [ref], "method": "shredding"}, headers=officer
    )
    assert early.status_code == 409
    assert early.get_json()["error"]["fields"] == {ref: "retention has not run out"}
    db.session.execute(
        update(Revision)
        .where(Revision.id == revision.id)
        .values(obsoleted_at=datetime.now(UTC) - timedelta(days=3 * 366))
    )
    db.session.commit()
    batch = client.post(
        "/api/v1/destructions", json={"items": [ref], "method": "secure_erase"}, headers=officer
    ).get_json()
    done = client.post(
        f"/api/v1/destructions/{batch['id']}/approve",
        json={"password": PASSWORD, "witness": "IT 管理员"},
        headers=approver,
    )
    assert done.status_code == 200, done.get_json()
    db.session.expire_all()
    revision = db.session.get(Revision, revision.id)
    assert revision.file_sha256 is None and revision.text is None and revision.destroyed_at
    assert not store.path_for(sha).exists()
    assert done.get_json()["items"][0]["sha256"] == sha
    assert _search(client, officer, "quillwort") == []
    page = client.get(f"/api/v1/documents/{doc.number}", headers=officer)
    assert page.status_code == 200
    assert runner.invoke(args=["check"]).exit_code == 0
    assert runner.invoke(args=["verify"]).exit_code == 0


def test_retention_pages_propose_approve_hold_and_show_the_tombstone(old_records, login_as):
    """Through the pages: the officer sees what is due and proposes it; a wrong password
    or no witness is shown beside the field (nothing destroyed); the approver signs; the
    record page then shows its tombstone; a hold placed and lifted through the form."""
    page = login_as("officer")
    due = page.get("/retention/")
    assert due.status_code == 200
    assert all(n in due.text for n in old_records) and 'name="items"' in due.text
    no_method = page.form_post("/retention/", {"items": [f"record:{old_records[0]}"]})
    assert no_method.status_code == 400
    assert db.session.scalar(select(Destruction.id)) is None
    proposed = page.form_post(
        "/retention/",
        {"items": [f"record:{n}" for n in old_records[:2]], "method": "shredding"},
    )
    assert proposed.status_code == 302, proposed.text
    batch = db.session.scalar(select(Destruction))
    assert proposed.headers["Location"].endswith(f"/retention/destructions/{batch.number}")
    mine = page.get(f"/retention/destructions/{batch.number}")
    assert 'id="approve-form"' not in mine.text  # the proposer does not approve
    assert (
        page.form_post(
            f"/retention/destructions/{batch.number}/approve",
            {"witness": "李四", "password": PASSWORD},
        ).status_code
        == 403
    )

    page.form_post("/logout")
    page = login_as("approver")
    shown = page.get(f"/retention/destructions/{batch.number}")
    assert 'id="approve-form"' in shown.text
    wrong = page.form_post(
        f"/retention/destructions/{batch.number}/approve",
        {"witness": "李四", "password": "not-it"},
    )
    assert wrong.status_code == 403
    assert_wrong_password_at_the_field(wrong.text)
    no_witness = page.form_post(
        f"/retention/destructions/{batch.number}/approve", {"password": PASSWORD}
    )
    assert no_witness.status_code == 400
    db.session.expire_all()
    assert db.session.get(Destruction, batch.id).status == "proposed"
    signed = page.form_post(
        f"/retention/destructions/{batch.number}/approve",
        {"witness": "李四", "password": PASSWORD},
    )
    assert signed.status_code == 302, signed.text
    pdf = page.get(f"/retention/destructions/{batch.number}/record.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    # complaints are confidential to CS: the approver (QA) signs the batch from its
    # tombstones; the officer opens the record page
    assert page.get(f"/records/{old_records[0]}").status_code == 404

    page.form_post("/logout")
    page = login_as("officer")
    record_page = page.get(f"/records/{old_records[0]}")
    assert 'id="record-tombstone"' in record_page.text and batch.number in record_page.text
    assert "电梯停运" not in record_page.text  # the values are gone (the title stays)
    held = page.form_post(
        "/retention/holds",
        {"kind": "record", "key": old_records[2], "reason": "投诉仲裁中", "password": PASSWORD},
    )
    assert held.status_code == 302, held.text
    due = page.get("/retention/")
    assert "On legal hold" in due.text
    shown = page.get(f"/records/{old_records[2]}").text
    assert 'id="record-hold"' in shown and "投诉仲裁中" in shown and "This record" in shown
    page.form_post("/logout")
    staff = login_as("cs_staff")  # may open the record, not the holds register
    shown = staff.get(f"/records/{old_records[2]}").text
    assert 'id="record-hold"' in shown and "投诉仲裁中" not in shown
    staff.form_post("/logout")
    page = login_as("officer")
    hold_id = db.session.scalar(select(LegalHold.id))
    wrong = page.form_post(
        f"/retention/holds/{hold_id}/lift", {"reason": "仲裁结束", "password": "bad"}
    )
    assert wrong.status_code == 403
    assert_wrong_password_at_the_field(wrong.text)
    lifted = page.form_post(
        f"/retention/holds/{hold_id}/lift", {"reason": "仲裁结束", "password": PASSWORD}
    )
    assert lifted.status_code == 302
    db.session.expire_all()
    assert db.session.get(LegalHold, hold_id).lifted_at is not None


def test_record_plan_exports_as_xlsx_and_pdf(old_records, login_as, client, api_token):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    page = login_as("cs_staff")
    xlsx = page.get("/records/plan?format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Code" and rows[1][0] == "QP-CS-001-F01" and rows[1][8] == 3
    pdf = client.get(
        "/api/v1/record-plan",
        query_string={"format": "pdf"},
        headers={**api_token("officer"), "Accept-Language": "zh-CN"},
    )
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "记录清单" in text and "QP-CS-001-F01" in text and "顾客投诉登记表" in text
    bad = client.get("/api/v1/record-plan", headers=api_token("officer"))
    assert bad.status_code == 400


def test_demo_has_records_due_and_one_on_hold(demo, app):
    """Does the demo organisation show the retention page with something due (2021
    surveys) and one of them on legal hold?"""
    page = retention.due(db.session, local_today())
    assert page.total >= 3
    numbers = [i.number for i in page.items if i.kind == "record"]
    assert len([n for n in numbers if "-2021-" in n]) == 3
    assert sum(1 for i in page.items if i.on_hold) == 1


def test_demo_surveys_are_confidential(demo, app):
    """Is the demo's survey type confidential (personal data), the commitment check
    internal, so that staff of another department do not read surveys while officers and
    the auditor read them all? (Complaints are cases now, with their own rule for personal
    data: tests/test_complaints_api.py.)"""
    from app.records.permissions import can_view_record
    from app.records.services import list_types

    assert {t.name: t.confidentiality for t in list_types(db.session)} == {
        "顾客满意度调查表": "confidential",
        "服务承诺履行检查表": "internal",
    }
    users = {u.username: u for u in db.session.scalars(select(User))}
    records = db.session.scalars(select(Record)).all()
    by_type: dict[str, list[Record]] = {}
    for record in records:
        by_type.setdefault(record.record_type.name, []).append(record)
    surveys = by_type["顾客满意度调查表"]
    assert surveys
    assert not any(can_view_record(users["staff"], r) for r in surveys)
    for reader in ("officer", "auditor"):
        assert all(can_view_record(users[reader], r) for r in records), reader
    assert all(can_view_record(users["mk_staff"], r) for r in by_type["服务承诺履行检查表"])


def test_an_unknown_destruction_method_is_not_called_missing(
    old_records, client, api_token, login_as
):
    """Is a method that is not one of the list refused as such (not "required"), in the
    API and beside the form's field, in the user's language, with nothing proposed?"""
    refs = [f"record:{old_records[0]}"]
    r = client.post(
        "/api/v1/destructions",
        json={"items": refs, "method": "burying"},
        headers={**api_token("officer"), "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["fields"] == {"method": "不是可选的销毁方式"}
    assert "“burying”不是销毁方式" in error["message"]
    missing = client.post(
        "/api/v1/destructions", json={"items": refs}, headers=api_token("officer")
    )
    assert missing.get_json()["error"]["fields"] == {"method": "required"}

    page = login_as("officer")
    client.form_post("/profile/language", {"language": "en"})
    r = page.form_post("/retention/", {"items": refs, "method": "burying"})
    assert r.status_code == 400
    field = r.text[r.text.index('name="method"') :]
    assert '<div class="invalid-feedback">not one of the methods of destruction</div>' in field
    assert "is not a method of destruction" in r.text and ">required<" not in r.text
    assert db.session.scalar(select(Destruction.id)) is None


def test_bad_retention_input_is_a_clear_400_or_404_never_a_500(old_records, client, api_token):
    """Is a destruction key that no batch can have (a superscript digit, an id above
    2^31) a 404, a list of items that are not refs or name a revision no document can
    have a 400 naming them, and a NUL character or a page beyond any list a 400 — with
    nothing proposed or held?"""
    officer = api_token("officer")
    batch = client.post(
        "/api/v1/destructions",
        json={"items": [f"record:{old_records[0]}"], "method": "shredding"},
        headers=officer,
    ).get_json()
    for key in ("¹", "2147483648", "99999999999", str(batch["id"]) + "\x00"):
        for method, suffix in (("GET", ""), ("GET", "/record.pdf"), ("POST", "/reject")):
            r = client.open(
                f"/api/v1/destructions/{key}{suffix}",
                method=method,
                json={"reason": "x"},
                headers=officer,
            )
            assert r.status_code == 404, (key, suffix, r.get_json())
            assert r.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/destructions/{batch['id']}", headers=officer).status_code == 200
    ref = f"revision:QP-CS-001/A{'9' * 30}"
    for body, fields in (
        ({"items": [5], "method": "shredding"}, {"items.0": "must be text"}),
        ({"items": "record:X", "method": "shredding"}, {"items": "must be a list"}),
        ({"items": [ref], "method": "shredding"}, {ref: "not found"}),
        ({"items": [f"record:{old_records[1]}"], "method": "shredding", "note": "\x00"}, None),
    ):
        r = client.post("/api/v1/destructions", json=body, headers=officer)
        assert r.status_code == 400, (body, r.get_json())
        assert fields is None or r.get_json()["error"]["fields"] == fields
    r = client.post(
        "/api/v1/legal-holds",
        json={"kind": {"record": 1}, "key": old_records[0], "reason": "x", "password": PASSWORD},
        headers=officer,
    )
    assert r.status_code == 400 and "kind" in r.get_json()["error"]["fields"]
    r = client.post(
        "/api/v1/legal-holds/2147483648/lift",
        json={"reason": "x", "password": PASSWORD},
        headers=officer,
    )
    assert r.status_code == 404
    r = client.get("/api/v1/retention/due", query_string={"page": 10**12}, headers=officer)
    assert r.status_code == 400 and "page" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(LegalHold.id)) is None
    assert len(db.session.scalars(select(Destruction)).all()) == 1
