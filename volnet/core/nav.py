"""Navigation: the core entries per role, and those domain packages add with
``register(label, endpoint, roles)``. The links of a role are built once per process and language
(labels and URLs never change while it runs); labels that change per request (the unread count) keep
their object and render themselves.
"""
from __future__ import annotations

from flask import request, url_for
from flask_babel import get_locale
from flask_login import current_user

from volnet.accounts.roles import ADMIN as _ADMIN
from volnet.accounts.roles import STAFF
from volnet.accounts.roles import TEAM_LEAD as _TEAM_LEAD
from volnet.core.i18n import lazy_gettext as _l

_items: list[tuple] = []
_cache: dict[tuple, list[dict]] = {}

ADMIN, TEAM_LEAD = (_ADMIN,), (_TEAM_LEAD,)


def _core_before() -> list[tuple]:
    return [
        (_l("Administration"), "admin.index", ADMIN),
        (_l("Accounts"), "admin.users", ADMIN),
        (_l("Audit log"), "admin.audit", ADMIN),
        (_l("Team"), "concerns.team", TEAM_LEAD),
        (_l("Audit log"), "admin.audit", TEAM_LEAD),
        (_l("Concerns"), "concerns.queue", STAFF),
        (_l("Households"), "households.index", STAFF),
    ]


def _core_after(role: str) -> list[tuple]:
    out = []
    if role != "admin":
        out += [(_l("Send a report"), "observations.start", (role,)), (_l("My reports"), "observations.mine", (role,))]
    out.append((_l("My account"), "accounts.password", (role,)))
    return out


def register(label, endpoint: str, roles: tuple[str, ...]) -> None:
    if all(i[1] != endpoint for i in _items):
        _items.append((label, endpoint, tuple(roles)))
        _cache.clear()


def links() -> list[dict]:
    """The signed-in user's menu: ``{"label": ..., "url": ...}`` in order."""
    if not current_user.is_authenticated:
        return []
    role = current_user.role
    locale = get_locale()
    key = (role, locale.language if locale is not None else "", request.script_root)
    hit = _cache.get(key)
    if hit is None:
        entries = [*_core_before(), *_items, *_core_after(role)]
        hit = [{"label": label if hasattr(label, "__html__") else str(label), "url": url_for(ep)}
               for label, ep, roles in entries if role in roles]
        _cache[key] = hit
    return hit
