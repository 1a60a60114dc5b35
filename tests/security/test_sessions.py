"""Sessions end everywhere at logout, password change and disable; idle/absolute timeouts; cookie flags."""
from datetime import timedelta

import pytest

from tests import builders as b
from volnet import create_app
from volnet.core import clock
from volnet.extensions import db


def _signed_in(client):
    return client.get("/account/password").status_code == 200


def test_logout_ends_the_second_clients_session_too(app):
    u = b.user("caseworker")
    db.session.commit()
    phone, desktop = app.test_client(), app.test_client()
    b.login(phone, u)
    b.login(desktop, u)
    assert _signed_in(phone) and _signed_in(desktop)
    phone.post("/account/logout")
    assert not _signed_in(phone)
    r = desktop.get("/account/password")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]


def test_password_change_keeps_this_session_and_ends_the_other(app):
    u = b.user("caseworker")
    db.session.commit()
    here, there = app.test_client(), app.test_client()
    b.login(here, u)
    b.login(there, u)
    r = here.post("/account/password", data={"current_password": b.PASSWORD,
                                             "new_password": "아주 긴 새 비밀번호 2026", "confirm": "아주 긴 새 비밀번호 2026"})
    assert r.status_code == 302
    assert _signed_in(here) and not _signed_in(there)


def test_admin_disabling_an_account_ends_its_sessions(app):
    d = b.dong()
    u = b.user("caseworker", [d])
    admin = b.user("admin")
    db.session.commit()
    worker, boss = app.test_client(), app.test_client()
    b.login(worker, u)
    b.login(boss, admin)
    assert _signed_in(worker)
    boss.post(f"/admin/users/{u.id}", data={"name": u.name, "role": "caseworker", "organization_id": 0,
                                            "dong_ids": [d.id]})  # "active" left unchecked
    assert not _signed_in(worker)
    assert worker.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD}).status_code == 200


def test_idle_timeout_after_30_minutes(app, client):
    u = b.user("caseworker")
    db.session.commit()
    clock.freeze(clock.now())
    b.login(client, u)
    clock.advance(timedelta(minutes=29))
    assert _signed_in(client)  # activity resets the idle clock
    clock.advance(timedelta(minutes=29))
    assert _signed_in(client)
    clock.advance(timedelta(minutes=31))
    r = client.get("/account/password")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]
    assert not _signed_in(client)


def test_absolute_timeout_after_12_hours_even_when_active(app, client):
    u = b.user("caseworker")
    db.session.commit()
    clock.freeze(clock.now())
    b.login(client, u)
    app.config["IDLE_TIMEOUT_MINUTES"] = 24 * 60  # isolate the absolute limit
    try:
        for _ in range(11):
            clock.advance(timedelta(hours=1))
            assert _signed_in(client)
        clock.advance(timedelta(hours=1, minutes=1))
        assert not _signed_in(client)
    finally:
        app.config["IDLE_TIMEOUT_MINUTES"] = 30


def test_a_new_session_at_login(app, client):
    u = b.user("caseworker")
    db.session.commit()
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    b.login(client, u)
    with client.session_transaction() as s:
        assert "planted" not in s and "login_at" in s


def test_cookie_flags(app, client):
    u = b.user("caseworker")
    db.session.commit()
    r = b.login(client, u)
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain HTTP


def test_secure_cookie_and_no_debug_in_production(monkeypatch):
    monkeypatch.setenv("VOLNET_ENV_MODE", "production")
    monkeypatch.setenv("VOLNET_SECRET_KEY", "a-long-random-production-secret")
    monkeypatch.setenv("VOLNET_DATA_KEY", "k1:" + "B" * 43)
    monkeypatch.setenv("VOLNET_DEBUG", "1")
    prod = create_app({"DATABASE_URL": "sqlite://"})
    assert prod.config["SESSION_COOKIE_SECURE"] is True and prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert prod.debug is False


def test_idle_timeout_says_why_and_leads_back_to_the_page(app, client):
    """Signed out after the idle time: the login page says so (with the minutes), and logging in again leads
    back to the page (GET) or, for a form sent after the timeout, to the page the form was on."""
    from urllib.parse import parse_qs, urlsplit

    u = b.user("caseworker")
    db.session.commit()
    clock.freeze(clock.now())
    b.login(client, u)
    clock.advance(timedelta(minutes=31))
    r = client.get("/households/?q=%EA%B9%80")
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert loc.path == "/account/login" and parse_qs(loc.query)["next"] == ["/households/?q=%EA%B9%80"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "30분 동안 활동이 없어 로그아웃되었습니다" in page
    r = client.post(r.headers["Location"], data={"login_id": u.login_id, "password": b.PASSWORD})
    assert r.headers["Location"] == "/households/?q=%EA%B9%80"

    # A form sent after the timeout: back to the page it came from (its Referer), never to another site.
    clock.advance(timedelta(minutes=31))
    r = client.post("/account/logout", headers={"Referer": "http://localhost/account/password"})
    assert parse_qs(urlsplit(r.headers["Location"]).query)["next"] == ["/account/password"]
    b.login(client, u)
    clock.advance(timedelta(minutes=31))
    r = client.post("/account/logout", headers={"Referer": "http://evil.example/account/password"})
    assert "next" not in parse_qs(urlsplit(r.headers["Location"]).query)


def test_pages_carry_the_idle_warning_and_its_status_is_no_activity(app, client):
    u = b.user("caseworker")
    db.session.commit()
    clock.freeze(clock.now())
    b.login(client, u)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'id="idle-notice"' in page and 'data-idle-seconds="1800"' in page and "js/idle.js" in page
    assert "로그인 상태 유지" in page and "{n}분 뒤" in page
    assert 'id="idle-notice"' not in app.test_client().get("/account/login").get_data(as_text=True)
    clock.advance(timedelta(minutes=20))
    assert client.get("/account/session").get_json() == {"left": 600}
    clock.advance(timedelta(minutes=5))
    assert client.get("/account/session").get_json() == {"left": 300}  # asking is not activity
    assert client.get("/account/session?stay=1").get_json() == {"left": 1800}  # the button is
    clock.advance(timedelta(minutes=31))
    assert client.get("/account/session").status_code == 302  # signed out: the page shows the notice


def test_after_an_idle_sign_out_the_login_page_says_it_once(app, client):
    """The page's status poll signs the person out (and says why); the reload that follows does not add
    "please log in to see this page" on top. A plain signed-out visit still gets that one."""
    u = b.user("caseworker")
    db.session.commit()
    clock.freeze(clock.now())
    b.login(client, u)
    clock.advance(timedelta(minutes=31))
    assert client.get("/account/session").status_code == 302
    page = client.get("/notifications?x=1", follow_redirects=True).get_data(as_text=True)
    assert page.count("30분 동안 활동이 없어 로그아웃되었습니다") == 1
    assert "이 페이지를 보려면 로그인해 주세요" not in page
    page = app.test_client().get("/notifications", follow_redirects=True).get_data(as_text=True)
    assert "이 페이지를 보려면 로그인해 주세요" in page


def test_a_form_sent_after_the_session_ended_elsewhere_comes_back_to_its_page(app, client):
    """Logged out on another device, then a form sent here: it says it was not sent, and its "Log in" leads to the
    page the form was on, not on the form's own address (which answers only POST: 405)."""
    from urllib.parse import parse_qs, urlsplit

    u = b.user("caseworker")
    db.session.commit()
    b.login(client, u)
    u.session_version += 1  # every session ended (logout elsewhere, password change)
    db.session.commit()
    r = client.post("/concerns/1/acknowledge", headers={"Referer": "http://localhost/concerns/1"})
    assert r.status_code == 400 and "로그아웃되어 양식을 보내지 못했습니다" in r.get_data(as_text=True)
    import re

    link = re.search(r'href="(/account/login\?next=[^"]+)"', r.get_data(as_text=True)).group(1)
    assert parse_qs(urlsplit(link).query)["next"] == ["/concerns/1"]


def test_the_idle_status_answers_on_the_forced_password_change_page(app, client):
    """The idle warning asks /account/session on every page, the forced password change too: it answers there
    (a redirect would read as "signed out")."""
    u = b.user("caseworker")
    db.session.commit()
    b.login(client, u)
    u.must_change_password = True
    db.session.commit()
    r = client.get("/account/session")
    assert r.status_code == 200 and "left" in r.get_json()


def _end_by_logout_elsewhere(app, u, admin):
    other = app.test_client()
    b.login(other, u)
    other.post("/account/logout")


def _end_by_password_reset(app, u, admin):
    boss = app.test_client()
    b.login(boss, admin)
    assert boss.post(f"/admin/users/{u.id}/reset-password").status_code == 302


def _end_by_disabling(app, u, admin):
    boss = app.test_client()
    b.login(boss, admin)
    boss.post(f"/admin/users/{u.id}", data={"name": u.name, "role": u.role, "organization_id": 0,
                                            "dong_ids": [d.id for d in u.dongs]})  # "active" left unchecked


def _end_by_session_version(app, u, admin):
    db.session.get(type(u), u.id).session_version += 1  # a password change on another device, or any bump
    db.session.commit()


def _end_by_idle(app, u, admin):
    clock.advance(timedelta(minutes=31))


def _end_by_absolute_timeout(app, u, admin):
    for _ in range(25):  # active every half hour, but past the 12 hours a session may last
        clock.advance(timedelta(minutes=29))
        assert _signed_in(app._volnet_phone) or clock.now() > app._volnet_start + timedelta(hours=12)


@pytest.mark.parametrize("end", [_end_by_logout_elsewhere, _end_by_password_reset, _end_by_disabling,
                                 _end_by_session_version, _end_by_idle, _end_by_absolute_timeout],
                         ids=lambda f: f.__name__[len("_end_by_"):])
def test_a_report_sent_after_the_session_ended_any_way_says_it_was_not_sent(app, csrf_on, end):
    """However the session ended (logged out on another device, an admin's password reset, a disabled account, a
    session version bumped, the idle or the absolute timeout), the form sent afterwards gets the idle case's
    page: not sent, what was typed is still on the previous page, and "Log in" leads back to the form's page."""
    import re
    from urllib.parse import parse_qs, unquote, urlsplit

    from volnet.observations.models import Observation

    d = b.dong()
    h = b.household(d)
    u = b.user("tong_leader", [d])
    admin = b.user("admin")
    db.session.commit()
    clock.freeze(clock.now())
    phone = app.test_client()
    app._volnet_phone, app._volnet_start = phone, clock.now()
    page = phone.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert phone.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD,
                                              "csrf_token": token}).status_code == 302
    form_url = f"/report/new?household_id={h.id}"
    page = phone.get(form_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    app.config["WTF_CSRF_ENABLED"] = False  # the other devices' forms are not what is tested here
    end(app, u, admin)
    app.config["WTF_CSRF_ENABLED"] = True
    r = phone.post(form_url, data={"csrf_token": token, "household_id": h.id, "dong_id": d.id,
                                   "signals": ["not_going_out"], "urgency": "routine", "note": "사흘째 안 보이심"},
                   headers={"Referer": f"http://localhost{form_url}"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400, (r.status_code, r.headers.get("Location"))
    assert "<h1>로그아웃되었습니다</h1>" in body
    assert "로그아웃되어 양식을 보내지 못했습니다. 입력한 내용은 이전 화면(브라우저의 뒤로 가기)에 아직 있습니다." in body
    db.session.expire_all()
    assert db.session.query(Observation).filter_by(household_id=h.id).count() == 0
    link = unquote(re.search(r'href="(/account/login\?next=[^"]+)"', body).group(1).replace("&amp;", "&"))
    assert parse_qs(urlsplit(link).query)["next"] == [form_url]
    if end in (_end_by_disabling,):
        return
    clock.advance(timedelta(minutes=1))
    user = db.session.get(type(u), u.id)
    user.active, user.must_change_password = True, False
    db.session.commit()
    page = phone.get(link).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    password = b.PASSWORD
    if end is _end_by_password_reset:
        user.set_password(password)
        db.session.commit()
    r = phone.post(link, data={"login_id": u.login_id, "password": password, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == form_url


def test_signing_out_after_the_session_ended_still_just_leads_to_login(app, client):
    """The logout button is no form with content: after the session ended elsewhere it leads to the login page."""
    u = b.user("caseworker")
    db.session.commit()
    b.login(client, u)
    u.session_version += 1
    db.session.commit()
    r = client.post("/account/logout")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]
