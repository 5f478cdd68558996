"""Quality objectives and KPIs: status, periods, entering, importing, closing, amending,
the NC for a KPI below target, the NC rule "KPI at or above T", the API and the pages."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.capa import services as capa
from app.capa.models import NcLink
from app.errors import Conflict, SignatureFailed, ValidationFailed
from app.extensions import db, local_date, local_today, local_zone
from app.kpis import periods as P
from app.kpis import services
from app.kpis.models import KpiValue
from app.kpis.queries import kpi_summaries, kpi_trend
from tests.capa_helpers import make_org, walk
from tests.complaint_helpers import make_complaint_org, step, take
from tests.conftest import PASSWORD

YEAR = local_today().year
LAST_YEAR = YEAR - 1


def test_status_follows_direction_target_and_warning():
    """Higher is better: 95 ≥ 90 green, 85 ≥ 80 amber, 70 red; lower: the other way;
    no value or no target: none."""
    assert services.status_of(95, 90, 80, "higher") == "green"
    assert services.status_of(85, 90, 80, "higher") == "amber"
    assert services.status_of(70, 90, 80, "higher") == "red"
    assert services.status_of(70, 90, None, "higher") == "red"
    assert services.status_of(3, 5, 8, "lower") == "green"
    assert services.status_of(6, 5, 8, "lower") == "amber"
    assert services.status_of(9, 5, 8, "lower") == "red"
    assert services.status_of(None, 5, 8, "lower") == "none"
    assert services.status_of(4, None, None, "lower") == "none"


def test_periods_parse_and_step():
    """Months and quarters parse, step across years and give half-open ranges."""
    assert str(P.parse("2026-03")) == "2026-03"
    assert P.parse("2026-q4").end == date(2027, 1, 1)
    assert str(P.parse("2026-01").previous()) == "2025-12"
    assert [str(p) for p in P.last_n(P.parse("2026-Q1"), 3)] == ["2025-Q3", "2025-Q4", "2026-Q1"]
    for bad in ("2026-13", "2026-Q5", "26-01", "", "2026/01"):
        with pytest.raises(ValidationFailed):
            P.parse(bad)
    with pytest.raises(ValidationFailed):
        P.parse("2026-03", "quarter")


def _entered(org, code="CS-SAT", *, department=None, breach=3):
    kpi = services.create_kpi(
        db.session,
        org.officer,
        code=code,
        name="顾客满意度",
        name_en="Customer satisfaction",
        unit="%",
        direction="higher",
        period_kind="month",
        source="entered",
        department=department or org.cs,
        targets=[{"period": str(LAST_YEAR), "target": 90, "warning": 80}],
        breach_periods=breach,
    )
    db.session.commit()
    return kpi


def test_entered_values_close_freeze_and_amend(app):
    """An entered value counts for its period; closing freezes it (entering again: 409,
    closing again: 409); a signed amendment with a reason replaces what is shown, a wrong
    password changes nothing."""
    org = make_org()
    kpi = _entered(org)
    march = f"{LAST_YEAR}-03"
    services.enter_value(db.session, org.head, kpi, march, "85")
    db.session.commit()
    (row,) = services.values(db.session, kpi, [P.parse(march)])
    assert (row.value, row.target, row.status, row.frozen) == (85, 90, "amber", False)
    services.close_period(db.session, org.officer, march)
    db.session.commit()
    with pytest.raises(Conflict):
        services.enter_value(db.session, org.head, kpi, march, "95")
    db.session.rollback()
    with pytest.raises(Conflict):
        services.close_period(db.session, org.officer, march)
    db.session.rollback()
    with pytest.raises(SignatureFailed):
        services.amend_value(
            db.session, org.officer, kpi, march, 92, reason="录入错误", password="wrong"
        )
    db.session.rollback()
    services.amend_value(
        db.session, org.officer, kpi, march, 92, reason="录入错误", password=PASSWORD
    )
    db.session.commit()
    (row,) = services.values(db.session, kpi, [P.parse(march)])
    assert (row.value, row.status, row.frozen, row.amended) == (92, "green", True, True)
    stored = db.session.scalar(select(KpiValue).where(KpiValue.kpi_id == kpi.id))
    assert stored.value == 85  # the frozen value itself never changes


def test_a_period_not_ended_cannot_be_closed(app):
    org = make_org()
    with pytest.raises(ValidationFailed):
        services.close_period(db.session, org.officer, str(P.containing(local_today(), "month")))


def test_closing_stores_computed_values(app):
    """Closing a month stores the computed KPIs' live values: a month without closed NCs
    stays "no data" (None), not 0."""
    org = make_org()
    kpi = services.create_kpi(
        db.session,
        org.officer,
        code="NC-DAYS",
        name="不符合关闭周期",
        direction="lower",
        period_kind="month",
        source="nc_closure_days",
        unit="天",
    )
    db.session.commit()
    services.close_period(db.session, org.officer, f"{LAST_YEAR}-05")
    db.session.commit()
    stored = db.session.scalar(select(KpiValue).where(KpiValue.kpi_id == kpi.id))
    assert (stored.period, stored.value, stored.frozen) == (f"{LAST_YEAR}-05", None, True)


def test_import_is_all_or_nothing_and_names_the_bad_line(app):
    """A good file imports every row (replacing one entered before); a file with a bad
    third line is refused naming line 3, and nothing of it is written."""
    org = make_org()
    kpi = _entered(org)
    services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-01", 50)
    db.session.commit()
    good = f"code,period,value\nCS-SAT,{LAST_YEAR}-01,91\nCS-SAT,{LAST_YEAR}-02,\n".encode()
    counts = services.import_csv(db.session, org.officer, good, may_enter=lambda k: True)
    db.session.commit()
    assert counts == {"rows": 2, "created": 1, "updated": 1}
    bad = f"CS-SAT,{LAST_YEAR}-04,90\nCS-SAT,{LAST_YEAR}-05,88\nCS-SAT,{LAST_YEAR}-06,八十\n"
    with pytest.raises(ValidationFailed) as err:
        services.import_csv(db.session, org.officer, bad.encode(), may_enter=lambda k: True)
    db.session.rollback()
    assert err.value.params["line"] == 3
    assert db.session.scalar(select(func.count(KpiValue.id))) == 2
    with pytest.raises(ValidationFailed) as err:
        services.import_csv(db.session, org.officer, b"NOPE,2025-01,1\n", may_enter=lambda k: True)
    assert err.value.params["line"] == 1


def test_below_target_for_n_periods_raises_an_nc_linked_both_ways(app):
    """Red in January, amber in February and March (3 periods) → an NC of source kpi,
    linked to kpi:CODE, the breach pointing to it; again for the same run: 409. Two
    periods below and one green: refused."""
    org = make_org()
    kpi = _entered(org)
    for month, value in (("01", 70), ("02", 85), ("03", 88), ("04", 95)):
        services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-{month}", value)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.raise_breach_nc(db.session, org.officer, kpi, P.parse(f"{LAST_YEAR}-04"))
    db.session.rollback()
    breach = services.raise_breach_nc(db.session, org.officer, kpi, P.parse(f"{LAST_YEAR}-03"))
    db.session.commit()
    nc = breach.nc
    assert nc.source == "kpi" and nc.department.code == "CS"
    assert db.session.scalar(select(NcLink.object_ref).where(NcLink.nc_id == nc.id)) == "kpi:CS-SAT"
    with pytest.raises(Conflict):
        services.raise_breach_nc(db.session, org.officer, kpi, P.parse(f"{LAST_YEAR}-03"))


def test_nc_effectiveness_by_kpi_threshold(app):
    """An NC plan may carry "KPI at or above T": approved with {kpi, threshold}, evaluated
    over the window's periods: a value below T is not met, with that period as evidence."""
    org = make_org()
    kpi = _entered(org)
    today = local_today()
    current = P.containing(today, "month")
    services.enter_value(db.session, org.officer, kpi, str(current), 85)
    db.session.commit()
    nc = walk(org, "analysed")
    capa.approve_plan(
        db.session,
        org.head,
        nc,
        actions=[
            {
                "text": "培训",
                "owner": org.owner.username,
                "type": "corrective",
                "due_date": today + timedelta(days=1),
            }
        ],
        criterion="满意度不低于 90%",
        check_date=today + timedelta(days=5),
        kpi="cs-sat",
        threshold=90,
        password=PASSWORD,
        today=today,
    )
    db.session.commit()
    rule = nc.plan.rule
    assert rule == {"kind": "kpi_threshold", "kpi": "CS-SAT", "threshold": 90.0, "days": 5}
    from app.capa import rules  # the registry the app factory filled

    result = rules.evaluate(db.session, nc, rule, approved_on=today, today=today)
    assert result.outcome == "not_met"
    assert result.evidence[0]["on"] == str(current)
    services.enter_value(db.session, org.officer, kpi, str(current), 93)
    result = rules.evaluate(db.session, nc, rule, approved_on=today, today=today)
    assert (result.outcome, result.evidence) == ("met", [])
    with pytest.raises(ValidationFailed):
        rules.validate(
            db.session, {"kind": "kpi_threshold", "kpi": "NOPE", "threshold": 1, "days": 5}
        )


def test_kpi_summaries_and_trend_for_the_management_review(app):
    """The read-only contract: 12 periods, oldest first, ending at the period of `end`;
    a period without a value is none; the chart is SVG."""
    org = make_org()
    kpi = _entered(org)
    services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-12", 95)
    db.session.commit()
    (summary,) = kpi_summaries(db.session, date(LAST_YEAR, 1, 1), date(LAST_YEAR, 12, 31))
    assert summary.code == kpi.code and summary.department == "CS"
    assert summary.values[0].period == f"{LAST_YEAR}-01"
    assert summary.values[-1].value == 95 and summary.values[-1].status == "green"
    assert summary.values[0].status == "none"
    assert (
        kpi_summaries(db.session, date(LAST_YEAR, 1, 1), date(LAST_YEAR, 12, 31), department="QA")
        == []
    )
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert "<svg" in str(kpi_trend(summary))


def test_api_flow(app, client, api_token, make_user):
    """POST /kpis and /objectives, PUT a value, GET the values with status, close the
    period (twice: 409), PUT again: 409, amend, the sources list."""
    make_org()
    officer = api_token("officer")
    staff = api_token("reporter")
    body = {
        "code": "cs-fcr",
        "name": "首问解决率",
        "unit": "%",
        "direction": "higher",
        "period": "month",
        "source": "entered",
        "department": "CS",
        "targets": [{"period": f"{LAST_YEAR}", "target": 80, "warning": 70}],
    }
    assert client.post("/api/v1/kpis", json=body, headers=staff).status_code == 403
    r = client.post("/api/v1/kpis", json=body, headers=officer)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["code"] == "CS-FCR"
    assert client.post("/api/v1/kpis", json=body, headers=officer).status_code == 409
    bad = {**body, "code": "X1", "source": "nonsense"}
    assert client.post("/api/v1/kpis", json=bad, headers=officer).status_code == 400
    objective = {
        "year": LAST_YEAR,
        "department": "CS",
        "title": "提升首问解决率",
        "plan": {
            "what": "培训",
            "resources": "讲师",
            "who": "客服部",
            "when": "每季度",
            "evaluation": "月度指标",
        },
        "kpis": ["CS-FCR"],
    }
    r = client.post("/api/v1/objectives", json=objective, headers=officer)
    assert r.status_code == 201 and r.get_json()["kpis"] == ["CS-FCR"]
    assert (
        client.get(f"/api/v1/objectives?year={LAST_YEAR}", headers=staff).get_json()["total"] == 1
    )
    period = f"{LAST_YEAR}-06"
    r = client.put(f"/api/v1/kpis/CS-FCR/values/{period}", json={"value": 75}, headers=officer)
    assert r.status_code == 200, r.get_json()
    assert (
        client.put(
            f"/api/v1/kpis/CS-FCR/values/{period}", json={"value": 75}, headers=staff
        ).status_code
        == 403
    )
    r = client.get(
        f"/api/v1/kpis/CS-FCR/values?from={LAST_YEAR}-05&to={LAST_YEAR}-06", headers=staff
    )
    items = r.get_json()["items"]
    assert [(i["period"], i["value"], i["status"]) for i in items] == [
        (f"{LAST_YEAR}-05", None, "none"),
        (period, 75, "amber"),
    ]
    assert client.post(f"/api/v1/kpi-periods/{period}/close", headers=staff).status_code == 403
    assert client.post(f"/api/v1/kpi-periods/{period}/close", headers=officer).status_code == 201
    assert client.post(f"/api/v1/kpi-periods/{period}/close", headers=officer).status_code == 409
    r = client.put(f"/api/v1/kpis/CS-FCR/values/{period}", json={"value": 80}, headers=officer)
    assert r.status_code == 409
    amend = {"value": 81, "reason": "系统统计口径修正", "password": "wrong"}
    r = client.post(f"/api/v1/kpis/CS-FCR/values/{period}/amendments", json=amend, headers=officer)
    assert r.status_code == 403
    amend["password"] = PASSWORD
    r = client.post(f"/api/v1/kpis/CS-FCR/values/{period}/amendments", json=amend, headers=officer)
    assert r.status_code == 201 and r.get_json()["items"][0]["value"] == 81
    sources = client.get("/api/v1/kpi-sources", headers=staff).get_json()["items"]
    assert "nc_closure_days" in {s["name"] for s in sources}
    csv = io.BytesIO(f"CS-FCR,{LAST_YEAR}-07,70\nCS-FCR,{LAST_YEAR}-13,70\n".encode())
    r = client.post(
        "/api/v1/kpis/import",
        data={"file": (csv, "v.csv")},
        headers=officer,
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "2" in r.get_json()["error"]["message"]
    csv = io.BytesIO(f"CS-FCR,{LAST_YEAR}-07,70\n".encode())
    r = client.post(
        "/api/v1/kpis/import",
        data={"file": (csv, "v.csv")},
        headers=officer,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201 and r.get_json()["rows"] == 1
    events = db.session.scalar(select(func.count(Event.id)).where(Event.object_ref == "kpi:CS-FCR"))
    assert events >= 5


def test_department_head_enters_own_entered_kpis_only(app, client, api_token):
    """The head of CS may enter CS's entered KPI, not QA's; staff may not."""
    org = make_org()
    _entered(org, "CS-SAT")
    _entered(org, "QA-SAT", department=org.qa)
    head = api_token("head")
    period = f"{LAST_YEAR}-02"
    assert (
        client.put(
            f"/api/v1/kpis/CS-SAT/values/{period}", json={"value": 1}, headers=head
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/api/v1/kpis/QA-SAT/values/{period}", json={"value": 1}, headers=head
        ).status_code
        == 403
    )
    staff = api_token("reporter")
    assert (
        client.put(
            f"/api/v1/kpis/CS-SAT/values/{period}", json={"value": 1}, headers=staff
        ).status_code
        == 403
    )


def test_pages_in_chinese(app, client, login_as):
    """The dashboard, objectives, KPI page, close and import forms render (Chinese), with
    the RAG badge and the trend chart; entering a value through the form works."""
    org = make_org()
    kpi = _entered(org)
    services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-12", 95)
    db.session.commit()
    login_as("officer")
    headers = {"Accept-Language": "zh-CN"}
    html = client.get("/kpis", headers=headers).get_data(as_text=True)
    assert "指标" in html and "data:image/svg+xml;base64," in html and 'data-code="CS-SAT"' in html
    for url in (
        "/kpis/objectives",
        "/kpis/CS-SAT",
        "/kpis/close",
        "/kpis/import",
        "/kpis/new",
        "/kpis/objectives/new",
    ):
        assert client.get(url, headers=headers).status_code == 200, url
    r = client.form_post("/kpis/CS-SAT/values", {"period": f"{LAST_YEAR}-11", "value": "88"})
    assert r.status_code == 302
    (row,) = services.values(db.session, kpi, [P.parse(f"{LAST_YEAR}-11")])
    assert row.value == 88
    r = client.form_post("/kpis/CS-SAT/values", {"period": "bad", "value": "88"})
    assert r.status_code == 400


def _card_latest(html: str, code: str) -> str:
    card = html.split(f'data-code="{code}"', 1)[1].split('class="kpi-chart"', 1)[0]
    return re.search(r'class="kpi-latest">([^<]*)<', card).group(1)


def _case_times(now: datetime) -> datetime:
    """The moment the dashboard test's cases are placed before: ``now``, unless the first
    70 minutes of this month (organisation time) are not over — then the end of last month,
    so that both cases (10 and 70 minutes before it) fall in one month, and the second's
    1-hour clock has still run out by ``now``."""
    month_start = datetime.combine(
        P.containing(local_date(now), "month").start, time(), tzinfo=local_zone()
    )
    return now if now - timedelta(minutes=70) >= month_start else month_start


def test_case_times_keep_both_cases_in_one_month():
    """The dashboard test's cases stay in one month at any time of day, also in the first
    70 minutes of a month (where now - 70 minutes is last month)."""
    zone = local_zone()
    for now in (
        datetime(2027, 1, 1, 0, 5, tzinfo=zone),  # first minutes of a year: December
        datetime(2027, 3, 1, 1, 9, tzinfo=zone),
        datetime(2027, 3, 1, 1, 10, tzinfo=zone),  # 70 minutes in: this month
        datetime(2027, 3, 15, 12, 0, tzinfo=zone),
        datetime(2027, 3, 31, 23, 59, tzinfo=zone),
    ):
        base = _case_times(now)
        months = {
            str(P.containing(local_date(base - timedelta(minutes=m)), "month")) for m in (5, 10, 70)
        }
        assert len(months) == 1, (now, months)
        assert base <= now and now - (base - timedelta(minutes=70)) >= timedelta(hours=1)


def test_dashboard_commitment_fulfilment_follows_complaint_activity(app, client, login_as):
    """Acceptance (1): complaints taken through the complaints services move the KPI
    dashboard's commitment fulfilment rate. No decided clock yet: no data; one case whose
    apology came in time: 100%; a second whose apology clock ran out: 50% — both cases in
    one month, whatever the time of the month the test runs at."""
    org = make_complaint_org()
    now = datetime.now(UTC)
    base = _case_times(now)
    month = P.containing(local_date(base - timedelta(minutes=70)), "month")
    services.create_kpi(
        db.session,
        org.officer,
        code="CMP-CF",
        name="服务承诺履行率",
        unit="%",
        direction="higher",
        period_kind="month",
        source="complaint_commitment_fulfilment",
        params={"step": "apology"},
        targets=[{"period": str(month.year), "target": 95, "warning": 85}],
    )
    db.session.commit()
    login_as("officer")
    assert _card_latest(client.get("/kpis").get_data(as_text=True), "CMP-CF") == "No data"
    first = take(org, category="FAC", at=base - timedelta(minutes=10))
    step(org, first, "apology", at=base - timedelta(minutes=5))
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-CF") == "100%"
    assert 'data-code="CMP-CF" data-status="green"' in html
    # its apology was due within 1 hour (the SVC clock) and is not recorded: breached
    take(org, at=base - timedelta(minutes=70), name="李雷", contact="13700000002")
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-CF") == "50%"
    assert 'data-code="CMP-CF" data-status="red"' in html
    (value,) = services.values(db.session, services.get_kpi(db.session, "CMP-CF"), [month])
    assert value.value == 50  # the 50% is the month both cases were received in


def test_sweep_offers_the_nc_of_a_run_below_target_once(app):
    """The sweep finds a KPI below target in its last 3 periods, mails each officer once
    (a second sweep adds nothing), opens no NC itself; once the NC is raised, no more."""
    from app.cli import scheduled_work  # the sweep as `qdms sweep` runs it
    from app.notifications.models import OutboxMessage

    org = make_org()
    kpi = _entered(org)
    today = local_today()
    last = P.containing(today, "month").previous()
    services.set_targets(db.session, org.officer, kpi, [{"period": str(last.year), "target": 90}])
    for period in P.last_n(last, 3):
        services.enter_value(db.session, org.officer, kpi, str(period), 80)
    db.session.commit()
    report = scheduled_work(db.session, today)
    db.session.commit()
    assert report.kpi_runs == [f"CS-SAT {last}"]
    mails = select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "kpi_below_target")
    assert db.session.scalar(mails) == 1  # the one officer
    scheduled_work(db.session, today)
    assert db.session.scalar(mails) == 1
    assert db.session.scalar(select(func.count(NcLink.id))) == 0
    services.raise_breach_nc(db.session, org.officer, kpi, last)
    db.session.commit()
    assert scheduled_work(db.session, today).kpi_runs == []
