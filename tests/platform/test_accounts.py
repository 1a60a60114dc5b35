"""Accounts: invitations, pledge, login throttling, sessions ending everywhere, safe redirects."""
import re
from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from volnet.accounts.models import User
from volnet.audit.models import AuditLog
from volnet.core import clock
from volnet.extensions import db


def test_create_admin_cli(app):
    runner = app.test_cli_runner()
    res = runner.invoke(args=["volnet", "create-admin", "--login-id", "boss", "--name", "관리자",
                              "--password", "a long enough passphrase"])
    assert res.exit_code == 0, res.output
    u = db.session.scalar(select(User).where(User.login_id == "boss"))
    assert u.role == "admin" and u.check_password("a long enough passphrase")
    res = runner.invoke(args=["volnet", "create-admin", "--login-id", "weak", "--name", "x", "--password", "password"])
    assert res.exit_code != 0


def test_invitation_join_and_pledge(app, client):
    d = b.dong()
    org = b.organization("apartment_office", d)
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    r = client.post("/admin/invitations", data={"role": "partner", "organization_id": org.id, "dong_ids": [d.id],
                                                "note": "관리사무소 포스터", "max_uses": 2, "days": 14})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<svg" in page  # printable QR
    link = re.search(r'value="(http[^"]+/account/join/[^"]+)"', page).group(1)
    path = link.split("localhost", 1)[1]
    joiner = app.test_client()
    r = joiner.post(path, data={"name": "오대호", "login_id": "odaeho", "phone": "010-1234-5678",
                                "new_password": "관리사무소 비밀번호", "confirm": "관리사무소 비밀번호"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/pledge")
    u = db.session.scalar(select(User).where(User.login_id == "odaeho"))
    assert u.role == "partner" and u.organization_id == org.id and [x.id for x in u.dongs] == [d.id]
    assert u.phone == "01012345678" and u.pledge_accepted_at is None
    # No household data before the pledge.
    assert joiner.get("/report").status_code == 302
    assert joiner.post("/account/pledge", data={"agree": "y"}).status_code == 302
    db.session.refresh(u)
    assert u.pledge_accepted_at is not None
    assert joiner.get("/report").status_code == 200


def test_invitation_use_limit_and_unknown_token(app, client):
    d = b.dong()
    from volnet.accounts.models import Invitation

    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=1, expires_at=clock.now() + timedelta(days=1),
                              dongs=[d]))
    db.session.commit()
    data = {"name": "서하늘", "login_id": "sky1", "new_password": "하늘하늘 비밀번호", "confirm": "하늘하늘 비밀번호"}
    assert client.post(f"/account/join/{token}", data=data).status_code == 302
    other = app.test_client()
    assert other.post(f"/account/join/{token}", data={**data, "login_id": "sky2"}).status_code == 404
    assert other.get("/account/join/not-a-real-token").status_code == 404


def test_join_rejects_weak_passwords_and_taken_ids(app, client):
    from volnet.accounts.models import Invitation

    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=5, expires_at=clock.now() + timedelta(days=1)))
    b.user("volunteer", login_id="taken")
    db.session.commit()
    r = client.post(f"/account/join/{token}", data={"name": "가", "login_id": "new1", "new_password": "12345678",
                                                   "confirm": "12345678"})
    assert r.status_code == 200 and "흔한" in r.get_data(as_text=True)
    r = client.post(f"/account/join/{token}", data={"name": "가", "login_id": "taken",
                                                   "new_password": "충분히 긴 비밀번호", "confirm": "충분히 긴 비밀번호"})
    assert "이미" in r.get_data(as_text=True)


def test_join_checks_the_phone_as_every_other_form_does(app, client):
    """One phone check for the join form, the household form and the rest: the same translated message, the
    same numbers taken (a landline too: at joining no channel is chosen yet)."""
    from volnet.accounts.models import Invitation

    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=5, expires_at=clock.now() + timedelta(days=1)))
    db.session.commit()
    data = {"name": "서하늘", "login_id": "sky1", "new_password": "하늘하늘 비밀번호", "confirm": "하늘하늘 비밀번호"}
    r = client.post(f"/account/join/{token}", data={**data, "phone": "123-4567"})
    assert r.status_code == 200 and "010-1234-5678이나 02-123-4567 같은 전화번호를 입력하세요." in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.login_id == "sky1")) is None
    assert client.post(f"/account/join/{token}", data={**data, "phone": "02-123-4567"}).status_code == 302
    assert db.session.scalar(select(User.phone).where(User.login_id == "sky1")) == "021234567"


def test_login_throttled_per_account(app, client):
    u = b.user("caseworker")
    db.session.commit()
    for _ in range(6):
        r = client.post("/account/login", data={"login_id": u.login_id, "password": "wrong password"})
        assert r.status_code == 200
    r = client.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD})
    assert r.status_code == 429  # locked even with the right password
    clock.advance(timedelta(minutes=31))
    assert client.post("/account/login", data={"login_id": u.login_id, "password": b.PASSWORD}).status_code == 302
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"login_failed", "login_locked", "login"} <= actions


def test_login_throttled_per_client_across_accounts(app, client):
    """One address trying many accounts is locked too, at a limit far above one account's (an office shares
    its address): login.max_failures_per_address, here lowered to 8."""
    from volnet.settings import services as settings

    settings.put("login.max_failures_per_address", 8)
    users = [b.user("volunteer") for _ in range(9)]
    db.session.commit()
    for u in users[:7]:
        client.post("/account/login", data={"login_id": u.login_id, "password": "nope nope"},
                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    r = app.test_client().post("/account/login", data={"login_id": users[7].login_id, "password": b.PASSWORD},
                               environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 302  # seven failures from the address, more than one account's six: not locked
    client.post("/account/login", data={"login_id": users[8].login_id, "password": "nope nope"},
                environ_base={"REMOTE_ADDR": "10.9.9.9"})
    r = client.post("/account/login", data={"login_id": users[8].login_id, "password": b.PASSWORD},
                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 429


def test_logout_ends_every_session(app):
    u = b.user("caseworker")
    db.session.commit()
    phone, desktop = app.test_client(), app.test_client()
    b.login(phone, u)
    b.login(desktop, u)
    assert desktop.get("/account/password").status_code == 200
    phone.post("/account/logout")
    assert desktop.get("/account/password").status_code == 302


def test_password_change_ends_other_sessions(app):
    u = b.user("caseworker")
    db.session.commit()
    here, there = app.test_client(), app.test_client()
    b.login(here, u)
    b.login(there, u)
    r = here.post("/account/password", data={"current_password": b.PASSWORD, "new_password": "새로운 긴 비밀번호",
                                             "confirm": "새로운 긴 비밀번호"})
    assert r.status_code == 302
    assert here.get("/account/password").status_code == 200
    assert there.get("/account/password").status_code == 302


def test_admin_disable_and_reset_end_sessions(app):
    d = b.dong()
    u = b.user("caseworker", [d])
    admin = b.user("admin")
    db.session.commit()
    worker, boss = app.test_client(), app.test_client()
    b.login(worker, u)
    b.login(boss, admin)
    r = boss.post(f"/admin/users/{u.id}/reset-password", follow_redirects=True)
    temp = re.search(r"<strong>([0-9a-f]{4}(?:-[0-9a-f]{4}){3})</strong>", r.get_data(as_text=True)).group(1)
    assert worker.get("/account/password").status_code == 302
    b.login(worker, u, password=temp)
    boss.post(f"/admin/users/{u.id}", data={"name": u.name, "role": "caseworker", "organization_id": 0,
                                            "dong_ids": [d.id]})  # active unchecked
    assert worker.get("/account/password").status_code == 302
    assert worker.post("/account/login", data={"login_id": u.login_id, "password": temp}).status_code == 200


def test_off_site_next_is_refused(app, client):
    u = b.user("caseworker")
    db.session.commit()
    for nxt in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]:
        c = app.test_client()
        r = c.post(f"/account/login?next={nxt}", data={"login_id": u.login_id, "password": b.PASSWORD})
        assert r.headers["Location"] == "/home", nxt
    r = client.post("/account/login?next=/my/reports", data={"login_id": u.login_id, "password": b.PASSWORD})
    assert r.headers["Location"] == "/my/reports"


def test_csrf_is_enforced(app, client, csrf_on):
    d = b.dong()
    tl = b.user("tong_leader", [d])
    db.session.commit()
    page = client.get("/account/login").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    token = csrf_token_from(page)
    assert client.post("/account/login", data={"login_id": tl.login_id, "password": b.PASSWORD}).status_code == 400
    assert client.get("/report").status_code == 302  # not logged in
    r = client.post("/account/login", data={"login_id": tl.login_id, "password": b.PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 1", "urgency": "routine",
                                         "signals": ["mail_piling"]})
    assert r.status_code == 400
    from volnet.observations.models import Observation

    assert db.session.scalar(select(Observation)) is None
    assert client.post("/account/logout").status_code == 400


def test_no_state_change_on_get(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith(("logout", "acknowledge", "assign", "contact", "close", "merge", "link",
                                   "urgency", "revoke_invitation", "reset_password", "set_language")):
            assert "GET" not in rule.methods, rule.rule


def test_temporary_password_must_be_changed_first(app, client):
    u = b.user("caseworker", must_change_password=True)
    db.session.commit()
    b.login(client, u)
    r = client.get("/concerns/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    client.post("/account/password", data={"current_password": b.PASSWORD, "new_password": "완전히 새 비밀번호",
                                           "confirm": "완전히 새 비밀번호"})
    assert client.get("/concerns/").status_code == 200


def test_admin_password_resets_are_throttled(app, client):
    admin = b.user("admin")
    targets = [b.user("volunteer") for _ in range(11)]
    db.session.commit()
    b.login(client, admin)
    codes = [client.post(f"/admin/users/{t.id}/reset-password").status_code for t in targets]
    assert codes[:10] == [302] * 10 and codes[10] == 429


def test_login_ids_ignore_case_everywhere(app, client):
    """Typed in any case, a login ID signs in and is found by the admin's search; it is kept in lower case."""
    admin = b.user("admin")
    u = b.user("volunteer", login_id="Kim.One", name="김하나")
    db.session.commit()
    assert u.login_id == "kim.one"
    assert client.post("/account/login", data={"login_id": "KIM.one", "password": b.PASSWORD}).status_code == 302
    other = app.test_client()
    b.login(other, admin)
    body = other.get("/admin/users?q=KIM.O").get_data(as_text=True)
    assert "kim.one" in body and "김하나" in body


def test_a_signed_out_visit_leads_back_to_its_page_after_login(app, client):
    """The login page's next= is the page asked for, as a same-site path, and login leads there."""
    from urllib.parse import parse_qs, urlsplit

    d = b.dong()
    u = b.user("caseworker", [d])
    db.session.commit()
    r = client.get("/concerns/?status=new&page=2")
    assert r.status_code == 302
    nxt = parse_qs(urlsplit(r.headers["Location"]).query)["next"][0]
    assert nxt == "/concerns/?status=new&page=2"
    r = client.post(r.headers["Location"], data={"login_id": u.login_id, "password": b.PASSWORD})
    assert r.headers["Location"] == "/concerns/?status=new&page=2"
