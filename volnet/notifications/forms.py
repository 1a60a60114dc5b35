from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class PostForm(FlaskForm):
    """A button that changes state: CSRF only."""


class ChannelsForm(FlaskForm):
    email = BooleanField(_l("Email"))
    sms = BooleanField(_l("Text message (SMS)"))
    kakao = BooleanField(_l("KakaoTalk"))
