from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.external.models import CHECK_OUTCOMES, KINDS
from app.external.services import DEFAULT_INTERVAL_MONTHS, MAX_INTERVAL_MONTHS


class ExternalDocumentForm(FlaskForm):
    reference = StringField(_l("External reference"), validators=[DataRequired(), Length(max=120)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    publisher = StringField(_l("Publisher"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k, _l(label)) for k, label in KINDS.items()],
        validate_choice=False,
    )
    department = SelectField(_l("Owning department"), choices=[], validate_choice=False)
    holder = SelectField(_l("Holder"), choices=[], validate_choice=False)
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    check_interval_months = IntegerField(
        _l("Check for a newer edition every (months)"),
        default=DEFAULT_INTERVAL_MONTHS,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_INTERVAL_MONTHS)],
    )


class EditionFields(FlaskForm):
    edition = StringField(_l("Edition"), validators=[DataRequired(), Length(max=60)])
    published_on = DateField(_l("Publication date"), validators=[Optional()])
    effective_on = DateField(_l("Effective date"), validators=[Optional()])
    received_on = DateField(_l("Date received"), validators=[Optional()])
    file = FileField(_l("Copy of the edition (.pdf or .docx, optional)"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])


class RegisterForm(ExternalDocumentForm, EditionFields):
    """Registration: the entry's details and its first edition."""


class EditionForm(EditionFields):
    reference = StringField(
        _l("External reference of this edition"), validators=[Optional(), Length(max=120)]
    )


class CheckForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=[SelectChoice(k, _l(label)) for k, label in CHECK_OUTCOMES.items()],
        validate_choice=False,
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])


class CiteForm(FlaskForm):
    document = SelectField(_l("Internal document"), choices=[], validate_choice=False)


class UnciteForm(FlaskForm):
    pass


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for withdrawing"), validators=[DataRequired(), Length(max=4000)]
    )
