"""The dong's monthly report on a city-scale dataset (PostgreSQL).

20 dongs, 50,000 households, 60,000 concerns, 20,000 integrated cases, 40,000 service linkages,
200,000 safety-call records (and 200,000 call tasks), generated with INSERT ... SELECT generate_series.

    .venv/bin/python bench/reports_bench.py            # build (if needed) and measure
    .venv/bin/python bench/reports_bench.py --rebuild  # drop and rebuild the dataset

Goal: the monthly report (every figure) under 1 s. Prints the median and p95 of the figures alone and of the
whole page (GET /reports/ through the Flask test client, template included), plus EXPLAIN of the heaviest
query.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import inspect, text  # noqa: E402

ADMIN_URL = os.environ.get("VOLNET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "volnet_bench_reports"
DONGS, HOUSEHOLDS, CONCERNS, CASES, LINKAGES, CALLS = 20, 50_000, 60_000, 20_000, 40_000, 200_000
START = "2025-04-01 00:00:00+00"  # data spread over 12 months (~365 days)


def make_database(rebuild: bool) -> tuple[str, bool]:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, not exists


def insert_select(conn, table, n: int, values: dict[str, str]) -> None:
    """INSERT INTO table (...) SELECT ... FROM generate_series(1, n) AS g(i); other NOT NULL columns get
    their scalar Python default (or now())."""
    cols, exprs = [], []
    for col in table.columns:
        if col.name in values:
            cols.append(col.name)
            exprs.append(values[col.name])
        elif col.primary_key:
            continue
        elif not col.nullable:
            default = col.default.arg if col.default is not None else None
            if callable(default):
                expr = "now()" if "now" in getattr(default, "__name__", "") else "'[]'"
                if default.__name__ in ("list",):
                    expr = "'[]'"
                if default.__name__ in ("dict",):
                    expr = "'{}'"
            elif isinstance(default, bool):
                expr = "true" if default else "false"
            elif isinstance(default, (int, float)):
                expr = str(default)
            elif isinstance(default, str):
                expr = "'" + default.replace("'", "''") + "'"
            else:
                raise SystemExit(f"{table.name}.{col.name}: no value for a NOT NULL column")
            cols.append(col.name)
            exprs.append(expr)
    sql = (f'INSERT INTO "{table.name}" ({", ".join(cols)}) SELECT {", ".join(exprs)} '
           f"FROM generate_series(1, {n}) AS g(i)")
    conn.execute(text(sql))


def build(db) -> None:
    from volnet.accounts.models import User
    from volnet.calls.models import CallEnrollment, CallRecord, CallTask
    from volnet.cases.models import Case, ServiceLinkage
    from volnet.concerns.models import Concern, ConcernEvent
    from volnet.households.models import Household
    from volnet.places.models import Dong

    t0 = time.perf_counter()
    db.drop_all()
    db.create_all()
    ts = f"(timestamptz '{START}' + ((i * 7919) % 525600) * interval '1 minute')"  # spread over a year
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))  # bulk generation takes longer than a request
        insert_select(conn, Dong.__table__, DONGS, {
            "code": "(4115000000 + i)::text", "sido": "'경기도'", "sigungu": "'의정부시'", "name": "'벤치' || i || '동'",
            "active": "true"})
        insert_select(conn, User.__table__, DONGS, {
            "login_id": "'bench-cw-' || i", "name": "'담당' || i", "role": "'caseworker'"})
        conn.execute(text("INSERT INTO user_dongs (user_id, dong_id) SELECT id, id FROM users"))
        insert_select(conn, Household.__table__, HOUSEHOLDS, {
            "dong_id": f"1 + i % {DONGS}", "road_address": "'경기도 의정부시 송산로 ' || i", "unit": "''",
            "address_key": "'송산로' || i", "name": "'주민' || i",
            "tier": "(ARRAY['unassessed','daily_life','relationship','daily_risk','intensive','emergency'])[1 + i % 6]"})
        insert_select(conn, Concern.__table__, CONCERNS, {
            "dong_id": f"1 + (1 + (i - 1) % {HOUSEHOLDS}) % {DONGS}", "household_id": f"1 + (i - 1) % {HOUSEHOLDS}",
            "status": f"CASE WHEN i <= {HOUSEHOLDS} AND i % 5 = 0 THEN 'in_progress' ELSE 'closed' END",
            "urgency": "'routine'", "urgency_rank": "2",
            "source": "(ARRAY['observation','citizen','shift','safety_call','crisis_list','staff'])[1 + i % 6]",
            "opened_at": ts, "last_signal_at": ts, "acknowledged_at": f"{ts} + interval '1 day'",
            "closed_at": f"CASE WHEN i <= {HOUSEHOLDS} AND i % 5 = 0 THEN NULL ELSE {ts} + interval '5 days' END",
            "outcome": f"CASE WHEN i <= {HOUSEHOLDS} AND i % 5 = 0 THEN NULL ELSE "
                       "(ARRAY['no_concern','services_linked','case_opened','referred','refused'])[1 + i % 5] END",
            "owner_id": f"1 + (1 + (i - 1) % {HOUSEHOLDS}) % {DONGS}"})
        insert_select(conn, ConcernEvent.__table__, CONCERNS // 3, {
            "concern_id": "i * 3", "kind": "(ARRAY['monitoring','contact','acknowledged'])[1 + i % 3]",
            "at": f"(timestamptz '{START}' + ((i * 3 * 7919) % 525600) * interval '1 minute') + interval '5 days'",
            "data": "'{}'"})
        insert_select(conn, Case.__table__, CASES, {
            "dong_id": f"1 + (i * 2) % {DONGS}", "household_id": "i * 2", "owner_id": f"1 + (i * 2) % {DONGS}",
            "status": "CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END",
            "step": "CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'service' END", "opened_at": ts,
            "closed_at": f"CASE WHEN i % 3 = 0 THEN {ts} + interval '60 days' END"})
        insert_select(conn, ServiceLinkage.__table__, LINKAGES, {
            "case_id": f"1 + (i - 1) % {CASES}", "dong_id": f"1 + (2 * (1 + (i - 1) % {CASES})) % {DONGS}",
            "household_id": f"2 * (1 + (i - 1) % {CASES})",
            "sector": "(ARRAY['public','private','volunteer'])[1 + i % 3]", "service_type": "'food_bank'",
            "provider": "'의정부 푸드뱅크'", "status": "(ARRAY['active','ended','planned','cancelled'])[1 + i % 4]",
            "start_on": f"({ts})::date", "value_won": "(i % 50) * 10000"})
        insert_select(conn, CallEnrollment.__table__, HOUSEHOLDS // 5, {
            "household_id": "i * 5", "dong_id": f"1 + (i * 5) % {DONGS}", "caller_id": f"1 + (i * 5) % {DONGS}",
            "active": "true", "next_due_on": "current_date", "started_at": f"timestamptz '{START}'"})
        n_enr = HOUSEHOLDS // 5
        insert_select(conn, CallTask.__table__, CALLS, {
            "enrollment_id": f"1 + (i - 1) % {n_enr}", "household_id": f"5 * (1 + (i - 1) % {n_enr})",
            "dong_id": f"1 + (5 * (1 + (i - 1) % {n_enr})) % {DONGS}", "assignee_id": f"1 + (5 * (1 + (i - 1) % {n_enr})) % {DONGS}",
            "kind": "CASE WHEN i % 10 = 0 THEN 'retry' ELSE 'scheduled' END", "attempt": "0",
            "due_on": f"({ts})::date", "due_at": ts,
            "status": "(ARRAY['done','done','done','missed','done'])[1 + i % 5]"})
        insert_select(conn, CallRecord.__table__, CALLS, {
            "task_id": "i", "enrollment_id": f"1 + (i - 1) % {n_enr}", "household_id": f"5 * (1 + (i - 1) % {n_enr})",
            "dong_id": f"1 + (5 * (1 + (i - 1) % {n_enr})) % {DONGS}", "caller_id": f"1 + (5 * (1 + (i - 1) % {n_enr})) % {DONGS}",
            "at": ts, "outcome": "(ARRAY['connected_fine','connected_fine','no_answer','busy','connected_concern'])[1 + i % 5]"})
        for t in ("dongs", "users", "households", "concerns", "concern_events", "cases", "service_linkages",
                  "call_enrollments", "call_tasks", "call_records"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
        conn.execute(text("ANALYZE"))
    print(f"built in {time.perf_counter() - t0:.1f} s")


def measure(app, db) -> None:
    from volnet.accounts.models import User
    from volnet.reports import services

    counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in (
        "dongs", "households", "concerns", "cases", "service_linkages", "call_records", "call_tasks")}
    print("rows:", counts)
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    runs = []
    for _ in range(30):
        t = time.perf_counter()
        f = services.figures(6, start, end)
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    print(f"figures(dong 6, March 2026): median {statistics.median(runs):.1f} ms, p95 {runs[int(len(runs) * .95) - 1]:.1f} ms")
    print("  ", {k: v for k, v in f.items() if k in ("initial_consultations", "new_cases", "linkages", "linkage_value",
                                                      "calls_made", "calls_missed_scheduled")})
    user = db.session.get(User, 6)
    user.pledge_accepted_at = user.created_at
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    page_runs = []
    for _ in range(20):
        t = time.perf_counter()
        r = client.get("/reports/?dong=6&month=2026-03")
        page_runs.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.status_code
    page_runs.sort()
    print(f"GET /reports/ (whole page): median {statistics.median(page_runs):.1f} ms, p95 {page_runs[-2]:.1f} ms")
    t = time.perf_counter()
    r = client.get("/reports/export.csv?dong=6&month=2026-03")
    print(f"GET /reports/export.csv: {(time.perf_counter() - t) * 1000:.1f} ms, {len(r.data)} bytes")
    plan = db.session.execute(text(
        "EXPLAIN ANALYZE SELECT outcome, count(*) FROM call_records WHERE dong_id = 6 AND at >= '2026-02-28 15:00+00' "
        "AND at < '2026-03-31 15:00+00' GROUP BY outcome")).scalars().all()
    print("EXPLAIN call_records by outcome:\n   " + "\n   ".join(plan))


def main() -> None:
    rebuild = "--rebuild" in sys.argv
    url, fresh = make_database(rebuild)
    from volnet import create_app
    from volnet.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "REDIS_URL": "",
                      "WTF_CSRF_ENABLED": False, "RUN_JOBS_INLINE": True})
    with app.app_context():
        if fresh or not inspect(db.engine).has_table("call_records"):
            build(db)
        measure(app, db)


if __name__ == "__main__":
    main()
