"""The outbox: every message is a row first, written in the transaction of the change that caused it.

States: pending -> sending -> sent | retrying -> ... -> failed; pending/retrying -> cancelled.
A row is claimed by a guarded UPDATE (only the winner sends); a claim older than the lease is
taken over by the sweep, so a worker killed mid-delivery never loses a message.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db

STATES = {
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "retrying": _l("Retrying"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}
CHANNELS = {
    "inapp": _l("In volnet"),
    "email": _l("Email"),
    "sms": _l("Text message (SMS)"),
    "kakao": _l("KakaoTalk"),
}
# Literal SQL, so that PostgreSQL can prove the partial index predicate whatever the plan.
DUE_STATES_SQL = "state IN ('pending','retrying')"


class Outbox(db.Model):
    """One message to one person on one channel."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "channel", name="uq_notification_outbox_key_channel"),
        # The sweep: due rows, oldest first. Partial, so sent rows (the vast majority) cost nothing.
        Index("ix_notification_outbox_due", "next_attempt_at", "enqueued_at",
              sqlite_where=text(DUE_STATES_SQL), postgresql_where=text(DUE_STATES_SQL)),
        # Claims whose worker died: found by their age.
        Index("ix_notification_outbox_claimed", "claimed_at",
              sqlite_where=text("state = 'sending'"), postgresql_where=text("state = 'sending'")),
        # A person's in-app list, and the unread count in the header.
        Index("ix_notification_outbox_inbox", "recipient_id", "channel", "state", "id"),
        Index("ix_notification_outbox_unread", "recipient_id",
              sqlite_where=text("channel = 'inapp' AND state = 'sent' AND read_at IS NULL"),
              postgresql_where=text("channel = 'inapp' AND state = 'sent' AND read_at IS NULL")),
        # The admin list by state.
        Index("ix_notification_outbox_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    link: Mapped[str] = mapped_column(String(500), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    to_address: Mapped[str] = mapped_column(String(254), default="")
    provider_ref: Mapped[str] = mapped_column(String(100), default="")
    # Rendered in the recipient's language when written, again at delivery (what was really sent).
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    recipient = relationship("User")


def _register_unread_count() -> None:
    """The header shows the unread in-app count on every page: read it with the signed-in user."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import column_property

    from volnet.accounts.models import User
    from volnet.accounts.sessions import undefer_for_requests

    User.unread_inapp_count = column_property(
        select(func.count(Outbox.id)).where(
            Outbox.recipient_id == User.id, Outbox.channel == "inapp", Outbox.state == "sent",
            Outbox.read_at.is_(None)).correlate_except(Outbox).scalar_subquery(),
        deferred=True,
    )
    undefer_for_requests(User.unread_inapp_count)


_register_unread_count()


class SentMessage(db.Model):
    """What the recording SMS/KakaoTalk providers 'sent' (the default providers; a real gateway replaces them).

    Deliberately no unique constraint on outbox_id: a duplicate send must show here, not be hidden.
    """

    __tablename__ = "notification_sent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("notification_outbox.id", ondelete="SET NULL"),
                                                  index=True)
    channel: Mapped[str] = mapped_column(String(10))
    to_address: Mapped[str] = mapped_column(String(254), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class NotificationClock(db.Model):
    """When a periodic task last ran (the sweep), held in the database so every process agrees."""

    __tablename__ = "notification_clocks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
