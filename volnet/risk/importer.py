"""Importing a staged public crisis list: mapping, row checks, matching to households, indicators,
scores and concerns. Runs as an RQ job (inline without Redis), in batches of BATCH rows; each batch
commits its rows and the progress together, so a re-run resumes and changes nothing twice. One worker
imports a round at a time: a job that finds the progress moved by another stops (RQ is at-least-once);
and one list of a dong at a time (``run_import``). Households added in the dong while a list is imported
(a tong leader's quick-add) are seen: each batch checks the dong's ``households_added`` counter and the
rest of the list is planned again when it moved (``Importer._hold_dong_additions``).

Matching, in order: keyed RRN hash (risk_household_rrn_hashes) -> normalized road address + unit
(volnet.core.korean.address_key) -> name + birth date. An address alone is not enough when the row says
someone else lives there: a household at the address whose recorded name or birth date differs from the
row's (both known) is not matched by it (``_fitting``). Unmatched rows create households with status
"to_locate"; one at an address where another household is recorded gets the match "shared_addr", so the
caseworker sees both (and can merge them when they are one household). Households that existed before the job are looked up in memory (bounded by the dong, not by
the file); households the job creates are found again by an indexed address query, asked only about the
addresses a fixed-size filter says it may have created a household at (volnet.risk.keyfilter), and the
same goes for the natural keys of stored rows (duplicates). Memory stays bounded by the batch and the dong.

On PostgreSQL the rows are parsed by a reader thread while the job thread plans and two writer threads
store (binary COPY, batches committed in order; see Importer.run), and the tables the import grows are
analyzed as they grow; SQLite runs the same steps in one thread. The interpreter is tuned for the job
while it runs (volnet.core.bulkjob).
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import re
import threading
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError

from volnet.core import bulkjob, clock
from volnet.core.korean import address_key, chosung, clean_text, normalize_phone
from volnet.core.sql import constraint_name
from volnet.extensions import db
from volnet.households.models import Household
from volnet.places.models import Dong
from volnet.risk import rrn, staging
from volnet.risk.indicators import ensure_seeded, fold, lookup
from volnet.risk.keyfilter import KeyFilter
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
from volnet.risk.sqlutil import Prepared, bulk_insert, insert_prepared, member, new_ids, prepare
from volnet.risk.tiers import num

log = logging.getLogger(__name__)
BATCH = 10_000

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
           "bad_rrn", "address_too_long", "unit_too_long", "no_indicator", "no_identity", "rrn_unread_only",
           "malformed")
# A good row's warning (CrisisRow.warning): its registration number was masked (440105-2******) or unreadable,
# so nothing was hashed for it and it was matched on name, birth date and address alone.
RRN_UNREAD = "rrn_unread"


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
        if not col.isdecimal() or int(col) >= width:
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
    if len(text) == 8 and text.isdecimal():
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

class Parsed:
    """A good row: what the job stores and matches on."""

    __slots__ = ("number", "name", "birth", "address", "unit", "phone", "rrn_hash", "codes", "key", "addr_key",
                 "name_chosung", "household_id", "match", "warning")

    def __init__(self, number: int, name: str = "", birth: date | None = None, address: str = "", unit: str = "",
                 phone: str | None = None, rrn_hash: str | None = None, codes: list | None = None, key: str = "",
                 addr_key: str = "", name_chosung: str = "", warning: str = ""):
        self.number = number
        self.name = name
        self.birth = birth
        self.address = address
        self.unit = unit
        self.phone = phone
        self.rrn_hash = rrn_hash
        self.codes = codes if codes is not None else []
        self.key = key
        self.addr_key = addr_key
        self.name_chosung = name_chosung  # for the household this row may create
        self.household_id: int | None = None
        self.match = "created"
        self.warning = warning  # "" or RRN_UNREAD


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
    and repeated cell values (birth dates, indicator cells) are parsed once (bounded caches).
    Needs no database and no app context: the job runs it in a reader thread."""

    def __init__(self, mapping: dict, width: int, types: dict[str, IndicatorType]):
        self.width = width
        self.cols = [(int(col), target) for col, target in mapping.items()]
        self.rrn_cols = [col for col, target in self.cols if target == "rrn"]
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

    def refused(self, cells: list[str]) -> str:
        """What a refused row keeps of its content: the registration-number column masked whatever it
        holds (a number that fails the check is still someone's), and any 12-14 digit run elsewhere."""
        if self.rrn_cols:
            cells = list(cells)
            for col in self.rrn_cols:
                if col < len(cells) and cells[col]:
                    cells[col] = rrn.mask_value(cells[col])
        return rrn.mask_loose(",".join(cells))

    def identity(self, cells: list[str]) -> tuple[str, date | None, str, str | None]:
        """Who a refused row is about, as far as it can be read: (name without spaces, birth date, address key,
        keyed hash of a valid registration number). Kept with the refused row, so that erasing the person
        finds it as the import would match it (risk.person_rows). Never raises."""
        name = address = unit = ""
        birth = born = rrn_hash = None
        for col, target in self.cols:
            value = cells[col].strip() if col < len(cells) else ""
            if not value:
                continue
            if target == "name":
                name = _bare(_clean(value))[:60]
            elif target == "birth_date":
                parsed = self._date(value)
                birth = parsed if isinstance(parsed, date) else birth
            elif target == "address":
                address = _clean(value)
            elif target == "unit":
                unit = _clean(value)
            elif target == "rrn":
                tok = rrn.parse_token(value)
                if tok is not None:
                    rrn_hash, born = tok[0], tok[1]
                else:
                    born = rrn.masked_birth(value)
        return name, birth or born, address_key(address, unit)[:420] if address else "", rrn_hash

    def parse(self, number: int, cells: list[str], cut: bool) -> Parsed | None:
        if not "".join(cells).strip():
            return None
        if cut:
            raise Bad("cut_off")
        width = self.width
        if len(cells) < width:
            raise Bad("missing_cells", f"{len(cells)}/{width}")
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise Bad("extra_cells", f"{len(cells)}/{width}")
        name = address = unit = ""
        birth = phone = rrn_hash = None
        rrn_unread = False
        codes: list[str] = []
        unknown: list[str] = []
        # Columns in the mapping's order: a row with several problems reports the first.
        for col, target in self.cols:
            value = cells[col].strip()
            if target == "name":
                name = _clean(value)
                if len(name) > 60:
                    raise Bad("name_too_long")
            elif target == "birth_date":
                if value:
                    parsed = self._date(value)
                    if isinstance(parsed, str):
                        raise Bad(parsed, rrn.display(value)[:40])
                    birth = parsed
            elif target == "address":
                address = _clean(value)
                if len(address) > 200:
                    raise Bad("address_too_long")
            elif target == "unit":
                unit = _clean(value)
                if len(unit) > 60:
                    raise Bad("unit_too_long")
            elif target == "phone":
                phone = normalize_phone(value)
            elif target == "rrn":
                if value:
                    tok = rrn.parse_token(value)
                    if tok is None:
                        # Masked (440105-2******, as lists arrive) or not a number at all: nothing to hash, the
                        # row is matched on the rest; a masked number's front still gives the birth date.
                        rrn_unread = True
                        if birth is None:
                            birth = rrn.masked_birth(value)
                    else:
                        rrn_hash = tok[0]
                        if tok[1] and birth is None:
                            birth = tok[1]
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
        if not (address or rrn_hash or (name and birth)):
            raise Bad("rrn_unread_only" if rrn_unread else "no_identity")
        codes = sorted(set(codes))
        addr_key = address_key(address, unit)[:420] if address else ""
        ident = "\x1f".join([name, birth.isoformat() if birth else "", addr_key, rrn_hash or "", phone or "",
                             ",".join(codes)])
        key = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
        return Parsed(number, name, birth, address, unit, phone, rrn_hash, codes, key, addr_key, chosung(name)[:60],
                      RRN_UNREAD if rrn_unread else "")


# --- the job --------------------------------------------------------------------------------------

def _app_context():
    from flask import has_app_context

    if has_app_context():
        return contextlib.nullcontext()
    from volnet import create_app

    return create_app().app_context()


def run_import(round_id: int) -> None:
    """RQ job: import a staged round. Safe to run twice, and twice at the same time (RQ is at-least-once):
    the second worker finds the round's progress moved by the first and leaves the round to it.

    The lists of one dong are imported one at a time (``_dong_turn``): two lists planned side by side would
    each miss the households and RRN links the other has not committed yet, and add the same person twice.
    A job that finds its dong busy leaves its round waiting; the job that holds the dong queues it again
    when it ends (and the sweep, ten minutes on, should that job have been killed)."""
    with _app_context():
        r = db.session.get(CrisisRound, round_id)
        if r is None or r.status in ("done", "uploaded"):
            return
        dong_id = r.dong_id
        with _dong_turn(dong_id) as ours:
            if not ours:
                db.session.rollback()
                log.info("risk import %s waits: another list of its dong is being imported", round_id)
                return
            try:
                db.session.refresh(r)  # a job of the same round may have finished it while we waited
                if r.status not in ("done", "uploaded"):
                    _import(r)
            finally:
                db.session.rollback()
        _queue_waiting(dong_id, round_id)


def _import(r: CrisisRound) -> None:
    """Import the round after its last committed batch; record "done", or "failed" and why."""
    round_id = r.id
    r.status = "running"
    r.started_at = r.started_at or clock.now()
    r.progress_at = clock.now()
    db.session.commit()
    try:
        if not _run_replanning(r):
            db.session.rollback()
            log.info("risk import %s: another worker is importing this round", round_id)
            return
        if r.status != "done":  # PostgreSQL: the last batch marked it already (SQLite leaves that batch to us)
            mark_done(round_id)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - recorded on the round; no row content in the log
        db.session.rollback()
        if type(exc).__name__ == "JobTimeoutException":  # RQ stopped the job: not an error in the file
            log.warning("risk import %s: job timed out; the sweep resumes it", round_id)
            return  # left "running": resume_stalled queues it again after its last committed batch
        log.error("risk import %s failed: %s", round_id, type(exc).__name__)
        r = db.session.get(CrisisRound, round_id)
        if r is not None:  # deleted meanwhile: nothing to record
            r.status = "failed"
            r.error = type(exc).__name__[:100]
            db.session.commit()


def mark_done(round_id: int) -> None:
    """The round is imported: "done", and its staged file is deleted, in the caller's transaction (on
    PostgreSQL the last batch's, so no killed worker can leave a round at 100 % "running")."""
    rounds = CrisisRound.__table__
    db.session.execute(update(rounds).where(rounds.c.id == round_id).values(status="done", finished_at=clock.now()))
    db.session.execute(delete(UploadChunk).where(UploadChunk.round_id == round_id))


def _run_replanning(r: CrisisRound) -> bool:
    """``Importer(r).run()``; when households were added in the dong while it ran (a tong leader's quick-add),
    the batches stored so far are kept and the rest is planned again from the dong's households as they
    are now, so a row at such an address joins that household instead of adding a second one."""
    in_a_row = 0
    while True:
        before = r.done_rows
        try:
            return Importer(r).run()
        except HouseholdsAddedMeanwhile:
            db.session.rollback()
            in_a_row = in_a_row + 1 if r.done_rows == before else 1
            if in_a_row > REPLANS:
                raise
            log.info("risk import %s: households added in its dong meanwhile, the rest is planned again", r.id)


# Advisory lock namespace of "one import per dong" (the two-key form: the dong id is the second key).
DONG_TURN_LOCK = 0x766E7269  # "vnri"


@contextlib.contextmanager
def _dong_turn(dong_id: int):
    """Yields whether this job may import a list of ``dong_id`` now. On PostgreSQL a session-level advisory
    lock on a connection of its own, held for the whole job and released when it ends, or when the
    connection drops with a killed worker. SQLite runs one writer at a time and plans every batch in the
    transaction that stores it (BEGIN IMMEDIATE), so there every batch sees the other list's rows."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        keys = {"ns": DONG_TURN_LOCK, "dong": dong_id}
        ours = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :dong)"), keys))
        try:
            yield ours
        finally:
            if ours:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:ns, :dong)"), keys)
                except BaseException:
                    # Not released (the job stopped right here, or the connection broke): closing the
                    # connection releases it; back in the pool it would keep the dong locked.
                    conn.invalidate()
                    raise


def _queue_waiting(dong_id: int, done_id: int) -> None:
    """Queue again the other lists of the dong that wait (their jobs found the dong busy, or their worker
    was killed). A round whose job is still in the queue gets a second one, which finds it taken or done."""
    waiting = list(db.session.scalars(
        select(CrisisRound).where(CrisisRound.dong_id == dong_id, CrisisRound.id != done_id,
                                  CrisisRound.status.in_(("queued", "running"))).order_by(CrisisRound.id)))
    db.session.rollback()
    for other in waiting:
        log.info("risk import %s: its dong is free again, queued", other.id)
        start(other)


# An hour for one job (RQ's default is 3 minutes, less than a large list takes); one that is stopped
# anyway (timeout, killed worker) is resumed from its last committed batch by ``resume_stalled``.
JOB_TIMEOUT = 3600
STALLED_AFTER = timedelta(minutes=10)


def start(r: CrisisRound) -> str:
    """Queue the import of a mapped round (after the caller's commit); it resumes after ``done_rows``.
    Returns the job's id, or "" when Redis could not be reached (the sweep queues it later)."""
    from volnet.core.queue import enqueue

    # A fresh id each time: a job still waiting in the queue is not replaced; two that both run are fine
    # (the second finds the round's progress moved and leaves it to the first).
    job_id = f"risk-import-{r.id}-{uuid.uuid4().hex[:12]}"
    return job_id if enqueue(run_import, r.id, job_id=job_id, job_timeout=JOB_TIMEOUT) else ""


def resume_stalled(now: datetime) -> int:
    """Periodic check: queue again every import whose job has not moved for 10 minutes (its worker was
    killed, Redis was down when it was queued, the job timed out). The rows committed so far are kept and
    the job goes on after them; a job that is in fact still running keeps the round (``Importer._claim``)."""
    rounds = CrisisRound.__table__
    cutoff = now - STALLED_AFTER
    last_sign = func.coalesce(rounds.c.progress_at, rounds.c.started_at, rounds.c.created_at)
    ids = list(db.session.scalars(select(rounds.c.id).where(rounds.c.status.in_(("queued", "running")),
                                                            last_sign < cutoff)))
    claimed = []
    for rid in ids:  # claimed one by one: two sweeps at once queue each round once
        res = db.session.execute(update(rounds).where(rounds.c.id == rid, last_sign < cutoff)
                                 .values(progress_at=now))
        if res.rowcount == 1:
            claimed.append(rid)
    db.session.commit()
    for rid in claimed:
        r = db.session.get(CrisisRound, rid)
        if r is not None:
            log.warning("risk import %s stalled at %s rows: queued again", rid, r.done_rows)
            start(r)
    return len(claimed)


class HouseholdsAddedMeanwhile(Exception):
    """Households were added in the dong, by someone else, after the job read the dong's households."""

    def __init__(self, round_id: int, seq: int):
        super().__init__(f"round {round_id} batch {seq}")


# How many times in a row one job plans the rest of a list again, with no batch stored in between,
# because households were added in the dong meanwhile (then it fails, and can be resumed).
REPLANS = 5


class Batch:
    """BATCH consecutive rows of the file, parsed: the unit of work and of commit."""

    __slots__ = ("rows", "goods", "bads", "empty")

    def __init__(self):
        self.rows = 0                       # rows read (the progress counts these)
        self.goods: list[Parsed] = []
        # (row number, reason, detail, content, *RowParser.identity), RRN-like numbers masked
        self.bads: list[tuple] = []
        self.empty = 0


COUNTERS = ("done_rows", "good_rows", "bad_rows", "duplicate_rows", "empty_rows", "matched_rows",
            "created_households", "concerns_raised")


class Importer:
    def __init__(self, r: CrisisRound, batch: int | None = None):
        self.r = r
        self.batch_size = batch or BATCH
        # Plain values: the round is not reloaded after every batch commit.
        self.round_id, self.dong_id, self.received_on, self.due_on = r.id, r.dong_id, r.received_on, r.due_on
        self.uploaded_by_id = r.uploaded_by_id
        self.start = r.done_rows  # read before the preload: a batch another worker commits after it is seen
        ensure_seeded()
        self.types = lookup()
        self.type_ids = {t.code: t.id for t in self.types.values()}
        self.type_signal = {t.code: t.signal for t in self.types.values()}
        self.type_info = {t.code: (t.label, t.weight) for t in self.types.values()}
        self.mapping = dict(r.mapping or {})
        self.width = len(r.header or [])
        self.parser = RowParser(self.mapping, self.width, self.types)
        self.dialect = db.session.get_bind().dialect.name
        # What this job itself writes, for the lookups of later batches (see keyfilter.py): the natural keys
        # of the round's rows, and the address keys of the households it creates.
        self.stored_keys = KeyFilter()
        self.created_addresses = KeyFilter()
        self._seq = 0               # batches planned
        self.stored_up_to = 0       # the last batch stored (written in its transaction)
        self._pending: list[_Pending] = []  # planned batches not yet stored
        self._preload()

    def _preload(self):
        """Households of the dong that existed before this job: address and name+birth maps (bounded by the
        dong, not by the file); the round's rows stored before this job (an earlier or interrupted run)."""
        # Read before the households: an addition committed in between moves it, and is then looked at again.
        self.households_added = db.session.scalar(select(Dong.households_added).where(Dong.id == self.dong_id))
        self.pre_addr: dict[str, list[tuple]] = {}  # address key -> [(id, bare name, birth date)]
        self.pre_nb: dict[tuple, int] = {}
        rows = db.session.execute(select(Household.id, Household.road_address, Household.unit, Household.name,
                                         Household.birth_date)
                                  .where(Household.dong_id == self.dong_id, Household.status != "deceased")
                                  .order_by(Household.id))
        for hid, road, unit, name, birth in rows:
            self.pre_addr.setdefault(address_key(road, unit)[:420], []).append((hid, _bare(name), birth))
            if name and birth:
                self.pre_nb.setdefault((name, birth), hid)
        stored = select(CrisisRow.natural_key).where(CrisisRow.round_id == self.round_id)
        if db.session.scalar(stored.limit(1)) is not None:
            self.stored_keys.add_all(db.session.scalars(stored.execution_options(yield_per=10_000)))

    def run(self) -> bool:
        """Import the rows after the last committed batch (``done_rows``), one commit per batch. False if
        another worker is importing the round (it has moved the progress since this job started): then this
        job has stopped and left it to that one.

        A batch is first *planned* in this thread (duplicates dropped, rows matched, new households given
        their ids and scores; nothing written but reserved ids) and then *stored* in one transaction (bad
        rows, households, RRN links, rows, indicators, rescoring, progress). On PostgreSQL four threads
        overlap: a reader thread (a connection of its own) decompresses and parses the staged rows up to two
        batches ahead, this thread plans, and two writer threads (a session each, ``_Writers``) store the
        batches planned before, so that the database works while Python does, on two backends. Planning
        sees the batches that are planned but not yet committed as if they were stored (``_Pending``).
        SQLite has one writer and takes the write lock even to read (BEGIN IMMEDIATE): there everything runs
        in this thread and the last batch is left to the caller's commit."""
        try:
            with bulkjob.tuned() as collector:
                if self.dialect == "postgresql":
                    return self._run_overlapped(collector)
                done = self.start
                uncommitted = 0  # rows of the batch stored last
                for batch in self._batches(self.round_id, self.start, None):
                    if uncommitted:  # committed now that it is not the last
                        db.session.commit()
                    if not self._claim(done):
                        return False
                    plan = self.plan(batch)
                    self.store(plan)
                    self.stored_up_to = plan.seq
                    done += batch.rows
                    uncommitted = batch.rows
                    collector.batch_done()
                db.session.flush()
                return True
        finally:
            db.session.expire(self.r, list(COUNTERS))

    def _run_overlapped(self, collector: bulkjob.BatchCollector) -> bool:
        round_id, skip, engine = self.round_id, self.start, db.engine

        def read():
            with staging.chunk_reader(engine, round_id) as fetch:
                yield from self._batches(round_id, skip, fetch)

        writer = _Writers(self, current_app._get_current_object(), self.start)
        try:
            with contextlib.closing(_prefetch(read, depth=2)) as batches:
                upcoming = next(batches, None)
                while upcoming is not None:
                    plan = self.plan(upcoming)
                    db.session.commit()  # ends this thread's read-only transaction (it only reserved ids)
                    upcoming = next(batches, None)  # read ahead by the reader thread: seldom a wait
                    plan.last = upcoming is None  # the round is done in the same commit as this batch
                    if not writer.put(plan):
                        break
                    collector.batch_done()
        except BaseException as exc:
            writer.finish(failing=exc)  # what was planned before the failure is stored
            raise
        return writer.finish()

    def _claim(self, done: int) -> bool:
        """Lock the round until this batch commits, and check that its progress is still this job's."""
        current = db.session.scalar(select(CrisisRound.done_rows).where(CrisisRound.id == self.round_id)
                                    .with_for_update())
        return current == done

    def _batches(self, round_id: int, skip: int, fetch):
        """The staged rows after the first ``skip``, parsed, in batches of batch_size rows."""
        parser = self.parser
        batch = Batch()
        for i, (number, cut, cells) in enumerate(staging.staged_rows(round_id, fetch)):
            if i < skip:
                continue
            batch.rows += 1
            try:
                p = parser.parse(number, cells, cut)
            except Bad as b:
                batch.bads.append((number, b.reason, rrn.mask_loose(b.detail)[:200], parser.refused(cells)[:2000],
                                   *parser.identity(cells)))
            else:
                if p is None:
                    batch.empty += 1
                else:
                    batch.goods.append(p)
            if batch.rows >= self.batch_size:
                yield batch
                batch = Batch()
                parser.new_batch()
        if batch.rows:
            yield batch

    # -- one batch: plan (this thread), then store (one transaction) --
    def plan(self, batch: Batch) -> Plan:
        """Drop duplicates, match the rows, give new households their ids and scores. Writes nothing."""
        self._seq += 1
        up_to = self.stored_up_to
        self._pending = [p for p in self._pending if p.seq > up_to]  # stored batches: the database knows them
        plan = Plan(self._seq, batch)
        plan.goods, plan.dup = self._drop_duplicates(batch.goods)
        pending = _Pending(plan.seq, plan.goods)
        self._match_and_create(plan, pending)
        self._prepare(plan)
        self._pending.append(pending)
        return plan

    def _prepare(self, plan: Plan) -> None:
        """Format the batch's new rows for their insert now (sqlutil.prepare): on PostgreSQL planning runs
        beside the writer threads, which then only send them. What depends on the database when the batch
        is stored (indicators of households that existed before it) is left to ``settle``."""
        dong_id, by, now, rid = self.dong_id, self.uploaded_by_id, plan.now, self.round_id
        if plan.to_create:
            today = clock.to_seoul(now).date()
            plan.copies.append(prepare(Household.__table__, HOUSEHOLD_COLS, (
                (p.household_id, dong_id, p.address[:200], p.unit[:60], "", "", p.addr_key, p.name or None,
                 p.name_chosung, p.phone, p.birth, "unknown", _age_band(p.birth, today), "to_locate", "",
                 "unassessed", res.score, by, now, now)
                for p, res in zip(plan.to_create, plan.scores, strict=True))))
        if plan.links:
            plan.copies.append(prepare(HouseholdRrnHash.__table__, ["household_id", "dong_id", "rrn_hash", "created_at"],
                                       ((hid, dong_id, hsh, now) for hid, hsh in plan.links)))
        if plan.goods:
            plan.copies.append(prepare(CrisisRow.__table__, ROW_COLS, (
                (rid, p.number, p.key, p.household_id, p.match, p.name[:60], p.birth, p.address[:200], p.unit[:60],
                 p.phone, ",".join(p.codes)[:400], "pending", "", p.warning) for p in plan.goods)))
        type_ids, fresh = self.type_ids, plan.fresh
        pairs = plan.indicator_pairs = {(h, type_ids[c]) for h, codes in plan.codes_of.items() for c in codes
                                        if c in type_ids}
        # Households created by this batch have no indicators yet: all of theirs are new.
        new = sorted(pair for pair in pairs if pair[0] in fresh)
        if new:
            observed = self.received_on
            plan.copies.append(prepare(HouseholdIndicator.__table__, INDICATOR_COLS,
                                       ((h, t, rid, observed) for h, t in new)))

    def store(self, plan: Plan) -> None:
        """Write a planned batch and add it to the round's progress (the caller commits)."""
        self.write_new(plan)
        self.settle(plan)

    def write_new(self, plan: Plan) -> None:
        """The first part of storing a batch: its new rows (households, RRN links, rows, the new households'
        indicators, prepared when planned). It needs nothing of the batches before it committed: on
        PostgreSQL it runs while the batch before is still being stored (``_Writers``). None of these rows can
        clash with a batch in flight (planning dropped the keys, links and households those hold)."""
        for prepared in plan.copies:
            insert_prepared(prepared)

    def settle(self, plan: Plan) -> None:
        """The rest, once every batch before this one is committed (the caller has claimed the round): what
        reads what they wrote (bad rows and indicators an earlier run stored, scores of households that
        existed before the batch), the checks that households and indicator types are still there, and
        the progress. The caller commits both parts together."""
        from volnet.risk import scoring

        self._hold_dong_additions(plan)  # first: before this transaction locks any row a reporter may need
        bads = self._store_bad_rows(plan.bads)
        self._hold_households(plan)
        self._lock_indicator_types(plan.indicator_pairs)
        self._store_indicators(plan.indicator_pairs, plan.fresh)
        # Households that existed before this batch are rescored from the database; the ones it created
        # were scored when planned (their inputs are all in this batch): only their concern rule is checked.
        raised = scoring.refresh(sorted(plan.codes_of.keys() - plan.fresh.keys()), actor=None,
                                 source="crisis_list", signals_by_household=_SignalsOf(plan.codes_of, self.type_signal),
                                 fresh=plan.fresh, due_on=self.due_on)
        added = dict(zip(COUNTERS, (plan.rows, len(plan.goods), bads, plan.dup, plan.empty, plan.matched,
                                    len(plan.to_create), raised), strict=True))
        rounds = CrisisRound.__table__
        db.session.execute(update(rounds).where(rounds.c.id == self.round_id)
                           .values({**{rounds.c[k]: rounds.c[k] + v for k, v in added.items()},
                                    rounds.c.progress_at: clock.now()}))

    def _hold_dong_additions(self, plan: Plan) -> None:
        """No household may be added in the dong until this batch commits (FOR SHARE on the dong's row,
        which a quick-add locks first: a reporter adding an address this batch creates a household at
        waits, then finds it), and none may have been added since this job read the dong's households
        (``households_added``): if one was, what is planned is stale (a row at its address would add a
        second household), so the batch is given up and the rest of the list planned again."""
        current = db.session.scalar(select(Dong.households_added).where(Dong.id == self.dong_id)
                                    .with_for_update(read=True))
        if current != self.households_added:
            raise HouseholdsAddedMeanwhile(self.round_id, plan.seq)

    def _hold_households(self, plan: Plan) -> None:
        """What a foreign key would check, once for the batch: the households its rows, indicators and links
        refer to that existed before it are there, and stay until it commits (FOR KEY SHARE: an erasure
        waits, then sees the new rows and anonymises instead). The batch's new households need no check."""
        ids = {p.household_id for p in plan.goods} - plan.fresh.keys()
        if not ids:
            return
        found = db.session.scalars(select(Household.id).where(member(Household.id, ids))
                                   .with_for_update(read=True, key_share=True))
        if len(set(found)) != len(ids):
            raise LookupError("households removed during the import")

    def _drop_duplicates(self, goods: list[Parsed]) -> tuple[list[Parsed], int]:
        """The rows not seen before: in this batch, then already stored (earlier batch, earlier run)."""
        unique: dict[str, Parsed] = {}
        dup = 0
        for p in goods:
            if p.key in unique:
                dup += 1
            else:
                unique[p.key] = p
        maybe = self.stored_keys.maybe(unique)
        if maybe:
            seen = set(db.session.scalars(select(CrisisRow.natural_key).where(
                CrisisRow.round_id == self.round_id, member(CrisisRow.natural_key, maybe, "str"))))
            seen.update(k for pending in self._pending for k in maybe if k in pending.keys)
            for k in seen:
                if unique.pop(k, None) is not None:
                    dup += 1
        self.stored_keys.add_all(unique)
        return list(unique.values()), dup

    def _store_bad_rows(self, bads: list[tuple]) -> int:
        if not bads:
            return 0
        rid = self.round_id
        existing = set(db.session.scalars(select(BadRow.row_number).where(
            BadRow.round_id == rid, member(BadRow.row_number, [b[0] for b in bads]))))
        rows = [(rid, *b) for b in bads if b[0] not in existing]
        if rows:
            self._bulk(BadRow.__table__, BAD_ROW_COLS, rows)
        return len(rows)

    def _match_and_create(self, plan: Plan, pending: _Pending) -> None:
        goods = plan.goods
        if not goods:
            return
        dong_id = self.dong_id
        earlier = self._pending  # planned, maybe not yet committed: looked up here as well as in the database
        hashes = {p.rrn_hash for p in goods if p.rrn_hash}
        by_hash: dict[str, int] = {}
        linked: set[tuple[int, str]] = set()
        if hashes:
            for hid, hsh in db.session.execute(select(HouseholdRrnHash.household_id, HouseholdRrnHash.rrn_hash)
                                               .where(member(HouseholdRrnHash.rrn_hash, hashes, "str"),
                                                      HouseholdRrnHash.dong_id == dong_id)
                                               .order_by(HouseholdRrnHash.id)):
                by_hash.setdefault(hsh, hid)
                linked.add((hid, hsh))
            for e in earlier:
                for hid, hsh in e.links:
                    if hsh in hashes:
                        by_hash.setdefault(hsh, hid)
                        linked.add((hid, hsh))
        # Addresses: households that existed before this job are in pre_addr; the database is asked only
        # about the addresses this job may have created a household at (earlier batches), unless a household
        # of pre_addr fits the row already. A household at the address fits unless its name or birth date
        # says it is someone else (``_fitting``).
        pre_addr, pre_nb = self.pre_addr, self.pre_nb
        created_here = self.created_addresses
        bare = [_bare(p.name) for p in goods]
        pre_hit = [_fitting(pre_addr.get(p.addr_key), b, p.birth) if p.addr_key else None
                   for p, b in zip(goods, bare, strict=True)]
        keys = created_here.maybe({p.addr_key for p, hit in zip(goods, pre_hit, strict=True)
                                   if p.addr_key and hit is None})
        by_addr: dict[str, list[tuple]] = {}
        if keys:
            for hid, key, name, birth in db.session.execute(
                    select(Household.id, Household.address_key, Household.name, Household.birth_date).where(
                        Household.dong_id == dong_id, member(Household.address_key, keys, "str"),
                        Household.status != "deceased").order_by(Household.id)):
                by_addr.setdefault(key, []).append((hid, _bare(name), birth))
            for e in earlier:
                for key in keys:
                    if key in e.addresses:
                        by_addr.setdefault(key, []).extend(e.addresses[key])
        nbs = {(p.name, p.birth) for p in goods if p.name and p.birth and (p.name, p.birth) not in pre_nb}
        by_nb: dict[tuple, int] = {}
        if nbs and len(nbs) <= 2000:
            # Households created by this import earlier (not in the preloaded map).
            for hid, name, birth in db.session.execute(select(Household.id, Household.name, Household.birth_date).where(
                    Household.dong_id == dong_id, tuple_(Household.name, Household.birth_date).in_(list(nbs)),
                    Household.status != "deceased").order_by(Household.id)):
                by_nb.setdefault((name, birth), hid)
            for e in earlier:
                for nb in nbs:
                    if nb in e.name_births:
                        by_nb.setdefault(nb, e.name_births[nb])
        matched = 0
        to_create: list[Parsed] = []
        joining: list[tuple[Parsed, Parsed]] = []  # (row, the row of this batch whose new household it joins)
        new_by_key: dict[tuple, Parsed] = {}
        new_at: dict[str, list[Parsed]] = {}  # address key -> first rows of this batch's new households there
        for p, b, hit in zip(goods, bare, pre_hit, strict=True):
            rrn_hash, addr_key, name, birth = p.rrn_hash, p.addr_key, p.name, p.birth
            if rrn_hash and rrn_hash in by_hash:
                p.household_id, p.match = by_hash[rrn_hash], "rrn"
                matched += 1
                continue
            if addr_key:
                if hit is None and addr_key in by_addr:
                    hit = _fitting(by_addr[addr_key], b, birth)
                if hit is not None:
                    p.household_id, p.match = hit, "address"
                    matched += 1
                    continue
            if name and birth and ((name, birth) in pre_nb or (name, birth) in by_nb):
                p.household_id, p.match = pre_nb.get((name, birth)) or by_nb[(name, birth)], "name_birth"
                matched += 1
                continue
            # Someone else is recorded at this address: a new household, shown as sharing it.
            shared = bool(addr_key) and (addr_key in pre_addr or addr_key in by_addr)
            # Same person twice in this batch (any shared key; the address as above): one new household.
            first = new_by_key.get(("r", rrn_hash)) if rrn_hash else None
            if first is None and addr_key and addr_key in new_at:
                first = _fitting_row(new_at[addr_key], b, birth)
                shared = shared or first is None
            if first is None and name and birth:
                first = new_by_key.get(("n", name, birth))
            if first is None:
                p.match = "shared_addr" if shared else "created"
                to_create.append(p)
                first = p
            else:
                p.match = ("rrn" if rrn_hash and ("r", rrn_hash) in new_by_key
                           else "shared_addr" if first.match == "shared_addr" else "created")
                joining.append((p, first))
            if rrn_hash:
                new_by_key.setdefault(("r", rrn_hash), first)
            if name and birth:
                new_by_key.setdefault(("n", name, birth), first)
            if addr_key:
                here = new_at.setdefault(addr_key, [])
                if first not in here:
                    here.append(first)
        now = plan.now = clock.now()
        for p, hid in zip(to_create, new_ids("households", len(to_create)), strict=True):
            p.household_id = hid
        for p, first in joining:
            p.household_id = first.household_id
        codes_of: dict[int, set[str]] = defaultdict(set)  # household -> indicator codes this batch gives it
        for p in goods:
            codes_of[p.household_id].update(p.codes)
        plan.codes_of, plan.matched, plan.to_create = codes_of, matched, to_create
        if to_create:
            # A new household's score comes from this batch alone: every row that lands on it.
            plan.scores = self._score_new(to_create, codes_of, now)
            plan.fresh = {p.household_id: res for p, res in zip(to_create, plan.scores, strict=True)}
            created_here.add_all(p.addr_key for p in to_create if p.addr_key)
            for p in to_create:
                if p.addr_key:
                    pending.addresses.setdefault(p.addr_key, []).append((p.household_id, _bare(p.name), p.birth))
                if p.name and p.birth:
                    pending.name_births.setdefault((p.name, p.birth), p.household_id)
        for p in goods:
            if p.rrn_hash and (p.household_id, p.rrn_hash) not in linked:
                linked.add((p.household_id, p.rrn_hash))
                plan.links.append((p.household_id, p.rrn_hash))
        pending.links = plan.links

    def _score_new(self, to_create: list[Parsed], codes_of: dict[int, set], now) -> list:
        """The score of each new household, from what this batch knows of it: its indicators (within the
        window), its birth date. The same result as scoring.load_inputs + compute once it is stored: a new
        household has no reports, screenings, calls or earlier indicators, and lives_alone is unknown."""
        from volnet.risk import scoring

        today = clock.to_seoul(now).date()
        received = self.received_on
        counted = received >= today - timedelta(days=int(num("risk.indicator.window_days")))
        weights = scoring.current_weights()
        # The result depends only on the indicator codes and the age band: computed once per combination.
        memo: dict[tuple, object] = {}
        out = []
        for p in to_create:
            codes = tuple(sorted(c for c in codes_of[p.household_id] if c in self.type_info)) if counted else ()
            band = "unknown" if p.birth is None else _score_band(p.birth, today)
            key = (codes, band)
            res = memo.get(key)
            if res is None:
                inp = scoring.Inputs(birth_date=p.birth, age_band=_age_band(p.birth, today), lives_alone=None)
                inp.indicators = [(c, *self.type_info[c], received) for c in codes]
                res = memo[key] = scoring.compute(inp, now, weights)
            out.append(res)
        return out

    def _lock_indicator_types(self, pairs: set[tuple[int, int]]) -> None:
        """The indicator types have no foreign key from risk_household_indicators (see
        models.HouseholdIndicator): the batch holds the ones it uses instead, so that none can be deleted
        before it commits."""
        wanted = {t for _h, t in pairs}
        if not wanted:
            return
        found = set(db.session.scalars(select(IndicatorType.id).where(member(IndicatorType.id, wanted))
                                       .with_for_update(read=True, key_share=True)))
        if found != wanted:
            raise LookupError("indicator types removed during the import")

    def _store_indicators(self, pairs: set[tuple[int, int]], fresh: dict):
        """The indicators of households that existed before the batch, unless this round gave them already
        (an earlier run); the new households' ones were prepared with the batch."""
        rid, observed = self.round_id, self.received_on
        old = [(h, t) for h, t in pairs if h not in fresh]
        if not old:
            return
        hids = list({h for h, _t in old})
        existing = set(db.session.execute(
            select(HouseholdIndicator.household_id, HouseholdIndicator.indicator_type_id)
            .where(HouseholdIndicator.round_id == rid, member(HouseholdIndicator.household_id, hids))).all())
        rows = [(h, t, rid, observed) for h, t in sorted(old) if (h, t) not in existing]
        if rows:
            self._bulk(HouseholdIndicator.__table__, INDICATOR_COLS, rows)

    def _bulk(self, table, cols: list[str], rows: Iterable[tuple]):
        bulk_insert(table, cols, rows)


BAD_ROW_COLS = ["round_id", "row_number", "reason", "detail", "content", "name_key", "birth_date", "address_key",
                "rrn_hash"]
ROW_COLS = ["round_id", "row_number", "natural_key", "household_id", "match", "name", "birth_date", "address",
            "unit", "phone", "codes", "check_result", "check_note", "warning"]
INDICATOR_COLS = ["household_id", "indicator_type_id", "round_id", "observed_on"]
HOUSEHOLD_COLS = ["id", "dong_id", "road_address", "unit", "jibun_address", "landmark", "address_key", "name",
                  "name_chosung", "phone", "birth_date", "sex", "age_band", "status", "delivery_note", "tier",
                  "risk_score", "created_by_id", "created_at", "updated_at"]


class Plan:
    """A batch after planning: everything ``Importer.store`` writes."""

    __slots__ = ("seq", "rows", "bads", "empty", "goods", "dup", "matched", "to_create", "scores", "fresh",
                 "codes_of", "links", "now", "copies", "indicator_pairs", "last")

    def __init__(self, seq: int, batch: Batch):
        self.seq = seq
        self.rows, self.bads, self.empty = batch.rows, batch.bads, batch.empty
        self.goods: list[Parsed] = []
        self.dup = self.matched = 0
        self.to_create: list[Parsed] = []
        self.scores: list = []
        self.fresh: dict[int, object] = {}
        self.codes_of: dict[int, set[str]] = {}
        self.links: list[tuple[int, str]] = []   # (household id, RRN hash) to link
        self.now = clock.now()
        self.copies: list[Prepared] = []         # new rows formatted for their insert (Importer._prepare)
        self.indicator_pairs: set[tuple[int, int]] = set()  # (household id, indicator type id) of the batch
        self.last = False                        # the list's last batch (PostgreSQL: known when handed over)


class _Pending:
    """What a planned batch writes that the planning of later batches looks up, kept until it is committed
    (bounded by the batch): its rows' natural keys, its RRN links, its new households' addresses and
    names + birth dates."""

    __slots__ = ("seq", "keys", "links", "addresses", "name_births")

    def __init__(self, seq: int, goods: list[Parsed]):
        self.seq = seq
        self.keys = {p.key for p in goods}
        self.links: list[tuple[int, str]] = []
        self.addresses: dict[str, list[tuple]] = {}  # address key -> [(id, bare name, birth date)]
        self.name_births: dict[tuple, int] = {}


def _psycopg_integrity_error() -> type[Exception]:
    import psycopg

    return psycopg.IntegrityError


WRITERS = 2  # PostgreSQL does the bulk of a batch's work (COPY, indexes): two backends, one per core


class _Writers:
    """Store planned batches, one transaction per batch, in WRITERS threads with an app context and a session
    each (PostgreSQL; see Importer.run). Batch *n* goes to thread *n* % WRITERS: it writes the batch's new
    rows (``write_new``) while the batch before is still being stored, then waits until that one has
    committed, claims the round (a job that finds the progress moved stops), ``settle``s and commits.
    So batches commit in order and the progress counts only batches that all those before them are in.

    ``put`` hands over the next plan (it waits while that thread already has one waiting); ``finish``
    says no more will come, waits until every plan handed over is stored, and returns False when the
    round turned out to be another worker's. The first batch that fails stops the ones after it (they
    roll back); the ones before it are still committed. An error is raised by ``put`` or ``finish``.
    Each transaction waits at most LOCK_TIMEOUT for a row lock, so a wait that could never end (one
    thread waiting here for the batch before, whose transaction waits for a lock the other holds) ends
    as an error instead: the round fails and can be resumed."""

    LOCK_TIMEOUT = "120s"

    def __init__(self, importer: Importer, app, done: int):
        self.importer = importer
        self.cond = threading.Condition()
        self.committed = importer._seq      # the last batch committed (plans are numbered from the next)
        self.done = done                    # the round's progress after it
        self.stopped_at: int | None = None  # the first batch that failed or found the round taken
        self.error: BaseException | None = None
        self.lost = False
        self.closing = threading.Event()    # no more plans: each thread stops once its queue is empty
        self.stats_lock = threading.Lock()
        self.stats: _GrowingTables | None = None
        self.queues = [queue.Queue(maxsize=1) for _ in range(WRITERS)]
        self.threads = [threading.Thread(target=self._work, args=(app, q), name=f"risk-import-writer-{i}",
                                         daemon=True) for i, q in enumerate(self.queues)]
        for t in self.threads:
            t.start()

    def _stop(self, seq: int, error: BaseException | None = None, lost: bool = False) -> None:
        with self.cond:
            if self.stopped_at is None or seq < self.stopped_at:
                self.stopped_at = seq
                if error is not None or lost:
                    self.error, self.lost = error, lost
            self.cond.notify_all()

    def _work(self, app, plans: queue.Queue) -> None:
        imp = self.importer
        with app.app_context():
            try:
                with self.stats_lock:
                    if self.stats is None:
                        self.stats = _GrowingTables()
                        db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - raised in the job thread by put/finish
                db.session.rollback()
                self._stop(0, error=exc)
            while (plan := self._next(plans)) is not None:
                try:
                    if not self._store(imp, plan):
                        db.session.rollback()
                except BaseException as exc:  # noqa: BLE001 - raised in the job thread by put/finish
                    db.session.rollback()
                    self._stop(plan.seq, error=exc)
            db.session.rollback()

    def _store(self, imp: Importer, plan: Plan) -> bool:
        """Store one plan; False if a batch before it stopped, or the round is another worker's (then this
        one is not committed)."""
        with self.cond:
            if self._stopped_before(plan.seq):
                return False
            ready, done = self.committed == plan.seq - 1, self.done
        db.session.execute(text(f"SET LOCAL lock_timeout = '{self.LOCK_TIMEOUT}'"))
        if ready:
            # Nothing before it in flight: the round is claimed first, as the SQLite path does, so a job that
            # another worker has overtaken finds out before it writes anything.
            if not (self._claim(imp, plan, done) and self._write_new(imp, plan)):
                return False
        else:
            if not self._write_new(imp, plan):
                return False
            done = self._after_the_batch_before(plan)
            if done is None or not self._claim(imp, plan, done):
                return False
        imp.settle(plan)
        if plan.last:
            mark_done(imp.round_id)
        db.session.commit()
        with self.cond:
            self.committed = imp.stored_up_to = plan.seq
            self.done = done + plan.rows
            self.cond.notify_all()
        with self.stats_lock:
            self.stats.grew(plan.rows, imp.batch_size)
        return True

    def _claim(self, imp: Importer, plan: Plan, done: int) -> bool:
        if imp._claim(done):
            return True
        self._stop(plan.seq, lost=True)
        return False

    def _write_new(self, imp: Importer, plan: Plan) -> bool:
        try:
            imp.write_new(plan)
        except (IntegrityError, _psycopg_integrity_error()) as exc:  # COPY runs on the driver's connection
            if constraint_name(exc) != "uq_risk_rows_round_key":
                raise
            # Planning leaves nothing that a batch in flight holds: rows of this batch are there already
            # because another worker (RQ delivered the job twice) has stored them meanwhile.
            log.warning("risk import %s: rows of batch %s stored by another worker", imp.round_id, plan.seq)
            self._stop(plan.seq, lost=True)
            return False
        return True

    def _after_the_batch_before(self, plan: Plan) -> int | None:
        """Wait until the batch before ``plan`` has committed: the round's progress then, or None if a batch
        before stopped."""
        with self.cond:
            while self.committed != plan.seq - 1 and not self._stopped_before(plan.seq):
                self.cond.wait(0.2)
            return self.done if self.committed == plan.seq - 1 else None

    def _stopped_before(self, seq: int) -> bool:
        return self.stopped_at is not None and seq > self.stopped_at

    def _next(self, plans: queue.Queue) -> Plan | None:
        while True:
            try:
                return plans.get(timeout=0.2)
            except queue.Empty:
                if self.closing.is_set():  # set after the last put: the queue holds all there is
                    try:
                        return plans.get_nowait()
                    except queue.Empty:
                        return None

    def _raise_if_stopped(self) -> bool:
        with self.cond:
            if self.error is not None:
                raise self.error
            return self.stopped_at is None

    def put(self, plan: Plan) -> bool:
        plans = self.queues[plan.seq % WRITERS]
        while self._raise_if_stopped():
            try:
                plans.put(plan, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def finish(self, failing: BaseException | None = None) -> bool:
        """Wait for the plans handed over to be stored. The threads are told first that no more will come, so
        they end after them even if this wait is interrupted (RQ's timeout). ``failing``: the job thread's
        own error; a writer's error is then only logged, unless it is that same error (raised by ``put``)."""
        try:
            self.closing.set()
            for t in self.threads:
                t.join()
            self._raise_if_stopped()
        except Exception as exc:
            if failing is None:
                raise
            if exc is not failing:
                log.error("risk import %s: storing a batch failed too: %s", self.importer.round_id,
                          type(exc).__name__)
        return not self.lost


def _prefetch(make_iter, depth: int):
    """Iterate over ``make_iter()`` run in a thread of its own, up to ``depth`` items ahead (bounded memory).
    An exception in the thread is raised here; closing this generator stops the thread."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            with contextlib.closing(make_iter()) as it:
                for item in it:
                    if not put(item):
                        return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
            put(_Failed(exc))

    thread = threading.Thread(target=work, name="risk-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class _GrowingTables:
    """Keeps the planner's statistics of the tables an import grows roughly right (PostgreSQL).

    The job looks rows up by ``household_id = ANY(<a thousand ids>)`` (indicators) and ``rrn_hash = ANY(...)``:
    index probes while the planner knows how many rows a value matches, a scan of the whole table (once
    per batch and query) on a table analyzed when it was a tenth of its size (autovacuum analyzes late, or
    is off). So these tables are analyzed whenever the import has added as many rows as they had when last
    analyzed: a few times per import, each a sample of 30,000 narrow rows. (Households are looked up by
    primary key, or by address for a handful of keys, which need no statistics.) ANALYZE needs the table's
    owner; otherwise PostgreSQL only warns and the import goes on."""

    TABLES = "risk_household_indicators, risk_household_rrn_hashes"

    def __init__(self):
        self.size = float(db.session.scalar(text(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = CAST('risk_household_indicators' AS regclass)"
        )) or 0)
        self.added = 0

    def grew(self, rows: int, batch_size: int) -> None:
        self.added += rows
        if self.added >= max(self.size, batch_size):
            db.session.execute(text(f"ANALYZE {self.TABLES}"))
            db.session.commit()
            self.size += self.added
            self.added = 0


class _SignalsOf(Mapping):
    """Household id -> the observation signals of the indicators this batch gives it; worked out only when
    asked for (for the households whose concern is opened or raised)."""

    def __init__(self, codes_of: dict[int, set[str]], signal_of: dict[str, str]):
        self._codes_of = codes_of
        self._signal_of = signal_of

    def __getitem__(self, hid: int) -> list[str]:
        codes = self._codes_of.get(hid)
        if codes is None:
            raise KeyError(hid)
        return sorted({self._signal_of.get(c) or "other" for c in codes})

    def __iter__(self):
        return iter(self._codes_of)

    def __len__(self) -> int:
        return len(self._codes_of)


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _bare(name: str | None) -> str:
    """A name as it is compared: without spaces, case folded ("홍 길동" is "홍길동")."""
    return "".join(name.split()).casefold() if name else ""


def _fits(name: str, birth: date | None, h_name: str, h_birth: date | None) -> bool:
    """Whether a row (bare name, birth date) may be the household recorded at its address: not when both
    have a name and the names differ, nor when both have a birth date and the dates differ."""
    return (not name or not h_name or name == h_name) and (birth is None or h_birth is None or birth == h_birth)


def _fitting(candidates: list[tuple] | None, name: str, birth: date | None) -> int | None:
    """The first of the households at an address [(id, bare name, birth date)] the row fits, or None."""
    if candidates:
        for hid, h_name, h_birth in candidates:
            if _fits(name, birth, h_name, h_birth):
                return hid
    return None


def _fitting_row(firsts: list[Parsed], name: str, birth: date | None) -> Parsed | None:
    """The first of this batch's new households at an address (their first rows) the row fits, or None."""
    for q in firsts:
        if _fits(name, birth, _bare(q.name), q.birth):
            return q
    return None


def _age_band(birth: date | None, today: date) -> str:
    if birth is None:
        return "unknown"
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < 20:
        return "u20"
    if age >= 80:
        return "80p"
    return f"{age // 10 * 10}s"


def _score_band(birth: date, today: date) -> str:
    """scoring.band_of for a known birth date (the only thing it looks at then)."""
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return "80p" if age >= 80 else "70s" if age >= 70 else "other"


def due_date(received: date) -> date:
    return received + relativedelta(months=int(num("risk.round.due_months")))
