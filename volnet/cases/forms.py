from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from volnet.cases.models import (
    AFTERCARE_OUTCOMES,
    AGENCIES,
    CLOSURE_REASONS,
    CRISIS_LEVELS,
    DOMAINS,
    EMERGENCY_DECISIONS,
    EMERGENCY_KINDS,
    LINKAGE_STATUSES,
    NEED_LEVELS,
    SECTORS,
    SELECTION_DECISIONS,
    SERVICE_TYPES,
)
from volnet.cases.services import MAX_WON
from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.observations.forms import MultiCheckboxField, SeenAtField


class KDateField(DateField):
    """A date with a translated message; years outside 1900-2100 are refused as typing mistakes."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a real date.")) from exc

    def pre_validate(self, form):
        if self.data is not None and not (date(1900, 1, 1) <= self.data <= date(2100, 12, 31)):
            raise ValidationError(_l("Enter a real date."))


class WonField(IntegerField):
    """Won as a whole number; "1,250,000" and "1250000원" are accepted (a text box, not type=number)."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        if valuelist:
            raw = (valuelist[0] or "").strip().replace(",", "").replace("원", "").replace(" ", "")
            if raw == "":
                self.data = None
                return
            if not raw.lstrip("-").isdecimal() or len(raw) > 16:
                self.data = None
                raise ValueError(_l("Enter the value in won as a whole number."))
            self.data = int(raw)

    def pre_validate(self, form):
        if self.data is None:
            return
        if self.data < 0:
            raise ValidationError(_l("The value cannot be negative."))
        if self.data >= MAX_WON:
            raise ValidationError(_l("The value is too large."))


def _choices(d):
    return list(d.items())


class ActionForm(FlaskForm):
    """CSRF only."""


class OpenCaseForm(FlaskForm):
    summary = StringField(_l("Summary"), validators=[Optional(), Length(max=300)], filters=[clean_filter])


class NeedForm(FlaskForm):
    domain = ChoiceField(_l("Domain"), choices=_choices(DOMAINS), validators=[DataRequired()])
    level = ChoiceField(_l("Level of need"), choices=_choices(NEED_LEVELS), default="medium",
                        validators=[DataRequired()])
    description = TextAreaField(_l("What is needed"), validators=[DataRequired(), Length(max=2000)],
                                filters=[clean_filter])


class AssessmentForm(FlaskForm):
    crisis_level = ChoiceField(_l("Crisis level"), choices=_choices(CRISIS_LEVELS), validators=[DataRequired()])
    note = TextAreaField(_l("Assessment summary"), validators=[Optional(), Length(max=4000)], filters=[clean_filter])


class SelectionForm(FlaskForm):
    decision = ChoiceField(_l("Decision"), choices=_choices(SELECTION_DECISIONS), validators=[DataRequired()])
    note = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])


class GoalForm(FlaskForm):
    domain = ChoiceField(_l("Domain"), choices=_choices(DOMAINS), validators=[DataRequired()])
    text = StringField(_l("Goal"), validators=[DataRequired(), Length(max=500)], filters=[clean_filter])
    target_on = KDateField(_l("Target date"), validators=[Optional()])


class PlanForm(FlaskForm):
    plan_text = TextAreaField(_l("Service plan"), validators=[DataRequired(), Length(max=8000)],
                              filters=[clean_filter])


class LinkageForm(FlaskForm):
    sector = ChoiceField(_l("Sector"), choices=_choices(SECTORS), validators=[DataRequired()])
    service_type = ChoiceField(_l("Service"), choices=_choices(SERVICE_TYPES), validators=[DataRequired()])
    provider = StringField(_l("Provider organization"), validators=[DataRequired(), Length(max=120)],
                           filters=[clean_filter])
    status = ChoiceField(_l("Status"), choices=_choices(LINKAGE_STATUSES), default="active",
                         validators=[DataRequired()])
    start_on = KDateField(_l("Start date"), validators=[InputRequired(message=_l("Enter the start date."))])
    end_on = KDateField(_l("End date"), validators=[Optional()])
    value_won = WonField(_l("Value (won)"), validators=[InputRequired(message=_l("Enter the value in won."))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)], filters=[clean_filter])

    def validate_end_on(self, field):
        if field.data and self.start_on.data and field.data < self.start_on.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


class LinkageStatusForm(FlaskForm):
    status = ChoiceField(_l("Status"), choices=_choices(LINKAGE_STATUSES), validators=[DataRequired()])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Case note"), validators=[DataRequired(), Length(max=8000)], filters=[clean_filter])


class ConferenceForm(FlaskForm):
    held_on = KDateField(_l("Date of the conference"), validators=[InputRequired(message=_l("Enter a real date."))])
    attendees = TextAreaField(_l("Attendees (one per line, with their agency)"),
                              validators=[DataRequired(), Length(max=2000)], filters=[clean_filter])
    agencies = MultiCheckboxField(_l("Outside agencies present"), choices=_choices(AGENCIES))
    decisions = TextAreaField(_l("Decisions"), validators=[DataRequired(), Length(max=8000)], filters=[clean_filter])
    task1 = StringField(_l("Task"), validators=[Optional(), Length(max=300)], filters=[clean_filter])
    owner1 = StringField(_l("Who"), validators=[Optional(), Length(max=120)], filters=[clean_filter])
    due1 = KDateField(_l("Due by"), validators=[Optional()])
    task2 = StringField(_l("Task"), validators=[Optional(), Length(max=300)], filters=[clean_filter])
    owner2 = StringField(_l("Who"), validators=[Optional(), Length(max=120)], filters=[clean_filter])
    due2 = KDateField(_l("Due by"), validators=[Optional()])
    task3 = StringField(_l("Task"), validators=[Optional(), Length(max=300)], filters=[clean_filter])
    owner3 = StringField(_l("Who"), validators=[Optional(), Length(max=120)], filters=[clean_filter])
    due3 = KDateField(_l("Due by"), validators=[Optional()])

    def task_rows(self):
        return [(self[f"task{i}"], self[f"owner{i}"], self[f"due{i}"]) for i in (1, 2, 3)]

    def validate(self, extra_validators=None):
        """A row with who or by when but no task says so on that row (it was dropped without a word)."""
        ok = super().validate(extra_validators)
        for t, o, d in self.task_rows():
            typed_due = bool(d.raw_data and (d.raw_data[0] or "").strip())
            if not (t.data or "").strip() and ((o.data or "").strip() or typed_due):
                t.errors = [*t.errors, _l("Write the task.")]
                ok = False
        return ok

    def tasks(self):
        return [(t.data or "", o.data or "", d.data) for t, o, d in self.task_rows() if (t.data or "").strip()]


class CloseCaseForm(FlaskForm):
    reason = ChoiceField(_l("Reason for closing"), choices=_choices(CLOSURE_REASONS), validators=[DataRequired()])
    note = TextAreaField(_l("Closing summary"), validators=[Optional(), Length(max=4000)], filters=[clean_filter])
    end_linkages = BooleanField(_l("End these linkages as of the closing date (those not started yet are "
                                   "cancelled)"))


class ReturnClosureForm(FlaskForm):
    note = TextAreaField(_l("Why the closure is returned"), validators=[DataRequired(), Length(max=2000)],
                         filters=[clean_filter])


class AftercareForm(FlaskForm):
    outcome = ChoiceField(_l("Outcome"), choices=_choices(AFTERCARE_OUTCOMES), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])


class EmergencyForm(FlaskForm):
    kind = ChoiceField(_l("Kind of support"), choices=_choices(EMERGENCY_KINDS), validators=[DataRequired()])
    reported_at = SeenAtField(_l("Reported at"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])


class DecideForm(FlaskForm):
    decision = ChoiceField(_l("Decision"), choices=_choices(EMERGENCY_DECISIONS), validators=[DataRequired()])
    amount_won = WonField(_l("Amount (won)"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)], filters=[clean_filter])

    def validate(self, extra_validators=None):
        """Support approved needs its amount (more than 0 won); the other decisions need none."""
        ok = super().validate(extra_validators)
        if self.decision.data == "approved" and not self.amount_won.errors and not self.amount_won.data:
            self.amount_won.errors = [*self.amount_won.errors, _l("Enter the amount.")]
            ok = False
        return ok


class OwnerForm(FlaskForm):
    owner_id = ChoiceField(_l("Owner"), coerce=int, validators=[InputRequired()])
