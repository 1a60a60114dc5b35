from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, FloatField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from volnet.core import clock
from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.observations.forms import MultiCheckboxField
from volnet.risk.indicators import CATEGORIES
from volnet.risk.models import CHECK_RESULTS
from volnet.risk.tiers import TIERS

CHECK_LABELS = {
    "pending": _l("Not checked yet"),
    "supported": _l("Supported"),
    "no_need": _l("No need"),
    "not_located": _l("Could not be located"),
}


class UploadForm(FlaskForm):
    dong_id = ChoiceField(_l("Dong"), coerce=int, validators=[InputRequired()])
    received_on = DateField(_l("Date the list arrived"), validators=[InputRequired()])
    file = FileField(_l("List file (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file."))])

    def validate_received_on(self, field):
        # A day ahead is allowed (a list dated by another office's clock); later is a typing mistake that
        # would sort the list first and date its indicators in the future.
        if field.data is not None and field.data > clock.seoul_today() + timedelta(days=1):
            raise ValidationError(_l("The date the list arrived cannot be in the future."))
        if field.data is not None and field.data.year < 2000:
            raise ValidationError(_l("Enter a real date."))


class CsrfForm(FlaskForm):
    """A form with only its CSRF token (buttons that change state)."""


class CheckForm(FlaskForm):
    result = ChoiceField(_l("Check result"), choices=[(k, CHECK_LABELS[k]) for k in CHECK_RESULTS])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)], filters=[clean_filter])


class TierForm(FlaskForm):
    tier = ChoiceField(_l("Tier"), choices=list(TIERS.items()))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])


class IndicatorTypeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)], filters=[clean_filter])
    label = StringField(_l("Korean label"), validators=[DataRequired(), Length(max=100)], filters=[clean_filter])
    label_en = StringField(_l("English label"), validators=[Optional(), Length(max=100)], filters=[clean_filter])
    category = ChoiceField(_l("Category"), choices=list(CATEGORIES.items()))
    weight = FloatField(_l("Weight"), validators=[InputRequired(), NumberRange(min=0, max=100)])
    aliases = StringField(_l("Other spellings (comma-separated)"), validators=[Optional(), Length(max=500)],
                          filters=[clean_filter])
    signal = ChoiceField(_l("Signal for the concern"), choices=[])
    active = ChoiceField(_l("Status"), choices=[("1", _l("Active")), ("0", _l("Inactive"))], default="1")


def screening_form(items, data=None):
    """A form with one radio group per item."""

    class F(FlaskForm):
        note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])

    for key, _domain, question, choices in items:
        setattr(F, "q_" + key, RadioField(question, choices=[(str(v), label) for v, label in choices],
                                          validators=[InputRequired(_l("Answer this question."))]))
    return F(data=data)


def mapping_form(header, choices, initial):
    class F(FlaskForm):
        pass

    for i, _h in enumerate(header):
        setattr(F, f"col_{i}", ChoiceField(str(i), choices=choices, default=initial.get(str(i), "")))
    return F()


def settings_form(keys, labels, values, list_urgent_choices=(), list_urgent=()):
    """The numeric risk settings, and the signals of the crisis-list indicators that open an urgent concern
    (risk.list.urgent_signals): chips of ``list_urgent_choices``, ``list_urgent`` ticked. The hidden
    ``list_urgent_shown`` tells "nothing ticked" from a post without the chips (which keeps the setting)."""
    class F(FlaskForm):
        list_urgent_signals = MultiCheckboxField(_l("Crisis-list signals that open an urgent concern"),
                                                 choices=list(list_urgent_choices), default=list(list_urgent))
        list_urgent_shown = HiddenField()  # rendered with value="1"

    for k in keys:
        setattr(F, k.replace(".", "__"), FloatField(labels[k], validators=[InputRequired(), NumberRange(min=0,
                                                                                                       max=10000)],
                                                    default=values[k]))
    return F()
