"""Nonconformities in the search: found by description, root cause and actions, only by
those who may see them, and a number typed without its prefix opens the NC."""

from __future__ import annotations

import pytest
from flask import current_app

from app.capa import services as capa
from app.extensions import db, local_today
from app.search import services, sync
from tests.capa_helpers import make_org, walk


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


@pytest.fixture
def org(app):
    # the index made here, whole, before anything is searched: no rebuild thread may
    # outlive the test's database
    sync.ensure_index(db.session, sync.store_for(app), wait=None)
    return make_org()


def _numbers(user, text, **kw) -> list[str]:
    results = services.search(
        db.session, sync.store_for(current_app), user, text, selected={"kind": "nonconformity"}
    )
    return [h.number for h in results.hits]


def test_nc_found_by_description_cause_and_action(org):
    """Is an NC found by words of its description, its 5-why answers and its actions, and
    only by those who may see it?"""
    nc = walk(org, "action_planned")  # 窗口服务态度差 / 未培训 / 培训窗口人员
    db.session.commit()
    assert _numbers(org.officer, "态度") == [nc.number]
    assert _numbers(org.reporter, "培训") == [nc.number]
    assert _numbers(org.owner, "窗口人员") == [nc.number]
    assert _numbers(org.outsider, "态度") == []  # QA staff: not theirs
    assert _numbers(org.auditor, "态度") == [nc.number]


def test_typed_number_without_prefix_opens_the_nc(org):
    """Do 2026-1 and NC-2026-0001 typed in the search box open the NC, for who may see it?"""
    nc = walk(org, "reported")
    year = local_today().year
    for typed in (f"{year}-1", f"{year}-0001", f"nc-{year}-0001"):
        assert services.exact_match(db.session, org.reporter, typed) == (
            f"/nonconformities/{nc.number}"
        )
    assert services.exact_match(db.session, org.outsider, f"{year}-1") is None
    assert capa.normalise_number("QP-CS-001") == "QP-CS-001"


def test_search_page_shows_ncs(client, org):
    """Does the search page list an NC, and open it when its number is typed?"""
    from tests.conftest import PASSWORD

    nc = walk(org, "contained")
    client.form_post("/login", {"username": "officer", "password": PASSWORD})
    page = client.get("/search?q=态度").get_data(as_text=True)
    assert nc.number in page
    assert client.get(f"/search?q={nc.number}").status_code == 302  # typed: opens it
