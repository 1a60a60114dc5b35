"""RQ plumbing. Redis only carries work that can be rebuilt from the database.

Without a configured Redis (the embedded mode) jobs run in-process right after the commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

log = logging.getLogger(__name__)


def redis_conn():
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=3)


def inline_mode() -> bool:
    forced = current_app.config.get("RUN_JOBS_INLINE")
    if forced is not None:
        return bool(forced)
    return not current_app.config.get("REDIS_URL")


def get_queue(name: str = "default"):
    from rq import Queue

    conn = redis_conn()
    if conn is None:
        return None
    return Queue(name, connection=conn)


def enqueue(func: Callable, *args, job_id: str | None = None, queue: str = "default",
            job_timeout: int | None = None, **kwargs) -> bool:
    """Enqueue after commit. Returns False when Redis is unreachable (the sweep will retry).
    ``job_timeout`` (seconds) replaces RQ's default of 180 for long jobs; inline it does not apply."""
    if inline_mode():
        try:
            func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the database row stays due; the sweep retries it
            log.exception("inline job %s failed", getattr(func, "__name__", func))
        return True
    try:
        q = get_queue(queue)
        extra = {"job_timeout": job_timeout} if job_timeout else {}
        q.enqueue(func, *args, job_id=job_id, **extra, **kwargs)
        return True
    except Exception as exc:  # noqa: BLE001 - Redis down: the database still holds the work
        log.warning("could not enqueue %s: %s", getattr(func, "__name__", func), type(exc).__name__)
        return False


def health() -> dict:
    if not current_app.config.get("REDIS_URL"):
        return {"redis": "not_configured", "workers": "inline"}
    try:
        from rq import Worker

        conn = redis_conn()
        conn.ping()
        workers = Worker.all(connection=conn)
        from rq import Queue

        q = Queue(current_app.config.get("NOTIFY_QUEUE") or "default", connection=conn)
        return {"redis": "ok", "workers": len(workers) if workers else "none",
                "queued": q.count, "scheduled": q.scheduled_job_registry.count}
    except Exception:  # noqa: BLE001
        return {"redis": "down", "workers": "unknown"}
