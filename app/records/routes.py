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
from wtforms import SelectChoice

from app.errors import DomainError, NotFound
from app.extensions import db
from app.i18n import translate_error, translate_fields
from app.people.models import User
from app.people.services import departments
from app.records import fields as form_fields
from app.records import permissions, services
from app.records.forms import AmendForm, CompleteForm, RecordForm, RecordTypeForm
from app.records.models import CONFIDENTIALITY, MEDIA, RETENTION_FROM, STATUSES, Record, RecordType
from app.storage import get_store
from app.web import checked_scan

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
    return list(
        db.session.scalars(db.select(User).where(User.is_active.is_(True)).order_by(User.full_name))
    )


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


def _fail(err: DomainError) -> dict:
    db.session.rollback()
    flash(translate_error(err), "danger")
    return translate_fields(err)


# -- the record plan -------------------------------------------------------------------


@bp.get("/plan")
def plan():
    types = services.list_types(db.session)
    return render_template(
        "records/plan.html", types=types, counts=services.count_by_type(db.session)
    )


def _department_choices():
    return [
        SelectChoice(d.code, f"{d.code} {d.name}")
        for d in departments(db.session, active_only=True)
    ]


def _type_form_page(form: RecordTypeForm, rtype: RecordType | None, status: int = 200):
    return (
        render_template(
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
        ),
        status,
    )


def _type_data(form: RecordTypeForm) -> dict:
    try:
        fields_def = json.loads(form.fields_json.data or "")
    except ValueError:
        fields_def = None
    return {
        "code": form.code.data,
        "name": form.name.data,
        "department": form.department.data,
        "retention": {"years": form.retention_years.data, "from": form.retention_from.data},
        "medium": form.medium.data,
        "location": form.location.data,
        "confidentiality": form.confidentiality.data,
        "fields": fields_def,
    }


@bp.route("/plan/new", methods=["GET", "POST"])
def new_type():
    if not permissions.can_manage_plan(current_user):
        abort(403)
    form = RecordTypeForm()
    form.department.choices = _department_choices()
    if not form.is_submitted():
        form.department.data = current_user.department.code if current_user.department else ""
        form.retention_years.data = 3
        form.fields_json.data = json.dumps(
            [
                {
                    "name": "description",
                    "label": _("Description"),
                    "type": "long_text",
                    "required": True,
                }
            ],
            ensure_ascii=False,
        )
    if form.validate_on_submit():
        try:
            rtype = services.create_type(db.session, current_user, _type_data(form))
        except DomainError as err:
            for name, problem in _fail(err).items():
                target = getattr(form, "fields_json" if name == "fields" else name, None)
                if target is not None and hasattr(target, "errors"):
                    target.errors = [*target.errors, problem]
            return _type_form_page(form, None, err.status)
        db.session.commit()
        flash(_("Record type %(code)s added to the plan.", code=rtype.code), "success")
        return redirect(url_for("records.plan"))
    return _type_form_page(form, None, 400 if form.is_submitted() else 200)


@bp.route("/plan/<code>/edit", methods=["GET", "POST"])
def edit_type(code: str):
    if not permissions.can_manage_plan(current_user):
        abort(403)
    rtype = _type(code)
    form = RecordTypeForm(obj=rtype)
    form.department.choices = _department_choices()
    if not form.is_submitted():
        form.department.data = rtype.department.code
        form.fields_json.data = json.dumps(rtype.schema.fields, ensure_ascii=False)
    form.code.data = rtype.code  # fixed: records are numbered by it
    if form.validate_on_submit():
        try:
            services.update_type(db.session, current_user, rtype, _type_data(form))
        except DomainError as err:
            for name, problem in _fail(err).items():
                target = getattr(form, "fields_json" if name == "fields" else name, None)
                if target is not None and hasattr(target, "errors"):
                    target.errors = [*target.errors, problem]
            return _type_form_page(form, rtype, err.status)
        db.session.commit()
        flash(_("Record type %(code)s saved.", code=rtype.code), "success")
        return redirect(url_for("records.plan"))
    return _type_form_page(form, rtype, 400 if form.is_submitted() else 200)


# -- records ---------------------------------------------------------------------------


@bp.get("")
def index():
    type_code = request.args.get("type") or None
    status = request.args.get("status") or None
    q = request.args.get("q", "").strip()
    year = request.args.get("year", type=int)
    try:
        stmt = services.list_stmt(type_code=type_code, year=year, status=status, q=q)
    except DomainError:
        abort(400)
    stmt = services.visible_to(stmt, current_user)
    pagination = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
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


def _record_page(template: str, status: int = 200, **context):
    return render_template(template, people=_people(), **context), status


@bp.route("/new/<code>", methods=["GET", "POST"])
def new(code: str):
    rtype = _type(code)
    if not permissions.can_file(current_user, rtype):
        abort(403)
    form = RecordForm()
    fields_def = rtype.schema.fields
    if form.validate_on_submit():
        values, files = values_from(fields_def)
        try:
            record = services.file_record(
                db.session,
                get_store(current_app),
                current_user,
                rtype,
                values,
                title=form.title.data,
                scan=checked_scan(form.scan.data),
                files=files,
                password=form.password.data,
                complete=request.form.get("action") == "complete",
            )
        except DomainError as err:
            errors = _fail(err)
            return _record_page(
                "records/form.html",
                err.status,
                rtype=rtype,
                form=form,
                fields=fields_def,
                values=values,
                errors=errors,
                record=None,
            )
        db.session.commit()
        flash(_("Record %(number)s filed.", number=record.number), "success")
        return redirect(url_for("records.show", number=record.number))
    status = 400 if form.is_submitted() else 200
    return _record_page(
        "records/form.html",
        status,
        rtype=rtype,
        form=form,
        fields=fields_def,
        values={},
        errors={},
        record=None,
    )


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
    )


@bp.route("/<number>/edit", methods=["GET", "POST"])
def edit(number: str):
    record = _record(number)
    if not permissions.can_edit_draft(current_user, record):
        abort(403 if record.status == "draft" else 409)
    form = RecordForm()
    fields_def = record.schema.fields
    if not form.is_submitted():
        form.title.data = record.title
    if form.validate_on_submit():
        values, files = values_from(fields_def)
        try:
            services.update_draft(
                db.session,
                get_store(current_app),
                current_user,
                record,
                values,
                title=form.title.data,
                scan=checked_scan(form.scan.data),
                files=files,
                password=form.password.data,
            )
            if request.form.get("action") == "complete":
                services.complete_record(db.session, current_user, record)
        except DomainError as err:
            errors = _fail(err)
            return _record_page(
                "records/form.html",
                err.status,
                rtype=record.record_type,
                form=form,
                fields=fields_def,
                values=values,
                errors=errors,
                record=record,
            )
        db.session.commit()
        flash(_("Record %(number)s saved.", number=record.number), "success")
        return redirect(url_for("records.show", number=record.number))
    status = 400 if form.is_submitted() else 200
    return _record_page(
        "records/form.html",
        status,
        rtype=record.record_type,
        form=form,
        fields=fields_def,
        values=record.values,
        errors={},
        record=record,
    )


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
        _fail(err)
        return redirect(url_for("records.edit", number=record.number))
    db.session.commit()
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
    if form.validate_on_submit():
        entered, _files = values_from(fields_def)
        # only what differs from the values as they stand is an amendment
        usernames = set(db.session.scalars(db.select(User.username)))
        by_name = {f["name"]: f for f in fields_def}
        changed = {
            name: value
            for name, value in entered.items()
            if _differs(by_name[name], value, current.get(name), usernames)
        }
        try:
            services.amend(
                db.session,
                current_user,
                record,
                changed,
                form.reason.data,
                password=form.password.data,
            )
        except DomainError as err:
            errors = _fail(err)
            return _record_page(
                "records/amend.html",
                err.status,
                record=record,
                form=form,
                fields=fields_def,
                values=entered,
                errors=errors,
            )
        db.session.commit()
        flash(_("Amendment to %(number)s recorded.", number=record.number), "success")
        return redirect(url_for("records.show", number=record.number))
    status = 400 if form.is_submitted() else 200
    return _record_page(
        "records/amend.html",
        status,
        record=record,
        form=form,
        fields=fields_def,
        values=current,
        errors={},
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
    from app.uploads import SCAN_MIMETYPES

    suffix = str(value.get("name", "")).rsplit(".", 1)[-1].lower()
    return send_file(
        io.BytesIO(get_store(current_app).read(value["sha256"])),
        mimetype=SCAN_MIMETYPES.get(suffix, "application/octet-stream"),
        as_attachment=True,
        download_name=value.get("name") or name,
    )
