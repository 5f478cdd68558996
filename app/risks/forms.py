from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


def level_choices(labels: dict[int, str]) -> list[SelectChoice]:
    """``3 · Possible`` in the reader's language: made per request (set by the view)."""
    return [SelectChoice(str(n), f"{n} · {gettext(label)}") for n, label in labels.items()]


class RiskPointForm(FlaskForm):
    # not "process": that is the form's own method (the page's field keeps the name)
    process_name = StringField(
        _l("Process"), name="process", validators=[DataRequired(), Length(max=120)]
    )
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    cause = TextAreaField(_l("Cause"), validators=[DataRequired(), Length(max=4000)])
    consequence = TextAreaField(_l("Consequence"), validators=[DataRequired(), Length(max=4000)])
    # validated by the service (1 to 5), so a bad value is named like the API names it
    likelihood = SelectField(_l("Likelihood"), choices=[], validate_choice=False)
    severity = SelectField(_l("Severity"), choices=[], validate_choice=False)
    controls = TextAreaField(_l("Control measures"), validators=[DataRequired(), Length(max=4000)])
    owner = SelectField(_l("Owner"), choices=[], validate_choice=False)
    review_date = DateField(_l("Next review"), validators=[Optional()])


class EditRiskPointForm(RiskPointForm):
    reason = TextAreaField(
        _l("Reason for the change"), validators=[DataRequired(), Length(max=4000)]
    )


class ReviewForm(FlaskForm):
    notes = TextAreaField(
        _l("What the review found"), validators=[DataRequired(), Length(max=4000)]
    )
    next_review_date = DateField(_l("Next review"), validators=[Optional()])


class LinkForm(FlaskForm):
    object_ref = StringField(
        # checked by the service, which names what is wrong
        _l("Object (kind:number)"),
        validators=[Length(max=160)],
    )


class UnlinkForm(FlaskForm):
    pass
