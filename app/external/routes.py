"""The register of external documents (外来文件): list, entry, and the officer's forms."""

from __future__ import annotations

import io

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

from app import signals
from app.documents.permissions import visible_documents
from app.errors import NotFound
from app.extensions import db, local_today
from app.external import services
from app.external.forms import (
    CheckForm,
    CiteForm,
    EditionForm,
    ExternalDocumentForm,
    RegisterForm,
    UnciteForm,
    WithdrawForm,
)
from app.external.models import (
    CHECK_OUTCOMES,
    EDITION_STATUSES,
    FILE_MIMETYPES,
    KINDS,
    STATUSES,
    ExternalDocument,
)
from app.external.permissions import can_manage_external, can_view_external
from app.i18n import current_language
from app.people import services as people
from app.people.forms import department_choices, person_choices
from app.storage import get_store
from app.web import checked_upload, paginate, run_form

bp = Blueprint("external", __name__, url_prefix="/external")

PER_PAGE = 50


@bp.before_request
@login_required
def require_reader():
    if not can_view_external(current_user):
        abort(403)


@bp.context_processor
def labels():
    return {
        "EXTERNAL_KINDS": KINDS,
        "EXTERNAL_STATUSES": STATUSES,
        "EDITION_STATUSES": EDITION_STATUSES,
        "CHECK_OUTCOMES": CHECK_OUTCOMES,
        "can_manage_external": can_manage_external,
    }


def _load(number: str) -> ExternalDocument:
    try:
        return services.get_external(db.session, number)
    except NotFound:
        abort(404)


def _require_manager() -> None:
    if not can_manage_external(current_user):
        abort(403)


def _user_choices():
    return person_choices(blank=True)


def _to_detail(ext: ExternalDocument):
    return redirect(url_for("external.detail", number=ext.number))


@bp.get("")
def index():
    kind = request.args.get("kind") or None
    status = request.args.get("status", "current")
    q = request.args.get("q", "").strip()
    due_only = request.args.get("due") == "1"
    today = local_today()
    stmt = services.list_stmt(
        kind=kind,
        status=None if status == "all" else status or None,
        q=q,
        due_on=today if due_only else None,
    )
    pagination = paginate(stmt, per_page=PER_PAGE)
    due_count = len(services.due_currency_checks(db.session, today))
    return render_template(
        "external/index.html",
        pagination=pagination,
        kind=kind,
        status=status,
        q=q,
        due_only=due_only,
        due_count=due_count,
        today=today,
    )


@bp.get("/<number>")
def detail(number: str):
    ext = _load(number)
    citing = services.citing_documents(db.session, ext, where=visible_documents(current_user))
    return render_template(
        "external/detail.html",
        ext=ext,
        citing=citing,
        today=local_today(),
        uncite_form=UnciteForm(),
    )


@bp.get("/<number>/editions/<id:edition_id>/file")
def edition_file(number: str, edition_id: int):
    ext = _load(number)
    try:
        edition = services.get_edition(ext, edition_id)
    except NotFound:
        abort(404)
    if not edition.file_sha256:
        abort(404)
    data = get_store(current_app).read(edition.file_sha256)
    return send_file(
        io.BytesIO(data),
        mimetype=FILE_MIMETYPES[edition.file_kind],
        as_attachment=True,
        download_name=edition.file_name,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    _require_manager()
    form = RegisterForm()
    form.department.choices = department_choices(blank=True)
    form.holder.choices = _user_choices()
    if not form.is_submitted():
        form.department.data = current_user.department.code if current_user.department else ""
        form.holder.data = current_user.username
        form.received_on.data = local_today()

    def create():
        return services.register(
            db.session,
            current_user,
            reference=form.reference.data,
            title=form.title.data,
            publisher=form.publisher.data,
            kind=form.kind.data,
            department=people.department_by_code(db.session, form.department.data),
            holder=people.user_by_username(db.session, form.holder.data, "holder"),
            location=form.location.data,
            check_interval_months=form.check_interval_months.data,
            edition=form.edition.data,
            published_on=form.published_on.data,
            effective_on=form.effective_on.data,
            received_on=form.received_on.data,
            note=form.note.data,
            upload=checked_upload(form.file.data),
            store=get_store(current_app),
        )

    def done(ext):
        flash(
            _(
                "%(reference)s registered as %(number)s.",
                reference=ext.reference,
                number=ext.number,
            ),
            "success",
        )
        return _to_detail(ext)

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (
            render_template("external/form.html", form=form, ext=None),
            status,
        ),
    )


@bp.route("/<number>/edit", methods=["GET", "POST"])
def edit(number: str):
    ext = _load(number)
    _require_manager()
    form = ExternalDocumentForm(obj=ext)
    form.department.choices = department_choices(blank=True)
    form.holder.choices = _user_choices()
    if not form.is_submitted():
        form.department.data = ext.department.code
        form.holder.data = ext.holder.username

    def save():
        return services.update_details(
            db.session,
            current_user,
            ext,
            reference=form.reference.data,
            title=form.title.data,
            publisher=form.publisher.data,
            kind=form.kind.data,
            department=people.department_by_code(db.session, form.department.data),
            holder=people.user_by_username(db.session, form.holder.data, "holder"),
            location=form.location.data,
            check_interval_months=form.check_interval_months.data,
        )

    def done(_ext):
        flash(_("%(number)s saved.", number=ext.number), "success")
        return _to_detail(ext)

    return run_form(
        form,
        save,
        on_success=done,
        render=lambda status: (
            render_template("external/form.html", form=form, ext=ext),
            status,
        ),
    )


@bp.route("/<number>/editions/new", methods=["GET", "POST"])
def edition_new(number: str):
    ext = _load(number)
    _require_manager()
    form = EditionForm()
    if not form.is_submitted():
        form.reference.data = ext.reference
        form.received_on.data = local_today()

    def record():
        return services.record_edition(
            db.session,
            current_user,
            ext,
            edition=form.edition.data,
            reference=form.reference.data,
            published_on=form.published_on.data,
            effective_on=form.effective_on.data,
            received_on=form.received_on.data,
            note=form.note.data,
            upload=checked_upload(form.file.data),
            store=get_store(current_app),
        )

    def done(edition):
        flash(
            _(
                "Edition %(edition)s of %(number)s recorded; the previous edition is superseded.",
                edition=edition.edition,
                number=ext.number,
            ),
            "success",
        )
        return _to_detail(ext)

    return run_form(
        form,
        record,
        on_success=done,
        render=lambda status: (
            render_template(
                "external/action_form.html",
                form=form,
                ext=ext,
                title=_("Record a new edition"),
                fields=[
                    form.edition,
                    form.reference,
                    form.published_on,
                    form.effective_on,
                    form.received_on,
                    form.file,
                    form.note,
                ],
                submit=_("Record edition"),
                upload=True,
                help=_(
                    "The new edition becomes the current one and the current edition is "
                    "superseded. Recorded editions cannot be changed."
                ),
            ),
            status,
        ),
    )


@bp.route("/<number>/checks/new", methods=["GET", "POST"])
def check_new(number: str):
    ext = _load(number)
    _require_manager()
    form = CheckForm()

    def record():
        return services.record_currency_check(
            db.session, current_user, ext, outcome=form.outcome.data, note=form.note.data
        )

    def done(check):
        if check.outcome == "current":
            flash(
                _(
                    "Currency check recorded; the next check is due on %(date)s.",
                    date=check.next_check_date.isoformat(),
                ),
                "success",
            )
        else:
            flash(
                _("Currency check recorded. Record the newer edition as soon as it arrives."),
                "warning",
            )
        return _to_detail(ext)

    return run_form(
        form,
        record,
        on_success=done,
        render=lambda status: (
            render_template(
                "external/action_form.html",
                form=form,
                ext=ext,
                title=_("Record a currency check"),
                fields=[form.outcome, form.note],
                submit=_("Record check"),
                help=_(
                    "Check with the publisher whether a newer edition has been issued. "
                    "Still current: the next check falls %(months)s months from today.",
                    months=ext.check_interval_months,
                ),
            ),
            status,
        ),
    )


@bp.route("/<number>/citations/new", methods=["GET", "POST"])
def cite(number: str):
    ext = _load(number)
    _require_manager()
    form = CiteForm()
    form.document.choices = [SelectChoice("", "—")] + [
        SelectChoice(d.number, f"{d.number} {d.title_in(current_language())}")
        for d in services.citable_documents(db.session, ext)
    ]

    def link():
        return services.cite(db.session, current_user, ext, form.document.data)

    def done(citation):
        flash(
            _(
                "%(document)s now cites %(number)s.",
                document=citation.document.number,
                number=ext.number,
            ),
            "success",
        )
        return _to_detail(ext)

    return run_form(
        form,
        link,
        on_success=done,
        render=lambda status: (
            render_template(
                "external/action_form.html",
                form=form,
                ext=ext,
                title=_("Add a citing document"),
                fields=[form.document],
                submit=_("Add"),
                help=_("The internal document that refers to this external document."),
            ),
            status,
        ),
    )


@bp.post("/<number>/citations/<document>/remove")
def uncite(number: str, document: str):
    ext = _load(number)
    _require_manager()
    form = UnciteForm()

    def unlink():
        services.uncite(db.session, current_user, ext, document)

    def done(_result):
        flash(
            _("%(document)s no longer cites %(number)s.", document=document, number=ext.number),
            "success",
        )
        return _to_detail(ext)

    # The button sits on the entry's page; an error goes back there as a flash.
    return run_form(form, unlink, on_success=done, render=lambda status: _to_detail(ext))


@bp.route("/<number>/withdraw", methods=["GET", "POST"])
def withdraw(number: str):
    ext = _load(number)
    _require_manager()
    form = WithdrawForm()

    def act():
        return services.withdraw(db.session, current_user, ext, reason=form.reason.data)

    def done(still_citing):
        flash(_("%(number)s withdrawn.", number=ext.number), "success")
        if still_citing:
            flash(
                _(
                    "These documents still cite it and may need a revision: %(numbers)s.",
                    numbers=", ".join(d.number for d in still_citing),
                ),
                "warning",
            )
        return _to_detail(ext)

    return run_form(
        form,
        act,
        on_success=done,
        render=lambda status: (
            render_template(
                "external/action_form.html",
                form=form,
                ext=ext,
                title=_("Withdraw from the register"),
                fields=[form.reason],
                submit=_("Withdraw"),
                danger=True,
                help=_(
                    "A withdrawn entry is no longer checked for new editions and cannot be "
                    "changed; its history stays."
                ),
            ),
            status,
        ),
    )


@signals.document_page.connect
def _citations(document, *, session, user) -> dict:
    """The document page's "external documents cited" (the register is open to every
    reader of a document)."""
    return {"citations": services.cited_by_document(session, document)}
