from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from volnet.core import clock
from volnet.core.forms import ChoiceField, choice_values, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.households.forms import AGE_BAND_CHOICES, SEX_CHOICES
from volnet.observations.signals import LEVELS, SIGNALS, URGENCIES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        values = choice_values(self)
        for d in self.data or []:
            if d not in values:
                raise ValidationError(_l("Choose one of the offered options."))


class TranslatedRadio(RadioField):
    def pre_validate(self, form):
        values = choice_values(self)
        if self.data not in values:
            raise ValidationError(_l("Choose one of the offered options."))


def signal_choices():
    return [(k, v) for k, v in SIGNALS.items()]


def level_choices():
    return [(k, v) for k, v in LEVELS.items()]


def urgency_choices():
    return [("routine", URGENCIES["routine"]), ("urgent", URGENCIES["urgent"]),
            ("emergency", URGENCIES["emergency"])]


class SeenAtField(DateTimeLocalField):
    """A Seoul wall-clock time; rejects impossible dates and times in the future."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a real date and time.")) from exc

    def pre_validate(self, form):
        if self.data is None:
            return
        # Compared as Seoul wall-clock times (Seoul has no daylight saving): a year such as 0001 typed into
        # the picker cannot be turned into UTC at all, and is simply too long ago.
        now = clock.to_seoul(clock.now()).replace(tzinfo=None)
        if self.data > now + timedelta(minutes=10):
            raise ValidationError(_l("The time cannot be in the future."))
        if self.data < now - timedelta(days=366):
            raise ValidationError(_l("The time is more than a year ago."))


class ObservationFields:
    urgency = TranslatedRadio(_l("How urgent is it?"), choices=urgency_choices(), default="routine")
    signals = MultiCheckboxField(_l("What did you notice?"), choices=signal_choices())
    meals = TranslatedRadio(_l("Meals"), choices=level_choices(), default="")
    hygiene = TranslatedRadio(_l("Hygiene"), choices=level_choices(), default="")
    note = TextAreaField(_l("What you saw, in your own words"), validators=[Optional(), Length(max=2000)],
                         filters=[clean_filter])


class ObservationForm(ObservationFields, FlaskForm):
    """A report about a household chosen from the search (the usual case on a phone)."""

    household_id = HiddenField()
    client_token = HiddenField()
    dong_id = ChoiceField(_l("Dong"), coerce=int, validators=[DataRequired()])
    seen_at = SeenAtField(_l("When did you see it?"), validators=[Optional()])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not self.signals.data and not (self.note.data or "").strip() \
                and not self.meals.data and not self.hygiene.data:
            self.signals.errors = list(self.signals.errors) + [_l("Choose at least one sign or describe what you saw.")]
            return False
        return ok


class WholeNumberField(IntegerField):
    """A number such as 통 or 반: text that is not a number gets one message, not a range message too."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None  # left empty (Optional decides)
            return
        try:
            super().process_formdata([str(valuelist[0]).strip()])
        except ValueError as exc:
            raise ValueError(_l("Enter a number.")) from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


ADDRESS_OR_SEARCH = _l("Enter the address, or choose a household from the search.")


class QuickAddObservationForm(ObservationForm):
    """A report that also adds the household (its address was not found)."""

    # Required (the label gets its *), with a message that says what to do.
    road_address = StringField(_l("Road-name address"), filters=[clean_filter], validators=[
        DataRequired(message=ADDRESS_OR_SEARCH), Length(max=200)])
    unit = StringField(_l("Building / unit (동·호, floor)"), validators=[Optional(), Length(max=60)],
                       filters=[clean_filter])
    tong = WholeNumberField(_l("Tong"), validators=[Optional(), NumberRange(min=1, max=999)])
    ban = WholeNumberField(_l("Ban"), validators=[Optional(), NumberRange(min=1, max=99)])
    name = StringField(_l("Name or alias (optional)"), validators=[Optional(), Length(max=60)],
                       filters=[clean_filter])
    lives_alone = TranslatedRadio(_l("Lives alone?"), choices=[("", _l("Don't know")), ("yes", _l("Yes")),
                                                                 ("no", _l("No"))], default="")
    age_band = ChoiceField(_l("Age"), choices=AGE_BAND_CHOICES, default="unknown")


def int_or_none(value):
    """A select's value: its number, or None for its empty first line ("Choose…")."""
    return None if value in ("", None) else int(value)


class ChosenField(ChoiceField):
    """A select whose first line is an empty "Choose…": nothing chosen is said by its required validator
    (in its words), a value not offered by ``ChoiceField``."""

    def pre_validate(self, form):
        if self.data is not None:
            super().pre_validate(form)


class CitizenReportForm(ObservationFields, FlaskForm):
    # No dong chosen in advance: a report sent as the form opens must not land in the first dong of the list.
    dong_id = ChosenField(_l("Neighbourhood (dong)"), coerce=int_or_none,
                          validators=[InputRequired(_l("Choose the dong."))])
    location_text = StringField(_l("Address or landmark"), validators=[DataRequired(), Length(max=300)],
                                filters=[clean_filter])
    subject_sex = ChoiceField(_l("Sex of the person"), choices=SEX_CHOICES, default="unknown")
    subject_age_band = ChoiceField(_l("Age of the person"), choices=AGE_BAND_CHOICES, default="unknown")
    contact = StringField(_l("Your phone or e-mail (optional)"), validators=[Optional(), Length(max=120)],
                          filters=[clean_filter])
    # Spam defences: a field people never see, and a signed start time.
    website = StringField("website", validators=[Optional()])
    started = HiddenField()

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not self.signals.data and not (self.note.data or "").strip():
            self.signals.errors = list(self.signals.errors) + [_l("Choose at least one sign or describe what you saw.")]
            return False
        return ok


class StatusLookupForm(FlaskForm):
    code = StringField(_l("Reference code"), validators=[DataRequired(), Length(max=20)], filters=[clean_filter])


def now_local_input() -> str:
    return clock.now().astimezone(clock.SEOUL).strftime("%Y-%m-%dT%H:%M")
