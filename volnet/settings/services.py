"""Settings with defaults in code; an admin's change is a row in ``settings``."""
from __future__ import annotations

import copy
import re
import time
from bisect import bisect_right
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from volnet.core import clock
from volnet.core.sql import upsert
from volnet.extensions import db
from volnet.settings.models import Setting

DEFAULTS: dict[str, object] = {
    # DOMAIN.md time rules: "1h" hours, "3d" calendar days, "3wd" working days (Korean holidays skipped).
    "due.emergency.ack": "1h",
    "due.emergency.action": "48h",
    "due.urgent.ack": "24h",
    "due.urgent.action": "3d",
    "due.routine.ack": "3wd",
    "due.routine.action": "7d",
    # Citizen report page: reports per client address per hour (neighbours behind one mobile carrier's or
    # apartment's address, a centre's kiosk share it).
    "public_report.per_hour": 10,
    # Login throttling: failures per minute before a lock, and the lock length in minutes.
    "login.max_failures": 6,
    "login.lock_minutes": 30,
}

_DURATION = re.compile(r"^\s*(\d{1,4})\s*(h|d|wd|m)\s*$")


# A short per-process cache: every process re-reads a changed setting within CACHE_SECONDS.
CACHE_SECONDS = 5.0
_cache: dict[tuple, tuple[float, object]] = {}


def _cache_key(key: str) -> tuple:
    from flask import current_app

    return (current_app.config.get("SQLALCHEMY_DATABASE_URI"), key)


def get(key: str):
    ck = _cache_key(key)
    hit = _cache.get(ck)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return copy.deepcopy(hit[1])
    row = db.session.get(Setting, key)
    value = row.value if row is not None and row.value is not None else DEFAULTS.get(key)
    _cache[ck] = (now, copy.deepcopy(value))
    return copy.deepcopy(value)


def clear_cache() -> None:
    _cache.clear()


def put(key: str, value, user=None) -> None:
    _cache.pop(_cache_key(key), None)
    # One statement: two admins saving a setting for the first time at once do not collide.
    upsert(Setting, ["key"], {"key": key, "value": value, "updated_at": clock.now(),
                              "updated_by_id": getattr(user, "id", None)})


def parse_duration(text: str) -> tuple[int, str]:
    """'48h' -> (48, 'h'); raises ValueError on anything else."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(text)
    n, unit = int(m.group(1)), m.group(2)
    if n <= 0:
        raise ValueError(text)
    return n, unit


@lru_cache(maxsize=8)
def _kr_holidays(first_year: int):
    return holidays.country_holidays("KR", years=range(first_year, first_year + 2))


def add_duration(start: datetime, text: str) -> datetime:
    """Add a rule duration to an aware datetime; working days are counted in Asia/Seoul."""
    n, unit = parse_duration(text)
    if unit == "m":
        return start + timedelta(minutes=n)
    if unit == "h":
        return start + timedelta(hours=n)
    if unit == "d":
        return start + timedelta(days=n)
    local = start.astimezone(clock.SEOUL)
    hol = _kr_holidays(local.year)
    day = local
    added = 0
    while added < n:
        day = day + timedelta(days=1)
        if day.weekday() < 5 and day.date() not in hol:
            added += 1
    return day.astimezone(start.tzinfo)


def rule_hours(text: str, days: list[date]) -> list[float]:
    """How long the rule ``text`` runs, in hours, from a start on each of ``days`` (Asia/Seoul dates), as
    ``add_duration`` counts it: the same for every start in minutes, hours and days; in working days it
    depends on the weekends and public holidays after the start (the due keeps the time of day)."""
    n, unit = parse_duration(text)
    if unit != "wd":
        return [n / 60 if unit == "m" else float(n * (24 if unit == "d" else 1))] * len(days)
    if not days:
        return []
    hol = _kr_holidays(min(days).year)
    # The working days after the first start, until the last start has n of them after it.
    working: list[date] = []
    day, last, after_last = min(days), max(days), 0
    while after_last < n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in hol:
            working.append(day)
            after_last += day > last
    return [(working[bisect_right(working, start) + n - 1] - start).days * 24.0 for start in days]
