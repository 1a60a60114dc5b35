"""Cross-check platform_bench.py's figures with wrk, a load generator in C (`apt-get install -y wrk`).

The Python client of bench/common.py costs CPU on the same two cores as the server. This runs the same
pages, served the same way (gunicorn, sync workers, 16 connections, 3 s warm-up, 20 s measured), with wrk:
where the two agree, the client was not what limited the figures. Needs the database that
`platform_bench.py --keep` leaves behind.

    .venv/bin/python bench/wrk_check.py                 # bare_hello bare_query health queue
    .venv/bin/python bench/wrk_check.py queue --duration 10
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import platform_bench as pb  # noqa: E402
from bench.common import Client, Gunicorn, db_url  # noqa: E402

LUA = Path(__file__).with_name("wrk_paths.lua")
QUEUE_PATHS = ["/concerns/", "/concerns/?page=2", "/concerns/?page=3", "/concerns/?page=4", "/concerns/?page=5",
               "/concerns/?urgency=urgent", "/concerns/?owner=me", "/concerns/?overdue=1",
               "/concerns/?status=all&page=2", "/concerns/?tong={tong}"]  # as platform_bench's queue scenario


def wrk(port: int, paths: list[str], cookie_file: Path, threads: int, clients: int, duration: int) -> dict:
    def run(seconds: int) -> str:
        cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "-s", str(LUA), f"http://127.0.0.1:{port}",
               "--", str(cookie_file), *paths]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout

    run(3)  # warm-up
    line = next(x for x in run(duration).splitlines() if x.startswith("RESULT"))
    kv = dict(x.split("=") for x in line.split()[1:])
    ok = int(kv["requests"]) - int(kv["non2xx"])
    return {"rps": round(ok / float(kv["duration"]), 1), "median_ms": float(kv["p50"]), "p95_ms": float(kv["p95"]),
            "p99_ms": float(kv["p99"]), "errors": int(kv["errors"]) + int(kv["non2xx"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", default=["bare_hello", "bare_query", "health", "queue"])
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    url = db_url(pb.DB_NAME)
    env = {"VOLNET_SECRET_KEY": pb.SECRET, "VOLNET_WTF_CSRF_ENABLED": "false", "VOLNET_DATABASE_URL": url,
           "BENCH_DATABASE_URL": url, "VOLNET_REDIS_URL": '""', "VOLNET_NOTIFY_OPPORTUNISTIC_SWEEP": "false"}
    tmp = Path(tempfile.mkdtemp(prefix="volnet-wrk-"))
    no_cookie = tmp / "none"
    no_cookie.write_text("x=1\n")
    results = {}
    try:
        if {"bare_hello", "bare_query"} & set(args.only):
            with Gunicorn("bench.bare_app:app", env=env) as srv:
                for name, path in (("bare_hello", "/"), ("bare_query", "/query")):
                    if name in args.only:
                        results[name] = wrk(srv.port, [path], no_cookie, 2, args.clients, args.duration)
        if {"health", "queue"} & set(args.only):
            with Gunicorn("wsgi:app", env=env, ready_path="/account/login") as srv:
                if "health" in args.only:
                    results["health"] = wrk(srv.port, ["/health"], no_cookie, 2, args.clients, args.duration)
                if "queue" in args.only:
                    dongs = sorted(pb.dataset_info(url)["household_ranges"])
                    lines = []
                    for idx in range(args.clients):  # as platform_bench: client i is a caseworker of dong i % 20
                        c = Client(srv.port)
                        c.login(f"cw{dongs[idx % len(dongs)]:02d}a", pb.PASSWORD)
                        lines.append("; ".join(f"{k}={v}" for k, v in c.cookies.items()))
                        c.close()
                    cookies = tmp / "cookies"
                    cookies.write_text("\n".join(lines) + "\n")
                    results["queue"] = wrk(srv.port, QUEUE_PATHS, cookies, args.clients, args.clients, args.duration)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'scenario':<12}{'req/s':>9}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<12}{r['rps']:>9}{r['median_ms']:>11}{r['p95_ms']:>9}{r['p99_ms']:>9}{r['errors']:>8}")


if __name__ == "__main__":
    main()
