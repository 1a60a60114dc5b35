"""Short per-process caches for things that change rarely and may be a few seconds stale (drop-down
names, the list of active dongs). Never for anything access or money depends on. Every process keeps
its own copy and re-reads it after ``seconds``; ``clear_all`` empties them (tests, after admin changes).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

_caches: list[TTLCache] = []


def _scoped(key: Hashable) -> tuple:
    """Keys are per database: tests run apps on SQLite and PostgreSQL in one process."""
    from flask import current_app

    return (current_app.config.get("SQLALCHEMY_DATABASE_URI"), key)


class TTLCache:
    def __init__(self, seconds: float, max_items: int = 2000):
        self.seconds = seconds
        self.max_items = max_items
        self._data: dict[Hashable, tuple[float, Any]] = {}
        _caches.append(self)

    def get(self, key: Hashable, load: Callable[[], Any], fresh: Callable[[Any], bool] | None = None):
        """The cached value for ``key``, loaded with ``load()`` when missing, older than ``seconds`` or
        not ``fresh(value)``."""
        key = _scoped(key)
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and now - hit[0] < self.seconds and (fresh is None or fresh(hit[1])):
            return hit[1]
        value = load()
        if len(self._data) >= self.max_items:
            self._data.clear()
        self._data[key] = (now, value)
        return value

    def peek(self, key: Hashable):
        """The cached value for ``key`` if fresh, else None (nothing is loaded)."""
        hit = self._data.get(_scoped(key))
        if hit is not None and time.monotonic() - hit[0] < self.seconds:
            return hit[1]
        return None

    def put(self, key: Hashable, value) -> None:
        if len(self._data) >= self.max_items:
            self._data.clear()
        self._data[_scoped(key)] = (time.monotonic(), value)

    def clear(self) -> None:
        self._data.clear()


def clear_all() -> None:
    for cache in _caches:
        cache.clear()
