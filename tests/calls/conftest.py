import pytest


@pytest.fixture(autouse=True)
def _english_pages(request):
    """These tests read messages in English; Korean (the default) is covered by tests/platform."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").set_cookie("volnet_lang", "en")
    yield


@pytest.fixture
def world(app):
    """A dong at Monday 10:00 in Seoul with its caseworker, team lead, tong leader (with a phone) and a
    volunteer caller. test_calls.py and test_plan_scope.py keep worlds of their own."""
    from tests import builders as b
    from tests.calls.builders import T0
    from volnet.core import clock

    clock.freeze(T0)
    d = b.dong()
    return {"dong": d, "cw": b.user("caseworker", [d], name="김민수"), "lead": b.user("team_lead", [d]),
            "tong": b.user("tong_leader", [d], name="한상철", phone="01077778888"),
            "vol": b.user("volunteer", [d], name="서하늘")}
