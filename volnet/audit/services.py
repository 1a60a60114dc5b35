"""Write audit rows. Callers never put personal data in ``detail``; CR/LF are escaped anyway."""
from __future__ import annotations

from flask import has_request_context, request

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


def record(actor, action: str, subject_type: str | None = None, subject_id=None, detail: str = "") -> None:
    """Write one audit row in the caller's transaction (a plain INSERT: busy pages write one each)."""
    actor_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    db.session.execute(_INSERT, {
        "at": clock.now(),
        "actor_id": actor_id,
        "action": _clean(action)[:40],
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else _clean(str(subject_id))[:64],
        "ip": client_ip(),
        "detail": _clean(detail),
    })


def record_denied(actor, subject_type: str, subject_id) -> None:
    record(actor, "denied", subject_type, subject_id)
