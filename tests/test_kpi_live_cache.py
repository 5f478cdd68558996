"""The KPI dashboard's live values: reused until something their source reads changes
(a recorded NC does not recompute the complaint KPIs, a complaint does), and the complaint
figures of a period read once, by department and category, for every KPI that asks."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from app.capa import services as capa
from app.complaints import queries as complaint_queries
from app.extensions import db, local_today
from app.kpis import services
from app.kpis.queries import summaries_of, wait_for_refresh
from tests.capa_helpers import Org
from tests.complaint_helpers import make_complaint_org, step, take

YEAR = local_today().year


def _kpi(org: Org, code: str, source: str):
    return services.create_kpi(
        db.session,
        org.officer,
        code=code,
        name=code,
        unit="",
        direction="lower",
        period_kind="month",
        source=source,
        targets=[{"period": str(YEAR), "target": 5, "warning": 8}],
    )


def _latest(summaries, code: str):
    return next(s for s in summaries if s.code == code).values[-1].value


def test_live_values_are_recomputed_only_when_what_they_read_changes(app, monkeypatch):
    org = make_complaint_org()
    kpis = [
        _kpi(org, "CMP-N", "complaint_count"),
        _kpi(org, "CS-CMP-N", "complaint_count"),
        _kpi(org, "NC-OVD", "capa_overdue_actions"),
    ]
    kpis[1].department = org.cs
    db.session.commit()
    computed: Counter = Counter()
    real = services.compute

    def counting(session, kpi, period, memo=None):
        computed[kpi.code] += 1
        return real(session, kpi, period, memo)

    monkeypatch.setattr(services, "compute", counting)
    now = datetime.now(UTC)
    today = local_today()

    first = summaries_of(db.session, kpis, today)
    periods = len(first[0].values)
    assert periods == 12 and computed == {"CMP-N": 12, "CS-CMP-N": 12, "NC-OVD": 12}
    assert _latest(first, "CMP-N") == 0
    summaries_of(db.session, kpis, today)
    assert sum(computed.values()) == 36, "nothing recorded: every live value reused"

    capa.report(db.session, org.reporter, description="窗口排队过长", department=org.cs)
    db.session.commit()
    summaries_of(db.session, kpis, today)
    assert computed == {"CMP-N": 12, "CS-CMP-N": 12, "NC-OVD": 24}, "an NC: only NC KPIs"

    c = take(org, at=now - timedelta(minutes=1))
    after = summaries_of(db.session, kpis, today)
    assert computed == {"CMP-N": 24, "CS-CMP-N": 24, "NC-OVD": 24}, "a complaint: complaints"
    assert _latest(after, "CMP-N") == 1 and _latest(after, "CS-CMP-N") == 1

    step(org, c, "apology", at=now)
    summaries_of(db.session, kpis, today)
    assert computed["CMP-N"] == 36 and computed["NC-OVD"] == 24, "a step is a complaint change"


def test_figure_groups_add_up_to_the_filtered_figures(app):
    """Reading a period once by department and category gives, for any department and
    category, the figures of the filtered query: counts, clocks and per-case figures."""
    org = make_complaint_org()
    now = datetime.now(UTC)
    start, end = local_today() - timedelta(days=1), local_today() + timedelta(days=1)
    a = take(org, category="SVC", at=now - timedelta(minutes=90))  # apology clock breached
    b = take(org, category="FAC", at=now - timedelta(minutes=30), department=org.qa)
    step(org, b, "apology", at=now - timedelta(minutes=20), actor=org.officer)
    take(org, category="SVC", at=now - timedelta(minutes=10), department=org.qa, name="李雷")
    step(org, a, "apology", at=now)

    groups = complaint_queries.figure_groups(db.session, start, end)
    assert set(groups.groups) == {("CS", "SVC"), ("QA", "FAC"), ("QA", "SVC")}
    for department in (None, "CS", "QA"):
        for category in (None, "SVC", "FAC"):
            filtered = complaint_queries.figures(
                db.session, start, end, department=department, category=category
            )
            assert groups.select(department, category) == filtered, (department, category)
    whole = groups.select()
    assert whole.received == 3 and whole.by_category == {"SVC": 2, "FAC": 1}
    assert whole.clocks_due == {"apology": 2} and whole.clocks_met == {"apology": 1}
    assert whole.commitment_cases == 2 and whole.commitment_cases_met == 1
    assert whole.breaches == 1
    assert groups.select("CS", "FAC") == complaint_queries.figures(
        db.session, start, end, department="CS", category="FAC"
    )
    assert groups.select("CS", "FAC").received == 0


def _card_latest(html: str, code: str) -> str:
    card = html.split(f'data-code="{code}"', 1)[1]
    return re.search(r'class="kpi-latest">([^<]*)<', card).group(1).strip()


def test_a_costly_dashboard_shows_the_values_before_and_recomputes_them_behind(
    app, client, login_as
):
    """When recomputing took longer than QDMS_KPI_INLINE_MS (here: anything), the dashboard
    after a change shows the values computed before, says they are being recalculated,
    and recomputes them in the background: the next look shows the new value."""
    app.config["QDMS_KPI_INLINE_MS"] = 0
    org = make_complaint_org()
    _kpi(org, "CMP-N", "complaint_count")
    db.session.commit()
    login_as("officer")
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-N") == "0" and 'id="kpi-refreshing"' not in html

    take(org, at=datetime.now(UTC) - timedelta(minutes=1))
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-N") == "0" and 'id="kpi-refreshing"' in html
    wait_for_refresh()
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-N") == "1" and 'id="kpi-refreshing"' not in html
    # the KPI report never shows values of before
    take(org, at=datetime.now(UTC) - timedelta(minutes=1), name="李雷")
    assert client.get("/kpis?format=pdf").status_code == 200
    wait_for_refresh()


def test_a_cheap_dashboard_always_shows_the_latest_values(app, client, login_as):
    """Under QDMS_KPI_INLINE_MS the changed values are recomputed while the page answers."""
    app.config["QDMS_KPI_INLINE_MS"] = 60_000  # (the tests' default: see conftest)
    org = make_complaint_org()
    _kpi(org, "CMP-N", "complaint_count")
    db.session.commit()
    login_as("officer")
    assert _card_latest(client.get("/kpis").get_data(as_text=True), "CMP-N") == "0"
    take(org, at=datetime.now(UTC) - timedelta(minutes=1))
    html = client.get("/kpis").get_data(as_text=True)
    assert _card_latest(html, "CMP-N") == "1" and 'id="kpi-refreshing"' not in html
