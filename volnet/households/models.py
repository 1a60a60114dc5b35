from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.core import clock
from volnet.core.korean import address_key, chosung, format_phone
from volnet.core.types import UTCDateTime
from volnet.extensions import db
from volnet.places.models import Dong

AGE_BANDS = ("u20", "20s", "30s", "40s", "50s", "60s", "70s", "80p", "unknown")
SEXES = ("f", "m", "unknown")
HOUSEHOLD_STATUSES = ("active", "to_locate", "moved", "deceased")


class Household(db.Model):
    __tablename__ = "households"
    __audited__ = True
    __table_args__ = (
        # varchar_pattern_ops: PostgreSQL uses a plain index for LIKE 'prefix%' only under the C collation,
        # and production databases are created with a locale (C.UTF-8, ko_KR.UTF-8); with it the quick-add
        # address lookup reads its few neighbours instead of every household of the dong.
        Index("ix_households_dong_addr", "dong_id", "address_key",
              postgresql_ops={"address_key": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"))  # looked up by ix_households_dong_addr
    tong: Mapped[int | None] = mapped_column(Integer)
    ban: Mapped[int | None] = mapped_column(Integer)
    road_address: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(60), default="")  # 동·호 or floor (지하 1층)
    jibun_address: Mapped[str] = mapped_column(String(200), default="")
    landmark: Mapped[str] = mapped_column(String(200), default="")
    address_key: Mapped[str] = mapped_column(String(420), default="")
    name: Mapped[str | None] = mapped_column(String(60))
    name_chosung: Mapped[str] = mapped_column(String(60), default="", index=True)
    alias: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    age_band: Mapped[str] = mapped_column(String(10), default="unknown")
    lives_alone: Mapped[bool | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="active")
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[str] = mapped_column(String(30), default="unassessed")
    risk_score: Mapped[float | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    dong: Mapped[Dong] = relationship()

    def refresh_keys(self) -> None:
        self.address_key = address_key(self.road_address, self.unit, self.jibun_address)[:420]
        self.name_chosung = chosung(self.name or "")[:60]

    @property
    def display_name(self) -> str:
        return self.name or self.alias or ""

    @property
    def address_line(self) -> str:
        return f"{self.road_address} {self.unit}".strip()

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def tong_ban(self) -> str:
        return tong_ban_label(self.tong, self.ban)


def tong_ban_label(tong: int | None, ban: int | None = None) -> str:
    """"8통 3반" in Korean, "Tong 8, ban 3" in English (the number and the word in the language's order)."""
    from volnet.core.i18n import gettext as _

    if tong is None:
        return ""
    if ban:
        return _("Tong %(tong)d, ban %(ban)d", tong=tong, ban=ban)
    return _("Tong %(n)d", n=tong)


class MergedHousehold(db.Model):
    """A household record merged into another (volnet.households.merge): its number leads to the record
    kept, so a reporter's form or a link opened before the merge still reaches the household."""

    __tablename__ = "merged_households"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the merged record's number
    into_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# On SQLite a deleted row's number is given again to the next row when it was the highest one. A household
# number that was merged away (or erased) must never name another household: a report form or a link
# still holding it would reach the wrong person. PostgreSQL's sequence never gives a number twice.
SQLITE_NEXT_HOUSEHOLD_ID = text(
    "SELECT max(COALESCE((SELECT max(id) FROM households), 0), COALESCE((SELECT max(id) FROM merged_households), 0),"
    " COALESCE((SELECT max(household_id) FROM privacy_requests), 0)) + 1")


@event.listens_for(Household, "before_insert")
def _sqlite_never_reuse_a_number(_mapper, connection, target: Household) -> None:
    if target.id is None and connection.dialect.name == "sqlite":  # writers hold the lock (BEGIN IMMEDIATE)
        # One flush calls this for all of its new households before inserting any: count on from the last.
        txn, last = connection.info.get("volnet_last_hh", (None, 0))
        nxt = connection.scalar(SQLITE_NEXT_HOUSEHOLD_ID)
        target.id = max(nxt, last + 1) if txn == id(connection.get_transaction()) else nxt
        connection.info["volnet_last_hh"] = (id(connection.get_transaction()), target.id)
