"""RQ jobs. They take ids, reload from the database and are safe to run twice.

A job runs in whatever worker executes it: ``flask volnet worker`` (app already built) or a plain
``rq worker`` (the app is built from the VOLNET_* environment once per process).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app, has_app_context

log = logging.getLogger(__name__)
_app = None
SWEEP_JOB_PREFIX = "volnet-sweep-"


def _get_app():
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from volnet import create_app

        _app = create_app()
    return _app


@contextmanager
def app_context():
    """A fresh app context (and so a fresh database session) per job."""
    from volnet.extensions import db

    app = _get_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()


def deliver_job(ids: list[int]) -> dict:
    from volnet.extensions import db
    from volnet.notifications import services

    out: dict[str, int] = {}
    with app_context():
        try:
            states = services.deliver_many([int(i) for i in ids])
        except Exception:  # noqa: BLE001 - claimed rows stay claimed; the lease lets the sweep retry them
            db.session.rollback()
            log.exception("delivery of outbox rows %s failed", ids)
            states = {}
        for state in states.values():
            out[state] = out.get(state, 0) + 1
    return out


def sweep_job(reschedule: bool = True) -> dict:
    """The periodic sweep. Re-schedules itself with enqueue_in; the slot in the job id keeps one chain."""
    from volnet.notifications import services

    result: dict = {}
    with app_context():
        try:
            result = services.sweep(guard=True)
        except Exception:  # noqa: BLE001 - next round will try again
            log.exception("sweep failed")
        finally:
            if reschedule:
                schedule_next_sweep()
    return result


def _slot(offset: int = 1) -> str:
    import time

    from volnet.notifications.services import sweep_interval

    interval = max(sweep_interval(), 0.5)
    return f"{SWEEP_JOB_PREFIX}{int(time.time() // interval) + offset}"


def schedule_next_sweep() -> bool:
    """enqueue_in(interval, sweep_job) with a unique id per time slot: two sweeps keep one chain."""
    from rq import Queue
    from rq.exceptions import DuplicateJobError

    from volnet.core import queue
    from volnet.notifications.services import sweep_interval

    try:
        conn = queue.redis_conn()
        if conn is None:
            return False
        q = Queue(current_app.config.get("NOTIFY_QUEUE") or "default", connection=conn)
        q.enqueue_in(timedelta(seconds=sweep_interval()), sweep_job, job_id=_slot(1), unique=True,
                     result_ttl=0, failure_ttl=300)
        return True
    except DuplicateJobError:
        return True
    except Exception as exc:  # noqa: BLE001 - Redis down: the web process and worker start re-seed it
        log.warning("could not schedule the next sweep: %s", type(exc).__name__)
        return False


def ensure_sweep() -> bool:
    """Start the sweep chain now (worker start, or when the database says no sweep ran for a while)."""
    from rq import Queue
    from rq.exceptions import DuplicateJobError

    from volnet.core import queue

    try:
        conn = queue.redis_conn()
        if conn is None:
            return False
        q = Queue(current_app.config.get("NOTIFY_QUEUE") or "default", connection=conn)
        q.enqueue(sweep_job, job_id=_slot(0), unique=True, result_ttl=0, failure_ttl=300)
        return True
    except DuplicateJobError:
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("could not start the sweep: %s", type(exc).__name__)
        return False
