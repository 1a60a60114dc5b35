"""Integrated case management (통합사례관리).

A case is opened from a concern and walks through its steps, each with a due date:
intake (접수) -> needs and crisis assessment (욕구·위기도 조사) -> selection (대상자 선정)
-> service plan (서비스 계획 수립) -> service (서비스 제공·점검) -> closed (종결), then aftercare checks.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.security.crypto import EncryptedText

STEPS = {
    "intake": _l("Intake"),
    "assessment": _l("Needs and crisis assessment"),
    "selection": _l("Selection"),
    "planning": _l("Service plan"),
    "service": _l("Services under way"),
    "closed": _l("Closed"),
}
# While services are provided (step "service") the case's next due date is its monthly review.
REVIEW = _l("Monthly review (case conference)")
# ``Case.step`` is the step being worked on; intake is done when the case opens.
STEP_ORDER = ("assessment", "selection", "planning", "service", "closed")

# The ten domains of need of the Korean integrated case management guidelines.
DOMAINS = {
    "safety": _l("Safety"),
    "health": _l("Health"),
    "daily_living": _l("Daily living"),
    "family": _l("Family relations"),
    "social": _l("Social relations"),
    "economy": _l("Economy"),
    "education": _l("Education"),
    "employment": _l("Employment"),
    "housing": _l("Housing"),
    "rights": _l("Rights"),
}
NEED_LEVELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
CRISIS_LEVELS = {"crisis": _l("Crisis"), "high": _l("High risk"), "medium": _l("Medium risk"),
                 "low": _l("Low risk")}
SELECTION_DECISIONS = {"selected": _l("Selected for integrated case management"),
                       "not_selected": _l("Not selected (simple service linkage)")}
GOAL_STATUSES = {"open": _l("In progress"), "achieved": _l("Achieved"), "dropped": _l("Dropped")}

SECTORS = {"public": _l("Public"), "private": _l("Private"), "volunteer": _l("Volunteering")}
SERVICE_TYPES = {
    "basic_livelihood": _l("Basic livelihood security"),
    "emergency_welfare": _l("Emergency welfare support"),
    "near_poor": _l("Near-poor support"),
    "voucher": _l("Voucher"),
    "fee_reduction": _l("Fee reduction"),
    "donated_goods": _l("Donated goods"),
    "food_bank": _l("Food bank"),
    "side_dishes": _l("Side-dish delivery"),
    "housing_repair": _l("Housing repair"),
    "medical": _l("Medical / public health centre"),
    "mental_health": _l("Mental-health welfare centre"),
    "elder_protection": _l("Elder-protection agency"),
    "home_cleaning": _l("Home cleaning"),
    "escort": _l("Outing or hospital escort"),
    "counselling": _l("Counselling"),
    "other": _l("Other"),
}
LINKAGE_STATUSES = {"planned": _l("Planned"), "active": _l("Being provided"), "ended": _l("Ended"),
                    "cancelled": _l("Cancelled")}
CLOSURE_REASONS = {
    "goals_achieved": _l("Goals achieved"),
    "stabilised": _l("Crisis resolved, stable"),
    "refused": _l("Support refused"),
    "moved": _l("Moved away"),
    "deceased": _l("Deceased"),
    "transferred": _l("Transferred to another agency"),
    "not_selected": _l("Not selected"),
    "other": _l("Other"),
}
AGENCIES = {
    "mental_health_centre": _l("Mental-health welfare centre"),
    "elder_protection": _l("Elder-protection agency"),
    "public_health_centre": _l("Public health centre"),
    "welfare_centre": _l("Community welfare centre"),
    "police": _l("Police"),
    "housing_agency": _l("Housing welfare centre"),
    "other": _l("Other agency"),
}
AFTERCARE_OUTCOMES = {"stable": _l("Stable"), "needs_support": _l("Needs support again"),
                      "unreachable": _l("Could not be reached")}
EMERGENCY_DECISIONS = {"approved": _l("Support approved"), "denied": _l("Not approved"),
                       "referred": _l("Referred to other support")}
EMERGENCY_KINDS = {
    "livelihood": _l("Livelihood"),
    "medical": _l("Medical"),
    "housing": _l("Housing"),
    "facility": _l("Social welfare facility"),
    "heating": _l("Heating costs"),
    "other": _l("Other"),
}


class Case(db.Model):
    __tablename__ = "cases"
    __audited__ = True
    __table_args__ = (
        Index("ix_cases_dong_opened", "dong_id", "opened_at"),
        Index("ix_cases_due", "status", "next_due_at"),
        Index("ix_cases_owner", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / closed
    step: Mapped[str] = mapped_column(String(12), default="assessment")
    summary: Mapped[str] = mapped_column(String(300), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Due dates: each step from the end of the previous one, never later than the overall limit.
    total_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assessment_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    crisis_level: Mapped[str | None] = mapped_column(String(10))
    assessment_note: Mapped[str] = mapped_column(EncryptedText, default="")
    selection_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    selected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    selection: Mapped[str | None] = mapped_column(String(14))
    plan_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_text: Mapped[str] = mapped_column(EncryptedText, default="")
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Escalation of an overdue step: 1 = owner reminded, 2 = team lead alerted (for ``escalation_step``).
    escalation_step: Mapped[str | None] = mapped_column(String(12))
    escalation_level: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closure_reason: Mapped[str | None] = mapped_column(String(20))
    closure_note: Mapped[str] = mapped_column(EncryptedText, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    household: Mapped[Household] = relationship()
    owner = relationship("User", foreign_keys=[owner_id])
    dong = relationship("Dong")
    concern = relationship("Concern")

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return self.is_open and self.next_due_at is not None and self.next_due_at < now


class CaseNeed(db.Model):
    __tablename__ = "case_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10), default="medium")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseGoal(db.Model):
    __tablename__ = "case_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    target_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ServiceLinkage(db.Model):
    """A service linked for the household (public, private or volunteer), with its value in won."""

    __tablename__ = "service_linkages"
    __table_args__ = (
        Index("ix_linkages_dong_start", "dong_id", "start_on"),
        CheckConstraint("value_won >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    sector: Mapped[str] = mapped_column(String(10))
    service_type: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(10), default="planned")
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    value_won: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseNote(db.Model):
    """Caseworker-only notes (team lead and caseworkers of the dong)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    text: Mapped[str] = mapped_column(EncryptedText)

    author = relationship("User")


class CaseConference(db.Model):
    """사례회의: who took part (including outside agencies), what was decided, who does what by when."""

    __tablename__ = "case_conferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text, default="")  # one per line
    agencies: Mapped[list] = mapped_column(JSONType, default=list)
    decisions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    tasks: Mapped[list[ConferenceTask]] = relationship(order_by="ConferenceTask.id", cascade="all, delete-orphan")


class ConferenceTask(db.Model):
    __tablename__ = "conference_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("case_conferences.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    owner_name: Mapped[str] = mapped_column(String(120), default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AftercareCheck(db.Model):
    """Checks at +1 and +3 months after closure (due dates generated when the case closes)."""

    __tablename__ = "aftercare_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    months: Mapped[int] = mapped_column()
    due_on: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    done_by = relationship("User")


class EmergencySupport(db.Model):
    """긴급복지지원: support first, investigate later; a decision is due 48 hours after the report."""

    __tablename__ = "emergency_supports"
    __table_args__ = (Index("ix_emergency_due", "decided_at", "decision_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    kind: Mapped[str] = mapped_column(String(20), default="livelihood")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(12))
    amount_won: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    escalation_level: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ClosureRequest(db.Model):
    """A caseworker's closure of a case, waiting for a team lead of the dong (DOMAIN.md: the team lead approves
    closures): approved, the case closes as it was asked; returned, it stays open with the team lead's reason;
    withdrawn by the one who asked (or the owner), it stays open. One request at a time is waiting per case."""

    __tablename__ = "case_closure_requests"
    __table_args__ = (
        Index("uq_case_closure_request_waiting", "case_id", unique=True,
              sqlite_where=text("decided_at IS NULL"), postgresql_where=text("decided_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    end_linkages: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved / returned / withdrawn
    return_note: Mapped[str] = mapped_column(EncryptedText, default="")

    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class CaseEvent(db.Model):
    """The case timeline (step changes, linkages, conferences), shown to staff of the dong."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)

    actor = relationship("User")
