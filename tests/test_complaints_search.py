"""Complaints in the search: found by what the customer asks for, a typed number opens the
case, and the customer's name and contact are in no result, snippet, facet or suggestion."""

from __future__ import annotations

import pytest
from flask import current_app

from app.extensions import db, local_today
from app.search import services, sync
from tests.complaint_helpers import make_complaint_org, step, take
from tests.conftest import PASSWORD


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


@pytest.fixture
def org(app):
    sync.ensure_index(db.session, sync.store_for(app), wait=None)
    return make_complaint_org()


def _results(user, text):
    return services.search(
        db.session, sync.store_for(current_app), user, text, selected={"kind": "complaint"}
    )


def test_found_by_request_and_notes_without_personal_data(org):
    """Is a case found by its request and step notes by anyone, and never by the
    customer's name or contact, even by an officer?"""
    c = take(org, name="欧阳娜娜", contact="13912345678", request="营业厅排队过长要求解释")
    step(org, c, "apology", note="已向顾客诚恳致歉")
    for user in (org.outsider, org.officer, org.reporter):
        hits = _results(user, "排队").hits
        assert [h.number for h in hits] == [c.number]
        assert "欧阳" not in str(hits[0].__dict__) and "13912345678" not in str(hits[0].__dict__)
    assert [h.number for h in _results(org.outsider, "诚恳致歉").hits] == [c.number]
    for text in ("欧阳娜娜", "13912345678"):
        assert _results(org.officer, text).hits == []
        assert _results(org.outsider, text).hits == []


def test_typed_number_opens_the_case(org):
    """Does a case number typed without its prefix open the case?"""
    c = take(org)
    year = local_today().year
    assert services.exact_match(db.session, org.outsider, f"cmp-{year}-00001") == (
        f"/complaints/{c.number}"
    )


def test_search_api_and_page_leak_no_personal_data(client, org):
    """Do the search API (items, snippets, facets) and page show staff of another
    department the case without the customer's name or contact?"""
    take(org, name="欧阳娜娜", contact="13912345678", request="营业厅排队过长要求解释")
    r = client.form_post("/login", {"username": org.outsider.username, "password": PASSWORD})
    assert r.status_code == 302
    from app.auth import services as auth

    token = auth.create_token(db.session, None, org.outsider, "t")
    db.session.commit()
    body = client.get(
        "/api/v1/search?q=排队&kind=complaint", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert body["total"] == 1 and body["facets"]["kind"] == {"complaint": 1}
    body = str(body)
    assert "欧阳" not in body and "13912345678" not in body
    page = client.get("/search?q=排队").get_data(as_text=True)
    assert "欧阳" not in page and "13912345678" not in page
