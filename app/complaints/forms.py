"""The forms of the complaint pages: quick intake, a recovery step, close, escalate,
reopen, compensation approval, opening an NC, and the officer's categories and settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.complaints.models import CHANNELS, STEPS


class IntakeForm(FlaskForm):
    """Quick intake: the fields in the order the hotline asks them; Enter submits."""

    customer_name = StringField(_l("Customer"), validators=[DataRequired(), Length(max=200)])
    customer_contact = StringField(_l("Contact"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    request = StringField(
        _l("What the customer asks for"), validators=[DataRequired(), Length(max=4000)]
    )
    site = StringField(_l("Service site"), validators=[Optional(), Length(max=200)])
    channel = SelectField(
        _l("Channel"),
        choices=[SelectChoice(k, _l(v)) for k, v in CHANNELS.items()],
        default="hotline",
        validate_choice=False,
    )
    department = SelectField(_l("Handling department"), choices=[], validate_choice=False)
    commitment = StringField(_l("Commitment concerned"), validators=[Optional(), Length(max=4000)])
    received_at = DateTimeLocalField(
        _l("Received at"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )


class StepForm(FlaskForm):
    step = SelectField(
        _l("Recovery step"),
        choices=[SelectChoice(k, _l(v)) for k, v in STEPS.items()],
        validate_choice=False,
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])
    at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    value = DecimalField(_l("Amount (compensation)"), validators=[Optional()], places=2)
    satisfaction = SelectField(
        _l("Customer's satisfaction (follow-up)"),
        choices=[SelectChoice("", "—")] + [SelectChoice(str(n), str(n)) for n in range(5, 0, -1)],
        validate_choice=False,
    )
    under_way = BooleanField(_l("Restoration under way (not done yet)"))


class CloseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (required when steps were skipped)"), validators=[Optional(), Length(max=4000)]
    )


class EscalateForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])


class ApproveForm(FlaskForm):
    password = PasswordField(_l("Your password (electronic signature)"))


class OpenNcForm(FlaskForm):
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=4000)])
    severity = SelectField(
        _l("Severity"),
        choices=[SelectChoice("minor", _l("Minor")), SelectChoice("major", _l("Major"))],
        validate_choice=False,
    )


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    apology = IntegerField(
        _l("Apology within (hours)"), validators=[Optional(), NumberRange(1, 8784)]
    )
    restoration = IntegerField(
        _l("Restoration within (hours)"), validators=[Optional(), NumberRange(1, 8784)]
    )
    empathy = IntegerField(
        _l("Empathy within (hours)"), validators=[Optional(), NumberRange(1, 8784)]
    )
    compensation = IntegerField(
        _l("Compensation within (hours)"), validators=[Optional(), NumberRange(1, 8784)]
    )
    follow_up = IntegerField(
        _l("Follow-up within (hours)"), validators=[Optional(), NumberRange(1, 8784)]
    )
    active = BooleanField(_l("Active"), default=True)


class SettingsForm(FlaskForm):
    approval_above = DecimalField(
        _l("Compensation needs approval above"), validators=[DataRequired()], places=2
    )
    repeat_days = IntegerField(
        _l("Repeat window (days)"), validators=[DataRequired(), NumberRange(1, 3650)]
    )
    first_contact_minutes = IntegerField(
        _l("First contact (minutes)"), validators=[DataRequired(), NumberRange(1, 3650)]
    )
    auto_nc_on_breach = BooleanField(_l("Open a nonconformity on a breach"))
    auto_nc_on_repeat = BooleanField(_l("Open a nonconformity on a repeat"))
