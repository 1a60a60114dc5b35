"""Administration and accounts, as the admin and the people behind one office address notice them:
login locks, inactive dongs and organizations kept on save, the temporary password, the audit search,
invisible names, organization phones, due-time rules, ambiguous district names, dong codes, invitations."""
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests import concurrency
from volnet.accounts.models import Invitation, Organization, User
from volnet.audit.services import record
from volnet.core import clock
from volnet.extensions import db
from volnet.places.models import Dong
from volnet.settings import services as settings

OFFICE = "10.20.30.40"


def _login(client, login_id, password, ip=OFFICE):
    return client.post("/account/login", data={"login_id": login_id, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


# --- 1. login locks ------------------------------------------------------------------------------------

def test_colleagues_typos_behind_one_address_do_not_lock_the_office_out(app, client):
    clock.freeze(clock.now())
    colleagues = [b.user("volunteer") for _ in range(7)]
    target = b.user("caseworker")
    db.session.commit()
    for u in colleagues[:6]:  # six people each mistype once, from the office's one public address
        assert _login(client, u.login_id, "오타 비밀번호").status_code == 200
    r = _login(app.test_client(), colleagues[6].login_id, b.PASSWORD)
    assert r.status_code == 302  # a seventh colleague still gets in
    # An account with six failures of its own is still locked, from any address, even with the right password.
    for _ in range(6):
        assert _login(client, target.login_id, "틀린 비밀번호", ip="10.0.0.9").status_code == 200
    assert _login(app.test_client(), target.login_id, b.PASSWORD, ip="10.0.0.8").status_code == 429


def test_one_address_is_locked_after_many_failures(app, client):
    """The address limit is a setting (login.max_failures_per_address, default 50)."""
    clock.freeze(clock.now())
    assert settings.get("login.max_failures_per_address") == 50
    settings.put("login.max_failures_per_address", 10)
    users = [b.user("volunteer") for _ in range(11)]
    db.session.commit()
    for u in users[:10]:
        _login(client, u.login_id, "아무 비밀번호")
    assert _login(client, users[10].login_id, b.PASSWORD).status_code == 429
    assert _login(client, users[10].login_id, b.PASSWORD, ip="10.99.0.1").status_code == 302  # elsewhere: fine
    clock.advance(timedelta(minutes=31))
    assert _login(app.test_client(), users[10].login_id, b.PASSWORD).status_code == 302


def test_two_step_login_is_not_locked_by_colleagues_typos(app, client):
    clock.freeze(clock.now())
    u = b.user("caseworker")
    others = [b.user("volunteer") for _ in range(6)]
    db.session.commit()
    b.login(client, u)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    assert client.post("/account/two-step/setup",
                       data={"code": pyotp.TOTP(secret).at(clock.now().timestamp())}).status_code == 200
    for o in others:
        _login(app.test_client(), o.login_id, "오타 비밀번호")
    clock.advance(timedelta(seconds=31))
    office = app.test_client()
    assert _login(office, u.login_id, b.PASSWORD).status_code == 302
    r = office.post("/account/two-step", data={"code": pyotp.TOTP(secret).at(clock.now().timestamp())},
                    environ_base={"REMOTE_ADDR": OFFICE})
    assert r.status_code == 302 and office.get("/account/password").status_code == 200


# --- 2. inactive dongs and organizations -----------------------------------------------------------------

def test_saving_an_account_keeps_its_inactive_dong_and_organization(app, client):
    d, closed = b.dong(), b.dong(name="호원2동")
    org = b.organization("volunteer_centre", d, name="의정부시 자원봉사센터")
    admin = b.user("admin")
    u = b.user("caseworker", [d, closed], name="장동현", org=org)
    db.session.commit()
    closed.active, org.active = False, False
    db.session.commit()
    b.login(client, admin)
    page = client.get(f"/admin/users/{u.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{closed.id}">[^<]*호원2동 \(비활성\)</option>', page) or \
        re.search(rf'<option value="{closed.id}" selected>[^<]*호원2동 \(비활성\)', page), page
    assert "의정부시 자원봉사센터 (비활성)" in page
    # The form as the browser sends it: the selected options, only the name changed.
    r = client.post(f"/admin/users/{u.id}", data={"name": "장동현2", "role": "caseworker", "organization_id": org.id,
                                                  "dong_ids": [d.id, closed.id], "active": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    u = db.session.get(User, u.id)
    assert u.name == "장동현2" and sorted(x.id for x in u.dongs) == sorted([d.id, closed.id])
    assert u.organization_id == org.id
    # Other accounts are not offered the inactive ones.
    other = b.user("volunteer", [d])
    db.session.commit()
    page = client.get(f"/admin/users/{other.id}").get_data(as_text=True)
    assert "호원2동" not in page and "자원봉사센터" not in page


def test_saving_an_organization_keeps_its_inactive_dong(app, client):
    closed = b.dong(name="호원2동")
    org = b.organization("pharmacy", closed, name="행복약국")
    admin = b.user("admin")
    db.session.commit()
    closed.active = False
    db.session.commit()
    b.login(client, admin)
    page = client.get(f"/admin/organizations/{org.id}").get_data(as_text=True)
    assert "호원2동 (비활성)" in page
    r = client.post(f"/admin/organizations/{org.id}", data={"name": "행복약국", "kind": "pharmacy",
                                                           "dong_id": closed.id, "phone": "031-123-4567",
                                                           "active": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).dong_id == closed.id


# --- 3. the temporary password must be replaced ------------------------------------------------------------

def test_forced_change_refuses_the_temporary_password_itself(app, client):
    u = b.user("caseworker", must_change_password=True)
    db.session.commit()
    b.login(client, u)
    r = client.post("/account/password", data={"current_password": b.PASSWORD, "new_password": b.PASSWORD,
                                               "confirm": b.PASSWORD})
    assert r.status_code == 200 and "현재 비밀번호와 다른" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, u.id).must_change_password is True
    assert client.get("/concerns/").status_code == 302


# --- 7. audit search ---------------------------------------------------------------------------------

def test_audit_search_finds_every_spelling_of_an_object_and_shows_labels(app, client):
    d = b.dong()
    admin = b.user("admin")
    db.session.commit()
    record(admin, "view", "concerns", 25)
    record(admin, "update", "concern", 25)
    record(admin, "update", "concern", 26)
    record(admin, "view", "households", 7)
    record(admin, "odd_action", "odd_thing", 3)
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/audit?subject_type=concerns&subject_id=25").get_data(as_text=True)
    rows = re.findall(r"<tr><td>.*?</tr>", page, re.S)
    assert len(rows) == 2, rows
    assert "<td>열람</td>" in rows[1] and "<td>변경됨</td>" in rows[0] and "위기 의심 건 25" in page
    # The old spelling in a link finds the same rows; the action code in the URL still works.
    page = client.get("/admin/audit?subject_type=concern&subject_id=25&action=update").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>.*?</tr>", page, re.S)) == 1
    assert '<option value="update" selected>변경됨</option>' in page
    assert '<option value="concerns" selected>위기 의심 건</option>' in page
    # Unknown codes are shown as they are.
    page = client.get("/admin/audit?subject_type=odd_thing").get_data(as_text=True)
    assert "odd_action" in page and "odd_thing 3" in page
    assert d.id


# --- 5. invisible names --------------------------------------------------------------------------------

def test_names_of_invisible_characters_only_are_refused(app, client):
    d = b.dong()
    admin = b.user("admin")
    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=5, expires_at=clock.now() + timedelta(days=1)))
    db.session.commit()
    joiner = app.test_client()
    r = joiner.post(f"/account/join/{token}", data={"name": "\u200b", "login_id": "newvol",
                                                   "new_password": "충분히 긴 비밀번호", "confirm": "충분히 긴 비밀번호"})
    assert r.status_code == 200 and "필수" in r.get_data(as_text=True)
    assert db.session.scalar(select(User.id).where(User.login_id == "newvol")) is None
    # An emoji sequence with its joiners is a name like any other.
    r = joiner.post(f"/account/join/{token}", data={"name": "\u200b👨\u200d👩\u200d👧 가족\ufeff",
                                                   "login_id": "newvol", "new_password": "충분히 긴 비밀번호",
                                                   "confirm": "충분히 긴 비밀번호"})
    assert r.status_code == 302
    assert db.session.scalar(select(User.name).where(User.login_id == "newvol")) == "👨\u200d👩\u200d👧 가족"
    b.login(client, admin)
    before = db.session.scalar(select(func.count()).select_from(Dong))
    r = client.post("/admin/dongs", data={"new-code": "4115000000", "new-sido": "경기도", "new-sigungu": "의정부시",
                                          "new-name": "\u200b\u200b"})
    assert r.status_code == 200 and "필수" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Dong)) == before
    assert d.id


def test_a_case_need_of_invisible_characters_only_is_refused(app, client):
    from tests.cases import builders as cb
    from volnet.cases.models import CaseNeed

    d = b.dong()
    cw = b.user("caseworker", [d])
    case = cb.case(cw, b.household(d))
    db.session.commit()
    b.login(client, cw)
    client.post(f"/cases/{case.id}/needs", data={"domain": "economy", "level": "high", "description": "\u200b \u2060"})
    assert db.session.scalar(select(func.count()).select_from(CaseNeed)) == 0
    client.post(f"/cases/{case.id}/needs", data={"domain": "economy", "level": "high", "description": "관리비 체납"})
    assert db.session.scalar(select(func.count()).select_from(CaseNeed)) == 1


# --- 14. the temporary password page -------------------------------------------------------------------

def test_reloading_the_temporary_password_page_does_not_reset_again(app, client):
    u = b.user("caseworker")
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    r = client.post(f"/admin/users/{u.id}/reset-password")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    temporary = re.search(r"<strong>([0-9a-f]{4}(?:-[0-9a-f]{4}){3})</strong>", page).group(1)
    again = client.get(r.headers["Location"])  # a reload
    assert again.status_code == 200 and temporary not in again.get_data(as_text=True)
    assert "다시 표시하지 않습니다" in again.get_data(as_text=True)
    # The first password still works: the reload reset nothing.
    b.login(app.test_client(), u, password=temporary)
    # Another admin's browser has nothing to show.
    other = b.user("admin")
    db.session.commit()
    c2 = app.test_client()
    b.login(c2, other)
    assert temporary not in c2.get(r.headers["Location"]).get_data(as_text=True)


# --- 11. organizations -----------------------------------------------------------------------------------

def test_organization_phone_is_checked_and_a_duplicate_name_in_a_dong_refused(app, client):
    d, other = b.dong(), b.dong()
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    data = {"name": "행복약국", "kind": "pharmacy", "dong_id": d.id, "active": "y"}
    r = client.post("/admin/organizations/new", data={**data, "phone": "abc"})
    assert r.status_code == 400 and "같은 전화번호를 입력하세요" in r.get_data(as_text=True)
    assert client.post("/admin/organizations/new", data={**data, "phone": "010-1234-5678"}).status_code == 302
    assert db.session.scalar(select(Organization.phone)) == "01012345678"
    r = client.post("/admin/organizations/new", data={**data, "phone": "010-1234-5678"})
    assert r.status_code == 400 and "이 동에 이미 있습니다" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
    # The same name in another dong, and saving the existing one again, are fine.
    assert client.post("/admin/organizations/new", data={**data, "dong_id": other.id, "phone": ""}).status_code == 302
    org_id = db.session.scalar(select(Organization.id).where(Organization.dong_id == d.id))
    assert client.post(f"/admin/organizations/{org_id}", data={**data, "phone": "1588-1234"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org_id).phone == "15881234"
    assert "1588-1234" in client.get(f"/admin/organizations/{org_id}").get_data(as_text=True)


@pytest.fixture
def wide_app(app):
    yield from concurrency.wide_app(app, 8)


@pytest.mark.xdist_group("many-connections")
def test_a_new_organization_saved_twice_at_once_is_one_organization(app, wide_app):
    from tests.platform.test_double_taps import COPIES, _same_moment

    d = b.dong()
    b.user("admin", login_id="admin.org")
    db.session.commit()
    did = d.id
    db.session.commit()
    codes = _same_moment(wide_app, "admin.org", "/admin/organizations/new",
                         lambda i: {"name": "행복약국", "kind": "pharmacy", "dong_id": did, "phone": "", "active": "y"})
    assert codes.count(302) == 1 and codes.count(400) == COPIES - 1, codes
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 1


# --- 13. due-time rules --------------------------------------------------------------------------------

RULES = {"emergency_ack": "1h", "emergency_action": "48h", "urgent_ack": "24h", "urgent_action": "3d",
         "routine_ack": "3wd", "routine_action": "7d", "public_per_hour": 5}


def test_due_rule_form_upper_case_size_and_order(app, client):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    assert client.post("/admin/settings", data={**RULES, "emergency_ack": "2H"}).status_code == 302
    assert settings.get("due.emergency.ack") == "2h"
    r = client.post("/admin/settings", data={**RULES, "routine_action": "999999d"})
    assert r.status_code == 400 and "숫자가 너무 큽니다" in r.get_data(as_text=True)
    r = client.post("/admin/settings", data={**RULES, "urgent_ack": "10d", "urgent_action": "1h"})
    assert r.status_code == 400 and "접수 확인 기한" in r.get_data(as_text=True)
    assert settings.get("due.urgent.ack") == "24h"


# --- 6. ambiguous district names ---------------------------------------------------------------------------

def test_importing_an_ambiguous_district_name_asks_for_the_province(app, client):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    r = client.post("/admin/dongs", data={"action": "import", "imp-sigungu": "중구"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "서울특별시 중구" in page and "울산광역시 중구" in page
    assert db.session.scalar(select(func.count()).select_from(Dong)) == 0
    r = client.post("/admin/dongs", data={"action": "import", "imp-sigungu": "서울특별시 중구"})
    assert r.status_code == 302
    assert set(db.session.scalars(select(Dong.sido).distinct())) == {"서울특별시"}
    assert db.session.scalar(select(func.count()).select_from(Dong)) > 10
    # Two 중구 중앙동 in the pickers can be told apart; names found once stay short.
    for name in ("부산광역시 중구", "울산광역시중구"):
        assert client.post("/admin/dongs", data={"action": "import", "imp-sigungu": name}).status_code == 302
    page = client.get("/admin/invitations").get_data(as_text=True)
    assert "부산광역시 중구 중앙동" in page and "울산광역시 중구 중앙동" in page
    assert ">중구 소공동<" in page


def test_deactivating_a_dong_asks_first(app, client):
    d = b.dong()
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    assert "data-confirm=" in client.get(f"/admin/dongs/{d.id}").get_data(as_text=True)


# --- 15. dong codes and invitations -------------------------------------------------------------------------

def test_dong_code_must_begin_with_a_province_code(app, client):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    data = {"new-sido": "경기도", "new-sigungu": "의정부시", "new-name": "가능동"}
    r = client.post("/admin/dongs", data={**data, "new-code": "0000000000"})
    assert r.status_code == 200 and "두 자리 숫자로 시작" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Dong)) == 0
    assert client.post("/admin/dongs", data={**data, "new-code": "4115054000"}).status_code == 302


def test_invitation_list_tells_expired_revoked_and_used_up_apart(app, client):
    admin = b.user("admin")
    later = clock.now() + timedelta(days=3)
    for note, kw in (("만료된 초대", {"expires_at": clock.now() - timedelta(days=1)}),
                     ("취소한 초대", {"revoked": True, "expires_at": later}),
                     ("다 쓴 초대", {"uses": 1, "expires_at": later})):
        db.session.add(Invitation(token_hash=Invitation.new_token()[1], role="volunteer", max_uses=1, note=note,
                                  **kw))
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/invitations").get_data(as_text=True)
    rows = {note: row for row in re.findall(r"<tr>.*?</tr>", page, re.S)
            for note in ("만료된 초대", "취소한 초대", "다 쓴 초대") if note in row}
    assert "만료됨" in rows["만료된 초대"]
    assert "취소됨" in rows["취소한 초대"]
    assert "모두 사용됨" in rows["다 쓴 초대"]


def test_an_admin_gives_an_account_its_phone_and_email(app, client):
    """Messages go by SMS or e-mail only to an account with a phone or an address: an admin can set them."""
    from volnet.accounts.models import User

    d = b.dong()
    admin = b.user("admin")
    u = b.user("volunteer", [d], name="서하늘")
    db.session.commit()
    b.login(client, admin)
    base = {"name": "서하늘", "role": "volunteer", "organization_id": 0, "dong_ids": [d.id], "active": "y"}
    r = client.post(f"/admin/users/{u.id}", data={**base, "phone": "010-12", "email": "seo.example.kr"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "010-1234-5678" in page and "name@example.kr" in page
    db.session.expire_all()
    assert db.session.get(User, u.id).phone is None
    r = client.post(f"/admin/users/{u.id}", data={**base, "phone": "010 2345 6789", "email": "Seo@Example.kr"})
    assert r.status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, u.id)
    assert (saved.phone, saved.email) == ("01023456789", "seo@example.kr")
    assert "010-2345-6789" in client.get(f"/admin/users/{u.id}").get_data(as_text=True)


def test_an_account_taking_text_messages_needs_a_mobile_number(app, client):
    """SMS and KakaoTalk reach only a mobile phone: for a person who chose them, an admin cannot enter a
    landline (it would fail later in the outbox); for a person on e-mail and the app it stays a contact."""
    from volnet.accounts.models import User

    d = b.dong()
    admin = b.user("admin")
    texting = b.user("volunteer", [d], name="서하늘", channels=["inapp", "kakao"], phone="01012345678")
    mailing = b.user("volunteer", [d], name="한가람", channels=["inapp", "email"])
    db.session.commit()
    b.login(client, admin)
    base = {"role": "volunteer", "organization_id": 0, "dong_ids": [d.id], "active": "y"}
    r = client.post(f"/admin/users/{texting.id}", data={**base, "name": "서하늘", "phone": "02-123-4567"})
    assert r.status_code == 400
    assert "문자와 카카오톡은 010-1234-5678 같은 휴대전화 번호로만 받을 수 있습니다." in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, texting.id).phone == "01012345678"
    assert client.post(f"/admin/users/{texting.id}",
                       data={**base, "name": "서하늘", "phone": "011-234-5678"}).status_code == 302
    assert client.post(f"/admin/users/{mailing.id}",
                       data={**base, "name": "한가람", "phone": "02-123-4567"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, texting.id).phone == "0112345678"
    assert db.session.get(User, mailing.id).phone == "021234567"
