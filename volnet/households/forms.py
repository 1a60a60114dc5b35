from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from volnet.core.forms import ChoiceField, clean_filter, validate_phone
from volnet.core.i18n import lazy_gettext as _l

AGE_BAND_CHOICES = [
    ("unknown", _l("Don't know")), ("u20", _l("Under 20")), ("20s", _l("20s")), ("30s", _l("30s")),
    ("40s", _l("40s")), ("50s", _l("50s")), ("60s", _l("60s")), ("70s", _l("70s")), ("80p", _l("80 or older")),
]
SEX_CHOICES = [("unknown", _l("Don't know")), ("f", _l("Female")), ("m", _l("Male"))]
LIVES_ALONE_CHOICES = [("", _l("Don't know")), ("yes", _l("Yes")), ("no", _l("No"))]
LIVES_ALONE_VALUES = {"": None, "yes": True, "no": False}
STATUS_CHOICES = [("active", _l("Living here")), ("to_locate", _l("To locate")), ("moved", _l("Moved away")),
                  ("deceased", _l("Deceased"))]


class HouseholdForm(FlaskForm):
    dong_id = ChoiceField(_l("Dong"), coerce=int, validators=[InputRequired()])
    road_address = StringField(_l("Road-name address"), validators=[DataRequired(), Length(max=200)],
                               filters=[clean_filter])
    unit = StringField(_l("Building / unit (동·호, floor)"), validators=[Optional(), Length(max=60)],
                       filters=[clean_filter])
    jibun_address = StringField(_l("Lot-number address (지번)"), validators=[Optional(), Length(max=200)],
                                filters=[clean_filter])
    tong = IntegerField(_l("Tong"), validators=[Optional(), NumberRange(min=1, max=999)])
    ban = IntegerField(_l("Ban"), validators=[Optional(), NumberRange(min=1, max=99)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=60)], filters=[clean_filter])
    alias = StringField(_l("Alias"), validators=[Optional(), Length(max=60)], filters=[clean_filter])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20), validate_phone], filters=[clean_filter])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    sex = ChoiceField(_l("Sex"), choices=SEX_CHOICES, default="unknown")
    age_band = ChoiceField(_l("Age"), choices=AGE_BAND_CHOICES, default="unknown")
    # Three answers: "don't know" stays unknown (the risk score counts only a known one-person household).
    lives_alone = ChoiceField(_l("Lives alone"), choices=LIVES_ALONE_CHOICES, default="")
    status = ChoiceField(_l("Status"), choices=STATUS_CHOICES, default="active")
    delivery_note = TextAreaField(_l("Delivery note for volunteers"), validators=[Optional(), Length(max=500)],
                                  filters=[clean_filter])
    # Asked only when the dong already has a household at this address (volnet.households.views).
    same_address_ok = BooleanField(_l("It is another household at the same address (a shared house, a lodger)"))

    def validate_birth_date(self, field):
        import datetime as dt

        if field.data and not (dt.date(1900, 1, 1) <= field.data <= dt.date.today()):
            raise ValidationError(_l("Enter a real birth date."))


class MergeForm(FlaskForm):
    other_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    confirm = BooleanField(_l("I have checked that both records are the same household"),
                           validators=[DataRequired(_l("Tick the box to confirm that both records are the same household."))])
