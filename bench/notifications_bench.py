"""Notifications: delivery throughput with real RQ worker processes, and the sweep's cost at 1,000,000 rows.

    .venv/bin/python bench/notifications_bench.py [--messages 10000] [--rows 1000000] [--keep]

1. Throughput: 10,000 due text messages (recording provider, so every delivery is a row we can count)
   dispatched by one `flask volnet worker` process, then by two. A private redis-server on a spare port,
   PostgreSQL database volnet_bench_notifications. Messages per second from the sweep's enqueue until
   the last row is 'sent'; checks that each message was recorded exactly once.
2. Sweep cost: 1,000,000 outbox rows (95 % sent, 4.5 % pending reminders in the next 30 days, 0.4 %
   failed/cancelled, 1,000 due now) by COPY; then the sweep's due-row query (median of 20 runs) with
   EXPLAIN (ANALYZE) to show it uses the partial index; plus the unread count and the admin state counts.
Results: bench/out/notifications.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, copy_rows, create_database, drop_database, free_port  # noqa: E402

DB = "volnet_bench_notifications"
FLASK = str(Path(sys.executable).parent / "flask")


def start_redis():
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return p, url
        except Exception:  # noqa: BLE001
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_workers(n: int, url: str, redis_url: str) -> list[subprocess.Popen]:
    env = dict(os.environ, VOLNET_DATABASE_URL=url, VOLNET_REDIS_URL=redis_url, VOLNET_NOTIFY_SWEEP_SECONDS="60",
               VOLNET_SECRET_KEY="bench-secret-key-0123456789", VOLNET_NOTIFY_BATCH_SIZE=os.environ.get(
                   "BENCH_BATCH", "20"))
    return [subprocess.Popen([FLASK, "--app", "wsgi", "volnet", "worker", "--name", f"bench-{i}-{time.time_ns()}"],
                             cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True) for i in range(n)]


def stop(procs):
    import signal

    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def outbox_rows(user_ids, n, now, *, state="pending", when=None, start_id=1):
    for i in range(n):
        uid = user_ids[i % len(user_ids)]
        at = when(i) if when else now - timedelta(seconds=1)
        yield (start_id + i, uid, "shift_reminder", "sms" if i % 2 == 0 else "inapp",
               {"program": "반찬지원", "when": "내일 10:00", "place": "복지관"}, "", f"bench:{start_id + i}", True, state,
               0, at, at, at if state == "sent" else None, now)


COLS = ["id", "recipient_id", "kind", "channel", "params", "link", "dedupe_key", "urgent", "state", "attempts",
        "send_at", "next_attempt_at", "sent_at", "created_at"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()

    url = create_database(DB)
    from sqlalchemy import func, select, text

    from volnet import create_app
    from volnet.accounts.models import User
    from volnet.extensions import db
    from volnet.notifications import services
    from volnet.notifications.models import Outbox, SentMessage

    redis_proc, redis_url = start_redis()
    app = create_app({"DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key-0123456789",
                      "NOTIFY_SWEEP_LIMIT": 1_000_000})
    results: dict = {"load_average": os.getloadavg(), "cores": os.cpu_count()}
    try:
        with app.app_context():
            db.create_all()
            users = [User(login_id=f"vol{i}", name=f"봉사자{i}", role="volunteer", phone=f"010{i:08d}",
                          channels=["inapp", "sms"]) for i in range(1000)]
            db.session.add_all(users)
            db.session.commit()
            uids = [u.id for u in users]
            raw = db.engine.raw_connection()
            pg = raw.driver_connection
            pg.execute("SET statement_timeout = 0")  # COPY of 1,000,000 rows outlasts the app's 15 s
            pg.commit()

            # ---------------------------------------------------------------- 1. throughput
            for n_workers in () if args.skip_throughput else (1, 2):
                db.session.execute(text("TRUNCATE notification_sent_messages, notification_outbox, "
                                        "notification_clocks RESTART IDENTITY"))
                db.session.commit()
                import redis

                redis.Redis.from_url(redis_url).flushall()
                workers = start_workers(n_workers, url, redis_url)
                try:
                    from rq import Worker

                    conn = redis.Redis.from_url(redis_url)
                    deadline = time.monotonic() + 60
                    while len(Worker.all(connection=conn)) < n_workers and time.monotonic() < deadline:
                        time.sleep(0.2)
                    time.sleep(1.0)  # their start-up sweep is done
                    now = datetime.now(UTC)
                    copy_rows(pg, Outbox.__table__, COLS, outbox_rows(uids, args.messages, now))
                    pg.commit()
                    pg.execute("SELECT setval(pg_get_serial_sequence('notification_outbox','id'), %s)",
                               (args.messages + 1,))
                    pg.commit()
                    t0 = time.monotonic()
                    services.sweep()  # enqueue every due row (batches of 20 ids per job)
                    t_enq = time.monotonic() - t0
                    while True:
                        sent = db.session.scalar(select(func.count()).select_from(Outbox)
                                                 .where(Outbox.state == "sent"))
                        db.session.rollback()
                        if sent >= args.messages or time.monotonic() - t0 > 600:
                            break
                        time.sleep(0.2)
                    elapsed = time.monotonic() - t0
                    recorded = db.session.scalar(select(func.count()).select_from(SentMessage))
                    dupes = db.session.scalar(text(
                        "SELECT count(*) FROM (SELECT outbox_id FROM notification_sent_messages GROUP BY outbox_id "
                        "HAVING count(*) > 1) d"))
                    db.session.rollback()
                    results[f"workers_{n_workers}"] = {
                        "messages": args.messages, "sent": sent, "seconds": round(elapsed, 2),
                        "messages_per_second": round(sent / elapsed, 1), "enqueue_seconds": round(t_enq, 2),
                        "sms_recorded": recorded, "sms_expected": args.messages // 2, "duplicates": dupes}
                    print(n_workers, "worker(s):", results[f"workers_{n_workers}"], flush=True)
                finally:
                    stop(workers)

            # ---------------------------------------------------------------- 2. sweep cost
            db.session.execute(text("TRUNCATE notification_sent_messages, notification_outbox, "
                                    "notification_clocks RESTART IDENTITY"))
            db.session.commit()
            now = datetime.now(UTC)
            n = args.rows
            n_due, n_failed = 1000, int(n * 0.004)
            n_future = int(n * 0.045)
            n_sent = n - n_due - n_failed - n_future
            t0 = time.monotonic()
            nid = 1
            copy_rows(pg, Outbox.__table__, COLS, outbox_rows(
                uids, n_sent, now, state="sent", when=lambda i: now - timedelta(minutes=1 + i % 500_000),
                start_id=nid))
            nid += n_sent
            copy_rows(pg, Outbox.__table__, COLS, outbox_rows(
                uids, n_future, now, when=lambda i: now + timedelta(minutes=5 + i % 43_200), start_id=nid))
            nid += n_future
            copy_rows(pg, Outbox.__table__, COLS, outbox_rows(
                uids, n_failed, now, state="failed", when=lambda i: now - timedelta(hours=1 + i % 1000),
                start_id=nid))
            nid += n_failed
            copy_rows(pg, Outbox.__table__, COLS, outbox_rows(uids, n_due, now, start_id=nid))
            pg.commit()
            load_s = time.monotonic() - t0
            pg.commit()
            pg.autocommit = True
            pg.execute("VACUUM ANALYZE notification_outbox")
            pg.autocommit = False
            print(f"loaded {n} rows in {load_s:.1f}s", flush=True)

            def timed(fn, runs=20):
                out = []
                for _ in range(runs):
                    t = time.perf_counter()
                    fn()
                    out.append((time.perf_counter() - t) * 1000)
                    db.session.rollback()
                return round(statistics.median(out), 3), round(max(out), 3)

            due_med, due_max = timed(lambda: services.due_ids(now, 10000))
            assert len(services.due_ids(now, 10000)) == n_due
            stuck_med, _ = timed(lambda: services.due_ids(now, 10000, for_queue=False))
            unread_med, _ = timed(lambda: services.unread_count(db.session.get(User, uids[0])))
            counts_med, _ = timed(services.state_counts, runs=5)
            oldest_med, _ = timed(services.oldest_due_age)
            cancel_med, _ = timed(lambda: services.cancel("bench:99999"), runs=5)
            # The whole sweep without handing rows to Redis (escalations, digest, other domains' checks, query).
            app.config["RUN_JOBS_INLINE"] = True
            app.config["NOTIFY_SWEEP_LIMIT"] = 0
            sweep_med, _ = timed(lambda: services.sweep(now), runs=5)
            app.config["RUN_JOBS_INLINE"] = None
            compiled = services.due_ids  # for the plan: the same statement as the sweep
            plan = "\n".join(r[0] for r in pg.execute(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM notification_outbox WHERE state IN ('pending','retrying') "
                "AND next_attempt_at <= %s AND (enqueued_at IS NULL OR enqueued_at < %s) "
                "ORDER BY next_attempt_at LIMIT 10000", (now, now - timedelta(seconds=120))).fetchall())
            pg.rollback()
            del compiled
            results["sweep_1m"] = {
                "rows": n, "load_seconds": round(load_s, 1), "due_rows": n_due,
                "due_query_ms_median": due_med, "due_query_ms_max": due_max, "inline_due_query_ms": stuck_med,
                "unread_count_ms": unread_med, "admin_state_counts_ms": counts_med, "oldest_due_ms": oldest_med,
                "cancel_prefix_ms": cancel_med, "whole_sweep_without_dispatch_ms": sweep_med,
                "plan": plan, "uses_partial_index": "ix_notification_outbox_due" in plan}
            print(json.dumps({k: v for k, v in results["sweep_1m"].items() if k != "plan"}, indent=1))
            print(plan)
            raw.close()
    finally:
        redis_proc.terminate()
        redis_proc.wait(5)
        with app.app_context():
            db.engine.dispose()
        if not args.keep:
            drop_database(DB)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    old = out / "notifications.json"
    if args.skip_throughput and old.exists():
        kept = json.loads(old.read_text())
        results = {**{k: v for k, v in kept.items() if k.startswith("workers_")}, **results}
    (out / "notifications.json").write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    print("written", out / "notifications.json")


if __name__ == "__main__":
    main()
