"""Two-step login: enrolment with a QR code, the half-authenticated step, no code reuse, recovery codes,
throttling, the admin's "required" setting, and the secret encrypted at rest."""
import re
from datetime import timedelta

import pyotp
from sqlalchemy import select, text

from tests import builders as b
from volnet.accounts.models import User
from volnet.audit.models import AuditLog
from volnet.core import clock
from volnet.extensions import db
from volnet.security import totp
from volnet.settings import services as settings


def _enrol(client, u):
    r = client.get("/account/two-step/setup")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<svg" in page
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    code = pyotp.TOTP(secret).at(clock.now().timestamp())
    r = client.post("/account/two-step/setup", data={"code": code})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", r.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _password(client, u):
    return client.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD})


def _signed_in(client):
    return client.get("/account/password").status_code == 200


def test_enrol_then_login_needs_the_code(app, client):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    db.session.commit()
    b.login(client, u)
    secret, codes = _enrol(client, u)
    db.session.expire_all()
    # stored encrypted, recovery codes hashed
    raw = db.session.execute(text("SELECT totp_secret FROM users WHERE id = :i"), {"i": u.id}).scalar()
    assert raw.startswith("v1:") and secret not in raw
    assert all(c not in str(u.recovery_codes) for c in codes) and len(u.recovery_codes) == 10
    client.post("/account/logout")

    other = app.test_client()
    r = _password(other, u)
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/two-step")
    assert not _signed_in(other)  # half-authenticated: nothing else opens
    clock.advance(timedelta(seconds=31))
    code = pyotp.TOTP(secret).at(clock.now().timestamp())
    r = other.post("/account/two-step", data={"code": code})
    assert r.status_code == 302 and _signed_in(other)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "login", AuditLog.actor_id == u.id,
                                                    AuditLog.detail == "two-step=totp"))
    # the same code cannot be used again within its window
    third = app.test_client()
    _password(third, u)
    r = third.post("/account/two-step", data={"code": code})
    assert r.status_code == 200 and not _signed_in(third)


def test_recovery_code_works_once(app):
    clock.freeze(clock.now())
    u = b.user("team_lead")
    db.session.commit()
    c1 = app.test_client()
    b.login(c1, u)
    _secret, codes = _enrol(c1, u)
    c2 = app.test_client()
    _password(c2, u)
    assert c2.post("/account/two-step", data={"code": codes[0].upper()}).status_code == 302
    assert _signed_in(c2)
    c3 = app.test_client()
    _password(c3, u)
    assert c3.post("/account/two-step", data={"code": codes[0]}).status_code == 200
    assert not _signed_in(c3)
    db.session.expire_all()
    assert len(db.session.get(User, u.id).recovery_codes) == 9


def test_pending_step_expires_after_five_minutes(app, client):
    clock.freeze(clock.now())
    u = b.user("admin")
    u.totp_secret = totp.new_secret()
    db.session.commit()
    _password(client, u)
    clock.advance(timedelta(minutes=5, seconds=1))
    code = pyotp.TOTP(u.totp_secret).at(clock.now().timestamp())
    r = client.post("/account/two-step", data={"code": code})
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/login")
    assert not _signed_in(client)


def test_wrong_codes_are_throttled_like_logins(app, client):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    u.totp_secret = totp.new_secret()
    db.session.commit()
    _password(client, u)
    for _ in range(6):
        assert client.post("/account/two-step", data={"code": "000000"}).status_code == 200
    good = pyotp.TOTP(u.totp_secret).at(clock.now().timestamp())
    r = client.post("/account/two-step", data={"code": good})
    assert r.status_code == 429 and not _signed_in(client)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "login_failed", AuditLog.subject_id == str(u.id)))


def test_required_setting_sends_unenrolled_staff_to_enrolment(app, client):
    d = b.dong()
    u = b.user("caseworker", [d])
    volunteer = b.user("volunteer", [d])
    settings.put("security.totp_required", True)
    db.session.commit()
    b.login(client, u)
    for path in ("/concerns/", "/households/", "/account/password", "/home"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/two-step/setup"), path
    assert client.get("/account/two-step/setup").status_code == 200
    _secret, _codes = _enrol(client, u)
    assert client.get("/concerns/").status_code == 200
    # roles outside admin / team lead / caseworker are not asked
    other = app.test_client()
    b.login(other, volunteer)
    assert other.get("/my/reports").status_code == 200


def test_admin_resets_two_step_for_a_lost_phone(app):
    u = b.user("caseworker")
    u.totp_secret = totp.new_secret()
    admin = b.user("admin")
    db.session.commit()
    boss = app.test_client()
    b.login(boss, admin)
    r = boss.post("/privacy/security/reset-two-step", data={"reset-login_id": u.login_id})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, u.id).totp_secret is None
    c = app.test_client()
    b.login(c, u)  # password alone again


def _stale_copy_after(u_id, change):
    """The user as a request read them a moment ago, while another request then committed ``change``."""
    user = db.session.get(User, u_id)
    user.totp_secret, user.totp_last_step, user.recovery_codes  # noqa: B018 - loaded now
    db.session.expunge(user)
    db.session.rollback()
    with db.engine.begin() as conn:
        change(conn)
    db.session.add(user)  # attached again, its values as read before the other request's commit
    return user


def test_a_code_used_by_a_simultaneous_sign_in_is_refused(app):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    u.totp_secret = pyotp.random_base32()
    db.session.commit()
    code = pyotp.TOTP(u.totp_secret).at(clock.now().timestamp())
    step = totp.matching_step(u.totp_secret, code)
    u_id = u.id
    stale = _stale_copy_after(u_id, lambda conn: conn.execute(
        text("UPDATE users SET totp_last_step = :s WHERE id = :i"), {"s": step, "i": u_id}))
    assert stale.totp_last_step is None  # what this request saw
    assert totp.check(stale, code) is None  # but the other sign-in used the code first


def test_a_recovery_code_used_by_a_simultaneous_sign_in_is_refused_and_stays_used(app):
    u = b.user("caseworker")
    u.totp_secret = pyotp.random_base32()
    codes = totp.new_recovery_codes(u)
    db.session.commit()
    u_id = u.id
    remaining = [h for h in u.recovery_codes if h != totp._hash_code(codes[0])]
    from sqlalchemy import update

    stale = _stale_copy_after(u_id, lambda conn: conn.execute(
        update(User).where(User.id == u_id).values(recovery_codes=remaining)))
    assert len(stale.recovery_codes) == 10
    assert totp.check(stale, codes[0]) is None  # used a moment ago by the other sign-in
    assert totp.check(stale, codes[1]) == "recovery"
    db.session.commit()
    db.session.expire_all()
    assert len(db.session.get(User, u_id).recovery_codes) == 8  # both uses kept, neither undone
