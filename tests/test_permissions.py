"""The permission matrix: every route and API endpoint with every method, as every role
and as an anonymous visitor."""

from __future__ import annotations

import io
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app import create_app
from app.extensions import db, local_today
from app.people.models import ROLES
from tests.conftest import (
    BACKENDS,
    PASSWORD,
    QdmsClient,
    _base_config,
    _pg_admin,
    _pg_url,
    _sqlalchemy_url,
)

ANONYMOUS = "anonymous"
PRIVILEGED = ("officer", "auditor", "admin")
YEAR = datetime.now(UTC).year
# records of the QA department (the matrix users are in CS): a draft with a scan, a
# complete one, a confidential draft, and a draft the writes complete
DRAFT, DONE = f"REC-QA-01-{YEAR}-0001", f"REC-QA-01-{YEAR}-0002"
SECRET, DRAFT2 = f"SEC-QA-01-{YEAR}-0001", f"REC-QA-01-{YEAR}-0003"
# retention: DONE proposed for destruction in BATCH, legal hold 1 on the SEC-QA-01 type
BATCH = f"DES-{YEAR}-001"
RETENTION = {r: 403 for r in ROLES if r not in ("officer", "approver", "auditor", "admin")}
TRAIL = {r: 403 for r in ROLES if r not in PRIVILEGED}
# NC-yyyy-0001 of QA, reported by the matrix officer, its plan approved: action 1 (the
# matrix officer's) open. The matrix users (CS) who see not everything do not see it.
NC = f"NC-{YEAR}-0001"
# Top management reads every register (NCs, audits, risk points, reviews) but is not
# privileged otherwise: the NCs and the audit are hidden from the other CS users only.
READERS = (*PRIVILEGED, "management")
NC_HIDDEN = {r: 404 for r in ROLES if r not in READERS}
# AUD-yyyy-001 audits QA (led by the matrix officer, independence justified), in progress,
# its item 1 a minor NC with finding 1 (of QA: no matrix user heads QA). The matrix users
# (CS) who see not everything do not see it.
AUD = f"AUD-{YEAR}-001"
AUD_HIDDEN = NC_HIDDEN
PROGRAMME = {r: 403 for r in ROLES if r not in READERS}
# MR-yyyy-01, planned by the matrix officer, chaired by matrix_gm (no matrix role), its
# inputs compiled; decision 1 owned by the matrix officer
MR = f"MR-{YEAR}-01"
MR_HIDDEN = {r: 404 for r in ROLES if r not in READERS}
# QP-CS-002, a draft: its department's authors see it (top management is not privileged
# over documents and records: it sees what staff see)
DRAFT_HIDDEN = ("approver", "management", "staff")
# CMP-yyyy-00001 of QA, received by the matrix officer: every signed-in user reads it (its
# personal data masked for the matrix users of CS who see not everything); only officers
# handle it (QA has no head, and no matrix user is in QA)
CMP = f"CMP-{YEAR}-00001"
OFFICER_ONLY = {r: 403 for r in ROLES if r != "officer"}

# The HTML routes that exist, with the expected status for each role (default 200).
# GET; anonymous visitors are sent to the login page.
PAGES = {
    "/": {},
    "/profile": {},
    "/audit-trail": {"author": 403, "approver": 403, "management": 403, "staff": 403},
    # filters and downloads: the same rule; a typed name never widens it (staff: their own)
    "/audit-trail?object=QP-CS-001&from=2020-01-01&include_logins=1": TRAIL,
    "/audit-trail?user=matrix_officer&action=signed&format=csv": TRAIL,
    "/audit-trail?object=user_staff&format=xlsx": {
        "author": 403,
        "approver": 403,
        "management": 403,
    },
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
    "/documents/QP-CS-002": {r: 404 for r in DRAFT_HIDDEN},
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
    # the risk register: read by everyone; RP-001 (CS) kept by officers (no matrix user
    # heads a department; department heads: tests/test_risks.py)
    "/risks": {},
    "/risks?band=high&department=CS&due=1&likelihood=3&severity=4": {},
    "/risks?format=pdf": {},
    "/risks/RP-001": {},
    "/risks/new": {r: 403 for r in ROLES if r != "officer"},
    "/risks/RP-001/edit": {r: 403 for r in ROLES if r != "officer"},
    "/risks/RP-001/review": {r: 403 for r in ROLES if r != "officer"},
    # internal audits: AUD (QA) is seen by those who see everything; the programme too
    "/audits": {},
    f"/audits?year={YEAR}&status=in_progress": {},
    "/audits/new": {r: 403 for r in ROLES if r not in ("officer", "auditor")},
    f"/audits/{AUD}": AUD_HIDDEN,
    f"/audits/{AUD}/checklist": AUD_HIDDEN,
    f"/audits/{AUD}/report.pdf": AUD_HIDDEN,
    f"/audits/{AUD}/attachments/1": AUD_HIDDEN,
    "/audit-programme": {r: 302 for r in ROLES},  # on to this year's
    f"/audit-programme/{YEAR}": PROGRAMME,
    f"/audit-programme/{YEAR}?format=xlsx": PROGRAMME,
    f"/audit-programme/{YEAR}?format=pdf": PROGRAMME,
    # management reviews: MR seen by those who read every register
    "/management-reviews": {},
    "/management-reviews?status=inputs_compiled": {},
    "/management-reviews/new": {r: 403 for r in ROLES if r not in ("officer", "management")},
    f"/management-reviews/{MR}": MR_HIDDEN,
    f"/management-reviews/{MR}/report.pdf": MR_HIDDEN,
    f"/management-reviews/{MR}/figures.xlsx": MR_HIDDEN,
    "/audit-criteria": {},
    "/audit-criteria?standard=ISO 9001:2015": {},
    "/audit-criteria/new": {r: 403 for r in ROLES if r != "officer"},
    "/audit-criteria/1/edit": {r: 403 for r in ROLES if r != "officer"},
    "/search": {},
    "/search?q=QP-CS-001": {r: 302 for r in ROLES},  # a number typed exactly opens it
    "/search?q=投诉&include_history=1": {},  # ignored for those who may not see history
    "/nonconformities": {},
    "/nonconformities?status=action_planned&department=QA&format=csv": {},
    "/nonconformities/report": {},
    f"/nonconformities/{NC}": NC_HIDDEN,
    "/my-actions": {},
    # customer complaints
    "/complaints": {},
    "/complaints?status=received&channel=hotline&breached=1&from=2020-01-01&format=xlsx": {},
    "/complaints/new": {},
    "/complaints/categories": OFFICER_ONLY,
    f"/complaints/{CMP}": {},
    # quality objectives and KPIs: read by everyone, kept by officers
    "/kpis": {},
    "/kpis?department=QA": {},
    "/kpis?format=pdf": {},
    "/kpis/objectives": {},
    f"/kpis/objectives?year={YEAR}&department=QA": {},
    "/kpis/objectives/new": {r: 403 for r in ROLES if r != "officer"},
    "/kpis/new": {r: 403 for r in ROLES if r != "officer"},
    # editing, withdrawing and deactivating (docs/adr/0049): officers; the filters: everyone
    "/kpis?inactive=1": {},
    f"/kpis/objectives?year={YEAR}&withdrawn=1": {},
    "/kpis/objectives/1/edit": OFFICER_ONLY,
    "/kpis/objectives/999/edit": {**OFFICER_ONLY, "officer": 404},
    "/kpis/KPI-QA/edit": OFFICER_ONLY,
    "/kpis/NOPE/edit": {r: 404 for r in ROLES},
    "/kpis/KPI-QA": {},
    "/kpis/NOPE": {r: 404 for r in ROLES},
    "/kpis/close": {r: 403 for r in ROLES if r != "officer"},
    "/kpis/import": {r: 403 for r in ROLES if r != "officer"},  # no matrix user heads one
}

API = {
    "/api/v1/me": {},
    "/api/v1/departments": {},
    "/api/v1/users": {},
    "/api/v1/audit-trail": {"author": 403, "approver": 403, "management": 403, "staff": 403},
    "/api/v1/audit-trail?object=qp-cs-001&action=revision_approved&format=csv": TRAIL,
    "/api/v1/audit-trail?object=user_staff&to=2030-12-31": {
        "author": 403,
        "approver": 403,
        "management": 403,
    },
    "/api/v1/audit-trail?to=2020-13-01": {r: 400 for r in ROLES},  # checked before anything
    "/api/v1/documents": {},
    "/api/v1/documents/QP-CS-001": {},
    "/api/v1/documents/QP-CS-001/revisions/A0": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/file": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/pdf": {},
    "/api/v1/documents/QP-CS-001/revisions/A0/pdf?copy=C01": {
        r: 403 for r in ROLES if r != "officer"
    },
    "/api/v1/documents/QP-CS-002": {r: 404 for r in DRAFT_HIDDEN},
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
    # another person's training: the privileged (and their department head) only
    "/api/v1/acknowledgements?user=someone": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/acknowledgements/matrix": {r: 403 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/record-types": {},
    "/api/v1/record-types/REC-QA-01": {},
    "/api/v1/records": {},
    f"/api/v1/records/{DONE}": {},
    f"/api/v1/records/{SECRET}": {r: 404 for r in ROLES if r not in PRIVILEGED},
    "/api/v1/record-plan": {r: 400 for r in ROLES},  # format is required
    "/api/v1/record-plan?format=xlsx": {},
    "/api/v1/risk-points": {},
    "/api/v1/risk-points?band=high&likelihood=3": {},
    "/api/v1/risk-points/RP-001": {},
    "/api/v1/risk-heat-map": {},
    "/api/v1/retention/due": RETENTION,
    "/api/v1/legal-holds": RETENTION,
    "/api/v1/destructions": RETENTION,
    f"/api/v1/destructions/{BATCH}": RETENTION,
    f"/api/v1/destructions/{BATCH}/record.pdf": RETENTION,
    "/api/v1/nonconformities": {},
    "/api/v1/nonconformities?status=action_planned&department=QA": {},
    f"/api/v1/nonconformities/{NC}": NC_HIDDEN,
    f"/api/v1/nonconformities/{YEAR}-1": NC_HIDDEN,  # typed without the prefix
    "/api/v1/clauses": {},
    "/api/v1/clauses?standard=ISO 9001:2015": {},
    f"/api/v1/audit-programmes/{YEAR}": PROGRAMME,  # and top management
    "/api/v1/management-reviews": {},
    f"/api/v1/management-reviews?year={YEAR}&status=planned": {},
    f"/api/v1/management-reviews/{MR}": MR_HIDDEN,
    f"/api/v1/management-reviews/{YEAR}-1": MR_HIDDEN,  # typed without the prefix
    f"/api/v1/management-reviews/{MR}/report": MR_HIDDEN,
    "/api/v1/management-review-actions": {},
    "/api/v1/management-review-actions?status=done": {},
    "/api/v1/audits": {},
    f"/api/v1/audits?year={YEAR}&status=in_progress&department=QA": {},
    f"/api/v1/audits/{AUD}": AUD_HIDDEN,
    f"/api/v1/audits/{YEAR}-1": AUD_HIDDEN,  # typed without the prefix
    f"/api/v1/audits/{AUD}/report": AUD_HIDDEN,
    f"/api/v1/audits/{AUD}/attachments/1": AUD_HIDDEN,
    "/api/v1/actions": {},
    # another's actions: those who read every NC (top management too)
    "/api/v1/actions?owner=matrix_officer": {r: 403 for r in ROLES if r not in READERS},
    "/api/v1/complaints": {},
    "/api/v1/complaints?status=received&department=QA&breached=false&from=2020-01-01": {},
    "/api/v1/complaints/export.xlsx": {},
    f"/api/v1/complaints/{CMP}": {},
    f"/api/v1/complaints/{YEAR}-1": {},  # typed without the prefix
    "/api/v1/complaint-categories": {},
    "/api/v1/objectives": {},
    f"/api/v1/objectives?year={YEAR}&department=QA": {},
    "/api/v1/kpis": {},
    "/api/v1/kpis?department=QA": {},
    "/api/v1/kpis/KPI-QA": {},
    "/api/v1/kpis/NOPE": {r: 404 for r in ROLES},
    "/api/v1/kpi-sources": {},
    f"/api/v1/kpis/KPI-QA/values?from={YEAR}-01&to={YEAR}-12": {},
    "/api/v1/kpis/KPI-QA/values?from=bad": {r: 400 for r in ROLES},
    "/api/v1/objectives?withdrawn=true": {},
    "/api/v1/kpis?inactive=true": {},
}

# Every other method, with an empty form (and its CSRF token) or a JSON body (empty, or
# the least a schema requires, in BODIES). A role that may not gets 403 — or 404 when the
# object is invisible to it; a role that may gets past the gate (ALLOWED: a validation
# error, a conflict, a redirect or success, never 401, 403, 404, 405 or a 5xx). Anonymous
# visitors are sent to the login page (HTML) or answered 401 (API). The writes run after
# the reads, in this order: a write that succeeds changes only what later rows expect.
ALLOWED = "allowed"
COPY = "QP-CS-001-A0-C01"
A0 = "QP-CS-001/revisions/A0"
# QP-CS-003's A/0 is in review, waiting for the matrix approver's signature
IN_REVIEW = "QP-CS-003/revisions/A0"


def only(*roles: str, hidden: tuple[str, ...] = ()) -> dict:
    """Only ``roles`` may; ``hidden`` do not even see the object (404); the others 403."""
    return {r: 404 if r in hidden else 403 for r in ROLES if r not in roles}


UNPRIVILEGED = tuple(r for r in ROLES if r not in PRIVILEGED)
NOT_READERS = tuple(r for r in ROLES if r not in READERS)
NOT_HOLDER = only(hidden=UNPRIVILEGED)  # the privileged see it, the others do not
SIGNER = only("approver", hidden=("management", "staff"))  # no revision in review for them
SECRET_HIDDEN = ("author", "approver", "management", "staff")  # confidential to QA
WRITES = {
    # HTML forms
    ("POST", "/acknowledgements/1"): NOT_HOLDER,  # the matrix officer's task
    ("POST", "/admin/departments/CS/edit"): only("admin"),
    ("POST", "/admin/departments/new"): only("admin"),
    ("POST", "/admin/document-types/QP/edit"): only("admin"),
    ("POST", "/admin/users/someone/edit"): only("admin"),
    ("POST", "/admin/users/someone/password"): only("admin"),
    ("POST", "/admin/users/new"): only("admin"),
    ("POST", f"/copies/{COPY}/receipt"): NOT_HOLDER,
    ("POST", f"/copies/{COPY}/return"): only("officer", hidden=UNPRIVILEGED),
    ("POST", "/documents/new"): only("officer", "author"),
    ("POST", "/documents/QP-CS-001/confirm-review"): only("officer"),
    ("POST", "/documents/QP-CS-001/english-title"): only("officer"),
    ("POST", "/documents/QP-CS-001/withdraw"): only("officer"),
    ("POST", "/documents/QP-CS-002/withdraw"): only("officer", hidden=DRAFT_HIDDEN),
    ("POST", "/documents/QP-CS-001/revisions/new"): only("officer", "author"),
    ("POST", "/documents/QP-CS-002/revisions/new"): only("officer", "author", hidden=DRAFT_HIDDEN),
    ("POST", f"/documents/{A0}/file"): only("officer"),
    ("POST", f"/documents/{A0}/submit"): only("officer"),
    ("POST", f"/documents/{A0}/cancel"): only("officer"),
    ("POST", f"/documents/{A0}/issue"): only("officer"),
    ("POST", f"/documents/{IN_REVIEW}/review"): SIGNER,
    ("POST", f"/documents/{IN_REVIEW}/approve"): SIGNER,
    ("POST", "/external/new"): only("officer"),
    ("POST", "/external/EXT-0001/edit"): only("officer"),
    ("POST", "/external/EXT-0001/editions/new"): only("officer"),
    ("POST", "/external/EXT-0001/checks/new"): only("officer"),
    ("POST", "/external/EXT-0001/citations/new"): only("officer"),
    ("POST", "/external/EXT-0001/citations/QP-CS-001/remove"): only("officer"),
    ("POST", "/external/EXT-0001/withdraw"): only("officer"),
    ("POST", "/profile/language"): {},
    ("POST", "/profile/password"): {},
    ("POST", "/profile/tokens"): {},
    ("POST", "/profile/tokens/revoke"): {},
    ("POST", "/records/plan/new"): only("officer"),
    ("POST", "/records/plan/REC-QA-01/edit"): only("officer"),
    ("POST", "/records/new/REC-QA-01"): only("officer"),  # filed by QA (and officers)
    ("POST", f"/records/{DRAFT}/edit"): only("officer"),  # who filed it, or an officer
    ("POST", f"/records/{SECRET}/edit"): only("officer", hidden=SECRET_HIDDEN),
    ("POST", f"/records/{DONE}/amend"): only("officer"),  # QA, or an officer
    ("POST", f"/records/{DRAFT2}/complete"): only("officer"),
    ("POST", "/retention/"): only("officer"),  # proposing a destruction
    ("POST", "/retention/holds"): only("officer", "admin"),
    ("POST", "/retention/holds/1/lift"): only("officer", "admin"),
    ("POST", f"/retention/destructions/{BATCH}/approve"): only("approver"),
    ("POST", f"/retention/destructions/{BATCH}/reject"): only("approver"),
    ("POST", "/nonconformities/report"): {},  # anyone may report
    ("POST", f"/nonconformities/{NC}/containment"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/analysis"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/plan"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/verification"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/reject"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/amend"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/links"): only("officer", hidden=NOT_READERS),
    ("POST", "/actions/1/done"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/risk-points/link"): only("officer", hidden=NOT_READERS),
    ("POST", f"/nonconformities/{NC}/risk-points/new"): only("officer", hidden=NOT_READERS),
    ("POST", "/risks/new"): only("officer"),
    ("POST", "/risks/RP-001/edit"): only("officer"),
    ("POST", "/risks/RP-001/review"): only("officer"),
    ("POST", "/risks/RP-001/links"): only("officer"),
    ("POST", "/risks/RP-001/links/remove"): only("officer"),
    # the API
    ("PATCH", "/api/v1/document-types/QP"): only("admin"),
    ("POST", "/api/v1/documents"): only("officer", "author"),
    ("PATCH", "/api/v1/documents/QP-CS-001"): only("officer"),
    ("PATCH", "/api/v1/documents/QP-CS-002"): only("officer", hidden=DRAFT_HIDDEN),
    ("POST", "/api/v1/documents/QP-CS-001/review-confirmation"): only("officer"),
    ("POST", "/api/v1/documents/QP-CS-001/withdraw"): only("officer"),
    ("POST", "/api/v1/documents/QP-CS-001/revisions"): only("officer", "author"),
    ("POST", "/api/v1/documents/QP-CS-002/revisions"): only(
        "officer", "author", hidden=DRAFT_HIDDEN
    ),
    ("PUT", f"/api/v1/documents/{A0}/file"): only("officer"),
    ("POST", f"/api/v1/documents/{A0}/submit"): only("officer"),
    ("POST", f"/api/v1/documents/{A0}/cancel"): only("officer"),
    ("POST", f"/api/v1/documents/{A0}/issue"): only("officer"),
    ("POST", f"/api/v1/documents/{IN_REVIEW}/review"): SIGNER,
    ("POST", f"/api/v1/documents/{IN_REVIEW}/approve"): SIGNER,
    ("POST", f"/api/v1/copies/{COPY}/receipt"): NOT_HOLDER,
    ("POST", f"/api/v1/copies/{COPY}/return"): only("officer", hidden=UNPRIVILEGED),
    ("POST", "/api/v1/acknowledgements/1/sign"): NOT_HOLDER,
    ("POST", "/api/v1/external-documents"): only("officer"),
    ("POST", "/api/v1/external-documents/EXT-0001/editions"): only("officer"),
    ("POST", "/api/v1/external-documents/EXT-0001/checks"): only("officer"),
    ("POST", "/api/v1/external-documents/EXT-0001/citations"): only("officer"),
    ("DELETE", "/api/v1/external-documents/EXT-0001/citations/QP-CS-001"): only("officer"),
    ("POST", "/api/v1/external-documents/EXT-0001/withdraw"): only("officer"),
    ("POST", "/api/v1/record-types"): only("officer"),
    ("PATCH", "/api/v1/record-types/REC-QA-01"): only("officer"),
    ("POST", "/api/v1/records"): only("officer"),
    ("PATCH", f"/api/v1/records/{DRAFT}"): only("officer"),
    ("PUT", f"/api/v1/records/{DRAFT}"): only("officer"),
    ("PATCH", f"/api/v1/records/{SECRET}"): only("officer", hidden=SECRET_HIDDEN),
    ("POST", f"/api/v1/records/{DONE}/amendments"): only("officer"),
    ("POST", f"/api/v1/records/{DRAFT2}/complete"): only("officer"),
    ("POST", "/api/v1/legal-holds"): only("officer", "admin"),
    ("POST", "/api/v1/legal-holds/1/lift"): only("officer", "admin"),
    ("POST", "/api/v1/destructions"): only("officer"),
    ("POST", f"/api/v1/destructions/{BATCH}/approve"): only("approver"),
    ("POST", f"/api/v1/destructions/{BATCH}/reject"): only("approver"),
    ("POST", "/api/v1/nonconformities"): {},  # anyone may report
    ("POST", f"/api/v1/nonconformities/{NC}/containment"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/analysis"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/plan"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/verification"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/reject"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/amendments"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/nonconformities/{NC}/links"): only("officer", hidden=NOT_READERS),
    ("POST", "/api/v1/actions/1/done"): only("officer", hidden=NOT_READERS),
    ("POST", "/api/v1/risk-points"): only("officer"),
    ("PATCH", "/api/v1/risk-points/RP-001"): only("officer"),
    ("POST", "/api/v1/risk-points/RP-001/review"): only("officer"),
    ("POST", "/api/v1/risk-points/RP-001/links"): only("officer"),
    # internal audits: pages (the writes that succeed: a new audit, a clone, an item)
    ("POST", "/audits/new"): only("officer", "auditor"),
    ("POST", "/audit-criteria/import"): only("officer"),  # 400 without a file
    ("POST", "/audit-criteria/new"): only("officer"),  # 400: no code, no title
    ("POST", "/audit-criteria/1/edit"): only("officer"),  # 400: the title emptied
    ("POST", f"/audits/{AUD}/justification"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/move/report"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/conclusions"): only(hidden=NOT_READERS),  # the lead auditor
    ("POST", f"/audits/{AUD}/findings/1/response"): only(hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/findings/1/decision"): only(hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/sign"): only(hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/clone"): only("officer", "auditor", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/checklist"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/checklist/1"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/checklist/1/move"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/checklist/1/attachments"): only("officer", hidden=NOT_READERS),
    ("POST", f"/audits/{AUD}/checklist/1/remove"): only("officer", hidden=NOT_READERS),
    # internal audits (the writes that succeed: a new audit, a clone, an item's evidence)
    ("POST", "/api/v1/clauses/import"): only("officer"),
    ("POST", "/api/v1/clauses"): only("officer"),  # 400: no code
    ("PATCH", "/api/v1/clauses/1"): only("officer"),
    ("POST", "/api/v1/audits"): only("officer", "auditor"),
    ("POST", f"/api/v1/audits/{AUD}/justification"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/audits/{AUD}/report"): only("officer", hidden=NOT_READERS),  # 409
    ("POST", f"/api/v1/audits/{AUD}/cancel"): only("officer", hidden=NOT_READERS),  # 400
    ("POST", f"/api/v1/audits/{AUD}/checklist"): only("officer", hidden=NOT_READERS),
    ("PUT", f"/api/v1/audits/{AUD}/checklist/order"): only("officer", hidden=NOT_READERS),
    ("PATCH", f"/api/v1/audits/{AUD}/checklist/1"): only("officer", hidden=NOT_READERS),
    ("DELETE", f"/api/v1/audits/{AUD}/checklist/1"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/audits/{AUD}/checklist/1/attachments"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/audits/{AUD}/findings/1/response"): only(hidden=NOT_READERS),
    ("POST", f"/api/v1/audits/{AUD}/findings/1/decision"): only(hidden=NOT_READERS),
    ("POST", f"/api/v1/audits/{AUD}/sign"): only(hidden=NOT_READERS),  # the lead auditor
    ("POST", f"/api/v1/audits/{AUD}/clone"): only("officer", "auditor", hidden=NOT_READERS),
    # management reviews (the writes that pass the gate: 400 or 409 past it)
    ("POST", "/management-reviews/new"): only("officer", "management"),
    ("POST", f"/management-reviews/{MR}/compile"): only("officer", hidden=NOT_READERS),
    ("POST", f"/management-reviews/{MR}/minutes"): only("officer", hidden=NOT_READERS),
    ("POST", f"/management-reviews/{MR}/decisions"): only("officer", hidden=NOT_READERS),
    ("POST", f"/management-reviews/{MR}/move/close"): only("officer", hidden=NOT_READERS),
    ("POST", f"/management-reviews/{MR}/move/approve"): only(hidden=NOT_READERS),  # the chair
    ("POST", f"/management-reviews/{MR}/amendments"): only("officer", hidden=NOT_READERS),
    ("POST", f"/management-reviews/{MR}/attendance"): only(hidden=NOT_READERS),
    ("POST", "/management-review-actions/1/done"): only("officer", hidden=NOT_READERS),
    ("POST", "/api/v1/management-reviews"): only("officer", "management"),
    ("PATCH", f"/api/v1/management-reviews/{MR}"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/management-reviews/{MR}/compile"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/management-reviews/{MR}/decisions"): only("officer", hidden=NOT_READERS),
    ("PATCH", f"/api/v1/management-reviews/{MR}/decisions/1"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/management-reviews/{MR}/amendments"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/management-reviews/{MR}/close"): only("officer", hidden=NOT_READERS),
    ("POST", f"/api/v1/management-reviews/{MR}/approve"): only(hidden=NOT_READERS),
    ("POST", "/api/v1/management-review-actions/1/done"): only("officer", hidden=NOT_READERS),
    # customer complaints: pages (anyone takes one; only officers handle CMP, of QA)
    ("POST", "/complaints/new"): {},
    ("POST", f"/complaints/{CMP}/steps"): OFFICER_ONLY,
    ("POST", f"/complaints/{CMP}/close"): OFFICER_ONLY,
    ("POST", f"/complaints/{CMP}/approve"): OFFICER_ONLY,
    ("POST", f"/complaints/{CMP}/nonconformity"): OFFICER_ONLY,
    ("POST", f"/complaints/{CMP}/escalate"): OFFICER_ONLY,
    ("POST", f"/complaints/{CMP}/reopen"): OFFICER_ONLY,
    ("POST", "/complaints/categories"): OFFICER_ONLY,
    ("POST", "/complaints/settings"): OFFICER_ONLY,
    # customer complaints: the API
    ("POST", "/api/v1/complaints"): {},
    ("POST", f"/api/v1/complaints/{CMP}/steps"): OFFICER_ONLY,
    ("POST", f"/api/v1/complaints/{CMP}/close"): OFFICER_ONLY,
    ("POST", f"/api/v1/complaints/{CMP}/compensation/approve"): OFFICER_ONLY,
    ("POST", f"/api/v1/complaints/{CMP}/nonconformity"): OFFICER_ONLY,
    ("POST", f"/api/v1/complaints/{CMP}/escalate"): OFFICER_ONLY,
    ("POST", f"/api/v1/complaints/{CMP}/reopen"): OFFICER_ONLY,
    ("POST", "/api/v1/complaint-categories"): OFFICER_ONLY,
    # quality objectives and KPIs: kept by officers (heads of a KPI's department enter its
    # values: tests/test_kpis.py); the period closed is last year's December
    ("POST", "/kpis/objectives/new"): only("officer"),
    ("POST", "/kpis/new"): only("officer"),
    ("POST", "/kpis/KPI-QA/values"): only("officer"),
    ("POST", "/kpis/KPI-QA/amendments"): only("officer"),
    ("POST", "/kpis/KPI-QA/targets"): only("officer"),
    ("POST", "/kpis/KPI-QA/nonconformity"): only("officer"),
    ("POST", "/kpis/close"): only("officer"),
    ("POST", "/kpis/import"): only("officer"),
    ("POST", "/api/v1/objectives"): only("officer"),
    ("POST", "/api/v1/kpis"): only("officer"),
    ("PUT", "/api/v1/kpis/KPI-QA/targets"): only("officer"),
    ("PUT", f"/api/v1/kpis/KPI-QA/values/{YEAR}-01"): only("officer"),
    ("POST", f"/api/v1/kpis/KPI-QA/values/{YEAR}-01/amendments"): only("officer"),  # 409
    ("POST", f"/api/v1/kpi-periods/{YEAR - 1}-12/close"): only("officer"),
    ("POST", "/api/v1/kpis/import"): only("officer"),  # 400 without a file
    ("POST", "/api/v1/kpis/KPI-QA/nonconformities"): only("officer"),  # 400: not below
    # editing, withdrawing, deactivating: the forms answer 400 (no reason, an empty form);
    # through the API the objective is withdrawn then reinstated, the KPI deactivated then
    # reactivated (each 200), so the walk leaves them as they were
    ("POST", "/kpis/objectives/1/edit"): only("officer"),
    ("POST", "/kpis/objectives/1/withdraw"): only("officer"),
    ("POST", "/kpis/objectives/1/reinstate"): only("officer"),
    ("POST", "/kpis/KPI-QA/edit"): only("officer"),
    ("POST", "/kpis/KPI-QA/deactivate"): only("officer"),
    ("POST", "/kpis/KPI-QA/reactivate"): only("officer"),
    ("PATCH", "/api/v1/objectives/1"): only("officer"),
    ("POST", "/api/v1/objectives/1/withdraw"): only("officer"),
    ("POST", "/api/v1/objectives/1/reinstate"): only("officer"),
    ("PATCH", "/api/v1/kpis/KPI-QA"): only("officer"),
    ("POST", "/api/v1/kpis/KPI-QA/deactivate"): only("officer"),
    ("POST", "/api/v1/kpis/KPI-QA/reactivate"): only("officer"),
}
# JSON bodies that pass the schema, so that the permission gate answers, not the parser
# (the API's citation is the one the HTML form removed before)
BODIES = {
    ("POST", "/api/v1/documents"): {"type": "QP", "department": "CS", "title": "矩阵程序"},
    ("POST", "/api/v1/documents/QP-CS-001/review-confirmation"): {"password": PASSWORD},
    # without the password, a signature fails with 403 (signature_failed), past the gate
    ("POST", f"/api/v1/documents/{IN_REVIEW}/approve"): {"password": PASSWORD},
    ("POST", "/api/v1/external-documents"): {
        "reference": "ISO 10002:2018",
        "title": "顾客满意 投诉处理指南",
        "publisher": "ISO",
        "kind": "standard",
        "department": "QA",
        "holder": "matrix_officer",
        "edition": "2018",
    },
    ("POST", "/api/v1/external-documents/EXT-0001/editions"): {"edition": "2026"},
    ("POST", "/api/v1/external-documents/EXT-0001/citations"): {"document": "QP-CS-001"},
    ("POST", "/api/v1/external-documents/EXT-0001/withdraw"): {"reason": "矩阵"},
    ("POST", "/api/v1/record-types"): {
        "code": "REC-QA-09",
        "name": "矩阵记录",
        "department": "QA",
        "retention": {"years": 1},
        "fields": [{"name": "note", "label": "Note", "type": "text"}],
    },
    ("POST", "/api/v1/records"): {"type": "REC-QA-01", "values": {"note": "矩阵"}},
    ("POST", "/api/v1/nonconformities"): {"description": "矩阵问题"},
    ("POST", f"/api/v1/nonconformities/{NC}/containment"): {"text": "矩阵"},
    ("POST", f"/api/v1/nonconformities/{NC}/plan"): {
        "actions": [],
        "effectiveness": {"criterion": "矩阵", "check_date": "2030-01-01"},
    },
    ("POST", f"/api/v1/nonconformities/{NC}/verification"): {"effective": True, "evidence": "x"},
    ("POST", f"/api/v1/nonconformities/{NC}/reject"): {"reason": "矩阵"},
    ("POST", f"/api/v1/nonconformities/{NC}/amendments"): {"text": "矩阵", "reason": "矩阵"},
    ("POST", f"/api/v1/nonconformities/{NC}/links"): {"link": "QP-CS-001"},
    ("POST", "/api/v1/actions/1/done"): {"evidence": "矩阵"},
    ("POST", "/api/v1/risk-points"): {
        "process": "热线受理",
        "department": "CS",
        "cause": "矩阵",
        "consequence": "矩阵",
        "likelihood": 3,
        "severity": 4,
        "controls": "矩阵",
    },
    ("PATCH", "/api/v1/risk-points/RP-001"): {"reason": "矩阵", "severity": 5},
    ("POST", "/api/v1/risk-points/RP-001/review"): {"notes": "矩阵"},
    ("POST", "/api/v1/risk-points/RP-001/links"): {"object": "document:QP-CS-001"},
    ("POST", "/api/v1/clauses/import"): {"standard": "矩阵"},
    ("PATCH", "/api/v1/clauses/1"): {"title_en": "Context of the organisation"},
    ("POST", "/api/v1/audits"): {
        "title": "矩阵审核",
        "objectives": "矩阵",
        "scope": "矩阵",
        "clauses": ["4.1"],
        "departments": ["QA"],
        "lead_auditor": "matrix_officer",
        "planned_start": f"{YEAR}-06-01",
    },
    ("POST", f"/api/v1/audits/{AUD}/justification"): {"text": "矩阵"},
    ("POST", f"/api/v1/audits/{AUD}/checklist"): {"clause": "4.1", "question": "矩阵"},
    ("PUT", f"/api/v1/audits/{AUD}/checklist/order"): {"order": [1]},
    ("PATCH", f"/api/v1/audits/{AUD}/checklist/1"): {"evidence": "矩阵"},
    ("POST", f"/api/v1/audits/{AUD}/findings/1/response"): {"decision": "accept"},
    ("POST", f"/api/v1/audits/{AUD}/findings/1/decision"): {"decision": "confirm", "reason": "x"},
    ("POST", f"/api/v1/audits/{AUD}/clone"): {"planned_start": f"{YEAR + 1}-06-01"},
    ("POST", "/api/v1/management-reviews"): {
        "period_start": f"{YEAR}-01-01",
        "period_end": f"{YEAR}-06-30",
        "planned_date": f"{YEAR}-07-15",
        "chair": "matrix_gm",
    },
    ("PATCH", f"/api/v1/management-reviews/{MR}"): {"resources": "矩阵"},
    ("POST", f"/api/v1/management-reviews/{MR}/decisions"): {
        "text": "矩阵",
        "category": "improvement",
    },
    ("PATCH", f"/api/v1/management-reviews/{MR}/decisions/1"): {
        "owner": "matrix_officer",
        "due_date": f"{YEAR + 1}-01-31",
    },
    ("POST", f"/api/v1/management-reviews/{MR}/amendments"): {"text": "矩阵", "reason": "矩阵"},
    ("POST", f"/api/v1/management-reviews/{MR}/approve"): {"password": PASSWORD},
    ("POST", "/api/v1/management-review-actions/1/done"): {"evidence": "矩阵"},
    ("POST", "/api/v1/complaints"): {
        "category": "MX",
        "customer": {"name": "矩阵顾客"},
        "request": "矩阵诉求",
        "department": "QA",
    },
    ("POST", f"/api/v1/complaints/{CMP}/steps"): {"step": "empathy", "note": "矩阵"},
    ("POST", f"/api/v1/complaints/{CMP}/reopen"): {"reason": "矩阵"},
    ("POST", "/api/v1/complaint-categories"): {"code": "MX2", "name": "矩阵类别"},
    ("POST", "/api/v1/objectives"): {
        "year": YEAR,
        "title": "矩阵目标二",
        "plan": {"what": "x", "resources": "x", "who": "x", "when": "x", "evaluation": "x"},
    },
    ("POST", "/api/v1/kpis"): {
        "code": "KPI-M2",
        "name": "矩阵指标二",
        "direction": "lower",
        "period": "quarter",
        "source": "entered",
    },
    ("PUT", "/api/v1/kpis/KPI-QA/targets"): {"targets": [{"period": str(YEAR), "target": 91}]},
    ("PUT", f"/api/v1/kpis/KPI-QA/values/{YEAR}-01"): {"value": 88},
    ("POST", f"/api/v1/kpis/KPI-QA/values/{YEAR}-01/amendments"): {
        "value": 89,
        "reason": "矩阵",
        "password": PASSWORD,
    },
    ("POST", "/api/v1/kpis/KPI-QA/nonconformities"): {"period": f"{YEAR}-01"},
    ("PATCH", "/api/v1/objectives/1"): {"title": "矩阵目标"},
    ("POST", "/api/v1/objectives/1/withdraw"): {"reason": "矩阵"},
    ("POST", "/api/v1/objectives/1/reinstate"): {"reason": "矩阵"},
    ("PATCH", "/api/v1/kpis/KPI-QA"): {"name": "矩阵指标"},
    ("POST", "/api/v1/kpis/KPI-QA/deactivate"): {"reason": "矩阵"},
    ("POST", "/api/v1/kpis/KPI-QA/reactivate"): {"reason": "矩阵"},
}

# Open to everyone, signed in or not (200 unless a role is named). Logging out comes last:
# it ends the session the other requests use.
SIGNED_IN = dict.fromkeys(ROLES, 302)  # sent on to the start page
PUBLIC = {
    ("GET", "/static/app.css"): {},
    ("GET", "/bootstrap/static/css/bootstrap.min.css"): {},
    ("GET", "/api/v1/openapi.json"): {},
    ("GET", "/login"): SIGNED_IN,
    ("POST", "/login"): {**SIGNED_IN, ANONYMOUS: 400},  # an empty form
    ("POST", "/language"): {**SIGNED_IN, ANONYMOUS: 302},
    ("POST", "/logout"): {**SIGNED_IN, ANONYMOUS: 302},
}


def _requests():
    """Every (method, path) of the matrix, in the order it is walked."""
    yield from (("GET", path) for path in PAGES)
    yield from (("GET", path) for path in API)
    yield from WRITES
    yield from PUBLIC


def _expected(who: str, method: str, path: str):
    if (method, path) in PUBLIC:
        return PUBLIC[method, path].get(who, 200)
    api = path.startswith("/api/")
    if who == ANONYMOUS:
        return 401 if api else "login"
    if method == "GET":
        return (API if api else PAGES)[path].get(who, 200)
    return WRITES[method, path].get(who, ALLOWED)


def _meets(response, expected) -> bool:
    status = response.status_code
    to_login = status == 302 and "/login" in response.headers["Location"]
    if expected == ALLOWED:
        return status < 500 and status not in (401, 403, 404, 405) and not to_login
    if expected == "login":
        return to_login
    return status == expected


# -- the objects the matrix walks over: made once per backend ---------------------------


@dataclass(frozen=True)
class Seeded:
    backend: str
    database: str  # a SQLite file, or a PostgreSQL database to copy
    root: Path  # its docs_store (shared) and search index (copied)
    tokens: dict[str, str]


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _seed(store, pdf_bytes) -> dict[str, str]:
    """The matrix's people, documents, copies, records, hold and batch; a token per role."""
    from app.audits import services as audits
    from app.auth import services as auth
    from app.capa import services as capa
    from app.complaints import services as complaints
    from app.distribution import services as distribution
    from app.documents import services as documents
    from app.external import services as external
    from app.kpis import services as kpis
    from app.people import services as people
    from app.people.models import Department, User
    from app.records import services as records
    from app.records.models import Record
    from app.retention import services as retention
    from app.reviews import services as reviews
    from app.risks import services as risks
    from app.uploads import check_scan, check_upload

    def person(username, roles, department="CS"):
        dept = db.session.scalar(select(Department).where(Department.code == department))
        dept = dept or people.create_department(
            db.session, None, department, f"Department {department}"
        )
        return people.create_user(
            db.session,
            None,
            username=username,
            full_name=username.title(),
            password=PASSWORD,
            roles=list(roles),
            department=dept,
        )

    # EXT-0001 with a stored copy of its edition (id 1), held by the matrix officer (QA)
    officer = person("matrix_officer", ("officer",), "QA")
    ext = external.register(
        db.session,
        officer,
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="SAC",
        kind="standard",
        department=officer.department,
        holder=officer,
        edition="2016",
        upload=check_upload(_docx("GB/T 19001"), "gbt19001.docx", max_bytes=10**6),
        store=store,
    )
    # the matrix's users (in CS), a token each; "someone" for the people pages
    tokens = {}
    for role in ROLES:
        user = person(f"user_{role}", (role,))
        tokens[role] = auth.create_token(db.session, None, user, "matrix")
    person("someone", ("staff",))
    # QP-CS-001 (effective A/0), QP-CS-002 (a draft) and QP-CS-003 (A/0 in review, for the
    # matrix approver), by an author nobody else is
    author = person("author", ("author", "staff"))
    approver = person("approver", ("approver",), "QA")
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    effective = documents.create_document(
        db.session, author, type_code="QP", title="顾客投诉处理程序", department=cs
    )
    revision = documents.add_revision(
        db.session,
        author,
        effective,
        store,
        change_summary="首次发布",
        change_reason="新文件",
        upload=check_upload(_docx("顾客投诉处理程序"), "source.docx", max_bytes=10**7),
    )
    documents.submit(db.session, author, revision, reviewers=[], approvers=[approver])
    documents.approve(db.session, approver, revision, password=PASSWORD)
    draft = documents.create_document(
        db.session, author, type_code="QP", title="起草中的程序", department=cs
    )
    in_review = documents.create_document(
        db.session, author, type_code="QP", title="评审中的程序", department=cs
    )
    documents.submit(
        db.session,
        author,
        documents.add_revision(
            db.session,
            author,
            in_review,
            store,
            change_summary="首次发布",
            change_reason="新文件",
            upload=check_upload(_docx("评审中的程序"), "source.docx", max_bytes=10**7),
        ),
        reviewers=[],
        approvers=[db.session.scalar(select(User).where(User.username == "user_approver"))],
    )
    # copy QP-CS-001-A0-C01 (kept at a location by the matrix officer) and acknowledgement
    # 1 (the matrix officer's): nobody in the matrix holds either
    distribution.issue(
        db.session,
        officer,
        revision,
        distribution=distribution.parse_distribution(
            db.session,
            [
                {"location": "档案室", "custodian": "matrix_officer", "medium": "paper"},
                {"user": "matrix_officer", "medium": "electronic"},
            ],
        ),
        training_required=True,
    )
    # records filed by the matrix officer in QA
    fields = [{"name": "note", "label": "Note", "type": "text", "required": True}]
    types = {
        code: records.create_type(
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
        for code, confidentiality in (("REC-QA-01", "internal"), ("SEC-QA-01", "confidential"))
    }
    scan = check_scan(pdf_bytes, "scan.pdf", max_bytes=10**7)
    filed = [
        records.file_record(
            db.session, store, officer, types["REC-QA-01"], {"note": "a"}, scan=scan
        ),
        records.file_record(
            db.session, store, officer, types["REC-QA-01"], {"note": "b"}, complete=True
        ),
        records.file_record(db.session, store, officer, types["SEC-QA-01"], {"note": "c"}),
        records.file_record(db.session, store, officer, types["REC-QA-01"], {"note": "d"}),
    ]
    # legal hold 1 on the SEC-QA-01 type; DONE (its retention run out) in BATCH
    hold = retention.place_hold(
        db.session, officer, "record_type", "SEC-QA-01", "litigation", PASSWORD
    )
    db.session.execute(
        update(Record).where(Record.number == DONE).values(retain_until=date(2020, 1, 1))
    )
    batch = retention.propose(
        db.session, officer, [f"record:{DONE}"], "shredding", None, today=local_today()
    )
    # NC-yyyy-0001 of QA with its plan approved by the matrix officer, who owns action 1
    nc = capa.report(db.session, officer, description="矩阵不符合", department=officer.department)
    capa.contain(db.session, officer, nc, text="隔离")
    capa.analyse(
        db.session, officer, nc, whys=["为什么"], categories=[], similar=[], similar_elsewhere="否"
    )
    capa.approve_plan(
        db.session,
        officer,
        nc,
        actions=[
            {
                "text": "整改",
                "owner": "matrix_officer",
                "type": "corrective",
                "due_date": local_today() + timedelta(days=30),
            }
        ],
        criterion="无重复",
        check_date=local_today() + timedelta(days=60),
        password=PASSWORD,
    )
    assert (nc.number, nc.actions[0].id) == (NC, 1)
    # RP-001 in CS, owned by the matrix officer (nobody in the matrix owns or heads it)
    risk = risks.create_risk_point(
        db.session,
        officer,
        process="热线受理",
        department=cs,
        cause="高峰时段来电集中",
        consequence="顾客久等",
        likelihood=3,
        severity=4,
        controls="高峰排班",
        owner=officer,
    )
    # AUD-yyyy-001 of QA, in progress, item 1 a minor NC (finding 1)
    aud = audits.plan(
        db.session,
        officer,
        title="矩阵审核",
        objectives="矩阵",
        scope="矩阵",
        clauses=["4.1"],
        departments=["QA"],
        lead_auditor="matrix_officer",
        planned_start=local_today(),
        independence_justification="矩阵：唯一的审核员",
    )
    audits.prepare(db.session, officer, aud)
    audits.start(db.session, officer, aud)
    found = audits.record_item(
        db.session, officer, aud, aud.items[0], verdict="minor_nc", evidence="矩阵证据"
    )
    assert (aud.number, aud.items[0].id, found.finding.id) == (AUD, 1, 1)
    # CMP-yyyy-00001 of QA (category MX), received by the matrix officer
    complaints.save_category(
        db.session,
        officer,
        code="MX",
        name="矩阵类别",
        clocks=[{"step": "apology", "within_hours": 1}],
    )
    case = complaints.intake(
        db.session,
        officer,
        category="MX",
        customer_name="矩阵顾客",
        customer_contact="13800000000",
        department=officer.department,
        request="矩阵诉求",
    )
    assert case.number == CMP
    photo = check_scan(pdf_bytes, "现场.pdf", max_bytes=10 * 1024 * 1024)
    att = audits.attach(db.session, store, officer, aud, aud.items[0], photo)
    assert att.id == 1
    # KPI-QA, entered monthly, of QA (no matrix user heads QA), and objective 1 measured by it
    qa = db.session.scalar(select(Department).where(Department.code == "QA"))
    kpi = kpis.create_kpi(
        db.session,
        officer,
        code="KPI-QA",
        name="矩阵指标",
        direction="higher",
        period_kind="month",
        source="entered",
        department=qa,
        targets=[{"period": str(YEAR), "target": 90, "warning": 80}],
    )
    objective = kpis.create_objective(
        db.session,
        officer,
        year=YEAR,
        department=qa,
        title="矩阵目标",
        plan={"what": "x", "resources": "x", "who": "x", "when": "x", "evaluation": "x"},
        kpis=[kpi.code],
    )
    assert objective.id == 1
    # MR-yyyy-01, its inputs compiled, decision 1 owned by the matrix officer
    gm = person("matrix_gm", ("management",), "QA")
    review = reviews.plan(
        db.session,
        officer,
        period_start=date(YEAR, 1, 1),
        period_end=local_today(),
        planned_date=local_today() + timedelta(days=7),
        chair=gm.username,
    )
    reviews.compile_inputs(db.session, officer, review)
    decision = reviews.add_decision(
        db.session,
        officer,
        review,
        text="矩阵决定",
        category="improvement",
        owner="matrix_officer",
        due_date=local_today() + timedelta(days=30),
    )
    assert (review.number, decision.id) == (MR, 1)
    db.session.commit()
    made = (ext.number, ext.editions[0].id, hold.id, batch.number, risk.number)
    assert made == ("EXT-0001", 1, 1, BATCH, "RP-001")
    assert [d.number for d in (effective, draft, in_review)] == [f"QP-CS-00{n}" for n in (1, 2, 3)]
    assert [r.number for r in filed] == [DRAFT, DONE, SECRET, DRAFT2]
    return tokens


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """The backend of a whole module's run (the matrix's objects are made once for it)."""
    return request.param


@pytest.fixture(scope="module")
def seeded(backend, request, tmp_path_factory, pdf_bytes):
    """The migrated database with the matrix's objects, its files and its search index;
    the prints and the index the matrix asks for are made once, here."""
    from app import storage

    root = tmp_path_factory.mktemp(f"matrix-{backend}")
    if backend == "sqlite":
        database = str(root / "seeded.sqlite3")
        shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
        url = f"sqlite:///{database}"
    else:
        template = request.getfixturevalue("pg_template")
        database = f"qdms_matrix_{uuid.uuid4().hex[:10]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        url = _sqlalchemy_url(_pg_url(database))
    app = create_app({**_base_config(root), "SQLALCHEMY_DATABASE_URI": url})
    app.test_client_class = QdmsClient
    with app.app_context():
        tokens = _seed(storage.get_store(app), pdf_bytes)
        client = app.test_client()
        officer = {"Authorization": f"Bearer {tokens['officer']}"}
        for path in (
            f"/api/v1/documents/{A0}/pdf",
            f"/api/v1/documents/{A0}/pdf?copy=C01",
            f"/api/v1/destructions/{BATCH}/record.pdf",
            "/api/v1/search?q=投诉",
        ):
            assert client.get(path, headers=officer).status_code == 200, path
        db.session.remove()
        db.engine.dispose()
    yield Seeded(backend, database, root, tokens)
    if backend == "postgresql":
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def database_url(seeded, tmp_path):
    """A fresh copy of the seeded database for one test."""
    if seeded.backend == "sqlite":
        path = tmp_path / "qdms.sqlite3"
        shutil.copyfile(seeded.database, path)
        yield f"sqlite:///{path}"
        return
    name = f"qdms_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seeded.database}"')
    yield _sqlalchemy_url(_pg_url(name))
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_config(tmp_path, database_url, seeded) -> dict:
    """The seeded files (written once, never changed: shared) and a copy of its index."""
    shutil.copytree(seeded.root / "index", tmp_path / "index")
    return {
        **_base_config(tmp_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "QDMS_DOCS_STORE": str(seeded.root / "docs_store"),
    }


# -- the tests ---------------------------------------------------------------------------


def test_the_matrix_covers_every_route_and_method(app):
    """Is every (route, method) of the application in the matrix, and does every row of
    the matrix name a route and a method that exist?"""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, path in _requests():
        rule, _ = adapter.match(path.split("?")[0], method=method, return_rule=True)
        covered.add((rule.rule, method))
    missing = sorted(
        (rule.rule, method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.rule, method) not in covered
    )
    assert not missing, f"not in the permission matrix: {missing}"


def _walk(who: str, client, api_headers) -> list:
    """Ask every request of the matrix as ``who``; the answers that are not expected."""
    token = client.csrf_token("/login")
    wrong = []
    for method, path in _requests():
        kwargs = {}
        if path.startswith("/api/"):
            kwargs["headers"] = api_headers
            if method != "GET":
                kwargs["json"] = BODIES.get((method, path), {})
        elif method != "GET":
            kwargs["data"] = {"csrf_token": token}
        response = client.open(path, method=method, **kwargs)
        expected = _expected(who, method, path)
        if not _meets(response, expected):
            wrong.append((method, path, response.status_code, expected))
        response.close()
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as_each_role(role, seeded, login_as):
    """Does every page and endpoint, with every method, give each role exactly the
    expected answer — and a role that may act get past the gate (a validation error or a
    conflict on an empty body), never a 403 or a 500?"""
    client = login_as(f"user_{role}")
    headers = {"Authorization": f"Bearer {seeded.tokens[role]}"}
    assert _walk(role, client, headers) == []


def test_every_route_as_an_anonymous_visitor(client):
    """Is every page and form closed to an anonymous visitor (sent to the login page), and
    every endpoint a 401, except the public ones?"""
    assert _walk(ANONYMOUS, client, {}) == []
