"""Nonconformities: the gated steps, signatures, the verifier rule, reopening, data rules
and the sweep (docs/adr/0044)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit_trail.models import Event
from app.capa import services
from app.capa.models import NcVerification
from app.errors import InvalidTransition, PermissionDenied, SignatureFailed, ValidationFailed
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.signatures.models import Signature
from tests.capa_helpers import make_org, plan_body, walk
from tests.conftest import PASSWORD


@pytest.fixture
def org(app):
    return make_org()


def _events(nc) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.action).where(Event.object_ref == nc.ref).order_by(Event.seq)
        )
    )


def test_report_numbers_and_walks_to_closed(org):
    """Does an NC get NC-yyyy-nnnn and walk every gated step to closed, audited?"""
    nc = walk(org, "verifying")
    assert nc.number == f"NC-{local_today().year}-0001"
    services.verify(
        db.session, org.officer, nc, effective=True, evidence="无投诉", password=PASSWORD
    )
    db.session.commit()
    assert nc.status == "closed" and nc.closed_at is not None
    assert _events(nc) == [
        "nc_reported",
        "nc_contained",
        "nc_analysed",
        "signed",
        "nc_action_planned",
        "nc_action_done",
        "nc_implemented",
        "nc_verifying",
        "signed",
        "nc_closed",
    ]


@pytest.mark.parametrize(
    ("status", "call", "fields"),
    [
        ("reported", lambda o, nc: services.contain(db.session, o.head, nc, text=" "), {"text"}),
        (
            "contained",
            lambda o, nc: services.analyse(
                db.session, o.head, nc, whys=[], categories=[], similar=[], similar_elsewhere="x"
            ),
            {"whys", "categories"},
        ),
        (
            "contained",
            lambda o, nc: services.analyse(
                db.session, o.head, nc, whys=["a"], categories=[], similar=[], similar_elsewhere=""
            ),
            {"similar_elsewhere"},
        ),
        (
            "analysed",
            lambda o, nc: services.approve_plan(
                db.session, o.head, nc, **{**plan_body(o), "actions": []}
            ),
            {"actions"},
        ),
        (
            "analysed",
            lambda o, nc: services.approve_plan(
                db.session, o.head, nc, **{**plan_body(o), "criterion": ""}
            ),
            {"effectiveness.criterion"},
        ),
        (
            "analysed",
            lambda o, nc: services.approve_plan(
                db.session, o.head, nc, **{**plan_body(o), "check_date": None}
            ),
            {"effectiveness.check_date"},
        ),
        (
            "analysed",
            lambda o, nc: services.approve_plan(
                db.session,
                o.head,
                nc,
                **{**plan_body(o), "actions": [{**plan_body(o)["actions"][0], "owner": ""}]},
            ),
            {"actions.0.owner"},
        ),
        (
            "analysed",
            lambda o, nc: services.approve_plan(
                db.session,
                o.head,
                nc,
                **plan_body(o, rule={"kind": "kpi_threshold", "days": 30}),
            ),
            {"rule.kpi"},  # the KPI rule (supplied by app.kpis) names its KPI
        ),
        (
            "action_planned",
            lambda o, nc: services.complete_action(db.session, o.owner, nc.actions[0], evidence=""),
            {"evidence"},
        ),
    ],
)
def test_each_gate_names_what_is_missing(org, status, call, fields):
    """Does each gate refuse with a 400 naming the missing field, leaving the status?"""
    nc = walk(org, status)
    with pytest.raises(ValidationFailed) as err:
        call(org, nc)
    assert err.value.status == 400
    assert fields <= set(err.value.fields)
    db.session.rollback()
    assert nc.status == status


def test_a_step_out_of_order_is_a_409(org):
    """Is a step out of order (analysis before containment, a plan twice) a 409?"""
    nc = walk(org, "reported")
    with pytest.raises(InvalidTransition) as err:
        services.analyse(
            db.session, org.head, nc, whys=["a"], categories=[], similar=[], similar_elsewhere="b"
        )
    assert err.value.status == 409
    db.session.rollback()
    nc = walk(org, "action_planned")
    with pytest.raises(InvalidTransition):
        services.approve_plan(db.session, org.head, nc, **plan_body(org))


def test_closing_needs_every_action_done(org):
    """Can an NC with an open action reach implemented, verifying or closed? (No.)"""
    nc = walk(org, "action_planned")
    with pytest.raises(InvalidTransition):
        services.start_verification(db.session, nc, today=local_today() + timedelta(days=30))
    db.session.rollback()
    with pytest.raises(InvalidTransition):
        services.verify(
            db.session, org.officer, nc, effective=True, evidence="x", password=PASSWORD
        )
    db.session.rollback()
    assert nc.status == "action_planned" and nc.open_actions


def test_wrong_password_changes_nothing(org):
    """Does a wrong password at plan approval, verification or rejection change nothing?"""
    nc = walk(org, "analysed")
    with pytest.raises(SignatureFailed):
        services.approve_plan(db.session, org.head, nc, **{**plan_body(org), "password": "nope"})
    db.session.rollback()
    assert nc.status == "analysed" and nc.actions == [] and nc.plans == []
    nc2 = walk(org, "verifying")
    with pytest.raises(SignatureFailed):
        services.verify(db.session, org.officer, nc2, effective=True, evidence="x", password="no")
    db.session.rollback()
    assert nc2.status == "verifying" and nc2.verifications == []
    nc3 = walk(org, "reported")
    with pytest.raises(SignatureFailed):
        services.reject(db.session, org.officer, nc3, reason="不是不符合", password="no")
    db.session.rollback()
    assert nc3.status == "reported"
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1  # nc2's plan


def test_plan_is_approved_by_the_head_or_an_officer_only(org):
    """May a staff member of the department approve the plan? (No: 403.)"""
    nc = walk(org, "analysed")
    with pytest.raises(PermissionDenied):
        services.approve_plan(db.session, org.reporter, nc, **plan_body(org))
    db.session.rollback()
    services.approve_plan(db.session, org.officer, nc, **plan_body(org))
    assert nc.status == "action_planned"


def test_the_verifier_owns_no_action(org):
    """Is an action owner refused as verifier, even as department head?"""
    nc = walk(org, "analysed")
    body = plan_body(org)
    body["actions"][0]["owner"] = org.head.username
    services.approve_plan(db.session, org.officer, nc, **body)
    services.complete_action(db.session, org.head, nc.actions[0], evidence="做了")
    services.start_verification(db.session, nc, today=body["check_date"])
    db.session.commit()
    with pytest.raises(PermissionDenied) as err:
        services.verify(db.session, org.head, nc, effective=True, evidence="x", password=PASSWORD)
    assert "someone else" in str(err.value)
    db.session.rollback()
    assert nc.status == "verifying"
    services.verify(db.session, org.officer, nc, effective=True, evidence="x", password=PASSWORD)
    assert nc.status == "closed"


def test_a_failed_check_reopens_the_plan_and_keeps_history(org):
    """Does "not effective" reopen the plan for a new round, keeping the old one?"""
    nc = walk(org, "verifying")
    services.verify(
        db.session, org.officer, nc, effective=False, evidence="又有投诉", password=PASSWORD
    )
    db.session.commit()
    assert (nc.status, nc.round, nc.plan) == ("action_planned", 2, None)
    assert len(nc.plans) == 1 and nc.actions[0].status == "done"
    # the new round's plan, its action done, verified: closed, two verifications kept
    services.approve_plan(db.session, org.head, nc, **plan_body(org))
    assert nc.round == 2 and len(nc.current_actions) == 1
    services.complete_action(db.session, org.owner, nc.current_actions[0], evidence="再培训")
    services.start_verification(db.session, nc, today=local_today() + timedelta(days=10))
    services.verify(db.session, org.officer, nc, effective=True, evidence="好了", password=PASSWORD)
    db.session.commit()
    assert nc.status == "closed"
    assert [v.effective for v in db.session.scalars(select(NcVerification))] == [False, True]
    assert "nc_reopened" in _events(nc)


def test_a_closed_nc_is_immutable_but_amendable(org):
    """Does a closed NC refuse every step and link, yet take an amendment with a reason?"""
    nc = walk(org, "verifying")
    services.verify(db.session, org.officer, nc, effective=True, evidence="x", password=PASSWORD)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.contain(db.session, org.head, nc, text="x")
    db.session.rollback()
    with pytest.raises(InvalidTransition):
        services.add_link(db.session, org.head, nc, "QP-CS-001")
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.amend(db.session, org.head, nc, text="补充", reason="")
    db.session.rollback()
    services.amend(db.session, org.head, nc, text="补充说明", reason="笔误")
    db.session.commit()
    assert nc.status == "closed" and [a.text for a in nc.amendments] == ["补充说明"]


def test_reject_needs_an_officer_and_a_reason(org):
    """Is triage (rejection) the officer's, signed, with a reason?"""
    nc = walk(org, "reported")
    with pytest.raises(PermissionDenied):
        services.reject(db.session, org.head, nc, reason="no", password=PASSWORD)
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.reject(db.session, org.officer, nc, reason="", password=PASSWORD)
    db.session.rollback()
    services.reject(db.session, org.officer, nc, reason="不是不符合", password=PASSWORD)
    db.session.commit()
    assert nc.status == "rejected" and nc.rejection_reason == "不是不符合"


def test_numbers_are_found_without_the_prefix(org):
    """Do 2026-1 and nc-2026-0001 find NC-2026-0001?"""
    nc = walk(org, "reported")
    year = local_today().year
    for typed in (f"{year}-1", f"nc-{year}-0001", f"{year}-0001"):
        assert services.get_nc(db.session, typed) is nc


def _sweep(runner, day):
    result = runner.invoke(args=["sweep", "--today", day.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_sweep_evaluates_a_data_rule_and_a_repeat_nc_fails_it(org, runner):
    """Does `qdms sweep --today` on the check date move the NC to verifying and evaluate
    "no new NC of this department", failing it with the repeat NC as evidence?"""
    today = local_today()
    rule = {"kind": "no_new_nc", "department": "CS", "days": 30}
    nc = walk(org, "implemented", rule=rule)
    assert nc.status == "implemented"
    repeat = services.report(
        db.session, org.reporter, description="又一次态度差", department=org.cs
    )
    db.session.commit()
    output = _sweep(runner, today + timedelta(days=10))
    assert f"effectiveness check due: {nc.number}" in output
    db.session.expire_all()
    assert nc.status == "verifying"
    assert nc.check.outcome == "not_met"
    assert [e["number"] for e in nc.check.evidence] == [repeat.number]
    # the verifier cannot sign "effective" against the data, only reopen
    with pytest.raises(InvalidTransition):
        services.verify(
            db.session, org.officer, nc, effective=True, evidence="x", password=PASSWORD
        )
    db.session.rollback()
    services.verify(
        db.session, org.officer, nc, effective=False, evidence="重复", password=PASSWORD
    )
    db.session.commit()
    assert nc.status == "action_planned" and nc.round == 2


def test_sweep_data_rule_met_without_repeats(org, runner):
    """Is the rule met, with no evidence, when no NC of the department came in?"""
    rule = {"kind": "no_new_nc", "department": "CS", "days": 30}
    nc = walk(org, "implemented", rule=rule)
    _sweep(runner, local_today() + timedelta(days=10))
    db.session.expire_all()
    assert nc.status == "verifying" and nc.check.outcome == "met" and nc.check.evidence == []


def test_sweep_reminds_owners_escalates_and_reminds_the_verifier(org, runner):
    """Are owners reminded 3 days before due and when overdue, the head after 7 days
    overdue, and the verifier on the check date — each once?"""
    today = local_today()
    nc = walk(org, "action_planned")  # the action is due in 5 days, the check in 10

    def kinds(recipient):
        return sorted(
            db.session.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.recipient_id == recipient.id,
                    OutboxMessage.kind.like("nc_%"),
                )
            )
        )

    _sweep(runner, today + timedelta(days=1))
    assert kinds(org.owner) == []
    _sweep(runner, today + timedelta(days=2))
    _sweep(runner, today + timedelta(days=2))
    assert kinds(org.owner) == ["nc_action_due"]
    _sweep(runner, today + timedelta(days=6))
    assert kinds(org.owner) == ["nc_action_due", "nc_action_overdue"]
    assert kinds(org.head) == []
    _sweep(runner, today + timedelta(days=12))
    assert kinds(org.head) == ["nc_action_escalated"]
    services.complete_action(db.session, org.owner, nc.actions[0], evidence="done")
    db.session.commit()
    _sweep(runner, today + timedelta(days=12))
    db.session.expire_all()
    assert nc.status == "verifying"
    assert kinds(org.head) == ["nc_action_escalated", "nc_check_due"]  # the plan's approver


def test_record_value_rule(org, runner):
    """Does "no new record of type X with field Y = Z" find a matching record as evidence?"""
    from flask import current_app

    from app.records import services as records
    from app.storage import get_store

    rtype = records.create_type(
        db.session,
        org.officer,
        {
            "code": "REC-CS-01",
            "name": "投诉登记",
            "department": "CS",
            "fields": [{"name": "category", "label": "类别", "type": "text"}],
            "retention": {"years": 3},
        },
    )
    db.session.commit()
    rule = {
        "kind": "no_record_value",
        "record_type": "rec-cs-01",
        "field": "category",
        "value": "态度",
        "days": 30,
    }
    nc = walk(org, "implemented", rule=rule)
    store = get_store(current_app)
    rec = records.file_record(db.session, store, org.officer, rtype, {"category": "态度"})
    records.file_record(db.session, store, org.officer, rtype, {"category": "等候"})
    db.session.commit()
    _sweep(runner, local_today() + timedelta(days=10))
    db.session.expire_all()
    assert nc.check.outcome == "not_met"
    assert [e["number"] for e in nc.check.evidence] == [rec.number]
    with pytest.raises(ValidationFailed) as err:
        services.approve_plan(
            db.session,
            org.head,
            walk(org, "analysed"),
            **plan_body(org, rule={**rule, "field": "nope"}),
        )
    assert "rule.field" in err.value.fields
