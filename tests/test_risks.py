"""The risk-point register: services, gates, links and hits, heat map, reviews, sweep."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from app.audit_trail.models import Event
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.risks import services
from app.risks.models import RiskPoint, RiskReview, band_of

TODAY = date(2026, 12, 2)


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles=("officer",), department="QA")


@pytest.fixture
def make_risk(officer):
    from app.people.models import Department

    def make(likelihood=3, severity=4, process="投诉处理", department="QA", **kw):
        dept = db.session.scalar(db.select(Department).where(Department.code == department))
        risk = services.create_risk_point(
            db.session,
            officer,
            process=process,
            department=dept,
            cause=kw.pop("cause", "热线高峰时段人手不足"),
            consequence=kw.pop("consequence", "顾客等待超时，投诉升级"),
            likelihood=likelihood,
            severity=severity,
            controls=kw.pop("controls", "高峰排班；回拨机制"),
            owner=kw.pop("owner", officer),
            review_date=kw.pop("review_date", date(2027, 6, 1)),
            today=kw.pop("today", TODAY),
        )
        db.session.commit()
        return risk

    return make


def test_create_numbers_and_scores(make_risk):
    """Does a new risk point get the next RP number, score = likelihood × severity and an
    audit event?"""
    first = make_risk(3, 4)
    second = make_risk(5, 5)
    assert (first.number, first.score, first.band) == ("RP-001", 12, "high")
    assert (second.number, second.score, second.band) == ("RP-002", 25, "critical")
    assert services.hits(first) == 0
    events = db.session.scalars(db.select(Event).where(Event.object_ref == "risk_point:RP-001"))
    assert [e.action for e in events] == ["created"]
    assert services.get_risk_point(db.session, "rp-1").id == first.id


@pytest.mark.parametrize("field", ["likelihood", "severity"])
@pytest.mark.parametrize("value", [0, 6, "3.5", True, None])
def test_levels_outside_one_to_five_are_refused(make_risk, field, value):
    """Is a likelihood or severity outside 1–5 (or not a whole number) refused, naming the
    field, with nothing written?"""
    with pytest.raises(ValidationFailed) as err:
        make_risk(**{"likelihood": 3, "severity": 3, field: value})
    assert field in err.value.fields
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(RiskPoint.id))) == 0


def test_bands():
    """Do the score bands cover every product of two levels 1–5?"""
    assert [band_of(s) for s in (1, 4, 5, 9, 10, 16, 20, 25)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_link_is_idempotent_and_counts_hits(make_risk, officer):
    """Does linking count each distinct object once, audit once per pair, and is it found
    from the object's side?"""
    risk = make_risk()
    other = make_risk(1, 1)
    for ref in (
        "nonconformity:NC-2026-0001",
        "nonconformity:NC-2026-0001",
        "complaint:CMP-2026-00001",
    ):
        services.link(db.session, officer, risk, ref)
    services.link(db.session, officer, other, "nonconformity:NC-2026-0001")
    db.session.commit()
    assert services.hits(risk) == 2
    assert risk.hits == 2
    found = services.risk_points_for(db.session, "nonconformity:NC-2026-0001")
    assert [r.number for r in found] == ["RP-001", "RP-002"]
    linked = db.session.scalars(
        db.select(Event).where(Event.object_ref == risk.ref, Event.action == "risk_linked")
    ).all()
    assert len(linked) == 2


def test_link_checks_known_kinds(make_risk, officer):
    """Is a malformed reference, or a document that does not exist, refused?"""
    risk = make_risk()
    for bad in ("", "NC-2026-0001", "document:NOPE-1", "Nonconformity:NC-1"):
        with pytest.raises(ValidationFailed):
            services.link(db.session, officer, risk, bad)
    with pytest.raises(NotFound):
        services.unlink(db.session, officer, risk, "complaint:CMP-1")


def test_update_needs_reason_and_is_audited(make_risk, officer):
    """Does an update need a reason, recompute the score and write before/after?"""
    risk = make_risk(3, 4)
    values = dict(
        process=risk.process,
        department=risk.department,
        cause=risk.cause,
        consequence=risk.consequence,
        likelihood=2,
        severity=4,
        controls=risk.controls,
        owner=risk.owner,
        review_date=risk.review_date,
    )
    with pytest.raises(ValidationFailed) as err:
        services.update_risk_point(db.session, officer, risk, reason=" ", **values, today=TODAY)
    assert "reason" in err.value.fields
    db.session.rollback()
    services.update_risk_point(
        db.session, officer, risk, reason="新增回拨机制", **values, today=TODAY
    )
    db.session.commit()
    assert risk.score == 8
    ev = db.session.scalars(
        db.select(Event).where(Event.object_ref == risk.ref, Event.action == "updated")
    ).one()
    assert ev.reason == "新增回拨机制"
    assert '"likelihood":2' in ev.after and '"score":8' in ev.after


def test_review_moves_the_date_and_refuses_a_second_on_the_same_day(make_risk, officer):
    """Does a review move the review date, and is a second review on the same day a 409?"""
    risk = make_risk(review_date=date(2026, 12, 20))
    services.record_review(
        db.session,
        officer,
        risk,
        notes="控制措施有效",
        next_review_date=date(2027, 12, 1),
        today=TODAY,
    )
    db.session.commit()
    assert (risk.review_date, risk.last_reviewed_on) == (date(2027, 12, 1), TODAY)
    assert risk.reviews[0].previous_review_date == date(2026, 12, 20)
    with pytest.raises(Conflict):
        services.record_review(db.session, officer, risk, notes="again", today=TODAY)
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        services.record_review(
            db.session, officer, risk, notes="x", reviewed_on=date(2026, 12, 3), today=TODAY
        )
    assert "reviewed_on" in err.value.fields


def test_heat_map_counts(make_risk):
    """Does the heat map count risk points per (likelihood, severity) cell?"""
    make_risk(3, 4)
    make_risk(3, 4)
    make_risk(5, 1)
    cells = services.heat_map(db.session)
    assert len(cells) == 25
    assert cells[(3, 4)] == 2 and cells[(5, 1)] == 1 and sum(cells.values()) == 3
    filtered = services.heat_map(db.session, services.list_stmt(band="high"))
    assert sum(filtered.values()) == 2


# -- permissions ----------------------------------------------------------------------


def test_permission_predicates(make_risk, make_user, officer):
    """May everyone signed in read, officers keep any risk point, a department head keep
    those of their department only, and the owner record its review?"""
    from app.people import services as people
    from app.people.models import Department
    from app.risks import permissions as p

    staff = make_user("staff", roles=("staff",), department="CS")
    head = make_user("head", roles=("staff",), department="CS")
    owner = make_user("owner", roles=("staff",), department="QA")
    auditor = make_user("auditor", roles=("auditor",), department="QA")
    cs = db.session.scalar(db.select(Department).where(Department.code == "CS"))
    people.update_department(db.session, None, cs, name=cs.name, head=head, is_active=True)
    db.session.commit()
    qa_risk = make_risk(department="QA", owner=owner)
    cs_risk = make_risk(department="CS")
    qa = qa_risk.department
    for user in (staff, head, owner, auditor, officer):
        assert p.can_view_risks(user)
    assert p.can_create_risk(officer) and p.can_create_risk(head)
    assert not p.can_create_risk(staff) and not p.can_create_risk(auditor)
    assert p.can_create_risk_in(head, cs) and not p.can_create_risk_in(head, qa)
    assert p.can_edit_risk(head, cs_risk) and not p.can_edit_risk(head, qa_risk)
    assert p.can_edit_risk(officer, qa_risk) and not p.can_edit_risk(owner, qa_risk)
    assert p.can_review_risk(owner, qa_risk) and not p.can_review_risk(owner, cs_risk)
    assert not p.can_review_risk(staff, cs_risk) and not p.can_edit_risk(auditor, cs_risk)


# -- pages ----------------------------------------------------------------------------

FORM = {
    "process": "热线受理",
    "department": "QA",
    "cause": "高峰时段来电集中",
    "consequence": "顾客久等后投诉",
    "likelihood": "4",
    "severity": "3",
    "controls": "高峰加班；回拨",
    "owner": "officer",
    "review_date": "2027-06-01",
}


def test_officer_adds_edits_reviews_and_links_through_the_pages(login_as, officer, make_document):
    """Can an officer add a risk point, edit it with a reason, record a review and link a
    document through the forms, and does the page show the history and the link?"""
    doc = make_document()
    client = login_as("officer")
    r = client.form_post("/risks/new", FORM)
    assert r.status_code == 302 and r.headers["Location"].endswith("/risks/RP-001")
    r = client.form_post("/risks/RP-001/edit", {**FORM, "severity": "5", "reason": ""})
    assert r.status_code == 400  # the reason is required
    r = client.form_post("/risks/RP-001/edit", {**FORM, "severity": "5", "reason": "升级"})
    assert r.status_code == 302
    r = client.form_post("/risks/RP-001/review", {"notes": "措施有效", "next_review_date": ""})
    assert r.status_code == 302
    client.form_post("/risks/RP-001/links", {"object_ref": f"document:{doc.number}"})
    client.form_post("/risks/RP-001/links", {"object_ref": "nonconformity:NC-2026-0001"})
    html = client.get("/risks/RP-001").get_data(as_text=True)
    assert f'href="/documents/{doc.number}"' in html
    # a nonconformity links to its page (registered by app/capa), its kind in words
    assert (
        '<a href="/nonconformities/NC-2026-0001" data-ref="nonconformity:NC-2026-0001">'
        "Nonconformity NC-2026-0001</a>"
    ) in html
    assert "升级" in html and "措施有效" in html  # the reason and review in the history
    risk = services.get_risk_point(db.session, "RP-001")
    assert (risk.score, risk.hits) == (20, 2)
    r = client.form_post("/risks/RP-001/links/remove", {"object_ref": "nonconformity:NC-2026-0001"})
    assert r.status_code == 302
    assert services.get_risk_point(db.session, "RP-001").hits == 1


def test_form_refuses_a_level_outside_one_to_five(login_as, officer):
    """Does the form answer 400 naming the likelihood when it is 6, in Chinese too?"""
    client = login_as("officer")
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    r = client.form_post("/risks/new", {**FORM, "likelihood": "6"})
    assert r.status_code == 400
    assert "可能性" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(RiskPoint.id))) == 0


def test_register_filters_and_heat_map_cells(login_as, make_risk, make_user):
    """Does the register filter by department, process, band, cell and review due, and
    does the heat map count the cells and link each to the filtered register?"""
    make_risk(3, 4, process="热线受理")
    make_risk(3, 4, process="上门维修", review_date=date(2026, 12, 20))
    make_risk(1, 2, process="热线受理")
    client = login_as("staff", roles=("staff",))
    html = client.get("/risks").get_data(as_text=True)
    assert 'data-likelihood="3" data-severity="4" data-count="2"' in html
    assert 'data-likelihood="1" data-severity="2" data-count="1"' in html
    assert "/risks?likelihood=3&amp;severity=4" in html

    def numbers(query: str) -> list[str]:
        page = client.get(f"/risks?{query}").get_data(as_text=True)
        return sorted(set(re.findall(r"<code>(RP-\d+)</code>", page)))

    assert numbers("likelihood=3&severity=4") == ["RP-001", "RP-002"]
    assert numbers("process=热线受理") == ["RP-001", "RP-003"]
    assert numbers("band=low") == ["RP-003"]
    assert numbers("department=QA&band=high") == ["RP-001", "RP-002"]
    assert client.get("/risks?band=huge").status_code == 400
    assert client.get("/risks?likelihood=6").status_code == 400


def test_exports_read_back(login_as, make_risk):
    """Do the CSV, .xlsx and PDF downloads hold the filtered rows, and the PDF the heat map?"""
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    make_risk(5, 5, process="热线受理")
    make_risk(2, 2, process="上门维修")
    client = login_as("auditor", roles=("auditor",))
    csv_text = client.get("/risks?format=csv&band=critical").data.decode("utf-8-sig")
    assert "RP-001" in csv_text and "RP-002" not in csv_text and ",25," in csv_text
    book = load_workbook(io.BytesIO(client.get("/risks?format=xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][0] == "RP-001" and rows[1][7] == 25 and rows[2][0] == "RP-002"
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    r = client.get("/risks?format=pdf")
    assert r.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "风险点清单" in text and "热力图" in text
    # the heat map's rows: likelihood 5 holds one risk point, likelihood 2 one
    assert "5 几乎肯定 1\n" in text and "2 不太可能 1\n" in text and "4 很可能\n" in text
    assert "低风险 中风险 高风险 极高风险" in text  # the legend
    assert "RP-001" in text and "RP-002" in text and "热线受理" in text


# -- API ------------------------------------------------------------------------------

BODY = {
    "process": "上门维修",
    "department": "QA",
    "cause": "备件缺货",
    "consequence": "维修超时",
    "likelihood": 3,
    "severity": 4,
    "controls": "安全库存",
}


def test_api_create_read_patch_review_link(app, api_token, officer):
    """Does the API add, list, read, change (with a reason), review and link a risk point,
    answering score and hits?"""
    headers = api_token("officer")
    client = app.test_client()
    r = client.post("/api/v1/risk-points", json=BODY, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["number"], body["score"], body["hits"], body["owner"]) == (
        "RP-001",
        12,
        0,
        "officer",
    )
    listed = client.get("/api/v1/risk-points?band=high", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["score"] == 12
    r = client.patch("/api/v1/risk-points/RP-001", json={"severity": 5}, headers=headers)
    assert r.status_code == 400 and "reason" in r.get_json()["error"]["fields"]
    r = client.patch(
        "/api/v1/risk-points/rp-1", json={"severity": 5, "reason": "复评"}, headers=headers
    )
    assert r.status_code == 200 and r.get_json()["score"] == 15
    r = client.post(
        "/api/v1/risk-points/RP-001/links",
        json={"object": "complaint:CMP-2026-00001"},
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["hits"] == 1
    r = client.post("/api/v1/risk-points/RP-001/review", json={"notes": "有效"}, headers=headers)
    assert r.status_code == 201 and r.get_json()["reviewer"] == "officer"
    r = client.post("/api/v1/risk-points/RP-001/review", json={"notes": "再次"}, headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    detail = client.get("/api/v1/risk-points/RP-001", headers=headers).get_json()
    assert detail["links"][0]["object"] == "complaint:CMP-2026-00001"
    assert len(detail["reviews"]) == 1
    heat = client.get("/api/v1/risk-heat-map", headers=headers).get_json()
    assert heat["total"] == 1 and len(heat["cells"]) == 25
    assert [c["count"] for c in heat["cells"] if c["likelihood"] == 3 and c["severity"] == 5] == [1]
    assert client.get("/api/v1/risk-points/RP-999", headers=headers).status_code == 404


@pytest.mark.parametrize("field", ["likelihood", "severity"])
@pytest.mark.parametrize("value", [0, 6])
def test_api_refuses_levels_outside_one_to_five(app, api_token, officer, field, value):
    """Is a likelihood or severity of 0 or 6 a 400 naming the field, in the caller's
    language?"""
    headers = api_token("officer")
    client = app.test_client()
    r = client.post(
        "/api/v1/risk-points",
        json={**BODY, field: value},
        headers={**headers, "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert list(error["fields"]) == [field]
    assert ("可能性" if field == "likelihood" else "严重度") in error["message"]
    r = client.post("/api/v1/risk-points", json={**BODY, field: value}, headers=headers)
    assert field in r.get_json()["error"]["message"]


def test_api_department_head_only_in_own_department(app, api_token, make_user, officer):
    """May a department head add risk points to their department but not another, and
    staff none at all?"""
    from app.people import services as people
    from app.people.models import Department

    head = make_user("head", roles=("staff",), department="CS")
    cs = db.session.scalar(db.select(Department).where(Department.code == "CS"))
    people.update_department(db.session, None, cs, name=cs.name, head=head, is_active=True)
    db.session.commit()
    client = app.test_client()
    headers = api_token("head")
    assert client.post("/api/v1/risk-points", json=BODY, headers=headers).status_code == 403
    r = client.post("/api/v1/risk-points", json={**BODY, "department": "CS"}, headers=headers)
    assert r.status_code == 201
    staff = api_token("staffer", roles=("staff",))
    r = client.post("/api/v1/risk-points", json={**BODY, "department": "CS"}, headers=staff)
    assert r.status_code == 403
    assert client.get("/api/v1/risk-points/RP-001", headers=staff).status_code == 200


# -- the sweep ------------------------------------------------------------------------


def test_sweep_reminds_the_owner(app, runner, make_risk, make_user):
    """Does `qdms sweep --today` remind the owner a week before the review, on the due
    date and weekly after, once per run day?"""
    from app.notifications.models import OutboxMessage

    owner = make_user("owner", roles=("staff",), department="QA")
    make_risk(owner=owner, review_date=date(2027, 1, 10))

    def sweep(day: str) -> list[OutboxMessage]:
        r = runner.invoke(args=["sweep", "--today", day])
        assert r.exit_code == 0, r.output
        db.session.rollback()
        return db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.kind == "risk_review_due")
            .order_by(OutboxMessage.id)
        ).all()

    assert sweep("2027-01-02") == []
    assert len(sweep("2027-01-03")) == 1  # a week ahead
    assert len(sweep("2027-01-03")) == 1  # not twice
    messages = sweep("2027-01-10")
    assert len(messages) == 2 and messages[-1].recipient_id == owner.id
    assert "RP-001" in messages[-1].subject
    assert len(sweep("2027-01-12")) == 2  # the same week
    assert len(sweep("2027-01-17")) == 3  # a week overdue


# -- concurrency ----------------------------------------------------------------------


def test_parallel_reviews_record_one(app, app_config, api_token, make_risk):
    """Of many reviews of one risk point sent at once, is exactly one recorded and the
    others answered 409 (on both backends)?"""
    from tests.test_concurrency import N, _race

    make_risk()
    headers = api_token("officer")
    answers = _race(
        app_config, "/api/v1/risk-points/RP-001/review", headers, json={"notes": "并发"}
    )
    assert answers == Counter({(201, None): 1, (409, "conflict"): N - 1}), answers
    reviews = db.session.scalar(db.select(db.func.count()).select_from(RiskReview))
    assert reviews == 1


# -- the demo -------------------------------------------------------------------------


def test_demo_register_seeds_once(app):
    """Does the demo add its ten risk points (scored, some reviewed, some due) through the
    services, and nothing on a second run?"""
    from app.demo import organisation
    from app.demo import risks as demo_risks

    organisation.seed(db.session)
    added = demo_risks.seed(db.session, today=TODAY)
    db.session.commit()
    assert len(added) == 10
    risks = db.session.scalars(db.select(RiskPoint).order_by(RiskPoint.number)).all()
    assert [r.number for r in risks] == [f"RP-{n:03}" for n in range(1, 11)]
    assert all(r.score == r.likelihood * r.severity for r in risks)
    assert [r.number for r in services.due_reviews(db.session, TODAY)] == ["RP-004", "RP-007"]
    assert risks[0].reviews and risks[0].last_reviewed_on is not None
    assert demo_risks.seed(db.session, today=TODAY) == []


def _visible_text(html: str) -> str:
    """The text a reader sees: no tags, scripts, styles or attribute values, nor the
    trail's folded details (hashes and codes, for those who audit the trail)."""
    html = re.sub(r"(?s)<(script|style|details)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_chinese_pages_have_no_english_left(login_as, officer, make_document):
    """Do the register, a risk point with a review and links, and its forms read wholly
    in Chinese (numbers, codes and the user's own text aside)?"""
    doc = make_document()
    client = login_as("officer")
    client.form_post("/language", {"lang": "zh_CN", "next": "/"})
    client.form_post("/risks/new", {**FORM, "review_date": ""})
    client.form_post("/risks/RP-001/review", {"notes": "措施有效"})
    client.form_post("/risks/RP-001/links", {"object_ref": f"document:{doc.number}"})
    client.form_post("/risks/RP-001/links", {"object_ref": "nonconformity:NC-2026-0001"})
    client.form_post("/risks/RP-001/edit", {**FORM, "severity": "5", "reason": "升级"})
    # codes, the test's own names ("Department QA", user "officer"), the language switch
    allowed = {"RP", "QP", "CS", "QA", "NC", "CSV", "Excel", "PDF", "qdms", "English"}
    allowed |= {"Department", "Officer", "officer", "Author", "author"}
    for page in (
        "/risks",
        "/risks?band=critical&likelihood=4&severity=5",
        "/risks/RP-001",
        "/risks/new",
        "/risks/RP-001/edit",
        "/risks/RP-001/review",
    ):
        r = client.get(page)
        assert r.status_code == 200, page
        words = set(re.findall(r"[A-Za-z]{2,}", _visible_text(r.get_data(as_text=True))))
        assert words <= allowed, (page, words - allowed)


def test_dashboard_counts_risk_reviews_due(login_as, make_risk):
    """Does the officer's dashboard count the risk points whose review is due, linking to
    them?"""
    make_risk(review_date=date(2026, 12, 3))
    make_risk()
    client = login_as("officer")
    html = client.get("/").get_data(as_text=True)
    due = len(services.due_reviews(db.session, local_today()))
    assert f'id="count-risk-reviews-due">{due}<' in html and "/risks?due=1" in html


def test_numbers_are_found_as_typed(app, make_risk):
    """Does "rp-1" typed in the audit trail's filter find RP-001's events, and the API
    find RP-001 by "rp-1"?"""
    from app.audit_trail.services import resolve_object

    make_risk()
    assert resolve_object(db.session, "rp-1")[0] == ["risk_point:RP-001"]
    assert resolve_object(db.session, "RP-001")[0] == ["risk_point:RP-001"]
    assert services.get_risk_point(db.session, " rp-001 ").number == "RP-001"
