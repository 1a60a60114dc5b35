"""Helpers for tests that send requests at the same moment, as several gunicorn workers would."""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from tests.conftest import base_config
from volnet import create_app
from volnet.extensions import db


def wide_app(app, pool_size: int):
    """A second app on ``app``'s database whose threads each get a connection of their own (on
    PostgreSQL a pool of ``pool_size``); use as a fixture body: ``yield from wide_app(app, 8)``."""
    cfg = base_config(app.config["DATABASE_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30}
    other = create_app(cfg)
    yield other
    with other.app_context():
        db.engine.dispose()


def together(n: int, target: Callable[[int, threading.Barrier], object], timeout: float = 120) -> list:
    """Run ``target(i, barrier)`` in ``n`` threads; each calls ``barrier.wait()`` when ready to go at the
    same moment. Returns what each returned, in order of ``i``; fails with the first thread's traceback."""
    barrier = threading.Barrier(n, timeout=60)  # a thread that fails early breaks it instead of hanging
    results, errors = [None] * n, []

    def run(i: int):
        try:
            results[i] = target(i, barrier)
        except Exception:  # noqa: BLE001 - reported below
            errors.append(traceback.format_exc()[-4000:])
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors[:2]
    return results
