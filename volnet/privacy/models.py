from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from volnet.core import clock
from volnet.core.types import UTCDateTime
from volnet.extensions import db


class PrivacyRequest(db.Model):
    """A person's access request (export) or deletion request (anonymise / erase), handled by an admin.

    ``household_id`` is a plain number, not a foreign key: the record of an erasure outlives the household.
    """

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # access, anonymise, erase
    household_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(20), default="done")  # done, anonymised_instead
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RetentionMark(db.Model):
    """A closed concern whose personal details the retention job has already blanked."""

    __tablename__ = "retention_marks"

    concern_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
