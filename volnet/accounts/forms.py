from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from volnet.accounts import passwords
from volnet.core.forms import clean_filter, validate_phone
from volnet.core.i18n import lazy_gettext as _l


class LoginForm(FlaskForm):
    login_id = StringField(_l("Login ID"), validators=[DataRequired(), Length(max=60)], filters=[clean_filter])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class NewPasswordMixin:
    def validate_new_password(self, field):
        name_field = self._fields.get("name")
        name = getattr(self, "_name", "") or (name_field.data if name_field is not None else "") or ""
        msg = passwords.problem(field.data or "", getattr(self, "_login_id", ""), name)
        if msg:
            raise ValidationError(msg)

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("The two passwords differ."))


class PasswordChangeForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired()])

    def validate_new_password(self, field):
        super().validate_new_password(field)
        # A temporary password from an admin reset (which the admin saw) must not stay the password.
        if field.data and field.data == self.current_password.data:
            raise ValidationError(_l("Choose a new password that differs from the current one."))


class JoinForm(NewPasswordMixin, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)], filters=[clean_filter])
    login_id = StringField(_l("Login ID"), validators=[DataRequired(), Length(min=3, max=60)],
                           filters=[clean_filter])
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=20), validate_phone],
                        filters=[clean_filter])
    new_password = PasswordField(_l("Password"), validators=[DataRequired()])
    confirm = PasswordField(_l("Password again"), validators=[DataRequired()])

    def validate_login_id(self, field):
        import re

        if not re.fullmatch(r"[A-Za-z0-9._@-]{3,60}", field.data or ""):
            raise ValidationError(_l("Use 3-60 letters, digits or . _ @ -"))
        self._login_id = field.data


class PledgeForm(FlaskForm):
    agree = BooleanField(_l("I have read the pledge and will keep it."), validators=[DataRequired()])


class TotpCodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(max=40)], filters=[clean_filter])


class TotpSetupForm(FlaskForm):
    code = StringField(_l("6-digit code from the app"), validators=[DataRequired(), Length(max=20)],
                       filters=[clean_filter])


class TotpDisableForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Code from your authenticator app"), validators=[DataRequired(), Length(max=40)],
                       filters=[clean_filter])
