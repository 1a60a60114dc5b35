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
