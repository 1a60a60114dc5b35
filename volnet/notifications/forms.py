from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from volnet.core.i18n import lazy_gettext as _l


class PostForm(FlaskForm):
    """A button that changes state: CSRF only."""


class ChannelsForm(FlaskForm):
    email = BooleanField(_l("Email"))
    sms = BooleanField(_l("Text message (SMS)"))
    kakao = BooleanField(_l("KakaoTalk"))
