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


def autocommit_when(predicate):
    """Mark a view whose request, when ``predicate(request)`` holds, writes with single atomic statements
    only (on PostgreSQL it then runs in autocommit mode: no BEGIN/COMMIT round trips)."""
    def decorate(view):
        view._volnet_autocommit = predicate
        return view

    return decorate


# A pooled PostgreSQL connection idle for longer than this is checked with a ping before use.
IDLE_PING_SECONDS = 2.0


def configure_engine(app) -> None:
    """SQLite: WAL, a 10 s busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue
    instead of failing on a lock upgrade. PostgreSQL: see _configure_postgresql."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        _configure_postgresql(app, engine)
        return
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


def _configure_postgresql(app, engine) -> None:
    """Round trips are what a busy page pays for most, so:

    - a connection is pinged only when it sat idle in the pool for IDLE_PING_SECONDS (after a database
      restart or an idle timeout); under load connections are reused within milliseconds and a ping on
      every checkout (``pool_pre_ping``) would add a round trip to every request. A failed ping makes the
      pool replace the connection before the request uses it.
    - GET and HEAD requests read in autocommit mode: PostgreSQL's READ COMMITTED gives every statement
      its own snapshot anyway, so BEGIN and ROLLBACK around a page's reads would change nothing but cost
      two round trips. What such a request writes (audit rows, download counts) is a single statement each.
    """
    import time

    from flask import g, has_request_context, request
    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record):
        record.info["volnet_idle_since"] = time.monotonic()
        # None: the connection was invalidated (the server went away) and is being dropped.
        if dbapi_conn is not None and dbapi_conn.autocommit:  # back to transactions for whoever takes it next
            dbapi_conn.autocommit = False

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        since = record.info.pop("volnet_idle_since", None)
        if since is not None and time.monotonic() - since >= IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as e:  # noqa: BLE001 - any failure: this connection is gone
                raise exc.DisconnectionError() from e
        if has_request_context() and g.get("volnet_autocommit"):
            # psycopg then sends no BEGIN, and SQLAlchemy's COMMIT/ROLLBACK find no transaction to end.
            # Only the request's first connection: what runs after its first commit (alerts after a
            # report, with their savepoints) gets an ordinary transaction again.
            dbapi_conn.autocommit = True
            g.volnet_autocommit = False
            g.volnet_autocommit_used = True

    @event.listens_for(db.session, "after_commit")
    def _autocommit_window_ends(_session):
        # The first commit of a request ends its autocommit window, even where the request joined a
        # transaction already open (tests keep one session across requests).
        if has_request_context():
            g.pop("volnet_autocommit", None)

    @app.before_request
    def _reads_in_autocommit():
        # Decided here, applied when (and if) the request first uses the database.
        if request.endpoint in (None, "static"):
            return
        wanted = request.method in ("GET", "HEAD")
        if not wanted:
            predicate = getattr(app.view_functions.get(request.endpoint), "_volnet_autocommit", None)
            wanted = predicate is not None and predicate(request)
        if wanted:
            g.volnet_autocommit = True

    @app.teardown_request
    def _end_autocommit(_exc):
        # Normally the session ends with the request anyway; where it outlives the request (tests keep one
        # app context), hand the autocommit connection back so nothing after this request uses it by accident.
        g.pop("volnet_autocommit", None)
        if g.pop("volnet_autocommit_used", False):
            try:
                db.session.commit()
            except Exception:  # noqa: BLE001
                db.session.rollback()
