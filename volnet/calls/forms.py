from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from volnet.calls.models import CALL_OUTCOMES, CONTACT_FREQUENCIES, VISIT_OUTCOMES
from volnet.concerns.models import CONTACT_OUTCOMES
from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.observations.forms import TranslatedRadio

LEVEL_CHOICES = [("", _l("Not checked")), ("good", _l("Good")), ("poor", _l("Poor")), ("severe", _l("Severe"))]
YES_NO = [("", _l("Not checked")), ("yes", _l("Yes")), ("no", _l("No"))]


def outcome_choices(kind: str, phone: bool = True):
    """A visit, or a call to a household without a phone number (the caller visits), has visit outcomes
    only: "no answer" to a number that does not exist would only pile up misses."""
    codes = VISIT_OUTCOMES if kind == "visit" or not phone else CALL_OUTCOMES + VISIT_OUTCOMES
    return [(c, CONTACT_OUTCOMES[c]) for c in codes]


class RecordForm(FlaskForm):
    outcome = TranslatedRadio(_l("How did it go?"), choices=outcome_choices("scheduled"),
                              validators=[InputRequired(message=_l("Choose how the call went."))])
    meals = TranslatedRadio(_l("Meals"), choices=LEVEL_CHOICES, default="")
    hygiene = TranslatedRadio(_l("Hygiene"), choices=LEVEL_CHOICES, default="")
    arrears_2m = TranslatedRadio(_l("Arrears of 2 months or more"), choices=YES_NO, default="")
    distress = TranslatedRadio(_l("Health or mental distress"), choices=YES_NO, default="")
    support_network = TranslatedRadio(_l("Has someone to rely on"), choices=YES_NO, default="")
    contact_frequency = ChoiceField(_l("In contact with anyone"),
                                    choices=[("", _l("Not checked"))] + list(CONTACT_FREQUENCIES.items()),
                                    default="", validators=[Optional()])
    note = TextAreaField(_l("Note for the dong centre"), validators=[Optional(), Length(max=2000)],
                         filters=[clean_filter])
    client_token = HiddenField(validators=[Optional(), Length(max=64)])

    @staticmethod
    def yes_no(value: str):
        return {"yes": True, "no": False}.get(value or "")


class EnrollForm(FlaskForm):
    household_id = HiddenField(validators=[DataRequired()])
    caller_id = ChoiceField(_l("Caller"), coerce=int, validators=[InputRequired()])
    backup_id = ChoiceField(_l("Backup (volunteer or tong leader)"), coerce=int, validators=[Optional()])
    # Offered only for a household without a phone number (see views.enroll).
    visits_instead = BooleanField(_l("The caller visits instead (there is no number to call)"))


class PeopleForm(FlaskForm):
    caller_id = ChoiceField(_l("Caller"), coerce=int, validators=[InputRequired()])
    backup_id = ChoiceField(_l("Backup (volunteer or tong leader)"), coerce=int, validators=[Optional()])


class ActionForm(FlaskForm):
    """CSRF only."""


class SearchForm(FlaskForm):
    q = StringField(_l("Address or name"), validators=[Optional(), Length(max=100)])
