"""Safety-check calls (안심콜 / 안부전화).

A household is enrolled with a caller and a backup. Scheduled call tasks are generated on the days its
tier's cadence gives; a missed call spawns retry tasks; a missed chain alerts the backup; repeated misses
make a visit task. Every attempt is a CallRecord.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.types import UTCDateTime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.security.crypto import EncryptedText

# Isolation tiers (DOMAIN.md). Household.tier holds one of these codes.
TIERS = {
    "emergency": _l("Emergency crisis"),
    "intensive": _l("Intensive management"),
    "daily_risk": _l("Daily-risk isolated"),
    "relationship": _l("Relationship support"),
    "daily_life": _l("Daily-life support"),
    "unassessed": _l("Unassessed"),
}

# Outcomes of an attempt (volnet.concerns.models.CONTACT_OUTCOMES codes).
REACHED = {"connected_fine", "connected_concern", "refused", "away_confirmed", "visit_safe",
           "emergency_requested"}
MISSED = {"no_answer", "busy", "invalid_number", "visit_no_response"}
CALL_OUTCOMES = ("connected_fine", "connected_concern", "no_answer", "busy", "refused", "invalid_number",
                 "away_confirmed")
VISIT_OUTCOMES = ("visit_safe", "visit_no_response", "emergency_requested")

TASK_KINDS = {"scheduled": _l("Scheduled call"), "retry": _l("Retry"), "visit": _l("Visit")}
TASK_STATUSES = {"open": _l("To do"), "done": _l("Done"), "missed": _l("Missed"), "cancelled": _l("Cancelled")}
CONTACT_FREQUENCIES = {
    "daily": _l("Daily"),
    "weekly": _l("Weekly"),
    "monthly": _l("Monthly"),
    "rarely": _l("Rarely"),
    "none": _l("No one"),
}


class CallEnrollment(db.Model):
    __tablename__ = "call_enrollments"
    # Its page lists the call records (health or mental distress, arrears, notes): every read is audited.
    __audited__ = True
    __table_args__ = (
        Index("uq_call_enrollment_household", "household_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        Index("ix_call_enrollments_due", "active", "next_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"), index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # caseworker responsible
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due_on: Mapped[date] = mapped_column(Date)
    consecutive_misses: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship()
    caller = relationship("User", foreign_keys=[caller_id])
    backup = relationship("User", foreign_keys=[backup_id])
    staff = relationship("User", foreign_keys=[staff_id])

    def __audit_subject__(self) -> tuple[str, int]:
        """Audit rows about a plan name its household, as every row of the safety-call pages does (group
        "Safety calls (household)" of the audit search): its page's reads and refused reads too."""
        return "call_enrollment", self.household_id


class CallTask(db.Model):
    """One thing to do on a caller's list: a scheduled call, a retry (with a due time) or a visit."""

    __tablename__ = "call_tasks"
    __audited__ = True  # its page shows the household's name, phone and address
    __table_args__ = (
        Index("ix_call_tasks_assignee", "assignee_id", "status", "due_at"),
        Index("ix_call_tasks_enrollment", "enrollment_id", "kind", "due_on"),
        Index("ix_call_tasks_sweep", "status", "due_at"),
        Index("ix_call_tasks_dong_due", "dong_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("call_enrollments.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10), default="scheduled")
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("call_tasks.id"))  # the scheduled task of a retry
    attempt: Mapped[int] = mapped_column(default=0)  # 0 scheduled, 1..n retries
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str | None] = mapped_column(String(24))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    enrollment: Mapped[CallEnrollment] = relationship()
    household: Mapped[Household] = relationship()


class CallRecord(db.Model):
    """One attempt: a call or a visit, with its outcome and the short visit checklist."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_dong_at", "dong_id", "at"),
        Index("ix_call_records_household_at", "household_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("call_tasks.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("call_enrollments.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    outcome: Mapped[str] = mapped_column(String(24))
    meals: Mapped[str] = mapped_column(String(10), default="")
    hygiene: Mapped[str] = mapped_column(String(10), default="")
    arrears_2m: Mapped[bool | None] = mapped_column(Boolean)
    distress: Mapped[bool | None] = mapped_column(Boolean)
    support_network: Mapped[bool | None] = mapped_column(Boolean)
    contact_frequency: Mapped[str] = mapped_column(String(10), default="")
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"))
    # The same form posted twice stays one record.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    caller = relationship("User")
