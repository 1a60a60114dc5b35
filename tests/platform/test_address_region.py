"""An address written with or without its 시·도 and 시·군·구 is the same address (the dong says where it is)."""
import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.core.korean import address_key
from volnet.extensions import db
from volnet.households import services
from volnet.households.models import Household
from volnet.observations.models import Observation


@pytest.mark.parametrize("typed", ["경기도 의정부시 민락로 106", "의정부시 민락로 106", "경기 의정부시 민락로106",
                                   "민락로 106", "민락로106"])
def test_the_region_words_at_the_start_are_left_out(typed):
    assert address_key(typed, "1 층") == address_key("경기도 의정부시 민락로 106", "1층") == "민락로1061층"


@pytest.mark.parametrize("road, key", [
    ("서울특별시 노원구 상계로 1", "상계로1"), ("경기도 양평군 양평읍 중앙로 3", "중앙로3"),
    ("의정부시 도시로 12", "도시로12"), ("도시로 12", "도시로12"),  # a road is never taken for a region
    ("의정부시", "의정부시"),  # nor the only word: a search for the city stays one
    ("의정부시민락로 106", "의정부시민락로106"),  # joined to the road: not a word of its own
])
def test_only_whole_region_words_before_the_road(road, key):
    assert address_key(road) == key


def test_a_reporter_typing_the_address_without_province_finds_the_recorded_household(app, client):
    d = b.dong()
    recorded = b.household(d, "경기도 의정부시 민락로 106", "1층", name="신현주")
    leader = b.user("tong_leader", [d])
    db.session.commit()
    b.login(client, leader)
    for n, (road, unit) in enumerate([("의정부시 민락로 106", "1층"), ("민락로106", "1 층")]):
        r = client.post("/report/new", data={"dong_id": d.id, "road_address": road, "unit": unit,
                                             "urgency": "routine", "signals": ["mail_piling"],
                                             "client_token": f"region-{n}"})
        assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Household)) == 1
    assert set(db.session.scalars(select(Observation.household_id))) == {recorded.id}
    assert [h.id for h in services.at_address(d.id, "의정부시 민락로 106", "1층")] == [recorded.id]
