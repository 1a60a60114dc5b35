"""Throttling counted in the database: it holds across processes, restarts and a Redis outage."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from volnet.core import clock
from volnet.extensions import db
from volnet.security.models import ThrottleEvent


def count(bucket: str, window: timedelta) -> int:
    since = clock.now() - window
    return db.session.scalar(
        select(func.count()).select_from(ThrottleEvent)
        .where(ThrottleEvent.bucket == bucket, ThrottleEvent.at >= since)
    ) or 0


def hit(bucket: str) -> None:
    db.session.add(ThrottleEvent(bucket=bucket[:120], at=clock.now()))


def last(bucket: str):
    return db.session.scalar(select(func.max(ThrottleEvent.at)).where(ThrottleEvent.bucket == bucket))


def clear(bucket: str) -> None:
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.bucket == bucket))


def allow(bucket: str, limit: int, window: timedelta) -> bool:
    """Count this event and say whether it is within the limit."""
    if count(bucket, window) >= limit:
        return False
    hit(bucket)
    return True


def purge(older_than: timedelta = timedelta(days=2)) -> int:
    res = db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.at < clock.now() - older_than))
    return res.rowcount or 0


EXPORT_LIMIT = 30
EXPORT_WINDOW = timedelta(hours=1)


def throttle_export(user) -> bool:
    """Count one export (CSV, JSON, ZIP download) by ``user``; False when over 30 per hour.

    Export views call it first and answer 429 when it says no::

        if not throttle.throttle_export(current_user):
            abort(429)

    The count is committed at the end of the request even by read-only views (``g.audit_dirty``).
    """
    from flask import g, has_request_context

    ok = allow(f"export:{getattr(user, 'id', 0)}", EXPORT_LIMIT, EXPORT_WINDOW)
    if has_request_context():
        g.audit_dirty = True
    return ok
