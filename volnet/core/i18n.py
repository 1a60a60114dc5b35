"""Language: the user's choice, then the cookie, then Korean. Korean is first for every user."""
from __future__ import annotations

from flask import request
from flask.globals import _cv_app  # the app context's ContextVar (Flask >= 2.3)
from flask_babel import gettext as _babel_gettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup

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


_label_cache: dict[tuple[int, str], dict[str, str]] = {}


def labels(mapping: dict) -> dict[str, str]:
    """``{key: lazy label}`` resolved for this request's language, once per process and language.

    For the fixed label tables of the code (statuses, urgencies, ...), which busy pages show on every
    row. The translations are part of the release, so nothing here goes stale.
    """
    from flask_babel import get_locale

    key = (id(mapping), str(get_locale() or "ko"))
    hit = _label_cache.get(key)
    if hit is None or len(hit) != len(mapping):
        hit = {k: str(v) for k, v in mapping.items()}
        _label_cache[key] = hit
    return hit


_wtforms_catalogues: dict[str, object] = {}

# WTForms' own Korean wording, where it reads oddly to a user ("2000자 보다 많을 수", "float 값", "None").
# Keys as Babel's catalogue holds them: a plural message by (singular msgid, form index).
_WTFORMS_KO = {
    ("Field cannot be longer than %(max)d character.", 0): "%(max)d자 이내로 적어 주세요.",
    ("Field must be at least %(min)d character long.", 0): "%(min)d자 이상 적어 주세요.",
    "Number must be at least %(min)s.": "%(min)s 이상이어야 합니다.",
    "Number must be at most %(max)s.": "%(max)s 이하이어야 합니다.",
    "Number must be between %(min)s and %(max)s.": "%(min)s 이상 %(max)s 이하의 값을 적어 주세요.",
    "Not a valid integer value.": "숫자(정수)를 적어 주세요.",
    "Not a valid float value.": "숫자를 적어 주세요.",
    "Not a valid decimal value.": "숫자를 적어 주세요.",
    "Choices cannot be None.": "선택해 주세요.",
    "Invalid Choice: could not coerce.": "올바르지 않은 선택입니다.",
    "Not a valid choice.": "보기 중에서 골라 주세요.",
    "Invalid choice(s): one or more data inputs could not be coerced.": "올바르지 않은 선택입니다.",
    "Not a valid date value.": "날짜를 올바르게 적어 주세요 (예: 2026-01-31).",
    "Not a valid datetime value.": "날짜와 시각을 올바르게 적어 주세요.",
    "Not a valid time value.": "시각을 올바르게 적어 주세요.",
    "Invalid email address.": "올바른 이메일 주소를 적어 주세요.",
}


def wtforms_translations():
    """WTForms' own messages ("This field is required." ...) for this request's language.

    Flask-WTF reads them from disk on every request that shows or checks a form; they never change
    while the process runs, so one copy per language is kept.
    """
    from babel import support
    from flask_babel import get_locale
    from wtforms.i18n import messages_path

    locale = get_locale()
    key = str(locale or "")
    catalogue = _wtforms_catalogues.get(key)
    if catalogue is None:
        catalogue = support.Translations.load(messages_path(), [locale], domain="wtforms")
        if key.startswith("ko") and hasattr(catalogue, "_catalog"):
            catalogue._catalog.update(_WTFORMS_KO)
        _wtforms_catalogues[key] = catalogue
    return catalogue


def babel_context():
    """Flask-Babel's per-request namespace (``g._flask_babel``), read from the app context directly:
    two look-ups through the ``g`` proxy would cost more than the translation itself."""
    app_ctx = _cv_app.get(None)
    return None if app_ctx is None else app_ctx.g.__dict__.get("_flask_babel")


def gettext(string: str, **variables) -> str:
    """``flask_babel.gettext``, minus its look-ups once this request has found its catalogue.

    Flask-Babel finds the domain, the context and the catalogue on every call (volnet's
    ``RequestCachedDomain`` keeps the catalogue in the request's Babel context, keyed by the locale
    object, so ``force_locale`` still works); labels and choices of forms are translated this way,
    a hundred times on a busy page. Outside a request, or before the locale is known, it is Flask-Babel's."""
    ctx = babel_context()
    if ctx is not None:
        hit = getattr(ctx, "volnet_translations", None)
        if hit is not None and hit[0] is getattr(ctx, "babel_locale", None):
            text = hit[1].ugettext(string)
            return text % variables if variables else text
    return _babel_gettext(string, **variables)


class _LazyString(LazyString):
    """Flask-Babel's LazyString, whose ``__html__`` tells Jinja the whole text is safe HTML: right for the
    message itself (ours), wrong for what is put into it (a dong's name, a provider typed by a caseworker).
    In a page, the values are escaped first."""

    def __html__(self):
        variables = self._kwargs
        if not variables:
            return str(self)
        return Markup(gettext(*self._args)) % variables  # noqa: S704 - our catalogue; the values are escaped


def lazy_gettext(string: str, **variables) -> LazyString:
    """``flask_babel.lazy_gettext`` (a LazyString), translated with :func:`gettext`; in a page the values put
    into it are escaped."""
    return _LazyString(gettext, string, **variables)
