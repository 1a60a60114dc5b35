"""Route privacy: only confirmed volunteers of that shift, only in the time window, and the coordinator."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation

SECRET_NAME = "홍길순"
SECRET_NOTE = "현관 비밀번호 1234"


def setup_route():
    d, org, coord, p = sb.world()
    h = b.household(d, name=SECRET_NAME, delivery_note=SECRET_NOTE, road="경기도 의정부시 송산로 77")
    o = sb.occurrence(p, in_hours=1, hours=2, capacity=1)  # starts in an hour: window open (2 h before)
    st = sb.stop(o, h)
    on = sb.volunteer(d, name="봉사자")
    sb.signed(o, on)
    waiting = sb.volunteer(d, name="대기자")
    sb.signed(o, waiting)
    stranger = sb.volunteer(d, name="남")
    other_org = b.organization("food_bank", d)
    other_coord = b.user("coordinator", dongs=[d], org=other_org)
    cw = b.user("caseworker", dongs=[d])
    db.session.commit()
    return dict(d=d, h=h, o=o, st=st, on=on, waiting=waiting, stranger=stranger, coord=coord,
                other_coord=other_coord, cw=cw, p=p)


def urls(w):
    o = w["o"]
    return [f"/shifts/{o.id}/route", f"/shifts/{o.id}/manage", f"/shifts/{o.id}/edit"]


def assert_no_household(client, w):
    for url in [f"/shifts/{w['o'].id}", f"/shifts/{w['o'].id}.ics", "/shifts/mine", "/shifts/"]:
        body = client.get(url).get_data(as_text=True)
        assert SECRET_NAME not in body and SECRET_NOTE not in body and "송산로 77" not in body, url


def test_people_not_on_the_shift_see_nothing(client):
    w = setup_route()
    for who in ("waiting", "stranger", "other_coord", "cw"):
        b.login(client, w[who])
        for url in urls(w):
            assert client.get(url).status_code == 404, (who, url)
        r = client.post(f"/shifts/stops/{w['st'].id}/outcome", data={"outcome": "no_answer"})
        assert r.status_code == 404
        if who in ("waiting", "stranger"):
            assert_no_household(client, w)
        client.post("/account/logout")
    assert db.session.scalar(select(Observation.id)) is None


def test_volunteer_on_the_shift_only_within_the_window(client):
    w = setup_route()
    o = w["o"]
    b.login(client, w["on"])
    body = client.get(f"/shifts/{o.id}/route").get_data(as_text=True)
    assert SECRET_NAME in body and SECRET_NOTE in body
    assert client.get(f"/shifts/{o.id}/manage").status_code == 404
    start, end = o.starts_at, o.ends_at
    clock.freeze(start - timedelta(hours=2, minutes=1))
    b.login(client, w["on"])  # the clock jumped past the idle timeout: a new session
    assert client.get(f"/shifts/{o.id}/route").status_code == 404
    clock.freeze(end + timedelta(hours=6, minutes=1))
    b.login(client, w["on"])
    assert client.get(f"/shifts/{o.id}/route").status_code == 404
    assert client.post(f"/shifts/stops/{w['st'].id}/outcome", data={"outcome": "delivered"}).status_code == 404
    assert_no_household(client, w)
    clock.freeze(end + timedelta(hours=5))
    b.login(client, w["on"])
    assert client.get(f"/shifts/{o.id}/route").status_code == 200


def test_cancelled_place_loses_the_route(client):
    w = setup_route()
    b.login(client, w["on"])
    from volnet.shifts.models import Signup

    s = db.session.scalar(select(Signup).where(Signup.volunteer_id == w["on"].id))
    r = client.post(f"/shifts/signups/{s.id}/offer")
    assert r.status_code == 302
    assert client.get(f"/shifts/{w['o'].id}/route").status_code == 404
    # the waiting person stepped in and now sees it
    client.post("/account/logout")
    b.login(client, w["waiting"])
    assert SECRET_NAME in client.get(f"/shifts/{w['o'].id}/route").get_data(as_text=True)


def test_coordinator_of_the_program_sees_the_route(client):
    w = setup_route()
    b.login(client, w["coord"])
    assert SECRET_NAME in client.get(f"/shifts/{w['o'].id}/route").get_data(as_text=True)
    assert client.get(f"/shifts/{w['o'].id}/manage").status_code == 200


def test_no_answer_joins_the_households_concern_once(client):
    w = setup_route()
    clock.freeze(w["o"].starts_at)  # at the door: outcomes are recorded from (shortly before) the start
    b.login(client, w["on"])
    url = f"/shifts/stops/{w['st'].id}/outcome"
    assert client.post(url, data={"outcome": "no_answer"}).status_code == 302
    assert client.post(url, data={"outcome": "no_answer"}).status_code == 302  # double tap
    obs = list(db.session.scalars(select(Observation)))
    assert len(obs) == 1
    o = obs[0]
    assert o.source == "shift" and o.signals == ["unreachable"] and o.reporter_id == w["on"].id
    concern = db.session.get(Concern, o.concern_id)
    assert concern.household_id == w["h"].id and concern.status == "new"
    client.post("/account/logout")
    b.login(client, w["cw"])
    queue = client.get("/concerns/?source=shift").get_data(as_text=True)
    assert f"#{concern.id}" in queue


def test_concern_opens_the_observation_form_for_the_household(client):
    w = setup_route()
    clock.freeze(w["o"].starts_at)
    b.login(client, w["on"])
    r = client.post(f"/shifts/stops/{w['st'].id}/outcome", data={"outcome": "concern"})
    assert r.status_code == 302 and f"household_id={w['h'].id}" in r.headers["Location"]
    assert client.get(r.headers["Location"]).status_code == 200
    obs = db.session.scalar(select(Observation))
    assert obs.urgency == "urgent" and obs.source == "shift"


def test_unknown_outcome_and_bad_ids(client):
    w = setup_route()
    b.login(client, w["on"])
    r = client.post(f"/shifts/stops/{w['st'].id}/outcome", data={"outcome": "<script>"}, follow_redirects=True)
    assert r.status_code == 200 and "offered options" in r.get_data(as_text=True) or "선택" in r.get_data(as_text=True)
    for bad in ("0", "-1", "99999999999999999999", "abc"):
        assert client.get(f"/shifts/{bad}/route").status_code == 404
        assert client.post(f"/shifts/stops/{bad}/outcome", data={"outcome": "delivered"}).status_code == 404


def test_route_page_statements_do_not_grow_with_its_stops(client):
    # Each household on the route is audited as read (one batch of rows), and what the page loaded stays
    # loaded after that commit: no statement per stop.
    from volnet.accounts.models import User
    from volnet.audit.models import AuditLog

    w = setup_route()
    d, p, on = w["d"], w["p"], w["on"]
    longer = sb.occurrence(p, in_hours=1, hours=2, capacity=1)
    for i in range(9):
        sb.stop(longer, b.household(d, name=f"주민{i}", road=f"경기도 의정부시 송산로 {200 + i}"), pos=i + 1)
    other = sb.volunteer(d, name="봉사자2")  # one volunteer cannot be on two shifts at the same time
    sb.signed(longer, other)
    db.session.commit()
    short_id, long_id, other_id = w["o"].id, longer.id, other.id
    b.login(client, on)
    n_short, _html = b.page_statements(client, f"/shifts/{short_id}/route")
    client.post("/account/logout")
    b.login(client, db.session.get(User, other_id))
    n_long, html = b.page_statements(client, f"/shifts/{long_id}/route")
    assert n_long == n_short
    assert "주민0" in html and "주민8" in html and "송산로 208" in html
    reads = db.session.scalars(select(AuditLog.detail).where(AuditLog.actor_id == other_id,
                                                              AuditLog.subject_type == "households")).all()
    assert reads.count(f"shift route {long_id}") == 2 * 9  # each household, on both fetches
