"""QA round 20, finding 13: a report started from a stop of the volunteer's route ("Worried") ends on the sent page
with "Back to the route" (that shift's route, at that stop), for the volunteer of that shift only."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation


def on_the_route():
    d, org, coord, p = sb.world()
    h = b.household(d, "경기도 의정부시 송산로 10", "2층", name="박명자")
    other = b.household(d, "경기도 의정부시 송산로 20", "", name="김복례")
    o = sb.occurrence(p, in_hours=1, hours=2, capacity=2)
    st, st_other = sb.stop(o, h), sb.stop(o, other, pos=2)
    v = sb.volunteer(d, name="서하늘")
    sb.signed(o, v)
    db.session.commit()
    clock.freeze(o.starts_at + timedelta(minutes=10))
    return dict(d=d, h=h, other=other, o=o, st=st, st_other=st_other, v=v, coord=coord)


def report(client, url, w, token):
    return client.post(url, data={"household_id": w["h"].id, "dong_id": w["d"].id, "urgency": "urgent",
                                  "signals": ["mail_piling"], "note": "우유 3개가 문 앞에 쌓여 있음",
                                  "client_token": token})


def back_link(page: str) -> str | None:
    if "방문 경로로 돌아가기" not in page:
        return None
    return page.split("방문 경로로 돌아가기", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]


def test_worried_at_a_door_then_the_report_leads_back_to_that_route(client):
    w = on_the_route()
    b.login(client, w["v"])
    r = client.post(f"/shifts/stops/{w['st'].id}/outcome", data={"outcome": "concern"})
    form_url = r.headers["Location"]
    assert parse_qs(urlsplit(form_url).query)["stop"] == [str(w["st"].id)]
    assert client.get(form_url).status_code == 200
    sent = report(client, form_url, w, "route-1")
    assert sent.status_code == 302 and "/report/sent/" in sent.headers["Location"]
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert back_link(page) == f"/shifts/{w['o'].id}/route#stop-{w['st'].id}"
    assert "다른 제보하기" in page and "내 제보" in page  # still there, after the way back
    assert client.get(back_link(page)).status_code == 200
    # The same form sent again (a double tap): the page that says so leads back too.
    again = report(client, form_url, w, "route-1")
    assert back_link(client.get(again.headers["Location"]).get_data(as_text=True)) == back_link(page)


def test_no_way_back_for_anyone_else_or_a_stop_that_is_not_that_households(app, client):
    w = on_the_route()
    b.login(client, w["v"])
    plain = report(client, "/report/new", w, "plain-1")  # a report not started from the route
    page = client.get(plain.headers["Location"]).get_data(as_text=True)
    assert back_link(page) is None
    obs_id = db.session.scalar(select(Observation.id).where(Observation.client_token == "plain-1"))
    for stop in (w["st_other"].id, 0, -1, 99999999999, "abc"):  # another household's stop, nonsense
        page = client.get(f"/report/sent/{obs_id}?stop={stop}").get_data(as_text=True)
        assert back_link(page) is None
    # The program's coordinator may open the route and report from it, but the way back is the volunteer's.
    coord = app.test_client()
    b.login(coord, w["coord"])
    r = report(coord, f"/report/new?household_id={w['h'].id}&stop={w['st'].id}", w, "coord-1")
    assert r.status_code == 302
    assert back_link(coord.get(r.headers["Location"]).get_data(as_text=True)) is None
    # After the shift's route has closed, the volunteer is not sent back to it either.
    tail = w["o"].ends_at + timedelta(hours=w["o"].program.route_after_hours or 0, minutes=1)
    clock.freeze(tail)
    page = client.get(f"/report/sent/{obs_id}?stop={w['st'].id}").get_data(as_text=True)
    assert back_link(page) is None
