"""The tongs a tong leader serves (per dong of their account), as the admin sets them on the account or on
the invitation the account joins with. Looking households up, a tong leader sees the names of the
households of these tongs only (households.services.names_known).

Plain functions that never commit, as services do."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, insert, literal, select

from volnet.accounts.models import TONG_NUMBERS, invitation_tongs, user_tongs
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db

# A tong leader serves one tong, now and then two or three; a longer list is a slip of the keyboard.
MAX_PER_DONG = 20


class TongNumbersError(ValueError):
    """What is wrong with typed tong numbers; the message is a lazy translated string for the admin."""


def parse(text: str | None) -> list[int]:
    """'7', '7, 12', '7통 12통', '７' -> the numbers, smallest first, each once; '' -> []. Raises
    ``TongNumbersError`` for anything else."""
    text = unicodedata.normalize("NFKC", text or "")
    parts = [p for p in re.split(r"[\s,、;/]+", text) if p]
    numbers = set()
    for part in parts:
        digits = part[:-1] if part.endswith("통") else part
        if not (digits.isascii() and digits.isdigit()):
            raise TongNumbersError(_l("Write tong numbers separated by commas: for example 7 or 7, 12."))
        n = int(digits)
        if not TONG_NUMBERS[0] <= n <= TONG_NUMBERS[1]:
            raise TongNumbersError(_l("Tong numbers go from %(low)d to %(high)d (you wrote %(n)s).",
                                      low=TONG_NUMBERS[0], high=TONG_NUMBERS[1], n=digits))
        numbers.add(n)
    if len(numbers) > MAX_PER_DONG:
        raise TongNumbersError(_l("Write at most %(n)d tongs for one dong.", n=MAX_PER_DONG))
    return sorted(numbers)


def shown(numbers) -> str:
    """[7, 12] -> '7, 12' (as the form shows them again)."""
    return ", ".join(str(n) for n in numbers)


def of_user(user_id: int) -> dict[int, list[int]]:
    """dong id -> the tongs the account serves there (only dongs with some)."""
    return _grouped(db.session.execute(
        select(user_tongs.c.dong_id, user_tongs.c.number).where(user_tongs.c.user_id == user_id)
        .order_by(user_tongs.c.dong_id, user_tongs.c.number)))


def of_invitation(invitation_id: int) -> dict[int, list[int]]:
    return _grouped(db.session.execute(
        select(invitation_tongs.c.dong_id, invitation_tongs.c.number)
        .where(invitation_tongs.c.invitation_id == invitation_id)
        .order_by(invitation_tongs.c.dong_id, invitation_tongs.c.number)))


def _grouped(rows) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for dong_id, number in rows:
        out.setdefault(dong_id, []).append(number)
    return out


def set_for_user(user_id: int, by_dong: dict[int, list[int]]) -> None:
    """The account's tongs become these (dongs not named keep none). The account's dongs must be saved
    (flushed) first: a tong belongs to one of them. The caller holds the account's row locked."""
    db.session.flush()
    db.session.execute(delete(user_tongs).where(user_tongs.c.user_id == user_id))
    rows = [{"user_id": user_id, "dong_id": d, "number": n} for d, numbers in by_dong.items() for n in numbers]
    if rows:
        db.session.execute(insert(user_tongs), rows)


def set_for_invitation(invitation_id: int, dong_id: int, numbers) -> None:
    """A new invitation's tongs, in its one dong (flushed with its dongs first)."""
    if numbers:
        db.session.flush()
        db.session.execute(insert(invitation_tongs), [
            {"invitation_id": invitation_id, "dong_id": dong_id, "number": n} for n in numbers])


def give_invitation_tongs(invitation_id: int, user_id: int) -> None:
    """An account that joined with an invitation starts with its tongs (in one statement, after the
    account and its dongs are flushed)."""
    db.session.execute(insert(user_tongs).from_select(
        ["user_id", "dong_id", "number"],
        select(literal(user_id), invitation_tongs.c.dong_id, invitation_tongs.c.number)
        .where(invitation_tongs.c.invitation_id == invitation_id)))
