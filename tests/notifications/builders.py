"""Builders for notification tests."""
from __future__ import annotations

from sqlalchemy import func, select

from tests import builders as b
from volnet.extensions import db
from volnet.notifications.models import Outbox, SentMessage


def person(role="volunteer", dongs=(), channels=("inapp",), phone="01012345678", email=None, locale="ko", **kw):
    return b.user(role, dongs=dongs, channels=list(channels) if channels is not None else None, phone=phone, email=email, locale=locale, **kw)


def rows(**where):
    stmt = select(Outbox)
    for k, v in where.items():
        stmt = stmt.where(getattr(Outbox, k) == v)
    return list(db.session.scalars(stmt.order_by(Outbox.id)))


def recorded(outbox_id=None, channel=None) -> int:
    stmt = select(func.count()).select_from(SentMessage)
    if outbox_id is not None:
        stmt = stmt.where(SentMessage.outbox_id == outbox_id)
    if channel is not None:
        stmt = stmt.where(SentMessage.channel == channel)
    return db.session.scalar(stmt)
