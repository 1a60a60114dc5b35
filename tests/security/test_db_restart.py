"""PostgreSQL restarted while volnet is in use: one "busy, try again" page at most, then everything works,
and nothing saved before or after is lost.

Pooled connections are pinged only after a couple of seconds idle (volnet.core.dbsetup), so a request
right after a restart may meet a dead connection: it must get the 503 page, the pool must drop every
connection of the old server, and the next request must work. Runs on a private, throw-away PostgreSQL
(initdb into a temporary directory, a spare port), never the machine's shared server.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.conftest import base_config, need
from volnet import create_app
from volnet.extensions import db
from volnet.observations.models import Observation

pytestmark = pytest.mark.xdist_group("private-postgresql")


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """initdb + pg_ctl as the postgres user (PostgreSQL refuses to run as root)."""

    def __init__(self, root: Path):
        self.dir = root / "pgdata"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.dir.mkdir()
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run(_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")

    def _ctl(self, action: str) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c full_page_writes=off -c shared_buffers=16MB")
        self._run(_bin("pg_ctl"), "-D", str(self.dir), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "30",
                  *(["-m", "fast"] if action != "start" else []), action)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._ctl("stop")
        except Exception:  # noqa: BLE001 - already stopped
            pass


@pytest.fixture
def private_pg():
    if not _bin("initdb") or not _bin("pg_ctl"):
        need("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # A directory of its own under /tmp: the postgres user must reach it (pytest's tmp_path is private to root).
    root = Path(tempfile.mkdtemp(prefix="volnet-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _report(client, household_id: int, dong_id: int, token: str):
    return client.post("/report/new", data={
        "household_id": str(household_id), "dong_id": str(dong_id), "urgency": "routine",
        "signals": ["mail_piling"], "note": token, "client_token": token})


def test_postgresql_restart_under_use_costs_at_most_one_busy_page_and_loses_nothing(private_pg):
    from volnet.core import cache
    from volnet.core.dbsetup import after_create_all
    from volnet.settings import services as settings_services

    app = create_app(base_config(private_pg.url))
    try:
        with app.app_context():
            db.create_all()
            after_create_all()
            d = b.dong()
            cw = b.user("caseworker", [d])
            rep = b.user("honorary", [d])
            h = b.household(d, road="관악로 145")
            db.session.flush()
            ids = {"d": d.id, "h": h.id}
            logins = {"cw": cw.login_id, "rep": rep.login_id}
            db.session.commit()
        caseworker, reporter = app.test_client(), app.test_client()
        for client, login_id in ((caseworker, logins["cw"]), (reporter, logins["rep"])):
            resp = client.post("/account/login", data={"login_id": login_id, "password": b.PASSWORD})
            assert resp.status_code == 302 and "login" not in resp.headers["Location"]

        # No outer app context from here: every request has its own session, as in production.
        r0 = _report(reporter, ids["h"], ids["d"], "before-restart")
        assert r0.status_code == 302 and "/report/sent/" in r0.headers["Location"], r0.headers.get("Location")
        assert "관악로 145" in caseworker.get("/concerns/").get_data(as_text=True)

        private_pg.restart()

        statuses = []
        for _ in range(3):
            resp = caseworker.get("/concerns/")
            statuses.append(resp.status_code)
            if resp.status_code == 503:
                page = resp.get_data(as_text=True)
                assert "다시 시도" in page and resp.headers["Retry-After"] == "5"  # "please try again"
            else:
                assert resp.status_code == 200 and "관악로 145" in resp.get_data(as_text=True)
        assert statuses.count(503) <= 1 and statuses[-2:] == [200, 200], statuses

        # A report sent right after the restart: saved (at worst after one "try again" with the same form).
        sent = [_report(reporter, ids["h"], ids["d"], "after-restart").status_code]
        if sent[0] == 503:
            sent.append(_report(reporter, ids["h"], ids["d"], "after-restart").status_code)
        assert sent[-1] == 302 and sent.count(503) <= 1, sent
        assert _report(reporter, ids["h"], ids["d"], "after-restart-2").status_code == 302

        with app.app_context():
            tokens = set(db.session.scalars(select(Observation.client_token)))
            assert tokens == {"before-restart", "after-restart", "after-restart-2"}
            assert db.session.scalar(select(func.count()).select_from(Observation)) == 3
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        settings_services.clear_cache()
        cache.clear_all()
