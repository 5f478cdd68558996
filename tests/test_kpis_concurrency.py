"""Parallel requests close a KPI period once, raise a KPI's NC once, deactivate a KPI once
and withdraw an objective once: twenty at once, one success, nineteen 409, one change,
one event (PostgreSQL and SQLite)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth import services as auth
from app.capa.models import Nonconformity
from app.extensions import db, local_today
from app.kpis import services
from app.kpis.models import Kpi, KpiBreach, KpiPeriodClose, KpiValue, Objective
from tests.capa_helpers import make_org
from tests.test_concurrency import _events, _one_won, _race

LAST_YEAR = local_today().year - 1


def _headers(user) -> dict:
    token = auth.create_token(db.session, None, user, "race")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _kpi(org):
    kpi = services.create_kpi(
        db.session,
        org.officer,
        code="CS-SAT",
        name="顾客满意度",
        direction="higher",
        period_kind="month",
        source="entered",
        department=org.cs,
        targets=[{"period": str(LAST_YEAR), "target": 90, "warning": 80}],
    )
    db.session.commit()
    return kpi


def test_parallel_closings_close_once(app, app_config):
    """Do twenty simultaneous closings of one month give one closing and nineteen 409s?"""
    org = make_org()
    kpi = _kpi(org)
    services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-03", 91)
    db.session.commit()
    answers = _race(app_config, f"/api/v1/kpi-periods/{LAST_YEAR}-03/close", _headers(org.officer))
    _one_won(answers, ok=201, code="conflict")
    assert db.session.scalar(select(func.count(KpiPeriodClose.id))) == 1
    assert db.session.scalar(select(func.count(KpiValue.id))) == 1
    assert _events("kpi_period_closed") == 1


def test_parallel_breach_ncs_raise_one(app, app_config):
    """Do twenty simultaneous requests to raise the NC of one run below target give one
    NC and nineteen 409s?"""
    org = make_org()
    kpi = _kpi(org)
    for month in ("01", "02", "03"):
        services.enter_value(db.session, org.officer, kpi, f"{LAST_YEAR}-{month}", 70)
    db.session.commit()
    answers = _race(
        app_config,
        "/api/v1/kpis/CS-SAT/nonconformities",
        _headers(org.officer),
        json={"period": f"{LAST_YEAR}-03"},
    )
    _one_won(answers, ok=201, code="conflict")
    assert db.session.scalar(select(func.count(KpiBreach.id))) == 1
    assert db.session.scalar(select(func.count(Nonconformity.id))) == 1
    assert _events("kpi_breach_nc") == 1


def test_parallel_deactivations_deactivate_once(app, app_config):
    """Do twenty simultaneous deactivations of one KPI (a double-click, many times over)
    give one 200, nineteen 409s and one audit event?"""
    org = make_org()
    _kpi(org)
    answers = _race(
        app_config,
        "/api/v1/kpis/CS-SAT/deactivate",
        _headers(org.officer),
        json={"reason": "停止考核"},
    )
    _one_won(answers, ok=200, code="conflict")
    assert db.session.scalar(select(Kpi.is_active).where(Kpi.code == "CS-SAT")) is False
    assert _events("kpi_deactivated") == 1


def test_parallel_withdrawals_withdraw_once(app, app_config):
    """Do twenty simultaneous withdrawals of one objective give one 200, nineteen 409s and
    one audit event?"""
    org = make_org()
    objective = services.create_objective(
        db.session,
        org.officer,
        year=LAST_YEAR,
        department=org.cs,
        title="提升顾客满意度",
        plan={"what": "x", "resources": "x", "who": "x", "when": "x", "evaluation": "x"},
    )
    db.session.commit()
    answers = _race(
        app_config,
        f"/api/v1/objectives/{objective.id}/withdraw",
        _headers(org.officer),
        json={"reason": "合并到公司级目标"},
    )
    _one_won(answers, ok=200, code="conflict")
    assert db.session.get(Objective, objective.id).is_active is False
    assert _events("objective_withdrawn") == 1
