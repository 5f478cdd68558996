from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.people.forms import MultiCheckboxField


class ObjectiveEditForm(FlaskForm):
    """An objective's title, department and plan; its year stays (docs/adr/0049)."""

    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    title = StringField(_l("Objective"), validators=[DataRequired(), Length(max=300)])
    what = TextAreaField(_l("What will be done"), validators=[DataRequired(), Length(max=4000)])
    resources = TextAreaField(_l("Resources"), validators=[DataRequired(), Length(max=4000)])
    who = TextAreaField(_l("Who is responsible"), validators=[DataRequired(), Length(max=4000)])
    when = TextAreaField(
        _l("When it will be completed"), validators=[DataRequired(), Length(max=4000)]
    )
    evaluation = TextAreaField(
        _l("How results are evaluated"), validators=[DataRequired(), Length(max=4000)]
    )


class ObjectiveForm(ObjectiveEditForm):
    """A new objective: the year too, and the KPIs that measure it."""

    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    kpis = MultiCheckboxField(_l("KPIs that measure it"), choices=[], validate_choice=False)


class KpiEditForm(FlaskForm):
    """What may change of a KPI: not its code, period kind or source (docs/adr/0049)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=200)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    direction = SelectField(_l("Direction"), choices=[], validate_choice=False)
    record_type = StringField(
        _l("Survey record type (SERVQUAL sources)"), validators=[Optional(), Length(max=40)]
    )
    field = StringField(
        _l("Number field (default: the dimension)"), validators=[Optional(), Length(max=80)]
    )
    category = StringField(
        _l("Complaint category (optional)"), validators=[Optional(), Length(max=40)]
    )
    step = StringField(_l("Commitment step (optional)"), validators=[Optional(), Length(max=40)])
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    objective = SelectField(_l("Objective"), choices=[], validate_choice=False)
    breach_periods = IntegerField(
        _l("Periods below target before a nonconformity"),
        validators=[DataRequired(), NumberRange(min=1, max=24)],
    )


class KpiForm(KpiEditForm):
    """A new KPI: its code, period kind and source too, and the year's target."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    period = SelectField(_l("Period"), choices=[], validate_choice=False)
    source = SelectField(_l("Source"), choices=[], validate_choice=False)
    breach_periods = IntegerField(
        _l("Periods below target before a nonconformity"),
        default=3,
        validators=[DataRequired(), NumberRange(min=1, max=24)],
    )
    target = DecimalField(_l("Target for the year"), validators=[Optional()])
    warning = DecimalField(_l("Warning threshold for the year"), validators=[Optional()])


class ReasonForm(FlaskForm):
    """Withdraw or reinstate an objective, deactivate or reactivate a KPI."""

    # its own id: the KPI page also holds the amendment form's "reason"
    reason = TextAreaField(
        _l("Reason"), id="state-reason", validators=[DataRequired(), Length(max=4000)]
    )


class TargetForm(FlaskForm):
    period = StringField(_l("Period or year"), validators=[DataRequired(), Length(max=8)])
    target = DecimalField(_l("Target"), validators=[DataRequired()])
    warning = DecimalField(_l("Warning threshold"), validators=[Optional()])


class ValueForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=8)])
    value = StringField(_l("Value (empty: no data)"), validators=[Optional(), Length(max=40)])


class AmendForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=8)])
    value = StringField(
        _l("Corrected value (empty: no data)"), validators=[Optional(), Length(max=40)]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])
    password = PasswordField(_l("Your password (signature)"), validators=[DataRequired()])


class ClosePeriodForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=8)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (code,period,value)"), validators=[DataRequired()])


class BreachForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=8)])
