"""Where a request's time goes, in-process: CPU per request, SQL statements, optional cProfile.

    .venv/bin/python bench/request_profile.py queue  [--n 200] [--profile out.txt]
    .venv/bin/python bench/request_profile.py submit [--n 200] [--profile out.txt]
    .venv/bin/python bench/request_profile.py detail|household [--n 200] [--sql] [--tree out.txt]

Runs against the database that ``platform_bench.py --keep`` leaves behind (volnet_bench_platform).
No outer app context is pushed, so every request loads its user and settings as in production.
The figures are one process, one client: app CPU per request (time.process_time), wall time, and the
statements sent (count and time spent waiting on the database).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import db_url  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
PASSWORD = "bench-password-2026"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["queue", "submit", "detail", "household", "hello"])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--profile", metavar="FILE")
    ap.add_argument("--tree", metavar="FILE", help="pyinstrument call tree (pip install pyinstrument)")
    ap.add_argument("--callers", metavar="PATTERN", action="append", default=[],
                    help="with --profile: also list who calls functions matching PATTERN (repeatable)")
    ap.add_argument("--sql-full", action="store_true", help="with --sql: the whole statements")
    ap.add_argument("--sql", action="store_true", help="print the statements of one request")
    ap.add_argument("--wall", action="store_true",
                    help="with --profile: time functions by the clock (with waits on the database) instead of by "
                         "this process's CPU time")
    ap.add_argument("--db", default="volnet_bench_platform")
    args = ap.parse_args()

    from sqlalchemy import event, text

    from volnet import create_app
    from volnet.extensions import db

    app = create_app({"DATABASE_URL": db_url(args.db), "SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False,
                      "NOTIFY_OPPORTUNISTIC_SWEEP": False})
    captured: list = []
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            ranges = dict(conn.execute(text(
                "SELECT dong_id, min(id) FROM households GROUP BY dong_id")).all())
            hi = dict(conn.execute(text("SELECT dong_id, max(id) FROM households GROUP BY dong_id")).all())
            conn.execute(text("DELETE FROM throttle_events"))  # a throw-away database: start every run afresh
            conn.commit()

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, time.perf_counter() - conn.info.pop("t0", time.perf_counter())))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    rng = random.Random(7)
    if args.what in ("queue", "detail", "household", "hello"):
        client = app.test_client()
        r = client.post("/account/login", data={"login_id": "cw01a", "password": PASSWORD})
        assert r.status_code == 302, r.status_code
        paths = ["/concerns/", "/concerns/?page=2", "/concerns/?urgency=urgent", "/concerns/?owner=me",
                 "/concerns/?overdue=1", "/concerns/?status=all&page=2", "/concerns/?tong=3"]
        if args.what == "hello":
            paths = ["/health"]
        if args.what == "detail":  # concern pages of the caseworker's dong, as platform_bench's detail
            with app.app_context(), engine.connect() as conn:
                paths = [f"/concerns/{cid}" for cid in conn.execute(text(
                    "SELECT c.id FROM concerns c JOIN user_dongs ud ON ud.dong_id = c.dong_id "
                    "JOIN users u ON u.id = ud.user_id WHERE u.login_id = 'cw01a' AND c.status IN "
                    "('new','acknowledged','in_progress','monitoring') ORDER BY c.id LIMIT 500")).scalars()]
        if args.what == "household":  # the households of those concerns, as platform_bench's household
            with app.app_context(), engine.connect() as conn:
                paths = [f"/households/{hid}" for hid in conn.execute(text(
                    "SELECT c.household_id FROM concerns c JOIN user_dongs ud ON ud.dong_id = c.dong_id "
                    "JOIN users u ON u.id = ud.user_id WHERE u.login_id = 'cw01a' AND c.household_id IS NOT NULL "
                    "AND c.status IN ('new','acknowledged','in_progress','monitoring') ORDER BY c.id LIMIT 500"
                )).scalars()]

        def one(i):
            resp = client.get(paths[i % len(paths)])
            assert resp.status_code == 200, resp.status_code
    else:
        # Each reporter sends 25 reports (the app allows 30 per 10 minutes); reporters of every dong.
        reporters = [(d, k) for k in range(24) for d in sorted(ranges)][: args.n // 25 + 2]
        clients = []
        with app.app_context():
            with engine.begin() as conn:  # a throw-away database: earlier runs' reports do not count
                conn.execute(text("UPDATE observations SET created_at = created_at - interval '1 hour' "
                                  "WHERE created_at > now() - interval '15 minutes'"))
        for d, k in reporters:
            c = app.test_client()
            r = c.post("/account/login", data={"login_id": f"hon{d:02d}_{k:02d}", "password": PASSWORD})
            assert r.status_code == 302, r.status_code
            clients.append((d, c))

        def one(i):
            d, c = clients[i // 25]
            form = {"household_id": rng.randint(ranges[d], hi[d]), "dong_id": d, "urgency": "routine",
                    "signals": "mail_piling", "client_token": uuid.uuid4().hex}
            resp = c.post("/report/new", data=form)
            assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:2000])

    for i in range(20 if args.what != "submit" else 0):  # warm-up: templates compiled, statements prepared
        one(i)
    if args.sql:
        captured.clear()
        one(0)
        width = 100_000 if args.sql_full else 220
        for stmt, dt in captured:
            print(f"{dt * 1000:7.2f} ms  {' '.join(stmt.split())[:width]}")
    cpu, wall, sql_n, sql_t = [], [], [], []
    # CPU time by default: what a busy server pays per request, steady on a shared machine.
    prof = (cProfile.Profile() if args.wall else cProfile.Profile(time.process_time)) if args.profile else None
    tree = None
    if args.tree:
        from pyinstrument import Profiler

        tree = Profiler(interval=0.0002)
        tree.start()
    for i in range(args.n):
        captured.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        one(i + (20 if args.what != "submit" else 0))
        if prof:
            prof.disable()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        sql_n.append(len(captured))
        sql_t.append(sum(dt for _s, dt in captured))
    if tree:
        tree.stop()
        Path(args.tree).write_text(tree.output_text(unicode=True, show_all=False), encoding="utf-8")
    ms = lambda xs: round(statistics.median(xs) * 1000, 2)  # noqa: E731
    # The least busy stretch of 25 requests: on a shared machine the steadiest figure.
    best = min(statistics.mean(cpu[i:i + 25]) for i in range(0, max(len(cpu) - 24, 1), 25))
    print(f"{args.what}: n={args.n} app CPU median {ms(cpu)} ms (best 25-run mean {round(best * 1000, 2)}), "
          f"wall median {ms(wall)} ms, statements {statistics.median(sql_n)}, waiting on SQL {ms(sql_t)} ms")
    if prof:
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s)
        st.sort_stats("cumulative").print_stats(60)
        st.sort_stats("tottime").print_stats(40)
        for pattern in args.callers:
            st.print_callers(pattern)
        Path(args.profile).write_text(s.getvalue(), encoding="utf-8")
        prof.dump_stats(args.profile + ".pstats")  # for pstats / snakeviz
        print(f"profile: {args.profile} (raw: {args.profile}.pstats)")


if __name__ == "__main__":
    main()
