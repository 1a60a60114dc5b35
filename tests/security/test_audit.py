"""Audit that lasts: reads, changes, logins, failures and denials, with actor, subject, time and address;
append-only in the database; purged only past the retention period; reviewed monthly."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from tests import builders as b
from tests.security.builders import two_dongs
from volnet.audit.guard import purge_before
from volnet.audit.models import AuditLog, AuditReview
from volnet.audit.services import record
from volnet.core import clock
from volnet.extensions import db


def _rows(**where):
    stmt = select(AuditLog)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditLog, k) == v)
    return list(db.session.scalars(stmt))


def test_reads_changes_logins_and_denials_are_recorded(app, client):
    w = two_dongs()
    db.session.commit()
    ip = "10.20.30.40"
    client.post("/account/login", data={"login_id": w["cw_a"].login_id, "password": "wrong wrong"},
                environ_base={"REMOTE_ADDR": ip})
    client.post("/account/login", data={"login_id": w["cw_a"].login_id, "password": b.PASSWORD},
                environ_base={"REMOTE_ADDR": ip})
    client.get(f"/households/{w['h_a'].id}", environ_base={"REMOTE_ADDR": ip})
    client.get(f"/households/{w['h_b'].id}", environ_base={"REMOTE_ADDR": ip})
    client.post(f"/concerns/{w['c_a'].id}/acknowledge", environ_base={"REMOTE_ADDR": ip})
    failed = _rows(action="login_failed")
    assert failed and failed[0].ip == ip and failed[0].subject_id == str(w["cw_a"].id)
    assert _rows(action="login", actor_id=w["cw_a"].id)
    read = _rows(action="view", subject_type="households", subject_id=str(w["h_a"].id))
    assert read and read[0].actor_id == w["cw_a"].id and read[0].ip == ip and read[0].at is not None
    denied = _rows(action="denied", subject_id=str(w["h_b"].id))
    assert denied and denied[0].actor_id == w["cw_a"].id
    assert _rows(action="acknowledge", subject_type="concern", subject_id=str(w["c_a"].id))
    # no personal data in the log lines
    for row in db.session.scalars(select(AuditLog)):
        assert "주민" not in (row.detail or "") and "비밀메모" not in (row.detail or "")


def test_cr_lf_are_escaped(app):
    record(None, "login_failed", "user", "1\r\nforged line", detail="a\nb\rc")
    db.session.commit()
    row = db.session.scalar(select(AuditLog))
    assert "\n" not in row.detail and "\r" not in row.detail and "\n" not in row.subject_id
    assert row.detail == "a\\nb\\rc"


def test_the_application_cannot_edit_or_delete_audit_rows(app):
    record(None, "login", "user", 1)
    db.session.commit()
    row = db.session.scalar(select(AuditLog))
    row.detail = "rewritten"
    with pytest.raises(DatabaseError):
        db.session.commit()
    db.session.rollback()
    for stmt in (update(AuditLog).values(detail="x"), delete(AuditLog),
                 text("UPDATE audit_log SET action = 'x'"), text("DELETE FROM audit_log")):
        with pytest.raises(DatabaseError):
            db.session.execute(stmt)
            db.session.commit()
        db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.delete(db.session.scalar(select(AuditLog)))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 1
    assert db.session.scalar(select(AuditLog.detail)) == ""


def test_purge_removes_only_rows_past_two_years(app):
    now = clock.now()
    db.session.add_all([
        AuditLog(action="view", at=now - timedelta(days=365 * 3), subject_type="households", subject_id="1"),
        AuditLog(action="view", at=now - timedelta(days=400), subject_type="households", subject_id="2"),
        AuditLog(action="view", at=now - timedelta(days=1), subject_type="households", subject_id="3"),
    ])
    db.session.commit()
    assert purge_before(now, dry_run=True) == 1  # asking for "everything" still keeps two years
    assert purge_before(now) == 1
    db.session.commit()
    left = sorted(db.session.scalars(select(AuditLog.subject_id)))
    assert left == ["2", "3"]
    # and the guard is back afterwards
    with pytest.raises(DatabaseError):
        db.session.execute(delete(AuditLog))
        db.session.commit()
    db.session.rollback()


def test_postgres_guard_refuses_recent_rows_even_in_purge_mode(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL trigger")
    record(None, "login", "user", 1)
    db.session.commit()
    with pytest.raises(DatabaseError):
        db.session.execute(text("SET LOCAL volnet.audit_purge = 'on'"))
        db.session.execute(delete(AuditLog))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 1


def _seoul(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=clock.SEOUL).astimezone(UTC)


def test_monthly_review_lists_unusual_access_and_records_the_review(app, client):
    w = two_dongs()
    cw = w["cw_a"]
    db.session.add(AuditLog(actor_id=cw.id, action="view", subject_type="households", subject_id=str(w["h_a"].id),
                            at=_seoul(2026, 10, 14, 23, 30)))  # off hours
    db.session.add(AuditLog(actor_id=cw.id, action="view", subject_type="households", subject_id=str(w["h_b"].id),
                            at=_seoul(2026, 10, 15, 10)))  # another dong's household
    db.session.add(AuditLog(actor_id=cw.id, action="denied", subject_type="concerns", subject_id=str(w["c_b"].id),
                            at=_seoul(2026, 10, 15, 11)))
    for i in range(51):  # more than 50 households in a day
        db.session.add(AuditLog(actor_id=cw.id, action="view", subject_type="households", subject_id=str(10_000 + i),
                                at=_seoul(2026, 10, 20, 10, i)))
    # someone in dong B only: not the dong A team lead's to review
    db.session.add(AuditLog(actor_id=w["cw_b"].id, action="view", subject_type="households",
                            subject_id=str(w["h_b"].id), at=_seoul(2026, 10, 14, 23, 45)))
    db.session.commit()
    clock.freeze(_seoul(2026, 11, 3, 9))
    client.set_cookie("volnet_lang", "en")
    b.login(client, w["lead_a"])
    r = client.get("/privacy/review?month=2026-10")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    assert page.count(cw.login_id) == 4, page  # off hours, volume, outside dong, denied
    assert w["cw_b"].login_id not in page
    assert "51" in page
    r = client.post("/privacy/review", data={"month": "2026-10", "note": "야간 열람 1건: 긴급 대응 확인"})
    assert r.status_code == 302
    review = db.session.scalar(select(AuditReview))
    assert review.reviewer_id == w["lead_a"].id and review.month == "2026-10" and review.findings == 4
    assert "Reviewed on" in client.get("/privacy/review?month=2026-10").get_data(as_text=True)
    assert client.get("/privacy/review?month=2024-13").status_code == 200  # a bad month is a message, not a 500
    other = app.test_client()
    b.login(other, cw)
    assert other.get("/privacy/review").status_code == 404  # caseworkers do not review


def test_failed_logins_and_lockouts_name_the_account_and_the_dongs_team_lead_sees_them(app, client):
    """Seven wrong passwords for a nurse: the failed-login rows and the lock row name her account; her dong's
    team lead finds them in the audit log (another dong's team lead does not), and so does an admin."""
    from volnet.audit.models import AuditLog

    d, other_dong = b.dong(), b.dong()
    nurse = b.user("nurse", [d], name="최간호", login_id="nurse7")
    lead = b.user("team_lead", [d])
    other_lead = b.user("team_lead", [other_dong])
    admin = b.user("admin")
    db.session.commit()
    for _ in range(7):
        r = client.post("/account/login", data={"login_id": "nurse7", "password": "wrong wrong"})
    assert r.status_code == 429
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action.in_(("login_failed", "login_locked")))))
    assert {r.action for r in rows} == {"login_failed", "login_locked"}
    assert {r.subject_id for r in rows} == {str(nurse.id)}

    for reader, sees in ((lead, True), (other_lead, False), (admin, True)):
        c = app.test_client()
        b.login(c, reader)
        for action in ("login_failed", "login_locked"):
            page = c.get(f"/admin/audit?action={action}").get_data(as_text=True)
            assert ("최간호" in page and "nurse7" in page) is sees, (reader.role, action)
