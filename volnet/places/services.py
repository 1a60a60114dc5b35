"""Loading real dongs from the bundled administrative code list (July 2023 snapshot)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from volnet.core.cache import TTLCache
from volnet.core.sql import insert_ignoring
from volnet.extensions import db
from volnet.places.models import Dong

DATA = Path(__file__).resolve().parent.parent / "data" / "dongs.tsv"


def rows():
    with DATA.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            code, sido, sigungu, name, *_ = line.rstrip("\n").split("\t")
            yield code, sido, sigungu, name


class AmbiguousSigungu(ValueError):
    """A 시군구 name found in several 시도 (중구, 동구, 고성군 ...): ``choices`` are the full names to pick from."""

    def __init__(self, name: str, choices: list[str]):
        super().__init__(name)
        self.name, self.choices = name, choices


def import_sigungu(sigungu: str) -> int | None:
    """Add every current dong of a 시군구 (e.g. '의정부시', '관악구', '서울특별시 중구'). None if the name is
    unknown; AmbiguousSigungu if the name alone is found in several 시도 (then the 시도 must be given)."""
    wanted = sigungu.replace(" ", "")
    every = list(rows())
    matches = [r for r in every if r[2].replace(" ", "") == wanted]
    found = sorted({(r[1], r[2]) for r in matches})
    if len(found) > 1:
        raise AmbiguousSigungu(sigungu, [f"{sido} {sgg}" for sido, sgg in found])
    if not matches:
        matches = [r for r in every if f"{r[1]}{r[2]}".replace(" ", "") == wanted]
    if not matches:
        return None
    existing = set(db.session.scalars(select(Dong.code).where(Dong.code.in_([m[0] for m in matches]))))
    new = [{"code": code, "sido": sido, "sigungu": sgg, "name": name}
           for code, sido, sgg, name in matches if code not in existing]
    if not new:
        return 0
    # ON CONFLICT DO NOTHING: an import clicked twice (it takes a moment) adds each dong once.
    res = db.session.execute(insert_ignoring(Dong.__table__, ["code"]).returning(Dong.__table__.c.id), new)
    return len(res.all())


def get_or_create(code: str) -> Dong:
    d = db.session.scalar(select(Dong).where(Dong.code == code))
    if d is not None:
        return d
    for c, sido, sgg, name in rows():
        if c == code:
            d = Dong(code=c, sido=sido, sigungu=sgg, name=name)
            db.session.add(d)
            db.session.flush()
            return d
    raise KeyError(code)


# Active dong ids (every report checks its dong). A dong missing from the cached set is read again, so a
# new or re-activated dong counts at once; a deactivated one may be accepted for up to 5 seconds more.
_active = TTLCache(seconds=5)


def active_among(dong_ids) -> set[int]:
    """Those of ``dong_ids`` that are active dongs."""
    wanted = set(dong_ids)
    active = _active.get("active", lambda: frozenset(db.session.scalars(select(Dong.id).where(Dong.active.is_(True)))),
                         fresh=lambda ids: wanted <= ids)
    return wanted & active


def forget_active_dongs() -> None:
    _active.clear()
