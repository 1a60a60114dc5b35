"""Language: the user's choice, then the cookie, then Korean. Korean is first for every user."""
from __future__ import annotations

from flask import request
from flask_login import current_user

LANGUAGES = {"ko": "한국어", "en": "English"}
COOKIE = "volnet_lang"


def select_locale() -> str:
    try:
        if current_user.is_authenticated and current_user.locale in LANGUAGES:
            return current_user.locale
    except Exception:  # noqa: BLE001,S110 - no user context (CLI, worker)
        pass
    lang = request.cookies.get(COOKIE) if request else None
    if lang in LANGUAGES:
        return lang
    return "ko"
