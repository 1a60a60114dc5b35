"""Importing a staged public crisis list: mapping, row checks, matching to households, indicators,
scores and concerns. Runs as an RQ job (inline without Redis), in batches of BATCH rows; each batch
commits its rows and the progress together, so a re-run resumes and changes nothing twice.

Matching, in order: keyed RRN hash (risk_household_rrn_hashes) -> normalized road address + unit
(volnet.core.korean.address_key) -> name + birth date. Unmatched rows create households with status
"to_locate". Households that existed before the import are looked up in memory (bounded by the dong,
not by the file); households created by this import are found again by an indexed address query.
"""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, insert, select, tuple_

from volnet.core import clock
from volnet.core.korean import address_key, chosung, clean_text, normalize_phone
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk import rrn, staging
from volnet.risk.indicators import ensure_seeded, fold, lookup
from volnet.risk.models import (
    BadRow,
    CrisisRound,
    CrisisRow,
    HouseholdIndicator,
    HouseholdRrnHash,
    ImportMapping,
    IndicatorType,
    UploadChunk,
)
from volnet.risk.sqlutil import member, new_ids
from volnet.risk.tiers import num

log = logging.getLogger(__name__)
BATCH = 5000

FIELDS = ("name", "birth_date", "address", "unit", "phone", "rrn", "indicator_code")
SYNONYMS = {
    "name": ["성명", "이름", "대상자명", "대상자성명", "수급자명", "name"],
    "birth_date": ["생년월일", "출생일", "생일", "birthdate", "birth", "dateofbirth"],
    "address": ["주소", "도로명주소", "거주지주소", "주소지", "실거주지", "도로명", "address", "roadaddress"],
    "unit": ["상세주소", "동호", "동호수", "호수", "unit"],
    "phone": ["전화번호", "연락처", "휴대전화", "휴대폰", "핸드폰", "phone", "mobile"],
    "rrn": ["주민등록번호", "주민번호", "rrn"],
    "indicator_code": ["위기지표", "지표", "지표코드", "위기유형", "발굴지표", "위기정보", "indicator", "indicators",
                       "indicatorcode"],
}
TRUTHY_NO = {"", "n", "no", "0", "x", "-", "아니오", "아니요", "없음", "미해당", "false", "0.0"}
REASONS = ("cut_off", "missing_cells", "extra_cells", "name_too_long", "bad_birth_date", "impossible_birth_date",
           "bad_rrn", "address_too_long", "unit_too_long", "no_indicator", "no_identity", "malformed")


def guess_mapping(header: list[str], types: dict[str, IndicatorType]) -> dict[str, str]:
    syn = {fold(s): f for f, names in SYNONYMS.items() for s in names}
    out: dict[str, str] = {}
    used = set()
    for i, h in enumerate(header):
        key = fold(h)
        f = syn.get(key)
        if f and f not in used:
            out[str(i)] = f
            used.add(f)
        elif key in types:
            out[str(i)] = "ind:" + types[key].code
    return out


def saved_mapping(dong_id: int, user_id: int, signature: str) -> dict | None:
    for cond in (ImportMapping.dong_id == dong_id, ImportMapping.user_id == user_id):
        row = db.session.scalar(select(ImportMapping).where(cond, ImportMapping.header_signature == signature)
                                .order_by(ImportMapping.updated_at.desc()).limit(1))
        if row is not None:
            return dict(row.mapping or {})
    return None


def remember_mapping(dong_id: int, user_id: int, signature: str, mapping: dict) -> None:
    for kw in ({"dong_id": dong_id, "user_id": None}, {"dong_id": None, "user_id": user_id}):
        row = db.session.scalar(select(ImportMapping).where(
            ImportMapping.dong_id.is_(kw["dong_id"]) if kw["dong_id"] is None else ImportMapping.dong_id == kw["dong_id"],
            ImportMapping.user_id.is_(None) if kw["user_id"] is None else ImportMapping.user_id == kw["user_id"],
            ImportMapping.header_signature == signature))
        if row is None:
            row = ImportMapping(header_signature=signature, **kw)
            db.session.add(row)
        row.mapping = dict(mapping)
        row.updated_at = clock.now()


def check_mapping(mapping: dict[str, str], width: int) -> list[str]:
    """Problems with a mapping, as codes: the view translates them."""
    problems = []
    seen = defaultdict(int)
    for col, target in mapping.items():
        if not col.isdigit() or int(col) >= width:
            problems.append("unknown_column")
        seen[target] += 1
    for f in FIELDS:
        if seen.get(f, 0) > 1:
            problems.append("twice:" + f)
    if not (seen.get("name") or seen.get("address") or seen.get("rrn")):
        problems.append("need_identity")
    if not (seen.get("indicator_code") or any(t.startswith("ind:") for t in mapping.values())):
        problems.append("need_indicator")
    return problems


# --- dates --------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-./년]?\s*(\d{1,2})\s*[-./월]?\s*(\d{1,2})\s*[.일]?\s*$")


def parse_date(value: str) -> date | str:
    """A date, or an error code ('bad_birth_date', 'impossible_birth_date'). Accepts 1990-01-01, 19900101,
    1990.01.01, 1990. 1. 1., 1990/1/1 and 1990년 1월 1일."""
    text = value.strip()
    if len(text) == 8 and text.isdigit():
        y, m, d = int(text[:4]), int(text[4:6]), int(text[6:])
    elif (len(text) == 10 and text[4] in "-./" and text[7] in "-./" and text[:4].isdecimal()
          and text[5:7].isdecimal() and text[8:].isdecimal()):  # the common 1990-01-01: what _DATE_RE reads
        y, m, d = int(text[:4]), int(text[5:7]), int(text[8:])
    else:
        mt = _DATE_RE.match(text)
        if not mt:
            return "bad_birth_date"
        y, m, d = (int(g) for g in mt.groups())
    try:
        result = date(y, m, d)
    except ValueError:
        return "impossible_birth_date"
    if result.year < 1900 or result > clock.seoul_today():
        return "impossible_birth_date"
    return result


def _clean(value: str) -> str:
    """clean_text with a fast path for the common case (printable text)."""
    if value.isprintable():
        return unicodedata.normalize("NFC", value).strip()
    return clean_text(value)


# --- one row --------------------------------------------------------------------------------------

@dataclass
class Parsed:
    number: int
    name: str = ""
    birth: date | None = None
    address: str = ""
    unit: str = ""
    phone: str | None = None
    rrn_hash: str | None = None
    codes: list = field(default_factory=list)
    key: str = ""
    addr_key: str = ""
    household_id: int | None = None
    match: str = "created"


class Bad(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def parse_row(number: int, cells: list[str], cut: bool, mapping: dict, width: int,
              types: dict[str, IndicatorType]) -> Parsed | None:
    """A good row, None for an empty row, or raises Bad."""
    return RowParser(mapping, width, types).parse(number, cells, cut)


_SPLIT_CODES = re.compile(r"[,;|/\n]+")
_CACHE_MAX = 50_000  # entries per cache: memory stays bounded whatever the file size


class RowParser:
    """parse_row for many rows with one mapping: the mapping and the indicator spellings are prepared once,
    and repeated cell values (birth dates, indicator cells) are parsed once (bounded caches)."""

    def __init__(self, mapping: dict, width: int, types: dict[str, IndicatorType]):
        self.width = width
        self.cols = [(int(col), target) for col, target in mapping.items()]
        # Plain strings: the ORM objects expire at every batch commit (one query each to reload them).
        self.code_of = {k: t.code for k, t in types.items()}
        self.codes = set(self.code_of.values())
        self._dates: dict[str, date | str] = {}
        self._dates_day = None
        self._indicators: dict[str, tuple[tuple, tuple]] = {}
        self.new_batch()

    def new_batch(self) -> None:
        """Call before each batch: parse_date's answer depends on the day ("not in the future")."""
        today = clock.seoul_today()
        if today != self._dates_day or len(self._dates) > _CACHE_MAX:
            self._dates = {}
            self._dates_day = today

    def _date(self, value: str) -> date | str:
        got = self._dates.get(value)
        if got is None:
            got = self._dates[value] = parse_date(value)
        return got

    def _indicator_cell(self, value: str) -> tuple[tuple, tuple]:
        got = self._indicators.get(value)
        if got is None:
            codes, unknown = [], []
            for part in _SPLIT_CODES.split(value):
                k = fold(part)
                if not k:
                    continue
                code = self.code_of.get(k)
                if code is None:
                    unknown.append(part.strip()[:20])
                else:
                    codes.append(code)
            if len(self._indicators) > _CACHE_MAX:
                self._indicators = {}
            got = self._indicators[value] = (tuple(codes), tuple(unknown))
        return got

    def parse(self, number: int, cells: list[str], cut: bool) -> Parsed | None:
        if not any(c.strip() for c in cells):
            return None
        if cut:
            raise Bad("cut_off")
        width = self.width
        if len(cells) < width:
            raise Bad("missing_cells", f"{len(cells)}/{width}")
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise Bad("extra_cells", f"{len(cells)}/{width}")
        p = Parsed(number=number)
        codes: list[str] = []
        unknown: list[str] = []
        for col, target in self.cols:
            value = cells[col].strip()
            if target == "name":
                p.name = _clean(value)
                if len(p.name) > 60:
                    raise Bad("name_too_long")
            elif target == "birth_date":
                if value:
                    parsed = self._date(value)
                    if isinstance(parsed, str):
                        raise Bad(parsed, rrn.display(value)[:40])
                    p.birth = parsed
            elif target == "address":
                p.address = _clean(value)
                if len(p.address) > 200:
                    raise Bad("address_too_long")
            elif target == "unit":
                p.unit = _clean(value)
                if len(p.unit) > 60:
                    raise Bad("unit_too_long")
            elif target == "phone":
                p.phone = normalize_phone(value)
            elif target == "rrn":
                if value:
                    tok = rrn.parse_token(value)
                    if tok is None:
                        raise Bad("bad_rrn", rrn.display(value)[:20] if len(value) < 40 else "")
                    p.rrn_hash = tok[0]
                    rrn_birth = tok[1]
                    if rrn_birth and p.birth is None:
                        p.birth = rrn_birth
            elif target == "indicator_code":
                if value:
                    found, missing = self._indicator_cell(value)
                    codes.extend(found)
                    unknown.extend(missing)
            elif target.startswith("ind:") and value.lower() not in TRUTHY_NO:
                if target[4:] in self.codes:
                    codes.append(target[4:])
        if not codes:
            raise Bad("no_indicator", rrn.display(", ".join(unknown))[:150])
        if not (p.address or p.rrn_hash or (p.name and p.birth)):
            raise Bad("no_identity")
        p.codes = sorted(set(codes))
        p.addr_key = address_key(p.address, p.unit)[:420] if p.address else ""
        ident = "\x1f".join([p.name, p.birth.isoformat() if p.birth else "", p.addr_key, p.rrn_hash or "",
                             p.phone or "", ",".join(p.codes)])
        p.key = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
        return p


# --- the job --------------------------------------------------------------------------------------

def _app_context():
    from flask import has_app_context

    if has_app_context():
        import contextlib

        return contextlib.nullcontext()
    from volnet import create_app

    return create_app().app_context()


def run_import(round_id: int) -> None:
    """RQ job: import a staged round. Safe to run twice."""
    with _app_context():
        r = db.session.get(CrisisRound, round_id)
        if r is None or r.status in ("done", "uploaded"):
            return
        r.status = "running"
        r.started_at = r.started_at or clock.now()
        db.session.commit()
        try:
            Importer(r).run()
            r.status = "done"
            r.finished_at = clock.now()
            db.session.execute(delete(UploadChunk).where(UploadChunk.round_id == r.id))
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - recorded on the round; no row content in the log
            db.session.rollback()
            log.error("risk import %s failed: %s", round_id, type(exc).__name__)
            r = db.session.get(CrisisRound, round_id)
            r.status = "failed"
            r.error = type(exc).__name__[:100]
            db.session.commit()


class Importer:
    def __init__(self, r: CrisisRound, batch: int = BATCH):
        self.r = r
        self.batch_size = batch
        ensure_seeded()
        self.types = lookup()
        self.type_ids = {t.code: t.id for t in self.types.values()}
        self.type_signal = {t.code: t.signal for t in self.types.values()}
        self.type_info = {t.code: (t.label, t.weight) for t in self.types.values()}
        self.mapping = dict(r.mapping or {})
        self.width = len(r.header or [])
        self.parser = RowParser(self.mapping, self.width, self.types)
        self.dialect = db.session.get_bind().dialect.name
        self._preload()

    def _preload(self):
        """Households of the dong that existed before this import: address and name+birth maps."""
        self.pre_addr: dict[str, int] = {}
        self.pre_nb: dict[tuple, int] = {}
        rows = db.session.execute(select(Household.id, Household.road_address, Household.unit, Household.name,
                                         Household.birth_date, Household.created_at)
                                  .where(Household.dong_id == self.r.dong_id, Household.status != "deceased")
                                  .order_by(Household.id))
        for hid, road, unit, name, birth, _c in rows:
            self.pre_addr.setdefault(address_key(road, unit)[:420], hid)
            if name and birth:
                self.pre_nb.setdefault((name, birth), hid)

    def run(self):
        r = self.r
        skip = r.done_rows  # resume after the last committed batch
        batch = []
        for i, row in enumerate(staging.staged_rows(r.id)):
            if i < skip:
                continue
            batch.append(row)
            if len(batch) >= self.batch_size:
                self.process(batch)
                db.session.commit()
                batch = []
        if batch:
            self.process(batch)
        db.session.flush()

    # -- one batch --
    def process(self, rows):
        r = self.r
        goods: list[Parsed] = []
        bads = []
        empty = 0
        self.parser.new_batch()
        for number, cut, cells in rows:
            try:
                p = self.parser.parse(number, cells, cut)
            except Bad as b:
                bads.append({"round_id": r.id, "row_number": number, "reason": b.reason, "detail": b.detail[:200],
                             "content": rrn.display(",".join(cells))[:2000]})
                continue
            if p is None:
                empty += 1
            else:
                goods.append(p)
        # Duplicates: in this batch, then already stored (earlier batch, earlier run).
        unique: dict[str, Parsed] = {}
        dup = 0
        for p in goods:
            if p.key in unique:
                dup += 1
            else:
                unique[p.key] = p
        if unique:
            stored = set(db.session.scalars(select(CrisisRow.natural_key).where(
                CrisisRow.round_id == r.id, member(CrisisRow.natural_key, unique, "str"))))
            for k in stored:
                unique.pop(k, None)
                dup += 1
        goods = list(unique.values())
        if bads:
            existing_bad = set(db.session.scalars(select(BadRow.row_number).where(
                BadRow.round_id == r.id, BadRow.row_number.in_([b["row_number"] for b in bads]))))
            bads = [b for b in bads if b["row_number"] not in existing_bad]
            if bads:
                cols = ["round_id", "row_number", "reason", "detail", "content"]
                self._bulk(BadRow.__table__, cols, [tuple(b[c] for c in cols) for b in bads])
        created, matched, affected, fresh = self._match_and_create(goods)
        self._store_rows(goods)
        self._store_indicators(goods, fresh)
        from volnet.risk import scoring

        signals = defaultdict(set)
        for p in goods:
            for c in p.codes:
                signals[p.household_id].add(self.type_signal.get(c) or "other")
        # Households that existed before this batch are rescored from the database; the ones it created
        # were scored when inserted (their inputs are all in this batch): only their concern rule is checked.
        raised = scoring.refresh(sorted(affected - fresh.keys()), actor=None, source="crisis_list",
                                 signals_by_household={k: sorted(v) for k, v in signals.items()}, fresh=fresh)
        r.done_rows += len(rows)
        r.good_rows += len(goods)
        r.bad_rows += len(bads)
        r.duplicate_rows += dup
        r.empty_rows += empty
        r.matched_rows += matched
        r.created_households += created
        r.concerns_raised += raised

    def _match_and_create(self, goods: list[Parsed]):
        r = self.r
        if not goods:
            return 0, 0, set(), {}
        hashes = {p.rrn_hash for p in goods if p.rrn_hash}
        by_hash: dict[str, int] = {}
        linked: set[tuple[int, str]] = set()
        if hashes:
            for hid, hsh in db.session.execute(select(HouseholdRrnHash.household_id, HouseholdRrnHash.rrn_hash)
                                               .where(member(HouseholdRrnHash.rrn_hash, hashes, "str"),
                                                      HouseholdRrnHash.dong_id == r.dong_id)
                                               .order_by(HouseholdRrnHash.id)):
                by_hash.setdefault(hsh, hid)
                linked.add((hid, hsh))
        keys = {p.addr_key for p in goods if p.addr_key}
        by_addr: dict[str, int] = {}
        if keys:
            for hid, key in db.session.execute(select(Household.id, Household.address_key).where(
                    Household.dong_id == r.dong_id, member(Household.address_key, keys, "str"),
                    Household.status != "deceased").order_by(Household.id)):
                by_addr.setdefault(key, hid)
        nbs = {(p.name, p.birth) for p in goods if p.name and p.birth and (p.name, p.birth) not in self.pre_nb}
        by_nb: dict[tuple, int] = {}
        if nbs and len(nbs) <= 2000:
            # Households created by this import earlier (not in the preloaded map).
            for hid, name, birth in db.session.execute(select(Household.id, Household.name, Household.birth_date).where(
                    Household.dong_id == r.dong_id, tuple_(Household.name, Household.birth_date).in_(list(nbs)),
                    Household.status != "deceased").order_by(Household.id)):
                by_nb.setdefault((name, birth), hid)
        matched = 0
        to_create: list[Parsed] = []
        new_by_key: dict[str, Parsed] = {}
        for p in goods:
            hid = None
            how = "created"
            if p.rrn_hash and p.rrn_hash in by_hash:
                hid, how = by_hash[p.rrn_hash], "rrn"
            elif p.addr_key and (p.addr_key in by_addr or p.addr_key in self.pre_addr):
                hid, how = by_addr.get(p.addr_key) or self.pre_addr[p.addr_key], "address"
            elif p.name and p.birth and ((p.name, p.birth) in self.pre_nb or (p.name, p.birth) in by_nb):
                hid, how = self.pre_nb.get((p.name, p.birth)) or by_nb[(p.name, p.birth)], "name_birth"
            if hid is not None:
                p.household_id, p.match = hid, how
                matched += 1
                continue
            # Same person or address twice in this batch: one new household (any shared key).
            keys = [k for k in ((p.rrn_hash and "r:" + p.rrn_hash), (p.addr_key and "a:" + p.addr_key),
                                (p.name and p.birth and f"n:{p.name}|{p.birth}")) if k]
            first = next((new_by_key[k] for k in keys if k in new_by_key), None)
            if first is None:
                to_create.append(p)
                first = p
            else:
                p.match = "rrn" if keys[0].startswith("r:") and keys[0] in new_by_key else "created"
                p.household_id = -id(first)  # resolved below
            for k in keys:
                new_by_key.setdefault(k, first)
        fresh: dict[int, object] = {}
        now = clock.now()
        if to_create:
            today = clock.to_seoul(now).date()
            # Every row of this batch that lands on a new household gives it indicators (and nothing else).
            codes_of: dict[int, set] = defaultdict(set)
            for p in goods:
                if p.household_id is None:
                    codes_of[-id(p)].update(p.codes)
                elif p.household_id < 0:
                    codes_of[p.household_id].update(p.codes)
            results = self._score_new(to_create, codes_of, now)
            ids = new_ids("households", len(to_create))
            dong_id, by = r.dong_id, r.uploaded_by_id
            cols = ["id", "dong_id", "road_address", "unit", "jibun_address", "landmark", "address_key", "name",
                    "name_chosung", "phone", "birth_date", "sex", "age_band", "status", "delivery_note", "tier",
                    "risk_score", "created_by_id", "created_at", "updated_at"]
            values = [(hid, dong_id, p.address[:200], p.unit[:60], "", "", p.addr_key, p.name or None,
                       chosung(p.name)[:60], p.phone, p.birth, "unknown", _age_band(p.birth, today), "to_locate", "",
                       "unassessed", res.score, by, now, now)
                      for p, res, hid in zip(to_create, results, ids, strict=True)]
            self._bulk(Household.__table__, cols, values)
            firsts = {}
            for p, hid, res in zip(to_create, ids, results, strict=True):
                p.household_id = hid
                firsts[-id(p)] = hid
                fresh[hid] = res
            for p in goods:
                if p.household_id is not None and p.household_id < 0:
                    p.household_id = firsts[p.household_id]
        links = []
        for p in goods:
            if p.rrn_hash and (p.household_id, p.rrn_hash) not in linked:
                linked.add((p.household_id, p.rrn_hash))
                links.append((p.household_id, r.dong_id, p.rrn_hash, now))
        self._bulk(HouseholdRrnHash.__table__, ["household_id", "dong_id", "rrn_hash", "created_at"], links)
        return len(to_create), matched, {p.household_id for p in goods}, fresh

    def _score_new(self, to_create: list[Parsed], codes_of: dict[int, set], now) -> list:
        """The score of each new household, from what this batch knows of it: its indicators (within the
        window), its birth date. The same result as scoring.load_inputs + compute once it is stored: a new
        household has no reports, screenings, calls or earlier indicators, and lives_alone is unknown."""
        from volnet.risk import scoring

        today = clock.to_seoul(now).date()
        counted = self.r.received_on >= today - timedelta(days=int(num("risk.indicator.window_days")))
        received = self.r.received_on
        weights = scoring.current_weights()
        # The result depends only on the indicator codes and the age band: computed once per combination.
        memo: dict[tuple, object] = {}
        out = []
        for p in to_create:
            codes = tuple(sorted(c for c in codes_of[-id(p)] if c in self.type_info)) if counted else ()
            inp = scoring.Inputs(birth_date=p.birth, age_band=_age_band(p.birth, today), lives_alone=None)
            key = (codes, scoring.band_of(inp, today))
            res = memo.get(key)
            if res is None:
                inp.indicators = [(c, *self.type_info[c], received) for c in codes]
                res = memo[key] = scoring.compute(inp, now, weights)
            out.append(res)
        return out

    def _store_rows(self, goods: list[Parsed]):
        cols = ["round_id", "row_number", "natural_key", "household_id", "match", "name", "birth_date", "address",
                "unit", "phone", "codes", "check_result", "check_note"]
        rows = [(self.r.id, p.number, p.key, p.household_id, p.match, p.name[:60], p.birth, p.address[:200],
                 p.unit[:60], p.phone, ",".join(p.codes)[:400], "pending", "") for p in goods]
        self._bulk(CrisisRow.__table__, cols, rows)

    def _store_indicators(self, goods: list[Parsed], fresh: dict):
        r = self.r
        pairs = {(p.household_id, self.type_ids[c]) for p in goods for c in p.codes if c in self.type_ids}
        if not pairs:
            return
        # Households created by this batch have no indicators yet: only the others are looked up.
        hids = list({h for h, _t in pairs if h not in fresh})
        existing = set()
        if hids:
            existing = set(db.session.execute(
                select(HouseholdIndicator.household_id, HouseholdIndicator.indicator_type_id)
                .where(HouseholdIndicator.round_id == r.id, member(HouseholdIndicator.household_id, hids))).all())
        rows = [(h, t, r.id, r.received_on) for h, t in sorted(pairs) if (h, t) not in existing]
        self._bulk(HouseholdIndicator.__table__, ["household_id", "indicator_type_id", "round_id", "observed_on"],
                   rows)

    def _bulk(self, table, cols, rows):
        """COPY on PostgreSQL (psycopg), executemany elsewhere; inside the session's transaction."""
        if not rows:
            return
        if self.dialect == "postgresql":
            raw = db.session.connection().connection.dbapi_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            return
        db.session.execute(insert(table), [dict(zip(cols, row, strict=True)) for row in rows])


def _age_band(birth: date | None, today: date) -> str:
    if birth is None:
        return "unknown"
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < 20:
        return "u20"
    if age >= 80:
        return "80p"
    return f"{age // 10 * 10}s"


def due_date(received: date) -> date:
    return received + relativedelta(months=int(num("risk.round.due_months")))
