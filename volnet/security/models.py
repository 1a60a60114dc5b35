from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from volnet.core import clock
from volnet.core.types import UTCDateTime
from volnet.extensions import db


class ThrottleEvent(db.Model):
    """One counted event (failed login, public report ...) for throttling across processes."""

    __tablename__ = "throttle_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(120), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
