"""Reporters and caseworkers after the third QA round (2026-12-04): a search that finds more households than
it lists says so and lists them in address order; a citizen's Back and unchanged re-send keeps the first
report; a household created for a citizen's report starts from what the report says."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.extensions import db
from volnet.households.models import Household

MORE = "찾은 가구 14곳 중 앞의 10곳만 보입니다."


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _cards(page: str, marker: str) -> list[str]:
    """The addresses of the listed households, in the page's order."""
    return re.findall(marker, page)


# --- 3: a capped search says so, and lists in address order ------------------------------------------------

@pytest.fixture
def hoguk(app):
    """A dong with 14 living households on 호국로 (and one that died, never listed)."""
    d = b.dong()
    for n in (9, 106, 266, 156, 18, 2, 160, 31, 47, 52, 68, 7, 88, 99):
        b.household(d, road=f"경기도 의정부시 호국로 {n:03d}", unit="1층", tong=n % 5 + 1)
    b.household(d, road="경기도 의정부시 호국로 001", unit="1층", status="deceased")
    db.session.commit()
    return d


def test_the_reporters_search_says_it_shows_the_first_10_of_14_in_address_order(hoguk, client):
    b.login(client, b.user("tong_leader", [hoguk]))
    page = client.get("/report?q=호국로").get_data(as_text=True)
    assert MORE in page
    shown = _cards(page, r'<div class="card-title">경기도 의정부시 호국로 (\d+) 1층</div>')
    assert shown == ["002", "007", "009", "018", "031", "047", "052", "068", "088", "099"]

    page = client.get("/report?q=호국로 160").get_data(as_text=True)  # typed more: all of them are listed
    assert "곳만 보입니다" not in page
    assert _cards(page, r'<div class="card-title">경기도 의정부시 호국로 (\d+) 1층</div>') == ["160"]


def test_the_concern_pages_link_search_says_so_too_in_address_order(hoguk, client):
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    report = obs_services.submit(Observation(dong_id=hoguk.id, source="citizen", urgency="routine",
                                             signals=["smell_insects"], location_text="호국로 어딘가"), None)[0]
    db.session.commit()
    b.login(client, b.user("caseworker", [hoguk]))
    page = client.get(f"/concerns/{report.concern_id}?hq=호국로").get_data(as_text=True)
    assert "찾은 가구 15곳 중 앞의 10곳만 보입니다." in page  # staff see every record, the deceased one too
    shown = _cards(page, r'<div class="card-title">경기도 의정부시 호국로 (\d+) 1층</div>')
    assert shown == ["001", "002", "007", "009", "018", "031", "047", "052", "068", "088"]
    page = client.get(f"/concerns/{report.concern_id}?hq=호국로 16").get_data(as_text=True)
    assert "곳만 보입니다" not in page
    assert _cards(page, r'<div class="card-title">경기도 의정부시 호국로 (\d+) 1층</div>') == ["160"]


# --- 9: a household added for a citizen's report starts from what the report says --------------------------

def test_a_household_added_for_a_citizen_report_starts_from_the_report(app, client):
    from volnet.concerns.models import Concern
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    d = b.dong(name="민락동")
    cw = b.user("caseworker", [d])
    report = obs_services.submit(Observation(
        dong_id=d.id, source="citizen", urgency="routine", signals=["smell_insects"],
        location_text="민락로 12 빌라 1층", subject_sex="f", subject_age_band="70s",
        note="창문 너머로 냄새가 나요"), None)[0]
    db.session.commit()
    b.login(client, cw)
    r = client.get(f"/households/new?link_concern={report.concern_id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    box = page[page.index(f"위기 의심 건 #{report.concern_id}의 가구"):page.index('<form method="post" novalidate>')]
    assert "제보된 위치</dt><dd>민락로 12 빌라 1층</dd>" in box
    assert "악취·벌레" in box and "여성 · 70대" in box and "창문 너머로 냄새가 나요" in box
    assert 'id="road_address" maxlength="200" name="road_address" required type="text" value="민락로 12 빌라 1층"' in page
    assert '<option selected value="f">' in page and '<option selected value="70s">' in page
    assert f'<option selected value="{d.id}">' in page

    # Corrected into a road-name address and saved: the household is linked, with what the form holds.
    r = client.post(f"/households/new?link_concern={report.concern_id}",
                    data={"dong_id": d.id, "road_address": "경기도 의정부시 민락로 12", "unit": "1층", "sex": "f",
                          "age_band": "70s", "lives_alone": "", "status": "active"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/concerns/{report.concern_id}")
    h = db.session.scalar(select(Household))
    assert (h.road_address, h.sex, h.age_band) == ("경기도 의정부시 민락로 12", "f", "70s")
    assert db.session.get(Concern, report.concern_id).household_id == h.id

    # A blank "add a household" shows no report, and another dong's report is not shown either.
    assert "제보된 위치" not in client.get("/households/new").get_data(as_text=True)
    other = b.dong(name="호원동")
    elsewhere = obs_services.submit(Observation(dong_id=other.id, source="citizen", urgency="routine",
                                                signals=["mail_piling"], location_text="호원동 시장 뒤"), None)[0]
    db.session.commit()
    page = client.get(f"/households/new?link_concern={elsewhere.concern_id}").get_data(as_text=True)
    assert "호원동 시장 뒤" not in page and "제보된 위치" not in page


# --- 1: Back, and the unchanged citizen form sent again (the browser showed it anew) ----------------------

CODE = re.compile(r"<strong>([2-9A-Z]{4}-[2-9A-Z]{4})</strong>")
AGAIN = "이미 보낸 제보입니다"


def _citizen_form(client) -> str:
    page = client.get("/report-a-neighbour").get_data(as_text=True)
    return re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)


def _citizen_send(client, dong_id, **extra):
    """Open the form (a new form token each time, as the browser's Back does) and send it."""
    data = {"dong_id": dong_id, "location_text": "민락로 99 빌라 2층", "signals": ["smell_insects"],
            "urgency": "routine", "subject_sex": "unknown", "subject_age_band": "unknown",
            "started": _citizen_form(client), **extra}
    r = client.post("/report-a-neighbour", data=data, environ_base={"REMOTE_ADDR": "10.9.0.7"})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return client.get(r.headers["Location"]).get_data(as_text=True)


@pytest.fixture
def filled_slowly(monkeypatch):
    """The citizen took a minute over the form (the bot check wants at least 3 seconds)."""
    import time
    from types import SimpleNamespace

    from volnet.observations import public

    real = time.time
    monkeypatch.setattr(public, "time", SimpleNamespace(time=lambda: real() + 60))


def test_back_and_the_same_citizen_form_sent_again_with_a_new_token_keeps_the_first_report(app, client,
                                                                                            filled_slowly):
    from volnet.concerns.models import Concern
    from volnet.core import clock
    from volnet.observations.models import Observation

    d = b.dong()
    db.session.commit()
    first = _citizen_send(client, d.id)
    code = CODE.search(first).group(1)
    assert AGAIN not in first

    again = _citizen_send(client, d.id)  # Back: the form is fetched again, with a new token; sent unchanged
    assert CODE.search(again).group(1) == code and AGAIN in again
    assert count(Observation) == 1 and count(Concern) == 1

    changed = _citizen_send(client, d.id, note="며칠째 우편물이 쌓여 있어요")  # changed after Back: a report
    assert CODE.search(changed).group(1) != code and AGAIN not in changed
    assert count(Observation) == 2

    # Another browser sending the same words is not told anything about this one's report.
    other = app.test_client()
    theirs = _citizen_send(other, d.id)
    assert CODE.search(theirs).group(1) != code and AGAIN not in theirs
    assert count(Observation) == 3

    # A quarter of an hour later the same words from this browser are a new report too.
    clock.freeze(clock.now() + timedelta(minutes=15))
    later = _citizen_send(client, d.id)
    assert CODE.search(later).group(1) != code and AGAIN not in later
    assert count(Observation) == 4


def test_back_and_send_within_seconds_is_the_first_report_not_the_bot_check(app, client, monkeypatch):
    import time
    from types import SimpleNamespace

    from volnet.observations import public
    from volnet.observations.models import Observation

    d = b.dong()
    db.session.commit()
    real = time.time
    monkeypatch.setattr(public, "time", SimpleNamespace(time=lambda: real() + 60))
    code = CODE.search(_citizen_send(client, d.id)).group(1)
    monkeypatch.setattr(public, "time", SimpleNamespace(time=real))  # Back, and send again at once
    again = _citizen_send(client, d.id)
    assert CODE.search(again).group(1) == code and AGAIN in again
    assert "천천히" not in again and count(Observation) == 1
