"""Against real services: our own redis-server on a spare port and real worker processes
(`flask volnet worker`: RQ SimpleWorker with the scheduler), sharing the test database file / PostgreSQL
database. The worker has its own (real) clock, so these tests use send times in the real present."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests import builders as b
from tests.conftest import need
from tests.notifications.builders import person, recorded, rows
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services
from volnet.settings import services as settings

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private, throw-away redis-server (never the machine's shared one)."""

    def __init__(self):
        self.port = _free_port()
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture(scope="module")
def redis_server():
    if shutil.which("redis-server") is None:
        need("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(app, redis_server):
    """Start worker processes for this test's database; everything started is killed at the end."""
    if redis_server.proc is None:
        redis_server.start()
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    started: list[subprocess.Popen] = []
    app.config.update(REDIS_URL=redis_server.url, RUN_JOBS_INLINE=None, NOTIFY_LEASE_SECONDS=3,
                      NOTIFY_REQUEUE_SECONDS=2, NOTIFY_SWEEP_SECONDS=1)
    # The worker's clock is the real one: no quiet hours in these tests.
    settings.put("notify.quiet_start", "00:00")
    settings.put("notify.quiet_end", "00:00")
    db.session.commit()

    def start(send_delay: float = 0.0) -> subprocess.Popen:
        env = dict(os.environ, VOLNET_DATABASE_URL=app.config["DATABASE_URL"], VOLNET_REDIS_URL=redis_server.url,
                   VOLNET_SECRET_KEY="test-secret-key-0123456789", VOLNET_NOTIFY_SWEEP_SECONDS="1",
                   VOLNET_NOTIFY_LEASE_SECONDS="3", VOLNET_NOTIFY_REQUEUE_SECONDS="2",
                   VOLNET_NOTIFY_SEND_DELAY=str(send_delay), VOLNET_MAIL_SERVER="")
        env.pop("VOLNET_ENV_MODE", None)
        logfile = os.environ.get("VOLNET_TEST_WORKER_LOG")  # debugging: where the workers' logs go
        out = open(logfile, "ab") if logfile else subprocess.DEVNULL  # noqa: SIM115
        p = subprocess.Popen([FLASK, "--app", "wsgi", "volnet", "worker"], cwd=str(ROOT), env=env,
                             stdout=out, stderr=out, start_new_session=True)
        started.append(p)
        return p

    yield start
    for p in started:
        kill(p)
    for k in ("NOTIFY_LEASE_SECONDS", "NOTIFY_REQUEUE_SECONDS", "NOTIFY_SWEEP_SECONDS"):
        app.config.pop(k, None)


def kill(p: subprocess.Popen) -> None:
    """SIGKILL the worker and its scheduler process (its own process group)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(5)


def wait_for(pred, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        ok = pred()
        db.session.rollback()  # never hold a transaction (SQLite: the write lock) while waiting
        if ok:
            return True
        time.sleep(0.1)
    return False


def _states():
    return {r.state for r in rows()}


def test_a_reminder_is_delivered_once_at_its_time(app, workers):
    u = person(channels=["sms"])
    db.session.commit()
    workers()
    send_at = clock.now() + timedelta(seconds=2)
    services.notify(u, "k", {}, send_at=send_at, dedupe_key="shift:1:u1:r2")
    db.session.commit()
    services.after_commit_dispatch()
    assert _states() == {"pending"}
    db.session.rollback()
    assert wait_for(lambda: _states() == {"sent"}, 20), [(r.channel, r.state, r.last_error) for r in rows()]
    sms = rows(channel="sms")[0]
    assert sms.sent_at >= send_at
    db.session.rollback()
    time.sleep(1.5)  # more sweeps of the real worker
    assert recorded(sms.id) == 1 and recorded() == 1


def test_a_worker_killed_mid_delivery_leads_to_exactly_one_delivery(app, workers):
    u = person(channels=["sms"])
    db.session.commit()
    slow = workers(send_delay=30)  # the provider hangs: we kill the worker while it "sends"
    services.notify(u, "k", {}, dedupe_key="kill-me", channels=["sms"])
    db.session.commit()
    services.after_commit_dispatch()
    assert wait_for(lambda: rows(channel="sms")[0].state == "sending", 20)
    kill(slow)
    assert recorded() == 0
    db.session.rollback()
    workers()  # a fresh worker: the lease (3 s) expires and the sweep hands the row out again
    assert wait_for(lambda: rows(channel="sms")[0].state == "sent", 25)
    db.session.rollback()
    time.sleep(1.5)
    sms = rows(channel="sms")[0]
    assert recorded(sms.id) == 1 and sms.attempts == 2


def test_with_redis_down_reports_are_saved_and_messages_go_out_when_it_is_back(app, client, workers,
                                                                                 redis_server):
    d = b.dong()
    cw = person("caseworker", dongs=[d], channels=["sms"])
    rep = b.user("honorary", dongs=[d])
    h = b.household(d)
    db.session.commit()
    redis_server.stop()
    try:
        b.login(client, rep)
        resp = client.post("/report/new", data={
            "household_id": str(h.id), "dong_id": str(d.id), "urgency": "emergency", "signals": ["unreachable"],
            "note": "대답이 없어요", "client_token": "tok-redis-down"})
        assert resp.status_code == 302
        assert client.get(resp.headers["Location"]).status_code == 200
        other = person("volunteer", channels=["kakao"])
        services.notify(other, "k", {}, dedupe_key="while-down")
        db.session.commit()
        services.after_commit_dispatch()  # cannot enqueue: no error, the rows wait in the database
        assert _states() == {"pending"}
        assert all(r.enqueued_at is None for r in rows())
        health = client.get("/health").get_json()
        assert health["status"] == "degraded" and health["redis"] == "down"
    finally:
        redis_server.start()  # back, and empty
    db.session.rollback()
    workers()
    assert wait_for(lambda: _states() == {"sent"}, 20), [(r.channel, r.state) for r in rows()]
    db.session.rollback()
    time.sleep(1.5)
    # Each message sent once. (Past the morning digest time the real worker also sends the caseworker's
    # digest, which is right and not what this test is about: count by message, not by channel.)
    alert = rows(recipient_id=cw.id, channel="sms", kind="concern_emergency")
    kakao = rows(recipient_id=other.id, channel="kakao")
    assert len(alert) == 1 and len(kakao) == 1
    assert recorded(alert[0].id) == 1 and recorded(kakao[0].id) == 1
    assert alert[0].urgent
