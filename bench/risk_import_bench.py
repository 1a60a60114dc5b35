"""Import a generated public crisis list of N rows (default 1,000,000) on PostgreSQL.

    .venv/bin/python bench/risk_import_bench.py [--rows 1000000] [--existing 20000] [--batch N] [--profile FILE]

Uses the database volnet_bench_risk (dropped and created). First (not timed) the list is generated as a
UTF-8 CSV in a temporary file (synthetic names, addresses and resident registration numbers; deleted at
the end). Then, timed:

1. **stage**: the file is read the way an upload is (CSV reader, RRN cells replaced by their keyed hash,
   rows stored as compressed chunks in the database): ``staging.csv_rows`` + ``staging.stage_rows``;
2. **import job**: ``importer.run_import`` (batches of ``importer.BATCH`` rows, binary COPY via psycopg).

Reports per phase: wall time, rows/s, CPU of this process and of its PostgreSQL backends, CPU the rest of
the machine used meanwhile ("others": high values mean noisy figures), and the peak RSS of this process
during the phase (sampled every 20 ms) next to the process's peak so far (getrusage); for the job also the
CPU of its two threads (the job thread, and the reader thread that parses the staged rows).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import backend_pids, cpu_by_pid, create_database, machine_busy_seconds  # noqa: E402

PG = os.environ.get("VOLNET_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["영희", "철수", "순자", "정숙", "말순", "영수", "광호", "미경", "옥순", "병철", "현주", "동현"]
ROADS = ["송산로", "민락로", "용민로", "오목로", "동일로", "호국로 1234번길", "송산로 547번길"]
CODES = ["단전", "단수", "단가스", "전기요금 체납", "건강보험료·국민연금 체납", "통신비 체납", "실직", "공동주택 관리비 체납",
         "금융 연체", "장기요양 등급"]
HEADER = ["연번", "성명", "생년월일", "도로명주소", "상세주소", "연락처", "주민등록번호", "위기지표"]
MAPPING = {"1": "name", "2": "birth_date", "3": "address", "4": "unit", "5": "phone", "6": "rrn",
           "7": "indicator_code"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rows(n: int, existing: int, seed: int = 1):
    """The list's rows: 10 % at the address of a household the dong already knows, 20 % with an RRN."""
    rng = random.Random(seed)
    for i in range(n):
        k = rng.random()
        if k < 0.1 and existing:  # a household already known to the dong
            j = rng.randrange(existing)
            addr, unit = f"경기도 의정부시 {ROADS[j % len(ROADS)]} {j // len(ROADS) + 1}", f"{j % 9 + 1}층"
        else:
            addr, unit = f"경기도 의정부시 {ROADS[i % len(ROADS)]} {10_000 + i}", f"{i % 12 + 1}층"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        born = date(1930 + rng.randrange(70), rng.randrange(1, 13), rng.randrange(1, 29))
        rrn = ""
        if k > 0.8:
            rrn = f"{born:%y%m%d}-{rng.choice('12')}{rng.randrange(10**5, 10**6)}"
        code = rng.choice(CODES)
        yield [str(i + 1), name, born.isoformat(), addr, unit, f"010{rng.randrange(10**7, 10**8)}", rrn, code]


def write_list(path: Path, n: int, existing: int) -> int:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        w.writerows(rows(n, existing))
    return path.stat().st_size


class Phase:
    """Wall time, CPU (this process, its database backends, everything else) and peak RSS of one phase."""

    def __init__(self, name: str, url: str, n: int):
        self.name, self.url, self.n = name, url, n

    def __enter__(self):
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self.db0 = cpu_by_pid(backend_pids(self.url))
        self.machine0 = machine_busy_seconds()[0]
        self.cpu0 = time.process_time()
        self.t0 = time.monotonic()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.app = time.process_time() - self.cpu0
        after = cpu_by_pid(backend_pids(self.url))
        self.db = sum(v - self.db0.get(pid, 0.0) for pid, v in after.items())
        self.others = max(machine_busy_seconds()[0] - self.machine0 - self.app - self.db, 0.0)
        self._stop.set()
        self._sampler.join()
        self.peak = max(self.peak, rss_mb())
        print(f"{self.name}: {self.wall:.1f} s, {self.n / self.wall:,.0f} rows/s; CPU s: app {self.app:.1f}, "
              f"database {self.db:.1f}, others {self.others:.1f}; peak RSS in phase {self.peak:.0f} MB "
              f"(process peak so far {peak_rss_mb():.0f} MB)", flush=True)
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--existing", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=0, help="rows per batch (default: importer.BATCH)")
    ap.add_argument("--received", default="2026-01-05",
                    help="the round's date (ISO, or 'today': its indicators count in the scores, concerns open)")
    ap.add_argument("--profile", metavar="FILE", help="write cProfile stats of the import job to FILE")
    ap.add_argument("--floor", action="store_true",
                    help="instead of the import: only COPY what an import of --rows writes (households, rows, "
                         "indicators, RRN links), with the foreign keys and again without them")
    args = ap.parse_args()
    url = create_database("volnet_bench_risk", PG.rsplit("/", 1)[0])  # on the server of VOLNET_BENCH_PG_URL
    from sqlalchemy import insert

    from volnet import create_app
    from volnet.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "RUN_JOBS_INLINE": True,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}}})
    tmp = Path(tempfile.mkdtemp(prefix="volnet-risk-bench-"))
    try:
        with app.app_context():
            run(args, url, db, insert, tmp)
    finally:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()


def run(args, url, db, insert, tmp: Path):
    db.create_all()
    from volnet.accounts.models import User
    from volnet.core.korean import address_key, chosung
    from volnet.households.models import Household
    from volnet.places.models import Dong
    from volnet.risk import importer, indicators, staging
    from volnet.risk.models import CrisisRound

    if args.batch:
        importer.BATCH = args.batch
    d = Dong(code="4115057800", sido="경기도", sigungu="의정부시", name="송산3동")
    db.session.add(d)
    db.session.flush()
    u = User(login_id="bench", name="벤치", role="caseworker", dongs=[d])
    db.session.add(u)
    indicators.seed()
    known = []
    for j in range(args.existing):
        road, unit, name = f"경기도 의정부시 {ROADS[j % len(ROADS)]} {j // len(ROADS) + 1}", f"{j % 9 + 1}층", f"기존{j}"
        known.append({"dong_id": d.id, "road_address": road, "unit": unit, "name": name, "lives_alone": j % 2 == 0,
                      "address_key": address_key(road, unit)[:420], "name_chosung": chosung(name)})
    if known:
        db.session.execute(insert(Household), known)
    del known
    db.session.commit()
    if args.floor:
        copy_floor(args, url, db, d, u)
        return
    path = tmp / "list.csv"
    t = time.monotonic()
    size = write_list(path, args.rows, args.existing)
    print(f"rows={args.rows:,} existing households={args.existing:,}; list {size / 2**20:.0f} MB generated in "
          f"{time.monotonic() - t:.1f} s (not timed); RSS {rss_mb():.0f} MB, batch {importer.BATCH:,}", flush=True)

    from volnet.core import clock

    received = clock.seoul_today() if args.received == "today" else date.fromisoformat(args.received)

    def make_round(staged):
        r = CrisisRound(dong_id=d.id, uploaded_by_id=u.id, filename="bench.csv", file_hash=f"bench-{time.time()}",
                        received_on=received, due_on=importer.due_date(received), status="uploaded",
                        header=staged.header)
        db.session.add(r)
        db.session.flush()
        return r.id

    with Phase("stage (read + sanitize + store)", url, args.rows) as stage, open(path, "rb") as fh:
        out = staging.StagedUpload()
        staged = staging.stage_rows(out, staging.csv_rows(fh, "utf-8"), make_round)
        db.session.commit()
    print(f"  RRN cells hashed {staged.rrn_cells:,}")
    r = db.session.scalar(db.select(CrisisRound))
    r.mapping = dict(MAPPING)
    r.total_rows = staged.total_rows
    r.status = "queued"
    db.session.commit()
    rid = r.id
    reader = count_reader_cpu(importer)
    with Phase("import job", url, args.rows) as job:
        job_thread = time.thread_time()
        if args.profile:
            import cProfile

            cProfile.runctx("importer.run_import(rid)", globals(), {"importer": importer, "rid": rid},
                            filename=args.profile)
        else:
            importer.run_import(rid)
        job_thread = time.thread_time() - job_thread
    print(f"  app CPU s: job thread {job_thread:.1f}, reader thread {reader['cpu']:.1f}; planning "
          f"{reader['plan']:.1f} (wall {reader['plan_wall']:.1f}); storing: new rows {reader['write_new']:.1f} "
          f"(wall {reader['write_new_wall']:.1f}), settling {reader['settle']:.1f} (wall "
          f"{reader['settle_wall']:.1f}; walls summed over the writer threads on PostgreSQL)")
    db.session.expire_all()
    r = db.session.get(CrisisRound, rid)
    print(f"  status {r.status} {r.error}; good {r.good_rows:,} bad {r.bad_rows:,} duplicates {r.duplicate_rows:,} "
          f"matched {r.matched_rows:,} new households {r.created_households:,} concerns {r.concerns_raised:,}")
    total = stage.wall + job.wall
    print(f"total {total:.1f} s ({args.rows / total:,.0f} rows/s); CPU s: app {stage.app + job.app:.1f}, "
          f"database {stage.db + job.db:.1f}, others {stage.others + job.others:.1f}; "
          f"peak RSS {max(stage.peak, job.peak):.0f} MB")


def count_reader_cpu(importer) -> dict:
    """CPU seconds of the import's reader thread (measurement only: wraps Importer._batches, which runs in
    that thread on PostgreSQL), and CPU and wall seconds of planning the batches and of the two parts of
    storing them (Importer.write_new and Importer.settle; on PostgreSQL in two writer threads)."""
    out = {"cpu": 0.0}
    batches = importer.Importer._batches

    def counted(self, *args, **kwargs):
        start = time.thread_time()
        try:
            yield from batches(self, *args, **kwargs)
        finally:
            out["cpu"] += time.thread_time() - start

    importer.Importer._batches = counted
    for step in ("plan", "write_new", "settle"):
        out[step] = out[step + "_wall"] = 0.0
        real = getattr(importer.Importer, step)

        def timed(self, *args, _real=real, _step=step, **kwargs):
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return _real(self, *args, **kwargs)
            finally:
                out[_step] += time.thread_time() - cpu
                out[_step + "_wall"] += time.perf_counter() - wall

        setattr(importer.Importer, step, timed)
    return out


def copy_floor(args, url, db, d, u):
    """What PostgreSQL alone needs to store an import of --rows: the same tables and row shapes (0.9 new
    households, 1 row, 1 indicator and 0.2 RRN links per list row), binary COPY in batches of
    importer.BATCH, one commit per batch; once as the schema is, once with the foreign keys of these
    four tables dropped (the bench database is thrown away afterwards)."""
    import hashlib

    from sqlalchemy import text

    from volnet.core import clock
    from volnet.households.models import Household
    from volnet.risk import importer
    from volnet.risk.models import CrisisRound, CrisisRow, HouseholdIndicator, HouseholdRrnHash, IndicatorType
    from volnet.risk.sqlutil import bulk_insert, new_ids

    tables = [Household.__table__, CrisisRow.__table__, HouseholdIndicator.__table__, HouseholdRrnHash.__table__]
    type_ids = list(db.session.scalars(db.select(IndicatorType.id)))
    now, born = clock.now(), date(1950, 3, 1)
    for label in ("with foreign keys", "without foreign keys"):
        if label == "without foreign keys":
            for t in tables:
                for name in db.session.scalars(text("SELECT conname FROM pg_constraint WHERE contype = 'f' "
                                                    "AND conrelid = CAST(:t AS regclass)"), {"t": t.name}).all():
                    db.session.execute(text(f'ALTER TABLE {t.name} DROP CONSTRAINT "{name}"'))
            db.session.commit()
        r = CrisisRound(dong_id=d.id, uploaded_by_id=u.id, filename="floor", file_hash=f"floor-{label}",
                        received_on=date(2026, 1, 5), due_on=date(2026, 3, 5), status="done", header=HEADER)
        db.session.add(r)
        db.session.commit()
        batch = importer.BATCH
        with Phase(f"COPY only, {label}", url, args.rows):
            for start in range(0, args.rows, batch):
                n = min(batch, args.rows - start)
                ids = new_ids("households", n * 9 // 10)
                hh = [(hid, d.id, f"경기도 의정부시 송산로 {hid}", "3층", "", "", f"경기도의정부시송산로{hid}3층", "김영희",
                       "ㄱㅇㅎ", "01012345678", born, "unknown", "70s", "to_locate", "", "unassessed", 15.0, u.id, now,
                       now) for hid in ids]
                bulk_insert(Household.__table__, ["id", "dong_id", "road_address", "unit", "jibun_address",
                                                  "landmark", "address_key", "name", "name_chosung", "phone",
                                                  "birth_date", "sex", "age_band", "status", "delivery_note", "tier",
                                                  "risk_score", "created_by_id", "created_at", "updated_at"], hh)
                owners = [ids[i % len(ids)] for i in range(n)]
                rows = [(r.id, start + i, hashlib.sha256(f"{r.id}:{start + i}".encode()).hexdigest()[:32], hid,
                         "created", "김영희", born, "경기도 의정부시 송산로 1", "3층", "01012345678", "cutoff_power",
                         "pending", "") for i, hid in enumerate(owners)]
                bulk_insert(CrisisRow.__table__, ["round_id", "row_number", "natural_key", "household_id", "match",
                                                  "name", "birth_date", "address", "unit", "phone", "codes",
                                                  "check_result", "check_note"], rows)
                indicators = sorted({(hid, type_ids[i % len(type_ids)], r.id, r.received_on)
                                     for i, hid in enumerate(owners)})
                bulk_insert(HouseholdIndicator.__table__, ["household_id", "indicator_type_id", "round_id",
                                                           "observed_on"], indicators)
                links = [(hid, d.id, hashlib.sha256(str(hid).encode()).hexdigest(), now) for hid in ids[::4]]
                bulk_insert(HouseholdRrnHash.__table__, ["household_id", "dong_id", "rrn_hash", "created_at"], links)
                db.session.commit()


if __name__ == "__main__":
    main()
