from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from volnet.concerns.models import CONTACT_OUTCOMES, OUTCOMES
from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.observations.forms import SeenAtField
from volnet.observations.signals import URGENCIES


class ActionForm(FlaskForm):
    """Empty form: CSRF only (acknowledge)."""


class AssignForm(FlaskForm):
    owner_id = ChoiceField(_l("Owner"), coerce=int, validators=[InputRequired(_l("Choose the owner."))])


# The outcome selects start empty: an outcome is chosen, never taken from the first line by a press of Save.
CHOOSE_OUTCOME = ("", _l("Choose the outcome…"))


class ContactForm(FlaskForm):
    outcome = ChoiceField(_l("Outcome"), choices=[CHOOSE_OUTCOME, *CONTACT_OUTCOMES.items()],
                          validators=[DataRequired(_l("Choose the outcome."))])
    at = SeenAtField(_l("When"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)], filters=[clean_filter])


class UrgencyForm(FlaskForm):
    urgency = ChoiceField(_l("Urgency"), choices=list(URGENCIES.items()),
                          validators=[DataRequired(_l("Choose the urgency."))])
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Write the reason.")), Length(max=300)],
                         filters=[clean_filter])


# "case_opened" is not among them: the concern closes that way when the integrated case is opened
# ("Open integrated case", cases.services.open_case), never by itself.
CLOSE_OUTCOMES = [(k, v) for k, v in OUTCOMES.items() if k != "case_opened"]


class CloseForm(FlaskForm):
    outcome = ChoiceField(_l("Outcome"), choices=[CHOOSE_OUTCOME, *CLOSE_OUTCOMES],
                          validators=[DataRequired(_l("Choose the outcome."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)], filters=[clean_filter])


class ReopenForm(FlaskForm):
    reason = StringField(_l("Reason for reopening"), validators=[
        DataRequired(_l("Write why the concern is reopened.")), Length(max=300)], filters=[clean_filter])


CONCERN_NUMBER = _l("Enter the concern number, e.g. 63.")


class ConcernNumberField(IntegerField):
    """A concern's number: anything else (text, 0, -5, more digits than any concern has) gets one message
    that says what to type, not WTForms' range with its bounds."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None  # left empty: InputRequired says so
            return
        try:
            super().process_formdata([str(valuelist[0]).strip()])
        except ValueError as exc:
            raise ValueError(CONCERN_NUMBER) from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class MergeForm(FlaskForm):
    # The bound is the id column's (a 32-bit integer), also the input's max in the page.
    target_id = ConcernNumberField(_l("Merge into concern number"), validators=[
        InputRequired(_l("Enter the number of the concern to merge into.")),
        NumberRange(min=1, max=2**31 - 1, message=CONCERN_NUMBER)])


class LinkForm(FlaskForm):
    household_id = HiddenField(validators=[DataRequired()])
