from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.documents.models import CHANGE_TYPES, CONFIDENTIALITY, RETENTION_FROM


class DocumentForm(FlaskForm):
    type = SelectField(_l("Type"), choices=[], validate_choice=False)
    department = SelectField(_l("Owning department"), choices=[], validate_choice=False)
    parent = StringField(_l("Parent document (forms)"), validators=[Optional(), Length(max=64)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("English title"), validators=[Optional(), Length(max=200)])
    confidentiality = SelectField(
        _l("Confidentiality"),
        choices=[SelectChoice(k, _l(v)) for k, v in CONFIDENTIALITY.items()],
        default="internal",
        validate_choice=False,
    )
    training_required = BooleanField(_l("Staff must read and acknowledge it"))
    review_interval_months = IntegerField(
        _l("Periodic review every (months)"),
        validators=[Optional(), NumberRange(min=1, max=120)],
    )


class RevisionForm(FlaskForm):
    change_type = SelectField(
        _l("Change"),
        choices=[SelectChoice(k, _l(v)) for k, v in CHANGE_TYPES.items()],
        default="minor",
        validate_choice=False,
    )
    change_summary = TextAreaField(
        _l("What changed"), validators=[DataRequired(), Length(max=4000)]
    )
    change_reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=4000)])
    source = RadioField(
        _l("Content"),
        choices=[
            SelectChoice("upload", _l("Upload a .docx or .pdf file")),
            SelectChoice("template", _l("Start from the template (.docx)")),
        ],
        default="upload",
        validate_choice=False,
    )
    file = FileField(_l("File"))


class EnglishTitleForm(FlaskForm):
    title_en = StringField(_l("English title"), validators=[Optional(), Length(max=200)])


class ReplaceFileForm(FlaskForm):
    file = FileField(_l("Corrected file"), validators=[DataRequired()])


class SubmitForm(FlaskForm):
    reviewers = SelectMultipleField(_l("Reviewers"), choices=[], validate_choice=False)
    approvers = SelectMultipleField(_l("Approvers"), choices=[], validate_choice=False)


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Reviewed: I agree")),
            SelectChoice("reject", _l("Reject: return to the author")),
        ],
        validators=[InputRequired()],
        validate_choice=False,
    )
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class ApproveForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Approve")),
            SelectChoice("reject", _l("Reject: return to the author")),
        ],
        default="approve",
        validators=[InputRequired()],
        validate_choice=False,
    )
    effective_date = DateField(_l("Effective from"), validators=[Optional()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class ConfirmReviewForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=4000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class DocumentTypeForm(FlaskForm):
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=80)])
    level = IntegerField(_l("Level"), validators=[InputRequired(), NumberRange(min=0, max=9)])
    number_pattern = StringField(
        _l("Numbering pattern"), validators=[DataRequired(), Length(max=80)]
    )
    review_interval_months = IntegerField(
        _l("Default review interval (months)"),
        validators=[InputRequired(), NumberRange(min=1, max=120)],
    )
    retention_years = IntegerField(
        _l("Keep for (years)"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    retention_from = SelectField(
        _l("Counted from"),
        choices=[SelectChoice(k, _l(v)) for k, v in RETENTION_FROM.items()],
        validate_choice=False,
    )
    is_active = BooleanField(_l("Active"))
