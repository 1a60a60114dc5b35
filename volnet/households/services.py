"""Finding and adding households. Search forgives spacing and 번길/길; names match by 초성 too."""
from __future__ import annotations

from sqlalchemy import or_, select, text

from volnet.core.access import visible
from volnet.core.korean import address_key, chosung, is_chosung_query, normalize_phone
from volnet.extensions import db
from volnet.households.models import Household


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str):
    q = (q or "").strip()
    if not q:
        return None
    if is_chosung_query(q):
        return Household.name_chosung.like(f"%{escape_like(q.replace(' ', ''))}%", escape="\\")
    key = address_key(q)
    conds = []
    if key:
        conds.append(Household.address_key.like(f"%{escape_like(key)}%", escape="\\"))
    conds.append(Household.name.like(f"%{escape_like(q)}%", escape="\\"))
    conds.append(Household.alias.like(f"%{escape_like(q)}%", escape="\\"))
    digits = normalize_phone(q)
    if digits:
        conds.append(Household.phone == digits)
    return or_(*conds)


def search_for_reporter(user, q: str, limit: int = 10) -> list[Household]:
    """Households in the reporter's dongs whose address (or name, for those who know them) matches."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    key = address_key(q)
    conds = [Household.address_key.like(f"%{escape_like(key)}%", escape="\\")] if key else []
    from volnet.accounts.roles import KNOWS_NEIGHBOURS

    if user.role in KNOWS_NEIGHBOURS:
        cond = search_condition(q)
        if cond is not None:
            conds = [cond]
    if not conds:
        return []
    stmt = (select(Household)
            .where(Household.dong_id.in_(user.dong_ids or {-1}), Household.status != "deceased", *conds)
            .order_by(Household.road_address, Household.unit).limit(limit))
    return list(db.session.scalars(stmt))


def staff_query(user, q: str = "", dong_id: int | None = None, tong: int | None = None,
                status: str | None = None):
    stmt = select(Household).where(visible(user, Household))
    cond = search_condition(q)
    if cond is not None:
        stmt = stmt.where(cond)
    if dong_id:
        stmt = stmt.where(Household.dong_id == dong_id)
    if tong:
        stmt = stmt.where(Household.tong == tong)
    if status:
        stmt = stmt.where(Household.status == status)
    return stmt.order_by(Household.dong_id, Household.tong, Household.road_address, Household.unit)


# New households are serialised per dong and address in this many buckets (advisory locks): a crisis list
# import takes the buckets of all the addresses of a batch at once, at most this many locks.
ADDRESS_LOCK_BUCKETS = 64


def address_lock_key(dong_id: int, key: str) -> int:
    """The 64-bit advisory-lock number of the bucket of one dong + address key (PostgreSQL)."""
    import hashlib

    bucket = hashlib.blake2b(key.encode(), digest_size=4).digest()
    bucket_no = int.from_bytes(bucket, "big") % ADDRESS_LOCK_BUCKETS
    digest = hashlib.blake2b(f"household-address:{dong_id}:{bucket_no}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_addresses(dong_id: int, keys) -> None:
    """Hold, until the transaction ends, the buckets of these address keys of a dong, so that no one else
    adds a household at one of them meanwhile (quick-add, a crisis-list import). Taken in one order, so two
    holders of several buckets cannot deadlock. SQLite serialises writers anyway."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    locks = sorted({address_lock_key(dong_id, k) for k in keys})
    if len(locks) == 1:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": locks[0]})
    elif locks:
        db.session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                                "(SELECT unnest(CAST(:ks AS bigint[])) AS k ORDER BY 1) AS s"), {"ks": locks})


def _serialize_address(dong_id: int, key: str) -> None:
    """Two reporters quick-adding the same new address at the same moment take turns, so the second finds
    the first one's household instead of adding another (which would give one person two open concerns);
    so does a crisis-list import that creates a household there (risk.importer). Held until the
    transaction ends."""
    lock_addresses(dong_id, [key])


def find_or_create(user, dong_id: int, road_address: str, unit: str = "", tong=None, ban=None,
                   name: str | None = None, lives_alone=None, age_band: str = "unknown") -> tuple[Household, bool]:
    """Quick add: the same dong + address + unit is the same household (no duplicates)."""
    key = address_key(road_address, unit)
    _serialize_address(dong_id, key)
    existing = db.session.scalar(
        select(Household).where(Household.dong_id == dong_id, Household.address_key.like(f"{escape_like(key)}%",
                                                                                         escape="\\"))
        .where(Household.status != "deceased").order_by(Household.id).limit(1)
    )
    if existing is not None and address_key(existing.road_address, existing.unit) == key:
        return existing, False
    h = Household(dong_id=dong_id, road_address=road_address, unit=unit or "", tong=tong, ban=ban,
                  age_band=age_band or "unknown", lives_alone=lives_alone, created_by_id=user.id)
    if name:
        # A reporter may know a name or only an alias; staff correct it later.
        h.alias = name
    h.refresh_keys()
    db.session.add(h)
    db.session.flush()
    return h, True


__all__ = ["search_for_reporter", "staff_query", "find_or_create", "chosung"]
