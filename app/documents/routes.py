"""Controlled documents in the browser: list, document and revision pages, the signed
workflow, "my work", the master list, and document types (administrator).

Every view: load (404, also for what the user may not see) → authorise (403) → one
service call through ``app.web.run_form`` (commit, or roll back and show the error).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import signals
from app.audit_trail.permissions import can_view_audit_trail
from app.audit_trail.services import events_for
from app.documents import exports, services
from app.documents.forms import (
    ApproveForm,
    CancelForm,
    ConfirmReviewForm,
    DocumentForm,
    DocumentTypeForm,
    EnglishTitleForm,
    ReplaceFileForm,
    ReviewForm,
    RevisionForm,
    SubmitForm,
    WithdrawForm,
)
from app.documents.models import DOCUMENT_STATUSES, Document, DocumentType, Revision
from app.documents.permissions import (
    can_add_revision,
    can_create_document,
    can_create_in,
    can_edit_revision,
    can_manage_document,
    can_manage_document_types,
    can_sign_revision,
    can_view_document,
    can_view_revision,
    pending_task,
    visible_documents,
)
from app.errors import N_, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db, local_today
from app.i18n import current_language
from app.names import in_language
from app.people import services as people
from app.people.forms import department_choices, person_choices
from app.storage import get_store
from app.web import checked_upload, paginate_rows, run_form, url_builder

bp = Blueprint("documents", __name__)

PER_PAGE = 50
RECENT_EVENTS = 10  # on the document page; the audit-trail page has them all


@bp.before_request
@login_required
def require_login():
    return None


# Loading ------------------------------------------------------------------------


def _load_document(number: str) -> Document:
    return services.visible_document(db.session, current_user, number)


def _load_revision(number: str, rev: str) -> Revision:
    return services.visible_revision(db.session, current_user, number, rev)


def _require(permitted: bool) -> None:
    if not permitted:
        abort(403)


def _type_choices():
    types = db.session.execute(
        select(DocumentType.code, DocumentType.name, DocumentType.name_en)
        .where(DocumentType.is_active.is_(True), DocumentType.is_external.is_(False))
        .order_by(DocumentType.level, DocumentType.code)
    )
    language = current_language()  # DocumentType.name_in, on the columns
    return [SelectChoice(c, f"{c} · {in_language(name, en, language)}") for c, name, en in types]


def _people_choices(*, role: str | None = None, exclude: int | None = None):
    return person_choices(role=role, exclude_id=exclude)


# Lists ---------------------------------------------------------------------------


def _filters() -> dict:
    status = request.args.get("status") or None
    if status is not None and status not in DOCUMENT_STATUSES:
        status = None
    return {
        "type_code": request.args.get("type") or None,
        "department": request.args.get("department") or None,
        "status": status,
        "q": (request.args.get("q") or "").strip() or None,
    }


@bp.get("/documents")
def index():
    filters = _filters()
    if filters["q"]:
        # A number typed exactly opens that document.
        exact = db.session.scalar(select(Document).where(Document.number == filters["q"].upper()))
        if exact is not None and can_view_document(current_user, exact):
            return redirect(url_for("documents.show", number=exact.number))
    pagination = paginate_rows(
        services.document_list_query(current_user, **filters), per_page=PER_PAGE
    )
    # Plain values per row, and each status badge rendered once per page rather than once
    # per row: the list is the most requested page (issue 20's load figures).
    language = current_language()
    show = url_builder("documents.show", "number")
    rows = [
        {
            "url": show(r.number),
            "number": r.number,
            "title": in_language(r.title, r.title_en, language),
            "confidential": r.confidentiality == "confidential",
            "department": r.department,
            "revision": f"{r.major}/{r.minor}" if r.major is not None else None,  # .label
            "effective_date": r.effective_date,
            "review_due_date": r.review_due_date,
            "status": r.status,
        }
        for r in pagination.items
    ]
    status_badge = get_template_attribute("documents/_macros.html", "status_badge")
    badges = {s: status_badge(s, DOCUMENT_STATUSES) for s in {r["status"] for r in rows}}
    return render_template(
        "documents/index.html",
        pagination=pagination,
        rows=rows,
        badges=badges,
        filters=filters,
        types=_type_choices(),
        departments=department_choices(),
        statuses=DOCUMENT_STATUSES,
        can_create=can_create_document(current_user),
    )


@bp.get("/master-list")
def master_list():
    # A bad status or format is a ValidationFailed: a 400 page in the user's language.
    filters = exports.master_list_filters(request.args)
    rows = services.master_list(db.session, current_user, **filters)
    fmt = request.args.get("format", "html")
    if fmt != "html":
        return exports.master_list_download(rows, fmt, filters)
    return render_template(
        "documents/master_list.html",
        rows=rows,
        filters=filters,
        status_arg=request.args.get("status") or "effective",
        types=_type_choices(),
        departments=department_choices(),
        statuses=DOCUMENT_STATUSES,
    )


@bp.get("/my-work")
def my_work():
    work = services.my_work(db.session, current_user)
    due = []
    if can_manage_document(current_user):
        due = services.reviews_due(db.session, local_today())
    return render_template(
        "documents/my_work.html", work=work, reviews_due=due, today=local_today()
    )


# A document -----------------------------------------------------------------------


@bp.route("/documents/new", methods=["GET", "POST"])
def new():
    _require(can_create_document(current_user))
    form = DocumentForm()
    form.type.choices = _type_choices()
    form.department.choices = department_choices()
    if not form.is_submitted():
        form.department.data = current_user.department.code if current_user.department else ""
        form.parent.data = request.args.get("parent", "")
        form.type.data = request.args.get("type", "QP")

    def create():
        department = None
        parent_number = (form.parent.data or "").strip().upper() or None
        if parent_number:
            department = services.visible_parent(db.session, current_user, parent_number).department
        elif form.department.data:
            department = people.get_department(db.session, form.department.data)
        if department is not None and not can_create_in(current_user, department):
            raise PermissionDenied(N_("You can register documents of your own department only."))
        return services.create_document(
            db.session,
            current_user,
            type_code=form.type.data,
            title=form.title.data,
            title_en=form.title_en.data,
            department=department,
            parent_number=parent_number,
            training_required=form.training_required.data,
            review_interval_months=form.review_interval_months.data,
            confidentiality=form.confidentiality.data,
        )

    def done(doc):
        flash(_("%(number)s registered. Now add its first revision.", number=doc.number), "success")
        return redirect(url_for("documents.new_revision", number=doc.number))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (render_template("documents/new.html", form=form), status),
    )


def _render_document(doc: Document, status: int = 200, **forms):
    revisions = [r for r in doc.revisions if can_view_revision(current_user, r)]
    # filtered in SQL: can_view_document would load each child's revisions
    children = db.session.scalars(
        select(Document)
        .where(Document.parent_id == doc.id, visible_documents(current_user))
        .order_by(Document.number)
    ).all()
    events = []
    if can_view_audit_trail(current_user, doc.ref):
        events = db.session.scalars(
            events_for(doc.ref, newest_first=True).limit(RECENT_EVENTS)
        ).all()
    manage = can_manage_document(current_user, doc)
    return render_template(
        "documents/show.html",
        doc=doc,
        revisions=revisions,
        current=services.effective_revision(doc),
        open_revision=services.open_revision(doc),
        children=children,
        events=events,
        can_add_revision=can_add_revision(current_user, doc),
        can_manage=manage,
        withdraw_form=forms.get("withdraw_form") or (WithdrawForm() if manage else None),
        confirm_form=forms.get("confirm_form") or (ConfirmReviewForm() if manage else None),
        title_form=forms.get("title_form") or (EnglishTitleForm(obj=doc) if manage else None),
        today=local_today(),
        # the features built on documents add their parts: who holds which copy
        # (distribution), the external documents cited (external)
        **signals.contributions(signals.document_page, doc, session=db.session, user=current_user),
    ), status


@bp.get("/documents/<number>")
def show(number: str):
    return _render_document(_load_document(number))


@bp.post("/documents/<number>/withdraw")
def withdraw(number: str):
    doc = _load_document(number)
    _require(can_manage_document(current_user, doc))
    form = WithdrawForm()

    def done(_doc):
        flash(_("%(number)s is withdrawn (obsolete).", number=doc.number), "success")
        return redirect(url_for("documents.show", number=doc.number))

    return run_form(
        form,
        lambda: services.withdraw(
            db.session, current_user, doc, reason=form.reason.data, password=form.password.data
        ),
        on_success=done,
        render=lambda status: _render_document(doc, status, withdraw_form=form),
    )


@bp.post("/documents/<number>/english-title")
def english_title(number: str):
    doc = _load_document(number)
    _require(can_manage_document(current_user, doc))
    form = EnglishTitleForm()

    def done(_result):
        flash(_("The English title of %(number)s is saved.", number=doc.number), "success")
        return redirect(url_for("documents.show", number=doc.number))

    return run_form(
        form,
        lambda: services.set_english_title(db.session, current_user, doc, form.title_en.data),
        on_success=done,
        render=lambda status: _render_document(doc, status, title_form=form),
    )


@bp.post("/documents/<number>/confirm-review")
def confirm_review(number: str):
    doc = _load_document(number)
    _require(can_manage_document(current_user, doc))
    form = ConfirmReviewForm()

    def done(_doc):
        flash(
            _("Periodic review confirmed; next review due %(day)s.", day=doc.review_due_date),
            "success",
        )
        return redirect(url_for("documents.show", number=doc.number))

    return run_form(
        form,
        lambda: services.confirm_review(
            db.session, current_user, doc, password=form.password.data, comment=form.comment.data
        ),
        on_success=done,
        render=lambda status: _render_document(doc, status, confirm_form=form),
    )


# Revisions ---------------------------------------------------------------------------


@bp.route("/documents/<number>/revisions/new", methods=["GET", "POST"])
def new_revision(number: str):
    doc = _load_document(number)
    _require(can_add_revision(current_user, doc))
    form = RevisionForm()
    if not form.is_submitted() and request.args.get("reason"):
        # a reason handed over by the page that asks for the revision (an NC's closing
        # prompt: "Corrective action of NC-2026-0007")
        form.change_reason.data = request.args["reason"][:4000]
    first = not doc.revisions or all(r.status == "cancelled" for r in doc.revisions)

    def create():
        upload = checked_upload(form.file.data) if form.source.data == "upload" else None
        return services.add_revision(
            db.session,
            current_user,
            doc,
            get_store(current_app),
            change_summary=form.change_summary.data,
            change_reason=form.change_reason.data,
            change_type=form.change_type.data,
            upload=upload,
            from_template=form.source.data == "template",
        )

    def done(revision):
        flash(_("Revision %(label)s created as a draft.", label=revision.label), "success")
        return redirect(revision_url(revision))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (
            render_template("documents/new_revision.html", form=form, doc=doc, first=first),
            status,
        ),
    )


def revision_url(revision: Revision, endpoint: str = "documents.revision", **kw) -> str:
    return url_for(endpoint, number=revision.document.number, rev=revision.path_label, **kw)


def _render_revision(revision: Revision, status: int = 200, **forms):
    doc = revision.document
    task = pending_task(current_user, revision)
    editable = revision.status == "draft" and can_edit_revision(current_user, revision)
    submit_form = forms.get("submit_form")
    if editable and submit_form is None:
        submit_form = SubmitForm()
        last = [p for p in revision.participants if p.round == revision.review_round]
        submit_form.reviewers.data = [p.user.username for p in last if p.role == "reviewer"]
        submit_form.approvers.data = [p.user.username for p in last if p.role == "approver"]
    if submit_form is not None:
        submit_form.reviewers.choices = _people_choices(exclude=revision.author_id)
        submit_form.approvers.choices = _people_choices(role="approver", exclude=revision.author_id)
    content_html = exports.revision_html(revision)
    return render_template(
        "documents/revision.html",
        doc=doc,
        revision=revision,
        task=task,
        editable=editable,
        content_html=content_html,
        submit_form=submit_form,
        replace_form=forms.get("replace_form") or (ReplaceFileForm() if editable else None),
        cancel_form=forms.get("cancel_form") or (CancelForm() if editable else None),
        review_form=forms.get("review_form")
        or (ReviewForm() if task is not None and task.role == "reviewer" else None),
        approve_form=forms.get("approve_form")
        or (ApproveForm() if task is not None and task.role == "approver" else None),
        rounds=sorted({p.round for p in revision.participants}, reverse=True),
        # who holds which copy of the revision (distribution)
        **signals.contributions(
            signals.revision_page, revision, session=db.session, user=current_user
        ),
    ), status


@bp.get("/documents/<number>/revisions/<rev>")
def revision(number: str, rev: str):
    return _render_revision(_load_revision(number, rev))


@bp.get("/documents/<number>/revisions/<rev>/file")
def revision_file(number: str, rev: str):
    revision = _load_revision(number, rev)
    inline = request.args.get("inline") == "1" and revision.file_kind == "pdf"
    response = exports.send_revision_file(revision, as_attachment=not inline)
    if inline:  # shown in a frame of the revision page
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/documents/<number>/revisions/<rev>/pdf")
def revision_pdf(number: str, rev: str):
    """Download PDF (uncontrolled / obsolete / draft print) or, with ``copy``, the officer's
    controlled copy. Errors (not permitted, copy recalled) are pages in the user's
    language."""
    return exports.revision_pdf_response(_load_revision(number, rev), request.args.get("copy"))


def _revision_action(revision: Revision, form, action, *, form_name: str, message):
    """Shared shape of the revision page's POST actions: on an error the revision page
    is shown again with the form's messages."""

    def done(_result):
        flash(message(revision), "success")
        return redirect(revision_url(revision))

    return run_form(
        form,
        lambda: action(revision),
        on_success=done,
        render=lambda status: _render_revision(revision, status, **{form_name: form}),
    )


@bp.post("/documents/<number>/revisions/<rev>/file")
def replace_file(number: str, rev: str):
    revision = _load_revision(number, rev)
    _require(can_edit_revision(current_user, revision))
    form = ReplaceFileForm()

    def act(revision):
        upload = checked_upload(form.file.data)
        if upload is None:
            raise ValidationFailed(N_("Please choose a file."), fields={"file": N_("required")})
        return services.replace_file(
            db.session, current_user, revision, get_store(current_app), upload
        )

    return _revision_action(
        revision,
        form,
        act,
        form_name="replace_form",
        message=lambda r: _("The file of %(label)s was replaced.", label=r.label),
    )


@bp.post("/documents/<number>/revisions/<rev>/submit")
def submit(number: str, rev: str):
    revision = _load_revision(number, rev)
    _require(can_edit_revision(current_user, revision))
    form = SubmitForm()

    def act(revision):
        def users(names):
            try:
                return [people.get_user(db.session, n) for n in names]
            except NotFound as err:
                raise ValidationFailed(
                    err.message, fields={"reviewers": N_("invalid")}, **err.params
                ) from None

        return services.submit(
            db.session,
            current_user,
            revision,
            reviewers=users(form.reviewers.data or []),
            approvers=users(form.approvers.data or []),
        )

    return _revision_action(
        revision,
        form,
        act,
        form_name="submit_form",
        message=lambda r: _("%(label)s was sent for review and approval.", label=r.label),
    )


@bp.post("/documents/<number>/revisions/<rev>/review")
def review(number: str, rev: str):
    form = ReviewForm()

    def act(revision):
        return services.review(
            db.session,
            current_user,
            revision,
            decision=form.decision.data,
            password=form.password.data,
            comment=form.comment.data,
        )

    def message(revision):
        if revision.status == "draft":
            return _("%(label)s was returned to the author.", label=revision.label)
        return _("Your review of %(label)s is signed.", label=revision.label)

    revision = _load_revision(number, rev)
    _require(can_sign_revision(current_user, revision))
    return _revision_action(revision, form, act, form_name="review_form", message=message)


@bp.post("/documents/<number>/revisions/<rev>/approve")
def approve(number: str, rev: str):
    form = ApproveForm()

    def act(revision):
        if form.decision.data == "reject":  # an approver returns it to the author
            return services.review(
                db.session,
                current_user,
                revision,
                decision="reject",
                password=form.password.data,
                comment=form.comment.data,
            )
        return services.approve(
            db.session,
            current_user,
            revision,
            password=form.password.data,
            effective_date=form.effective_date.data,
            comment=form.comment.data,
        )

    def message(revision):
        if revision.status == "draft":
            return _("%(label)s was returned to the author.", label=revision.label)
        if revision.status == "effective":
            return _("%(label)s is approved and effective.", label=revision.label)
        if revision.status == "approved":
            return _(
                "%(label)s is approved; it becomes effective on %(day)s.",
                label=revision.label,
                day=revision.effective_date,
            )
        return _("Your approval of %(label)s is signed.", label=revision.label)

    revision = _load_revision(number, rev)
    _require(can_sign_revision(current_user, revision))
    return _revision_action(revision, form, act, form_name="approve_form", message=message)


@bp.post("/documents/<number>/revisions/<rev>/cancel")
def cancel(number: str, rev: str):
    revision = _load_revision(number, rev)
    _require(can_edit_revision(current_user, revision))
    form = CancelForm()
    return _revision_action(
        revision,
        form,
        lambda r: services.cancel(db.session, current_user, r, reason=form.reason.data),
        form_name="cancel_form",
        message=lambda r: _("Draft %(label)s was cancelled.", label=r.label),
    )


# Document types (administrator) -----------------------------------------------------


@bp.get("/admin/document-types")
def types():
    _require(can_manage_document_types(current_user))
    rows = db.session.scalars(select(DocumentType).order_by(DocumentType.level, DocumentType.code))
    return render_template("documents/types.html", types=rows.all())


@bp.route("/admin/document-types/<code>/edit", methods=["GET", "POST"])
def type_edit(code: str):
    _require(can_manage_document_types(current_user))
    doc_type = db.session.scalar(select(DocumentType).where(DocumentType.code == code))
    if doc_type is None:
        abort(404)
    form = DocumentTypeForm(obj=doc_type)
    if not form.is_submitted():
        form.retention_years.data = (doc_type.retention or {}).get("years")
        form.retention_from.data = (doc_type.retention or {}).get("from", "superseded")

    def save():
        return services.update_type(
            db.session,
            current_user,
            doc_type,
            name=form.name.data,
            name_en=form.name_en.data,
            level=form.level.data,
            number_pattern=form.number_pattern.data,
            review_interval_months=form.review_interval_months.data,
            retention_years=form.retention_years.data,
            retention_from=form.retention_from.data,
            is_active=form.is_active.data,
        )

    def done(_t):
        flash(_("Document type %(code)s saved.", code=doc_type.code), "success")
        return redirect(url_for("documents.types"))

    return run_form(
        form,
        save,
        on_success=done,
        render=lambda status: (
            render_template("documents/type_form.html", form=form, doc_type=doc_type),
            status,
        ),
    )
