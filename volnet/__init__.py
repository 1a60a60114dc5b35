"""volnet: community care network for Korean neighbourhoods."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from flask import Flask, Request

from volnet.config import load_config
from volnet.extensions import babel, csrf, db, login_manager, migrate


class VolnetRequest(Request):
    @cached_property
    def wtforms_translations(self):
        """Read by Flask-WTF (``request.wtforms_translations``); cached per process and language."""
        from volnet.core.i18n import wtforms_translations

        return wtforms_translations()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    from volnet.core.templating import VolnetEnvironment

    app.jinja_environment = VolnetEnvironment  # before anything creates app.jinja_env
    app.request_class = VolnetRequest
    load_config(app, config)

    from volnet import models  # noqa: F401  (every model registered before migrate/create_all)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    from volnet.core.dbsetup import configure_engine

    configure_engine(app)
    from volnet.core import i18n, web

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Seoul")
    login_manager.init_app(app)
    from volnet.accounts import sessions

    sessions.init_app(app)
    web.init_app(app)

    from volnet.accounts.views import bp as accounts_bp
    from volnet.admin.views import bp as admin_bp
    from volnet.concerns.views import bp as concerns_bp
    from volnet.households.views import bp as households_bp
    from volnet.main.views import bp as main_bp
    from volnet.observations.views import bp as observations_bp

    for bp in (main_bp, accounts_bp, admin_bp, households_bp, observations_bp, concerns_bp):
        app.register_blueprint(bp)
    for extra in _optional_blueprints():
        app.register_blueprint(extra)

    from volnet import cli

    cli.init_app(app)
    return app


def _optional_blueprints():
    """Domain packages added by later capabilities register here when present."""
    import importlib

    found = []
    for name in ("shifts", "notifications", "risk", "cases", "calls", "reports", "privacy"):
        try:
            mod = importlib.import_module(f"volnet.{name}.views")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"volnet.{name}", f"volnet.{name}.views"):
                raise
            continue
        bp = getattr(mod, "bp", None)
        if bp is not None:
            found.append(bp)
    return found
