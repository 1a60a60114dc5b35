"""Builders for safety calls (flush, never commit)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests import builders as b
from volnet.calls import services as svc
from volnet.calls.models import CallTask
from volnet.extensions import db

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul


def enrolled(dong, caseworker, tier="daily_risk", caller=None, backup=None, name="이순자", phone="01055556666"):
    h = b.household(dong, name=name, phone=phone, tier=tier)
    caller = caller or b.user("volunteer", [dong], name="서하늘")
    enr = svc.enroll(caseworker, h, caller, backup)
    return h, enr


def open_tasks(kind=None):
    stmt = select(CallTask).where(CallTask.status == "open")
    if kind:
        stmt = stmt.where(CallTask.kind == kind)
    return list(db.session.scalars(stmt.order_by(CallTask.id)))


def korean_client(app, user):
    """A client of ``user`` reading the pages in Korean (the other clients of tests/calls read English)."""
    c = app.test_client()
    c.set_cookie("volnet_lang", "ko")
    b.login(c, user)
    return c
