"""Whom a volunteer calls, and the coordinator's changes to who comes (QA shifts #5)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.notifications.models import Outbox
from volnet.shifts import services as svc
from volnet.shifts.models import Signup


def _signup(o, v) -> Signup:
    return db.session.scalar(select(Signup).where(Signup.occurrence_id == o.id, Signup.volunteer_id == v.id))


def _sent(kind, user) -> list[Outbox]:
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.recipient_id == user.id)))


def test_volunteer_told_to_call_sees_the_organizations_number(client):
    d, org, coord, p = sb.world()
    org.phone = "0318701234"
    o = sb.occurrence(p, in_hours=3, capacity=1)  # cut-off 24 h: past it
    v = sb.volunteer(d, name="서하늘")
    sb.signed(o, v)
    s = _signup(o, v)
    db.session.commit()
    token = svc.reminder_token(s)
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    r = client.post(f"/shifts/signups/{s.id}/offer", follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "No one on the waiting list can take your place" in body
    assert 'href="tel:0318701234"' in body and "031-870-1234" in body and "송산종합사회복지관" in body
    assert 'href="tel:0318701234"' in client.get(f"/shifts/r/{token}").get_data(as_text=True)
    # no phone for the organization: its coordinator's
    org.phone = None
    coord.phone = "01022223333"
    db.session.commit()
    body = client.get(f"/shifts/{o.id}").get_data(as_text=True)
    assert 'href="tel:01022223333"' in body and "권미경" in body


def test_coordinator_removes_a_volunteer_and_the_waiting_list_moves_up(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=10, capacity=1)
    gone, waiting = sb.volunteer(d, name="안옴"), sb.volunteer(d, name="대기")
    sb.signed(o, gone)
    sb.signed(o, waiting)
    s = _signup(o, gone)
    other_coord = b.user("coordinator", dongs=[d], org=b.organization("food_bank", d))
    db.session.commit()
    sid, oid = s.id, o.id
    for who in (other_coord, gone):
        b.login(client, who)
        assert client.post(f"/shifts/signups/{sid}/remove", data={"reason": "x"}).status_code == 404
        client.post("/account/logout")
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{oid}/manage").get_data(as_text=True)
    assert f"/shifts/signups/{sid}/remove" in page
    r = client.post(f"/shifts/signups/{sid}/remove", data={"reason": "몸이 아파서"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "안옴 is no longer on the shift and has been told." in body and "대기 from the waiting list" in body
    db.session.expire_all()
    assert _signup(o, gone).status == "cancelled" and _signup(o, waiting).status == "confirmed"
    told = _sent("shift_place_cancelled_reason", gone)
    assert told and "몸이 아파서" in told[0].body
    assert _sent("shift_promoted", waiting)
    assert {r.state for r in _sent("shift_reminder", gone)} <= {"cancelled"}
    assert db.session.scalar(select(AuditLog).where(AuditLog.actor_id == coord.id, AuditLog.action == "cancel",
                                                    AuditLog.subject_type == "shift_signups",
                                                    AuditLog.subject_id == str(sid)))


def test_coordinator_adds_a_volunteer_who_phoned_in_within_the_places(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=30, capacity=2)
    ours = sb.volunteer(d, name="전화함", org=org)
    earlier = sb.volunteer(d, name="예전참여")
    past = sb.occurrence(p, in_hours=200, capacity=5)
    sb.signed(past, earlier)  # took part in one of the organization's programs
    stranger = sb.volunteer(d, name="모르는사람", org=b.organization("volunteer_centre", d))
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{o.id}/manage").get_data(as_text=True)
    assert "전화함" in page and "예전참여" in page and "모르는사람" not in page
    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": stranger.id}, follow_redirects=True)
    assert "Choose one of your organization" in r.get_data(as_text=True)
    assert _signup(o, stranger) is None
    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": ours.id}, follow_redirects=True)
    assert "전화함 is signed up and has been told." in r.get_data(as_text=True)
    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": ours.id}, follow_redirects=True)
    assert "already on this shift" in r.get_data(as_text=True)
    client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": earlier.id})
    db.session.expire_all()
    assert _signup(o, ours).status == "confirmed" and _signup(o, earlier).status == "confirmed"
    assert o.filled == 2
    assert _sent("shift_added", ours)
    # Their reminders come when due, like anyone's (written then, with their channels of that moment).
    assert svc.send_due_reminders(o.starts_at - timedelta(hours=24)) == 2 and _sent("shift_reminder", ours)
    late = sb.volunteer(d, name="늦게전화", org=org)
    db.session.commit()
    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": late.id}, follow_redirects=True)
    assert "The shift is full" in r.get_data(as_text=True)
    db.session.expire_all()
    assert _signup(o, late) is None and o.filled == 2
    assert db.session.scalar(select(AuditLog).where(AuditLog.actor_id == coord.id, AuditLog.action == "create",
                                                    AuditLog.subject_type == "shift_signups"))
