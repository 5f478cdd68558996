"""Issue, copies, recalls and read-and-understood acknowledgements in the browser.

Every view: load (404, also for what the user may not see) → authorise (403) → one
service call through ``app.web.run_form``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms import SelectChoice

from app import signals
from app.audit_trail.permissions import can_view_audit_trail
from app.audit_trail.services import events_for
from app.distribution import exports, services
from app.distribution.forms import IssueForm, ReturnForm, SignForm
from app.distribution.models import ACK_STATUSES, COPY_STATUSES, ControlledCopy
from app.distribution.permissions import (
    can_issue,
    can_record_return,
    can_sign_acknowledgement,
    can_sign_receipt,
    can_view_copy,
    can_view_matrix,
    can_view_register,
    can_view_training_of,
    holds,
)
from app.documents import exports as document_exports
from app.documents import services as documents
from app.documents.models import Revision
from app.errors import DomainError, NotFound
from app.extensions import db, local_today
from app.i18n import current_language
from app.people import services as people
from app.people.forms import department_choices, person_choices
from app.web import Page, page_number, paginate, run_form, show_error

bp = Blueprint("distribution", __name__)

PER_PAGE = 50
BLANK_ROWS = 3


@bp.before_request
@login_required
def require_login():
    return None


def _require(permitted: bool) -> None:
    if not permitted:
        abort(403)


def _safe_back(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


# Issue ---------------------------------------------------------------------------------


def _recipient_choices():
    names = {c.value: c.label for c in person_choices()}
    return {
        "departments": department_choices(prefix="department:"),
        "users": [SelectChoice(f"user:{name}", label) for name, label in names.items()],
        "custodians": [SelectChoice(name, label) for name, label in names.items()],
    }


def _posted_rows() -> list[dict]:
    """The recipient rows as posted (blank rows dropped), in form order."""
    rows = []
    suffixes = (k.removeprefix("recipient-") for k in request.form if k.startswith("recipient-"))
    indexes = sorted({int(n) for n in suffixes if n.isdigit()})
    for i in indexes:
        row = {
            "recipient": request.form.get(f"recipient-{i}", "").strip(),
            "location": request.form.get(f"location-{i}", "").strip(),
            "custodian": request.form.get(f"custodian-{i}", "").strip(),
            "medium": request.form.get(f"medium-{i}", "paper"),
            "copies": request.form.get(f"copies-{i}", "1").strip() or "1",
        }
        if row["recipient"]:
            rows.append(row)
    return rows


def _entries(rows: list[dict]) -> list[dict]:
    """Form rows → the distribution entries of ``services.parse_distribution``."""
    entries = []
    for row in rows:
        kind, _sep, who = row["recipient"].partition(":")
        entry = {"medium": row["medium"], "copies": row["copies"]}
        if kind == "location":
            entry.update(location=row["location"], custodian=row["custodian"])
        elif kind in ("department", "user"):
            entry[kind] = who
        entries.append(entry)
    return entries


def _form_rows(revision: Revision) -> list[dict]:
    """Rows to show on a fresh form: the previous revision's recipients, or blanks."""
    rows = []
    for prev in services.previous_distribution(db.session, revision):
        recipient = "location" if prev["kind"] == "location" else f"{prev['kind']}:{prev['who']}"
        rows.append(
            {
                "recipient": recipient,
                "location": prev["who"] if prev["kind"] == "location" else "",
                "custodian": prev["custodian"],
                "medium": prev["medium"],
                "copies": str(prev["copies"]),
            }
        )
    return rows


def _render_issue(
    revision: Revision,
    form: IssueForm,
    rows: list[dict],
    status: int = 200,
    row_errors: dict | None = None,
):
    blank = {"recipient": "", "location": "", "custodian": "", "medium": "paper", "copies": "1"}
    return render_template(
        "distribution/issue.html",
        doc=revision.document,
        revision=revision,
        form=form,
        rows=rows + [dict(blank) for _ in range(BLANK_ROWS)],
        prefilled=bool(rows) and request.method == "GET",
        choices=_recipient_choices(),
        row_errors=row_errors or {},
        copies=services.distribution_of(db.session, revision),
        holders=services.holders_of(db.session, revision),
    ), status


@bp.route("/documents/<number>/revisions/<rev>/issue", methods=["GET", "POST"])
def issue(number: str, rev: str):
    revision = documents.visible_revision(db.session, current_user, number, rev)
    _require(can_issue(current_user))
    form = IssueForm()
    if request.method == "GET":
        form.training_required.data = revision.document.training_required
        return _render_issue(revision, form, _form_rows(revision))
    rows = _posted_rows()
    if not form.validate_on_submit():
        return _render_issue(revision, form, rows, 400)
    try:
        record = services.issue(
            db.session,
            current_user,
            revision,
            distribution=services.parse_distribution(db.session, _entries(rows)),
            training_required=form.training_required.data,
            acknowledge_within_days=form.acknowledge_within_days.data,
            note=form.note.data,
        )
    except DomainError as err:
        show_error(form, err)
        row_errors = {}
        for name in err.fields:
            if name.startswith("distribution["):
                row_errors[int(name[len("distribution[") :].split("]")[0])] = True
        return _render_issue(revision, form, rows, err.status, row_errors)
    count = sum(line.copies for line in record.lines)  # one copy per electronic line
    flash(
        ngettext(
            "%(label)s issued: %(num)s controlled copy.",
            "%(label)s issued: %(num)s controlled copies.",
            count,
            label=revision.label,
        ),
        "success",
    )
    return redirect(
        url_for("documents.revision", number=number, rev=revision.path_label) + "#distribution"
    )


# Copies ---------------------------------------------------------------------------------


def _load_copy(copy_no: str) -> ControlledCopy:
    return services.visible_copy(db.session, current_user, copy_no)


@bp.get("/copies")
def copies():
    status = request.args.get("status") or None
    if status is not None and status not in COPY_STATUSES:
        status = None
    mine = request.args.get("mine") == "1" or not can_view_register(current_user)
    stmt = services.copies_query(
        current_user,
        document=request.args.get("document") or None,
        status=status,
        holder=current_user if mine else None,
    )
    fmt = request.args.get("format")
    if fmt:
        filters = [request.args.get("document") or "", _(COPY_STATUSES[status]) if status else ""]
        if mine:
            filters.insert(0, _("My copies"))
        table = exports.copies_table(
            db.session.scalars(stmt), subtitle=" · ".join(f for f in filters if f)
        )
        return exports.send_table(table, fmt)
    return render_template(
        "distribution/copies.html",
        pagination=paginate(stmt, per_page=PER_PAGE),
        mine=mine,
        status=status,
        can_sign_receipt=can_sign_receipt,
    )


def _render_copy(copy: ControlledCopy, form=None, status: int = 200):
    events = []
    if can_view_audit_trail(current_user, copy.ref):
        events = db.session.scalars(events_for(copy.ref)).all()
    return render_template(
        "distribution/copy.html",
        copy=copy,
        events=events,
        sign_form=(form or SignForm()) if can_sign_receipt(current_user, copy) else None,
        can_return=copy.status == "recall_open" and can_record_return(current_user),
    ), status


@bp.get("/copies/<copy_no>")
def copy(copy_no: str):
    return _render_copy(_load_copy(copy_no))


@bp.post("/copies/<copy_no>/receipt")
def receipt(copy_no: str):
    copy = _load_copy(copy_no)
    _require(holds(current_user, copy.line))
    form = SignForm()

    def done(_copy):
        flash(_("Receipt of %(copy)s signed.", copy=copy.copy_no), "success")
        return redirect(_safe_back(url_for("distribution.copy", copy_no=copy.copy_no)))

    return run_form(
        form,
        lambda: services.sign_receipt(db.session, current_user, copy, password=form.password.data),
        on_success=done,
        render=lambda status: _render_copy(copy, form, status),
    )


@bp.route("/copies/<copy_no>/return", methods=["GET", "POST"])
def return_copy(copy_no: str):
    copy = _load_copy(copy_no)
    _require(can_record_return(current_user))
    form = ReturnForm()

    def done(_copy):
        flash(_("%(copy)s recorded as returned.", copy=copy.copy_no), "success")
        return redirect(_safe_back(url_for("distribution.recalls")))

    return run_form(
        form,
        lambda: services.record_return(
            db.session,
            current_user,
            copy,
            returned_by=form.returned_by.data,
            disposition=form.disposition.data,
            note=form.note.data,
        ),
        on_success=done,
        render=lambda status: (
            render_template("distribution/return.html", copy=copy, form=form),
            status,
        ),
    )


@bp.get("/recalls")
def recalls():
    _require(can_view_register(current_user))
    register = services.recall_register(db.session, local_today(), current_language())
    fmt = request.args.get("format")
    if fmt:
        return exports.send_table(exports.recalls_table(register), fmt)
    return render_template("distribution/recalls.html", register=register)


# Acknowledgements ----------------------------------------------------------------------


@bp.get("/acknowledgements")
def acknowledgements():
    today = local_today()
    tasks = (
        db.session.scalars(services.acknowledgements_query(current_user.id, None, today))
        .unique()
        .all()
    )
    live = [t for t in tasks if t.status in ("open", "overdue")]
    return render_template(
        "distribution/acknowledgements.html",
        live=live,
        history=[t for t in tasks if t not in live],
        today=today,
    )


def _load_ack(ack_id: str):
    return services.visible_acknowledgement(db.session, current_user, ack_id)


def _render_ack(ack, form, status: int = 200):
    revision = ack.revision
    return render_template(
        "distribution/acknowledgement.html",
        ack=ack,
        doc=revision.document,
        revision=revision,
        content_html=document_exports.revision_html(revision),
        form=form if can_sign_acknowledgement(current_user, ack) else None,
        today=local_today(),
    ), status


@bp.route("/acknowledgements/<ack_id>", methods=["GET", "POST"])
def acknowledgement(ack_id: str):
    ack = _load_ack(ack_id)
    form = SignForm()
    if request.method == "GET":
        return _render_ack(ack, form)
    _require(can_sign_acknowledgement(current_user, ack))

    def done(_ack):
        flash(
            _(
                "Signed: you have read and understood %(number)s %(label)s.",
                number=ack.revision.document.number,
                label=ack.revision.label,
            ),
            "success",
        )
        return redirect(url_for("distribution.acknowledgements"))

    return run_form(
        form,
        lambda: services.sign_acknowledgement(
            db.session, current_user, ack, password=form.password.data
        ),
        on_success=done,
        render=lambda status: _render_ack(ack, form, status),
    )


@bp.get("/acknowledgements/matrix")
def matrix():
    _require(can_view_matrix(current_user))
    today = local_today()
    department = request.args.get("department") or None
    by = request.args.get("by", "department")
    fmt = request.args.get("format")
    if fmt:
        table = exports.matrix_table(
            db.session,
            current_user,
            today,
            by=by if by == "person" else "department",
            department=department,
        )
        return exports.send_table(table, fmt)
    context = {"by": by, "department": department, "departments": people.departments(db.session)}
    if by == "person":
        stmt = services.people_matrix_query(current_user, today, department=department)
        context["pagination"] = _RowPage(stmt, page_number())
    else:
        context["data"] = services.matrix(db.session, current_user, today, department=department)
    return render_template("distribution/matrix.html", **context)


class _RowPage(Page):
    """One page of a grouped (non-entity) query, shaped like Flask-SQLAlchemy's
    pagination for templates/_pagination.html."""

    def __init__(self, stmt, page: int):
        page = max(page, 1)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        items = db.session.execute(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        super().__init__(items, total, page, PER_PAGE)


@bp.get("/people/<username>/training")
def training(username: str):
    try:
        person = people.get_user(db.session, username)
    except NotFound:
        abort(404)
    if not can_view_training_of(current_user, person):
        abort(404)
    return render_template(
        "distribution/training.html",
        person=person,
        tasks=services.training_history(db.session, person),
        today=local_today(),
        ACK_STATUSES=ACK_STATUSES,
    )


# Parts of the pages of features distribution builds on (app/signals.py) -----------------


@signals.document_page.connect
def _document_holdings(document, *, session, user) -> dict:
    """The document page's "who holds what", as far as the reader may see."""
    return {"holdings": [c for c in services.holdings(session, document) if can_view_copy(user, c)]}


@signals.revision_page.connect
def _revision_copies(revision, *, session, user) -> dict:
    """The revision page's copies, as far as the reader may see."""
    copies = services.distribution_of(session, revision)
    return {"distribution_copies": [c for c in copies if can_view_copy(user, c)]}


@signals.login_landing.connect
def _open_tasks_first(user, *, session) -> str | None:
    """A login without ``next`` lands on "Read & sign" while tasks are open."""
    if services.open_task_count(session, user):
        return url_for("distribution.acknowledgements")
    return None
