from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.distribution.models import DEFAULT_ACKNOWLEDGE_DAYS, DISPOSITIONS


class IssueForm(FlaskForm):
    """The issue form's own fields; its recipient rows (``recipient-N``, ``location-N``,
    ``custodian-N``, ``medium-N``, ``copies-N``) are read by the view."""

    training_required = BooleanField(_l("Staff must read and acknowledge it"))
    acknowledge_within_days = IntegerField(
        _l("Acknowledge within (days)"),
        default=DEFAULT_ACKNOWLEDGE_DAYS,
        validators=[Optional(), NumberRange(min=1, max=365)],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class SignForm(FlaskForm):
    """A signature needing only the signer's password (receipt, read and understood)."""

    password = PasswordField(_l("Your password"), validators=[DataRequired()])


class ReturnForm(FlaskForm):
    returned_by = StringField(
        _l("Returned by (username or name)"), validators=[DataRequired(), Length(max=120)]
    )
    disposition = SelectField(
        _l("Disposition"),
        choices=[SelectChoice(k, _l(v)) for k, v in DISPOSITIONS.items()],
        validate_choice=False,
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
