from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.observations.forms import MultiCheckboxField, TranslatedRadio
from volnet.shifts.models import OUTCOMES, REQUIREMENTS, SERVICES
from volnet.shifts.recurrence import KINDS


class KindDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a real date.")) from exc


class KindTimeField(TimeField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a time like 09:30.")) from exc


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


class ProgramForm(FlaskForm):
    name = StringField(_l("Program name"), validators=[DataRequired(), Length(max=120)], filters=[clean_filter])
    service = ChoiceField(_l("Service"), choices=list(SERVICES.items()))
    dong_id = ChoiceField(_l("Dong served"), coerce=int)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])
    cancel_cutoff_hours = IntegerField(
        _l("Volunteers may cancel until (hours before the start)"), default=24,
        validators=[InputRequired(_l("Enter a number of hours.")), NumberRange(0, 168)])
    route_before_hours = IntegerField(
        _l("Route visible from (hours before the start)"), default=2,
        validators=[InputRequired(_l("Enter a number of hours.")), NumberRange(0, 24)])
    route_after_hours = IntegerField(
        _l("Route visible until (hours after the end)"), default=6,
        validators=[InputRequired(_l("Enter a number of hours.")), NumberRange(0, 48)])
    active = BooleanField(_l("Active (volunteers can see and sign up)"), default=True)


class _ShiftFields:
    date = KindDateField(_l("Date"), validators=[InputRequired(_l("Enter a date."))])
    start_time = KindTimeField(_l("Start"), validators=[InputRequired(_l("Enter a start time."))])
    end_time = KindTimeField(_l("End"), validators=[InputRequired(_l("Enter an end time."))])
    meeting_place = StringField(_l("Meeting place"), validators=[Optional(), Length(max=200)], filters=[clean_filter])
    capacity = IntegerField(_l("Places"), default=2,
                            validators=[InputRequired(_l("Enter the number of places.")), NumberRange(1, 200)])
    requirements = MultiCheckboxField(_l("Requirements"), choices=list(REQUIREMENTS.items()))
    note = TextAreaField(_l("Note for volunteers"), validators=[Optional(), Length(max=1000)], filters=[clean_filter])


class ShiftForm(_ShiftFields, FlaskForm):
    repeat = ChoiceField(_l("Repeat"), choices=list(KINDS.items()), default="once")
    until = KindDateField(_l("Repeat until (optional)"), validators=[Optional()])
    rrule = StringField(_l("Custom rule"), validators=[Optional(), Length(max=300)], filters=[clean_filter])


class OccurrenceForm(_ShiftFields, FlaskForm):
    pass


class SeriesForm(FlaskForm):
    meeting_place = StringField(_l("Meeting place"), validators=[Optional(), Length(max=200)], filters=[clean_filter])
    capacity = IntegerField(_l("Places"), validators=[InputRequired(_l("Enter the number of places.")),
                                                      NumberRange(1, 200)])
    requirements = MultiCheckboxField(_l("Requirements"), choices=list(REQUIREMENTS.items()))
    note = TextAreaField(_l("Note for volunteers"), validators=[Optional(), Length(max=1000)], filters=[clean_filter])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (sent to the volunteers)"), validators=[Optional(), Length(max=300)],
                         filters=[clean_filter])


class OutcomeForm(FlaskForm):
    outcome = TranslatedRadio(_l("Outcome"), choices=list(OUTCOMES.items()))


class StopForm(FlaskForm):
    household_id = IntegerField(_l("Household"), validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    note = StringField(_l("Delivery note for this route (optional)"), validators=[Optional(), Length(max=300)],
                       filters=[clean_filter])


class MessageForm(FlaskForm):
    message = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write a message.")), Length(max=1000)],
                            filters=[clean_filter])


class CopyMonthForm(FlaskForm):
    month = StringField(_l("Copy into month"), validators=[
        DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("Enter a month like 2026-04."))])


class ProfileForm(FlaskForm):
    has_car = BooleanField(_l("I can bring a car"))
    sex = ChoiceField(_l("For women-only homes"),
                      choices=[("unknown", _l("Prefer not to say")), ("f", _l("Woman")), ("m", _l("Man"))])


class AddVolunteerForm(FlaskForm):
    """The coordinator signs up a volunteer who phoned in (one of the organization's; checked by the service)."""
    volunteer_id = IntegerField(_l("Volunteer"), validators=[InputRequired(_l("Choose a volunteer.")),
                                                             NumberRange(1, 2**31 - 1)])
