"""Risk models. Household.tier and Household.risk_score hold the current values (for fast lists);
the history lives here: rounds and their rows, indicators per household, screenings, tier changes.

No resident registration number is ever stored: only a keyed hash (HouseholdRrnHash.rrn_hash).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.security.crypto import EncryptedJSON, EncryptedText


class IndicatorType(db.Model):
    """One public crisis indicator (단전, 건강보험료 체납 ...). Data an admin edits, not code."""

    __tablename__ = "risk_indicator_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    category: Mapped[str] = mapped_column(String(20), default="other")
    label: Mapped[str] = mapped_column(String(100))  # Korean label, as the public list writes it
    label_en: Mapped[str] = mapped_column(String(100), default="")
    weight: Mapped[float] = mapped_column(Float, default=5.0)
    # Other spellings seen in files (codes or labels), matched without spaces.
    aliases: Mapped[list] = mapped_column(JSONType, default=list)
    # Observation signal used when this indicator opens a concern (volnet.observations.signals).
    signal: Mapped[str] = mapped_column(String(30), default="other")
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def shown_label(self) -> str:
        """The label in the reader's language: the English one in English where there is one."""
        return english_or(self.label, self.label_en)


def english_or(label: str, label_en: str | None) -> str:
    """``label_en`` when the request's language is English and it is filled in, else ``label``."""
    if label_en:
        from flask_babel import get_locale

        locale = get_locale()
        if locale is not None and locale.language == "en":
            return label_en
    return label


class ImportMapping(db.Model):
    """The column mapping last used for a header signature, per dong or per user."""

    __tablename__ = "risk_import_mappings"
    __table_args__ = (
        Index("ix_risk_mapping_dong", "dong_id", "header_signature"),
        Index("ix_risk_mapping_user", "user_id", "header_signature"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int | None] = mapped_column(ForeignKey("dongs.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    header_signature: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class CrisisRound(db.Model):
    """One imported public crisis list (복지사각지대 발굴 대상자 명단): a round with a due date."""

    __tablename__ = "risk_rounds"
    __table_args__ = (UniqueConstraint("dong_id", "file_hash", name="uq_risk_rounds_dong_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    file_hash: Mapped[str] = mapped_column(String(64))
    file_kind: Mapped[str] = mapped_column(String(8), default="csv")
    encoding: Mapped[str] = mapped_column(String(20), default="")
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    # uploaded -> queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(12), default="uploaded")
    header: Mapped[list] = mapped_column(JSONType, default=list)
    header_row: Mapped[int] = mapped_column(Integer, default=1)
    header_signature: Mapped[str] = mapped_column(String(64), default="")
    preview: Mapped[list] = mapped_column(JSONType, default=list)  # a few sanitized rows for the mapping page
    mapping: Mapped[dict | None] = mapped_column(JSONType)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    good_rows: Mapped[int] = mapped_column(Integer, default=0)
    bad_rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_rows: Mapped[int] = mapped_column(Integer, default=0)
    empty_rows: Mapped[int] = mapped_column(Integer, default=0)
    matched_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_households: Mapped[int] = mapped_column(Integer, default=0)
    concerns_raised: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")  # an error code, never file content
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last sign of life of the import job (queued, each batch committed): the sweep resumes a round whose
    # job stopped moving (a worker killed, Redis down when it was queued).
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    dong = relationship("Dong")
    uploaded_by = relationship("User")

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == "done" else 0
        return min(100, int(self.done_rows * 100 / self.total_rows))


class UploadChunk(db.Model):
    """The uploaded list, already sanitized (RRNs replaced by keyed hashes), zlib-compressed in chunks.
    Kept only until the import finishes, so that an RQ worker on another host can read it."""

    __tablename__ = "risk_upload_chunks"

    round_id: Mapped[int] = mapped_column(ForeignKey("risk_rounds.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


CHECK_RESULTS = ("pending", "supported", "no_need", "not_located")


class CrisisRow(db.Model):
    """A good row of a round, matched to (or creating) a household; the caseworker records the check."""

    __tablename__ = "risk_rows"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("round_id", "natural_key", name="uq_risk_rows_round_key"),
        Index("ix_risk_rows_round_result", "round_id", "check_result"),
        # The round page in row order: 25 index entries instead of sorting the whole list (300,000 rows: 64 ms).
        Index("ix_risk_rows_round_row", "round_id", "row_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys on this table's round_id and household_id, nor on those of the indicators and the RRN
    # links: these tables grow by up to a million rows per list and only the importer writes them. For each
    # batch it holds the round (FOR UPDATE), the indicator types and the households the batch refers to that
    # existed before it (FOR KEY SHARE) and checks they are there: the guarantee of a foreign key, checked
    # once per batch instead of by one trigger query per row and key (most of the database's work in an
    # import). Rounds and indicator types are never deleted; erasing a household checks these tables itself
    # (privacy.services.erase_household).
    round_id: Mapped[int] = mapped_column(Integer)
    row_number: Mapped[int] = mapped_column(Integer)
    natural_key: Mapped[str] = mapped_column(String(32))
    household_id: Mapped[int | None] = mapped_column(Integer, index=True)
    match: Mapped[str] = mapped_column(String(12), default="created")  # rrn, address, name_birth, created, shared_addr
    name: Mapped[str] = mapped_column(String(60), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    codes: Mapped[str] = mapped_column(String(400), default="")  # indicator codes, comma-separated
    check_result: Mapped[str] = mapped_column(String(12), default="pending")
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_note: Mapped[str] = mapped_column(String(300), default="")
    # What the round's page says beside the row (a code, translated when shown): "rrn_unread", its registration
    # number was masked (440105-2******) or unreadable, so it was matched on name, birth date and address.
    warning: Mapped[str] = mapped_column(String(20), default="", server_default="")

    household: Mapped[Household | None] = relationship(primaryjoin="Household.id == foreign(CrisisRow.household_id)")
    round = relationship("CrisisRound", primaryjoin="CrisisRound.id == foreign(CrisisRow.round_id)")
    checked_by = relationship("User")


class BadRow(db.Model):
    """A row that could not be imported: its number in the file and why (RRNs masked). Who the row is about,
    as far as it could be read (the name without spaces, the birth date, the address key, the keyed hash
    of a valid registration number), is kept beside it: an erasure finds the rows that name the person
    as the import would match them (risk.person_rows)."""

    __tablename__ = "risk_bad_rows"
    __table_args__ = (UniqueConstraint("round_id", "row_number", name="uq_risk_bad_rows_round_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("risk_rounds.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))  # a reason code, translated when shown
    detail: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text, default="")  # the row as text, RRNs masked
    name_key: Mapped[str] = mapped_column(String(60), default="", server_default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    address_key: Mapped[str] = mapped_column(String(420), default="", server_default="")
    rrn_hash: Mapped[str | None] = mapped_column(String(64))


class HouseholdIndicator(db.Model):
    """A public indicator recorded for a household in a round."""

    __tablename__ = "risk_household_indicators"
    __table_args__ = (
        UniqueConstraint("household_id", "indicator_type_id", "round_id", name="uq_risk_hh_indicator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: see CrisisRow.round_id. household_id leads uq_risk_hh_indicator, which serves its
    # look-ups (no second index).
    household_id: Mapped[int] = mapped_column(Integer)
    indicator_type_id: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[int | None] = mapped_column(Integer)
    observed_on: Mapped[date] = mapped_column(Date)

    indicator_type: Mapped[IndicatorType] = relationship(
        primaryjoin="IndicatorType.id == foreign(HouseholdIndicator.indicator_type_id)")


class HouseholdRrnHash(db.Model):
    """Keyed hash (HMAC-SHA256) of a resident registration number, linked to a household. Never the number."""

    __tablename__ = "risk_household_rrn_hashes"
    __table_args__ = (UniqueConstraint("household_id", "rrn_hash", name="uq_risk_rrn_household"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see CrisisRow.round_id
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    rrn_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


SCREENING_KINDS = ("mohw", "lsns6", "ucla3")


class Screening(db.Model):
    """A screening done at a visit: the answers, the total and the level, with who and when. Sensitive."""

    __tablename__ = "risk_screenings"
    __audited__ = True
    __table_args__ = (Index("ix_risk_screenings_household", "household_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))
    kind: Mapped[str] = mapped_column(String(10))
    answers: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)
    total: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(12))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(EncryptedText, default="")

    household: Mapped[Household] = relationship()
    by = relationship("User")


class TierChange(db.Model):
    """History of a household's isolation tier: who, when, from, to, what was suggested, and why."""

    __tablename__ = "risk_tier_changes"
    __table_args__ = (Index("ix_risk_tier_changes_household", "household_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    from_tier: Mapped[str] = mapped_column(String(30))
    to_tier: Mapped[str] = mapped_column(String(30))
    suggested_tier: Mapped[str] = mapped_column(String(30), default="unassessed")
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(EncryptedText, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    by = relationship("User")
