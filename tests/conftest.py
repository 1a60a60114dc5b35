"""Test fixtures. Every database test runs on SQLite and on PostgreSQL.

- VOLNET_TEST_DATABASES=sqlite,postgresql (default) chooses the backends.
- VOLNET_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is where test databases
  are created, one per xdist worker.
- With CI=true a missing PostgreSQL, Redis or Chromium fails the test instead of skipping it.
- VOLNET_TEST_SEOUL_TIME=2026-12-04T23:50 runs every test as if volnet's clock (volnet.core.clock) read that
  Seoul time when the test began: for tests that would fail only at some hour, late on a Friday or on the
  eve of a holiday. Only this process's clock moves, not the databases' now() nor the real rq worker's
  (deselect tests/notifications/test_worker.py then). Seen clean on 2026-12-03 at Friday 23:50, Saturday
  00:05, Sunday 23:59, New Year's Eve 23:55 and the eve of 설날 2027 (Friday 2027-02-05 23:55).
"""
from __future__ import annotations

import atexit
import os
import re
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from volnet import create_app
from volnet.core import clock
from volnet.extensions import db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("VOLNET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("VOLNET_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
REDIS_URL = os.environ.get("VOLNET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


SEOUL_TIME = os.environ.get("VOLNET_TEST_SEOUL_TIME", "")


@pytest.fixture(autouse=True)
def _clock_at_seoul_time():
    """With VOLNET_TEST_SEOUL_TIME set, each test starts with volnet's clock moved to that Seoul time."""
    if SEOUL_TIME:
        from datetime import datetime

        target = datetime.fromisoformat(SEOUL_TIME).replace(tzinfo=clock.SEOUL)
        clock.reset()
        clock.advance(target - clock.now())
    yield
    if SEOUL_TIME:
        clock.reset()


def need(reason: str):
    """Skip outside CI, fail loudly in CI."""
    if IN_CI:
        pytest.fail(f"CI needs this and it is missing: {reason}")
    pytest.skip(reason)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


def make_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _drop_pg_database(name: str) -> None:
    try:
        for a in _apps.values():
            with a.app_context():
                db.engine.dispose()
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # noqa: BLE001,S110 - best effort at exit
        pass


_apps: dict[str, object] = {}
_tmp = tempfile.mkdtemp(prefix="volnet-tests-")


def base_config(url: str) -> dict:
    return {
        "DATABASE_URL": url,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-0123456789",
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": "",
        "RUN_JOBS_INLINE": True,
        "SERVER_NAME": "localhost",
        "MAIL_SERVER": "",
    }


class Client(FlaskClient):
    """Requests in tests share the test's app context (and its session). In production every request
    has its own ``g``; forget the previous request's logged-in user so clients never leak into each other."""

    def open(self, *args, **kwargs):
        from flask import g

        for key in list(g):  # Flask-Login's user, Flask-Babel's locale ...
            g.pop(key, None)
        return super().open(*args, **kwargs)


def build_app(backend: str):
    if backend in _apps:
        return _apps[backend]
    if backend == "postgresql":
        if not pg_available():
            need("PostgreSQL is not reachable at " + PG_ADMIN_URL)
        # One database per test process (xdist worker), dropped at exit: parallel runs never collide.
        name = f"volnet_test_{_worker()}_{os.getpid()}"
        url = make_pg_database(name)
        atexit.register(_drop_pg_database, name)
    else:
        url = f"sqlite:///{Path(_tmp) / f'volnet-{_worker()}.sqlite3'}"
    app = create_app(base_config(url))
    app.test_client_class = Client
    with app.app_context():
        db.drop_all()
        db.create_all()
        from volnet.core.dbsetup import after_create_all

        after_create_all()
    _apps[backend] = app
    return app


_PG_WIPE: dict[str, str] = {}


def _pg_wipe_sql(conn, tables: list[str]) -> str:
    key = conn.engine.url.render_as_string()
    if key not in _PG_WIPE:
        seqs = [r[0] for r in conn.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
            "WHERE schemaname = 'public'")]
        parts = ["SET LOCAL session_replication_role = replica"]
        parts += [f'DELETE FROM "{t}"' for t in tables]
        parts += [f"ALTER SEQUENCE {s} RESTART" for s in seqs]
        _PG_WIPE[key] = "; ".join(parts)
    return _PG_WIPE[key]


def wipe(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # TRUNCATE of ~60 tables costs >1 s a test; DELETE with triggers (FK checks and the audit
                # guard) switched off for this transaction, then sequences reset, takes a few ms.
                conn.exec_driver_sql(_pg_wipe_sql(conn, tables))
            else:
                # audit_log is append-only (triggers): lift the guard for the wipe, then put it back.
                from volnet.audit.guard import install_audit_guard, remove_sqlite_guard

                remove_sqlite_guard(conn)
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
                install_audit_guard(conn)
                if conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                    conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture(params=BACKENDS)
def app(request):
    a = build_app(request.param)
    a.config.update(base_config(a.config["DATABASE_URL"]))
    ctx = a.app_context()
    ctx.push()
    try:
        yield a
    finally:
        db.session.remove()
        ctx.pop()
        clock.reset()
        wipe(a)
        from volnet.settings import services as settings_services

        settings_services.clear_cache()
        from volnet.core import cache

        cache.clear_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        need("Redis is not reachable at " + REDIS_URL)
    return REDIS_URL


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no csrf token in page"
    return m.group(1) or m.group(2)
