"""The reporter's observation form on a phone: find or quick-add, report, see a coarse status."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation


@pytest.fixture
def setup(app, client):
    d = b.dong()
    tl = b.user("tong_leader", [d])
    db.session.commit()
    b.login(client, tl)
    return d, tl


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_quick_add_and_report(setup, client):
    d, tl = setup
    r = client.post("/report/new", data={
        "dong_id": d.id, "road_address": "경기도 의정부시 송산로 547번길 12", "unit": "지하 1층", "tong": "7",
        "name": "김영희", "lives_alone": "yes", "age_band": "80p", "urgency": "routine",
        "signals": ["mail_piling", "not_going_out"], "meals": "poor", "note": "우편물이 쌓여 있어요",
        "client_token": "t1"})
    assert r.status_code == 302
    h = db.session.scalar(select(Household))
    assert h.unit == "지하 1층" and h.tong == 7 and h.lives_alone is True and h.alias == "김영희"
    o = db.session.scalar(select(Observation))
    assert o.signals == ["mail_piling", "not_going_out"] and o.reporter_id == tl.id and o.concern_id
    page = client.get("/my/reports").get_data(as_text=True)
    assert "접수됨" in page  # coarse status in Korean, the default language


def test_quick_add_finds_the_same_household_despite_spacing(setup, client):
    d, _ = setup
    base = {"dong_id": d.id, "urgency": "routine", "signals": ["mail_piling"]}
    client.post("/report/new", data={**base, "road_address": "송산로 547번길 12", "unit": "101동 1203호",
                                     "client_token": "a"})
    client.post("/report/new", data={**base, "road_address": "송산로547길 12", "unit": "101동1203호",
                                     "signals": ["not_going_out"], "client_token": "b"})
    assert count(Household) == 1
    assert count(Concern) == 1 and count(Observation) == 2


def test_double_post_is_one_record(setup, client):
    d, _ = setup
    data = {"dong_id": d.id, "road_address": "송산로 1", "urgency": "urgent", "signals": ["unreachable"],
            "client_token": "same-token"}
    assert client.post("/report/new", data=data).status_code == 302
    assert client.post("/report/new", data=data).status_code == 302
    assert count(Observation) == 1


def test_search_by_address_and_chosung(setup, client):
    from volnet.accounts import tongs

    d, tl = setup
    b.household(d, road="경기도 의정부시 호국로 1234번길 12", unit="2층", name="김영희", tong=7).refresh_keys()
    tongs.set_for_user(tl.id, {d.id: [7]})
    db.session.commit()
    assert "호국로" in client.get("/report?q=호국로1234길").get_data(as_text=True)
    assert "호국로" in client.get("/report?q=ㄱㅇㅎ").get_data(as_text=True)  # a tong leader knows their tong's names
    assert "호국로" not in client.get("/report?q=없는길").get_data(as_text=True).split("</form>")[-1]


def test_emergency_shows_call_119_first(setup, client):
    page = client.get("/report/emergency").get_data(as_text=True)
    assert 'href="tel:119"' in page and 'href="tel:112"' in page
    form = client.get("/report/new?urgency=emergency").get_data(as_text=True)
    assert 'value="emergency" checked' in form or 'checked value="emergency"' in form or \
        ('value="emergency"' in form and "checked" in form)
    assert 'href="tel:119"' in form


def test_emergency_report_creates_an_emergency_concern(setup, client):
    d, _ = setup
    client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 9", "urgency": "emergency",
                                     "signals": ["unreachable"], "client_token": "e"})
    c = db.session.scalar(select(Concern))
    assert c.urgency == "emergency"


@pytest.mark.parametrize("bad, message", [
    ({"road_address": ""}, "주소"),
    ({"signals": [], "note": "   "}, "하나 이상"),
    ({"signals": ["not_a_signal"]}, "선택"),
    ({"urgency": "panic"}, "선택"),
    ({"tong": "-3"}, ""),
    ({"seen_at": "2024-02-30T10:00"}, "날짜"),
    ({"seen_at": "9999-12-31T10:00"}, "미래"),
    ({"note": "가" * 2001}, "2000"),
    ({"dong_id": "999999"}, "선택"),
])
def test_bad_input_gets_a_clear_message_and_saves_nothing(setup, client, bad, message):
    d, _ = setup
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    data = {"dong_id": d.id, "road_address": "송산로 1", "urgency": "routine", "signals": ["mail_piling"],
            "client_token": "x", **bad}
    b.login(client, db.session.scalar(select(b.User).where(b.User.role == "tong_leader")))
    r = client.post("/report/new", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "form-error" in page and message in page
    assert count(Observation) == 0 and count(Household) == 0


def test_text_is_kept_exactly_and_shown_escaped(setup, client, app):
    d, _ = setup
    note = "<script>alert(1)</script> 🙂 שלום e\u0301 '; DROP TABLE users;--"
    client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 1", "urgency": "routine",
                                     "signals": ["other"], "note": note, "client_token": "n"})
    o = db.session.scalar(select(Observation))
    assert o.note.startswith("<script>alert(1)</script> 🙂 שלום")
    cw = b.user("caseworker", [d])
    db.session.commit()
    c2 = app.test_client()
    b.login(c2, cw)
    page = c2.get(f"/concerns/{o.concern_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_reporter_without_dong_is_told(app, client):
    u = b.user("partner", [])
    db.session.commit()
    b.login(client, u)
    r = client.get("/report/new", follow_redirects=True)
    assert "동" in r.get_data(as_text=True) and count(Observation) == 0


def test_cannot_report_on_a_household_of_another_dong(setup, client):
    other = b.dong()
    h = b.household(other)
    db.session.commit()
    assert client.get(f"/report/new?household_id={h.id}").status_code == 404
    r = client.post("/report/new", data={"household_id": h.id, "dong_id": other.id, "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": "z"})
    assert r.status_code == 404 and count(Observation) == 0


def test_reporter_sees_only_coarse_status(setup, client, app):
    d, tl = setup
    client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 1", "urgency": "routine",
                                     "signals": ["mail_piling"], "client_token": "c"})
    c = db.session.scalar(select(Concern))
    from volnet.concerns import services

    cw = b.user("caseworker", [d])
    services.close(c, cw, "services_linked", "기초생활수급 신청 연계, 우울 증상")
    db.session.commit()
    page = client.get("/my/reports").get_data(as_text=True)
    assert "처리 완료" in page
    assert "기초생활수급" not in page and "우울" not in page and "서비스 연계" not in page


def test_a_report_on_a_household_erased_meanwhile_is_refused_clearly(setup, client, app, monkeypatch):
    # An admin erases the household (a privacy request) after the report form found it and before the
    # report is written: the foreign key refuses the write. The reporter is told, nothing is saved.
    from volnet.observations import pg_submit
    from volnet.privacy.services import erase_household

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no erasure can commit inside a request")
    d, _ = setup
    h = b.household(d, road="경기도 의정부시 송산로 9", name="김영희")
    db.session.commit()
    hid, real = h.id, pg_submit.submit

    def erased_first(*args, **kwargs):
        with app.app_context():  # another request: the admin erases the household and commits
            assert erase_household(db.session.get(Household, hid)) == "erased"
            db.session.commit()
        return real(*args, **kwargs)

    monkeypatch.setattr(pg_submit, "submit", erased_first)
    r = client.post("/report/new", data={"dong_id": d.id, "household_id": hid, "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": "gone"})
    assert r.status_code == 409
    assert "방금 (개인정보 삭제 요청으로) 삭제되어 저장하지 않았습니다" in r.get_data(as_text=True)
    assert count(Observation) == 0 and count(Concern) == 0 and db.session.get(Household, hid) is None


def test_quick_add_finds_the_household_among_others_whose_address_starts_the_same(setup, client):
    """A building's flats and the house next door share the start of their address key ("송산로 12" is
    how "송산로 12 101동 1203호" and "송산로 123" begin): the quick add must still find the one household
    at exactly this address, however many others were added before it."""
    d, tl = setup
    for unit in ("101동 1203호", "101동 1204호"):
        b.household(d, "송산로 12", unit)
    b.household(d, "송산로 123", "")
    house = b.household(d, "송산로 12", "")
    b.household(d, "송산로 12", "102동 101호")
    db.session.commit()
    before = count(Household)
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로12", "unit": "",
                                         "urgency": "routine", "signals": ["mail_piling"], "client_token": "p1"})
    assert r.status_code == 302
    assert count(Household) == before
    assert db.session.scalar(select(Observation.household_id)) == house.id
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 12", "unit": "101동1204호",
                                         "urgency": "routine", "signals": ["mail_piling"], "client_token": "p2"})
    assert r.status_code == 302 and count(Household) == before
