"""Sessions: the cookie carries user id + session version; idle and absolute timeouts for everyone.

Bumping ``User.session_version`` (logout, password change, disable) ends every session at once,
in every process, because each request re-reads the user row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import logout_user

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db, login_manager

# The idle clock moves in steps of a minute, so most requests leave the session cookie as it is.
SEEN_RESOLUTION_SECONDS = 60


def init_app(app):
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_to_login)
    app.before_request(check_timeouts)
    app.jinja_env.globals["idle_seconds"] = idle_seconds


def _to_login():
    """Flask-Login's redirect to the login page (next= the page, as a same-site path), with its "please log in"
    only when no other message waits: after an idle or ended session that one says it already. A form sent
    after the session ended elsewhere gets the "not sent, go back" page instead, as after the idle timeout."""
    from volnet.core.web import is_form_sent, signed_out_form_page

    if is_form_sent():
        return signed_out_form_page()
    if not session.get("_flashes"):
        flash(login_manager.login_message, login_manager.login_message_category)
    # Back to this page, or for a form sent (POST) the page it came from: a form's own address answers 405.
    back = come_back_to()
    return redirect(url_for(login_manager.login_view, next=back) if back else url_for(login_manager.login_view))


def load_user(user_key: str):

    try:
        uid, version = (int(p) for p in user_key.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.execute(_user_statement(), {"uid": uid}).scalar_one_or_none()
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def request_user_options() -> list:
    """Loader options for the signed-in user of a request: one statement brings the row, the dong ids
    and what other domains register with ``undefer_for_requests`` (e.g. the unread-notification count)."""
    from sqlalchemy.orm import load_only, undefer

    from volnet.accounts.models import REQUEST_COLUMNS, User

    return [load_only(*(getattr(User, c) for c in REQUEST_COLUMNS)), undefer(User.dong_id_list),
            undefer(User.has_totp), *(undefer(attr) for attr in _REQUEST_UNDEFER)]


_REQUEST_UNDEFER: list = []
_user_stmt: list = []


def _user_statement():
    """Built once per process (every request runs it; building a select costs more than running it)."""
    if not _user_stmt:
        from sqlalchemy import bindparam, select

        from volnet.accounts.models import User

        _user_stmt.append(select(User).options(*request_user_options()).where(User.id == bindparam("uid")))
    return _user_stmt[0]


def undefer_for_requests(attr) -> None:
    """Load a deferred ``column_property`` of ``User`` together with the signed-in user."""
    if attr not in _REQUEST_UNDEFER:
        _REQUEST_UNDEFER.append(attr)
        _user_stmt.clear()


def start(user) -> None:
    """Call right after login_user: a fresh session with its own clocks."""
    now = clock.now().timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = False


def check_timeouts():
    if request.endpoint in (None, "static") or "login_at" not in session:
        return None
    now = clock.now().timestamp()
    idle = timedelta(minutes=int(current_app.config["IDLE_TIMEOUT_MINUTES"])).total_seconds()
    absolute = timedelta(hours=int(current_app.config["ABSOLUTE_TIMEOUT_HOURS"])).total_seconds()
    idled = now - session.get("seen_at", 0) > idle
    if idled or now - session.get("login_at", 0) > absolute:
        logout_user()
        session.clear()
        from volnet.core.access import PUBLIC, access_of

        decl = access_of(current_app.view_functions.get(request.endpoint)) or {}
        if PUBLIC in decl.get("roles", ()):
            return None  # e.g. the login form itself: carry on, logged out
        if idled:
            flash(_l("You were signed out after %(n)d minutes without activity. Log in again to go back to the "
                     "page.", n=int(current_app.config["IDLE_TIMEOUT_MINUTES"])), "info")
        else:
            flash(_l("Your session has ended. Please log in again."), "info")
        from volnet.core.web import is_form_sent, signed_out_form_page

        if is_form_sent():
            return signed_out_form_page()
        return redirect(url_for("accounts.login", next=come_back_to()))
    if request.endpoint == "accounts.session_status" and not request.args.get("stay"):
        return None  # the page asking how long is left is no activity
    if now - session.get("seen_at", 0) >= SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now  # the cookie is re-signed (and sent) only when this moves
    return None


def come_back_to() -> str | None:
    """Where to go after logging in again: this page (GET), or for a form sent (POST) the page it was sent
    from. Same-site paths only."""
    from volnet.accounts.views import safe_next
    from volnet.core.web import same_site_referrer

    if request.method in ("GET", "HEAD"):
        query = request.query_string.decode("utf-8", "replace")
        return safe_next(request.path + (f"?{query}" if query else ""))
    return same_site_referrer()


def idle_seconds() -> int:
    """For the page's warning before the idle timeout (static/js/idle.js)."""
    return int(current_app.config["IDLE_TIMEOUT_MINUTES"]) * 60


def idle_seconds_left() -> int:
    return max(0, int(session.get("seen_at", 0) + idle_seconds() - clock.now().timestamp()))


def login_time() -> datetime | None:
    ts = session.get("login_at")
    return datetime.fromtimestamp(ts, tz=clock.now().tzinfo) if ts else None
