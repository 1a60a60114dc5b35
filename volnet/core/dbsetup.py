"""Database set-up that models cannot express (run after create_all in tests; migrations do the same)."""
from __future__ import annotations

from sqlalchemy import text

from volnet.extensions import db


def after_create_all() -> None:
    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as conn:
            conn.execute(text("PRAGMA journal_mode=WAL"))
    from volnet.audit.guard import install_audit_guard

    with db.engine.begin() as conn:
        install_audit_guard(conn)  # audit_log is append-only (the migration calls this too)


def configure_engine(app) -> None:
    """SQLite: WAL, a 10 s busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue
    instead of failing on a lock upgrade. PostgreSQL needs nothing here."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
