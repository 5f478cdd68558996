"""Editing objectives and KPIs, withdrawing objectives, deactivating KPIs (docs/adr/0049):
what may change and what may not, the audit of only the changed fields, frozen values
untouched by new parameters, inactive KPIs off the dashboard, the period close and the
sweep, withdrawn objectives off the default list and the KPI form — pages and API."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.errors import Conflict, ValidationFailed
from app.extensions import db, local_date, local_today
from app.kpis import periods as P
from app.kpis import services
from app.kpis.models import Kpi, KpiValue, Objective
from tests.capa_helpers import make_org
from tests.complaint_helpers import local, make_complaint_org, take

YEAR = local_today().year
LAST_YEAR = YEAR - 1
PLAN = {
    "what": "开展首问负责制培训",
    "resources": "培训讲师两名",
    "who": "客服部经理",
    "when": "每季度末",
    "evaluation": "按月统计首问解决率",
}
ZH = {"Accept-Language": "zh-CN"}


def _objective(org, title="提升首问解决率", year=YEAR, department=None) -> Objective:
    objective = services.create_objective(
        db.session,
        org.officer,
        year=year,
        department=department or org.cs,
        title=title,
        plan=PLAN,
    )
    db.session.commit()
    return objective


def _entered(org, code="CS-SAT", objective=None) -> Kpi:
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
        department=org.cs,
        objective=objective,
        targets=[{"period": str(LAST_YEAR), "target": 90, "warning": 80}],
    )
    db.session.commit()
    return kpi


def _events(ref: str, action: str) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event).where(Event.object_ref == ref, Event.action == action).order_by(Event.id)
        )
    )


def _payload(value):
    return json.loads(value) if isinstance(value, str) else value


# Objectives ---------------------------------------------------------------------------


def test_editing_an_objective_audits_only_the_changed_fields(app):
    """A new title and one plan field: one event whose before/after hold just those two;
    saving it again unchanged writes no event; the year stays."""
    org = make_org()
    objective = _objective(org)
    services.update_objective(
        db.session,
        org.officer,
        objective,
        title="首问解决率达到 85%",
        department=org.cs,
        plan={**PLAN, "when": "2026 年 12 月底"},
    )
    db.session.commit()
    (event,) = _events(objective.ref, "objective_updated")
    assert _payload(event.before) == {"title": "提升首问解决率", "when": "每季度末"}
    assert _payload(event.after) == {"title": "首问解决率达到 85%", "when": "2026 年 12 月底"}
    services.update_objective(
        db.session,
        org.officer,
        objective,
        title="首问解决率达到 85%",
        department=org.cs,
        plan={**PLAN, "when": "2026 年 12 月底"},
    )
    db.session.commit()
    assert len(_events(objective.ref, "objective_updated")) == 1
    services.update_objective(
        db.session, org.officer, objective, title="首问解决率达到 85%", department=None, plan=PLAN
    )
    db.session.commit()
    last = _events(objective.ref, "objective_updated")[-1]
    assert _payload(last.before) == {"department": "CS", "when": "2026 年 12 月底"}
    assert _payload(last.after) == {"department": None, "when": "每季度末"}
    assert (objective.year, objective.department) == (YEAR, None)
    with pytest.raises(ValidationFailed):
        services.update_objective(
            db.session, org.officer, objective, title=" ", department=None, plan=PLAN
        )
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.update_objective(
            db.session, org.officer, objective, title="x", department=None, plan={**PLAN, "who": ""}
        )
    db.session.rollback()
    assert db.session.get(Objective, objective.id).title == "首问解决率达到 85%"


def test_withdrawn_objectives_leave_the_list_and_the_kpi_form(app, client, login_as, api_token):
    """Withdrawing needs a reason (audited); a second withdrawal is a 409. The withdrawn
    objective is off the default list (the "show withdrawn" filter shows it, marked), is
    not offered in the KPI forms and cannot be given to a KPI — a KPI that has it keeps
    it. Reinstating brings it back."""
    org = make_org()
    kept = _objective(org, "保持的目标")
    gone = _objective(org, "撤销的目标")
    kpi = _entered(org, objective=gone)
    with pytest.raises(ValidationFailed):
        services.withdraw_objective(db.session, org.officer, gone, reason="  ")
    db.session.rollback()
    login_as("officer")
    r = client.form_post(f"/kpis/objectives/{gone.id}/withdraw", {"reason": "年度方针调整"})
    assert r.status_code == 302
    (event,) = _events(gone.ref, "objective_withdrawn")
    assert event.reason == "年度方针调整"
    r = client.form_post(f"/kpis/objectives/{gone.id}/withdraw", {"reason": "再次"})
    assert r.status_code == 409
    assert "已被撤销" in client.form_post(
        f"/kpis/objectives/{gone.id}/withdraw", {"reason": "再次"}, headers=ZH
    ).get_data(as_text=True)
    assert len(_events(gone.ref, "objective_withdrawn")) == 1

    html = client.get(f"/kpis/objectives?year={YEAR}", headers=ZH).get_data(as_text=True)
    assert f'id="objective-{kept.id}"' in html and f'id="objective-{gone.id}"' not in html
    html = client.get(f"/kpis/objectives?year={YEAR}&withdrawn=1", headers=ZH).get_data(
        as_text=True
    )
    assert f'id="objective-{gone.id}"' in html and "已撤销" in html

    new_form = client.get("/kpis/new").get_data(as_text=True)
    assert f'value="{kept.id}"' in new_form and f'value="{gone.id}"' not in new_form
    other = _entered(org, "CS-OTHER")
    edit_form = client.get("/kpis/CS-OTHER/edit").get_data(as_text=True)
    assert f'value="{gone.id}"' not in edit_form
    own_form = client.get(f"/kpis/{kpi.code}/edit").get_data(as_text=True)
    own = re.search(rf'<option selected value="{gone.id}">([^<]*)<', own_form)
    assert own and own.group(1).endswith("(Withdrawn)")  # its own, marked withdrawn
    with pytest.raises(ValidationFailed):
        services.update_kpi(
            db.session,
            org.officer,
            other,
            name=other.name,
            name_en=other.name_en,
            unit=other.unit,
            direction=other.direction,
            department=other.department,
            objective=db.session.get(Objective, gone.id),
            breach_periods=3,
            params={},
        )
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.create_kpi(
            db.session,
            org.officer,
            code="CS-NEW",
            name="新指标",
            direction="higher",
            period_kind="month",
            source="entered",
            objective=db.session.get(Objective, gone.id),
        )
    db.session.rollback()
    # the KPI measuring it keeps it when saved with other changes
    r = client.form_post(
        f"/kpis/{kpi.code}/edit",
        {
            "name": "顾客满意度（季度调查）",
            "unit": "%",
            "direction": "higher",
            "department": "CS",
            "objective": str(gone.id),
            "breach_periods": "3",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert db.session.get(Kpi, kpi.id).objective_id == gone.id

    token = api_token("reporter")
    api = client.get(f"/api/v1/objectives?year={YEAR}", headers=token).get_json()
    assert [o["id"] for o in api["items"]] == [kept.id]
    api = client.get(f"/api/v1/objectives?year={YEAR}&withdrawn=true", headers=token).get_json()
    assert {o["id"]: o["active"] for o in api["items"]} == {kept.id: True, gone.id: False}

    r = client.form_post(f"/kpis/objectives/{gone.id}/reinstate", {"reason": ""})
    assert r.status_code == 400
    r = client.form_post(f"/kpis/objectives/{gone.id}/reinstate", {"reason": "方针恢复"})
    assert r.status_code == 302
    assert db.session.get(Objective, gone.id).is_active
    assert len(_events(gone.ref, "objective_reactivated")) == 1
    assert f'value="{gone.id}"' in client.get("/kpis/new").get_data(as_text=True)


def test_objective_edit_page_and_api(app, client, login_as, api_token):
    """The edit page shows the objective's values in Chinese; a save changes them (audited);
    an empty title is a 400 naming nothing saved. PATCH changes only the fields given
    (a plan field alone keeps the others); staff get 403; a missing objective 404."""
    org = make_org()
    objective = _objective(org)
    login_as("officer")
    html = client.get(f"/kpis/objectives/{objective.id}/edit", headers=ZH).get_data(as_text=True)
    assert "编辑质量目标" in html and "提升首问解决率" in html and "撤销该质量目标" in html
    form = {"department": "QA", "title": "提升首问解决率（全年）", **PLAN}
    assert client.form_post(f"/kpis/objectives/{objective.id}/edit", form).status_code == 302
    saved = db.session.get(Objective, objective.id)
    assert (saved.title, saved.department.code) == ("提升首问解决率（全年）", "QA")
    r = client.form_post(f"/kpis/objectives/{objective.id}/edit", {**form, "title": ""})
    assert r.status_code == 400
    assert db.session.get(Objective, objective.id).title == "提升首问解决率（全年）"
    assert client.get("/kpis/objectives/999/edit").status_code == 404

    officer = api_token("officer")
    staff = api_token("reporter")
    url = f"/api/v1/objectives/{objective.id}"
    assert client.patch(url, json={"title": "x"}, headers=staff).status_code == 403
    r = client.patch(url, json={"plan": {"who": "质量部"}}, headers=officer)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["plan"] == {**PLAN, "who": "质量部"} and body["department"] == "QA"
    r = client.patch(url, json={"department": None, "title": "组织目标"}, headers=officer)
    assert (r.get_json()["department"], r.get_json()["title"]) == (None, "组织目标")
    assert client.patch(url, json={"title": ""}, headers=officer).status_code == 400
    assert client.patch(url, json={"department": "NOPE"}, headers=officer).status_code == 400
    assert client.patch("/api/v1/objectives/999", json={}, headers=officer).status_code == 404
    r = client.post(f"{url}/withdraw", json={"reason": "合并"}, headers=officer)
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert client.post(f"{url}/withdraw", json={"reason": "x"}, headers=officer).status_code == 409
    assert client.post(f"{url}/reinstate", json={}, headers=officer).status_code == 400
    r = client.post(f"{url}/reinstate", json={"reason": "恢复"}, headers=officer)
    assert r.status_code == 200 and r.get_json()["active"] is True
    assert len(_events(objective.ref, "objective_updated")) == 3


# KPIs -----------------------------------------------------------------------------------


def test_kpi_edit_changes_what_may_change_and_audits_it(app, client, login_as, api_token):
    """The edit page says why code, period and source cannot change; a save changes the
    names, unit, direction, department, objective and run length, audited with only the
    changed fields. PATCH: only the fields given; a different code, period or source is a
    400 in the user's language; an entered KPI takes no parameters."""
    org = make_org()
    objective = _objective(org)
    kpi = _entered(org)
    login_as("officer")
    html = client.get("/kpis/CS-SAT/edit", headers=ZH).get_data(as_text=True)
    assert "编号、周期和来源决定了历史数值的含义" in html and "CS-SAT" in html
    assert 'name="code"' not in html and 'name="source"' not in html
    form = {
        "name": "顾客满意度（调查）",
        "name_en": "Customer satisfaction (survey)",
        "unit": "分",
        "direction": "higher",
        "department": "QA",
        "objective": str(objective.id),
        "breach_periods": "2",
    }
    assert client.form_post("/kpis/CS-SAT/edit", form).status_code == 302
    (event,) = _events(kpi.ref, "kpi_updated")
    assert _payload(event.before) == {
        "name": "顾客满意度",
        "name_en": "Customer satisfaction",
        "unit": "%",
        "department": "CS",
        "breach_periods": 3,
        "objective": None,
    }
    assert _payload(event.after)["objective"] == "提升首问解决率"
    saved = db.session.get(Kpi, kpi.id)
    assert (saved.code, saved.period_kind, saved.source) == ("CS-SAT", "month", "entered")
    assert (saved.unit, saved.department.code, saved.breach_periods) == ("分", "QA", 2)
    assert client.form_post("/kpis/CS-SAT/edit", form).status_code == 302
    assert len(_events(kpi.ref, "kpi_updated")) == 1  # unchanged: nothing written
    r = client.form_post("/kpis/CS-SAT/edit", {**form, "breach_periods": "0"})
    assert r.status_code == 400
    r = client.form_post("/kpis/CS-SAT/edit", {**form, "direction": "sideways"})
    assert r.status_code == 400

    officer = api_token("officer")
    staff = api_token("reporter")
    assert client.patch("/api/v1/kpis/CS-SAT", json={"unit": "%"}, headers=staff).status_code == 403
    r = client.patch(
        "/api/v1/kpis/CS-SAT", json={"direction": "lower", "objective": None}, headers=officer
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["direction"], body["objective"], body["unit"]) == ("lower", None, "分")
    for fixed in ({"code": "CS-NEW"}, {"period": "quarter"}, {"source": "complaint_count"}):
        r = client.patch("/api/v1/kpis/CS-SAT", json=fixed, headers={**officer, **ZH})
        assert r.status_code == 400
        assert "不可修改" in r.get_json()["error"]["message"]
    r = client.patch(
        "/api/v1/kpis/CS-SAT", json={"code": "cs-sat", "period": "month"}, headers=officer
    )
    assert r.status_code == 200  # the same code and period: nothing to refuse
    r = client.patch("/api/v1/kpis/CS-SAT", json={"params": {"step": "x"}}, headers=officer)
    assert r.status_code == 400
    assert client.patch("/api/v1/kpis/NOPE", json={}, headers=officer).status_code == 404
    assert len(_events(kpi.ref, "kpi_updated")) == 2


def test_new_params_leave_frozen_values_as_they_were(app):
    """A computed KPI (complaints received of one category): last month closed with 2
    SVC complaints, this month 1 SVC and 2 FAC. Its category changed to FAC: the closed
    month still reads 2, this month now 2 (was 1). A category that does not exist is a 400
    (clean_params), nothing changed."""
    org = make_complaint_org()
    kpi = services.create_kpi(
        db.session,
        org.officer,
        code="CMP-N",
        name="投诉数",
        direction="lower",
        period_kind="month",
        source="complaint_count",
        params={"category": "SVC"},
    )
    db.session.commit()
    last = P.containing(local_today(), "month").previous()
    for day, category in ((3, "SVC"), (4, "SVC"), (5, "FAC")):
        take(org, category=category, at=local(last.year, last.start.month, day, 10, 0))
    services.close_period(db.session, org.officer, str(last))
    db.session.commit()
    current = [take(org, category=c) for c in ("SVC", "FAC", "FAC")]
    this = P.containing(local_date(current[0].received_at), "month")
    (closed, open_) = services.values(db.session, kpi, [last, this])
    assert (closed.value, closed.frozen, open_.value) == (2, True, 1)
    with pytest.raises(ValidationFailed):
        services.update_kpi(
            db.session,
            org.officer,
            kpi,
            name=kpi.name,
            name_en=None,
            unit="",
            direction="lower",
            department=None,
            objective=None,
            breach_periods=3,
            params={"category": "NOPE"},
        )
    db.session.rollback()
    services.update_kpi(
        db.session,
        org.officer,
        kpi,
        name=kpi.name,
        name_en=None,
        unit="",
        direction="lower",
        department=None,
        objective=None,
        breach_periods=3,
        params={"category": "fac"},
    )
    db.session.commit()
    assert db.session.get(Kpi, kpi.id).params == {"category": "FAC"}
    (closed, open_) = services.values(db.session, kpi, [last, this])
    assert (closed.value, closed.frozen, open_.value) == (2, True, 2)
    stored = db.session.scalar(select(KpiValue).where(KpiValue.kpi_id == kpi.id))
    assert (stored.period, stored.value) == (str(last), 2)
    (event,) = _events(kpi.ref, "kpi_updated")
    assert _payload(event.before) == {"params": {"category": "SVC"}}
    assert _payload(event.after) == {"params": {"category": "FAC"}}


def test_inactive_kpis_leave_the_dashboard_the_close_and_the_sweep(
    app, client, login_as, api_token
):
    """A deactivated KPI (reason audited) is off the dashboard (the "show inactive" toggle
    shows it greyed, not counted), gets no value when a period is closed, is not swept
    for its run below target, refuses new values and NCs (409), and its page still shows
    its history with an "inactive" badge. Reactivated: back on the dashboard."""
    from app.cli import scheduled_work

    org = make_org()
    active = _entered(org, "CS-ON")
    kpi = _entered(org, "CS-OFF")
    today = local_today()
    last = P.containing(today, "month").previous()
    for k in (active, kpi):
        services.set_targets(db.session, org.officer, k, [{"period": str(last.year), "target": 90}])
        for period in P.last_n(last, 3):
            services.enter_value(db.session, org.officer, k, str(period), 70)
    db.session.commit()
    login_as("officer")
    r = client.form_post("/kpis/CS-OFF/deactivate", {"reason": ""})
    assert r.status_code == 400 and db.session.get(Kpi, kpi.id).is_active
    r = client.form_post("/kpis/CS-OFF/deactivate", {"reason": "指标口径由集团统一"})
    assert r.status_code == 302
    (event,) = _events(kpi.ref, "kpi_deactivated")
    assert event.reason == "指标口径由集团统一"
    assert client.form_post("/kpis/CS-OFF/deactivate", {"reason": "x"}).status_code == 409
    assert len(_events(kpi.ref, "kpi_deactivated")) == 1

    html = client.get("/kpis", headers=ZH).get_data(as_text=True)
    assert 'data-code="CS-ON"' in html and 'data-code="CS-OFF"' not in html
    counts = re.search(r'id="kpi-counts">(.*?)</p>', html, re.S).group(1)
    html = client.get("/kpis?inactive=1", headers=ZH).get_data(as_text=True)
    assert re.search(r'kpi-inactive[^"]*" data-code="CS-OFF"[^>]*data-inactive="1"', html)
    assert 'data-code="CS-ON"' in html and "停用" in html
    assert re.search(r'id="kpi-counts">(.*?)</p>', html, re.S).group(1) == counts

    page = client.get("/kpis/CS-OFF", headers=ZH).get_data(as_text=True)
    assert 'id="kpi-inactive"' in page and 'id="reactivate-form"' in page
    assert f'data-period="{last}"' in page and "70%" in page
    assert 'id="value-form"' not in page and 'id="kpi-breach"' not in page
    # the amendment's reason and the reactivation's reason: two fields, two ids
    assert page.count('id="reason"') == 1 and page.count('id="state-reason"') == 1

    with pytest.raises(Conflict):
        services.enter_value(db.session, org.officer, db.session.get(Kpi, kpi.id), str(last), 1)
    db.session.rollback()
    officer = api_token("officer")
    r = client.put(f"/api/v1/kpis/CS-OFF/values/{today:%Y-%m}", json={"value": 1}, headers=officer)
    assert r.status_code == 409
    with pytest.raises(Conflict):
        services.raise_breach_nc(db.session, org.officer, db.session.get(Kpi, kpi.id), last)
    db.session.rollback()

    report = scheduled_work(db.session, today)
    db.session.commit()
    assert report.kpi_runs == [f"CS-ON {last}"]
    # a month without values: both frozen as "no data" (an inactive KPI is not computed,
    # and its value can be amended with a signature once it is reactivated)
    empty = last.previous().previous().previous()
    services.close_period(db.session, org.officer, str(empty))
    db.session.commit()
    rows = db.session.scalars(select(KpiValue).where(KpiValue.period == str(empty))).all()
    assert {(v.kpi_id, v.value, v.frozen) for v in rows} == {
        (active.id, None, True),
        (kpi.id, None, True),
    }
    # a month with values: the inactive KPI's entered value is frozen as it was given
    entered = last.previous().previous()
    services.close_period(db.session, org.officer, str(entered))
    db.session.commit()
    rows = db.session.scalars(select(KpiValue).where(KpiValue.period == str(entered))).all()
    assert {(v.kpi_id, v.value, v.frozen) for v in rows} == {
        (active.id, 70, True),
        (kpi.id, 70, True),
    }

    assert client.get("/api/v1/kpis", headers=officer).get_json()["total"] == 1
    items = client.get("/api/v1/kpis?inactive=true", headers=officer).get_json()["items"]
    assert {i["code"]: i["active"] for i in items} == {"CS-ON": True, "CS-OFF": False}

    r = client.form_post("/kpis/CS-OFF/reactivate", {"reason": "恢复考核"})
    assert r.status_code == 302
    assert 'data-code="CS-OFF"' in client.get("/kpis").get_data(as_text=True)
    assert len(_events(kpi.ref, "kpi_reactivated")) == 1
    # nothing was written for the refused value and NC
    assert (
        db.session.scalar(
            select(func.count(Event.id)).where(
                Event.object_ref == kpi.ref, Event.action == "kpi_value_entered"
            )
        )
        == 3
    )


def test_kpi_deactivation_api_and_csrf(app, client, login_as, api_token):
    """The API deactivates with a reason (400 without, 403 for staff, 409 twice) and
    reactivates; the page forms refuse a post without the CSRF token."""
    org = make_org()
    _entered(org)
    officer = api_token("officer")
    staff = api_token("reporter")
    url = "/api/v1/kpis/CS-SAT"
    assert client.post(f"{url}/deactivate", json={"reason": "x"}, headers=staff).status_code == 403
    assert client.post(f"{url}/deactivate", json={}, headers=officer).status_code == 400
    r = client.post(f"{url}/deactivate", json={"reason": "停止考核"}, headers=officer)
    assert r.status_code == 200 and r.get_json()["active"] is False
    r = client.post(f"{url}/deactivate", json={"reason": "x"}, headers={**officer, **ZH})
    assert r.status_code == 409 and "已停用" in r.get_json()["error"]["message"]
    assert client.get(url, headers=staff).get_json()["active"] is False
    assert (
        client.post(f"{url}/reactivate", json={"reason": "y"}, headers=officer).status_code == 200
    )
    assert (
        client.post(f"{url}/reactivate", json={"reason": "y"}, headers=officer).status_code == 409
    )
    r = client.post("/api/v1/kpis/NOPE/deactivate", json={"reason": "x"}, headers=officer)
    assert r.status_code == 404
    login_as("officer")
    objective = _objective(org)
    for path in (
        "/kpis/CS-SAT/deactivate",
        "/kpis/CS-SAT/edit",
        f"/kpis/objectives/{objective.id}/withdraw",
        f"/kpis/objectives/{objective.id}/edit",
    ):
        assert client.post(path, data={"reason": "无令牌"}).status_code == 400, path
    assert db.session.scalar(select(Kpi.is_active).where(Kpi.code == "CS-SAT")) is True
    assert len(_events("kpi:CS-SAT", "kpi_deactivated")) == 1


def test_an_inactive_computed_kpi_is_not_computed_at_close(app):
    """Two computed KPIs counting last month's complaints (2), one deactivated: closing the
    month stores 2 for the active one and "no data" for the inactive one (frozen, not
    computed). Reactivated, its closed month is corrected only with a signed amendment."""
    from tests.conftest import PASSWORD

    org = make_complaint_org()
    kpis = [
        services.create_kpi(
            db.session,
            org.officer,
            code=code,
            name="投诉数",
            direction="lower",
            period_kind="month",
            source="complaint_count",
        )
        for code in ("CMP-ON", "CMP-OFF")
    ]
    db.session.commit()
    last = P.containing(local_today(), "month").previous()
    for day in (3, 4):
        take(org, at=local(last.year, last.start.month, day, 10, 0))
    services.deactivate_kpi(db.session, org.officer, kpis[1], reason="并入集团口径")
    services.close_period(db.session, org.officer, str(last))
    db.session.commit()
    on, off = (services.values(db.session, k, [last])[0] for k in kpis)
    assert (on.value, on.frozen, off.value, off.frozen) == (2, True, None, True)
    assert services.compute(db.session, kpis[1], last) == 2  # what it would have been
    services.reactivate_kpi(db.session, org.officer, kpis[1], reason="恢复考核")
    services.amend_value(
        db.session,
        org.officer,
        kpis[1],
        str(last),
        2,
        reason="停用期间未计算，按投诉台账补录",
        password=PASSWORD,
    )
    db.session.commit()
    assert services.values(db.session, kpis[1], [last])[0].value == 2
