"""Who sees a controlled copy: the predicate (the copy's page) and the SQL filter (the copy
list) of app/distribution/permissions.py, checked against each other on generated
distributions and department heads."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.distribution import permissions, services
from app.distribution.models import ControlledCopy, DistributionLine, Issue
from app.documents.models import Document, DocumentType, Revision
from app.extensions import db
from app.people.models import Department, User

USERS = {
    # username: (roles, department)
    "officer": (("officer",), "CS"),
    "auditor": (("auditor",), "QA"),
    "cs_staff": (("staff",), "CS"),
    "cs_author": (("author", "staff"), "CS"),
    "mk_staff": (("staff",), "MK"),
    "qa_approver": (("approver",), "QA"),
    "nobody": (("staff",), None),
}
_user = st.sampled_from(sorted(USERS))
_line = st.one_of(
    st.tuples(st.just("department"), st.sampled_from(["CS", "MK", "QA"])),
    st.tuples(st.sampled_from(["user", "location"]), _user),
)
_case = st.fixed_dictionaries(
    {
        "lines": st.lists(_line, min_size=1, max_size=4),
        "status": st.sampled_from(["issued", "received", "recall_open", "returned"]),
        # department heads: a head may belong to another department, or to none
        "heads": st.fixed_dictionaries({d: st.none() | _user for d in ("CS", "MK", "QA")}),
    }
)


def _build(case, users, departments) -> list[ControlledCopy]:
    for code, head in case["heads"].items():
        departments[code].head = users[head] if head else None
    doc = Document(
        number="QP-T-0001",
        title="文件",
        type=db.session.scalar(select(DocumentType).where(DocumentType.code == "QP")),
        department=departments["CS"],
        confidentiality="internal",
        review_interval_months=24,
        status="effective",
        created_by=users["officer"],
    )
    rev = Revision(
        document=doc,
        major="A",
        minor=0,
        status="effective",
        change_type="major",
        change_summary="s",
        change_reason="r",
        author=users["officer"],
        review_round=1,
    )
    issue = Issue(revision=rev, issued_by=users["officer"])
    db.session.add_all([doc, rev, issue])
    db.session.flush()
    copies = []
    for n, (kind, who) in enumerate(case["lines"], start=1):
        line = DistributionLine(issue=issue, revision_id=rev.id, medium="paper", copies=1)
        if kind == "department":
            line.recipient_kind, line.department = "department", departments[who]
        elif kind == "user":
            line.recipient_kind, line.user = "user", users[who]
        else:
            line.recipient_kind, line.location, line.custodian = "location", "前台", users[who]
        copy = ControlledCopy(
            copy_no=f"QP-T-0001-A0-C{n:02}",
            revision=rev,
            line=line,
            seq=n,
            medium="paper",
            status=case["status"],
        )
        db.session.add_all([line, copy])
        copies.append(copy)
    db.session.flush()
    return copies


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_case)
def test_copy_predicate_and_list_filter_agree(app, make_user, case):
    """For generated distributions (to departments, people and custodians) and department
    heads: does every user's copy list hold exactly the copies whose page they may open?"""
    if not db.session.scalar(select(User).where(User.username == "officer")):
        for username, (roles, department) in USERS.items():
            make_user(username, roles=roles, department=department)
    users = {u.username: u for u in db.session.scalars(select(User))}
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    try:
        copies = _build(case, users, departments)
        db.session.expire_all()
        ids = [c.id for c in copies]
        copies = db.session.scalars(select(ControlledCopy).where(ControlledCopy.id.in_(ids)))
        copies = copies.all()
        for username, user in users.items():
            may_open = {c.id for c in copies if permissions.can_view_copy(user, c)}
            listed = {c.id for c in db.session.scalars(services.copies_query(user))}
            assert listed == may_open, (username, case)
    finally:
        db.session.rollback()
