"""Programs, shift series and their materialised occurrences, sign-ups, routes and calendar tokens.

A recurring shift is a ``ShiftSeries`` (an RFC 5545 RRULE in Asia/Seoul wall-clock time) whose
occurrences are stored as ``ShiftOccurrence`` rows for a rolling horizon. An occurrence edited or
cancelled on its own is marked ``is_exception`` so that regenerating the series never overwrites it.
Capacity is enforced by a conditional UPDATE on ``ShiftOccurrence.filled`` (see services.sign_up).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db

SERVICES = {
    "side_dishes": _l("Side dishes"),
    "lunch_boxes": _l("Lunch boxes"),
    "home_cleaning": _l("Home cleaning"),
    "bedding_laundry": _l("Bedding laundry"),
    "haircuts": _l("Haircuts"),
    "escort": _l("Outing or hospital escort"),
}

REQUIREMENTS = {
    "car": _l("Car needed"),
    "women_only": _l("Women only"),
}

OUTCOMES = {
    "delivered": _l("Delivered"),
    "no_answer": _l("No answer"),
    "refused": _l("Refused"),
    "concern": _l("Worried: tell the centre"),
}

SIGNUP_STATUSES = {
    "confirmed": _l("Signed up"),
    "waitlisted": _l("Waiting list"),
    "cancelled": _l("Cancelled"),
}


class Program(db.Model):
    """A kind of help a partner organization runs (반찬지원, 도시락 ...), with its rules."""

    __tablename__ = "shift_programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"), index=True)
    service: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    cancel_cutoff_hours: Mapped[int] = mapped_column(Integer, default=24)
    route_before_hours: Mapped[int] = mapped_column(Integer, default=2)
    route_after_hours: Mapped[int] = mapped_column(Integer, default=6)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organization = relationship("Organization")
    dong = relationship("Dong")


class ShiftSeries(db.Model):
    """A recurring shift: RRULE over a Seoul wall-clock start, plus the template of each occurrence."""

    __tablename__ = "shift_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("shift_programs.id"), index=True)
    rrule: Mapped[str] = mapped_column(String(300))
    dtstart: Mapped[datetime] = mapped_column(UTCDateTime)  # first start (UTC); expanded in Seoul time
    duration_minutes: Mapped[int] = mapped_column(Integer)
    meeting_place: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    requirements: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[list] = mapped_column(JSONType, default=list)  # [{"household_id": .., "note": ..}]
    generated_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    program: Mapped[Program] = relationship()


class ShiftOccurrence(db.Model):
    """One shift on one day. ``filled`` counts confirmed places and never exceeds ``capacity``."""

    __tablename__ = "shift_occurrences"
    __table_args__ = (
        UniqueConstraint("series_id", "original_start", name="uq_shift_occurrences_series_start"),
        CheckConstraint("filled >= 0 AND filled <= capacity", name="filled_within_capacity"),
        Index("ix_shift_occurrences_open", "status", "starts_at"),
        Index("ix_shift_occurrences_program_start", "program_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("shift_programs.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("shift_series.id"), index=True)
    original_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    meeting_place: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    requirements: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | cancelled
    is_exception: Mapped[bool] = mapped_column(default=False)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    unfilled_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    program: Mapped[Program] = relationship()
    series: Mapped[ShiftSeries | None] = relationship()

    @property
    def open_places(self) -> int:
        return max((self.capacity or 0) - (self.filled or 0), 0)

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class Signup(db.Model):
    __tablename__ = "shift_signups"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "volunteer_id", name="uq_shift_signups_occurrence_volunteer"),
        Index("ix_shift_signups_volunteer_status", "volunteer_id", "status"),
        Index("ix_shift_signups_occurrence_status", "occurrence_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("shift_occurrences.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="confirmed")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)  # waiting-list order
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "I'm coming" from the reminder
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the organizer ended the place, how (shown on My shifts and the shift page): "removed" (the
    # coordinator took the volunteer off) or "paused" (the program was paused); None otherwise.
    cancelled_by: Mapped[str | None] = mapped_column(String(12))
    cancel_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stepped_in_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    attended: Mapped[bool | None] = mapped_column()
    minutes: Mapped[int | None] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    occurrence: Mapped[ShiftOccurrence] = relationship()
    volunteer = relationship("User", foreign_keys=[volunteer_id])
    stepped_in_for = relationship("User", foreign_keys=[stepped_in_for_id])


class RouteStop(db.Model):
    """A household on a shift's route, in order, with the outcome recorded at the door."""

    __tablename__ = "shift_route_stops"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "household_id", name="uq_shift_route_stops_occurrence_household"),
        Index("ix_shift_route_stops_occurrence_pos", "occurrence_id", "position"),
        # A household's stops (its page's volunteer services, the route rules of its reports).
        Index("ix_shift_route_stops_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("shift_occurrences.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")  # overrides Household.delivery_note when set
    outcome: Mapped[str | None] = mapped_column(String(12))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"))

    occurrence: Mapped[ShiftOccurrence] = relationship()
    household = relationship("Household")


class VolunteerProfile(db.Model):
    """What a volunteer declares for shift requirements (car, women-only homes)."""

    __tablename__ = "shift_volunteer_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    has_car: Mapped[bool] = mapped_column(default=False)
    sex: Mapped[str] = mapped_column(String(10), default="unknown")


class CalendarToken(db.Model):
    """A private calendar feed URL. Only a hash of the token is stored; revoking ends the feed."""

    __tablename__ = "shift_calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
