from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.security.crypto import EncryptedText

STATUSES = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "monitoring": _l("Monitoring"),
    "closed": _l("Closed"),
    "merged": _l("Merged"),
}
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "monitoring")
# The same, as literal SQL: partial indexes and ON CONFLICT inference need the predicate spelled out.
OPEN_STATUSES_SQL = "status IN ('new','acknowledged','in_progress','monitoring')"

# What a reporter may see of the concern their report joined.
COARSE_STATUS = {
    "new": _l("Received"),
    "acknowledged": _l("Being checked"),
    "in_progress": _l("Being checked"),
    "monitoring": _l("Being checked"),
    "closed": _l("Handled"),
    "merged": _l("Being checked"),
}

OUTCOMES = {
    "no_concern": _l("Checked, no concern"),
    "services_linked": _l("Services linked"),
    "case_opened": _l("Integrated case opened"),
    "monitoring": _l("Regular monitoring"),
    "referred": _l("Referred to another agency"),
    "emergency_support": _l("Emergency support given"),
    "refused": _l("Support refused"),
    "not_located": _l("Could not be located"),
    "moved": _l("Moved away"),
    "deceased": _l("Deceased"),
}

CONTACT_OUTCOMES = {
    "connected_fine": _l("Connected, fine"),
    "connected_concern": _l("Connected, concern"),
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "refused": _l("Refused"),
    "invalid_number": _l("Invalid number"),
    "away_confirmed": _l("Away, confirmed (hospital, trip)"),
    "visit_safe": _l("Visit: safe"),
    "visit_no_response": _l("Visit: no response"),
    "emergency_requested": _l("112/119 requested"),
}
VISIT_OUTCOMES = {"visit_safe", "visit_no_response", "emergency_requested"}
# A contact or visit that reached the person (or saw them, or got 112/119 to them): only these complete the
# contact step. An attempt that did not (no answer, busy, refused, invalid number, no response at the door)
# is in the timeline, and the step stays due.
REACHED_OUTCOMES = {"connected_fine", "connected_concern", "away_confirmed", "visit_safe", "emergency_requested"}


class Concern(db.Model):
    """One open concern per household gathers every signal about it."""

    __tablename__ = "concerns"
    __audited__ = True
    __table_args__ = (
        Index("ix_concerns_queue", "dong_id", "status", "urgency_rank", "next_due_at"),
        Index("ix_concerns_owner_due", "owner_id", "next_due_at"),
        # The open queue in its sort order (bench/platform_bench.py): page 1 reads 25 index entries
        # instead of joining and sorting every open concern of the dong (22 ms -> 0.4 ms at city scale).
        Index(
            "ix_concerns_open_queue", "dong_id", "urgency_rank", "next_due_at", "id",
            sqlite_where=text(OPEN_STATUSES_SQL), postgresql_where=text(OPEN_STATUSES_SQL),
        ),
        # Every concern of a dong in queue order ("all statuses"): a page is an index scan, not a sort of
        # the dong's thousands of closed concerns (123 ms -> under 1 ms at city scale).
        Index("ix_concerns_dong_order", "dong_id", "urgency_rank", "next_due_at", "id"),
        # At most one open concern per household, on SQLite and PostgreSQL alike.
        Index(
            "uq_concerns_open_household", "household_id", unique=True,
            sqlite_where=text(OPEN_STATUSES_SQL), postgresql_where=text(OPEN_STATUSES_SQL),
        ),
        # A household's concerns, newest first (household page, erasure's reference checks): without it
        # every household page read all of the city's concerns (29 ms at 130,000 concerns; 0.1 ms with it).
        Index("ix_concerns_household_opened", "household_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    tong: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="new")
    urgency: Mapped[str] = mapped_column(String(12), default="routine")
    urgency_rank: Mapped[int] = mapped_column(default=2)
    source: Mapped[str] = mapped_column(String(20), default="observation")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_signal_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The due time the overdue alerts were written for (owner / team leads): the sweep looks only at
    # overdue concerns not yet alerted for their current due time, however many are overdue.
    alerted_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lead_alerted_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(30))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"))
    # The first report's signs as signal codes, comma-separated, in no language ("not_going_out,mail_piling",
    # observations.signals.summary_codes); pages show their labels in the reader's language (summary_shown).
    summary: Mapped[str] = mapped_column(String(300), default="")
    signal_count: Mapped[int] = mapped_column(default=0)

    household: Mapped[Household | None] = relationship()
    owner = relationship("User", foreign_keys=[owner_id])
    dong = relationship("Dong")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return self.is_open and self.next_due_at is not None and self.next_due_at < now


class ConcernEvent(db.Model):
    """The timeline: every observation and action, with who and when."""

    __tablename__ = "concern_events"
    __table_args__ = (
        Index("ix_concern_events_concern", "concern_id", "at"),
        Index("ix_concern_events_household", "household_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(EncryptedText, default="")  # sensitive: encrypted at rest

    actor = relationship("User")
    observation = relationship("Observation")
