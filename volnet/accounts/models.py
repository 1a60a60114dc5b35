from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from volnet.core import clock
from volnet.core.types import JSONType, UTCDateTime
from volnet.extensions import db
from volnet.places.models import Dong
from volnet.security.crypto import EncryptedText

user_dongs = Table(
    "user_dongs",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("dong_id", ForeignKey("dongs.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_user_dongs_dong_id", "dong_id"),  # a dong's staff (queue owner filter, alerts)
)

invitation_dongs = Table(
    "invitation_dongs",
    db.metadata,
    Column("invitation_id", ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True),
    Column("dong_id", ForeignKey("dongs.id", ondelete="CASCADE"), primary_key=True),
)

# The tongs a tong leader serves, per dong of their account (most serve one): they see the names of the
# households of these tongs when looking households up, and only addresses elsewhere in the dong
# (households.services.names_known). Tied to the account's dong: taking the dong away drops its tongs.
TONG_NUMBERS = (1, 999)

user_tongs = Table(
    "user_tongs",
    db.metadata,
    Column("user_id", Integer, primary_key=True),
    Column("dong_id", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    ForeignKeyConstraint(["user_id", "dong_id"], ["user_dongs.user_id", "user_dongs.dong_id"], ondelete="CASCADE"),
    CheckConstraint(f"number BETWEEN {TONG_NUMBERS[0]} AND {TONG_NUMBERS[1]}", name="number_range"),
)

# The tongs an invitation for a tong leader gives the account that joins with it (for its one dong).
invitation_tongs = Table(
    "invitation_tongs",
    db.metadata,
    Column("invitation_id", Integer, primary_key=True),
    Column("dong_id", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    ForeignKeyConstraint(["invitation_id", "dong_id"], ["invitation_dongs.invitation_id", "invitation_dongs.dong_id"],
                         ondelete="CASCADE"),
    CheckConstraint(f"number BETWEEN {TONG_NUMBERS[0]} AND {TONG_NUMBERS[1]}", name="number_range"),
)

ORG_KINDS = (
    "dong_centre", "apartment_office", "post_office", "real_estate", "pharmacy",
    "convenience_store", "delivery", "utility_reader", "shop", "partner_agency",
    "welfare_centre", "food_bank", "volunteer_centre", "other",
)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    dong_id: Mapped[int | None] = mapped_column(ForeignKey("dongs.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    dong: Mapped[Dong | None] = relationship()


def login_key(login_id: str | None) -> str:
    """The stored form of a login ID: what people type, matched without regard to case."""
    return (login_id or "").strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Login IDs are case-insensitive and stored in lower case, so the unique constraint also keeps "Kim"
    # and "kim" from both joining at the same moment; look them up with ``login_key()``.
    login_id: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    pledge_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)  # encrypted at rest
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # last accepted TOTP time step (no reuse)
    recovery_codes: Mapped[list | None] = mapped_column(JSONType)
    channels: Mapped[list | None] = mapped_column(JSONType)  # preferred channels: inapp, email, sms, kakao
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @validates("login_id")
    def _canonical_login_id(self, key, value):
        return login_key(value)

    organization: Mapped[Organization | None] = relationship()
    dongs: Mapped[list[Dong]] = relationship(secondary=user_dongs, order_by="Dong.code")

    # Flask-Login: the session carries the id *and* the session version, so that a logout,
    # password change or disable elsewhere ends every other session of this person.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    @property
    def totp_enrolled(self) -> bool:
        if "has_totp" in self.__dict__ and "totp_secret" not in self.__dict__:
            return bool(self.__dict__["has_totp"])  # read with the request's user (sessions.load_user)
        return bool(self.totp_secret)

    @property
    def dong_ids(self) -> set[int]:
        cached = self.__dict__.get("_dong_ids")
        if cached is None:
            if "dong_id_list" in self.__dict__:  # loaded with the row (sessions.load_user): no extra query
                raw = self.__dict__["dong_id_list"]
                cached = {int(x) for x in raw.split(",")} if raw else set()
            else:
                cached = {d.id for d in self.dongs}
            self.__dict__["_dong_ids"] = cached
        return cached

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt, Werkzeug's default

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def end_all_sessions(self) -> None:
        self.session_version = (self.session_version or 0) + 1


# Every request checks access by dong: sessions.load_user reads the user's dong ids in the same
# statement as the user row ("1,4,7"; string_agg on PostgreSQL, group_concat on SQLite).
User.dong_id_list = column_property(
    select(func.aggregate_strings(cast(user_dongs.c.dong_id, String), ","))
    .where(user_dongs.c.user_id == User.id).correlate_except(user_dongs).scalar_subquery(),
    deferred=True,
)


# Whether the user has enrolled a TOTP secret, without reading (and decrypting) the secret itself.
User.has_totp = column_property(User.totp_secret.is_not(None), deferred=True)

# What every request needs of the signed-in user; the rest (password hash, secrets, contact details) is
# read only by the pages that use it.
REQUEST_COLUMNS = ("id", "login_id", "name", "role", "organization_id", "active", "locale", "session_version",
                   "pledge_accepted_at", "must_change_password")


class Invitation(db.Model):
    """A join link. Only a hash of its token is stored; the link is shown once, at creation."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    note: Mapped[str] = mapped_column(String(120), default="")
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organization: Mapped[Organization | None] = relationship()
    dongs: Mapped[list[Dong]] = relationship(secondary=invitation_dongs)

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(24)
        return token, Invitation.hash_token(token)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()

    @property
    def usable(self) -> bool:
        return not self.revoked and self.uses < self.max_uses and self.expires_at > clock.now()


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
