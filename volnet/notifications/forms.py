from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from volnet.core.forms import clean_filter, validate_email, validate_phone
from volnet.core.i18n import lazy_gettext as _l


class PostForm(FlaskForm):
    """A button that changes state: CSRF only."""


class ChannelsForm(FlaskForm):
    email = BooleanField(_l("Email"))
    sms = BooleanField(_l("Text message (SMS)"))
    kakao = BooleanField(_l("KakaoTalk"))
    # Where those reach the person: their own account's phone and address.
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=20), validate_phone],
                        filters=[clean_filter])
    email_address = StringField(_l("Email address"), validators=[Optional(), Length(max=254), validate_email],
                                filters=[clean_filter])
