"""QA follow-ups of the shifts area: what a coordinator or a volunteer sees after the fixes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications.models import Outbox
from volnet.shifts import services as svc


def messages(kind: str, recipient=None) -> int:
    stmt = select(func.count()).select_from(Outbox).where(Outbox.kind == kind)
    if recipient is not None:
        stmt = stmt.where(Outbox.recipient_id == recipient.id)
    return db.session.scalar(stmt)


def on_the_hour(hours: int):
    return (clock.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def edit_data(o, **kw):
    local_s, local_e = clock.to_seoul(o.starts_at), clock.to_seoul(o.ends_at)
    data = {"date": local_s.date().isoformat(), "start_time": f"{local_s:%H:%M}", "end_time": f"{local_e:%H:%M}",
            "meeting_place": o.meeting_place, "capacity": str(o.capacity), "note": o.note or ""}
    data.update(kw)
    return data


# ---------------------------------------------------------------------- 1. "shift changed" only for real changes

def test_a_note_or_places_change_sends_no_shift_changed_message(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, starts_at=on_the_hour(72), capacity=1)
    v, w = sb.volunteer(d, channels=["inapp", "sms"], phone="01012345678"), sb.volunteer(d)
    sb.signed(o, v)
    sb.signed(o, w)  # waiting list
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    r = client.post(f"/shifts/{o.id}/edit", data=edit_data(o, note="장갑을 챙겨 주세요"), follow_redirects=True)
    assert "Only a new time or meeting place is sent to the volunteers" in r.get_data(as_text=True)
    r = client.post(f"/shifts/{o.id}/edit", data=edit_data(o, note="장갑을 챙겨 주세요", capacity="3"))
    assert r.status_code == 302
    assert messages("shift_changed") == 0
    page = client.get(f"/shifts/{o.id}/edit").get_data(as_text=True)
    assert "A change here is not sent to the volunteers" in page
    # Emptying the meeting place is a real change: both people on the shift are told.
    r = client.post(f"/shifts/{o.id}/edit", data=edit_data(o, note="장갑을 챙겨 주세요", capacity="3",
                                                          meeting_place=""), follow_redirects=True)
    assert "Everyone on the shift has been told" in r.get_data(as_text=True)
    assert messages("shift_changed", v) == 2 and messages("shift_changed", w) == 1  # v: in-app and SMS


def test_a_series_note_change_sends_nothing_and_a_place_change_tells_each_date(client):
    d, org, coord, p = sb.world()
    start = on_the_hour(48)
    series = svc.create_series(p, coord, start, start + timedelta(hours=2), "FREQ=WEEKLY;COUNT=3",
                               meeting_place="복지관 1층", capacity=2)
    occs = svc.materialise(series) or list(db.session.scalars(select(svc.ShiftOccurrence).where(
        svc.ShiftOccurrence.series_id == series.id)))
    v = sb.volunteer(d)
    for o in occs:
        sb.signed(o, v)
    db.session.commit()
    b.login(client, coord)
    form = {"meeting_place": "복지관 1층", "capacity": "2", "note": "앞치마를 챙겨 주세요"}
    assert client.post(f"/shifts/series/{series.id}/edit", data=form).status_code == 302
    assert messages("shift_changed") == 0
    assert client.post(f"/shifts/series/{series.id}/edit", data={**form, "meeting_place": "2층 강당"}).status_code == 302
    assert messages("shift_changed", v) == 3


# ---------------------------------------------------------------------- 2. custom rules cannot flood the schedule

def shift_data(**kw):
    day = clock.seoul_today() + timedelta(days=10)
    data = {"date": day.isoformat(), "start_time": "10:00", "end_time": "11:00", "repeat": "custom",
            "meeting_place": "복지관 1층", "capacity": "3", "note": ""}
    data.update(kw)
    return data


def shifts_count() -> int:
    return db.session.scalar(select(func.count()).select_from(svc.ShiftOccurrence))


def test_custom_rules_that_make_several_shifts_a_day_or_a_silly_interval_are_refused(client):
    from volnet.settings import services as settings

    d, org, coord, p = sb.world()
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    refused = [
        ("FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16", "Leave out BYHOUR, BYMINUTE and BYSECOND"),
        ("FREQ=DAILY;BYHOUR=9;BYMINUTE=" + ",".join(str(i) for i in range(41)), "Leave out BYHOUR"),
        ("FREQ=WEEKLY;BYSECOND=1,2", "Leave out BYHOUR"),
        ("FREQ=HOURLY", "not more often"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 52"),
        ("FREQ=WEEKLY;INTERVAL=1000", "INTERVAL must be a whole number from 1 to 52"),
    ]
    for rule_text, message in refused:
        r = client.post(f"/shifts/programs/{p.id}/shifts/new", data=shift_data(rrule=rule_text))
        assert r.status_code == 400 and message in r.get_data(as_text=True), rule_text
    assert shifts_count() == 0
    # One shift a day is fine; more shifts than the cap in one go is refused with a way out.
    settings.put("shifts.horizon_days", 1000)
    db.session.commit()
    r = client.post(f"/shifts/programs/{p.id}/shifts/new", data=shift_data(rrule="FREQ=DAILY"))
    assert r.status_code == 400 and "would make more than 400 shifts at once" in r.get_data(as_text=True)
    assert shifts_count() == 0
    settings.put("shifts.horizon_days", 92)
    db.session.commit()
    r = client.post(f"/shifts/programs/{p.id}/shifts/new", data=shift_data(rrule="FREQ=DAILY;INTERVAL=2"))
    assert r.status_code == 302 and 40 <= shifts_count() <= 47
    client.post("/lang", data={"lang": "ko"})
    r = client.post(f"/shifts/programs/{p.id}/shifts/new", data=shift_data(rrule="FREQ=DAILY;BYHOUR=9,10"))
    assert "BYHOUR, BYMINUTE, BYSECOND는 쓰지 마세요" in r.get_data(as_text=True)


# ---------------------------------------------------------------------- 3. repeat rules in words

def test_custom_rules_read_in_words_in_the_readers_language(app):
    from flask_babel import force_locale

    from volnet.shifts import recurrence

    cases = [
        ("FREQ=WEEKLY;BYDAY=TH,FR", "매주 목요일 및 금요일", "Every week on Thursday and Friday"),
        ("FREQ=WEEKLY;BYDAY=FR,MO,WE", "매주 월요일, 수요일 및 금요일", "Every week on Monday, Wednesday, and Friday"),
        ("FREQ=WEEKLY;BYDAY=TU", "매주 화요일", "Every week on Tuesday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270301T235959", "격주 화요일", "Every other week on Tuesday"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=SA", "3주마다 토요일", "Every 3 weeks on Saturday"),
        ("FREQ=DAILY", "매일", "Every day"),
        ("FREQ=DAILY;INTERVAL=2", "2일마다", "Every 2 days"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "매월 15일", "Monthly, on day 15"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "매월 말일", "Monthly, on the last day"),
        ("FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO,TU,WE,TH,FR", "사용자 지정 반복", "Custom repeat"),
    ]
    with app.test_request_context("/"):
        for rule_text, ko, en in cases:
            with force_locale("ko"):
                assert recurrence.describe(rule_text) == ko
            with force_locale("en"):
                assert recurrence.describe(rule_text) == en


def test_program_page_and_shift_detail_show_the_rule_in_words(client):
    d, org, coord, p = sb.world()
    start = on_the_hour(24 * 7)
    series = svc.create_series(p, coord, start, start + timedelta(hours=2), "FREQ=WEEKLY;BYDAY=TH,FR", capacity=2)
    occ = db.session.scalars(select(svc.ShiftOccurrence).where(svc.ShiftOccurrence.series_id == series.id)).first()
    v = sb.volunteer(d)
    db.session.commit()
    b.login(client, coord)
    page = client.get(f"/shifts/programs/{p.id}").get_data(as_text=True)
    assert "매주 목요일 및 금요일" in page and "FREQ=" not in page and "(TH,FR)" not in page
    assert '<div class="card-meta">2명</div>' in page  # no meeting place: no stray "·" before the places
    client.post("/account/logout")
    b.login(client, v)
    detail = client.get(f"/shifts/{occ.id}").get_data(as_text=True)
    assert "매주 목요일 및 금요일" in detail and "FREQ=" not in detail


# ---------------------------------------------------------------------- 4. months out of range

def test_months_out_of_range_get_a_message_not_a_server_error(client):
    d, org, coord, p = sb.world()
    db.session.commit()
    b.login(client, coord)
    for month in ("9999-12", "0000-01", "0001-01", "2026-13", "1999-12", "abcd-ef", "2026-4"):
        r = client.get(f"/shifts/coordinator/hours.csv?month={month}")
        assert r.status_code == 302 and r.headers["Location"].endswith("/shifts/coordinator"), month
        assert "2026-04처럼 연월을 입력해 주세요." in client.get("/shifts/coordinator").get_data(as_text=True), month
        r = client.post("/shifts/coordinator/copy-month", data={"month": month})
        assert r.status_code == 302, month
        assert "2026-04처럼 연월을 입력해 주세요." in client.get("/shifts/coordinator").get_data(as_text=True), month
    r = client.get(f"/shifts/coordinator/hours.csv?month={clock.seoul_today():%Y-%m}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")


# ---------------------------------------------------------------------- 8. a cancelled shift reads as cancelled

def test_a_cancelled_shift_is_not_listed_as_coming_up_and_offers_no_calendar_file(client):
    d, org, coord, p = sb.world()
    v = sb.volunteer(d)
    kept, off = sb.occurrence(p, in_hours=48), sb.occurrence(p, in_hours=100, capacity=3)
    sb.signed(kept, v)
    sb.signed(off, v)
    svc.cancel_occurrence(off, coord, "조리실 공사로 쉽니다")
    db.session.commit()
    b.login(client, v)
    page = client.get("/shifts/mine").get_data(as_text=True)
    coming, cancelled = page.split('id="cancelled-shifts"', 1)
    assert f"/shifts/{kept.id}\"" in coming and f"/shifts/{off.id}\"" not in coming
    assert "담당 기관이 취소한 활동" in cancelled and f"/shifts/{off.id}\"" in cancelled
    assert "신청 완료" not in cancelled.split("</section>", 1)[0]
    detail = client.get(f"/shifts/{off.id}").get_data(as_text=True)
    assert "취소된 활동입니다." in detail
    assert f"/shifts/{off.id}.ics" not in detail and "자리 신청" not in detail
    assert f"/shifts/{kept.id}.ics" in client.get(f"/shifts/{kept.id}").get_data(as_text=True)


# ---------------------------------------------------------------------- 10. reminders use today's message settings

def test_reminders_go_by_the_channels_and_language_the_volunteer_has_when_they_are_sent(app):
    from volnet.notifications import services as notes

    d, org, coord, p = sb.world()
    day = clock.seoul_today() + timedelta(days=3)
    o = sb.occurrence(p, starts_at=sb.at_local(day, 14), capacity=2)
    v = sb.volunteer(d, phone="01012345678")  # in the app only, in Korean, when signing up
    sb.signed(o, v)
    db.session.commit()
    v.channels, v.locale = ["inapp", "sms"], "en"  # later: text messages on, English
    db.session.commit()
    clock.freeze(o.starts_at - timedelta(hours=24, minutes=-1))
    notes.sweep()
    rows = list(db.session.scalars(select(Outbox).where(Outbox.kind == "shift_reminder", Outbox.recipient_id == v.id)))
    assert {r.channel for r in rows} == {"inapp", "sms"} and {r.state for r in rows} == {"sent"}
    assert all(r.body.startswith("Your shift 화요일 반찬 배달 starts") for r in rows)
    notes.sweep()
    assert messages("shift_reminder", v) == 2  # once
    clock.freeze(o.starts_at - timedelta(hours=2))
    v.channels = ["inapp"]
    db.session.commit()
    notes.sweep()
    assert messages("shift_reminder", v) == 3  # the 2-hour reminder, in the app only now


def test_a_text_reminder_the_quiet_hours_would_hold_past_the_start_is_not_sent_the_app_keeps_it(app):
    """A 07:30 shift's 2-hour reminder falls at 05:30, in the quiet hours (until 08:00): a text at 08:00 would
    come after the start, so only the in-app copy is written; a 10:00 shift's text goes at 08:00."""
    from volnet.notifications import services as notes

    d, org, coord, p = sb.world()
    day = clock.seoul_today() + timedelta(days=3)
    early = sb.occurrence(p, starts_at=sb.at_local(day, 7, 30), capacity=2)
    later = sb.occurrence(p, starts_at=sb.at_local(day + timedelta(days=1), 10), capacity=2)
    v = sb.volunteer(d, phone="01012345678")
    v.channels = ["inapp", "sms"]
    sb.signed(early, v)
    sb.signed(later, v)
    db.session.commit()
    for occ in (early, later):
        clock.freeze(occ.starts_at - timedelta(hours=2))
        notes.sweep()

    def channels(occ):
        return {r.channel for r in db.session.scalars(select(Outbox).where(
            Outbox.kind == "shift_reminder", Outbox.recipient_id == v.id,
            Outbox.dedupe_key.like(f"shift:{occ.id}:%:r2:%")))}

    assert channels(early) == {"inapp"}
    assert channels(later) == {"inapp", "sms"}


# ---------------------------------------------------------------------- 12. "I can't come" from the reminder link

def test_cant_come_from_the_reminder_link_asks_first_names_nobody_and_the_link_expires(client):
    from volnet.shifts.models import Signup

    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=12, capacity=1)  # past the 24-hour cut-off
    v, w = sb.volunteer(d), sb.volunteer(d, name="최정우")
    s = sb.signed(o, v)
    sb.signed(o, w)
    db.session.commit()
    token = svc.reminder_token(s)
    page = client.get(f"/shifts/r/{token}").get_data(as_text=True)
    assert f'href="/shifts/r/{token}/cancel"' in page and "다음 대기자가 대신 참여합니다" in page
    # The first tap only asks; a POST without the confirmation changes nothing either.
    ask = client.get(f"/shifts/r/{token}/cancel")
    assert ask.status_code == 200 and "네, 참여를 취소합니다" in ask.get_data(as_text=True)
    assert client.post(f"/shifts/r/{token}/cancel").status_code == 302
    assert db.session.get(Signup, s.id).status == "confirmed"
    r = client.post(f"/shifts/r/{token}/cancel", data={"confirm": "1"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "알려 주셔서 고맙습니다. 다음 대기자가 대신 참여합니다." in body and "최정우" not in body
    db.session.expire_all()
    assert db.session.get(Signup, s.id).status == "cancelled"
    assert db.session.scalar(select(Signup.status).where(Signup.volunteer_id == w.id)) == "confirmed"
    # Nobody waiting, past the cut-off: no cancel button, the page says to call.
    token_w = svc.reminder_token(db.session.scalar(select(Signup).where(Signup.volunteer_id == w.id)))
    page = client.get(f"/shifts/r/{token_w}").get_data(as_text=True)
    assert f"/shifts/r/{token_w}/cancel" not in page and "담당자에게 전화해 주세요" in page
    # After the shift the link no longer works.
    clock.freeze(o.ends_at + timedelta(minutes=1))
    for url in (f"/shifts/r/{token_w}", f"/shifts/r/{token_w}/cancel"):
        r = client.get(url)
        assert r.status_code == 410 and "링크가 만료되었습니다" in r.get_data(as_text=True) and p.name not in \
            r.get_data(as_text=True)
    assert client.post(f"/shifts/r/{token_w}/confirm").status_code == 410


def test_reminder_link_before_the_cut_off_with_nobody_waiting_says_the_place_is_freed(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=2)
    s = sb.signed(o, sb.volunteer(d))
    db.session.commit()
    page = client.get(f"/shifts/r/{svc.reminder_token(s)}").get_data(as_text=True)
    assert "대기자가 없으니 자리가 비고" in page and "다음 대기자" not in page


def test_offering_a_place_from_the_shift_page_does_not_name_who_takes_it(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=12, capacity=1)
    v, w = sb.volunteer(d), sb.volunteer(d, name="최정우")
    s = sb.signed(o, v)
    sb.signed(o, w)
    db.session.commit()
    b.login(client, v)
    body = client.post(f"/shifts/signups/{s.id}/offer", follow_redirects=True).get_data(as_text=True)
    assert "다음 대기자가 대신 참여합니다" in body and "최정우" not in body


# ---------------------------------------------------------------------- 13. signing up after the cancellation deadline

def test_signing_up_past_the_cancellation_deadline_is_warned_and_no_past_date_is_offered(client):
    d, org, coord, p = sb.world()  # 24-hour cut-off
    soon, later = sb.occurrence(p, in_hours=1, capacity=2), sb.occurrence(p, in_hours=72, capacity=2)
    v = sb.volunteer(d)
    db.session.commit()
    b.login(client, v)
    before = client.get(f"/shifts/{soon.id}").get_data(as_text=True)
    assert "이 활동은 취소 기한이 지났습니다. 신청하면 대기자에게 자리를 넘기는 방법으로만 취소할 수 있습니다." in before
    assert "취소 기한이 지났습니다" not in client.get(f"/shifts/{later.id}").get_data(as_text=True)
    after = client.post(f"/shifts/{soon.id}/signup", follow_redirects=True).get_data(as_text=True)
    assert "까지 취소할 수 있습니다" not in after
    assert "취소 기한이 지났습니다. 참여할 수 없으면 대기자에게 자리를 넘기거나" in after
    client.post(f"/shifts/{later.id}/signup")
    assert "까지 취소할 수 있습니다" in client.get(f"/shifts/{later.id}").get_data(as_text=True)


# ---------------------------------------------------------------------- 14. door outcomes only from the start

def test_door_outcomes_wait_until_shortly_before_the_start(client):
    from volnet.observations.models import Observation
    from volnet.shifts.models import RouteStop

    d, org, coord, p = sb.world()
    h = b.household(d, name="신현주")
    o = sb.occurrence(p, starts_at=on_the_hour(3), capacity=1)
    st = sb.stop(o, h)
    v = sb.volunteer(d)
    sb.signed(o, v)
    db.session.commit()
    clock.freeze(o.starts_at - timedelta(minutes=70))  # the route is open (2 h before), the doors not yet
    b.login(client, v)
    page = client.get(f"/shifts/{o.id}/route").get_data(as_text=True)
    opens = clock.to_seoul(o.starts_at - timedelta(minutes=15))
    assert "신현주" in page and f"{opens:%H:%M}부터 기록할 수 있습니다" in page
    assert f"/shifts/stops/{st.id}/outcome" not in page
    r = client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": "no_answer"}, follow_redirects=True)
    assert "방문 결과는 활동 시작 직전인" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RouteStop, st.id).outcome is None
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0
    clock.freeze(o.starts_at - timedelta(minutes=10))
    client.post("/account/logout")
    b.login(client, v)  # an hour later: a new session
    assert f"/shifts/stops/{st.id}/outcome" in client.get(f"/shifts/{o.id}/route").get_data(as_text=True)
    assert client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": "delivered"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RouteStop, st.id).outcome == "delivered"


# ---------------------------------------------------------------------- 15. coordinator overview

def test_coordinator_overview_empty_states_and_uncapped_counts(client):
    d, org, coord, p = sb.world()
    other_org = b.organization("volunteer_centre", d, name="의정부시 자원봉사센터")
    coord2 = b.user("coordinator", dongs=[d], org=other_org)
    for i in range(55):
        sb.occurrence(p, starts_at=on_the_hour(24 + i), capacity=2)
    db.session.commit()
    b.login(client, coord2)  # an organization without programs
    page = client.get("/shifts/coordinator").get_data(as_text=True)
    assert "아직 활동이 없습니다. 먼저 프로그램을 만든 뒤 활동 일정을 추가하세요." in page
    assert "다음 7일 동안의 활동이 모두 마감되었습니다." not in page
    client.post("/account/logout")
    b.login(client, coord)
    page = client.get("/shifts/coordinator").get_data(as_text=True)
    assert '<span class="stat-value">55</span>' in page
    assert "55건 중 앞의 50건만 보입니다" in page


def test_coordinator_overview_says_when_there_are_no_shifts_this_week(client):
    d, org, coord, p = sb.world()
    sb.occurrence(p, in_hours=24 * 20)
    db.session.commit()
    b.login(client, coord)
    page = client.get("/shifts/coordinator").get_data(as_text=True)
    assert "다음 7일 동안 예정된 활동이 없습니다." in page and "모두 마감" not in page
