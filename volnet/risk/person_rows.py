"""The rows of the dong's crisis lists that name a household's person, beyond the rows linked to it: the
rounds' problem rows (risk_bad_rows), rows stored under another household, and the preview rows kept for the
mapping page. An access request lists them (privacy.services.household_export); erasing or anonymising the
household removes them (``forget``).

A row names the person as the import would match it (risk.importer) to one of the identities known for her:
the household's record and each list row linked to the household (a list may give the birth date the record
lacks, QA round 20: R1). The keyed hash of its registration number is one of the household's, or its name
(without spaces) and birth date are those of an identity, or its name and address are, with no other birth
date. A row with only an address is not taken for the person: it may be anyone who lives there. Problem rows stored before they kept who they are about (name_key ...) are
read from their text: the name as one of its cells, with the birth date or the road address in another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, delete, or_, select, update

from volnet.core.korean import address_key
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk import rrn
from volnet.risk.importer import _bare, _clean, parse_date
from volnet.risk.models import BadRow, CrisisRound, CrisisRow, HouseholdRrnHash


@dataclass
class Person:
    # Who the person is known as: the household's record and every crisis-list row linked to it (a list may
    # give the birth date the record lacks, or write the name otherwise). Bare name (without spaces, case
    # folded) -> identities [(birth date, address key of road address and unit, address key of the road alone)].
    names: dict[str, list[tuple[date | None, str, str]]]
    written: set[str]   # the names as written (stripped), for looking up stored rows
    hashes: set[str]

    @classmethod
    def of(cls, h: Household) -> Person:
        hashes = set(db.session.scalars(select(HouseholdRrnHash.rrn_hash)
                                        .where(HouseholdRrnHash.household_id == h.id)))
        person = cls({}, set(), hashes)
        person._add(h.name or "", h.birth_date, h.road_address or "", h.unit)
        # Read before erasure blanks them (privacy.services._scrub_other_records): a row without a name is the
        # household's person under the record's name.
        for name, birth, road, unit in db.session.execute(
                select(CrisisRow.name, CrisisRow.birth_date, CrisisRow.address, CrisisRow.unit)
                .where(CrisisRow.household_id == h.id).order_by(CrisisRow.id)):
            person._add(name or h.name or "", birth, road or "", unit)
        return person

    def _add(self, name: str, birth: date | None, road: str, unit: str | None) -> None:
        bare = _bare(name)
        if not bare:
            return
        self.written.add(name.strip())
        ident = (birth, address_key(road, unit)[:420] if road else "", address_key(road)[:420] if road else "")
        if ident != (None, "", "") and ident not in self.names.setdefault(bare, []):
            self.names[bare].append(ident)

    def named_by(self, name: str, birth: date | None, addr: str, rrn_hash: str | None = None) -> bool:
        """Whether a row with this identity (name without spaces, birth date, address key, keyed hash) is
        about the person as the import would match it to one of her identities: the hash, or the name with
        that identity's birth date, or with its address when the row or the identity has no birth date."""
        if rrn_hash and rrn_hash in self.hashes:
            return True
        for known_birth, known_addr, _ in self.names.get(name, ()) if name else ():
            if birth is not None and birth == known_birth:
                return True
            if known_addr and addr == known_addr and (birth is None or known_birth is None):
                return True
        return False

    def named_in(self, cells: list[str]) -> bool:
        """Whether a row known only as its cells (an older problem row's text, a preview row) names the
        person: one of its names is one of the cells, and a birth date or road address known with it another."""
        bare = {_bare(_clean(c)) for c in cells}
        for name, idents in self.names.items():
            if name not in bare:
                continue
            births = {i[0] for i in idents if i[0] is not None}
            roads = {i[2] for i in idents if i[2]}
            for cell in cells:
                cell = cell.strip()
                if not cell:
                    continue
                if births and (parse_date(cell) in births or rrn.masked_birth(cell) in births):
                    return True
                if roads and address_key(cell)[:420] in roads:
                    return True
        return False


@dataclass
class Found:
    bad_rows: list[BadRow] = field(default_factory=list)
    rows: list[CrisisRow] = field(default_factory=list)     # stored under another household
    previews: dict[int, list[int]] = field(default_factory=dict)  # round id -> indexes of preview rows
    rounds: dict[int, CrisisRound] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.bad_rows or self.rows or self.previews)


def find(h: Household) -> Found:
    """The rows of the lists of the household's dong that name its person (see the module)."""
    person = Person.of(h)
    found = Found()
    if not (person.names or person.hashes):
        return found
    found.rounds = {r.id: r for r in db.session.scalars(select(CrisisRound).where(CrisisRound.dong_id == h.dong_id)
                                                        .order_by(CrisisRound.id))}
    if not found.rounds:
        return found
    rounds = list(found.rounds)
    maybe = []
    if person.hashes:
        maybe.append(BadRow.rrn_hash.in_(sorted(person.hashes)))
    if person.names:
        maybe.append(BadRow.name_key.in_(sorted(person.names)))
        for written in sorted(person.written):  # an older row: its text holds the name as it was written
            maybe.append(and_(BadRow.name_key == "", BadRow.content.contains(written, autoescape=True)))
    for bad in db.session.scalars(select(BadRow).where(BadRow.round_id.in_(rounds), or_(*maybe))
                                  .order_by(BadRow.round_id, BadRow.row_number)):
        old = not (bad.name_key or bad.birth_date or bad.address_key or bad.rrn_hash)
        if (person.named_in(bad.content.split(",")) if old
                else person.named_by(bad.name_key, bad.birth_date, bad.address_key, bad.rrn_hash)):
            found.bad_rows.append(bad)
    if person.written:
        for row in db.session.scalars(select(CrisisRow).where(
                CrisisRow.round_id.in_(rounds), CrisisRow.name.in_(sorted(person.written)),
                or_(CrisisRow.household_id.is_(None), CrisisRow.household_id != h.id))
                .order_by(CrisisRow.round_id, CrisisRow.row_number)):
            addr = address_key(row.address, row.unit)[:420] if row.address else ""
            if person.named_by(_bare(row.name), row.birth_date, addr):
                found.rows.append(row)
    for rid, r in found.rounds.items():
        hits = [i for i, cells in enumerate(r.preview or []) if person.named_in([str(c) for c in cells])]
        if hits:
            found.previews[rid] = hits
    return found


def forget(h: Household) -> int:
    """Remove what ``find`` finds: the problem rows are deleted (the round's tally ``bad_rows`` stays as the
    import counted; the round's page counts the rows there are), the rows under
    another household lose the name, birth date, phone, unit and check note (as the household's own rows
    do), the preview rows go. Returns how many rows. Call it before the household's own fields are cleared;
    the caller commits."""
    found = find(h)
    if not found:
        return 0
    if found.bad_rows:
        db.session.execute(delete(BadRow).where(BadRow.id.in_([b.id for b in found.bad_rows]))
                           .execution_options(synchronize_session=False))
    if found.rows:
        db.session.execute(update(CrisisRow).where(CrisisRow.id.in_([r.id for r in found.rows]))
                           .values(name="", birth_date=None, phone=None, unit="", check_note="")
                           .execution_options(synchronize_session=False))
    if found.previews:
        # A round whose import is storing a batch is held by it (FOR UPDATE) until the batch commits: its preview
        # is left rather than waited for (that list's staged rows are being imported meanwhile anyway).
        free = set(db.session.scalars(select(CrisisRound.id).where(CrisisRound.id.in_(sorted(found.previews)))
                                      .order_by(CrisisRound.id).with_for_update(skip_locked=True)))
        for rid, hits in found.previews.items():
            if rid in free:
                r = found.rounds[rid]
                db.session.refresh(r, ["preview"])
                r.preview = [cells for i, cells in enumerate(r.preview or []) if i not in hits]
    db.session.flush()
    return len(found.bad_rows) + len(found.rows) + sum(len(v) for v in found.previews.values())
