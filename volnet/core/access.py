"""Deny by default: every route declares who may use it; objects are checked in one place.

- ``@rule(...)`` on every view declares the roles that may call it (or ``public=True``).
  A ``before_request`` hook refuses any endpoint without a declared rule.
- ``can(user, action, obj)`` answers object-level questions; each domain registers a policy.
- ``visible(user, Model)`` gives the SQL condition a list must use, so that lists, counts,
  search and exports agree with the detail pages.
- ``load(Model, id, action)`` loads, authorizes and audits: another dong's object answers 404.
  Its audit rows name the object (table name, id), or what the model's ``__audit_subject__(obj)`` returns
  when the rest of the log names something else for it (a safety-call plan: its household).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import false
from werkzeug.local import LocalProxy

from volnet.extensions import db

_policies: dict[type, Callable[[Any, str, Any], bool]] = {}
_visibility: dict[type, Callable[[Any], Any]] = {}

PUBLIC = "public"
ANY_USER = "any_user"


def rule(*roles: str, public: bool = False, pledge: bool = True):
    """Declare who may call a view: ``@rule(PUBLIC)``, ``@rule(ANY_USER)`` or ``@rule("caseworker", ...)``.

    ``pledge=False`` lets a signed-in user reach the view before accepting the confidentiality pledge.
    """
    allowed = frozenset(roles)
    if public:
        allowed = frozenset({PUBLIC})

    def decorate(view):
        view._volnet_access = {"roles": allowed, "pledge": pledge}
        return view

    return decorate


def access_of(view) -> dict | None:
    return getattr(view, "_volnet_access", None)


EXEMPT_ENDPOINTS = {"static"}
_TOTP_ROLES = ("admin", "team_lead", "caseworker")  # volnet.accounts.roles.TOTP_ROLES


def enforce_route_rules():
    """before_request: refuse routes without a rule, then check role and pledge."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    decl = access_of(view)
    if decl is None:
        current_app.logger.error("route %s has no access rule; refused", endpoint)
        abort(404)
    roles = decl["roles"]
    if PUBLIC in roles:
        return None
    user = signed_in()
    if not user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if ANY_USER not in roles and user.role not in roles:
        from volnet.audit.services import record_denied

        record_denied(user, "route", endpoint)
        db.session.commit()
        abort(404)
    if user.role in _TOTP_ROLES:
        from volnet.security.totp import enrolment_redirect

        enrol = enrolment_redirect(user)  # security.totp_required: enrol before anything else
        if enrol is not None:
            return enrol
    if getattr(user, "must_change_password", False) and endpoint not in (
            "accounts.password", "accounts.logout", "main.set_language", "accounts.session_status"):
        from flask import redirect, url_for

        return redirect(url_for("accounts.password"))
    if decl["pledge"] and user.pledge_accepted_at is None:
        from flask import redirect, url_for

        return redirect(url_for("accounts.pledge", next=request.full_path if request.method == "GET" else None))
    return None


def policy(model: type):
    def decorate(fn):
        _policies[model] = fn
        return fn

    return decorate


def visibility(model: type):
    def decorate(fn):
        _visibility[model] = fn
        return fn

    return decorate


def signed_in():
    """The request's user (an anonymous one if nobody signed in; None outside a request), unwrapped from
    Flask-Login's proxy: every attribute read through the proxy looks the user up again."""
    return current_user._get_current_object()


def can(user, action: str, obj) -> bool:
    if isinstance(user, LocalProxy):
        user = user._get_current_object()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    fn = _policies.get(type(obj))
    if fn is None:
        return False
    return bool(fn(user, action, obj))


def visible(user, model: type):
    """SQL condition for the rows of ``model`` that ``user`` may list."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    fn = _visibility.get(model)
    if fn is None:
        return false()
    return fn(user)


def load(model: type, ident: Any, action: str = "view", audit: bool = True, lock: bool = False, options=()):
    """Load an object by id, 404 when missing or not allowed; audit reads of personal data.

    ``options``: loader options (what the page shows of its relations, loaded with it).

    ``lock``: for actions that change the object from what they read (a status transition): the row is
    read ``FOR UPDATE``, so two people acting at once take turns and the second sees what the first did
    (instead of writing over it). SQLite serialises writers anyway."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if ident <= 0 or ident > 2**31 - 1:  # primary keys are 32-bit integers; PostgreSQL refuses more
        abort(404)
    obj = (db.session.get(model, ident, with_for_update=True, populate_existing=True, options=options) if lock
           else db.session.get(model, ident, options=options))
    if obj is None:
        abort(404)
    if not can(current_user, action, obj):
        from volnet.audit.services import record_denied

        record_denied(current_user, *_audit_subject(model, obj, ident))
        db.session.commit()
        abort(404)
    if audit and getattr(model, "__audited__", False):
        from volnet.audit.services import record

        record(current_user, action, *_audit_subject(model, obj, ident))
        g.audit_dirty = True
    return obj


def _audit_subject(model: type, obj, ident: int) -> tuple[str, Any]:
    """(subject type, subject id) of an audit row about ``obj``."""
    named = getattr(model, "__audit_subject__", None)
    return named(obj) if named is not None else (model.__tablename__, ident)


def has_role(user, roles: Iterable[str]) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.role in set(roles))
