"""Reporters and caseworkers after the third QA round (2026-12-04): a search that finds more households than
it lists says so and lists them in address order; a citizen's Back and unchanged re-send keeps the first
report; a household created for a citizen's report starts from what the report says."""
from __future__ import annotations

import re

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
