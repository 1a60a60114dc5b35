"""Pausing a program with volunteers signed up (QA shifts #9)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.extensions import db
from volnet.notifications.models import Outbox
from volnet.shifts import services as svc
from volnet.shifts.models import Program, ShiftOccurrence, Signup


def program_data(p, **kw):
    data = {"name": p.name, "service": p.service, "dong_id": p.dong_id, "cancel_cutoff_hours": "24",
            "route_before_hours": "2", "route_after_hours": "6"}  # "active" left out: unticked
    data.update(kw)
    return data


def test_pausing_warns_then_cancels_the_places_and_tells_the_volunteers(client):
    d, org, coord, p = sb.world()
    o1 = sb.occurrence(p, in_hours=72, capacity=1)
    o2 = sb.occurrence(p, in_hours=96, capacity=2)
    v1, v2, v3 = sb.volunteer(d, name="일"), sb.volunteer(d, name="이"), sb.volunteer(d, name="삼")
    sb.signed(o1, v1)
    sb.signed(o1, v2)  # waiting list
    sb.signed(o2, v3)
    stranger = sb.volunteer(d, name="남")
    db.session.commit()
    s1 = db.session.scalar(select(Signup).where(Signup.volunteer_id == v1.id))
    token = svc.reminder_token(s1)
    pid, o1_id = p.id, o1.id
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    r = client.post(f"/shifts/programs/{pid}/edit", data=program_data(p))
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "3 volunteers are signed up for 2 upcoming shifts of this program." in body
    assert 'name="confirm_pause" value="1"' in body
    db.session.expire_all()
    assert db.session.get(Program, pid).active is True
    assert {s.status for s in db.session.scalars(select(Signup))} == {"confirmed", "waitlisted"}

    r = client.post(f"/shifts/programs/{pid}/edit",
                    data=program_data(p, confirm_pause="1", pause_reason="조리실 공사"), follow_redirects=True)
    assert "The program is paused: 3 places on its upcoming shifts were cancelled" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Program, pid).active is False
    assert {s.status for s in db.session.scalars(select(Signup))} == {"cancelled"}  # nobody moved up
    assert db.session.get(ShiftOccurrence, o1_id).filled == 0
    for v in (v1, v2, v3):
        told = db.session.scalar(select(Outbox).where(Outbox.kind == "shift_paused_reason",
                                                      Outbox.recipient_id == v.id))
        assert told is not None and "조리실 공사" in told.body
    # No reminder is waiting, and none is written when its time comes (reminders are written when due).
    assert {x.state for x in db.session.scalars(select(Outbox).where(Outbox.kind == "shift_reminder"))} <= {"cancelled"}
    assert svc.send_due_reminders(db.session.get(ShiftOccurrence, o1_id).starts_at - timedelta(hours=2)) == 0
    client.post("/account/logout")

    b.login(client, v1)
    client.post("/lang", data={"lang": "en"})
    r = client.get(f"/shifts/{o1_id}")
    assert r.status_code == 200 and "This program has been paused by the organizer." in r.get_data(as_text=True)
    assert "Cancel my place" not in r.get_data(as_text=True)
    assert "This program has been paused" in client.get(f"/shifts/r/{token}").get_data(as_text=True)
    client.post("/account/logout")
    b.login(client, stranger)
    assert client.get(f"/shifts/{o1_id}").status_code == 404


def test_pausing_a_program_nobody_signed_up_for_asks_nothing(client):
    d, org, coord, p = sb.world()
    sb.occurrence(p, in_hours=72, capacity=1)
    db.session.commit()
    b.login(client, coord)
    r = client.post(f"/shifts/programs/{p.id}/edit", data=program_data(p))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Program, p.id).active is False
