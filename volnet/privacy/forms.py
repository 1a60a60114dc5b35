from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from volnet.core.forms import ChoiceField, clean_filter
from volnet.core.i18n import lazy_gettext as _l

REQUEST_KINDS = {
    "access": _l("Access request: download everything about the household (JSON)"),
    "anonymise": _l("Deletion request: anonymise (keep counts, clear personal details)"),
    "erase": _l("Deletion request: erase the household and its records"),
}


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Review note (what you checked, any follow-up)"), validators=[Optional(), Length(max=2000)],
                         filters=[clean_filter])


class PrivacyRequestForm(FlaskForm):
    household_id = IntegerField(_l("Household number"),
                                validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    kind = ChoiceField(_l("Request"), choices=list(REQUEST_KINDS.items()))
    reason = TextAreaField(_l("Reason and how the requester's identity was checked"),
                           validators=[DataRequired(), Length(max=1000)], filters=[clean_filter])
    confirm = BooleanField(_l("I have checked the household and the requester's identity."),
                           validators=[DataRequired()])


class SecuritySettingsForm(FlaskForm):
    totp_required = BooleanField(_l("Two-step login required for administrators, team leads and caseworkers"))
    review_daily_households = IntegerField(_l("Monthly review: households read by one person in a day before it is flagged"),
                                           validators=[InputRequired(), NumberRange(min=1, max=100000)])
    closed_concern_years = IntegerField(_l("Keep closed concerns this many years, then anonymise"),
                                        validators=[InputRequired(), NumberRange(min=1, max=50)])
    audit_retention_years = IntegerField(_l("Keep the audit log this many years (at least 2)"),
                                         validators=[InputRequired(), NumberRange(min=2, max=50)])


class TotpResetForm(FlaskForm):
    login_id = StringField(_l("Login ID"), validators=[DataRequired(), Length(max=60)], filters=[clean_filter])


class ConfirmForm(FlaskForm):
    """A button-only form (CSRF)."""
