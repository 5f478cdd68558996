"""Internal-audit pages: the list, the plan form (clauses from the library), an audit's
page, its checklist (usable on a phone), findings' responses, the signed report and the
year's programme with its coverage matrix (docs/adr/0045)."""

from __future__ import annotations

import io
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.audits import exports, services
from app.audits import permissions as perm
from app.audits.models import (
    CRITERION_KINDS,
    FINDING_STATUSES,
    PRIORITY_LEVELS,
    STATUSES,
    TYPES,
    VERDICTS,
    Audit,
)
from app.audits.report import report_response
from app.errors import N_, DomainError, NotFound, ValidationFailed
from app.extensions import db, local_today
from app.i18n import translate_error
from app.people.forms import department_choices, person_choices
from app.storage import get_store
from app.web import checked_scan, paginate

bp = Blueprint("audits", __name__)
PER_PAGE = 50


@bp.before_request
@login_required
def require_login():
    """Every page here is for people signed in; each view then checks its own rule."""


@bp.context_processor
def labels():
    return {
        "AUDIT_STATUSES": STATUSES,
        "AUDIT_TYPES": TYPES,
        "VERDICTS": VERDICTS,
        "FINDING_STATUSES": FINDING_STATUSES,
        "CRITERION_KINDS": CRITERION_KINDS,
        "PRIORITY_LEVELS": PRIORITY_LEVELS,
        "audit_perm": perm,
    }


def _load(number: str) -> Audit:
    try:
        return services.visible_audit(db.session, current_user, number)
    except NotFound:
        abort(404)


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _failed(err: DomainError) -> None:
    db.session.rollback()
    flash(translate_error(err), "danger")


def _split(text: str | None) -> list[str]:
    return [
        p.strip()
        for p in (text or "").replace("，", ",").replace("\n", ",").split(",")
        if p.strip()
    ]


def _date(name: str) -> date | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            N_("Please give the date as YYYY-MM-DD."), fields={name: N_("invalid")}
        ) from None


def _detail(a: Audit, status: int = 200):
    return (
        render_template(
            "audits/detail.html",
            a=a,
            warnings=services.warnings_for(a),
            blockers=services.close_blockers(a) if a.status == "reporting" else [],
            events_ref=a.ref,
        ),
        status,
    )


def _to_detail(a: Audit):
    return redirect(url_for("audits.detail", number=a.number))


# The list and the plan form ------------------------------------------------------------------


@bp.get("/audits")
def index():
    _require(perm.can_view_list(current_user))
    year = request.args.get("year", type=int)
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    stmt = services.list_stmt(where=perm.visible_audits(current_user), year=year, status=status)
    return render_template(
        "audits/index.html",
        pagination=paginate(stmt, per_page=PER_PAGE),
        year=year,
        status=status,
    )


def _library():
    crit = db.session.scalars(services.criteria_stmt(None)).all()
    return crit


@bp.route("/audits/new", methods=["GET", "POST"])
def new():
    _require(perm.can_plan(current_user))
    form = request.form
    if request.method == "POST":
        try:
            a = services.plan(
                db.session,
                current_user,
                type=form.get("type", "internal"),
                title=form.get("title", ""),
                objectives=form.get("objectives", ""),
                scope=form.get("scope", ""),
                client=form.get("client"),
                places=form.get("places"),
                clauses=form.getlist("clauses"),
                departments=form.getlist("departments"),
                lead_auditor=form.get("lead_auditor", ""),
                team=form.getlist("team"),
                planned_start=_date("planned_start"),
                planned_end=_date("planned_end"),
                independence_justification=form.get("independence_justification"),
            )
        except DomainError as err:
            _failed(err)
            status = err.status
        else:
            for w in services.warnings_for(a):
                flash(_(w["message"], name=w["name"]), "warning")
            flash(_("%(number)s was planned.", number=a.number), "success")
            return _to_detail(a)
    else:
        status = 200
    return (
        render_template(
            "audits/new.html",
            library=_library(),
            departments=[c for c in department_choices() if c.value],
            people=[c for c in person_choices() if c.value],
            form=form,
            chosen=set(form.getlist("clauses")),
        ),
        status,
    )


# One audit ---------------------------------------------------------------------------------


@bp.get("/audits/<number>")
def detail(number: str):
    return _detail(_load(number))


@bp.post("/audits/<number>/justification")
def justify(number: str):
    a = _load(number)
    _require(perm.can_justify(current_user, a))
    try:
        services.justify(db.session, current_user, a, text=request.form.get("text", ""))
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    return _to_detail(a)


@bp.post("/audits/<number>/move/<action>")
def move(number: str, action: str):
    a = _load(number)
    if action not in (*services.ACTIONS, "cancel"):
        abort(404)
    _require(
        perm.can_cancel(current_user, a) if action == "cancel" else perm.can_run(current_user, a)
    )
    try:
        if action == "cancel":
            services.cancel(db.session, current_user, a, reason=request.form.get("reason", ""))
        elif action == "report":
            services.to_reporting(
                db.session, current_user, a, conclusions=request.form.get("conclusions")
            )
        else:
            services.ACTIONS[action](db.session, current_user, a)
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    flash(
        _("%(number)s is now %(status)s.", number=a.number, status=_(STATUSES[a.status])), "success"
    )
    return _to_detail(a)


@bp.post("/audits/<number>/conclusions")
def conclusions(number: str):
    a = _load(number)
    _require(perm.can_sign_report(current_user, a))
    try:
        services.set_conclusions(db.session, current_user, a, text=request.form.get("text", ""))
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    return _to_detail(a)


@bp.post("/audits/<number>/findings/<id:finding_id>/response")
def respond(number: str, finding_id: int):
    a = _load(number)
    try:
        finding = services.get_finding(a, finding_id)
    except NotFound:
        abort(404)
    _require(perm.can_respond(current_user, finding))
    try:
        services.respond(
            db.session,
            current_user,
            a,
            finding,
            decision=request.form.get("decision", ""),
            reason=request.form.get("reason"),
        )
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    return _to_detail(a)


@bp.post("/audits/<number>/findings/<id:finding_id>/decision")
def decide(number: str, finding_id: int):
    a = _load(number)
    try:
        finding = services.get_finding(a, finding_id)
    except NotFound:
        abort(404)
    _require(perm.can_resolve(current_user, a))
    try:
        services.resolve(
            db.session,
            current_user,
            a,
            finding,
            decision=request.form.get("decision", ""),
            reason=request.form.get("reason"),
        )
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    return _to_detail(a)


@bp.post("/audits/<number>/sign")
def sign(number: str):
    a = _load(number)
    _require(perm.can_sign_report(current_user, a))
    try:
        services.sign_report(db.session, current_user, a, password=request.form.get("password", ""))
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    flash(_("The report is signed and issued."), "success")
    return _to_detail(a)


@bp.get("/audits/<number>/report.pdf")
def report(number: str):
    a = _load(number)
    _require(perm.can_read_report(current_user, a))
    return report_response(a)


@bp.post("/audits/<number>/clone")
def clone(number: str):
    a = _load(number)
    _require(perm.can_plan(current_user))
    try:
        new_audit = services.clone(
            db.session,
            current_user,
            a,
            planned_start=_date("planned_start"),
            planned_end=_date("planned_end"),
        )
    except DomainError as err:
        _failed(err)
        return _detail(_load(number), err.status)
    flash(_("%(number)s was planned.", number=new_audit.number), "success")
    return _to_detail(new_audit)


# The checklist -------------------------------------------------------------------------------


def _checklist(a: Audit, status: int = 200):
    return render_template("audits/checklist.html", a=a), status


@bp.get("/audits/<number>/checklist")
def checklist(number: str):
    return _checklist(_load(number))


@bp.post("/audits/<number>/checklist")
def add_item(number: str):
    a = _load(number)
    _require(perm.can_edit_checklist(current_user, a))
    try:
        services.add_item(
            db.session,
            current_user,
            a,
            clause=request.form.get("clause", ""),
            question=request.form.get("question", ""),
        )
    except DomainError as err:
        _failed(err)
        return _checklist(_load(number), err.status)
    return redirect(url_for("audits.checklist", number=a.number))


def _item(a: Audit, item_id: int):
    try:
        return services.get_item(a, item_id)
    except NotFound:
        abort(404)


@bp.post("/audits/<number>/checklist/<id:item_id>")
def update_item(number: str, item_id: int):
    """Before the start: reword the question. In progress: progress, verdict, evidence,
    links (and whether an observation or OFI opens an NC)."""
    a = _load(number)
    item = _item(a, item_id)
    form = request.form
    try:
        if a.status in services.EDITABLE:
            _require(perm.can_edit_checklist(current_user, a))
            services.edit_item(db.session, current_user, a, item, question=form.get("question"))
        else:
            _require(perm.can_fill(current_user, a))
            result = services.record_item(
                db.session,
                current_user,
                a,
                item,
                done=form.get("done") == "1",
                verdict=form.get("verdict") or None,
                evidence=form.get("evidence", ""),
                links=_split(form.get("links")),
                department=form.get("department") or None,
                raise_nc=form.get("raise_nc") == "1",
            )
            if result.finding is not None:
                flash(
                    _(
                        "Finding %(finding)s raised; it opened %(nc)s.",
                        finding=result.finding.label,
                        nc=result.finding.nc.number,
                    ),
                    "warning",
                )
    except DomainError as err:
        _failed(err)
        return _checklist(_load(number), err.status)
    return redirect(url_for("audits.checklist", number=a.number, _anchor=f"item-{item.id}"))


@bp.post("/audits/<number>/checklist/<id:item_id>/attachments")
def attach(number: str, item_id: int):
    """A photo or scan (PDF, JPEG, PNG, checked by its content) for an item in progress."""
    a = _load(number)
    item = _item(a, item_id)
    _require(perm.can_fill(current_user, a))
    try:
        checked = checked_scan(request.files.get("file"))
        services.attach(db.session, get_store(current_app), current_user, a, item, checked)
    except DomainError as err:
        _failed(err)
        return _checklist(_load(number), err.status)
    return redirect(url_for("audits.checklist", number=a.number, _anchor=f"item-{item.id}"))


@bp.get("/audits/<number>/attachments/<id:attachment_id>")
def attachment(number: str, attachment_id: int):
    a = _load(number)
    try:
        att = services.get_attachment(a, attachment_id)
    except NotFound:
        abort(404)
    return send_file(
        io.BytesIO(get_store(current_app).read(att.sha256, att.size)),
        mimetype=att.mimetype,
        download_name=att.name,
    )


@bp.post("/audits/<number>/checklist/<id:item_id>/move")
def move_item(number: str, item_id: int):
    a = _load(number)
    _require(perm.can_edit_checklist(current_user, a))
    item = _item(a, item_id)
    order = [i.id for i in a.items]
    at = order.index(item.id)
    to = at - 1 if request.form.get("direction") == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    try:
        services.reorder(db.session, current_user, a, order)
    except DomainError as err:
        _failed(err)
        return _checklist(_load(number), err.status)
    return redirect(url_for("audits.checklist", number=a.number, _anchor=f"item-{item.id}"))


@bp.post("/audits/<number>/checklist/<id:item_id>/remove")
def remove_item(number: str, item_id: int):
    a = _load(number)
    _require(perm.can_edit_checklist(current_user, a))
    item = _item(a, item_id)
    try:
        services.remove_item(db.session, current_user, a, item)
    except DomainError as err:
        _failed(err)
        return _checklist(_load(number), err.status)
    return redirect(url_for("audits.checklist", number=a.number))


# The programme ------------------------------------------------------------------------------


@bp.get("/audit-programme")
def programme_now():
    return redirect(url_for("audits.programme", year=local_today().year))


@bp.get("/audit-programme/<int:year>")
def programme(year: int):
    _require(perm.can_view_programme(current_user))
    if not 1900 <= year <= 9999:
        abort(404)
    prog = services.programme(db.session, year, perm.visible_audits(current_user))
    priorities = services.priorities(db.session)
    fmt = request.args.get("format")
    if fmt:
        return exports.coverage_download(prog, priorities, fmt)
    return render_template(
        "audits/programme.html",
        prog=prog,
        year=year,
        priorities=priorities,
        months=range(1, 13),
    )


@bp.post("/audit-criteria/import")
def import_criteria():
    """Officers import criteria from a .csv or .json file: all rows or none; a bad row is
    a 400 naming its line."""
    _require(perm.can_manage_library(current_user))
    upload = request.files.get("file")
    standard = request.form.get("standard", "")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
        out = services.import_criteria(
            db.session,
            current_user,
            filename=upload.filename,
            data=upload.read(),
            standard=standard,
        )
    except DomainError as err:
        _failed(err)
        return library_page(err.status)
    flash(
        _(
            "%(added)s criteria added, %(updated)s updated.",
            added=out["added"],
            updated=out["updated"],
        ),
        "success",
    )
    return redirect(url_for("audits.library", standard=out["standard"]))


def _criterion_form(form) -> dict:
    """The form's fields as the service takes them: one question a line, its English after
    a " | " (as in the CSV import)."""
    questions = []
    for line in form.get("questions", "").splitlines():
        zh, _sep, en = line.partition("|")
        if zh.strip() or en.strip():
            questions.append({"zh": zh.strip(), "en": en.strip() or None})
    return {
        "code": form.get("code", ""),
        "title_zh": form.get("title_zh", ""),
        "title_en": form.get("title_en", ""),
        "questions": questions,
        "document": form.get("document", "").strip() or None,
    }


@bp.route("/audit-criteria/new", methods=["GET", "POST"])
@bp.route("/audit-criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
def edit_criterion(criterion_id: int | None = None):
    """Officers add a criterion to the library or edit one (its code stays)."""
    _require(perm.can_manage_library(current_user))
    criterion = None
    if criterion_id is not None:
        try:
            criterion = services.get_criterion(db.session, criterion_id)
        except NotFound:
            abort(404)
    status = 200
    if request.method == "POST":
        try:
            saved = services.save_criterion(
                db.session,
                current_user,
                criterion=criterion,
                standard=request.form.get("standard", ""),
                values=_criterion_form(request.form),
            )
        except DomainError as err:
            _failed(err)
            status = err.status
        else:
            flash(_("Criterion %(code)s saved.", code=saved.code), "success")
            return redirect(url_for("audits.library", standard=saved.standard) + f"#c{saved.id}")
    return (
        render_template(
            "audits/criterion_form.html",
            criterion=criterion,
            form=request.form if request.method == "POST" else None,
            standards=services.standards(db.session),
        ),
        status,
    )


@bp.get("/audit-criteria")
def library():
    return library_page()


def library_page(status: int = 200):
    _require(perm.can_view_library(current_user))
    standard = request.args.get("standard") or None
    crit = db.session.scalars(services.criteria_stmt(standard)).all()
    return (
        render_template(
            "audits/library.html",
            criteria=crit,
            standards=services.standards(db.session),
            standard=standard,
        ),
        status,
    )
