from __future__ import annotations

import re
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from volnet.accounts.models import ORG_KINDS
from volnet.accounts.roles import ROLE_LABELS
from volnet.core import clock
from volnet.core.forms import ChoiceField, clean_filter, validate_email, validate_phone
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import ascii_digits, normalize_phone, phone_digits
from volnet.settings.services import parse_duration, rule_hours

ORG_KIND_LABELS = {
    "dong_centre": _l("Dong welfare centre"), "apartment_office": _l("Apartment management office"),
    "post_office": _l("Post office"), "real_estate": _l("Real-estate agent"), "pharmacy": _l("Pharmacy"),
    "convenience_store": _l("Convenience store"), "delivery": _l("Delivery"),
    "utility_reader": _l("Gas or meter reader"), "shop": _l("Shop"), "partner_agency": _l("Partner agency"),
    "welfare_centre": _l("Welfare centre"), "food_bank": _l("Food bank"),
    "volunteer_centre": _l("Volunteer centre"), "other": _l("Other"),
}
assert set(ORG_KIND_LABELS) == set(ORG_KINDS)


# The first two digits of a 행정기관코드: the 시도 (42 강원도 and 45 전라북도 were renumbered 51 and 52 when they
# became 특별자치도; older lists still use them).
SIDO_CODES = frozenset("11 26 27 28 29 30 31 36 41 42 43 44 45 46 47 48 50 51 52".split())


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
        if digits[:2] not in SIDO_CODES:
            raise ValidationError(_l("The code must begin with the two digits of a province or city (시도), "
                                     "such as 11 (Seoul) or 41 (Gyeonggi)."))
        field.data = digits  # full-width digits are stored as ASCII


class TongForm(FlaskForm):
    number = IntegerField(_l("Tong number"), validators=[InputRequired(), NumberRange(min=1, max=999)])
    bans = IntegerField(_l("Number of bans"), validators=[Optional(), NumberRange(min=0, max=99)])
    area = StringField(_l("Area description"), validators=[Optional(), Length(max=200)], filters=[clean_filter])


def org_phone(value: str | None) -> str | None:
    """An organization's phone as stored (digits): a Korean number as the join form takes it, or a
    representative number such as 1588-1234. None when it is neither."""
    digits = normalize_phone(value)
    if digits is None:
        typed = phone_digits(value)
        if len(typed) == 8 and typed[:2] in ("15", "16", "18"):
            digits = typed
    return digits


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[clean_filter])
    kind = ChoiceField(_l("Kind"), choices=list(ORG_KIND_LABELS.items()), validators=[DataRequired()])
    dong_id = ChoiceField(_l("Dong"), coerce=int, validators=[InputRequired()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20)], filters=[clean_filter])
    active = BooleanField(_l("Active"), default=True)

    def validate_phone(self, field):
        if field.data and org_phone(field.data) is None:
            raise ValidationError(_l("Enter a phone number such as 010-1234-5678 or 02-123-4567."))


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


def _phone_for_channels(form, field) -> None:
    """Any Korean number; a mobile one when the person takes text messages or KakaoTalk (the view sets
    ``mobile_needed`` from their notification settings)."""
    validate_phone(form, field, mobile=form.mobile_needed)


class UserEditForm(FlaskForm):
    mobile_needed = False

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)], filters=[clean_filter])
    role = ChoiceField(_l("Role"), choices=list(ROLE_LABELS.items()), validators=[DataRequired()])
    organization_id = ChoiceField(_l("Organization"), coerce=int, validators=[InputRequired()])
    dong_ids = IntSelectMultiple(_l("Dongs"), coerce=int)
    # Where messages reach the person (notification settings): asked at joining, corrected here.
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=20), _phone_for_channels],
                        filters=[clean_filter])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254), validate_email],
                        filters=[clean_filter])
    active = BooleanField(_l("Account active"))


def _rule_text(value):
    """A due-time rule as it is stored: trimmed, lower case ("1H" is "1h")."""
    return value.strip().lower() if isinstance(value, str) else value


_RULE = [DataRequired(), Length(max=8)]
# An acknowledgement later than the action of the same urgency is refused only when it is later from every
# start: the two are compared from each day of the next two years (working days run longer over a weekend
# or a holiday run, so "3d" then "2wd" is possible: a Friday's 2 working days end on Tuesday).
REFERENCE_DAYS = 731
_RULE_SHAPE = re.compile(r"^(\d+)\s*(h|d|wd|m)$")


class DueRulesForm(FlaskForm):
    emergency_ack = StringField(_l("Emergency: acknowledge within"), validators=_RULE, filters=[_rule_text])
    emergency_action = StringField(_l("Emergency: support decision within"), validators=_RULE,
                                   filters=[_rule_text])
    urgent_ack = StringField(_l("Urgent: acknowledge within"), validators=_RULE, filters=[_rule_text])
    urgent_action = StringField(_l("Urgent: visit within"), validators=_RULE, filters=[_rule_text])
    routine_ack = StringField(_l("Routine: acknowledge within"), validators=_RULE, filters=[_rule_text])
    routine_action = StringField(_l("Routine: contact within"), validators=_RULE, filters=[_rule_text])
    public_per_hour = IntegerField(_l("Citizen reports per hour from one address"),
                                   validators=[InputRequired(), NumberRange(min=1, max=1000)])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        lengths = {}
        for name in ("emergency_ack", "emergency_action", "urgent_ack", "urgent_action", "routine_ack",
                     "routine_action"):
            f = getattr(self, name)
            if f.errors:
                ok = False
                continue
            try:
                parse_duration(f.data or "")
            except ValueError:
                shape = _RULE_SHAPE.match(f.data or "")
                if shape and int(shape.group(1)) == 0:
                    message = _l("Use a number of at least 1.")
                elif shape:
                    message = _l("The number is too large: use at most 9999 (for example 30d instead of 720h).")
                else:
                    message = _l("Write a number and a unit: 1h, 48h, 3d or 3wd (working days).")
                f.errors = list(f.errors) + [message]
                ok = False
            else:
                lengths[name] = f.data
        today = clock.seoul_today()
        days = [today + timedelta(days=i) for i in range(REFERENCE_DAYS)]
        for urgency in ("emergency", "urgent", "routine"):
            ack, action = lengths.get(f"{urgency}_ack"), lengths.get(f"{urgency}_action")
            if ack is not None and action is not None and all(
                    a > b for a, b in zip(rule_hours(ack, days), rule_hours(action, days), strict=True)):
                f = getattr(self, f"{urgency}_ack")
                later = _l("The acknowledgement cannot be due later than the next step (%(action)s).",
                           action=getattr(self, f"{urgency}_action").data)
                f.errors = list(f.errors) + [later]
                ok = False
        return ok
