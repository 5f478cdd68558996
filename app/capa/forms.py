"""The forms of the nonconformity pages (one per gated step)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.capa.models import ACTION_TYPES, CAUSE_CATEGORIES, SEVERITIES, SOURCES
from app.people.forms import MultiCheckboxField

PLAN_ROWS = 5  # action rows offered by the plan form; empty rows are ignored


class ReportForm(FlaskForm):
    description = TextAreaField(
        _l("What went wrong?"), validators=[DataRequired(), Length(max=8000)]
    )
    department = SelectField(_l("Department concerned"), choices=[], validate_choice=False)
    severity = SelectField(
        _l("Severity"),
        choices=[SelectChoice(k, _l(v)) for k, v in SEVERITIES.items()],
        default="minor",
        validate_choice=False,
    )
    source = SelectField(
        _l("Source"),
        choices=[SelectChoice(k, _l(v)) for k, v in SOURCES.items()],
        default="internal",
        validate_choice=False,
    )
    links = StringField(
        _l("Documents or records concerned (numbers, separated by commas)"),
        validators=[Optional(), Length(max=2000)],
    )


class ContainmentForm(FlaskForm):
    text = TextAreaField(
        _l("What was done at once, and about the consequences?"),
        validators=[DataRequired(), Length(max=8000)],
    )


class AnalysisForm(FlaskForm):
    why1 = StringField(_l("Why? (1)"), validators=[Optional(), Length(max=2000)])
    why2 = StringField(_l("Why? (2)"), validators=[Optional(), Length(max=2000)])
    why3 = StringField(_l("Why? (3)"), validators=[Optional(), Length(max=2000)])
    why4 = StringField(_l("Why? (4)"), validators=[Optional(), Length(max=2000)])
    why5 = StringField(_l("Why? (5)"), validators=[Optional(), Length(max=2000)])
    categories = MultiCheckboxField(
        _l("Cause categories"),
        choices=[SelectChoice(k, _l(v)) for k, v in CAUSE_CATEGORIES.items()],
        validate_choice=False,
    )
    similar = StringField(
        _l("Similar nonconformities (numbers, separated by commas)"),
        validators=[Optional(), Length(max=2000)],
    )
    similar_elsewhere = TextAreaField(
        _l("Does a similar nonconformity exist, or could it occur elsewhere?"),
        validators=[DataRequired(), Length(max=8000)],
    )

    @property
    def whys(self) -> list[str]:
        return [f.data for f in (self.why1, self.why2, self.why3, self.why4, self.why5) if f.data]


class ActionRow(Form):
    text = StringField(_l("Action"), validators=[Optional(), Length(max=4000)])
    type = SelectField(
        _l("Type"),
        choices=[SelectChoice(k, _l(v)) for k, v in ACTION_TYPES.items()],
        default="corrective",
        validate_choice=False,
    )
    owner = SelectField(_l("Owner"), choices=[], validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])


class PlanForm(FlaskForm):
    actions = FieldList(FormField(ActionRow), min_entries=PLAN_ROWS, max_entries=PLAN_ROWS)
    criterion = TextAreaField(
        _l("Effectiveness criterion"), validators=[DataRequired(), Length(max=8000)]
    )
    check_date = DateField(_l("Date of the effectiveness check"), validators=[DataRequired()])
    rule_kind = SelectField(_l("Check by data"), choices=[], validate_choice=False)
    rule_days = IntegerField(
        _l("Window (days)"), validators=[Optional(), NumberRange(min=1, max=3650)]
    )
    rule_department = SelectField(_l("Department"), choices=[], validate_choice=False)
    rule_category = SelectField(
        _l("Cause category"),
        choices=[SelectChoice("", "—")]
        + [SelectChoice(k, _l(v)) for k, v in CAUSE_CATEGORIES.items()],
        validate_choice=False,
    )
    rule_record_type = StringField(_l("Record type"), validators=[Optional(), Length(max=40)])
    rule_field = StringField(_l("Field"), validators=[Optional(), Length(max=100)])
    rule_value = StringField(_l("Value"), validators=[Optional(), Length(max=200)])
    rule_kpi = StringField(_l("KPI code"), validators=[Optional(), Length(max=40)])
    rule_threshold = DecimalField(_l("Threshold"), validators=[Optional()])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class ActionDoneForm(FlaskForm):
    evidence = TextAreaField(
        _l("Evidence that it is done"), validators=[DataRequired(), Length(max=8000)]
    )


class VerificationForm(FlaskForm):
    effective = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("yes", _l("Effective: close the nonconformity")),
            SelectChoice("no", _l("Not effective: reopen the action plan")),
        ],
        validators=[DataRequired()],
        validate_choice=False,
    )
    evidence = TextAreaField(_l("Evidence"), validators=[DataRequired(), Length(max=8000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is this not a nonconformity?"), validators=[DataRequired(), Length(max=8000)]
    )
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class AmendForm(FlaskForm):
    text = TextAreaField(_l("Amendment"), validators=[DataRequired(), Length(max=8000)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])


class LinkForm(FlaskForm):
    link = StringField(
        _l("Document or record number"), validators=[DataRequired(), Length(max=200)]
    )


LEVELS = [SelectChoice(str(n), str(n)) for n in range(1, 6)]


class RiskLinkForm(FlaskForm):
    risk = SelectField(_l("Risk point"), choices=[], validate_choice=False)


class RiskCreateForm(FlaskForm):
    # not "process": that is the form's own method (the page's field keeps the name)
    process_name = StringField(
        _l("Process"), name="process", validators=[DataRequired(), Length(max=120)]
    )
    cause = TextAreaField(_l("Cause"), validators=[DataRequired(), Length(max=4000)])
    consequence = TextAreaField(_l("Consequence"), validators=[DataRequired(), Length(max=4000)])
    likelihood = SelectField(_l("Likelihood"), choices=LEVELS, default="3", validate_choice=False)
    severity = SelectField(_l("Severity"), choices=LEVELS, default="3", validate_choice=False)
    controls = TextAreaField(_l("Control measures"), validators=[DataRequired(), Length(max=4000)])
    owner = SelectField(_l("Owner"), choices=[], validate_choice=False)
