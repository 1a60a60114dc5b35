"""A tong leader serves their tongs (QA F15): names in the household search only there, addresses elsewhere in
the dong; the admin sets the tongs on the account and on a tong leader's invitation."""
import re

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.accounts import tongs
from volnet.accounts.models import Invitation, User, invitation_tongs, user_tongs
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation

NO_TONG_HINT = "관리자에게 담당 통을 설정해 달라고 요청하세요."


def _results(page: str) -> str:
    """The search results of the report start page (not the form or the hints above them)."""
    return page.split('<ul class="list-cards">', 1)[1].split("</ul>", 1)[0] if '<ul class="list-cards">' in page else ""


@pytest.fixture
def minrak(app, client):
    """A dong with households in tongs 7 (the leader's) and 3, and a second dong of the leader's with a tong 7."""
    d = b.dong(name="민락동")
    other = b.dong(name="송산3동")
    mine = b.household(d, road="경기도 의정부시 민락로 106", unit="1층", tong=7, ban=1, name="신현주",
                       phone="01012345678")
    aliased = b.household(d, road="경기도 의정부시 민락로 154", unit="옥탑", tong=7, ban=2, alias="민락로 어르신")
    theirs = b.household(d, road="경기도 의정부시 민락로 103", unit="3층", tong=3, ban=4, name="조미경",
                         phone="01087654321")
    far = b.household(d, road="경기도 의정부시 민락로 140", unit="1층", tong=3, alias="뒷집 할머니")
    elsewhere = b.household(other, road="경기도 의정부시 송산로 12", unit="2층", tong=7, name="김영희")
    leader = b.user("tong_leader", [d, other])
    tongs.set_for_user(leader.id, {d.id: [7]})
    db.session.commit()
    b.login(client, leader)
    return {"dong": d, "other": other, "mine": mine, "aliased": aliased, "theirs": theirs, "far": far,
            "elsewhere": elsewhere, "leader": leader}


def test_a_tong_leader_sees_names_in_their_tong_and_only_addresses_elsewhere(minrak, client):
    page = client.get("/report?q=민락로").get_data(as_text=True)
    found = _results(page)
    for h in ("mine", "aliased", "theirs", "far"):
        assert f"household_id={minrak[h].id}" in found, h  # every household of the dong, by its address
    assert "신현주" in found and "민락로 어르신" in found  # their tong: name or alias
    assert "조미경" not in page and "뒷집 할머니" not in page  # tong 3: the address only
    assert "경기도 의정부시 민락로 103 3층" in found and "3통 4반" in found
    assert "민락동 7통" not in page and "7통 가구는 이름이 함께 보이고" in page  # says whose names it shows
    # Tong 7 of their other dong is not their tong: no name there either.
    page = client.get("/report?q=송산로").get_data(as_text=True)
    assert f"household_id={minrak['elsewhere'].id}" in page and "김영희" not in page


@pytest.mark.parametrize("q", ["조미경", "ㅈㅁㄱ", "010-8765-4321", "뒷집", "김영희", "ㄱㅇㅎ"])
def test_a_household_outside_their_tongs_is_not_found_by_its_name_alias_or_phone(minrak, client, q):
    found = _results(client.get(f"/report?q={q}").get_data(as_text=True))
    assert found == "" and "household_id=" not in found


@pytest.mark.parametrize("q", ["신현주", "ㅅㅎㅈ", "010-1234-5678", "어르신"])
def test_a_household_of_their_tong_is_found_by_name_alias_or_phone(minrak, client, q):
    found = _results(client.get(f"/report?q={q}").get_data(as_text=True))
    assert f"household_id={minrak['mine'].id}" in found or f"household_id={minrak['aliased'].id}" in found
    assert "조미경" not in found


ADD_HINT = "제보 양식에서 추가할 수 있습니다"
BY_ADDRESS_HINT = "담당 통 밖의 가구는 주소로만 찾을 수 있습니다. 주소로 검색해 주세요."


@pytest.mark.parametrize("q", ["조미경", "ㅈㅁㄱ", "010-8765-4321", "01087654321", "뒷집", "없는이름"])
def test_a_name_or_phone_found_nowhere_in_their_tongs_says_to_search_by_the_address(minrak, client, q):
    """Not 'no household, add it in the report form': the household may well be there, outside their tongs, and
    adding it again makes a second record of one person (QA round 20: R3). Said whether or not it exists."""
    page = client.get(f"/report?q={q}").get_data(as_text=True)
    assert _results(page) == ""
    assert BY_ADDRESS_HINT in page and ADD_HINT not in page
    # The household is there by its address.
    found = _results(client.get("/report?q=민락로 103").get_data(as_text=True))
    assert f"household_id={minrak['theirs'].id}" in found


def test_an_address_found_nowhere_still_offers_to_add_it(minrak, client):
    page = client.get("/report?q=민락로 999").get_data(as_text=True)
    assert _results(page) == "" and ADD_HINT in page and BY_ADDRESS_HINT not in page


def test_the_hint_is_for_tong_leaders_only(minrak, app):
    """Whoever knows every neighbour's name was searched by it everywhere: nothing found means nothing there."""
    cw = b.user("honorary", [minrak["dong"]])
    db.session.commit()
    other = app.test_client()
    b.login(other, cw)
    page = other.get("/report?q=없는이름").get_data(as_text=True)
    assert BY_ADDRESS_HINT not in page and ADD_HINT in page

def test_a_tong_leader_without_a_tong_sees_addresses_only_and_is_told_to_ask(minrak, client, app):
    leader = b.user("tong_leader", [minrak["dong"]])
    db.session.commit()
    other = app.test_client()
    b.login(other, leader)
    page = other.get("/report").get_data(as_text=True)
    assert NO_TONG_HINT in page and "초성" not in page  # searched by address only
    page = other.get("/report?q=민락로").get_data(as_text=True)
    assert NO_TONG_HINT in page and f"household_id={minrak['mine'].id}" in page
    assert "신현주" not in page and "조미경" not in page and "민락로 어르신" not in page
    page = other.get("/report?q=ㅅㅎㅈ").get_data(as_text=True)
    assert _results(page) == "" and BY_ADDRESS_HINT in page and ADD_HINT not in page
    # An honorary officer of the same dong still knows every neighbour by name.
    honorary = b.user("honorary", [minrak["dong"]])
    db.session.commit()
    third = app.test_client()
    b.login(third, honorary)
    page = third.get("/report?q=민락로").get_data(as_text=True)
    assert "신현주" in page and "조미경" in page and NO_TONG_HINT not in page


def test_a_tong_leader_reports_about_any_household_of_the_dong(minrak, client):
    """Outside their tongs the form shows the address (no name), and the report and the quick add work."""
    d, theirs = minrak["dong"], minrak["theirs"]
    page = client.get(f"/report/new?household_id={theirs.id}").get_data(as_text=True)
    assert "경기도 의정부시 민락로 103" in page and "조미경" not in page
    r = client.post("/report/new", data={"household_id": theirs.id, "dong_id": d.id, "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": "theirs-1"})
    assert r.status_code == 302
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "경기도 의정부시 민락로 140", "unit": "1층",
                                         "urgency": "routine", "signals": ["not_going_out"], "client_token": "q-1"})
    assert r.status_code == 302  # the quick add found the recorded household of tong 3 by its address
    assert db.session.scalar(select(func.count()).select_from(Household)) == 5
    assert sorted(db.session.scalars(select(Observation.household_id))) == sorted([theirs.id, minrak["far"].id])
    page = client.get("/my/reports").get_data(as_text=True)
    assert "경기도 의정부시 민락로 103 3층" in page and "조미경" not in page and "뒷집 할머니" not in page
    sent = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "뒷집 할머니" not in sent and "민락로 140" not in sent


# --- the admin sets the tongs ----------------------------------------------------------------------------

@pytest.fixture
def admin(app, client):
    d = b.dong(name="민락동")
    other = b.dong(name="송산3동")
    boss = b.user("admin")
    leader = b.user("tong_leader", [d], name="한상철")
    db.session.commit()
    b.login(client, boss)
    return d, other, leader


def _save(client, u, role="tong_leader", dongs=(), **tong_fields):
    data = {"name": u.name, "role": role, "organization_id": 0, "dong_ids": [d.id for d in dongs], "active": "y"}
    data.update({f"tongs_{k}": v for k, v in tong_fields.items()})
    return client.post(f"/admin/users/{u.id}", data=data)


def _tongs(user_id):
    db.session.expire_all()
    return tongs.of_user(user_id)


def test_the_admin_sets_a_tong_leaders_tongs_on_the_account(admin, client):
    d, other, leader = admin
    page = client.get(f"/admin/users/{leader.id}").get_data(as_text=True)
    assert f'name="tongs_{d.id}"' in page and "민락동" in page and f'name="tongs_{other.id}"' not in page
    assert _save(client, leader, dongs=[d], **{str(d.id): "７통, 12 7"}).status_code == 302
    assert _tongs(leader.id) == {d.id: [7, 12]}
    page = client.get(f"/admin/users/{leader.id}").get_data(as_text=True)
    assert 'value="7, 12"' in page
    # A second dong chosen: its field comes with the saved form; the first dong's tongs stay.
    assert _save(client, leader, dongs=[d, other], **{str(d.id): "7, 12"}).status_code == 302
    assert _tongs(leader.id) == {d.id: [7, 12]}
    assert _save(client, leader, dongs=[d, other], **{str(d.id): "7", str(other.id): "3"}).status_code == 302
    assert _tongs(leader.id) == {d.id: [7], other.id: [3]}
    # Taking a dong away drops its tongs; emptying a field drops those.
    assert _save(client, leader, dongs=[other], **{str(other.id): "3"}).status_code == 302
    assert _tongs(leader.id) == {other.id: [3]}
    assert _save(client, leader, dongs=[other], **{str(other.id): ""}).status_code == 302
    assert _tongs(leader.id) == {}


@pytest.mark.parametrize("typed, message", [
    ("0", "통 번호는 1부터 999까지입니다(입력한 값: 0)."),
    ("1000", "통 번호는 1부터 999까지입니다(입력한 값: 1000)."),
    ("7, -3", "통 번호를 쉼표로 구분해 입력하세요. 예: 7 또는 7, 12"),
    ("칠통", "통 번호를 쉼표로 구분해 입력하세요. 예: 7 또는 7, 12"),
    (", ".join(str(n) for n in range(1, 22)), "한 동에 통은 20개까지 입력할 수 있습니다."),
])
def test_the_account_form_refuses_tong_numbers_that_are_not_ones(admin, client, typed, message):
    d, _other, leader = admin
    tongs.set_for_user(leader.id, {d.id: [5]})
    db.session.commit()
    r = _save(client, leader, dongs=[d], **{str(d.id): typed})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert message in page and page.count('class="form-error"') == 1
    assert _tongs(leader.id) == {d.id: [5]}


def test_only_a_tong_leader_serves_tongs(admin, client):
    d, _other, leader = admin
    tongs.set_for_user(leader.id, {d.id: [5]})
    db.session.commit()
    r = _save(client, leader, role="honorary", dongs=[d], **{str(d.id): "5"})
    assert r.status_code == 400
    assert "통장만 담당 통을 가집니다. 통 번호를 지우거나 역할을 통장으로 고르세요." in r.get_data(as_text=True)
    assert _tongs(leader.id) == {d.id: [5]}
    assert _save(client, leader, role="honorary", dongs=[d], **{str(d.id): ""}).status_code == 302
    assert _tongs(leader.id) == {} and db.session.get(User, leader.id).role == "honorary"


def test_the_database_keeps_tongs_to_the_accounts_dongs_and_range(admin):
    from sqlalchemy.exc import IntegrityError

    d, other, leader = admin
    for bad in ({other.id: [3]}, {d.id: [0]}):
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                tongs.set_for_user(leader.id, bad)
    db.session.rollback()


# --- an invitation for a tong leader ------------------------------------------------------------------------

def _invite(client, d_ids, role="tong_leader", tongs_typed="7"):
    return client.post("/admin/invitations", data={"role": role, "organization_id": 0, "dong_ids": d_ids,
                                                   "tongs": tongs_typed, "note": "7통 통장님", "max_uses": 1,
                                                   "days": 14})


def test_a_tong_leader_joins_with_the_tongs_of_the_invitation(admin, client, app):
    d, _other, _leader = admin
    b.household(d, road="경기도 의정부시 민락로 106", unit="1층", tong=7, name="신현주")
    b.household(d, road="경기도 의정부시 민락로 103", unit="3층", tong=3, name="조미경")
    db.session.commit()
    r = _invite(client, [d.id], tongs_typed="7, 12")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "통장 · 7통, 12통" in page
    inv = db.session.scalar(select(Invitation))
    assert tongs.of_invitation(inv.id) == {d.id: [7, 12]}
    path = re.search(r'value="http[^"]+(/account/join/[^"]+)"', page).group(1)
    joiner = app.test_client()
    r = joiner.post(path, data={"name": "최통장", "login_id": "tong7", "new_password": "민락동 칠통 통장님",
                                "confirm": "민락동 칠통 통장님"})
    assert r.status_code == 302
    u = db.session.scalar(select(User).where(User.login_id == "tong7"))
    assert u.role == "tong_leader" and tongs.of_user(u.id) == {d.id: [7, 12]}
    assert joiner.post("/account/pledge", data={"agree": "y"}).status_code == 302
    page = joiner.get("/report?q=민락로").get_data(as_text=True)
    assert "신현주" in page and "조미경" not in page and NO_TONG_HINT not in page


@pytest.mark.parametrize("role, two_dongs, message", [
    ("honorary", False, "통장만 담당 통을 가집니다. 통 번호를 지우거나 역할을 통장으로 고르세요."),
    ("tong_leader", True, "담당 통은 한 동에 속합니다. 이 초대에 동을 하나만 고르거나, 통을 비워 두고 가입한 뒤 계정에서 "
                          "설정하세요."),
])
def test_an_invitation_carries_tongs_only_for_a_tong_leader_of_one_dong(admin, client, role, two_dongs, message):
    d, other, _leader = admin
    r = _invite(client, [d.id, other.id] if two_dongs else [d.id], role=role)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert db.session.scalar(select(func.count()).select_from(invitation_tongs)) == 0
    # Without tongs, either is an invitation as before.
    assert _invite(client, [d.id, other.id] if two_dongs else [d.id], role=role, tongs_typed="").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(user_tongs)) == 0


def test_an_invitation_refuses_tong_numbers_out_of_range(admin, client):
    d, _other, _leader = admin
    r = _invite(client, [d.id], tongs_typed="1000")
    assert r.status_code == 400 and "통 번호는 1부터 999까지입니다(입력한 값: 1000)." in r.get_data(as_text=True)


def test_typed_tong_numbers():
    assert tongs.parse("７통, 12 7、3") == [3, 7, 12]
    assert tongs.parse("  ") == [] and tongs.parse(None) == []
    for bad in ("7통통", "1.5", "0", "999 1000"):
        with pytest.raises(tongs.TongNumbersError):
            tongs.parse(bad)
