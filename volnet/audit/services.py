"""Write audit rows. Callers never put personal data in ``detail``; CR/LF are escaped anyway."""
from __future__ import annotations

from flask import g, has_request_context, request

from volnet.audit.models import AuditLog
from volnet.core import clock
from volnet.extensions import db


def _clean(text: str) -> str:
    return (text or "").replace("\r", "\\r").replace("\n", "\\n")[:300]


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:64] or None


_INSERT = AuditLog.__table__.insert()


def _row(actor, action: str, subject_type: str | None, subject_id, detail: str) -> dict:
    actor_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    return {
        "at": clock.now(),
        "actor_id": actor_id,
        "action": _clean(action)[:40],
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else _clean(str(subject_id))[:64],
        "ip": client_ip(),
        "detail": _clean(detail),
    }


def _pending_on_read() -> None:
    # A GET page's audit rows are committed when the request ends (core.web._commit_audit), after the
    # page is rendered: a commit in the view would expire what it loaded, and the template would read
    # every row again. Other requests commit their audit rows with their own change.
    if has_request_context() and request.method in ("GET", "HEAD"):
        g.audit_dirty = True


def record(actor, action: str, subject_type: str | None = None, subject_id=None, detail: str = "") -> None:
    """Write one audit row in the caller's transaction (a plain INSERT: busy pages write one each)."""
    db.session.execute(_INSERT, _row(actor, action, subject_type, subject_id, detail))
    _pending_on_read()


def record_many(actor, action: str, subject_type: str, subject_ids, detail: str = "") -> None:
    """One audit row per subject (a page showing several screenings, a route's households), sent as one
    batch of INSERTs instead of one statement each."""
    rows = [_row(actor, action, subject_type, sid, detail) for sid in subject_ids]
    if rows:
        db.session.execute(_INSERT, rows)
        _pending_on_read()


def record_denied(actor, subject_type: str, subject_id) -> None:
    record(actor, "denied", subject_type, subject_id)
