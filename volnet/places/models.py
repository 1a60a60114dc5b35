from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volnet.extensions import db


class Dong(db.Model):
    """An administrative dong (행정동), identified by its 10-digit 행정기관코드."""

    __tablename__ = "dongs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    sido: Mapped[str] = mapped_column(String(40))
    sigungu: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    # Moved by every household added (or given another address) in the dong outside a crisis-list import;
    # its row lock takes such additions in turn. An import compares it batch by batch (risk.importer).
    households_added: Mapped[int] = mapped_column(default=0, server_default="0")

    tongs: Mapped[list[Tong]] = relationship(back_populates="dong", order_by="Tong.number",
                                             cascade="all, delete-orphan")

    @property
    def full_name(self) -> str:
        return f"{self.sigungu} {self.name}".strip()

    def __repr__(self) -> str:  # pragma: no cover
        return f"<Dong {self.code} {self.name}>"


class Tong(db.Model):
    """A tong (통) inside a dong; households belong to one tong and ban."""

    __tablename__ = "tongs"
    __table_args__ = (UniqueConstraint("dong_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dong_id: Mapped[int] = mapped_column(ForeignKey("dongs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    bans: Mapped[int] = mapped_column(Integer, default=0)
    area: Mapped[str] = mapped_column(String(200), default="")

    dong: Mapped[Dong] = relationship(back_populates="tongs")
