from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from volnet.core.forms import clean_filter, validate_email, validate_phone
from volnet.core.i18n import lazy_gettext as _l


class PostForm(FlaskForm):
    """A button that changes state: CSRF only."""


def _phone_for_channels(form, field) -> None:
    """Any Korean number; a mobile one once text messages or KakaoTalk are chosen (they reach only that)."""
    validate_phone(form, field, mobile=bool(form.sms.data or form.kakao.data))


class ChannelsForm(FlaskForm):
    email = BooleanField(_l("Email"))
    sms = BooleanField(_l("Text message (SMS)"))
    kakao = BooleanField(_l("KakaoTalk"))
    # Where those reach the person: their own account's phone and address.
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=20), _phone_for_channels],
                        filters=[clean_filter])
    email_address = StringField(_l("Email address"), validators=[Optional(), Length(max=254), validate_email],
                                filters=[clean_filter])
