"""Internal audits: planning, the checklist, findings opening NCs, gates and the report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit_trail.models import Event
from app.audits import services
from app.audits.models import Audit
from app.capa.models import NcLink
from app.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SignatureFailed,
    ValidationFailed,
)
from app.extensions import db, local_today
from app.notifications.models import OutboxMessage
from app.people import services as people
from tests.audit_helpers import PASSWORD, fill_all, make_org, make_records, new_audit, plan_nc, walk


@pytest.fixture
def org(app):
    return make_org()


def _events(a) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.action).where(Event.object_ref == a.ref).order_by(Event.seq)
        )
    )


def test_library_is_seeded_by_the_migration(org):
    """Does the migration seed ISO 9001 clauses 4.1–10.3 and the service topics, each with
    two or three questions in both languages?"""
    crit = list(db.session.scalars(services.criteria_stmt()))
    codes = [c.code for c in crit]
    assert codes[0] == "4.1" and "7.5.3" in codes and "10.3" in codes and "SVC-5" in codes
    assert all(2 <= len(c.questions) <= 3 for c in crit)
    assert all(q["zh"] and q["en"] for c in crit for q in c.questions)


def test_plan_numbers_generates_checklist_and_warns(org):
    """Does planning give AUD-yyyy-nnn, a checklist from the clauses' questions, and a
    warning (not an error) for an auditor of an audited department?"""
    a = new_audit(org)
    year = a.planned_start.year
    assert a.number == f"AUD-{year}-001" and a.status == "planned"
    assert [i.clause for i in a.items] == ["7.5.3"] * 3 + ["8.5"] * 3
    assert services.warnings_for(a) == []
    b = new_audit(org, departments=("QA",))
    assert b.number == f"AUD-{year}-002"
    assert [w["username"] for w in services.warnings_for(b)] == ["auditor"]
    assert _events(a) == ["audit_planned"]


def test_plan_refuses_unknown_clause_and_department(org):
    """Is an unknown clause or department a 400 naming the field, with nothing written?"""
    with pytest.raises(ValidationFailed) as err:
        new_audit(org, clauses=("99.9",))
    assert "clauses" in err.value.fields
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        new_audit(org, departments=("XX",))
    db.session.rollback()
    assert db.session.scalar(select(Audit.id)) is None


def test_checklist_editable_only_before_start(org):
    """Can items be added, edited, reordered and removed before the start, and not after?"""
    a = new_audit(org)
    item = services.add_item(db.session, org.auditor, a, clause="8.5", question="抽查交接班记录")
    services.edit_item(db.session, org.auditor, a, item, question="抽查两份交接班记录")
    order = [i.id for i in a.items][::-1]
    services.reorder(db.session, org.auditor, a, order)
    db.session.commit()
    assert [i.id for i in a.items] == order
    services.remove_item(db.session, org.auditor, a, a.items[0])
    db.session.commit()
    walk(org, a, "in_progress")
    with pytest.raises(InvalidTransition):
        services.add_item(db.session, org.auditor, a, clause="8.5", question="太晚了")
    db.session.rollback()


def test_report_refused_while_an_item_is_to_do(org):
    """Is `report` refused (409) while a checklist item is still to do, the audit unchanged?"""
    a = walk(org, new_audit(org), "in_progress")
    services.record_item(db.session, org.auditor, a, a.items[0], verdict="conforming")
    db.session.commit()
    with pytest.raises(InvalidTransition) as err:
        services.to_reporting(db.session, org.auditor, a)
    assert "5" in str(err.value)
    db.session.rollback()
    db.session.expire_all()
    assert a.status == "in_progress"
    fill_all(org, a)
    services.to_reporting(db.session, org.auditor, a)
    assert a.status == "reporting"


def test_progress_is_apart_from_verdict(org):
    """Does an item keep its progress apart from its verdict (done needs a verdict; a
    verdict may be given and the item reopened as to do)?"""
    a = walk(org, new_audit(org), "in_progress")
    item = a.items[0]
    with pytest.raises(ValidationFailed):
        services.record_item(db.session, org.auditor, a, item, done=True)
    db.session.rollback()
    services.record_item(db.session, org.auditor, a, item, verdict="observation", done=False)
    db.session.commit()
    assert item.verdict == "observation" and item.done is False
    assert a.findings == []


def test_independence_refused_at_start_without_justification(org):
    """Is an auditor of an audited department refused at `start` until an officer records
    a justification, audited?"""
    a = new_audit(org, departments=("QA",))
    services.prepare(db.session, org.auditor, a)
    db.session.commit()
    with pytest.raises(InvalidTransition) as err:
        services.start(db.session, org.auditor, a)
    assert "Auditor" in str(err.value)
    db.session.rollback()
    db.session.expire_all()
    assert a.status == "prepared"
    with pytest.raises(PermissionDenied):
        services.justify(db.session, org.auditor, a, text="只有一名审核员")
    db.session.rollback()
    services.justify(db.session, org.officer, a, text="只有一名审核员，且不审核自己的工作")
    services.start(db.session, org.auditor, a)
    db.session.commit()
    assert a.status == "in_progress"
    assert _events(a)[-2:] == ["audit_justified", "audit_started"]


def test_links_must_exist_and_be_visible(org):
    """Is linking a record that does not exist, or that the team member may not see, a
    400 with nothing written; and a visible one kept?"""
    recs = make_records(org)
    it = people.create_department(db.session, None, "IT", "信息部")
    member = people.create_user(
        db.session,
        None,
        username="member",
        full_name="Member",
        password=PASSWORD,
        roles=["staff"],
        department=it,
    )
    db.session.commit()
    a = walk(org, new_audit(org, team=("member",)), "in_progress")
    item = a.items[0]
    for bad in ("record:REC-NOPE-1", f"record:{recs['QA']}", "document:QP-XX-404", "junk"):
        with pytest.raises(ValidationFailed) as err:
            services.record_item(
                db.session, member, a, item, verdict="conforming", evidence="看了", links=[bad]
            )
        assert "links" in err.value.fields
        db.session.rollback()
        db.session.expire_all()
        assert item.verdict is None and item.links == [] and item.evidence is None
    services.record_item(
        db.session,
        member,
        a,
        item,
        verdict="conforming",
        evidence="看了",
        links=[f"record:{recs['CS'].lower()}"],
    )
    db.session.commit()
    assert item.links == [f"record:{recs['CS']}"]


def test_major_nc_opens_a_linked_nonconformity(org):
    """Does a major NC verdict raise a finding and open an NC (source audit, major) of the
    audited department, linked both ways, in one transaction?"""
    recs = make_records(org)
    a = walk(org, new_audit(org), "in_progress")
    result = services.record_item(
        db.session,
        org.auditor,
        a,
        a.items[0],
        verdict="major_nc",
        evidence="现场使用作废版本 QP-CS-001 A/0",
        links=[f"record:{recs['CS']}"],
    )
    db.session.commit()
    f = result.finding
    assert f.grade == "major_nc" and f.status == "open" and f.label == f"{a.number}-F01"
    nc = f.nc
    assert (nc.source, nc.severity, nc.department.code) == ("audit", "major", "CS")
    refs = {
        link.object_ref for link in db.session.scalars(select(NcLink).where(NcLink.nc_id == nc.id))
    }
    assert refs == {a.ref, f"record:{recs['CS']}"}
    assert "audit_finding_raised" in _events(a)
    # a verdict with a finding stays
    with pytest.raises(InvalidTransition):
        services.record_item(db.session, org.auditor, a, a.items[0], verdict="conforming")
    db.session.rollback()


def test_nc_verdict_needs_evidence(org):
    """Is an NC verdict without evidence a 400 with no finding and no NC written?"""
    a = walk(org, new_audit(org), "in_progress")
    with pytest.raises(ValidationFailed):
        services.record_item(db.session, org.auditor, a, a.items[0], verdict="minor_nc")
    db.session.rollback()
    db.session.expire_all()
    assert a.findings == [] and a.items[0].verdict is None


def test_response_dispute_and_lead_decision(org):
    """Does the auditee head accept or dispute (with a reason), only once, and the lead
    auditor confirm or withdraw a disputed finding?"""
    a = walk(org, new_audit(org), "in_progress")
    f1 = services.record_item(
        db.session, org.auditor, a, a.items[0], verdict="minor_nc", evidence="e1"
    ).finding
    f2 = services.record_item(
        db.session, org.auditor, a, a.items[1], verdict="major_nc", evidence="e2"
    ).finding
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.respond(db.session, org.reporter, a, f1, decision="accept", reason=None)
    with pytest.raises(ValidationFailed):
        services.respond(db.session, org.head, a, f2, decision="dispute", reason="")
    db.session.rollback()
    services.respond(db.session, org.head, a, f1, decision="accept", reason=None)
    services.respond(db.session, org.head, a, f2, decision="dispute", reason="该版本为有效版本")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.respond(db.session, org.head, a, f1, decision="dispute", reason="改主意")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        services.resolve(db.session, org.officer, a, f2, decision="withdraw", reason="x")
    db.session.rollback()
    services.resolve(db.session, org.auditor, a, f2, decision="withdraw", reason="核实为有效版本")
    db.session.commit()
    assert (f1.status, f2.status) == ("accepted", "withdrawn")


def test_sign_report_and_close_gate(org):
    """Is the report signed by the lead auditor only (wrong password writes nothing), issued
    to the auditee head, top management and officers, and does `close` wait for every
    raised NC's plan?"""
    gm = people.create_user(
        db.session,
        None,
        username="gm",
        full_name="总经理",
        password=PASSWORD,
        roles=["management"],
        department=org.qa,
    )
    a = walk(org, new_audit(org), "in_progress")
    f = services.record_item(
        db.session, org.auditor, a, a.items[0], verdict="minor_nc", evidence="缺少交接记录"
    ).finding
    fill_all(org, a)
    services.to_reporting(db.session, org.auditor, a, conclusions="基本符合")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.close(db.session, org.auditor, a)  # not signed
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        services.sign_report(db.session, org.officer, a, password=PASSWORD)
    with pytest.raises(SignatureFailed):
        services.sign_report(db.session, org.auditor, a, password="wrong")
    db.session.rollback()
    db.session.expire_all()
    assert a.report_signature_id is None
    services.sign_report(db.session, org.auditor, a, password=PASSWORD)
    db.session.commit()
    to = set(
        db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.kind == "audit_report")
        )
    )
    assert {org.head.email, org.officer.email, gm.email} <= to  # auditee, officer, top management
    with pytest.raises(InvalidTransition) as err:
        services.close(db.session, org.auditor, a)
    assert f.nc.number in str(err.value)
    db.session.rollback()
    plan_nc(org, f.nc)
    services.close(db.session, org.auditor, a)
    db.session.commit()
    assert a.status == "closed" and a.closed_at is not None


def test_clone_as_next_years_baseline(org):
    """Does a clone keep scope, criteria, team and questions with verdicts and evidence
    empty, numbered in the new year?"""
    a = walk(org, new_audit(org), "reporting")
    start = a.planned_start.replace(year=a.planned_start.year + 1)
    b = services.clone(db.session, org.officer, a, planned_start=start, planned_end=None)
    db.session.commit()
    assert b.number == f"AUD-{start.year}-001" and b.status == "planned"
    assert [i.question for i in b.items] == [i.question for i in a.items]
    assert all(i.verdict is None and not i.done and i.evidence is None for i in b.items)
    assert [c.code for c in b.criteria] == [c.code for c in a.criteria]


def test_cancel_and_visibility(org):
    """Is cancelling reasoned and final, and does an outsider get 404 for the audit?"""
    a = new_audit(org)
    with pytest.raises(NotFound):
        services.visible_audit(db.session, org.outsider, a.number)
    assert services.visible_audit(db.session, org.reporter, a.number.lower()) is not None
    services.cancel(db.session, org.officer, a, reason="部门重组")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.prepare(db.session, org.auditor, a)
    db.session.rollback()


def test_import_criteria_all_or_nothing(org):
    """Does a CSV/JSON import add criteria, and a bad row name its line with nothing
    written?"""
    good = "code,title_zh,title_en,questions\nC-1,服务规范,Service rules,问一|问二\n"
    out = services.import_criteria(
        db.session, org.officer, filename="c.csv", data=good.encode(), standard="客户规范"
    )
    assert out == {"standard": "客户规范", "added": 1, "updated": 0}
    db.session.commit()
    bad = b'[{"code": "J-1", "title_zh": "a"}, {"code": "", "title_zh": "b"}]'
    with pytest.raises(ValidationFailed) as err:
        services.import_criteria(
            db.session, org.officer, filename="c.json", data=bad, standard="JSON 规范"
        )
    assert "Line 2" in str(err.value)
    db.session.rollback()
    assert services.standards(db.session) == ["ISO 9001:2015", "客户规范"]


def test_programme_coverage(org):
    """Does the programme put each audit under its department and month, and flag the
    departments and clauses no audit covers?"""
    a = new_audit(org, start=local_today().replace(month=3, day=10))
    prog = services.programme(db.session, a.year, True)
    assert prog["coverage"]["CS"] == {3: [a.number]}
    assert [d.code for d in prog["uncovered_departments"]] == ["QA"]
    uncovered = [c.code for c in prog["uncovered_clauses"]]
    assert "7.5.3" not in uncovered and "4.1" in uncovered


def test_sweep_reminds_lead_auditor(org, runner):
    """Does `qdms sweep` remind the lead auditor of an audit starting within 7 days and of
    a report unsigned 14 days after the end, once a day?"""
    start = local_today() + timedelta(days=20)
    a = new_audit(org, start=start)
    b = walk(org, new_audit(org, start=start), "in_progress")

    def kinds(day):
        result = runner.invoke(args=["sweep", "--today", day.isoformat()])
        assert result.exit_code == 0, result.output
        return sorted(
            db.session.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.to_address == org.auditor.email,
                    OutboxMessage.kind.in_(("audit_starting", "audit_report_unsigned")),
                )
            )
        )

    assert kinds(start - timedelta(days=10)) == []
    assert kinds(start - timedelta(days=5)) == ["audit_starting"]
    assert kinds(start - timedelta(days=5)) == ["audit_starting"]  # once
    assert a.planned_end == b.planned_end
    late = b.planned_end + timedelta(days=14)
    assert kinds(late) == ["audit_report_unsigned", "audit_starting"]


def test_criteria_import_from_the_command_line(org, runner, tmp_path):
    """Does `qdms criteria import` add criteria, and a bad row exit 1 naming its line with
    nothing written?"""
    bad = tmp_path / "bad.csv"
    bad.write_text("code,title_zh\nA-1,甲\n,乙\n", encoding="utf-8")
    result = runner.invoke(args=["criteria", "import", str(bad), "--standard", "客户规范"])
    assert result.exit_code == 1 and "Line 3" in result.output
    assert services.standards(db.session) == ["ISO 9001:2015"]
    good = tmp_path / "good.json"
    good.write_text('[{"code": "A-1", "title_zh": "甲", "questions": ["问一"]}]', encoding="utf-8")
    result = runner.invoke(args=["criteria", "import", str(good), "--standard", "客户规范"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output


def test_priority_counts_recent_document_changes(org, make_document):
    """Does a department's priority count its documents' revisions that took effect in the
    last twelve months (9.2.2a "changes affecting the organisation"), as a reason, and
    stop counting them a year later?"""
    before = services.priorities(db.session)["CS"]
    make_document(department="CS", effective=True)
    after = services.priorities(db.session)["CS"]
    assert after["document_changes"] == before["document_changes"] + 1
    assert after["score"] == before["score"] + 1
    later = services.priorities(db.session, today=local_today() + timedelta(days=400))["CS"]
    assert later["document_changes"] == 0


def test_officer_edits_and_adds_a_single_criterion(org):
    """Can the officer edit one criterion (titles, questions, source document; the code
    stays; audited with before and after) and add one, with the import's rules — a
    missing title or a second criterion of the same code is a 400 and writes nothing?"""
    crit = next(c for c in db.session.scalars(services.criteria_stmt()) if c.code == "8.5")
    planned = new_audit(org, clauses=("8.5",))
    questions_before = [i.question for i in planned.items]
    services.save_criterion(
        db.session,
        org.officer,
        criterion=crit,
        standard="",
        values={"code": "99", "questions": [{"zh": "抽查两份交接班记录", "en": "Sample two"}]},
    )
    db.session.commit()
    assert crit.code == "8.5" and crit.title_zh  # the code and the untouched title stay
    assert crit.questions == [{"zh": "抽查两份交接班记录", "en": "Sample two"}]
    assert [i.question for i in planned.items] == questions_before
    event = db.session.scalars(
        select(Event).where(Event.action == "criterion_changed").order_by(Event.seq.desc())
    ).first()
    assert event.object_ref.endswith(":8.5") and event.before and event.after

    added = services.save_criterion(
        db.session,
        org.officer,
        criterion=None,
        standard="服务规范",
        values={"code": "SV-1", "title_zh": "热线接通率", "questions": ["接通率如何统计？"]},
    )
    db.session.commit()
    assert (added.standard, added.code, added.title_en) == ("服务规范", "SV-1", "热线接通率")
    for values in ({"code": "SV-1", "title_zh": "重复"}, {"code": "SV-2", "title_zh": ""}):
        with pytest.raises(ValidationFailed):
            services.save_criterion(
                db.session, org.officer, criterion=None, standard="服务规范", values=values
            )
        db.session.rollback()
    codes = [c.code for c in db.session.scalars(services.criteria_stmt("服务规范"))]
    assert codes == ["SV-1"]
