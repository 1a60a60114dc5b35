"""Shifts benchmark: sign-up throughput under concurrency, and the open-shifts page with 10,000 shifts.

    .venv/bin/python bench/shifts_bench.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]

1. Sign-ups: 16 threads call services.sign_up on PostgreSQL (each with its own app context/session)
   for 100 shifts of 5 places each; reports sign-ups/s and checks that no shift is overbooked.
2. Pages: gunicorn (sync workers, 2 x cores + 1) serves the app; 16 concurrent clients (a thread pool of
   plain urllib clients) fetch the volunteer's /shifts/ page (10,000 upcoming shifts, 20 per page) and,
   the same way, a trivial Flask page served by gunicorn. Reports median / p95 latency and requests/s.
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

trivial_app = Flask("trivial")


@trivial_app.route("/")
def trivial():
    return "ok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_db(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def seed(app, n_shifts: int, n_vols: int):
    from volnet.accounts.models import Organization, User
    from volnet.core import clock
    from volnet.extensions import db
    from volnet.places.models import Dong
    from volnet.shifts.models import Program, ShiftOccurrence

    with app.app_context():
        db.drop_all()
        db.create_all()
        d = Dong(code="4115057800", sido="경기도", sigungu="의정부시", name="송산3동")
        db.session.add(d)
        db.session.flush()
        org = Organization(name="송산종합사회복지관", kind="welfare_centre", dong_id=d.id)
        db.session.add(org)
        db.session.flush()
        p = Program(organization_id=org.id, dong_id=d.id, service="side_dishes", name="반찬 배달", cancel_cutoff_hours=24)
        db.session.add(p)
        db.session.flush()
        now = clock.now()
        rows = [dict(program_id=p.id, starts_at=now + timedelta(hours=30 + i), ends_at=now + timedelta(hours=32 + i),
                     meeting_place="복지관 1층", capacity=5, filled=0, requirements=[], status="scheduled",
                     is_exception=False, sequence=0, note="", created_at=now, updated_at=now)
                 for i in range(n_shifts)]
        db.session.execute(ShiftOccurrence.__table__.insert(), rows)
        users = []
        for i in range(n_vols):
            u = User(login_id=f"v{i}", name=f"봉사자{i}", role="volunteer", pledge_accepted_at=now, dongs=[d])
            users.append(u)
        users[0].set_password("bench-password-2026")
        for u in users[1:]:
            u.password_hash = users[0].password_hash
        db.session.add_all(users)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")  # as autovacuum would have done on a live database
        return p.id


def bench_signups(url: str, threads: int = 16, shifts: int = 100, vols: int = 800) -> dict:
    from volnet import create_app
    from volnet.extensions import db
    from volnet.shifts import services as svc
    from volnet.shifts.models import ShiftOccurrence, Signup

    cfg = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "REDIS_URL": "", "RUN_JOBS_INLINE": True,
           "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": threads + 2, "max_overflow": 0}}
    app = create_app(cfg)
    seed(app, shifts, vols)
    with app.app_context():
        occ_ids = list(db.session.scalars(db.select(ShiftOccurrence.id)))
        from volnet.accounts.models import User

        vol_ids = list(db.session.scalars(db.select(User.id)))
    rng = random.Random(1)
    jobs = [(rng.choice(occ_ids), v) for v in vol_ids for _ in range(2)]
    rng.shuffle(jobs)
    chunks = [jobs[i::threads] for i in range(threads)]
    counts = {"confirmed": 0, "waitlisted": 0, "refused": 0}
    lock = threading.Lock()

    def worker(chunk):
        with app.app_context():
            for occ_id, vid in chunk:
                occ, v = db.session.get(ShiftOccurrence, occ_id), db.session.get(User, vid)
                try:
                    s = svc.sign_up(occ, v)
                    db.session.commit()
                    key = s.status
                except svc.ShiftError:
                    db.session.rollback()
                    key = "refused"
                with lock:
                    counts[key] += 1
            db.session.remove()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    with app.app_context():
        over = db.session.scalar(db.select(db.func.count()).select_from(ShiftOccurrence)
                                 .where(ShiftOccurrence.filled > ShiftOccurrence.capacity))
        mismatch = 0
        for occ in db.session.scalars(db.select(ShiftOccurrence)):
            n = db.session.scalar(db.select(db.func.count()).select_from(Signup).where(
                Signup.occurrence_id == occ.id, Signup.status == "confirmed"))
            mismatch += n != occ.filled
        db.engine.dispose()
    return {"attempts": len(jobs), "seconds": round(elapsed, 2), "per_second": round(len(jobs) / elapsed),
            **counts, "overbooked_shifts": over, "filled_mismatch": mismatch}


def start_gunicorn(target: str, port: int, env: dict) -> subprocess.Popen:
    workers = 2 * (os.cpu_count() or 1) + 1
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", target], cwd=str(ROOT), env=env)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health" if "wsgi" in target else
                                   f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def load(url: str, cookie: str | None, clients: int = 16, requests: int = 1600) -> dict:
    def one(_):
        req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            assert r.status == 200 and body
        return time.perf_counter() - t

    with ThreadPoolExecutor(clients) as ex:  # warm-up
        list(ex.map(one, range(clients * 4)))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        lat = list(ex.map(one, range(requests)))
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {"median_ms": round(statistics.median(lat) * 1000, 1), "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1),
            "rps": round(requests / elapsed)}


def login_cookie(base: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/account/login").read()
    data = urllib.parse.urlencode({"login_id": "v0", "password": "bench-password-2026"}).encode()
    opener.open(base + "/account/login", data=data).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def bench_pages(url: str) -> dict:
    from volnet import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789"})
    seed(app, 10_000, 5)
    env = dict(os.environ, VOLNET_DATABASE_URL=url, VOLNET_SECRET_KEY="bench-secret-key-0123456789",
               VOLNET_WTF_CSRF_ENABLED="false", PYTHONPATH=str(ROOT))
    p1, p2 = free_port(), free_port()
    app_proc = start_gunicorn("wsgi:app", p1, env)
    triv_proc = start_gunicorn("bench.shifts_bench:trivial_app", p2, env)
    try:
        cookie = login_cookie(f"http://127.0.0.1:{p1}")
        shifts = load(f"http://127.0.0.1:{p1}/shifts/", cookie)
        shifts_p50 = load(f"http://127.0.0.1:{p1}/shifts/?page=50&service=side_dishes", cookie, requests=800)
        bare = load(f"http://127.0.0.1:{p2}/", None)
    finally:
        for p in (app_proc, triv_proc):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
    return {"open_shifts_page": shifts, "open_shifts_page50_filtered": shifts_p50, "trivial_flask": bare,
            "rps_ratio_trivial_over_shifts": round(bare["rps"] / shifts["rps"], 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("VOLNET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    url = make_db(args.pg, "volnet_bench_shifts")
    print("cores:", os.cpu_count())
    print("sign-ups:", bench_signups(url), flush=True)
    print("pages:", bench_pages(url))


if __name__ == "__main__":
    main()
