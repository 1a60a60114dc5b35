from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from volnet.core import clock
from volnet.core.types import UTCDateTime
from volnet.extensions import db


class AuditLog(db.Model):
    """Who read or changed whose data, when and from where. Append-only; no personal data in it."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(300), default="")


class AuditReview(db.Model):
    """A team lead's monthly review of unusual access (개인정보 접속기록 월 1회 점검): who, which month, when."""

    __tablename__ = "audit_reviews"
    __table_args__ = (UniqueConstraint("reviewer_id", "month", name="uq_audit_reviews_reviewer_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11" (Asia/Seoul)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    findings: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")
