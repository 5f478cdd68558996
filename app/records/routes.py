"""Records pages: the record plan and its form builder, filing through a form generated
from the type's fields, a record with its amendments, drafts, completion, amendments."""

from __future__ import annotations

import io
import json
import re

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

from app import signals
from app.errors import N_, DomainError, NotFound
from app.extensions import db
from app.i18n import current_language, translate_error, translate_fields
from app.people.forms import department_choices
from app.people.models import User
from app.people.services import people_to_choose
from app.records import exports, permissions, services
from app.records import fields as form_fields
from app.records.forms import AmendForm, CompleteForm, RecordForm, RecordTypeForm
from app.records.models import CONFIDENTIALITY, MEDIA, RETENTION_FROM, STATUSES, Record, RecordType
from app.storage import get_store
from app.uploads import SCAN_MIMETYPES
from app.web import checked_scan, paginate

bp = Blueprint("records", __name__, url_prefix="/records")

PER_PAGE = 50


@bp.before_request
@login_required
def require_reader():
    if not permissions.can_view_plan(current_user):
        abort(403)


@bp.context_processor
def labels():
    return {
        "RECORD_STATUSES": STATUSES,
        "RETENTION_FROM": RETENTION_FROM,
        "MEDIA": MEDIA,
        "RECORD_CONFIDENTIALITY": CONFIDENTIALITY,
        "FIELD_TYPES": form_fields.TYPES,
        "display_value": form_fields.display,
        "record_permissions": permissions,
    }


def _type(code: str) -> RecordType:
    try:
        return services.get_type(db.session, code)
    except NotFound:
        abort(404)


def _record(number: str) -> Record:
    try:
        record = services.get_record(db.session, number)
    except NotFound:
        abort(404)
    if not permissions.can_view_record(current_user, record):
        abort(404)  # never reveal that it exists
    return record


def _people() -> list[User]:
    """The people a person field offers (active, sorted for the reader's language)."""
    return people_to_choose(db.session, language=current_language())


_ROW_KEY = re.compile(r"^v\.([a-z][a-z0-9_]*)\.(\d{1,3})\.([a-z][a-z0-9_]*)$")


def values_from(form: list[dict]) -> tuple[dict, dict]:
    """What was entered in a generated form → (values for the service, checked files).
    Inputs are named ``v.<field>`` (``v.<table>.<row>.<column>`` in tables),
    ``sign.<field>`` for a signature and ``files.<field>`` for a file."""
    values: dict = {}
    files: dict = {}
    rows: dict[str, dict[int, dict]] = {}
    for key in request.form:
        match = _ROW_KEY.match(key)
        if match:
            name, index, column = match.group(1), int(match.group(2)), match.group(3)
            table = next((f for f in form if f["name"] == name and f["type"] == "table"), None)
            col = next((c for c in (table or {}).get("columns", []) if c["name"] == column), None)
            if col is not None:
                cell = (
                    request.form.getlist(key)
                    if col["type"] == "multi_choice"
                    else request.form.get(key, "")
                )
                rows.setdefault(name, {}).setdefault(index, {})[column] = cell
    for field in form:
        name, kind = field["name"], field["type"]
        if kind == "multi_choice":
            values[name] = request.form.getlist(f"v.{name}")
        elif kind == "table":
            entered = [rows.get(name, {})[i] for i in sorted(rows.get(name, {}))]
            values[name] = [r for r in entered if any(v not in ("", []) for v in r.values())]
        elif kind == "signature":
            if request.form.get(f"sign.{name}"):
                values[name] = True
        elif kind == "file":
            checked = checked_scan(request.files.get(f"files.{name}"))
            if checked is not None:
                files[name] = checked
        else:
            values[name] = request.form.get(f"v.{name}", "")
    return values, files


def _submit(form, action, *, render, done):
    """Validate ``form``, act, commit, answer — as ``app.web.run_form``, but a domain error
    re-renders with its field problems beside the fields (``render(status, errors)``)
    after a rollback, so nothing is half-written; ``done(result)`` answers success."""
    if form.validate_on_submit():
        try:
            result = action()
        except DomainError as err:
            db.session.rollback()
            flash(translate_error(err), "danger")
            return render(err.status, translate_fields(err))
        return done(result)
    return render(400 if form.is_submitted() else 200, {})


def _to_record(message: str):
    def done(record: Record):
        flash(_(message, number=record.number), "success")
        return redirect(url_for("records.show", number=record.number))

    return done


# -- the record plan -------------------------------------------------------------------


@bp.get("/plan")
def plan():
    """The record plan; ``?format=csv|xlsx|pdf`` downloads it as a register."""
    types = services.list_types(db.session)
    counts = services.count_by_type(db.session)
    fmt = request.args.get("format")
    if fmt:
        return exports.plan_download(types, counts, fmt)
    return render_template("records/plan.html", types=types, counts=counts)


def _type_form(rtype: RecordType | None):
    """The plan's form page for a new type or ``rtype``: the officer's only."""
    if not permissions.can_manage_plan(current_user):
        abort(403)
    form = RecordTypeForm(obj=rtype)
    form.department.choices = department_choices()
    if not form.is_submitted():
        if rtype is None:
            form.department.data = current_user.department.code if current_user.department else ""
            form.retention_years.data = 3
            first = {"name": "description", "label": _("Description"), "type": "long_text"}
            form.fields_json.data = json.dumps([{**first, "required": True}], ensure_ascii=False)
        else:
            form.department.data = rtype.department.code
            form.fields_json.data = json.dumps(rtype.schema.fields, ensure_ascii=False)
    if rtype is not None:
        form.code.data = rtype.code  # fixed: records are numbered by it

    def render(status: int, errors: dict):
        for name, problem in errors.items():
            target = getattr(form, "fields_json" if name == "fields" else name, None)
            if target is not None and hasattr(target, "errors"):
                target.errors = [*target.errors, problem]
        page = render_template(
            "records/type_form.html",
            form=form,
            rtype=rtype,
            builder_types={k: _(v) for k, v in form_fields.TYPES.items()},
            builder_text={
                "name": _("Name"),
                "label": _("Label"),
                "type": _("Type"),
                "required": _("Required"),
                "extra": _("Choices (one per line) / columns"),
                "up": _("Move up"),
                "remove": _("Remove"),
            },
        )
        return page, status

    def action():
        try:
            fields_def = json.loads(form.fields_json.data or "")
        except ValueError:
            fields_def = None
        data = {
            "code": form.code.data,
            "name": form.name.data,
            "name_en": form.name_en.data,
            "department": form.department.data,
            "retention": {"years": form.retention_years.data, "from": form.retention_from.data},
            "medium": form.medium.data,
            "location": form.location.data,
            "confidentiality": form.confidentiality.data,
            "fields": fields_def,
        }
        if rtype is None:
            return services.create_type(db.session, current_user, data)
        return services.update_type(db.session, current_user, rtype, data)

    def done(saved: RecordType):
        flash(_("Record type %(code)s saved.", code=saved.code), "success")
        return redirect(url_for("records.plan"))

    return _submit(form, action, render=render, done=done)


@bp.route("/plan/new", methods=["GET", "POST"])
def new_type():
    return _type_form(None)


@bp.route("/plan/<code>/edit", methods=["GET", "POST"])
def edit_type(code: str):
    return _type_form(_type(code))


# -- records ---------------------------------------------------------------------------


@bp.get("")
def index():
    type_code = request.args.get("type") or None
    status = request.args.get("status") or None
    q = request.args.get("q", "").strip()
    year = request.args.get("year", type=int)
    if year is not None and not 0 <= year <= 9999:  # as the API's RecordListArgs
        abort(400)
    try:
        stmt = services.list_stmt(type_code=type_code, year=year, status=status, q=q)
    except DomainError:
        abort(400)
    stmt = services.visible_to(db.session, stmt, current_user, type_code=type_code)
    pagination = paginate(stmt, per_page=PER_PAGE)
    types = services.list_types(db.session)
    return render_template(
        "records/index.html",
        pagination=pagination,
        types=types,
        fileable=[t for t in types if permissions.can_file(current_user, t)],
        years=services.years(db.session),
        type_code=type_code,
        status=status,
        q=q,
        year=year,
    )


def _filing(rtype: RecordType, record: Record | None):
    """The generated form: filing a new record of ``rtype``, or changing the draft
    ``record``; "Save and complete" completes it in the same request."""
    form = RecordForm()
    fields_def = (record.schema if record else rtype.schema).fields
    if record is not None and not form.is_submitted():
        form.title.data = record.title
    submitted = form.is_submitted()
    values, files = values_from(fields_def) if submitted else (record.values if record else {}, {})
    completing = request.form.get("action") == "complete"

    def render(status: int, errors: dict):
        page = render_template(
            "records/form.html",
            rtype=rtype,
            form=form,
            fields=fields_def,
            values=values,
            errors=errors,
            record=record,
            people=_people(),
        )
        return page, status

    def action():
        store, scan = get_store(current_app), checked_scan(form.scan.data)
        if record is None:
            return services.file_record(
                db.session,
                store,
                current_user,
                rtype,
                values,
                title=form.title.data,
                scan=scan,
                files=files,
                password=form.password.data,
                complete=completing,
            )
        services.update_draft(
            db.session,
            store,
            current_user,
            record,
            values,
            title=form.title.data,
            scan=scan,
            files=files,
            password=form.password.data,
        )
        if completing:
            services.complete_record(db.session, current_user, record)
        return record

    message = N_("Record %(number)s saved.") if record else N_("Record %(number)s filed.")
    return _submit(form, action, render=render, done=_to_record(message))


@bp.route("/new/<code>", methods=["GET", "POST"])
def new(code: str):
    rtype = _type(code)
    if not permissions.can_file(current_user, rtype):
        abort(403)
    return _filing(rtype, None)


@bp.get("/<number>")
def show(number: str):
    record = _record(number)
    amended = {}  # field → (the latest amendment of it, its value)
    for amendment in record.amendments:
        for name, value in amendment.values.items():
            amended[name] = (amendment, value)
    names = dict(db.session.execute(db.select(User.username, User.full_name)).all())
    return render_template(
        "records/show.html",
        record=record,
        amended=amended,
        names=names,
        fields=record.schema.fields,
        complete_form=CompleteForm(),
        # retention adds its legal holds on the record and, once destroyed, its tombstone
        **signals.contributions(signals.record_page, record, session=db.session, user=current_user),
    )


@bp.route("/<number>/edit", methods=["GET", "POST"])
def edit(number: str):
    record = _record(number)
    if not permissions.can_edit_draft(current_user, record):
        abort(403 if record.status == "draft" else 409)
    return _filing(record.record_type, record)


@bp.post("/<number>/complete")
def complete(number: str):
    record = _record(number)
    if not permissions.can_edit_draft(current_user, record):
        abort(403 if record.status == "draft" else 409)
    form = CompleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.complete_record(db.session, current_user, record)
    except DomainError as err:
        db.session.rollback()
        flash(translate_error(err), "danger")
        return redirect(url_for("records.edit", number=record.number))
    flash(_("Record %(number)s is complete.", number=record.number), "success")
    return redirect(url_for("records.show", number=record.number))


@bp.route("/<number>/amend", methods=["GET", "POST"])
def amend(number: str):
    record = _record(number)
    if not permissions.can_amend(current_user, record):
        abort(403 if record.status == "complete" else 409)
    form = AmendForm()
    fields_def = [f for f in record.schema.fields if f["type"] != "file"]
    current = record.current_values
    values = values_from(fields_def)[0] if form.is_submitted() else current

    def render(status: int, errors: dict):
        page = render_template(
            "records/amend.html",
            record=record,
            form=form,
            fields=fields_def,
            values=values,
            errors=errors,
            people=_people(),
        )
        return page, status

    def action():
        # only what differs from the values as they stand is an amendment
        usernames = set(db.session.scalars(db.select(User.username)))
        by_name = {f["name"]: f for f in fields_def}
        changed = {
            name: value
            for name, value in values.items()
            if _differs(by_name[name], value, current.get(name), usernames)
        }
        services.amend(
            db.session,
            current_user,
            record,
            changed,
            form.reason.data,
            password=form.password.data,
        )
        return record

    return _submit(
        form, action, render=render, done=_to_record("Amendment to %(number)s recorded.")
    )


def _differs(field: dict, entered, current, usernames: set[str]) -> bool:
    """Whether what the form sent for ``field`` changes its current value."""
    if field["type"] == "signature":
        return bool(entered)
    try:
        checked = form_fields.check_values(
            [field], {field["name"]: entered}, people=usernames, complete=False
        )
        normalised = checked.get(field["name"])
    except DomainError:
        return True  # let the service name the problem
    return normalised != current


@bp.get("/<number>/scan")
def scan(number: str):
    record = _record(number)
    if not record.scan_sha256:
        abort(404)
    return send_file(
        io.BytesIO(get_store(current_app).read(record.scan_sha256)),
        mimetype=record.scan_mimetype or "application/octet-stream",
        as_attachment=True,
        download_name=record.scan_name or f"{record.number}.pdf",
    )


@bp.get("/<number>/files/<name>")
def field_file(number: str, name: str):
    record = _record(number)
    value = record.current_values.get(name)
    if not isinstance(value, dict) or "sha256" not in value:
        abort(404)
    suffix = str(value.get("name", "")).rsplit(".", 1)[-1].lower()
    return send_file(
        io.BytesIO(get_store(current_app).read(value["sha256"])),
        mimetype=SCAN_MIMETYPES.get(suffix, "application/octet-stream"),
        as_attachment=True,
        download_name=value.get("name") or name,
    )
