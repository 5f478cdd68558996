"""The demo's quality objectives and KPIs: objectives of the year per department, about a
dozen KPIs (computed and entered) with a year of entered values, older periods closed, an
NC raised for a KPI below target; the dashboard reads in Chinese."""

from __future__ import annotations

import base64
import re

from sqlalchemy import func, select

from app.capa.models import NcLink
from app.demo import kpis, organisation
from app.demo.loader import DEMO_PASSWORD
from app.extensions import db, local_today
from app.kpis.models import Kpi, KpiBreach, KpiPeriodClose, KpiValue, Objective


def test_demo_objectives_and_kpis_seed_once(app):
    """Does the demo seed objectives, computed and entered KPIs with 12+ periods of values,
    close the older periods, raise the NC of OM-REPAIR, and a second seed add nothing?"""
    organisation.seed(db.session)
    added = kpis.seed(db.session)
    db.session.commit()
    assert len(added) >= 14
    rows = db.session.scalars(select(Kpi)).all()
    assert 8 <= len(rows) <= 13
    sources = {k.source for k in rows}
    assert "entered" in sources and len(sources) >= 8
    objectives = db.session.scalars(select(Objective)).all()
    assert {o.year for o in objectives} == {local_today().year}
    assert len({o.department_id for o in objectives}) == len(objectives) >= 4
    assert all(o.kpis for o in objectives)
    hotline = db.session.scalar(select(Kpi).where(Kpi.code == "CS-HOTLINE"))
    entered = db.session.scalar(
        select(func.count(KpiValue.id)).where(
            KpiValue.kpi_id == hotline.id, KpiValue.value.is_not(None)
        )
    )
    assert entered >= 12
    assert db.session.scalar(select(func.count(KpiPeriodClose.id))) >= 12
    (breach,) = db.session.scalars(select(KpiBreach)).all()
    assert breach.kpi.code == "OM-REPAIR" and breach.nc.source == "kpi"
    links = db.session.scalars(select(NcLink.object_ref).where(NcLink.nc_id == breach.nc_id))
    assert "kpi:OM-REPAIR" in set(links)
    assert kpis.seed(db.session) == []


def test_demo_dashboard_reads_in_chinese(demo, app, client):
    """The department head sees the dashboard, objectives and a KPI page in Chinese, with
    red / amber / green badges and a trend chart per KPI, and no English words."""
    r = client.form_post("/login", {"username": "cs_head", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    headers = {"Accept-Language": "zh-CN"}
    html = client.get("/kpis", headers=headers).get_data(as_text=True)
    assert html.count('class="card h-100 kpi-card"') >= 8
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(charts) >= 8  # the trends, as images (the page's CSP refuses inline styles)
    drawn = " ".join(base64.b64decode(c).decode() for c in charts)
    statuses = set(re.findall(r'kpi-card" data-code="[^"]+" data-status="(\w+)"', html))
    assert {"green", "red"} <= statuses
    text = re.sub(r"<[^>]+>|&\w+;", " ", html + drawn)  # the charts' words too
    text = re.sub(r"\b(KPI|PDF|CSV|SERVQUAL)\b", " ", text)
    assert not re.search(r"\b(Target|Warning|No data|Value|Objective)\b", text)
    for url in ("/kpis/objectives", "/kpis/CS-HOTLINE", "/kpis/OM-REPAIR"):
        assert client.get(url, headers=headers).status_code == 200, url
