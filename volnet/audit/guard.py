"""The audit log is append-only: a database trigger refuses UPDATE and DELETE of ``audit_log`` rows.

``install_audit_guard(conn)`` is called by the Alembic migration (``install_audit_guard(op.get_bind())``)
and by ``volnet.core.dbsetup.after_create_all`` (tests, ``create_all`` set-ups).

Purging rows past the retention period is the one controlled exception (``purge_before``):

- PostgreSQL: the trigger function lets a DELETE through only when the transaction has set
  ``SET LOCAL volnet.audit_purge = 'on'`` *and* the row is older than two years (the legal minimum),
  so even the purge cannot remove recent rows. UPDATE is always refused.
  ``TRUNCATE`` (used by the test suite to wipe tables) does not fire row-level triggers.
  For a stronger guarantee in production, run the application as a role without UPDATE/DELETE on
  ``audit_log`` and the purge as the owning role.
- SQLite: the triggers are dropped and re-created inside the purge transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

MIN_RETENTION = timedelta(days=730)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION volnet_audit_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND coalesce(current_setting('volnet.audit_purge', true), '') = 'on'
     AND OLD.at < now() - interval '730 days' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit log is append-only';
END;
$$ LANGUAGE plpgsql
"""

SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)


def install_audit_guard(conn) -> None:
    """Create (or re-create) the append-only triggers on ``audit_log``. ``conn``: a SQLAlchemy Connection."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text(PG_FUNCTION))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_guard ON audit_log"))
        conn.execute(text(
            "CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION volnet_audit_guard()"))
    elif dialect == "sqlite":
        for stmt in SQLITE_TRIGGERS:
            conn.execute(text(stmt))


def remove_sqlite_guard(conn) -> None:
    conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
    conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))


def purge_before(cutoff: datetime, dry_run: bool = False) -> int:
    """Delete audit rows older than ``cutoff`` (never newer than two years ago). Runs in the caller's
    transaction (``db.session``); the caller commits."""
    from sqlalchemy import delete, func, select

    from volnet.audit.models import AuditLog
    from volnet.core import clock
    from volnet.extensions import db

    cutoff = min(cutoff, clock.now() - MIN_RETENTION)
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.at < cutoff)) or 0
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL volnet.audit_purge = 'on'"))
        res = conn.execute(delete(AuditLog).where(AuditLog.at < cutoff))
        conn.execute(text("SET LOCAL volnet.audit_purge = 'off'"))
    elif conn.dialect.name == "sqlite":
        remove_sqlite_guard(conn)
        res = conn.execute(delete(AuditLog).where(AuditLog.at < cutoff))
        install_audit_guard(conn)
    else:  # pragma: no cover
        res = conn.execute(delete(AuditLog).where(AuditLog.at < cutoff))
    return res.rowcount or 0
