from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from volnet.accounts.models import ORG_KINDS
from volnet.accounts.roles import ROLE_LABELS
from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import ascii_digits
from volnet.settings.services import parse_duration

ORG_KIND_LABELS = {
    "dong_centre": _l("Dong welfare centre"), "apartment_office": _l("Apartment management office"),
    "post_office": _l("Post office"), "real_estate": _l("Real-estate agent"), "pharmacy": _l("Pharmacy"),
    "convenience_store": _l("Convenience store"), "delivery": _l("Delivery"),
    "utility_reader": _l("Gas or meter reader"), "shop": _l("Shop"), "partner_agency": _l("Partner agency"),
    "welfare_centre": _l("Welfare centre"), "food_bank": _l("Food bank"),
    "volunteer_centre": _l("Volunteer centre"), "other": _l("Other"),
}
assert set(ORG_KIND_LABELS) == set(ORG_KINDS)


class DongImportForm(FlaskForm):
    sigungu = StringField(_l("City / district (시군구), e.g. 의정부시"), validators=[DataRequired(), Length(max=40)],
                          filters=[clean_filter])


class DongForm(FlaskForm):
    code = StringField(_l("10-digit administrative code"), validators=[DataRequired(), Length(min=10, max=10)],
                       filters=[clean_filter])
    sido = StringField(_l("Province / city (시도)"), validators=[DataRequired(), Length(max=40)], filters=[clean_filter])
    sigungu = StringField(_l("City / district (시군구)"), validators=[DataRequired(), Length(max=40)],
                          filters=[clean_filter])
    name = StringField(_l("Dong name"), validators=[DataRequired(), Length(max=40)], filters=[clean_filter])

    def validate_code(self, field):
        digits = ascii_digits(field.data)
        if digits is None:
            raise ValidationError(_l("The code has 10 digits."))
        field.data = digits  # full-width digits are stored as ASCII


class TongForm(FlaskForm):
    number = IntegerField(_l("Tong number"), validators=[InputRequired(), NumberRange(min=1, max=999)])
    bans = IntegerField(_l("Number of bans"), validators=[Optional(), NumberRange(min=0, max=99)])
    area = StringField(_l("Area description"), validators=[Optional(), Length(max=200)], filters=[clean_filter])


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[clean_filter])
    kind = ChoiceField(_l("Kind"), choices=list(ORG_KIND_LABELS.items()), validators=[DataRequired()])
    dong_id = ChoiceField(_l("Dong"), coerce=int, validators=[InputRequired()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20)], filters=[clean_filter])
    active = BooleanField(_l("Active"), default=True)


class IntSelectMultiple(SelectMultipleField):
    def pre_validate(self, form):
        values = {v for v, *_ in self.iter_choices()}
        for d in self.data or []:
            if d not in values:
                raise ValidationError(_l("Choose one of the offered options."))


class InvitationForm(FlaskForm):
    role = ChoiceField(_l("Role"), choices=list(ROLE_LABELS.items()), validators=[DataRequired()])
    organization_id = ChoiceField(_l("Organization"), coerce=int, validators=[InputRequired()])
    dong_ids = IntSelectMultiple(_l("Dongs"), coerce=int, validators=[DataRequired()])
    note = StringField(_l("Note (who it is for)"), validators=[Optional(), Length(max=120)], filters=[clean_filter])
    max_uses = IntegerField(_l("How many people may join with it"), default=1,
                            validators=[InputRequired(), NumberRange(min=1, max=200)])
    days = IntegerField(_l("Valid for days"), default=14, validators=[InputRequired(), NumberRange(min=1, max=90)])


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)], filters=[clean_filter])
    role = ChoiceField(_l("Role"), choices=list(ROLE_LABELS.items()), validators=[DataRequired()])
    organization_id = ChoiceField(_l("Organization"), coerce=int, validators=[InputRequired()])
    dong_ids = IntSelectMultiple(_l("Dongs"), coerce=int)
    active = BooleanField(_l("Account active"))


class DueRulesForm(FlaskForm):
    emergency_ack = StringField(_l("Emergency: acknowledge within"), validators=[DataRequired(), Length(max=8)])
    emergency_action = StringField(_l("Emergency: support decision within"),
                                   validators=[DataRequired(), Length(max=8)])
    urgent_ack = StringField(_l("Urgent: acknowledge within"), validators=[DataRequired(), Length(max=8)])
    urgent_action = StringField(_l("Urgent: visit within"), validators=[DataRequired(), Length(max=8)])
    routine_ack = StringField(_l("Routine: acknowledge within"), validators=[DataRequired(), Length(max=8)])
    routine_action = StringField(_l("Routine: contact within"), validators=[DataRequired(), Length(max=8)])
    public_per_hour = IntegerField(_l("Citizen reports per hour from one address"),
                                   validators=[InputRequired(), NumberRange(min=1, max=1000)])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for name in ("emergency_ack", "emergency_action", "urgent_ack", "urgent_action", "routine_ack",
                     "routine_action"):
            f = getattr(self, name)
            try:
                parse_duration(f.data or "")
            except ValueError:
                f.errors = list(f.errors) + [_l("Write a number and a unit: 1h, 48h, 3d or 3wd (working days).")]
                ok = False
        return ok
