"""Audit of reads and changes; configuration safety."""
import pytest
from sqlalchemy import select

from tests import builders as b
from volnet import create_app
from volnet.audit.models import AuditLog
from volnet.config import ConfigError
from volnet.extensions import db


def test_opening_household_and_concern_pages_is_logged(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    h = b.household(d)
    o = b.observation(h)
    db.session.commit()
    b.login(client, cw)
    client.get(f"/households/{h.id}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    client.get(f"/concerns/{o.concern_id}")
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "view")))
    seen = {(r.subject_type, r.subject_id, r.actor_id) for r in rows}
    assert ("households", str(h.id), cw.id) in seen and ("concerns", str(o.concern_id), cw.id) in seen
    assert any(r.ip == "10.1.2.3" for r in rows)


def test_denied_access_is_logged(app, client):
    home, away = b.dong(), b.dong()
    cw = b.user("caseworker", [home])
    h = b.household(away)
    db.session.commit()
    b.login(client, cw)
    assert client.get(f"/households/{h.id}").status_code == 404
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "denied", AuditLog.actor_id == cw.id))


def test_team_lead_searches_audit_of_their_dong_only(app, client):
    home, away = b.dong(), b.dong()
    lead = b.user("team_lead", [home])
    mine, theirs = b.user("caseworker", [home], name="우리동직원"), b.user("caseworker", [away], name="남의동직원")
    db.session.add_all([AuditLog(actor_id=mine.id, action="view", subject_type="households", subject_id="7"),
                        AuditLog(actor_id=theirs.id, action="view", subject_type="households", subject_id="8")])
    db.session.commit()
    b.login(client, lead)
    page = client.get("/admin/audit?subject_type=households").get_data(as_text=True)
    assert "우리동직원" in page and "남의동직원" not in page
    page = client.get("/admin/audit?subject_id=8").get_data(as_text=True)
    assert "남의동직원" not in page
    assert client.get("/admin/audit?since=2024-02-30").status_code == 200


def test_production_refuses_default_secret(monkeypatch):
    monkeypatch.setenv("VOLNET_ENV_MODE", "production")
    monkeypatch.delenv("VOLNET_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": "sqlite://"})
    monkeypatch.setenv("VOLNET_SECRET_KEY", "a-long-random-production-secret")
    monkeypatch.setenv("VOLNET_DATA_KEY", "k1:" + "A" * 43 + "=")
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.debug is False


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("VOLNET_DATABASE_URL", "postgres://u@db.example/volnet")
    monkeypatch.setenv("VOLNET_REDIS_URL", "redis://127.0.0.1:6399/3")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/volnet"
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6399/3"
