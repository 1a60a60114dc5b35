"""A volunteer corrects a door outcome that went to the dong as a report (QA shifts #6)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation


def at_the_door():
    d, org, coord, p = sb.world()
    h = b.household(d, name="신현주")
    o = sb.occurrence(p, in_hours=1, hours=2, capacity=1)
    st = sb.stop(o, h)
    v = sb.volunteer(d, name="봉사자")
    sb.signed(o, v)
    cw = b.user("caseworker", dongs=[d])
    db.session.commit()
    clock.freeze(o.starts_at + timedelta(minutes=10))  # at the door, during the shift
    return h, st, v, cw


def outcome(client, st, value):
    return client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": value}, follow_redirects=True)


def test_no_answer_corrected_to_delivered_closes_the_concern_it_alone_opened(client):
    h, st, v, cw = at_the_door()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    outcome(client, st, "no_answer")
    concern = db.session.scalar(select(Concern).where(Concern.household_id == h.id))
    assert concern.status == "new"
    body = outcome(client, st, "delivered").get_data(as_text=True)
    assert "Corrected. The dong welfare centre sees that your earlier report" in body
    db.session.expire_all()
    assert concern.status == "closed" and concern.outcome == "no_concern"
    assert st.outcome == "delivered" and st.observation_id is None
    ev = db.session.scalar(select(ConcernEvent).where(ConcernEvent.kind == "report_corrected"))
    assert ev.concern_id == concern.id and ev.data["old"] == "no_answer" and ev.data["new"] == "delivered"
    client.post("/account/logout")
    b.login(client, cw)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/concerns/{concern.id}").get_data(as_text=True)
    assert "Corrected by the volunteer (화요일 반찬 배달): No answer → Delivered" in page
    assert "its only report was corrected by the volunteer" in page


def test_a_concern_with_more_on_it_stays_open_visibly_corrected(client):
    h, st, v, cw = at_the_door()
    b.observation(h, cw, signals=("mail_piling",))  # the dong already has a concern about this household
    db.session.commit()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    outcome(client, st, "concern")
    outcome(client, st, "delivered")
    concern = db.session.scalar(select(Concern).where(Concern.household_id == h.id))
    assert concern.status == "new" and concern.is_open
    client.post("/account/logout")
    b.login(client, cw)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/concerns/{concern.id}").get_data(as_text=True)
    assert "Corrected by the volunteer (화요일 반찬 배달): Worried: tell the centre → Delivered" in page


def test_reported_again_after_a_correction_is_a_new_report(client):
    h, st, v, cw = at_the_door()
    b.login(client, v)
    outcome(client, st, "no_answer")
    outcome(client, st, "no_answer")  # double tap: still one report
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 1
    outcome(client, st, "delivered")
    outcome(client, st, "no_answer")  # the volunteer's second thought: a report again
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 2
    open_concern = db.session.scalar(select(Concern).where(Concern.household_id == h.id,
                                                           Concern.status == "new"))
    assert open_concern is not None and st.observation_id is not None
    assert db.session.get(Observation, st.observation_id).concern_id == open_concern.id
