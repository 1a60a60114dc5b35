"""QA round 20, finding 1: messages about a shift sent in the quiet hours (21:00-08:00).

- A text or KakaoTalk about a shift (added by the coordinator, moved up from the waiting list, changed, cancelled,
  taken off, paused) that the quiet hours would hold until after that shift starts goes out at once.
- A held one whose reason went away before it went out (a sign-up cancelled since, a change of a shift cancelled
  since, an older change) is not sent, and the admins' outbox says why.
- The coordinator is told when the texts wait for the morning ("call them if it is urgent")."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services as notes
from volnet.notifications.models import Outbox, SentMessage
from volnet.shifts import services as svc
from volnet.shifts.models import Signup

HELD = "급하면 전화로 알려 주세요"


def seoul(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=clock.SEOUL).astimezone(UTC)


def texts(kind: str, user) -> list[Outbox]:
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.recipient_id == user.id,
                                                        Outbox.channel == "sms").order_by(Outbox.id)
                                   .execution_options(populate_existing=True)))


def sent_to(user) -> int:
    return db.session.scalar(select(func.count()).select_from(SentMessage).join(Outbox, SentMessage.outbox_id == Outbox.id)
                             .where(Outbox.recipient_id == user.id))


def night_world(starts_at, capacity=2):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, starts_at=starts_at, hours=2, capacity=capacity)
    v = sb.volunteer(d, name="서하늘", org=org, phone="01012345678", channels=["inapp", "sms"])
    return d, org, coord, p, o, v


def edit_data(o, **kw):
    local_s, local_e = clock.to_seoul(o.starts_at), clock.to_seoul(o.ends_at)
    data = {"date": local_s.date().isoformat(), "start_time": f"{local_s:%H:%M}", "end_time": f"{local_e:%H:%M}",
            "meeting_place": o.meeting_place, "capacity": str(o.capacity), "note": o.note or ""}
    data.update(kw)
    return data


def test_at_night_the_texts_about_a_shift_that_starts_before_morning_go_at_once(client):
    clock.freeze(seoul(2026, 12, 5, 3, 40))
    d, org, coord, p, o, v = night_world(seoul(2026, 12, 5, 7))
    db.session.commit()
    b.login(client, coord)
    page = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": v.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "서하늘 님을 신청시키고 본인에게 알렸습니다." in page and HELD not in page
    page = client.post(f"/shifts/{o.id}/edit", data=edit_data(o, meeting_place="복지관 정문"),
                       follow_redirects=True).get_data(as_text=True)
    assert "신청자 모두에게 알렸습니다" in page and HELD not in page
    page = client.post(f"/shifts/{o.id}/cancel", data={"reason": "도시락 업체 사정으로 취소"},
                       follow_redirects=True).get_data(as_text=True)
    assert "활동을 취소하고 신청자 모두에게 알렸습니다." in page and HELD not in page
    for kind in ("shift_added", "shift_changed", "shift_cancelled_reason"):
        assert [(r.state, r.sent_at) for r in texts(kind, v)] == [("sent", clock.now())], kind
    assert sent_to(v) == 3


def test_a_pause_at_night_texts_at_once_about_a_place_before_morning(app):
    clock.freeze(seoul(2026, 12, 5, 3, 40))
    d, org, coord, p, o, v = night_world(seoul(2026, 12, 5, 7))
    later = sb.occurrence(p, starts_at=seoul(2026, 12, 12, 7), hours=2)
    sb.signed(o, v)
    sb.signed(later, v)
    w = sb.volunteer(d, name="최정우", phone="01022223333", channels=["inapp", "sms"])
    sb.signed(later, w)  # only a place next week: that text can wait for the morning
    db.session.commit()
    svc.pause_program(p, coord, "")
    assert notes.held_until() == seoul(2026, 12, 5, 8)
    db.session.commit()
    notes.after_commit_dispatch()
    assert [r.state for r in texts("shift_paused", v)] == ["sent"]
    assert [(r.state, r.next_attempt_at) for r in texts("shift_paused", w)] == [("pending", seoul(2026, 12, 5, 8))]


def test_at_night_a_text_about_a_later_shift_waits_for_the_morning_and_the_coordinator_is_told(client):
    clock.freeze(seoul(2026, 12, 4, 23))
    d, org, coord, p, o, v = night_world(seoul(2026, 12, 5, 10))
    admin = b.user("admin")
    db.session.commit()
    b.login(client, coord)
    page = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": v.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "서하늘 님을 신청시키고" in page
    assert "문자·카카오톡은 발송 제한 시간이 끝나는 2026. 12. 5.(토) 08:00에 보냅니다. " + HELD in page
    [added] = texts("shift_added", v)
    assert (added.state, added.next_attempt_at) == ("pending", seoul(2026, 12, 5, 8))
    # Taken off again before the morning: the "you are signed up" text is not sent; the removal is.
    s = db.session.scalar(select(Signup).where(Signup.volunteer_id == v.id))
    page = client.post(f"/shifts/signups/{s.id}/remove", data={"reason": "중복 신청"},
                       follow_redirects=True).get_data(as_text=True)
    assert "서하늘 님을 활동에서 뺐고" in page and HELD in page
    [added] = texts("shift_added", v)
    assert added.state == "cancelled" and added.last_error.startswith("dropped")
    admin_client = client.application.test_client()
    b.login(admin_client, admin)
    outbox = admin_client.get("/admin/notifications").get_data(as_text=True)
    assert "보내지 않음: 보내기 전에 신청이 취소되었습니다" in outbox
    clock.freeze(seoul(2026, 12, 5, 8))
    notes.sweep()
    assert [r.state for r in texts("shift_added", v)] == ["cancelled"]
    assert [r.state for r in texts("shift_place_cancelled_reason", v)] == ["sent"]
    assert sent_to(v) == 1


def test_a_held_change_notice_gives_way_to_a_newer_one_and_to_the_cancellation(client):
    clock.freeze(seoul(2026, 12, 4, 23))
    d, org, coord, p, o, v = night_world(seoul(2026, 12, 5, 10))
    sb.signed(o, v)
    db.session.commit()
    b.login(client, coord)
    client.post(f"/shifts/{o.id}/edit", data=edit_data(o, meeting_place="복지관 정문"))
    page = client.post(f"/shifts/{o.id}/edit", data=edit_data(o, meeting_place="복지관 후문"),
                       follow_redirects=True).get_data(as_text=True)
    assert "신청자 모두에게 알렸습니다" in page and HELD in page
    first, second = texts("shift_changed", v)
    assert (first.state, first.last_error) == ("cancelled", "dropped: superseded")
    assert second.state == "pending" and second.params["place"] == "복지관 후문"
    page = client.post(f"/shifts/{o.id}/cancel", data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "활동을 취소하고 신청자 모두에게 알렸습니다." in page and HELD in page
    first, second = texts("shift_changed", v)
    assert (second.state, second.last_error) == ("cancelled", "dropped: shift cancelled")
    clock.freeze(seoul(2026, 12, 5, 8))
    notes.sweep()
    assert [r.state for r in texts("shift_cancelled", v)] == ["sent"]
    assert sent_to(v) == 1  # only the cancellation


def test_a_held_place_from_the_waiting_list_is_not_texted_after_the_person_gave_it_up(client):
    clock.freeze(seoul(2026, 12, 4, 23))
    d, org, coord, p, o, v = night_world(seoul(2026, 12, 6, 10), capacity=1)
    p.cancel_cutoff_hours = 0
    w = sb.volunteer(d, name="최정우", phone="01022223333", channels=["inapp", "sms"])
    sb.signed(o, v)
    sw = sb.signed(o, w)  # waiting list
    db.session.commit()
    b.login(client, v)
    vs = db.session.scalar(select(Signup).where(Signup.volunteer_id == v.id))
    assert client.post(f"/shifts/signups/{vs.id}/cancel").status_code == 302
    [promoted] = texts("shift_promoted", w)
    assert promoted.state == "pending"
    other = client.application.test_client()
    b.login(other, w)
    assert other.post(f"/shifts/signups/{sw.id}/cancel").status_code == 302
    [promoted] = texts("shift_promoted", w)
    assert (promoted.state, promoted.last_error) == ("cancelled", "dropped: place cancelled")
    clock.freeze(seoul(2026, 12, 5, 8))
    notes.sweep()
    assert sent_to(w) == 0
