from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from volnet.accounts import tongs
from volnet.accounts.models import ORG_KINDS
from volnet.accounts.roles import ROLE_LABELS, TONG_LEADER
from volnet.core import clock
from volnet.core.forms import ChoiceField, choice_values, clean_filter, validate_email, validate_phone
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
        values = choice_values(self)
        for d in self.data or []:
            if d not in values:
                raise ValidationError(_l("Choose one of the offered options."))


class TongsField(StringField):
    """Tong numbers as an admin types them ('7', '7, 12', '７통'): ``numbers`` holds them once validated."""

    numbers: list[int] = []

    def pre_validate(self, form):
        self.numbers = []
        try:
            self.numbers = tongs.parse(self.data)
        except tongs.TongNumbersError as exc:
            raise ValidationError(exc.args[0]) from None


def _only_tong_leaders(form, fields) -> bool:
    """Tongs typed for an account or invitation of another role are refused: only a tong leader serves
    tongs (and sees names by them)."""
    ok = True
    if form.role.data != TONG_LEADER:
        for f in fields:
            if f.numbers:
                f.errors.append(_l("Only tong leaders serve tongs: clear the tong numbers or choose the role "
                                   "Tong leader."))
                ok = False
    return ok


class InvitationForm(FlaskForm):
    # No role chosen in advance: an invitation sent as it opens must not hand out an administrator account.
    role = ChoiceField(_l("Role"), choices=[("", _l("Choose…")), *ROLE_LABELS.items()],
                       validators=[DataRequired(_l("Choose the role."))])
    organization_id = ChoiceField(_l("Organization"), coerce=int, validators=[InputRequired()])
    dong_ids = IntSelectMultiple(_l("Dongs"), coerce=int, validators=[DataRequired()])
    tongs = TongsField(_l("Tongs (tong leaders)"), validators=[Optional(), Length(max=200)], filters=[clean_filter])
    note = StringField(_l("Note (who it is for)"), validators=[Optional(), Length(max=120)], filters=[clean_filter])
    max_uses = IntegerField(_l("How many people may join with it"), default=1,
                            validators=[InputRequired(), NumberRange(min=1, max=200)])
    days = IntegerField(_l("Valid for days"), default=14, validators=[InputRequired(), NumberRange(min=1, max=90)])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.tongs.errors or not _only_tong_leaders(self, [self.tongs]):
            return False
        if self.tongs.numbers and len(self.dong_ids.data or []) != 1:
            self.tongs.errors.append(_l("Tongs belong to one dong: choose one dong for this invitation, or leave "
                                        "the tongs empty and set them on the account after joining."))
            return False
        return ok


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

    def tong_fields(self) -> list[TongsField]:
        return [f for name, f in self._fields.items() if name.startswith("tongs_")]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return _only_tong_leaders(self, self.tong_fields()) and ok


def user_edit_form(dongs: list[tuple[int, str]]) -> type[UserEditForm]:
    """``UserEditForm`` with a tongs field ``tongs_<dong id>`` for each of the account's dongs (id, name)."""

    class AccountForm(UserEditForm):
        pass

    for dong_id, name in dongs:
        setattr(AccountForm, f"tongs_{dong_id}",
                TongsField(_l("Tongs in %(dong)s (tong leaders)", dong=name),
                           validators=[Optional(), Length(max=200)], filters=[clean_filter]))
    return AccountForm


def _rule_text(value):
    """A due-time rule as it is stored: trimmed, lower case ("1H" is "1h")."""
    return value.strip().lower() if isinstance(value, str) else value


_RULE = [DataRequired(), Length(max=8)]
# An acknowledgement later than the action of the same urgency is refused only when it is later from every
# start: the two are compared from each day of the next two years (working days run longer over a weekend
# or a holiday run, so "3d" then "2wd" is possible: a Friday's 2 working days end on Tuesday).
REFERENCE_DAYS = 731
_RULE_SHAPE = re.compile(r"^(\d+)\s*(h|d|wd|m)$")


def _rule_error(text: str):
    """Why a due-time rule is not one ("1h", "3d", "3wd"), or None."""
    try:
        parse_duration(text or "")
    except ValueError:
        shape = _RULE_SHAPE.match(text or "")
        if shape and int(shape.group(1)) == 0:
            return _l("Use a number of at least 1.")
        if shape:
            return _l("The number is too large: use at most 9999 (for example 30d instead of 720h).")
        return _l("Write a number and a unit: 1h, 48h, 3d or 3wd (working days).")
    return None


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
            message = _rule_error(f.data)
            if message:
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


# --- the other time rules ------------------------------------------------------------------------------

def _validate_rule(form, field):
    message = _rule_error(field.data)
    if message:
        raise ValidationError(message)


def _validate_short_wait(form, field):
    """Minutes or hours, at most a day: how long a safety call waits before its next try."""
    try:
        n, unit = parse_duration(field.data or "")
    except ValueError:
        n, unit = 0, ""
    if unit not in ("m", "h") or (n / 60 if unit == "m" else n) > 24:
        raise ValidationError(_l("Write minutes or hours, at most a day: for example 15m or 2h."))


def _validate_days(form, field):
    """Integrated-case deadlines run in days (calendar or working): an hour or a minute is a slip of the key."""
    if not _rule_error(field.data):
        _n, unit = parse_duration(field.data)
        if unit not in ("d", "wd"):
            raise ValidationError(_l("Write days for this one: for example 10d or 7wd."))


def _validate_calendar_days(form, field):
    """A window counted back from a date (the aftercare check's): calendar days only (7d, not 7wd)."""
    if not _rule_error(field.data) and parse_duration(field.data)[1] == "wd":
        raise ValidationError(_l("Write calendar days for this one: for example 7d."))


MAX_REMINDERS = 4


def _reminder_hours(value):
    """'24, 2' -> [24, 2] (later first, each once); anything that is not such a list is kept as typed."""
    if not isinstance(value, str):
        return value
    parts = [p for p in re.split(r"[\s,、]+", unicodedata.normalize("NFKC", value)) if p]
    if not all(p.isascii() and p.isdigit() for p in parts):
        return value
    return sorted({int(p) for p in parts}, reverse=True)


def _validate_reminders(form, field):
    hours = field.data
    if not isinstance(hours, list) or len(hours) > MAX_REMINDERS or any(not 1 <= h <= 168 for h in hours):
        raise ValidationError(_l("Write up to %(n)d numbers of hours from 1 to 168, separated by commas: for "
                                 "example 24, 2.", n=MAX_REMINDERS))


class ReminderHoursField(StringField):
    """A list of whole hours, shown as '24, 2'."""

    def _value(self):
        if isinstance(self.data, list):
            return ", ".join(str(h) for h in self.data)
        return super()._value()


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock_time(value):
    """'9:00' or '０９：００' -> '09:00'; anything else is kept as typed (and refused)."""
    if not isinstance(value, str):
        return value
    shape = _CLOCK.match(unicodedata.normalize("NFKC", value).strip())
    if shape and int(shape.group(1)) < 24 and int(shape.group(2)) < 60:
        return f"{int(shape.group(1)):02d}:{shape.group(2)}"
    return value.strip()


def _validate_clock(form, field):
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", field.data or ""):
        raise ValidationError(_l("Write a time of day such as 21:00 or 08:00."))


_TEXT_RULE = [DataRequired(), Length(max=8), _validate_rule]
_DAYS_RULE = [*_TEXT_RULE, _validate_days]
_WAIT = [DataRequired(), Length(max=8), _validate_short_wait]


class TimeRulesForm(FlaskForm):
    """The time rules that have no page of their own: integrated case steps, safety-call retries, shift
    reminders, quiet hours for messages and login locks."""

    case_assessment = StringField(_l("Needs and crisis assessment within"), validators=_DAYS_RULE,
                                  filters=[_rule_text])
    case_selection = StringField(_l("Selection within"), validators=_DAYS_RULE, filters=[_rule_text])
    case_planning = StringField(_l("Service plan within"), validators=_DAYS_RULE, filters=[_rule_text])
    case_total = StringField(_l("The whole case within"), validators=_DAYS_RULE, filters=[_rule_text])
    case_escalate = StringField(_l("Team lead alerted when a step is still overdue after"), validators=_TEXT_RULE,
                                filters=[_rule_text])
    case_review = StringField(_l("Case review (case conference) due after the plan or the latest conference"),
                              validators=_DAYS_RULE, filters=[_rule_text])
    case_aftercare_early = StringField(_l("An aftercare check may be recorded this many days before it is due"),
                                       validators=[*_DAYS_RULE, _validate_calendar_days], filters=[_rule_text])
    call_retries = IntegerField(_l("Tries again after an unanswered safety call"),
                                validators=[InputRequired(), NumberRange(min=0, max=5)])
    call_retry_after = StringField(_l("Next try after"), validators=_WAIT, filters=[_rule_text])
    call_retry_grace = StringField(_l("A try still not made this long after its time counts as missed"),
                                   validators=_WAIT, filters=[_rule_text])
    call_cadence_emergency = IntegerField(_l("Emergency crisis: days between calls"),
                                          validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_cadence_intensive = IntegerField(_l("Intensive management: days between calls"),
                                          validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_cadence_daily_risk = IntegerField(_l("Daily-risk isolated: days between calls"),
                                           validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_cadence_relationship = IntegerField(_l("Relationship support: days between calls"),
                                             validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_cadence_daily_life = IntegerField(_l("Daily-life support: days between calls"),
                                           validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_cadence_unassessed = IntegerField(_l("Unassessed: days between calls"),
                                           validators=[InputRequired(), NumberRange(min=1, max=60)])
    call_hour = IntegerField(_l("Scheduled calls are due at (hour, 0–23)"),
                             validators=[InputRequired(), NumberRange(min=0, max=23)])
    call_visit_after_misses = IntegerField(_l("Missed scheduled calls in a row before a visit is due"),
                                           validators=[InputRequired(), NumberRange(min=1, max=10)])
    call_visit_hour = IntegerField(_l("A visit is due by (hour, 0–23)"),
                                   validators=[InputRequired(), NumberRange(min=0, max=23)])
    shift_reminders = ReminderHoursField(_l("Reminders before a shift (hours before it starts)"),
                                         validators=[Length(max=40), _validate_reminders],
                                         filters=[_reminder_hours])
    shift_outcome_early = IntegerField(_l("Door outcomes may be recorded this many minutes before a shift starts"),
                                       validators=[InputRequired(), NumberRange(min=0, max=240)])
    shift_unfilled_hours = IntegerField(_l("Coordinator alerted when places are still open this many hours before"),
                                        validators=[InputRequired(), NumberRange(min=1, max=336)])
    lead_escalate_hours = IntegerField(_l("Team lead alerted when a concern is still overdue after (hours)"),
                                       validators=[InputRequired(), NumberRange(min=1, max=72)])
    digest_time = StringField(_l("Morning summary for staff at"),
                              validators=[DataRequired(), Length(max=8), _validate_clock], filters=[_clock_time])
    quiet_start = StringField(_l("Quiet hours from"), validators=[DataRequired(), Length(max=8), _validate_clock],
                              filters=[_clock_time])
    quiet_end = StringField(_l("Quiet hours until"), validators=[DataRequired(), Length(max=8), _validate_clock],
                            filters=[_clock_time])
    login_max_failures = IntegerField(_l("Failed logins of one account before it is locked"),
                                      validators=[InputRequired(), NumberRange(min=3, max=100)])
    login_lock_minutes = IntegerField(_l("Lock length in minutes"),
                                      validators=[InputRequired(), NumberRange(min=1, max=1440)])
    login_max_failures_per_address = IntegerField(_l("Failed logins from one address before it is locked"),
                                                  validators=[InputRequired(), NumberRange(min=3, max=10000)])

    def validate_case_total(self, field):
        """The whole case may not end before any one of its steps is due (every step is capped by it)."""
        if self.case_total.errors or _rule_error(field.data):
            return
        days = [clock.seoul_today() + timedelta(days=i) for i in range(14)]
        total = min(rule_hours(field.data, days))
        for step in (self.case_assessment, self.case_selection, self.case_planning):
            if step.data and not _rule_error(step.data) and max(rule_hours(step.data, days)) > total:
                raise ValidationError(_l("The whole case must run at least as long as each step (%(step)s: "
                                         "%(rule)s).", step=step.label.text, rule=step.data))

    def validate_login_max_failures_per_address(self, field):
        own = self.login_max_failures.data
        if isinstance(own, int) and isinstance(field.data, int) and field.data < own:
            raise ValidationError(_l("Use at least the number for one account (%(n)d): an office shares one "
                                     "address.", n=own))
