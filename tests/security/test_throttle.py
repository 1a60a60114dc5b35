"""Throttling lives in the database: it holds across processes, restarts and a Redis outage."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests import builders as b
from tests.conftest import base_config
from volnet import create_app
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation
from volnet.security import throttle

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _fail(client, login_id, ip="10.1.1.1"):
    return client.post("/account/login", data={"login_id": login_id, "password": "wrong wrong"},
                       environ_base={"REMOTE_ADDR": ip})


def _good(client, u, ip="10.1.1.1"):
    return client.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD},
                       environ_base={"REMOTE_ADDR": ip})


def _second_app(app):
    """Another process (or the same one after a restart): a fresh app on the same database."""
    other = create_app(base_config(app.config["DATABASE_URL"]))
    return other


def test_six_failures_lock_30_minutes_across_restart_and_processes(app, client):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    db.session.commit()
    login_id, password = u.login_id, b.PASSWORD
    second = _second_app(app)

    def good(c, ip):
        return c.post("/account/login", data={"login_id": login_id, "password": password},
                      environ_base={"REMOTE_ADDR": ip})

    # failures split between two app instances count together
    for _ in range(3):
        assert _fail(client, login_id).status_code == 200
    db.session.close()  # SQLite: the first "process" holds no transaction while the second writes
    with second.app_context():
        c2 = second.test_client()
        for _ in range(3):
            assert _fail(c2, login_id, ip="10.1.1.2").status_code == 200
        # the account is locked for the other "process" too, even with the right password
        assert good(c2, "10.1.1.3").status_code == 429
        db.session.remove()
        db.engine.dispose()
    # a "restart": a new app instance still sees the lock
    restarted = _second_app(app)
    with restarted.app_context():
        clock.advance(timedelta(minutes=29))
        assert good(restarted.test_client(), "10.1.1.4").status_code == 429
        clock.advance(timedelta(minutes=2))
        assert good(restarted.test_client(), "10.1.1.4").status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_login_throttling_works_with_redis_down(app, client):
    app.config["REDIS_URL"] = CLOSED_REDIS
    app.config["RUN_JOBS_INLINE"] = None
    clock.freeze(clock.now())
    u = b.user("caseworker")
    db.session.commit()
    for _ in range(6):
        _fail(client, u.login_id)
    assert _good(client, u).status_code == 429


def _report(client, dong_id, app, ip, where="송산초등학교 뒤 빌라 2층"):
    from itsdangerous import URLSafeTimedSerializer

    started = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="citizen-report").dumps(int(time.time()) - 60)
    return client.post("/report-a-neighbour", data={
        "dong_id": dong_id, "location_text": where, "signals": ["smell_insects"],
        "urgency": "routine", "subject_sex": "m", "subject_age_band": "60s", "started": started},
        environ_base={"REMOTE_ADDR": ip})


def test_public_page_limit_per_hour_with_redis_down(app, client):
    app.config["REDIS_URL"] = CLOSED_REDIS
    d = b.dong()
    db.session.commit()
    limit = 10
    for n in range(limit):  # ten reports (the same words again from this browser would be one report)
        assert _report(client, d.id, app, "10.2.2.2", where=f"송산초등학교 앞 {n + 1}번째 빌라").status_code == 303
    assert _report(client, d.id, app, "10.2.2.2").status_code == 429
    assert _report(client, d.id, app, "10.2.2.3").status_code == 303  # per client
    assert db.session.scalar(select(func.count()).select_from(Observation)) == limit + 1


def test_public_page_fails_closed_when_the_count_fails(app, client, monkeypatch):
    d = b.dong()
    db.session.commit()

    def broken(*a, **k):
        raise OperationalError("SELECT count", {}, Exception("database unavailable"))

    monkeypatch.setattr(throttle, "count", broken)
    r = _report(client, d.id, app, "10.3.3.3")
    assert r.status_code == 503
    monkeypatch.undo()
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0


def test_observation_submit_30_per_10_minutes(app, client):
    clock.freeze(clock.now())
    d = b.dong()
    u = b.user("honorary", [d])
    h = b.household(d)
    db.session.commit()
    b.login(client, u)

    def report(token):
        return client.post("/report/new", data={"household_id": h.id, "dong_id": d.id, "urgency": "routine",
                                                "signals": ["mail_piling"], "note": token[:5], "client_token": token})

    for i in range(30):
        assert report(f"tok{i:02d}" + "t" * 26).status_code == 302
    r = report("over" + "t" * 28)
    assert r.status_code == 429
    assert "Please wait a few minutes" in r.get_data(as_text=True) or "몇 분 뒤" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 30
    # the same form sent again is not a new report and is not refused
    assert report("tok00" + "t" * 26).status_code == 302
    clock.advance(timedelta(minutes=10, seconds=1))
    assert report("later" + "t" * 27).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 31


def test_export_helper_30_per_hour(app):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    db.session.commit()
    assert all(throttle.throttle_export(u) for _ in range(30))
    assert throttle.throttle_export(u) is False
    clock.advance(timedelta(hours=1, seconds=1))
    assert throttle.throttle_export(u) is True


def test_privacy_export_is_throttled(app, client):
    d = b.dong()
    admin = b.user("admin")
    h = b.household(d)
    db.session.commit()
    b.login(client, admin)
    for _ in range(30):
        throttle.hit(f"export:{admin.id}")
    db.session.commit()
    r = client.post("/privacy/requests", data={"household_id": h.id, "kind": "access", "reason": "본인 요청, 신분증 확인",
                                               "confirm": "y"})
    assert r.status_code == 429


@pytest.mark.parametrize("n", [1])
def test_admin_password_reset_is_recorded(app, client, n):
    u = b.user("caseworker")
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    assert client.post(f"/admin/users/{u.id}/reset-password").status_code == 302
