"""Request plumbing: access enforcement, security headers, errors, template helpers."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, g, render_template, request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from volnet.core import access, clock
from volnet.core.i18n import babel_context
from volnet.core.korean import format_phone, phone_digits
from volnet.core.sql import constraint_name
from volnet.extensions import db

PERSONAL_DATA_PREFIXES = ("/concerns", "/households", "/observations", "/admin", "/my", "/shifts", "/cases",
                          "/calls", "/risk", "/reports", "/account")


def init_app(app):
    app.before_request(_nonce)
    app.before_request(access.enforce_route_rules)
    app.after_request(_headers)
    app.teardown_request(_commit_audit)

    @app.errorhandler(404)
    def not_found(e):
        return render_template("errors/error.html", code=404, title=_("Page not found"),
                               message=_("The page does not exist or you may not see it.")), 404

    @app.errorhandler(403)
    def forbidden(e):
        return render_template("errors/error.html", code=404, title=_("Page not found"),
                               message=_("The page does not exist or you may not see it.")), 404

    @app.errorhandler(400)
    def bad_request(e):
        return render_template("errors/error.html", code=400, title=_("Bad request"),
                               message=_("The request could not be understood. Go back and try again.")), 400

    @app.errorhandler(405)
    def method_not_allowed(e):
        return render_template("errors/error.html", code=405, title=_("Method not allowed"),
                               message=_("This address cannot be used this way. Go back and try again.")), 405

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def form_expired(e):
        # A stale or missing CSRF token (a page left open across a login, a second tab, a new secret key):
        # say so and lead back to the form. No redirect: the browser's Back keeps what was typed.
        db.session.rollback()
        if _signed_out_of(request.endpoint):
            # No session any more (signed out in another tab, cookies cleared, the idle timeout): sending the
            # form again cannot work; logging in and coming back can.
            return signed_out_form_page()
        return render_template("errors/error.html", code=400, title=_("The form has expired"),
                               message=_("The form was not sent, but what you typed is still there: go back to it "
                                         "with your browser's Back button and send it again."),
                               back_url=same_site_referrer(), back_label=_("Back to the form")), 400

    @app.errorhandler(413)
    def too_large(e):
        return render_template("errors/error.html", code=413, title=_("File too large"),
                               message=_("The file or form is too large.")), 413

    @app.errorhandler(429)
    def too_many(e):
        return render_template("errors/error.html", code=429, title=_("Too many requests"),
                               message=_("Too many attempts. Please wait a little and try again.")), 429

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def db_unavailable(e):
        db.session.rollback()
        app.logger.warning("database unavailable or busy: %s", type(e).__name__)
        resp = app.make_response((render_template(
            "errors/error.html", code=503, title=_("Busy, try again"),
            message=_("The service is busy or briefly unavailable. Nothing was lost; please try again.")), 503))
        resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def bad_value(e):
        # A number too large for a column (an id typed into a URL, a huge form value): the thing asked
        # for cannot exist. Answer like any missing page instead of failing with a 500.
        db.session.rollback()
        app.logger.warning("value out of range for the database: %s %s", request.method, request.path)
        return render_template("errors/error.html", code=404, title=_("Page not found"),
                               message=_("The page does not exist or you may not see it.")), 404

    from volnet.observations.services import DuplicateReport

    @app.errorhandler(DuplicateReport)
    def duplicate_report(e):
        # The same report was saved by a parallel request (a double tap): keep that one, change nothing.
        db.session.rollback()
        return render_template("errors/error.html", code=409, title=_("Already received"),
                               message=_("This report was already received. Nothing else was changed.")), 409

    @app.errorhandler(IntegrityError)
    def conflict(e):
        # Two requests saved the same thing at the same moment (a double tap, two colleagues) and a unique
        # constraint stopped the second: its whole transaction is rolled back, so nothing is half-saved.
        # Views that expect this answer more precisely; this is the net under the rest. Any other
        # constraint (a foreign key, NOT NULL, CHECK) means a bug: the 500 page and a full log entry.
        # The warning names the constraint only: the database's message would quote the values.
        db.session.rollback()
        if _household_gone(e):
            # The household this request wrote about was erased (a privacy request) after the request
            # found it: the foreign key refused the write, the transaction is rolled back.
            app.logger.warning("household erased during %s %s", request.method, request.path)
            return render_template("errors/error.html", code=409, title=_("Household removed"),
                                   message=_("This household was removed a moment ago (a privacy request), so "
                                             "this was not saved. Nothing else was changed.")), 409
        if not _unique_violation(e):
            app.logger.exception("integrity error on %s %s", request.method, request.path)
            return server_error(e)
        app.logger.warning("write conflict on %s %s: %s", request.method, request.path,
                           constraint_name(e) or type(getattr(e, "orig", e)).__name__)
        return render_template("errors/error.html", code=409, title=_("Changed at the same moment"),
                               message=_("Someone saved the same thing at the same moment, so this was not "
                                         "saved. Reload the page to see what is there now, then try again "
                                         "if it is still needed.")), 409

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return render_template("errors/error.html", code=500, title=_("Something went wrong"),
                               message=_("Something went wrong on our side. Please try again.")), 500

    @app.errorhandler(Exception)
    def unhandled(e):
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return e
        app.logger.exception("unhandled error")
        return server_error(e)

    app.jinja_env.filters["seoul"] = seoul_datetime
    app.jinja_env.filters["seoul_date"] = seoul_date
    app.jinja_env.filters["labels_of"] = labels_of
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.filters["role_label"] = _role_label
    app.jinja_env.globals["now"] = clock.now
    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
    app.jinja_env.globals["lang_next"] = _lang_next
    app.jinja_env.globals["has_role"] = lambda *roles: access.has_role(access.signed_in(), roles)
    app.jinja_env.globals["can"] = lambda action, obj: access.can(access.signed_in(), action, obj)
    app.jinja_env.globals["tel"] = tel_link
    from volnet.core import nav

    app.jinja_env.globals["nav_links"] = nav.links
    from volnet.core.paging import page_links

    app.jinja_env.globals["page_links"] = page_links


def _lang_next() -> str:
    """Where the language switch leads back to: this page, or for a page that answered a form (a refused
    form, a lookup's result) the page the form was on; a form's own address cannot be opened again."""
    if request.method == "GET":
        return request.full_path
    return same_site_referrer() or ""


def _signed_out_of(endpoint: str | None) -> bool:
    """The request is for a page that needs an account, and nobody is signed in."""
    from volnet.core.access import PUBLIC, access_of, signed_in

    view = current_app.view_functions.get(endpoint or "")
    decl = access_of(view) if view is not None else None
    if decl is None or PUBLIC in decl["roles"]:
        return False
    user = signed_in()
    return user is not None and not user.is_authenticated


def signed_out_form_page():
    """The answer to a form sent after its session ended, however it ended (the idle or absolute timeout, a
    logout or password change on another device, an admin's password reset, a disabled account, cookies
    cleared): it was not sent, what was typed is still on the previous page, and "Log in" leads back there.
    No redirect: the browser's Back keeps what was typed."""
    from flask import url_for

    db.session.rollback()
    back = same_site_referrer()
    return render_template(
        "errors/error.html", code=400, title=_("You are signed out"),
        message=_("You were signed out, so the form was not sent. What you typed is still on the previous "
                  "page (your browser's Back button): copy it, log in again and send it."),
        back_url=url_for("accounts.login", next=back) if back else url_for("accounts.login"),
        back_label=_("Log in")), 400


def is_form_sent() -> bool:
    """A form with content was sent (a POST other than the logout button, which needs no session to end)."""
    return request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint != "accounts.logout"


def same_site_referrer() -> str | None:
    """The page a request came from, when it is on this site (a path), else None."""
    from urllib.parse import urlsplit

    from volnet.accounts.views import safe_next

    ref = urlsplit(request.referrer or "")
    if not ref.path or (ref.netloc and ref.netloc != request.host):
        return None
    return safe_next(ref.path + (f"?{ref.query}" if ref.query else ""))


def _household_gone(e) -> bool:
    """A foreign key to households failed on a write (PostgreSQL, where an erasure can commit between a
    request's read and its write; SQLite lets one writer in at a time). Constraint names follow
    extensions.NAMING_CONVENTION: fk_<table>_<column>_households."""
    orig = getattr(e, "orig", None)
    if getattr(orig, "sqlstate", None) != "23503":  # foreign_key_violation
        return False
    name = constraint_name(e) or ""
    return name.startswith("fk_") and name.endswith("_households")


def _unique_violation(e) -> bool:
    orig = getattr(e, "orig", None)
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL (psycopg): unique_violation
        return True
    return "UNIQUE constraint failed" in str(orig)  # SQLite


def _role_label(role: str) -> str:
    from volnet.accounts.roles import ROLE_LABELS

    return str(ROLE_LABELS.get(role, role))


def _nonce():
    g.csp_nonce = secrets.token_urlsafe(16)


def _headers(resp):
    nonce = g.get("csp_nonce", "")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'; object-src 'none'",
    )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if not request.path.startswith("/static/") and (
        request.path.startswith(PERSONAL_DATA_PREFIXES) or g.get("personal_data")
    ):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _commit_audit(exc):
    """Reads are audited even on GET pages: commit the pending audit rows at the end."""
    if g.get("audit_dirty") and exc is None:
        try:
            db.session.commit()
        except Exception:  # noqa: BLE001
            db.session.rollback()


_WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _weekday(local: datetime) -> str:
    ctx = babel_context()  # the request's locale once found; get_locale() finds it otherwise
    locale = getattr(ctx, "babel_locale", None) or get_locale()
    names = _WEEKDAYS["en"] if locale is not None and locale.language == "en" else _WEEKDAYS["ko"]
    return names[local.weekday()]


def seoul_datetime(value: datetime | None, fmt: str = "short") -> str:
    """'2026. 11. 22.(일) 14:05' in Asia/Seoul, as Korean locale formatting gives (fast path, no CLDR)."""
    if value is None:
        return ""
    if fmt != "short":
        return format_datetime(value, fmt)
    local = clock.to_seoul(value)
    return f"{local.year}. {local.month}. {local.day}.({_weekday(local)}) {local.hour:02d}:{local.minute:02d}"


def labels_of(keys, mapping, sep: str = ", ") -> str:
    """``{{ o.signals|labels_of(signals) }}``: the labels of ``keys`` (a key without one as it is)."""
    return sep.join(str(mapping.get(k, k)) for k in keys or ())


def seoul_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = clock.to_seoul(value)
        return f"{value.year}. {value.month}. {value.day}.({_weekday(value)})"
    return f"{value.year}. {value.month}. {value.day}.({_weekday(value)})"


def tel_link(number: str | None) -> Markup:
    if not number:
        return Markup("")
    digits = phone_digits(number)
    shown = format_phone(digits) or digits
    return Markup('<a class="tel" href="tel:{0}">{1}</a>').format(digits, shown)
