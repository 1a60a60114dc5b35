"""Navigation entries that domain packages add: ``register(label, endpoint, roles)``."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

_items: list[tuple] = []


def register(label, endpoint: str, roles: tuple[str, ...]) -> None:
    if all(i[1] != endpoint for i in _items):
        _items.append((label, endpoint, tuple(roles)))


def items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    return [{"label": label, "url": url_for(ep)} for label, ep, roles in _items if current_user.role in roles]
