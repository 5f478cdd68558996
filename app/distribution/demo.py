"""The demo organisation's distribution: issued documents, controlled copies with and
without receipts, an open recall, and read-and-understood tasks in every state.

Everything goes through the services as the people would do it in the UI: the quality
officer (``officer``) issues and records returns, holders sign receipts and people sign
"read and understood" with the demo password, so copy numbers, signatures and the audit
trail are real.

- ``QM-QA-001`` 质量手册 B/0 on paper to the general manager personally, to CS (2 copies),
  OM (2) and MK (1) and to the front desk 客服中心前台 (custodian ``staff``); electronically
  to QA. Some receipts signed, some still awaited.
- ``QP-QA-001`` 文件控制程序 A/1 electronically to every department, to be read within 14
  days of an issue six weeks ago: most signed, ``author``, ``om_tech`` and ``mk_staff``
  overdue; one paper master copy to QA.
- ``QP-CS-001`` 顾客投诉处理与服务补救程序 A/1 on paper to CS (3 copies) and electronically
  to CS and to ``mk_head`` by name, due in nine days: ``cs_head`` has signed, the others are
  open.
- ``WI-CS-001`` 客服热线接听作业指导书 A/0 to the hotline seats 热线座席区 (2 paper copies,
  custodian ``cs_head``) and electronically to CS with read-and-sign asked for.
- ``SP-CS-001`` 服务承诺标准 A/0 on paper at the front desk; its approved A/1 becomes
  effective in ten days, and ``qdms sweep`` then opens the recall.
- ``WI-OM-001`` 设备巡检作业指导书: A/0 issued to OM (2 paper copies, both signed for, and
  electronically); then A/1 (a real revision through review and approval) supersedes it,
  so both paper copies are recalled, one is handed back and destroyed, one is outstanding;
  ``om_tech``'s unsigned A/0 task is superseded and A/1 goes to OM by itself. A/1's two new
  paper copies await receipt.
- A customer-service agent who has left (``cs_former``, deactivated): her open tasks are
  cancelled.

``staff`` has two open tasks (QP-CS-001, WI-CS-001) and one done (QP-QA-001).
Idempotent: nothing is done when any issue exists.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import DEMO_PASSWORD
from app.demo_documents import (
    COMPLAINTS,
    DOCUMENT_CONTROL,
    HOTLINE,
    INSPECTION,
    QUALITY_MANUAL,
    SERVICE_COMMITMENT,
    Step,
    _apply,
    _find,
    _play,
)
from app.distribution import services
from app.distribution.models import Acknowledgement, ControlledCopy, DistributionLine, Issue
from app.distribution.reminders import mark_overdue
from app.documents.services import effective_revision, open_revision
from app.extensions import local_today
from app.people import services as people
from app.people.models import Department, User
from app.storage import FileStore, get_store

FRONT_DESK = "客服中心前台 Front desk"
HOTLINE_SEATS = "热线座席区 Hotline seats"

LEAVER = {
    "username": "cs_former",
    "full_name": "马丽 Ma Li",
    "department": "CS",
    "roles": ["staff"],
}

# who has signed the document control procedure; author, om_tech and mk_staff are overdue
DOCUMENT_CONTROL_SIGNED = (
    "officer",
    "approver",
    "auditor",
    "gm",
    "admin",
    "cs_head",
    "staff",
    "om_head",
    "mk_head",
)

INSPECTION_A1 = Step(
    summary="配电柜接点测温改用红外测温仪，增加相间温差判定标准",
    reason="配电柜接点过热缺陷复盘：接触式测温漏检一处接点，纠正措施要求改用红外测温",
    author="officer",
    reviewers=("om_head",),
    approvers=("approver",),
    edits=(
        ("领取巡检路线卡、测温仪和万用表", "领取巡检路线卡、红外测温仪和万用表"),
        ("不高于 70 ℃", "不高于 70 ℃，相间温差不大于 10 K"),
    ),
)


def _issue(session, officer, revision, entries, added, **kwargs) -> list[ControlledCopy]:
    """Issue ``revision`` to ``entries`` (as the issue form sends them); its new copies."""
    record = services.issue(
        session,
        officer,
        revision,
        distribution=services.parse_distribution(session, entries),
        **kwargs,
    )
    copies = session.scalars(
        select(ControlledCopy)
        .join(ControlledCopy.line)
        .where(DistributionLine.issue_id == record.id)
        .order_by(ControlledCopy.seq)
    ).all()
    added.append(
        f"issue {revision.document.number} {revision.label}: "
        + ", ".join(c.copy_no for c in copies)
    )
    return list(copies)


def _paper(copies: list[ControlledCopy], holder: str) -> list[ControlledCopy]:
    """The paper copies held by ``holder`` (a department code, a username or a location)."""
    out = []
    for copy in copies:
        line = copy.line
        key = (
            line.department.code
            if line.department
            else line.user.username
            if line.user
            else line.location
        )
        if copy.medium == "paper" and key == holder:
            out.append(copy)
    return out


def _receive(session, copies: list[ControlledCopy], signer: User) -> None:
    for copy in copies:
        services.sign_receipt(session, signer, copy, password=DEMO_PASSWORD)


def _acknowledge(session, revision, users: list[User]) -> None:
    for user in users:
        ack = session.scalar(
            select(Acknowledgement).where(
                Acknowledgement.revision_id == revision.id,
                Acknowledgement.user_id == user.id,
                Acknowledgement.status.in_(("open", "overdue")),
            )
        )
        if ack is not None:
            services.sign_acknowledgement(session, user, ack, password=DEMO_PASSWORD)


def _leaver(session: Session, departments: dict[str, Department], added: list[str]) -> User:
    user = session.scalar(select(User).where(User.username == LEAVER["username"]))
    if user is None:
        user = people.create_user(
            session,
            None,
            username=LEAVER["username"],
            full_name=LEAVER["full_name"],
            password=DEMO_PASSWORD,
            roles=LEAVER["roles"],
            department=departments[LEAVER["department"]],
            email=f"{LEAVER['username']}@demo.qdms.example",
            language="zh_CN",
        )
        added.append(f"user {user.username}")
    return user


def seed(
    session: Session, store: FileStore | None = None, *, today: date | None = None
) -> list[str]:
    """Issue the demo documents and play their copies and tasks through; return what was
    added. Does nothing when any issue exists, or without the demo organisation and its
    documents in the state ``app.demo_documents`` leaves them in."""
    if session.scalar(select(Issue.id).limit(1)) is not None:
        return []
    today = today or local_today()
    users = {u.username: u for u in session.scalars(select(User).where(User.is_active))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    needed = {"officer", "admin", "approver", "staff", "author", "cs_head", "om_head"}
    needed |= {"om_tech", "mk_head", "mk_staff", "gm", "auditor"}
    if not needed <= users.keys() or not {"GM", "QA", "CS", "OM", "MK"} <= departments.keys():
        return []
    docs = {
        spec.key: _find(session, spec.type_code, spec.title)
        for spec in (
            QUALITY_MANUAL,
            DOCUMENT_CONTROL,
            COMPLAINTS,
            HOTLINE,
            SERVICE_COMMITMENT,
            INSPECTION,
        )
    }
    current = {key: doc and effective_revision(doc) for key, doc in docs.items()}
    if None in current.values() or open_revision(docs[INSPECTION.key]) is not None:
        return []
    if store is None:
        from flask import current_app

        store = get_store(current_app)
    u = users
    officer = u["officer"]
    added: list[str] = []
    leaver = _leaver(session, departments, added)

    # The quality manual: paper to the holders who work from it, electronic for QA.
    manual = _issue(
        session,
        officer,
        current[QUALITY_MANUAL.key],
        [
            {"user": "gm", "medium": "paper", "copies": 1},
            {"department": "CS", "medium": "paper", "copies": 2},
            {"department": "OM", "medium": "paper", "copies": 2},
            {"department": "MK", "medium": "paper", "copies": 1},
            {"location": FRONT_DESK, "custodian": "staff", "medium": "paper", "copies": 1},
            {"department": "QA", "medium": "electronic"},
        ],
        added,
        note="质量手册 B/0（按 GB/T 19001-2016 换版）发放",
    )
    _receive(session, _paper(manual, "gm"), u["gm"])
    _receive(session, _paper(manual, "CS")[:1], u["cs_head"])
    _receive(session, _paper(manual, "OM")[:1], u["om_tech"])
    _receive(session, _paper(manual, FRONT_DESK), u["staff"])

    # Document control: everyone reads and signs within 14 days of an issue six weeks ago.
    doc_control = current[DOCUMENT_CONTROL.key]
    departments_all = ("GM", "QA", "CS", "OM", "MK")
    control = _issue(
        session,
        officer,
        doc_control,
        [
            {"department": "QA", "medium": "paper", "copies": 1},
            *({"department": code, "medium": "electronic"} for code in departments_all),
        ],
        added,
        training_required=True,
        acknowledge_within_days=14,
        today=today - timedelta(days=42),
    )
    _receive(session, _paper(control, "QA"), officer)
    _acknowledge(session, doc_control, [u[name] for name in DOCUMENT_CONTROL_SIGNED])

    # Complaints: paper for the CS desks, read-and-sign for CS and for MK's head by name.
    complaints_rev = current[COMPLAINTS.key]
    complaints = _issue(
        session,
        officer,
        complaints_rev,
        [
            {"department": "CS", "medium": "paper", "copies": 3},
            {"department": "CS", "medium": "electronic"},
            {"user": "mk_head", "medium": "electronic"},
        ],
        added,
        training_required=True,
        acknowledge_within_days=14,
        today=today - timedelta(days=5),
    )
    _receive(session, _paper(complaints, "CS")[:1], u["cs_head"])
    _receive(session, _paper(complaints, "CS")[1:2], u["staff"])
    _acknowledge(session, complaints_rev, [u["cs_head"]])

    # The hotline work instruction at the hotline seats; agents asked to read and sign.
    hotline = _issue(
        session,
        officer,
        current[HOTLINE.key],
        [
            {"location": HOTLINE_SEATS, "custodian": "cs_head", "medium": "paper", "copies": 2},
            {"department": "CS", "medium": "electronic"},
        ],
        added,
        training_required=True,
        acknowledge_within_days=7,
        today=today - timedelta(days=2),
    )
    _receive(session, _paper(hotline, HOTLINE_SEATS)[:1], u["cs_head"])

    # The service commitment on display at the front desk (A/1 is effective in ten days).
    commitment = _issue(
        session,
        officer,
        current[SERVICE_COMMITMENT.key],
        [{"location": FRONT_DESK, "custodian": "staff", "medium": "paper", "copies": 1}],
        added,
    )
    _receive(session, commitment, u["staff"])

    # Inspection: A/0 issued and signed for, then superseded by A/1 — the open recall.
    inspection_doc = docs[INSPECTION.key]
    old = current[INSPECTION.key]
    inspection = _issue(
        session,
        officer,
        old,
        [
            {"department": "OM", "medium": "paper", "copies": 2},
            {"department": "OM", "medium": "electronic"},
        ],
        added,
        training_required=True,
        acknowledge_within_days=14,
        today=today - timedelta(days=56),
    )
    old_paper = _paper(inspection, "OM")
    _receive(session, old_paper[:1], u["om_head"])
    _receive(session, old_paper[1:], u["om_tech"])
    _acknowledge(session, old, [u["om_head"]])
    _play(
        session,
        store,
        inspection_doc,
        INSPECTION_A1,
        _apply(INSPECTION.body, INSPECTION_A1.edits),
        users,
        today,
    )  # approved today: A/0 is superseded, its copies recalled, A/1 issued to OM online
    new = effective_revision(inspection_doc)
    added.append(f"revision {inspection_doc.number} {new.label}")
    services.record_return(
        session,
        officer,
        old_paper[0],
        returned_by="om_head",
        disposition="destroyed",
        note="旧版交回文控，当场销毁",
    )
    _issue(
        session,
        officer,
        new,
        [{"department": "OM", "medium": "paper", "copies": 2}],
        added,
        note="A/1 纸质受控副本，请交回 A/0 副本",
    )

    # The agent who left: her open tasks are cancelled when she is deactivated.
    people.update_user(
        session,
        u["admin"],
        leaver,
        full_name=leaver.full_name,
        email=leaver.email,
        department=leaver.department,
        language=leaver.language,
        roles=[r.role for r in leaver.role_rows],
        is_active=False,
    )
    # what the nightly sweep would have recorded by now
    mark_overdue(session, today)
    session.flush()
    return added
