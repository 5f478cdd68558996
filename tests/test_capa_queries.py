"""The NC register and "My actions" issue a fixed number of SQL statements, whatever the
number of NCs and actions they show (no statement per row: benchmarks/capa.py measures
them on 100,000 NCs)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.auth import services as auth
from app.capa import services
from app.extensions import db, local_today
from tests.capa_helpers import make_org, plan_body, walk
from tests.conftest import PASSWORD

# The most statements each may issue (session, user, count, page, what the rows show)
LIMITS = {
    "register page": 12,
    "register API": 10,
    "my actions page": 12,
    "actions API": 11,  # + the management review's outputs (capa.action_sources)
}


def _count(client, url: str, headers=None) -> tuple[int, str]:
    """Statements of one request, from an empty session (nothing cached by the set-up),
    after one untimed request (a token's first use is written once, not on every call)."""
    client.get(url, headers=headers)
    db.session.remove()
    statements = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(statements), response.get_data(as_text=True)


def _client(app, username: str):
    client = app.test_client()
    r = client.form_post("/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 302
    return client


def _more(org, n: int) -> None:
    """``n`` more NCs of CS, each with a plan of three actions owned by the owner, some
    done."""
    today = local_today()
    org = dataclasses.replace(
        org, **{f.name: db.session.merge(getattr(org, f.name)) for f in dataclasses.fields(org)}
    )  # attached again: each count starts from an empty session
    for i in range(n):
        nc = walk(org, "analysed")
        body = plan_body(org, today=today)
        body["actions"] = [
            {**body["actions"][0], "text": f"措施 {i}-{k}", "due_date": today + timedelta(days=k)}
            for k in (1, 2, 3)
        ]
        services.approve_plan(db.session, org.head, nc, **body, today=today)
        if i % 2:
            services.complete_action(
                db.session, org.owner, nc.open_actions[0], evidence="记录", today=today
            )
        db.session.commit()


@pytest.fixture
def measured(app):
    """The URLs measured, as (name, client, url, headers), for the officer and a member of
    the department who owns the actions."""
    org = make_org()
    walk(org, "implemented")  # one action done
    walk(org, "action_planned")  # one open
    officer, owner = org.officer.username, org.owner.username
    tokens = {
        u.username: {"Authorization": f"Bearer {auth.create_token(db.session, None, u, 't')}"}
        for u in (org.officer, org.owner)
    }
    db.session.commit()
    browsers = {name: _client(app, name) for name in (officer, owner)}
    api = app.test_client()
    register = "/nonconformities?status=action_planned&department=CS"
    urls = [
        ("register page", browsers[officer], register, None),
        ("register page", browsers[owner], register, None),
        ("register API", api, "/api/v1/" + register[1:] + "&per_page=100", tokens[officer]),
        ("register API", api, "/api/v1/" + register[1:] + "&per_page=100", tokens[owner]),
        ("my actions page", browsers[owner], "/my-actions", None),
        ("my actions page", browsers[owner], "/my-actions?status=done", None),
        ("actions API", api, "/api/v1/actions?per_page=100", tokens[owner]),
        ("actions API", api, "/api/v1/actions?status=done&per_page=100", tokens[owner]),
    ]
    return org, urls


def test_register_and_my_actions_do_not_grow_with_rows(app, measured):
    """Do the register and My actions (pages and API) issue the same few statements for
    one NC as for nine, the rows shown being more?"""
    org, urls = measured
    before = [_count(client, url, headers) for _, client, url, headers in urls]
    _more(org, 8)
    after = [_count(client, url, headers) for _, client, url, headers in urls]
    for (name, _, url, _), (n1, body1), (n2, body2) in zip(urls, before, after, strict=True):
        assert n1 == n2, f"{url}: {n1} statements for fewer rows, {n2} for more"
        assert n2 <= LIMITS[name], f"{url}: {n2} statements, at most {LIMITS[name]}"
        assert len(body2) > len(body1), f"{url}: the second answer should show more rows"
