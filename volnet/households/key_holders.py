"""Whom to call when nobody opens a household's door (DOMAIN.md: "no answer at the door, or danger signs: call
112/119; key holder (tong leader or management office)").

``key_holder_contacts(household)`` gives the people and places with a phone number who may hold a key or know
how to reach the person: the active tong leaders who serve the household's tong (the tongs an admin set on their
account, accounts.tongs), then the dong welfare centre (its organization of kind ``dong_centre`` in the dong).
``key_holders_for(households)`` does it for several households at once (two reads). A page shows them as
tap-to-call links beside 112/119 (``templates/households/_key_holders.html``). Plain functions that never write,
as services are.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from volnet.extensions import db

# A tong has one leader, now and then a deputy; the dong one centre. More would be a data slip: a few suffice.
MOST = 3


class KeyHolder(NamedTuple):
    """``kind``: "tong_leader" or "dong_centre"; ``tong``: the tong a tong leader serves (None for the centre);
    ``phone``: normalized digits (shown with ``tel``)."""
    kind: str
    name: str
    phone: str
    tong: int | None = None


def key_holder_contacts(household) -> list[KeyHolder]:
    """The tong leaders of the household's tong (when it has one), then the dong welfare centre: only those
    with a phone number, active accounts and organizations only."""
    if household is None:
        return []
    return key_holders_for([household])[household.id]


def key_holders_for(households) -> dict[int, list[KeyHolder]]:
    """``key_holder_contacts`` of several households (a route's doors) in two reads, by household id."""
    from volnet.accounts.models import Organization, User, user_tongs

    households = [h for h in households if h is not None]
    out: dict[int, list[KeyHolder]] = {h.id: [] for h in households}
    if not households:
        return out
    dongs = sorted({h.dong_id for h in households})
    tongs = sorted({(h.dong_id, h.tong) for h in households if h.tong is not None})
    leaders: dict[tuple[int, int], list[KeyHolder]] = {}
    if tongs:
        rows = db.session.execute(
            select(user_tongs.c.dong_id, user_tongs.c.number, User.name, User.phone)
            .join(User, User.id == user_tongs.c.user_id)
            .where(user_tongs.c.dong_id.in_(sorted({d for d, _n in tongs})),
                   user_tongs.c.number.in_(sorted({n for _d, n in tongs})),
                   User.role == "tong_leader", User.active.is_(True), User.phone.is_not(None), User.phone != "")
            .order_by(user_tongs.c.dong_id, user_tongs.c.number, User.id))
        for dong_id, number, name, phone in rows:
            found = leaders.setdefault((dong_id, number), [])
            if len(found) < MOST:
                found.append(KeyHolder("tong_leader", name, phone, number))
    centres: dict[int, list[KeyHolder]] = {}
    rows = db.session.execute(
        select(Organization.dong_id, Organization.name, Organization.phone)
        .where(Organization.dong_id.in_(dongs), Organization.kind == "dong_centre",
               Organization.active.is_(True), Organization.phone.is_not(None), Organization.phone != "")
        .order_by(Organization.dong_id, Organization.id))
    for dong_id, name, phone in rows:
        found = centres.setdefault(dong_id, [])
        if len(found) < MOST:
            found.append(KeyHolder("dong_centre", name, phone))
    for h in households:
        out[h.id] = [*leaders.get((h.dong_id, h.tong), []), *centres.get(h.dong_id, [])]
    return out
