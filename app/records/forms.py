"""Forms of the records pages. A record's own fields come from its type's form (see
``routes.values_from``); these carry what every record form has: the CSRF token, a title,
the signing password, and for amendments the reason."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.records.models import CONFIDENTIALITY, MEDIA, RETENTION_FROM
from app.records.services import MAX_RETENTION_YEARS


class RecordForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)])
    scan = FileField(_l("Scan (PDF, JPEG or PNG)"))
    password = PasswordField(_l("Your password, to sign"), validators=[Optional()])


class AmendForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the correction"), validators=[DataRequired(), Length(max=4000)]
    )
    password = PasswordField(_l("Your password, to sign"), validators=[Optional()])


class CompleteForm(FlaskForm):
    pass


class RecordTypeForm(FlaskForm):
    code = StringField(
        _l("Code (usually the form's number)"), validators=[DataRequired(), Length(max=40)]
    )
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    department = SelectField(_l("Owning department"), choices=[], validate_choice=False)
    retention_years = IntegerField(
        _l("Keep for (years)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_RETENTION_YEARS)],
    )
    retention_from = SelectField(
        _l("Counted from"),
        choices=[SelectChoice(k, _l(v)) for k, v in RETENTION_FROM.items()],
        validate_choice=False,
    )
    medium = SelectField(
        _l("Storage medium"),
        choices=[SelectChoice(k, _l(v)) for k, v in MEDIA.items()],
        validate_choice=False,
    )
    location = StringField(_l("Storage location"), validators=[Optional(), Length(max=200)])
    confidentiality = SelectField(
        _l("Confidentiality"),
        choices=[SelectChoice(k, _l(v)) for k, v in CONFIDENTIALITY.items()],
        default="confidential",  # records hold personal data: "internal" is chosen
        validate_choice=False,
    )
    fields_json = TextAreaField(_l("Form fields"), validators=[DataRequired()])
