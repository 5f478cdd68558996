"""People's forms, and the choices of a person or a department that every feature's forms
offer (reviewers, recipients, holders, a record's person fields, owning departments)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.extensions import db
from app.i18n import current_language, language_choices
from app.people.models import ROLE_LABELS, ROLES
from app.people.services import departments, people_to_choose


def person_choices(*, role: str | None = None, exclude_id: int | None = None, blank=False):
    """Select choices ``username → "Full Name (username)"`` of the people one may choose
    (:func:`app.people.services.people_to_choose`: active, sorted for the reader's
    language); ``blank`` puts "—" first."""
    people = people_to_choose(
        db.session, language=current_language(), role=role, exclude_id=exclude_id
    )
    choices = [SelectChoice("", "—")] if blank else []
    return choices + [SelectChoice(u.username, f"{u.full_name} ({u.username})") for u in people]


def department_choices(*, blank: bool = False, prefix: str = "") -> list[SelectChoice]:
    """The active departments as form choices (``CS 客户服务部`` / ``CS Customer
    Service``), valued by code (after ``prefix``)."""
    language = current_language()
    choices = [SelectChoice("", "—")] if blank else []
    return choices + [
        SelectChoice(f"{prefix}{d.code}", f"{d.code} {d.name_in(language)}")
        for d in departments(db.session, active_only=True)
    ]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=10)])
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=120)])
    head = SelectField(_l("Head of department"), choices=[], validate_choice=False)
    is_active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    language = SelectField(_l("Language"), choices=language_choices(True), validate_choice=False)
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(r, _l(ROLE_LABELS[r])) for r in ROLES],
        validate_choice=False,
    )
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=256)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
