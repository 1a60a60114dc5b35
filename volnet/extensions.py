"""Extensions, created unbound; create_app() binds them."""
from functools import cached_property

from flask_babel import Babel, Domain, get_translations
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from markupsafe import Markup, escape
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from volnet.core.i18n import gettext as _template_gettext  # this request's catalogue, looked up once

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class RequestCachedDomain(Domain):
    """Flask-Babel's domain, with the translations looked up once per request and language.

    Flask-Babel finds the catalogue on every ``_()`` call (three context look-ups and a locale
    formatted to a string); a busy page makes hundreds of calls. The cache lives in the request's
    Babel context and is keyed by the locale object, so ``force_locale`` and ``refresh`` still work.
    """

    def get_translations(self):
        from flask_babel import _get_current_context

        ctx = _get_current_context()
        if ctx is not None:
            locale = getattr(ctx, "babel_locale", None)
            hit = getattr(ctx, "volnet_translations", None)
            if hit is not None and locale is not None and hit[0] is locale:
                return hit[1]
        translations = super().get_translations()
        if ctx is not None and getattr(ctx, "babel_locale", None) is not None:
            ctx.volnet_translations = (ctx.babel_locale, translations)
        return translations


class VolnetBabel(Babel):
    @cached_property
    def domain_instance(self):
        return RequestCachedDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        # Templates call _() hundreds of times a page: go straight to this request's catalogue.
        app.jinja_env.install_gettext_callables(
            gettext=_template_gettext,
            ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
            pgettext=lambda c, s: get_translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
            newstyle=True,
        )
        # ``_()`` in templates, as Jinja's new-style gettext renders it (a Markup, always %-formatted,
        # the variables escaped), minus two indirections per call: a busy page calls it ~50 times.
        app.jinja_env.globals["_"] = template_gettext


def template_gettext(string, **variables):
    rv = _template_gettext(string)
    if variables:
        rv = rv % {k: v if isinstance(v, int | float) else escape(v) for k, v in variables.items()}
    elif "%" in rv:
        rv = rv % {}
    return Markup(rv)  # noqa: S704 - a catalogue text (no HTML in it), its variables escaped above


babel = VolnetBabel()
