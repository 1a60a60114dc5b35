"""Shared helpers for volnet benchmarks (bench/*.py). Loopback only, bounded in time, no dependencies.

- ``create_database`` / ``drop_database``: a throw-away PostgreSQL database for one benchmark.
- ``copy_rows``: COPY rows into a table, filling NOT NULL columns you left out from the model defaults.
- ``Gunicorn``: start gunicorn (sync workers) on a free 127.0.0.1 port, wait until it answers, stop it.
- ``Client``: a keep-alive HTTP/1.1 client with a cookie jar (``login`` gets a session cookie).
- ``run_load``: N concurrent clients (threads spread over a few processes, so the client's own GIL does
  not inflate the latencies), warm-up then a measured window; median / p95 / p99 latency and requests/s,
  plus the CPU the server processes used per request.
- ``print_table``: a plain text table of results.

Typical use::

    from bench.common import Gunicorn, run_load
    with Gunicorn("wsgi:app", env={"VOLNET_DATABASE_URL": url, ...}) as srv:
        def setup(client, idx):          # runs once per client before the clock starts
            client.login("cw01", "secret")
        def step(client, idx, n, state): # one request; return (label, ok)
            status, body = client.get("/concerns/")
            return "queue", status == 200
        result = run_load(srv.port, setup, step, clients=16, warmup=3, duration=20,
                          server_pids=srv.worker_pids())
"""
from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # every benchmark talks to the loopback interface only
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")


# --------------------------------------------------------------------------------------------- database

def db_url(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    return f"{admin_url.rstrip('/')}/{name}"


def _admin_conn(admin_url: str):
    import psycopg

    return psycopg.connect(f"{admin_url.rstrip('/')}/postgres", autocommit=True)


def database_exists(name: str, admin_url: str = PG_ADMIN_URL) -> bool:
    with _admin_conn(admin_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop_database(name: str, admin_url: str = PG_ADMIN_URL) -> None:
    from psycopg import sql

    assert name.startswith("volnet_bench"), "benchmarks only drop their own databases"
    with _admin_conn(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    """Drop (if present) and create ``name``; returns its URL."""
    from psycopg import sql

    drop_database(name, admin_url)
    with _admin_conn(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name)))
    return db_url(name, admin_url)


def _column_fill(col, now):
    """A value for a NOT NULL column the caller did not give: the model's scalar or callable default."""
    default = col.default
    if default is None:
        raise ValueError(f"{col.table.name}.{col.name} is NOT NULL without a default; give it explicitly")
    if default.is_callable:
        arg = default.arg
        try:
            value = arg(None)
        except TypeError:
            value = arg()
        if value.__class__.__name__ == "datetime" and getattr(value, "tzinfo", None) is not None:
            value = now
    else:
        value = default.arg
    return value


def copy_rows(conn, table, columns: list[str], rows: Iterable[tuple], now=None) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into the SQLAlchemy ``table`` with psycopg ``conn``.

    NOT NULL columns missing from ``columns`` get the model's default, so a column another engineer adds
    later does not break the benchmark. Lists and dicts are written as JSON.
    """
    from datetime import UTC, datetime

    now = now or datetime.now(UTC)
    given = set(columns)
    extra_cols, extra_vals = [], []
    for col in table.columns:
        if col.name in given or col.nullable or col.primary_key or col.server_default is not None:
            continue
        extra_cols.append(col.name)
        extra_vals.append(_column_fill(col, now))
    extra = tuple(json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for v in extra_vals)
    cols = ", ".join(f'"{c}"' for c in list(columns) + extra_cols)
    json_idx = [i for i, c in enumerate(columns) if _is_json(table.columns[c])]
    n = 0
    with conn.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as cp:
        for row in rows:
            if json_idx:
                row = list(row)
                for i in json_idx:
                    if row[i] is not None:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
            cp.write_row(tuple(row) + extra)
            n += 1
    return n


def _is_json(col) -> bool:
    return "JSON" in type(col.type).__name__.upper() or "JSON" in repr(col.type).upper()


def reset_sequences(conn, tables: Iterable[str]) -> None:
    """After COPY with explicit ids: move each table's id sequence past the largest id."""
    for t in tables:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT max(id) FROM \"{t}\"), 0) + 1, false)"
        )


# --------------------------------------------------------------------------------------------- gunicorn

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Gunicorn:
    """gunicorn with sync workers (2 x cores + 1 by default) on a free loopback port."""

    def __init__(self, app_spec: str, env: dict | None = None, workers: int | None = None,
                 port: int | None = None, log_path: Path | None = None, ready_path: str = "/",
                 cwd: Path = ROOT, timeout: float = 120.0):
        self.app_spec = app_spec
        self.env = {**os.environ, **(env or {})}
        self.workers = workers or 2 * cores() + 1
        self.port = port or free_port()
        self.log_path = log_path
        self.ready_path = ready_path
        self.cwd = cwd
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Gunicorn:
        exe = Path(sys.executable).with_name("gunicorn")
        cmd = [str(exe) if exe.exists() else shutil.which("gunicorn") or "gunicorn",
               "-w", str(self.workers), "-k", "sync", "-b", f"{HOST}:{self.port}",
               "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning", self.app_spec]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdout=log, stderr=log,
                                     start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=2)
                c.request("GET", self.ready_path)
                c.getresponse().read()
                c.close()
                if len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {self.timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return _children(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)  # the master stops its own workers
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only (start_new_session)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds (Linux /proc); vanished processes are left out."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            out[pid] = (int(parts[11]) + int(parts[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> tuple[float, bool]:
    """CPU used between two snapshots; new processes count from zero. True if some process vanished."""
    used = sum(v - before.get(pid, 0.0) for pid, v in after.items())
    return used, any(pid not in after for pid in before)


def backend_pids(url: str) -> list[int]:
    """PostgreSQL backend pids connected to the database of ``url`` (other than this query's own)."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (name,)).fetchall()
    return [r[0] for r in rows]


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        vals = [int(v) for v in fh.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return (total - idle) / tick, total / tick


# --------------------------------------------------------------------------------------------- client

class HTTPError(RuntimeError):
    pass


class Client:
    """Keep-alive HTTP/1.1 to 127.0.0.1 with a cookie jar. Redirects are not followed."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, form: dict | list | None = None,
                headers: dict | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        body = None
        hdrs = {"Connection": "keep-alive", "Accept-Language": "ko"}
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if headers:
            hdrs.update(headers)
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if attempt == 2:
                    raise
        for value in resp.headers.get_all("Set-Cookie") or []:
            pair = value.split(";", 1)[0]
            if "=" in pair:
                k, v = pair.split("=", 1)
                if v and "max-age=0" not in value.lower() and "expires=thu, 01 jan 1970" not in value.lower():
                    self.cookies[k.strip()] = v.strip()
                else:
                    self.cookies.pop(k.strip(), None)
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        return resp.status, data, resp

    def get(self, path: str) -> tuple[int, bytes]:
        status, data, _ = self.request("GET", path)
        return status, data

    def post(self, path: str, form: dict | list) -> tuple[int, bytes]:
        status, data, _ = self.request("POST", path, form=form)
        return status, data

    def login(self, login_id: str, password: str, path: str = "/account/login") -> None:
        """Log in (CSRF must be off for benchmarks: VOLNET_WTF_CSRF_ENABLED=false)."""
        self.cookies.clear()
        status, data, resp = self.request("POST", path, form={"login_id": login_id, "password": password})
        if status != 302 or "login" in (resp.getheader("Location") or "").split("?")[0]:
            raise HTTPError(f"login as {login_id} failed: HTTP {status} {data[:200]!r}")


# --------------------------------------------------------------------------------------------- load

@dataclass
class Result:
    name: str
    clients: int
    duration: float
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    median_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    by_label: dict = field(default_factory=dict)
    server_cpu_ms_per_req: float | None = None
    db_cpu_ms_per_req: float | None = None
    client_cpu_share: float | None = None
    others_share: float | None = None
    machine_busy: float | None = None
    notes: list = field(default_factory=list)
    error_samples: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _pct(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return 0.0
    k = (len(sorted_vals) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def _summary(lat: list[float]) -> dict:
    s = sorted(lat)
    return {"n": len(s), "median_ms": round(_pct(s, 0.5) * 1000, 2), "p95_ms": round(_pct(s, 0.95) * 1000, 2),
            "p99_ms": round(_pct(s, 0.99) * 1000, 2)}


def _client_proc(port, setup, step, thread_ids, ready_q, go, times, out_q, max_requests):
    """One client process: a thread per client; results (label, ok, latency, in_window) back to the parent."""
    results: list = []
    lock = threading.Lock()
    setup_errors: list = []

    def worker(idx):
        client = Client(port)
        state: dict = {}
        failed = False
        try:
            setup(client, idx, state)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            setup_errors.append(f"client {idx}: {exc}")
            failed = True
        ready_barrier.wait()
        if failed:
            return
        go.wait(timeout=600)
        warm_end, end = times[1], times[2]
        local = []
        n = 0
        while n < max_requests:
            t0 = time.time()
            if t0 >= end:
                break
            try:
                label, ok, *info = step(client, idx, n, state)
            except StopIteration as exc:
                local.append(("_stopped", False, 0.0, False, str(exc)))
                break
            except Exception as exc:  # noqa: BLE001 - counted as an error, the client goes on
                label, ok, info = "_exception", False, [repr(exc)[:200]]
                client.close()
            t1 = time.time()
            local.append((label, ok, t1 - t0, warm_end <= t0 and t1 <= end, info[0] if info else ""))
            n += 1
        client.close()
        with lock:
            results.extend(local)

    ready_barrier = threading.Barrier(len(thread_ids) + 1)
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in thread_ids]
    for t in threads:
        t.start()
    try:
        ready_barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        pass
    ready_q.put(setup_errors[:])
    for t in threads:
        t.join(timeout=900)
    cpu = time.process_time()
    out_q.put((results, setup_errors, cpu))


def run_load(name: str, port: int, setup: Callable, step: Callable, clients: int = 16, warmup: float = 3.0,
             duration: float = 20.0, processes: int = 2, server_pids: Iterable[int] = (),
             db_pids: Callable[[], Iterable[int]] | Iterable[int] = (),
             max_requests_per_client: int = 1_000_000) -> Result:
    """Run ``clients`` concurrent clients against 127.0.0.1:``port``.

    ``server_pids`` and ``db_pids`` may be lists or functions returning the pids (called at both ends
    of the window, so restarted workers are noticed). ``setup(client, idx, state)`` runs once per client before the clock starts (log in there);
    ``step(client, idx, n, state)`` makes one request and returns ``(label, ok)`` or ``(label, ok, note)``;
    it may raise StopIteration to end that client early. Only requests that start after the warm-up
    and finish before the end count. ``server_pids`` (gunicorn workers) and ``db_pids`` (database
    backends, or a function returning them once the clients are connected) give CPU per request; the
    machine's CPU not used by server, database or clients is reported as ``others_share`` (noise from
    other work on the machine).
    """
    ctx = mp.get_context("fork")
    processes = max(1, min(processes, clients))
    ready_q, out_q = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    times = ctx.Array("d", 3)
    procs = []
    for p in range(processes):
        ids = list(range(p, clients, processes))
        pr = ctx.Process(target=_client_proc, args=(port, setup, step, ids, ready_q, go, times, out_q,
                                                   max_requests_per_client), daemon=True)
        pr.start()
        procs.append(pr)
    setup_errors = []
    for _ in procs:
        setup_errors += ready_q.get(timeout=900)
    start = time.time() + 0.05
    times[0], times[1], times[2] = start, start + warmup, start + warmup + duration
    go.set()
    def _pids(src):
        return list(src() if callable(src) else src)

    # CPU counters around the measured window
    time.sleep(max(0.0, times[1] - time.time()))
    srv0, busy0, client0 = cpu_by_pid(_pids(server_pids)), machine_busy_seconds(), cpu_seconds(p.pid for p in procs)
    db0 = cpu_by_pid(_pids(db_pids))
    time.sleep(max(0.0, times[2] - time.time()))
    srv1, busy1, client1 = cpu_by_pid(_pids(server_pids)), machine_busy_seconds(), cpu_seconds(p.pid for p in procs)
    db1 = cpu_by_pid(list(db0) + _pids(db_pids))
    srv_used, srv_lost = _cpu_delta(srv0, srv1)
    db_used, _db_lost = _cpu_delta(db0, db1)
    pids = list(srv0)
    rows, cpu_total = [], 0.0
    for _ in procs:
        try:
            r, errs, cpu = out_q.get(timeout=120)
        except queue_mod.Empty:
            break
        rows += r
        cpu_total += cpu
    for pr in procs:
        pr.join(timeout=10)
        if pr.is_alive():
            pr.kill()
    res = Result(name=name, clients=clients, duration=duration)
    window = [r for r in rows if r[3]]
    ok_lat = [r[2] for r in window if r[1]]
    res.requests = len(window)
    res.errors = sum(1 for r in window if not r[1])
    res.error_samples = sorted({f"{r[0]}: {r[4]}" for r in rows if not r[1]})[:5]
    res.rps = len(ok_lat) / duration
    if ok_lat:
        s = sorted(ok_lat)
        res.median_ms = _pct(s, 0.5) * 1000
        res.p95_ms = _pct(s, 0.95) * 1000
        res.p99_ms = _pct(s, 0.99) * 1000
        res.mean_ms = statistics.fmean(s) * 1000
        res.max_ms = s[-1] * 1000
    labels = sorted({r[0] for r in window})
    if len(labels) > 1:
        res.by_label = {lab: _summary([r[2] for r in window if r[0] == lab and r[1]]) for lab in labels}
    if pids and ok_lat:
        res.server_cpu_ms_per_req = srv_used * 1000 / len(ok_lat)
        if srv_lost:
            res.notes.append("a server worker exited during the window (timeout?): its CPU is not counted")
    if db0 and ok_lat:
        res.db_cpu_ms_per_req = db_used * 1000 / len(ok_lat)
    busy = busy1[0] - busy0[0]
    total = busy1[1] - busy0[1]
    res.machine_busy = busy / total if total else None
    if total:
        res.client_cpu_share = (client1 - client0) / total
        res.others_share = max(0.0, busy - (client1 - client0) - srv_used - db_used) / total
    if setup_errors:
        res.notes.append(f"{len(setup_errors)} clients failed to set up: {setup_errors[:3]}")
    stopped = [r for r in rows if r[0] == "_stopped"]
    if stopped:
        res.notes.append(f"{len(stopped)} clients stopped early: {stopped[0][4]}")
    return res


def print_table(results: list[Result], out=sys.stdout) -> None:
    """busy: share of the whole machine's CPU in use; others: share used by processes outside the test."""
    head = ("scenario", "req", "err", "req/s", "median ms", "p95 ms", "p99 ms", "app CPU ms/req",
            "db CPU ms/req", "busy", "others")
    rows = [head]
    for r in results:
        rows.append((r.name, str(r.requests), str(r.errors), f"{r.rps:.0f}", f"{r.median_ms:.1f}",
                     f"{r.p95_ms:.1f}", f"{r.p99_ms:.1f}",
                     f"{r.server_cpu_ms_per_req:.2f}" if r.server_cpu_ms_per_req is not None else "-",
                     f"{r.db_cpu_ms_per_req:.2f}" if r.db_cpu_ms_per_req is not None else "-",
                     f"{r.machine_busy:.0%}" if r.machine_busy is not None else "-",
                     f"{r.others_share:.0%}" if r.others_share is not None else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(row)), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
