"""Forms of the retention pages: proposing a batch, approving or rejecting it, placing
and lifting a legal hold. Signing forms carry the signer's password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.retention.models import HOLD_KINDS, METHODS


class ProposeForm(FlaskForm):
    method = SelectField(
        _l("Method of destruction"),
        choices=[SelectChoice("", "—"), *(SelectChoice(k, _l(v)) for k, v in METHODS.items())],
        validate_choice=False,
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])


class ApproveForm(FlaskForm):
    witness = StringField(_l("Witness"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Your password, to sign"), validators=[DataRequired()])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])


class HoldForm(FlaskForm):
    kind = SelectField(
        _l("Hold"),
        choices=[SelectChoice(k, _l(v)) for k, v in HOLD_KINDS.items()],
        validate_choice=False,
    )
    key = StringField(_l("Number or code"), validators=[DataRequired(), Length(max=64)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])
    password = PasswordField(_l("Your password, to sign"), validators=[DataRequired()])


class LiftForm(FlaskForm):
    reason = TextAreaField(_l("Reason for lifting"), validators=[DataRequired(), Length(max=4000)])
    password = PasswordField(_l("Your password, to sign"), validators=[DataRequired()])
