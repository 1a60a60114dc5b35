from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.security.crypto import EncryptedText


class Observation(db.Model):
    """What someone noticed about a household (or about an address not yet known)."""

    __tablename__ = "observations"
    __audited__ = True
    __table_args__ = (
        Index("ix_observations_reporter_created", "reporter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(20), default="observation")
    urgency: Mapped[str] = mapped_column(String(12), default="routine")
    signals: Mapped[list] = mapped_column(JSONType, default=list)
    meals: Mapped[str] = mapped_column(String(10), default="")
    hygiene: Mapped[str] = mapped_column(String(10), default="")
    note: Mapped[str] = mapped_column(EncryptedText, default="")  # sensitive: encrypted at rest
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Citizen (anonymous) reports: no household yet, a location in words and a reference code.
    location_text: Mapped[str] = mapped_column(String(300), default="")
    subject_sex: Mapped[str] = mapped_column(String(10), default="")
    subject_age_band: Mapped[str] = mapped_column(String(10), default="")
    contact: Mapped[str] = mapped_column(EncryptedText, default="")  # encrypted at rest
    reference_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # The same form posted twice (double tap, retry on a weak signal) stays one record.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    household: Mapped[Household | None] = relationship()
