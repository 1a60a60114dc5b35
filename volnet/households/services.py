"""Finding and adding households. Search forgives spacing and 번길/길; names match by 초성 too."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, case, exists, func, null, or_, select, update

from volnet.core.access import visible
from volnet.core.korean import address_key, chosung, is_chosung_query, normalize_phone
from volnet.extensions import db
from volnet.households.models import Household, tong_ban_label


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phone_tail(q: str) -> str | None:
    """The last four digits of a phone number, as people say them ('8424', '84-24'), or None."""
    q = (q or "").strip()
    digits = q.replace("-", "").replace(" ", "")
    return digits if len(digits) == 4 and digits.isascii() and digits.isdigit() else None


def search_condition(q: str):
    q = (q or "").strip()
    if not q:
        return None
    if is_chosung_query(q):
        return name_condition(q)
    key = address_key(q)
    conds = []
    if key:
        conds.append(Household.address_key.like(f"%{escape_like(key)}%", escape="\\"))
    return or_(*conds, name_condition(q))


def name_condition(q: str):
    """What a search matches besides the address: the name's 초성 for a query of initial consonants, else
    the name, the alias or the phone number."""
    if is_chosung_query(q):
        return Household.name_chosung.like(f"%{escape_like(q.replace(' ', ''))}%", escape="\\")
    conds = [Household.name.like(f"%{escape_like(q)}%", escape="\\"),
             Household.alias.like(f"%{escape_like(q)}%", escape="\\")]
    digits = normalize_phone(q)
    if digits:
        conds.append(Household.phone == digits)
    return or_(*conds)


# Search results in the order people read addresses: road-name address, then building / unit.
ADDRESS_ORDER = (Household.road_address, Household.unit, Household.id)


class Matches(NamedTuple):
    """The first matches of a search (``items``, at most the limit asked for) and how many match in all.
    ``why_empty`` says why there is nothing when no search could find anything: "short" (fewer than two
    characters: not searched), "phone_tail" (the last digits of a phone number, which a reporter's search does
    not take), "outside_tongs" (a tong leader's search by name or phone, which looks in their tongs only: the
    household may be elsewhere in the dong, found by its address); "" otherwise (nothing at that address: it may be
    added)."""
    items: list
    total: int
    why_empty: str = ""

    @property
    def more(self) -> bool:
        return self.total > len(self.items)


def first_matches(stmt, limit: int, rows: bool = False) -> Matches:
    """The first ``limit`` rows of ``stmt`` and the number of all its rows (counted only when there are
    more than ``limit``: a search that fits costs one statement). Entities, or whole rows with ``rows``."""
    result = db.session.execute(stmt.limit(limit + 1)) if rows else db.session.scalars(stmt.limit(limit + 1))
    items = list(result)
    if len(items) <= limit:
        return Matches(items, len(items))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return Matches(items[:limit], total)


def names_known(user):
    """Which households of their dongs a reporter knows by name when looking them up (DOMAIN.md: the
    neighbourhood's eyes know their neighbours; a tong leader, those of their tong): True for all, False
    for none (partner staff, volunteers, coordinators), or for a tong leader a condition on the household:
    one of the tongs of their account in its dong (accounts.tongs; none set, none known)."""
    from volnet.accounts.models import user_tongs
    from volnet.accounts.roles import KNOWS_NEIGHBOURS, TONG_LEADER

    if user.role == TONG_LEADER:
        return exists().where(user_tongs.c.user_id == user.id, user_tongs.c.dong_id == Household.dong_id,
                              user_tongs.c.number == Household.tong)
    return user.role in KNOWS_NEIGHBOURS


def _by_name_or_phone(q: str) -> bool:
    """Whether a query reads as a name or a phone number rather than an address: initial consonants, a whole
    phone number, or no digit at all (an address a household is found by has its building number)."""
    return is_chosung_query(q) or normalize_phone(q) is not None or not any(ch.isdecimal() for ch in q)


class Found(NamedTuple):
    """A household as a reporter's search lists it: the name (or alias) only when they know it, else ""."""
    id: int
    address_line: str
    tong_ban: str
    display_name: str


def search_for_reporter(user, q: str, limit: int = 10) -> Matches:
    """Households in the reporter's dongs whose address (or name, for the households whose names they
    know: ``names_known``) matches, in address order (road-name address, then unit): the first ``limit``
    and how many match in all, as ``Found`` rows. A household whose name they do not know is found by its
    address only and listed without its name, as partner staff would see it (its name never leaves the
    database)."""
    q = (q or "").strip()
    if len(q) < 2:
        return Matches([], 0, "short")
    key = address_key(q)
    conds = [Household.address_key.like(f"%{escape_like(key)}%", escape="\\")] if key else []
    known = names_known(user)
    if known is not False:
        by_name = name_condition(q) if known is True else and_(known, name_condition(q))
        # 초성 finds names only; anything else the address, or the name of a household they know.
        conds = [by_name] if is_chosung_query(q) else [*conds, by_name]
    if not conds:
        return Matches([], 0)
    if known is True:
        names = (Household.name, Household.alias)
    elif known is False:
        names = (null(), null())
    else:
        names = (case((known, Household.name)), case((known, Household.alias)))
    stmt = (select(Household.id, Household.road_address, Household.unit, Household.tong, Household.ban, *names)
            .where(Household.dong_id.in_(user.dong_ids or {-1}), Household.status != "deceased", or_(*conds))
            .order_by(*ADDRESS_ORDER))
    found = first_matches(stmt, limit, rows=True)
    if not found.total and phone_tail(q):
        return Matches([], 0, "phone_tail")
    if not found.total and known is not True and known is not False and _by_name_or_phone(q):
        # A tong leader's name or phone search looked in their tongs only: the household may be elsewhere in the
        # dong, found by its address (said whether or not it is, so a search tells nothing about other tongs).
        return Matches([], 0, "outside_tongs")
    return Matches([Found(hid, f"{road} {unit or ''}".strip(), tong_ban_label(tong, ban), name or alias or "")
                    for hid, road, unit, tong, ban, name, alias in found.items], found.total)


def staff_query(user, q: str = "", dong_id: int | None = None, tong: int | None = None,
                status: str | None = None):
    stmt = select(Household).where(visible(user, Household))
    cond = search_condition(q)
    if (tail := phone_tail(q)) is not None:  # staff know people by their number's last four digits
        cond = or_(cond, Household.phone.like(f"%{tail}"))
    if cond is not None:
        stmt = stmt.where(cond)
    if dong_id:
        stmt = stmt.where(Household.dong_id == dong_id)
    if tong:
        stmt = stmt.where(Household.tong == tong)
    if status:
        stmt = stmt.where(Household.status == status)
    return stmt.order_by(Household.dong_id, Household.tong, Household.road_address, Household.unit)


def take_dong_additions(dong_id: int) -> None:
    """Before looking for a household at an address and adding it if none is there: lock the dong's
    row (FOR NO KEY UPDATE, which inserts referring to the dong do not wait for) until the transaction
    ends. Two reporters quick-adding the same new address at the same moment so take turns, and the second
    finds the first one's household instead of adding another (one person, two open concerns); a crisis
    list import's batch holds it too (risk.importer) while it stores the households it adds."""
    from volnet.places.models import Dong

    db.session.execute(select(Dong.id).where(Dong.id == dong_id).with_for_update(key_share=True))


def note_household_added(dong_id: int) -> None:
    """A household was added in the dong or given another address (in the caller's transaction): an
    import of the dong that read its households before sees the counter move and looks again."""
    from volnet.places.models import Dong

    db.session.execute(update(Dong).where(Dong.id == dong_id)
                       .values(households_added=Dong.households_added + 1))


def at_address(dong_id: int, road_address: str, unit: str = "", *, exclude_id: int | None = None,
               limit: int = 5) -> list[Household]:
    """The households of the dong (not deceased) at exactly this address and unit, as ``address_key``
    compares them (spacing, 번길/길 and punctuation forgiven), oldest first, at most ``limit``."""
    return at_addresses(dong_id, [(road_address, unit)], exclude_id=exclude_id, limit=limit).get(
        (road_address, unit), [])


def at_addresses(dong_id: int, addresses, *, exclude_id: int | None = None,
                 limit: int = 5) -> dict[tuple[str, str], list[Household]]:
    """``at_address`` for several (road address, unit) pairs at once, in two statements whatever their number.

    The stored key also holds the lot-number address, so the index finds every household whose key starts
    with the one looked for (a building's flats all start like the building; "송산로 12" like "송산로 123") and
    the exact comparison is made here, on two columns of each (a few thousand rows for the largest complex)."""
    keys = {}
    for road, unit in addresses:
        key = address_key(road, unit or "")
        if key:
            keys[(road, unit)] = key
    if not keys:
        return {}
    prefixes = sorted({k[:420] for k in keys.values()})
    stmt = (select(Household.id, Household.road_address, Household.unit)
            .where(Household.dong_id == dong_id, Household.status != "deceased",
                   or_(*[Household.address_key.like(f"{escape_like(p)}%", escape="\\") for p in prefixes]))
            .order_by(Household.id))
    if exclude_id is not None:
        stmt = stmt.where(Household.id != exclude_id)
    by_key: dict[str, list[int]] = {}
    for hid, road, u in db.session.execute(stmt):
        by_key.setdefault(address_key(road, u), []).append(hid)
    chosen = {pair: by_key.get(key, [])[:limit] for pair, key in keys.items()}
    ids = {i for found in chosen.values() for i in found}
    if not ids:
        return {pair: [] for pair in chosen}
    found = {h.id: h for h in db.session.scalars(select(Household).where(Household.id.in_(ids)))}
    return {pair: [found[i] for i in hids if i in found] for pair, hids in chosen.items()}


def find_or_create(user, dong_id: int, road_address: str, unit: str = "", tong=None, ban=None,
                   name: str | None = None, lives_alone=None, age_band: str = "unknown") -> tuple[Household, bool]:
    """Quick add: the same dong + address + unit is the same household (no duplicates)."""
    take_dong_additions(dong_id)
    existing = at_address(dong_id, road_address, unit, limit=1)
    if existing:
        return existing[0], False
    h = Household(dong_id=dong_id, road_address=road_address, unit=unit or "", tong=tong, ban=ban,
                  age_band=age_band or "unknown", lives_alone=lives_alone, created_by_id=user.id)
    if name:
        # A reporter may know a name or only an alias; staff correct it later.
        h.alias = name
    h.refresh_keys()
    db.session.add(h)
    db.session.flush()
    note_household_added(dong_id)
    return h, True


__all__ = ["first_matches", "search_for_reporter", "staff_query", "at_address", "find_or_create", "chosung"]
