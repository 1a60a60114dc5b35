"""Throttling counted in the database: it holds across processes, restarts and a Redis outage."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from volnet.core import clock
from volnet.extensions import db
from volnet.security.models import ThrottleEvent


def count(bucket: str, window: timedelta, exclude: tuple[int, ...] = ()) -> int:
    since = clock.now() - window
    stmt = (select(func.count()).select_from(ThrottleEvent)
            .where(ThrottleEvent.bucket == bucket, ThrottleEvent.at >= since))
    if exclude:
        stmt = stmt.where(ThrottleEvent.id.not_in(exclude))
    return db.session.scalar(stmt) or 0


def retry_after(bucket: str, limit: int, window: timedelta) -> timedelta:
    """How long until ``bucket`` is under ``limit`` events in ``window`` again: when the event that then
    leaves the window is older than ``window``."""
    since = clock.now() - window
    over = count(bucket, window) - limit
    if over < 0:
        return timedelta(0)
    leaving = db.session.scalar(select(ThrottleEvent.at).where(ThrottleEvent.bucket == bucket,
                                                                ThrottleEvent.at >= since)
                                .order_by(ThrottleEvent.at, ThrottleEvent.id).offset(over).limit(1))
    return max(leaving + window - clock.now(), timedelta(0)) if leaving is not None else timedelta(0)


def hit(bucket: str) -> None:
    db.session.add(ThrottleEvent(bucket=bucket[:120], at=clock.now()))


def last(bucket: str, exclude: tuple[int, ...] = ()):
    stmt = select(func.max(ThrottleEvent.at)).where(ThrottleEvent.bucket == bucket)
    if exclude:
        stmt = stmt.where(ThrottleEvent.id.not_in(exclude))
    return db.session.scalar(stmt)


# --- guesses (passwords, two-step codes) ------------------------------------------------------------------

def reserve(bucket: str) -> tuple[int, ...]:
    """Count a guess in ``bucket`` *before* it is checked, committed at once.

    Guesses at one account sent at the same moment from many connections then see each other: of a burst,
    at most ``limit`` get as far as the password check (each one that passes ``locked`` saw every guess
    committed before it, its own included). A guess that fails keeps its event as the failure; one that is
    refused or succeeds gives it back with ``release``. Only for buckets where honest attempts do not
    overlap (one account), not for a client address that a whole office shares.
    """
    event = ThrottleEvent(bucket=bucket[:120], at=clock.now())
    db.session.add(event)
    db.session.flush()
    ids = (event.id,)
    db.session.commit()
    return ids


def release(ids: tuple[int, ...]) -> None:
    if ids:
        db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.id.in_(ids)))


def locked(buckets: tuple[str, ...], own: tuple[int, ...], limit: int, lock: timedelta) -> bool:
    """``limit`` other guesses within a minute start a lock; it lasts ``lock`` after the latest of them
    while ``limit`` of them fall inside it. ``own``: this guess's events from ``reserve``, not counted."""
    for bucket in buckets:
        if count(bucket, timedelta(minutes=1), own) >= limit:
            return True
        latest = last(bucket, own)
        if latest is not None and clock.now() - latest < lock and count(bucket, lock, own) >= limit:
            return True
    return False


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
