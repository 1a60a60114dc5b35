"""Import a generated public crisis list of N rows (default 1,000,000) on PostgreSQL.

    .venv/bin/python bench/risk_import_bench.py [--rows 1000000] [--existing 20000]

Uses the database volnet_bench_risk (dropped and created). The rows are generated as a stream and staged
the way an upload is (RRN hashing, compressed chunks in the database); then the import job runs
(batches of 5,000, COPY via psycopg). Reports rows/s per phase and peak RSS (resource.getrusage).
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG = os.environ.get("VOLNET_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["영희", "철수", "순자", "정숙", "말순", "영수", "광호", "미경", "옥순", "병철", "현주", "동현"]
ROADS = ["송산로", "민락로", "용민로", "오목로", "동일로", "호국로 1234번길", "송산로 547번길"]
CODES = ["단전", "단수", "단가스", "전기요금 체납", "건강보험료·국민연금 체납", "통신비 체납", "실직", "공동주택 관리비 체납",
         "금융 연체", "장기요양 등급"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rows(n: int, existing: int, seed: int = 1):
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
        yield i + 2, [str(i + 1), name, born.isoformat(), addr, unit, f"010{rng.randrange(10**7, 10**8)}", rrn, code], False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--existing", type=int, default=20_000)
    ap.add_argument("--profile", metavar="FILE", help="write cProfile stats of the import job to FILE")
    args = ap.parse_args()
    from tests.conftest import make_pg_database

    url = make_pg_database("volnet_bench_risk") if "://" in PG else PG
    from volnet import create_app
    from volnet.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "RUN_JOBS_INLINE": True,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}}})
    with app.app_context():
        db.create_all()
        from volnet.accounts.models import User
        from volnet.households.models import Household
        from volnet.places.models import Dong
        from volnet.risk import importer, indicators, staging
        from volnet.risk.models import CrisisRound

        d = Dong(code="4115057800", sido="경기도", sigungu="의정부시", name="송산3동")
        db.session.add(d)
        db.session.flush()
        u = User(login_id="bench", name="벤치", role="caseworker", dongs=[d])
        db.session.add(u)
        indicators.seed()
        for j in range(args.existing):
            h = Household(dong_id=d.id, road_address=f"경기도 의정부시 {ROADS[j % len(ROADS)]} {j // len(ROADS) + 1}",
                          unit=f"{j % 9 + 1}층", name=f"기존{j}", lives_alone=j % 2 == 0)
            h.refresh_keys()
            db.session.add(h)
        db.session.commit()
        header = ["연번", "성명", "생년월일", "도로명주소", "상세주소", "연락처", "주민등록번호", "위기지표"]
        print(f"rows={args.rows:,} existing households={args.existing:,}  rss after setup {rss_mb():.0f} MB")

        def gen():
            yield 1, header, False
            yield from rows(args.rows, args.existing)

        def make_round(staged):
            r = CrisisRound(dong_id=d.id, uploaded_by_id=u.id, filename="bench.csv", file_hash=f"bench-{time.time()}",
                            received_on=date(2026, 1, 5), due_on=date(2026, 3, 5), status="uploaded",
                            header=staged.header)
            db.session.add(r)
            db.session.flush()
            return r.id

        t0 = time.monotonic()
        out = staging.StagedUpload()
        staged = staging.stage_rows(out, gen(), make_round)
        db.session.commit()
        t1 = time.monotonic()
        print(f"stage (sanitize + store): {t1 - t0:.1f} s, {args.rows / (t1 - t0):,.0f} rows/s, "
              f"RRN cells hashed {staged.rrn_cells:,}, peak RSS {rss_mb():.0f} MB")
        r = db.session.scalar(db.select(CrisisRound))
        r.mapping = {"1": "name", "2": "birth_date", "3": "address", "4": "unit", "5": "phone", "6": "rrn",
                     "7": "indicator_code"}
        r.total_rows = staged.total_rows
        r.status = "queued"
        db.session.commit()
        t2 = time.monotonic()
        if args.profile:
            import cProfile

            cProfile.runctx("importer.run_import(r.id)", globals(), {"importer": importer, "r": r},
                            filename=args.profile)
        else:
            importer.run_import(r.id)
        t3 = time.monotonic()
        db.session.expire_all()
        r = db.session.get(CrisisRound, r.id)
        print(f"import job: {t3 - t2:.1f} s, {args.rows / (t3 - t2):,.0f} rows/s, status {r.status} {r.error}")
        print(f"  good {r.good_rows:,} bad {r.bad_rows:,} duplicates {r.duplicate_rows:,} matched {r.matched_rows:,} "
              f"new households {r.created_households:,} concerns {r.concerns_raised:,}")
        print(f"total {t3 - t0:.1f} s ({args.rows / (t3 - t0):,.0f} rows/s), peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
