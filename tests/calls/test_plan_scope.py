"""A change to one household's safety-call plan (its tier, its enrolment) schedules that plan's call only;
the dong's other plans due today are the sweep's (and the 'prepare today's lists' button's)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import builders as b
from tests.calls.builders import enrolled
from volnet.calls import services as svc
from volnet.calls.models import CallTask
from volnet.core import clock
from volnet.extensions import db

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul


@pytest.fixture
def world(app):
    clock.freeze(T0)
    d = b.dong()
    return {"dong": d, "cw": b.user("caseworker", [d], name="김민수"),
            "vol": b.user("volunteer", [d], name="서하늘"), "vol2": b.user("volunteer", [d], name="오다온"),
            "tong": b.user("tong_leader", [d], name="한상철")}


def _open_for(household_id):
    return list(db.session.scalars(select(CallTask).where(CallTask.household_id == household_id,
                                                          CallTask.status == "open").order_by(CallTask.id)))


def _list_of(app, user) -> str:
    c = app.test_client()
    c.set_cookie("volnet_lang", "en")
    b.login(c, user)
    return c.get("/calls/").get_data(as_text=True)


def test_a_tier_change_schedules_only_that_household_s_call(app, world, client):
    """박말순's plan is due today but the sweep has not come round yet; 이순자's tier is raised: 이순자's call is
    on the caller's list now, 박말순's is left to the sweep (it used to be made by 이순자's tier change, with
    every other plan of the dong, inside the caseworker's request)."""
    h, enr = enrolled(world["dong"], world["cw"], tier="daily_life", caller=world["vol"], name="이순자")
    svc.ensure_tasks()
    (first,) = _open_for(h.id)
    svc.record(first, world["vol"], "connected_fine")
    other, other_enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol2"], name="박말순",
                                phone="01099998888")
    db.session.commit()
    clock.advance(timedelta(days=2))  # 이순자's next call is 12 days away; 박말순's plan is due (since Monday)
    today = clock.seoul_today()
    b.login(client, world["cw"])
    r = client.post(f"/risk/households/{h.id}/tier", data={"tier": "emergency", "reason": "단전, 연락두절"},
                    follow_redirects=True)
    assert "Safety calls now every day" in r.get_data(as_text=True)
    db.session.expire_all()
    assert [t.due_on for t in _open_for(h.id)] == [today]
    assert _open_for(other.id) == []  # not this request's business
    assert "이순자" in _list_of(app, world["vol"])  # today's call is on the caller's list
    # The sweep makes 박말순's call as it always did.
    assert svc.process_missed_calls(clock.now())["created"] == 1
    db.session.commit()
    assert [t.due_on for t in _open_for(other.id)] == [today]
    assert "박말순" in _list_of(app, world["vol2"])


def test_enrolling_a_household_schedules_only_its_first_call(app, world, client):
    """Enrolling 최복순 puts her first call on the caller's list at once; 박말순's plan, due but not yet swept,
    is not scheduled by that request. 'Prepare today's lists' still schedules the whole dong's."""
    other, other_enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol2"], name="박말순",
                                phone="01099998888")
    h = b.household(world["dong"], name="최복순", tier="daily_risk", phone="01044445555")
    db.session.commit()
    b.login(client, world["cw"])
    r = client.post(f"/calls/enroll?household_id={h.id}",
                    data={"household_id": h.id, "caller_id": world["vol"].id, "backup_id": world["tong"].id},
                    follow_redirects=True)
    assert "Enrolled. The first call is on 서하늘&#39;s list today." in r.get_data(as_text=True)
    db.session.expire_all()
    assert [t.due_on for t in _open_for(h.id)] == [clock.seoul_today()]
    assert _open_for(other.id) == []
    assert "최복순" in _list_of(app, world["vol"])
    r = client.post("/calls/prepare", follow_redirects=True)
    assert "1 calls added to today" in r.get_data(as_text=True)
    db.session.expire_all()
    assert len(_open_for(other.id)) == 1 and len(_open_for(h.id)) == 1
    assert "박말순" in _list_of(app, world["vol2"])


def test_ensure_tasks_for_some_plans_only(world):
    h1, e1 = enrolled(world["dong"], world["cw"], caller=world["vol"], name="가")
    h2, e2 = enrolled(world["dong"], world["cw"], caller=world["vol"], name="나")
    assert svc.ensure_tasks(enrollment_ids=[e2.id]) == 1
    assert svc.ensure_tasks(enrollment_ids=[e2.id]) == 0  # safe to run twice
    assert svc.ensure_tasks(enrollment_ids=[]) == 0  # an empty filter is nothing, not everything
    assert _open_for(h1.id) == [] and len(_open_for(h2.id)) == 1
    assert svc.ensure_tasks(dong_ids=[world["dong"].id]) == 1
