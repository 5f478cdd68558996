"""The permission matrix: every route and API endpoint, as every role."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.extensions import local_today
from app.people.models import ROLES

PRIVILEGED = ("officer", "auditor", "admin")
YEAR = datetime.now(UTC).year
# records of the QA department (the matrix users are in CS): a draft with a scan, a
# complete one, and a confidential one
DRAFT, DONE, SECRET = (f"REC-QA-01-{YEAR}-0001", f"REC-QA-01-{YEAR}-0002", f"SEC-QA-01-{YEAR}-0001")
# retention: DONE proposed for destruction in BATCH, legal hold 1 on the SEC-QA-01 type
BATCH = f"DES-{YEAR}-001"
RETENTION = {r: 403 for r in ROLES if r not in ("officer", "approver", "auditor", "admin")}
TRAIL = {r: 403 for r in ROLES if r not in PRIVILEGED}

# The HTML routes that exist, with the expected status for each role (default 200).
# GET only; state-changing POSTs are covered by the feature tests.
PAGES = {
    "/": {},
    "/profile": {},
    "/audit-trail": {"author": 403, "approver": 403, "staff": 403},
    # filters and downloads: the same rule; a typed name never widens it (staff: their own)
    "/audit-trail?object=QP-CS-001&from=2020-01-01&include_logins=1": TRAIL,
    "/audit-trail?user=matrix_officer&action=signed&format=csv": TRAIL,
    "/audit-trail?object=user_staff&format=xlsx": {"author": 403, "approver": 403},
    "/audit-trail?from=yesterday": {r: 400 if r in PRIVILEGED else 403 for r in ROLES},
    "/admin/departments": {r: 403 for r in ROLES if r != "admin"},
    "/admin/departments/new": {r: 403 for r in ROLES if r != "admin"},
    "/admin/departments/CS/edit": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users/new": {r: 403 for r in ROLES if r != "admin"},
    "/admin/users/someone/edit": {r: 403 for r in ROLES if r != "admin"},
    "/documents": {},
    "/documents/new": {r: 403 for r in ROLES if r not in ("officer", "author")},
    "/documents/QP-CS-001": {},
    "/documents/QP-CS-001/revisions/new": {r: 403 for r in ROLES if r not in ("officer", "author")},
    "/documents/QP-CS-001/revisions/A0": {},
    "/documents/QP-CS-001/revisions/A0/file": {},
    "/documents/QP-CS-001/revisions/A0/pdf": {},
    # a controlled copy is printed by the officer only
    "/documents/QP-CS-001/revisions/A0/pdf?copy=C01": {r: 403 for r in ROLES if r != "officer"},
    # a draft is seen by those who see everything, the people working on it and the
    # authors of its department (who may start its revisions: the matrix users are in CS)
    "/documents/QP-CS-002": {r: 404 for r in ("approver", "staff")},
    "/my-work": {},
    "/master-list": {},
    "/admin/document-types": {r: 403 for r in ROLES if r != "admin"},
    "/admin/document-types/QP/edit": {r: 403 for r in ROLES if r != "admin"},
    "/admin/outbox": {r: 403 for r in ROLES if r != "admin"},
    "/external": {},
    "/external/EXT-0001": {},
    "/external/EXT-0001/editions/1/file": {},
    "/external/new": {r: 403 for r in ROLES if r != "officer"},
    "/external/EXT-0001/edit": {r: 403 for r in ROLES if r != "officer"},
    "/external/EXT-0001/editions/new": {r: 403 for r in ROLES if r != "officer"},
    "/external/EXT-0001/checks/new": {r: 403 for r in ROLES if r != "officer"},
    "/external/EXT-0001/citations/new": {r: 403 for r in ROLES if r != "officer"},
    "/external/EXT-0001/withdraw": {r: 403 for r in ROLES if r != "officer"},
    "/documents/QP-CS-001/revisions/A0/issue": {r: 403 for r in ROLES if r != "officer"},
    "/copies": {},
    # a copy is seen by its holder and by those who see everything
    "/copies/QP-CS-001-A0-C01": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/copies/QP-CS-001-A0-C01/return": {
        r: 404 if r not in PRIVILEGED else 403 for r in ROLES if r != "officer"
    },
    "/recalls": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/acknowledgements": {},
    "/acknowledgements/1": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/acknowledgements/matrix": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/people/someone/training": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/records": {},
    "/records/plan": {},
    "/records/plan/new": {r: 403 for r in ROLES if r != "officer"},
    "/records/plan/REC-QA-01/edit": {r: 403 for r in ROLES if r != "officer"},
    "/records/new/REC-QA-01": {r: 403 for r in ROLES if r != "officer"},  # not their department
    f"/records/{DRAFT}": {},
    f"/records/{DRAFT}/scan": {},
    f"/records/{DRAFT}/files/photo": {r: 404 for r in ROLES},  # no such file field
    f"/records/{DRAFT}/edit": {r: 403 for r in ROLES if r != "officer"},
    f"/records/{DONE}/amend": {r: 403 for r in ROLES if r != "officer"},
    f"/records/{DRAFT}/amend": {r: 409 for r in ROLES},  # a draft is changed, not amended
    f"/records/{SECRET}": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/records/plan?format=xlsx": {},
    "/retention/": RETENTION,
    "/retention/holds": RETENTION,
    "/retention/holds/1/lift": {r: 403 for r in ROLES if r not in ("officer", "admin")},
    "/retention/destructions": RETENTION,
    f"/retention/destructions/{BATCH}": RETENTION,
    f"/retention/destructions/{BATCH}/record.pdf": RETENTION,
    "/search": {},
    "/search?q=QP-CS-001": {r: 302 for r in ROLES},  # a number typed exactly opens it
    "/search?q=投诉&include_history=1": {},  # ignored for those who may not see history
}

API = {
    "/api/v1/me": {},
    "/api/v1/departments": {},
    "/api/v1/users": {},
    "/api/v1/audit-trail": {"author": 403, "approver": 403, "staff": 403},
    "/api/v1/audit-trail?object=qp-cs-001&action=revision_approved&format=csv": TRAIL,
    "/api/v1/audit-trail?object=user_staff&to=2030-12-31": {"author": 403, "approver": 403},
    "/api/v1/audit-trail?to=2020-13-01": {r: 400 for r in ROLES},  # checked before anything
    "/api/v1/documents": {},
    "/api/v1/documents/QP-CS-001": {},
    "/api/v1/documents/QP-CS-001/revisions/A0": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/file": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/pdf": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/pdf?copy=C01": {
        r: 403 for r in ROLES if r != "officer"
    },
    "/api/v1/documents/QP-CS-002": {r: 404 for r in ("approver", "staff")},
    "/api/v1/master-list": {},
    "/api/v1/document-types": {},
    "/api/v1/search": {r: 400 for r in ROLES},  # q is required
    "/api/v1/search?q=投诉": {},
    "/api/v1/search?q=投诉&include_history=true": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/external-documents": {},
    "/api/v1/external-documents/EXT-0001": {},
    "/api/v1/external-documents/EXT-0001/editions/1/file": {},
    "/api/v1/copies": {},
    "/api/v1/copies/QP-CS-001-A0-C01": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/acknowledgements": {},
    "/api/v1/acknowledgements/1": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/acknowledgements/matrix": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/record-types": {},
    "/api/v1/record-types/REC-QA-01": {},
    "/api/v1/records": {},
    f"/api/v1/records/{DONE}": {},
    f"/api/v1/records/{SECRET}": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/record-plan": {r: 400 for r in ROLES},  # format is required
    "/api/v1/record-plan?format=xlsx": {},
    "/api/v1/retention/due": RETENTION,
    "/api/v1/legal-holds": RETENTION,
    "/api/v1/destructions": RETENTION,
    f"/api/v1/destructions/{BATCH}": RETENTION,
    f"/api/v1/destructions/{BATCH}/record.pdf": RETENTION,
}

# Endpoints that must not appear in the tables above: public or POST-only.
NOT_GET_PAGES = {
    "auth.login",
    "auth.logout",
    "auth.switch_language",
    "auth.profile_language",
    "auth.profile_password",
    "auth.profile_token_create",
    "auth.profile_token_revoke",
    "people.user_reset_password",
    "static",
    "bootstrap.static",
    "api-docs.openapi_json",
    "documents.withdraw",
    "documents.confirm_review",
    "documents.english_title",
    "documents.replace_file",
    "documents.submit",
    "documents.review",
    "documents.approve",
    "documents.cancel",
    "documents_api.add_revision",
    "documents_api.submit_revision",
    "documents_api.review_revision",
    "documents_api.approve_revision",
    "documents_api.cancel_revision",
    "documents_api.withdraw_document",
    "documents_api.confirm_periodic_review",
    "documents_api.update_document_type",
    "external.uncite",
    "external_api.record_external_edition",
    "external_api.record_external_check",
    "external_api.withdraw_external_document",
    "external_api.cite_external_document",
    "external_api.uncite_external_document",
    "distribution.receipt",
    "distribution_api.issue_revision",
    "distribution_api.sign_receipt",
    "distribution_api.return_copy",
    "distribution_api.sign_acknowledgement",
    "records.complete",
    "records_api.complete_record",
    "records_api.amend_record",
    "retention.approve",
    "retention.reject",
    "retention_api.lift_legal_hold",
    "retention_api.approve_destruction",
    "retention_api.reject_destruction",
}

# Example values of URL variables, by path prefix: the objects the matrix fixtures create.
URL_EXAMPLES = [
    ("/documents/", {"<number>": "QP-CS-001", "<rev>": "A0"}),
    ("/api/v1/documents/", {"<number>": "QP-CS-001", "<rev>": "A0"}),
    ("/admin/document-types/", {"<code>": "QP"}),
    ("/external/", {"<number>": "EXT-0001", "<id:edition_id>": "1"}),
    ("/api/v1/external-documents/", {"<number>": "EXT-0001", "<id:edition_id>": "1"}),
    ("/copies/", {"<copy_no>": "QP-CS-001-A0-C01"}),
    ("/api/v1/copies/", {"<copy_no>": "QP-CS-001-A0-C01"}),
    ("/acknowledgements/", {"<ack_id>": "1"}),
    ("/api/v1/acknowledgements/", {"<id:ack_id>": "1"}),
    ("/records/plan/", {"<code>": "REC-QA-01"}),
    ("/records/new/", {"<code>": "REC-QA-01"}),
    ("/records/", {"<number>": DRAFT, "<name>": "photo"}),
    ("/api/v1/record-types/", {"<code>": "REC-QA-01"}),
    ("/api/v1/records/", {"<number>": DONE}),
    ("/retention/holds/", {"<id:hold_id>": "1"}),
    ("/retention/destructions/", {"<key>": BATCH}),
    ("/api/v1/destructions/", {"<key>": BATCH}),
]


@pytest.fixture(autouse=True)
def external_entry(app, make_user, make_docx, store):
    """EXT-0001 with a stored copy of its edition (id 1), for the external routes."""
    from app.extensions import db
    from app.external import services
    from app.uploads import check_upload

    officer = make_user("matrix_officer", roles=("officer",), department="QA")
    ext = services.register(
        db.session,
        officer,
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="SAC",
        kind="standard",
        department=officer.department,
        holder=officer,
        edition="2016",
        upload=check_upload(make_docx(), "gbt19001.docx", max_bytes=10**6),
        store=store,
    )
    db.session.commit()
    assert (ext.number, ext.editions[0].id) == ("EXT-0001", 1)
    return ext


@pytest.fixture(autouse=True)
def documents(external_entry, make_document):
    """QP-CS-001 (effective A/0) and QP-CS-002 (a draft), both by an author nobody else is."""
    effective = make_document(title="顾客投诉处理程序", effective=True)
    draft = make_document(title="起草中的程序")
    assert (effective.number, draft.number) == ("QP-CS-001", "QP-CS-002")


@pytest.fixture(autouse=True)
def distribution(documents, external_entry):
    """Copy QP-CS-001-A0-C01 (kept at a location by the matrix officer) and
    acknowledgement 1 (the matrix officer's), so nobody in the matrix holds either."""
    from app.distribution import services
    from app.documents.models import Document
    from app.extensions import db

    doc = db.session.scalar(db.select(Document).where(Document.number == "QP-CS-001"))
    services.issue(
        db.session,
        external_entry.holder,
        doc.current_revision,
        distribution=services.parse_distribution(
            db.session,
            [
                {"location": "档案室", "custodian": "matrix_officer", "medium": "paper"},
                {"user": "matrix_officer", "medium": "electronic"},
            ],
        ),
        training_required=True,
    )
    db.session.commit()


@pytest.fixture(autouse=True)
def records(external_entry, store, pdf_bytes):
    """DRAFT (with a scan), DONE and SECRET, filed by the matrix officer in QA."""
    from app.extensions import db
    from app.records import services
    from app.uploads import check_scan

    officer = external_entry.holder
    fields = [{"name": "note", "label": "Note", "type": "text", "required": True}]
    made = {}
    for code, confidentiality in (("REC-QA-01", "internal"), ("SEC-QA-01", "confidential")):
        made[code] = services.create_type(
            db.session,
            officer,
            {
                "code": code,
                "name": code,
                "department": "QA",
                "fields": fields,
                "retention": {"years": 3},
                "confidentiality": confidentiality,
            },
        )
    scan = check_scan(pdf_bytes, "scan.pdf", max_bytes=10**7)
    numbers = [
        services.file_record(
            db.session, store, officer, made["REC-QA-01"], {"note": "a"}, scan=scan
        ).number,
        services.file_record(
            db.session, store, officer, made["REC-QA-01"], {"note": "b"}, complete=True
        ).number,
        services.file_record(db.session, store, officer, made["SEC-QA-01"], {"note": "c"}).number,
    ]
    db.session.commit()
    assert numbers == [DRAFT, DONE, SECRET]


@pytest.fixture(autouse=True)
def retention(records, external_entry):
    """Legal hold 1 on the SEC-QA-01 type; DONE (its retention run out) in BATCH."""
    from datetime import date

    from app.extensions import db
    from app.records.models import Record
    from app.retention import services
    from tests.conftest import PASSWORD

    officer = external_entry.holder
    hold = services.place_hold(
        db.session, officer, "record_type", "SEC-QA-01", "litigation", PASSWORD
    )
    db.session.execute(
        db.update(Record).where(Record.number == DONE).values(retain_until=date(2020, 1, 1))
    )
    batch = services.propose(
        db.session, officer, [f"record:{DONE}"], "shredding", None, today=local_today()
    )
    db.session.commit()
    assert (hold.id, batch.number) == (1, BATCH)


def test_the_matrix_covers_every_route(app):
    """Is every registered route either in the matrix or known to be public/POST-only?"""
    listed = set(PAGES) | set(API)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_GET_PAGES:
            continue
        concrete = rule.rule
        for prefix, examples in URL_EXAMPLES:
            if concrete.startswith(prefix):
                for variable, value in examples.items():
                    concrete = concrete.replace(variable, value)
        concrete = concrete.replace("<code>", "CS").replace("<username>", "someone")
        assert concrete in listed, f"{rule.rule} ({rule.endpoint}) is not in the permission matrix"


@pytest.mark.parametrize("role", ROLES)
def test_pages_as_each_role(role, login_as, make_user):
    """Does each page give each role exactly the expected status?"""
    make_user("someone", roles=("staff",))
    client = login_as(f"user_{role}", roles=(role,))
    for path, expected in PAGES.items():
        assert client.get(path).status_code == expected.get(role, 200), (role, path)


@pytest.mark.parametrize("role", ROLES)
def test_api_as_each_role(role, client, api_token):
    """Does each endpoint give each role exactly the expected status?"""
    headers = api_token(f"user_{role}", roles=(role,))
    for path, expected in API.items():
        assert client.get(path, headers=headers).status_code == expected.get(role, 200), (
            role,
            path,
        )


def test_anonymous_visitors_are_sent_to_login(client):
    """Is every page closed to an anonymous visitor (redirect to login), every endpoint 401?"""
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    for path in API:
        assert client.get(path).status_code == 401, path
