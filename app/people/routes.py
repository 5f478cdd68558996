"""Administration of departments and users (administrators only)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.errors import DomainError, NotFound
from app.extensions import db, utcnow
from app.i18n import translate_error
from app.people import services
from app.people.forms import (
    DepartmentForm,
    ResetPasswordForm,
    UserForm,
    department_choices,
    person_choices,
)
from app.people.models import Department, User
from app.people.permissions import can_manage_people
from app.web import run_form

bp = Blueprint("people", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not can_manage_people(current_user):
        abort(403)


def _load_department(code: str) -> Department:
    try:
        return services.get_department(db.session, code)
    except NotFound:
        abort(404)


def _load_user(username: str) -> User:
    try:
        return services.get_user(db.session, username)
    except NotFound:
        abort(404)


def _user_choices():
    return person_choices(blank=True)


@bp.get("/departments")
def departments():
    return render_template("people/departments.html", departments=services.departments(db.session))


@bp.route("/departments/new", methods=["GET", "POST"])
def department_new():
    form = DepartmentForm()
    form.head.choices = _user_choices()

    def create():
        dept = services.create_department(
            db.session, current_user, form.code.data, form.name.data, form.name_en.data
        )
        if form.head.data:
            head = services.get_user(db.session, form.head.data)
            services.update_department(
                db.session,
                current_user,
                dept,
                name=dept.name,
                name_en=dept.name_en,
                head=head,
                is_active=True,
            )
        return dept

    def done(dept):
        flash(_("Department %(code)s created.", code=dept.code), "success")
        return redirect(url_for("people.departments"))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (
            render_template("people/department_form.html", form=form, dept=None),
            status,
        ),
    )


@bp.route("/departments/<code>/edit", methods=["GET", "POST"])
def department_edit(code: str):
    dept = _load_department(code)
    form = DepartmentForm(obj=dept)
    form.code.data = dept.code  # immutable: numbers are built from it
    form.head.choices = _user_choices()
    if not form.is_submitted():
        form.head.data = dept.head.username if dept.head else ""

    def save():
        head = services.get_user(db.session, form.head.data) if form.head.data else None
        return services.update_department(
            db.session,
            current_user,
            dept,
            name=form.name.data,
            name_en=form.name_en.data,
            head=head,
            is_active=form.is_active.data,
        )

    def done(_dept):
        flash(_("Department %(code)s saved.", code=dept.code), "success")
        return redirect(url_for("people.departments"))

    return run_form(
        form,
        save,
        on_success=done,
        render=lambda status: (
            render_template("people/department_form.html", form=form, dept=dept),
            status,
        ),
    )


@bp.get("/users")
def users():
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("people/users.html", users=rows, now=utcnow())


def _department_or_none(code: str | None) -> Department | None:
    return services.get_department(db.session, code) if code else None


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    form.department.choices = department_choices(blank=True)

    def create():
        return services.create_user(
            db.session,
            current_user,
            username=form.username.data,
            full_name=form.full_name.data,
            email=form.email.data,
            department=_department_or_none(form.department.data),
            language=form.language.data or None,
            roles=form.roles.data,
            password=form.password.data or "",
            password_min_length=current_app.config["QDMS_PASSWORD_MIN_LENGTH"],
        )

    def done(user):
        flash(_("User %(username)s created.", username=user.username), "success")
        return redirect(url_for("people.users"))

    return run_form(
        form,
        create,
        on_success=done,
        render=lambda status: (
            render_template("people/user_form.html", form=form, user=None),
            status,
        ),
    )


@bp.route("/users/<username>/edit", methods=["GET", "POST"])
def user_edit(username: str):
    user = _load_user(username)
    form = UserForm(obj=user)
    form.username.data = user.username  # immutable
    form.department.choices = department_choices(blank=True)
    if not form.department.raw_data:  # not posted: the person's department, as its code
        form.department.data = user.department.code if user.department else ""
    if not form.is_submitted():
        form.language.data = user.language or ""
        form.roles.data = user.roles

    def save():
        return services.update_user(
            db.session,
            current_user,
            user,
            full_name=form.full_name.data,
            email=form.email.data,
            department=_department_or_none(form.department.data),
            language=form.language.data or None,
            roles=form.roles.data,
            is_active=form.is_active.data,
        )

    def done(_user):
        flash(_("User %(username)s saved.", username=user.username), "success")
        return redirect(url_for("people.users"))

    return run_form(
        form,
        save,
        on_success=done,
        render=lambda status: (
            render_template(
                "people/user_form.html", form=form, user=user, reset_form=ResetPasswordForm()
            ),
            status,
        ),
    )


@bp.post("/users/<username>/password")
def user_reset_password(username: str):
    user = _load_user(username)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(
                db.session,
                current_user,
                user,
                form.password.data,
                min_length=current_app.config["QDMS_PASSWORD_MIN_LENGTH"],
            )
        except DomainError as err:
            db.session.rollback()
            flash(translate_error(err), "danger")
            return redirect(url_for("people.user_edit", username=user.username))
        flash(_("The password of %(username)s has been reset.", username=user.username), "success")
    else:
        flash(_("Please enter the new password."), "danger")
    return redirect(url_for("people.user_edit", username=user.username))
