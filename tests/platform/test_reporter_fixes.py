"""Reporters' phone journeys after QA: the citizen page's thank-you page can be reloaded, partners do not
list the dong's households, the back button does not file a report twice, "My reports" tells reports apart."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from tests import builders as b
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations import public
from volnet.observations.models import Observation

CODE = re.compile(r"<strong>([2-9A-Z]{4}-[2-9A-Z]{4})</strong>")


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- the citizen page: post/redirect/get, and the same form sent again keeps its first code ---------------

def _citizen_form(client) -> str:
    page = client.get("/report-a-neighbour").get_data(as_text=True)
    return re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)


def _citizen_post(client, dong_id, started, ip="10.9.0.1", **extra):
    data = {"dong_id": dong_id, "location_text": "호원동 시장 앞", "signals": ["rubbish_bottles"],
            "urgency": "routine", "subject_sex": "unknown", "subject_age_band": "unknown", "started": started,
            **extra}
    return client.post("/report-a-neighbour", data=data, environ_base={"REMOTE_ADDR": ip})


@pytest.fixture
def filled_slowly(monkeypatch):
    """The citizen took a minute to fill in the form (the bot check wants at least 3 seconds)."""
    real = time.time
    monkeypatch.setattr(public, "time", SimpleNamespace(time=lambda: real() + 60))


def test_reloading_the_citizen_thank_you_page_sends_nothing_again(app, client, filled_slowly):
    d = b.dong(name="호원1동")
    db.session.commit()
    started = _citizen_form(client)
    r = _citizen_post(client, d.id, started)
    assert r.status_code == 303 and r.headers["Location"].endswith("/report-a-neighbour/sent")
    first = client.get(r.headers["Location"])
    code = CODE.search(first.get_data(as_text=True)).group(1)
    again = client.get("/report-a-neighbour/sent")  # the reload: a GET, nothing is posted
    assert again.status_code == 200 and CODE.search(again.get_data(as_text=True)).group(1) == code
    assert code not in r.headers["Location"]  # the address bar shows no code
    assert count(Observation) == 1 and count(Concern) == 1


def test_the_same_citizen_form_sent_twice_keeps_its_first_code(app, client, filled_slowly):
    d = b.dong(name="호원1동")
    db.session.commit()
    started = _citizen_form(client)
    code = CODE.search(client.get(_citizen_post(client, d.id, started).headers["Location"])
                       .get_data(as_text=True)).group(1)
    r = _citizen_post(client, d.id, started)  # back, then send again (or a browser re-posting)
    assert r.status_code == 303
    assert CODE.search(client.get(r.headers["Location"]).get_data(as_text=True)).group(1) == code
    assert count(Observation) == 1 and count(Concern) == 1
    # A new form is a new report, with its own code.
    r = _citizen_post(client, d.id, _citizen_form(client), location_text="다른 골목")
    other = CODE.search(client.get(r.headers["Location"]).get_data(as_text=True)).group(1)
    assert other != code and count(Observation) == 2


def test_a_citizen_form_changed_after_back_is_a_new_report_with_its_own_code(app, client, filled_slowly):
    d = b.dong(name="호원1동")
    db.session.commit()
    started = _citizen_form(client)
    first = CODE.search(client.get(_citizen_post(client, d.id, started).headers["Location"])
                        .get_data(as_text=True)).group(1)
    # "Back", a word more about where, and send: the same form, changed.
    r = _citizen_post(client, d.id, started, location_text="호원동 시장 앞 파란 대문 집", note="며칠째 불이 꺼져 있어요")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    second = CODE.search(page).group(1)
    assert second != first and "이미 보낸 제보입니다" not in page
    assert count(Observation) == 2
    assert count(Observation, Observation.reference_code == second,
                 Observation.location_text == "호원동 시장 앞 파란 대문 집") == 1
    # Sent once more unchanged: that one stands, and the citizen is told so.
    r = _citizen_post(client, d.id, started, location_text="호원동 시장 앞 파란 대문 집", note="며칠째 불이 꺼져 있어요")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert CODE.search(page).group(1) == second and "이미 보낸 제보입니다" in page
    assert count(Observation) == 2


def test_the_citizen_code_is_gone_once_a_new_form_is_opened_or_after_a_while(app, client, filled_slowly):
    d = b.dong(name="호원1동")
    db.session.commit()
    sent = client.get(_citizen_post(client, d.id, _citizen_form(client)).headers["Location"])
    code = CODE.search(sent.get_data(as_text=True)).group(1)
    assert sent.headers["Cache-Control"] == "no-store"
    assert CODE.search(client.get("/report-a-neighbour/sent").get_data(as_text=True)).group(1) == code  # reload
    # The next person at this computer opens a blank form: no code there, and none on the thank-you page.
    assert code not in client.get("/report-a-neighbour").get_data(as_text=True)
    r = client.get("/report-a-neighbour/sent")
    assert r.status_code == 302 and r.headers["Location"].endswith("/report-a-neighbour")
    assert code not in client.get("/report-a-neighbour/sent", follow_redirects=True).get_data(as_text=True)

    # Left on the thank-you page: a reload a while later shows the code no more either.
    clock.freeze(clock.now())
    r = _citizen_post(client, d.id, _citizen_form(client), location_text="다른 골목")
    code = CODE.search(client.get(r.headers["Location"]).get_data(as_text=True)).group(1)
    clock.freeze(clock.now() + timedelta(minutes=11))
    r = client.get("/report-a-neighbour/sent")
    assert r.status_code == 302 and code not in client.get("/report-a-neighbour/sent", follow_redirects=True) \
        .get_data(as_text=True)


def test_the_citizen_checks_still_hold(app, client):
    d = b.dong(name="호원1동")
    db.session.commit()
    assert _citizen_post(client, d.id, _citizen_form(client)).status_code == 400  # sent within 3 seconds
    assert client.get("/report-a-neighbour/sent").status_code == 302  # nothing sent from this browser yet
    assert count(Observation) == 0


# --- who may list the dong's recorded households ----------------------------------------------------------

@pytest.fixture
def recorded(app):
    d = b.dong()
    h = b.household(d, road="경기도 의정부시 동일로 10", unit="옥탑", tong=2, ban=1, name="김영희")
    db.session.commit()
    return d, h


@pytest.mark.parametrize("role", ["partner", "volunteer", "coordinator"])
def test_partners_volunteers_and_coordinators_cannot_list_households(recorded, client, role):
    d, h = recorded
    u = b.user(role, [d])
    db.session.commit()
    b.login(client, u)
    page = client.get("/report?q=동일로").get_data(as_text=True).split('<section class="narrow">')[1]
    assert "동일로" not in page and "옥탑" not in page and "2통" not in page
    assert 'name="q"' not in page and 'href="/report/new"' in page
    # Their report goes through the address form, and finds the recorded household by its exact address.
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "경기도 의정부시 동일로 10", "unit": "옥탑",
                                         "urgency": "routine", "signals": ["mail_piling"], "client_token": role})
    assert r.status_code == 302
    assert count(Household) == 1 and db.session.scalar(select(Observation.household_id)) == h.id


@pytest.mark.parametrize("role,message", [("partner", "본 가구의 주소를 적어 주세요."),
                                          ("volunteer", "본 가구의 주소를 적어 주세요."),
                                          ("tong_leader", "주소를 입력하거나 검색에서 가구를 선택하세요.")])
def test_a_report_without_an_address_says_what_this_reporter_can_do(recorded, client, role, message):
    """Only who has the household search is told to choose from it."""
    d, _h = recorded
    b.login(client, b.user(role, [d]))
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": " ", "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": role})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert message in page and page.count('class="form-error"') == 1
    assert count(Observation) == 0


@pytest.mark.parametrize("role", ["tong_leader", "honorary", "care_corps", "caseworker"])
def test_neighbourhood_eyes_and_staff_keep_the_search(recorded, client, role):
    d, h = recorded
    b.login(client, b.user(role, [d]))
    page = client.get("/report?q=동일로").get_data(as_text=True)
    assert "경기도 의정부시 동일로 10 옥탑" in page and f"household_id={h.id}" in page


# --- back button, then send again -------------------------------------------------------------------------

@pytest.fixture
def leader(app, client):
    d = b.dong()
    h = b.household(d, road="경기도 의정부시 민락로 106", unit="1층", tong=19, ban=1)
    u = b.user("tong_leader", [d])
    db.session.commit()
    b.login(client, u)
    return d, h, u


def _report(client, d, h, token, **extra):
    data = {"household_id": h.id, "dong_id": d.id, "urgency": "routine", "meals": "poor",
            "signals": ["mail_piling", "not_going_out"], "note": "우편함이 꽉 찼어요", "client_token": token, **extra}
    return client.post("/report/new", data=data)


def test_the_same_report_sent_again_after_the_back_button_is_not_saved_twice(leader, client):
    d, h, _ = leader
    first = _report(client, d, h, "form-1")
    assert first.status_code == 302
    obs_id = db.session.scalar(select(Observation.id))
    again = _report(client, d, h, "form-2")  # the form fetched again by "back", with a new token
    assert again.status_code == 302 and f"/report/sent/{obs_id}" in again.headers["Location"]
    assert count(Observation) == 1
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "이미 보낸 제보입니다" in page and "제보 완료" in page
    assert "이미 보낸 제보입니다" not in client.get(first.headers["Location"]).get_data(as_text=True)


def test_a_changed_report_or_a_later_one_is_saved(leader, client):
    d, h, _ = leader
    assert _report(client, d, h, "a").status_code == 302
    _report(client, d, h, "b", note="우편함이 꽉 찼어요. 문 앞에 우유도 쌓였어요")  # a word more
    _report(client, d, h, "c", urgency="urgent", note="우편함이 꽉 찼어요. 문 앞에 우유도 쌓였어요")  # more urgent
    assert count(Observation) == 3
    clock.freeze(clock.now() + timedelta(minutes=11))
    _report(client, d, h, "d")  # the same words, but later: another look
    assert count(Observation) == 4


def test_the_same_quick_add_report_sent_again_is_not_saved_twice(leader, client):
    d, h, _ = leader
    data = {"dong_id": d.id, "road_address": "경기도 의정부시 민락로 106", "unit": "1층", "urgency": "routine",
            "signals": ["smell_insects"]}
    assert client.post("/report/new", data={**data, "client_token": "q1"}).status_code == 302
    r = client.post("/report/new", data={**data, "client_token": "q2"})
    assert r.status_code == 302 and "again=1" in r.headers["Location"]
    assert count(Observation) == 1 and count(Household) == 1


def test_a_report_about_a_chosen_household_reads_what_it_needs_in_one_statement(leader, client):
    """The repeat check rides along in the form's one look-up (and, on PostgreSQL, the save is one more);
    only a second report about the same household within minutes reads the first one to compare."""
    d, h, _ = leader
    next_door = b.household(d, road="경기도 의정부시 민락로 108", unit="")
    db.session.commit()
    _report(client, d, next_door, "warm-up")
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if "observations" in statement:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert _report(client, d, h, "counted").status_code == 302
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    if db.engine.dialect.name == "postgresql":
        assert len(sent) == 2, sent  # the look-up and the one-statement save


# --- My reports -------------------------------------------------------------------------------------------

def test_my_reports_show_the_address_and_a_badge_per_status(leader, client):
    d, h, u = leader
    other = b.household(d, road="경기도 의정부시 동일로 282", unit="지하 1층")
    db.session.commit()
    _report(client, d, h, "m1")
    client.post("/report/new", data={"dong_id": d.id, "road_address": "호원로 7", "unit": "2층", "urgency": "routine",
                                     "signals": ["mail_piling"], "client_token": "m2"})
    _report(client, d, other, "m3")
    from volnet.concerns import services

    cw = b.user("caseworker", [d])
    by_household = {o.household_id: o for o in db.session.scalars(select(Observation))}
    services.close(db.session.get(Concern, by_household[other.id].concern_id), cw, "no_concern", "")
    services.acknowledge(db.session.get(Concern, by_household[h.id].concern_id), cw)
    db.session.commit()
    page = client.get("/my/reports").get_data(as_text=True)
    cards = page.split('<li class="card">')[1:]
    assert len(cards) == 3
    seen = {}
    for card in cards:
        where = re.search(r'<div class="card-title">([^<]+)</div>', card).group(1)
        badge = re.search(r'<span class="badge ([\w-]+)">([^<]+)</span>', card).groups()
        seen[where] = badge
    assert seen == {"경기도 의정부시 동일로 282 지하 1층": ("badge-ok", "처리 완료"),
                    "호원로 7 2층": ("badge-new", "접수됨"),  # as the reporter typed it
                    "경기도 의정부시 민락로 106 1층": ("badge-routine", "확인 중")}


def test_a_page_past_the_end_of_my_reports_shows_the_last_page(leader, client):
    d, h, u = leader
    for i in range(21):
        b.observation(h, reporter=u, signals=["other"], note=f"{i}")
    db.session.commit()
    r = client.get("/my/reports?page=999")
    assert r.status_code == 302 and r.headers["Location"].endswith("/my/reports?page=2")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "아직 보낸 제보가 없습니다" not in page and page.count('<li class="card">') == 1


def test_no_reports_yet_is_said_on_any_page(app, client):
    d = b.dong()
    b.login(client, b.user("partner", [d]))
    r = client.get("/my/reports?page=999")
    assert r.status_code == 200 and "아직 보낸 제보가 없습니다" in r.get_data(as_text=True)


# --- the quick-add form ----------------------------------------------------------------------------------

def test_quick_add_marks_the_address_required_and_gives_one_message_for_a_non_number(leader, client):
    d, *_ = leader
    page = client.get("/report/new").get_data(as_text=True)
    label = re.search(r'<label class="form-label" for="road_address">(.*?)</label>', page).group(1)
    assert 'class="req"' in label
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "호원로 7", "ban": "삼", "tong": "x1",
                                         "urgency": "routine", "signals": ["mail_piling"], "client_token": "n"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    for name in ("ban", "tong"):
        group = page.split(f'for="{name}"')[1].split('<div class="form-group')[0]
        assert group.count('class="form-error"') == 1 and "숫자로 입력하세요." in group, group
    assert "이상" not in page.split('for="tong"')[1].split('<div class="form-group')[0]
    assert count(Observation) == 0
    # Left empty, as a phone's browser sends them: no message, the report is saved.
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "호원로 7", "ban": "", "tong": " ",
                                         "urgency": "routine", "signals": ["mail_piling"], "client_token": "e"})
    assert r.status_code == 302 and count(Observation) == 1


@pytest.mark.parametrize("typed", ["", "   ", "\u200b"])
def test_quick_add_without_an_address_says_what_to_do_once(leader, client, typed):
    d, *_ = leader
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": typed, "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": "no-address"})
    assert r.status_code == 400
    group = r.get_data(as_text=True).split('for="road_address"')[1].split('<div class="form-group')[0]
    assert 'class="req"' in group and 'aria-invalid="true"' in group
    assert group.count('class="form-error"') == 1 and "주소를 입력하거나 검색에서 가구를 선택하세요." in group
    assert count(Observation) == 0 and count(Household) == 1


def test_the_citizen_thank_you_page_shows_nothing_to_another_browser(app, client):
    r = app.test_client().get("/report-a-neighbour/sent")
    assert r.status_code == 302 and r.headers["Location"].endswith("/report-a-neighbour")


@pytest.mark.parametrize("role, sees", [("partner", False), ("volunteer", False), ("coordinator", False),
                                        ("tong_leader", True), ("caseworker", True)])
def test_my_reports_show_a_households_recorded_address_only_to_who_may_look_it_up(app, client, role, sees):
    d = b.dong()
    h = b.household(d, road="경기도 의정부시 동일로 10", unit="옥탑", tong=2, ban=1, name="김영희")
    u = b.user(role, [d])
    b.observation(h, reporter=u)  # no address typed: the household was chosen
    b.observation(h, reporter=u, location_text="동일로 10 꼭대기 층")  # as they typed it
    db.session.commit()
    b.login(client, u)
    page = client.get("/my/reports").get_data(as_text=True)
    assert page.count('<li class="card">') == 2
    assert "동일로 10 꼭대기 층" in page
    assert ("경기도 의정부시 동일로 10 옥탑" in page) is sees
    assert ("옥탑" in page) is sees
    assert ("등록된 가구에 대한 제보" in page) is not sees
