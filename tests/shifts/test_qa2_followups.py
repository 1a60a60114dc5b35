"""QA round 2 of the shifts area: pauses, places the organizer took away, the coordinator's roster."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications.models import Outbox
from volnet.shifts import services as svc
from volnet.shifts.models import Program, Signup


def program_data(p, **kw):
    data = {"name": p.name, "service": p.service, "dong_id": p.dong_id, "cancel_cutoff_hours": "24",
            "route_before_hours": "2", "route_after_hours": "6"}  # "active" left out: unticked
    data.update(kw)
    return data


def inapp(kind_prefix: str, user) -> list[Outbox]:
    return list(db.session.scalars(select(Outbox).where(
        Outbox.kind.like(f"{kind_prefix}%"), Outbox.recipient_id == user.id, Outbox.channel == "inapp")
        .order_by(Outbox.id)))


def signup_of(o, v) -> Signup:
    return db.session.scalar(select(Signup).where(Signup.occurrence_id == o.id, Signup.volunteer_id == v.id))


def pause(client, p, reason=""):
    return client.post(f"/shifts/programs/{p.id}/edit",
                       data=program_data(p, confirm_pause="1", pause_reason=reason), follow_redirects=True)


# ---------------------------------------------------------------------- 1. one message per volunteer

def test_pausing_tells_each_volunteer_once_with_the_dates_of_their_places(client):
    d, org, coord, p = sb.world()
    weekly = [sb.occurrence(p, starts_at=sb.seoul(2031, 3, 4, 10) + timedelta(days=7 * i), capacity=2)
              for i in range(3)]
    v = sb.volunteer(d, name="박준호", channels=["inapp", "sms"], phone="01012345678")
    w = sb.volunteer(d, name="김하은")
    for o in weekly:
        sb.signed(o, v)
    sb.signed(weekly[1], w)
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    body = pause(client, p, "조리실 공사").get_data(as_text=True)
    assert "The program is paused: 4 places on its upcoming shifts were cancelled, and each of the 2 volunteers " \
           "was sent one message." in body
    told = inapp("shift_paused", v)
    assert len(told) == 1  # one message, not one per shift (and one text message beside it)
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.recipient_id == v.id, Outbox.kind.like("shift_paused%"))) == 2
    assert "(3건): 2031. 3. 4.(화) 10:00, 2031. 3. 11.(화) 10:00, 2031. 3. 18.(화) 10:00" in told[0].body
    assert told[0].link == "/shifts/mine"
    assert len(inapp("shift_paused", w)) == 1 and "(1건): 2031. 3. 11.(화) 10:00" in inapp("shift_paused", w)[0].body
    assert inapp("shift_paused", w)[0].link == f"/shifts/{weekly[1].id}"

    # Saved again while paused: nothing new. Running again and paused again: only places taken since count.
    assert client.post(f"/shifts/programs/{p.id}/edit", data=program_data(p)).status_code == 302
    db.session.expire_all()
    prog = db.session.get(Program, p.id)
    prog.active = True
    sb.signed(weekly[2], v)
    db.session.commit()
    assert svc.pause_program(prog, coord, "") == (1, 1)
    db.session.commit()
    again = inapp("shift_paused", v)
    assert len(again) == 2 and again[1].kind == "shift_paused" and "(1건): 2031. 3. 18.(화) 10:00" in again[1].body
    assert len(inapp("shift_paused", w)) == 1


def test_a_long_run_of_places_is_counted_not_listed_in_full(app):
    d, org, coord, p = sb.world()
    v = sb.volunteer(d, locale="en")
    for i in range(8):
        sb.signed(sb.occurrence(p, starts_at=sb.seoul(2031, 3, 4, 10) + timedelta(days=7 * i)), v)
    assert svc.pause_program(p, coord) == (8, 1)
    body = inapp("shift_paused", v)[0].body
    assert "(8): 2031. 3. 4.(Tue) 10:00," in body and "2031. 4. 1.(Tue) 10:00 and 3 more" in body
    assert "4. 8." not in body


# ---------------------------------------------------------------------- 2. taken-away places stay in sight

def test_places_the_organizer_took_away_stay_on_my_shifts_with_the_reason(client):
    d, org, coord, p = sb.world()
    other = sb.program(org, d, name="목요일 도시락 나눔")
    removed = sb.occurrence(p, in_hours=72, capacity=2)
    paused = sb.occurrence(other, in_hours=96, capacity=2)
    kept = sb.occurrence(p, in_hours=120, capacity=2)
    v = sb.volunteer(d, name="김하은")
    for o in (removed, paused, kept):
        sb.signed(o, v)
    db.session.commit()
    b.login(client, coord)
    client.post(f"/shifts/signups/{signup_of(removed, v).id}/remove", data={"reason": "일정이 겹쳐서"})
    pause(client, other, "조리실 공사로 1월까지 쉽니다")
    client.post("/account/logout")

    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    mine = client.get("/shifts/mine").get_data(as_text=True)
    cancelled = mine[mine.index('id="cancelled-shifts"'):]
    assert "Cancelled by the organizer" in cancelled
    assert "Taken off the shift" in cancelled and "Reason: 일정이 겹쳐서" in cancelled
    assert "Program paused" in cancelled and "Reason: 조리실 공사로 1월까지 쉽니다" in cancelled
    assert "Cancelled by 송산종합사회복지관" in cancelled
    assert f"/shifts/{kept.id}\"" not in cancelled and f"/shifts/{kept.id}\"" in mine  # still coming up

    page = client.get(f"/shifts/{removed.id}").get_data(as_text=True)
    assert "Your place on this shift was cancelled by the organizer (송산종합사회복지관)." in page
    assert "Reason: 일정이 겹쳐서" in page
    assert f"/shifts/{removed.id}/signup" in page  # the shift is open: signing up again is still offered
    page = client.get(f"/shifts/{paused.id}").get_data(as_text=True)
    assert "This program has been paused by the organizer." in page
    assert "Your place on this shift was cancelled by the organizer" in page and "Reason: 조리실 공사로" in page

    # Signed up again: no longer a cancelled place. Cancelled by the volunteer: not "by the organizer".
    client.post(f"/shifts/{removed.id}/signup")
    page = client.get(f"/shifts/{removed.id}").get_data(as_text=True)
    assert "You are signed up for this shift." in page and "cancelled by the organizer" not in page
    client.post(f"/shifts/signups/{signup_of(removed, v).id}/cancel")
    mine = client.get("/shifts/mine").get_data(as_text=True)
    assert "Taken off the shift" not in mine and "Program paused" in mine
    assert "cancelled by the organizer" not in client.get(f"/shifts/{removed.id}").get_data(as_text=True)


# ---------------------------------------------------------------------- 3. a paused program's pages

def test_a_paused_programs_shift_offers_no_calendar_file_and_shows_no_open_places(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=4)
    v = sb.volunteer(d)
    sb.signed(o, v)
    db.session.commit()
    b.login(client, coord)
    pause(client, p)
    page = client.get(f"/shifts/programs/{p.id}").get_data(as_text=True)
    assert "일시 중지" in page and "사용 안 함" not in page and "자리 남음" not in page
    home = client.get("/shifts/coordinator").get_data(as_text=True)
    assert "일시 중지" in home and "사용 안 함" not in home
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/programs/{p.id}").get_data(as_text=True)
    assert "Paused" in page and "Inactive" not in page and "places open" not in page
    client.post("/account/logout")

    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{o.id}").get_data(as_text=True)
    assert "This program has been paused by the organizer." in page
    assert f"/shifts/{o.id}.ics" not in page and "Add to my calendar" not in page
    assert "places open" not in page and "of 4 taken" not in page and "Paused" in page


# ---------------------------------------------------------------------- 6. the in-app reminder's promise

def test_the_in_app_reminder_leads_to_a_page_that_confirms_in_one_tap(client):
    from volnet.notifications import services as notes

    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=20, capacity=2)
    v, other = sb.volunteer(d, locale="en"), sb.volunteer(d)
    s = sb.signed(o, v)
    s.queued_at = clock.now() - timedelta(hours=10)  # signed up before the 24-hour reminder fell due
    db.session.commit()
    assert svc.send_due_reminders() == 1
    row = inapp("shift_reminder", v)[0]
    with client.application.test_request_context("/"):
        _subject, text = notes.render(row.kind, row.params, v, channel="inapp")
    assert "Confirm or cancel in one tap: the “Go to page” button below" in text
    assert row.link == f"/shifts/{o.id}"
    b.login(client, other)
    assert client.post(f"/shifts/signups/{s.id}/confirm").status_code == 404
    client.post("/account/logout")

    b.login(client, v)
    page = client.get(row.link).get_data(as_text=True)
    assert "Yes, I'm coming" in page and f'action="/shifts/signups/{s.id}/confirm"' in page
    assert "Cancel my place" in page or "offer my place" in page
    r = client.post(f"/shifts/signups/{s.id}/confirm", follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "Thank you, you are confirmed." in body and "You confirmed that you are coming." in body
    assert "Yes, I'm coming" not in body
    db.session.expire_all()
    assert db.session.get(Signup, s.id).confirmed_at is not None


def test_a_shift_weeks_away_asks_for_no_confirmation_yet(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=24 * 14)
    v = sb.volunteer(d)
    sb.signed(o, v)
    db.session.commit()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{o.id}").get_data(as_text=True)
    assert "You are signed up for this shift." in page and "Yes, I'm coming" not in page
    # A form sent all the same (a stale page, a crafted post) is refused: the coordinator's count stays true.
    r = client.post(f"/shifts/signups/{signup_of(o, v).id}/confirm", follow_redirects=True)
    assert "You can confirm from " in r.get_data(as_text=True)
    assert signup_of(o, v).confirmed_at is None


# ---------------------------------------------------------------------- 7, 8. the coordinator's roster

def test_after_a_removal_fills_the_shift_the_add_form_gives_way_to_full_and_the_removed_row_is_last(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=2)
    first, gone, waiting = sb.volunteer(d, name="가장먼저"), sb.volunteer(d, name="못오는분"), sb.volunteer(d, name="기다린분")
    for v in (first, gone, waiting):
        sb.signed(o, v)
    sb.volunteer(d, name="전화한분", org=org)
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    client.post(f"/shifts/signups/{signup_of(o, gone).id}/remove", data={"reason": "일정이 겹쳐서"})
    page = client.get(f"/shifts/{o.id}/manage").get_data(as_text=True)
    add = page[page.index('id="add-volunteer"'):page.index('id="route"')]
    assert "Add a volunteer who phoned in" in add and "The shift is full." in add
    assert 'name="volunteer_id"' not in add and "전화한분" not in add
    table = page[page.index("<tbody>"):page.index("</tbody>")]
    assert table.index("가장먼저") < table.index("기다린분") < table.index("못오는분")

    client.post(f"/shifts/signups/{signup_of(o, first).id}/remove", data={"reason": ""})
    page = client.get(f"/shifts/{o.id}/manage").get_data(as_text=True)
    add = page[page.index('id="add-volunteer"'):page.index('id="route"')]
    assert 'name="volunteer_id"' in add and "전화한분" in add and "The shift is full." not in add


def test_the_add_by_phone_form_says_who_is_listed_and_how_to_add_someone_new(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=2)
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{o.id}/manage").get_data(as_text=True)
    add = page[page.index('id="add-volunteer"'):page.index('id="route"')]
    assert "No volunteer can be added from the list." in add  # nobody yet: the hint is still there
    assert "Listed: your organization's volunteers and everyone who has signed up for one of its programs " \
           "before." in add
    assert "A volunteer new to you signs up for this shift once in volnet" in add and "invitation link" in add
    sb.volunteer(d, name="전화한분", org=org)
    db.session.commit()
    client.post("/lang", data={"lang": "ko"})
    add = client.get(f"/shifts/{o.id}/manage").get_data(as_text=True)
    add = add[add.index('id="add-volunteer"'):add.index('id="route"')]
    assert "전화한분" in add and "초대 링크" in add


# ---------------------------------------------------------------------- 9. the reason behind a label, a number

def test_the_taken_off_and_paused_messages_label_the_reason_and_give_a_number_to_call(client):
    d, org, coord, p = sb.world()
    org.phone = "0318701234"
    other = sb.program(org, d, name="목요일 도시락 나눔")
    o1, o2, o3 = sb.occurrence(p, in_hours=72), sb.occurrence(p, in_hours=96), sb.occurrence(other, in_hours=72)
    v, w = sb.volunteer(d, name="김하은"), sb.volunteer(d, name="박준호", locale="en")
    sb.signed(o1, v)
    sb.signed(o2, v)
    sb.signed(o3, w)
    db.session.commit()
    b.login(client, coord)
    client.post(f"/shifts/signups/{signup_of(o1, v).id}/remove", data={"reason": "일정이 겹쳐서"})
    client.post(f"/shifts/signups/{signup_of(o2, v).id}/remove", data={"reason": "  "})
    with_reason, without = inapp("shift_place_cancelled", v)
    assert with_reason.body.endswith(" 활동에서 신청을 취소했습니다.\n사유: 일정이 겹쳐서\n문의: 송산종합사회복지관 031-870-1234")
    assert without.body.endswith(" 활동에서 신청을 취소했습니다.\n문의: 송산종합사회복지관 031-870-1234")
    assert "사유" not in without.body
    pause(client, other)
    client.post("/account/logout")
    b.login(client, v)
    inbox = client.get("/notifications").get_data(as_text=True)  # each on its own line in the app too
    assert '<p class="pre-line">담당 기관이 ' in inbox and "\n사유: 일정이 겹쳐서\n문의: 송산종합사회복지관 031-870-1234" in inbox
    db.session.expire_all()
    told = inapp("shift_paused", w)[0].body
    assert "Reason" not in told and told.endswith("\nQuestions: 송산종합사회복지관 031-870-1234")


def test_without_an_organization_phone_the_coordinators_number_is_given(app):
    d, org, coord, p = sb.world()
    coord.phone = "01098765432"
    o = sb.occurrence(p, in_hours=72)
    v = sb.volunteer(d, locale="en")
    sb.signed(o, v)
    svc.remove_volunteer(signup_of(o, v), coord, "The van broke down")
    body = inapp("shift_place_cancelled", v)[0].body
    assert body.endswith(".\nReason: The van broke down\nQuestions: 권미경 010-9876-5432")
    assert signup_of(o, v).cancelled_by == "removed" and signup_of(o, v).cancel_reason == "The van broke down"


def test_a_cancelled_shift_s_message_labels_the_reason_and_gives_a_number_to_call(app):
    d, org, coord, p = sb.world()
    org.phone = "0318701234"
    o1, o2 = sb.occurrence(p, in_hours=72), sb.occurrence(p, in_hours=96)
    v = sb.volunteer(d, name="김하은")
    sb.signed(o1, v)
    sb.signed(o2, v)
    db.session.commit()
    svc.cancel_occurrence(o1, coord, "우천")
    svc.cancel_occurrence(o2, coord, "")
    db.session.flush()
    with_reason = inapp("shift_cancelled_reason", v)[0].body
    assert with_reason.endswith(" 활동을 취소했습니다.\n사유: 우천\n문의: 송산종합사회복지관 031-870-1234")
    without = next(r.body for r in inapp("shift_cancelled", v) if r.kind == "shift_cancelled")
    assert without.endswith(" 활동을 취소했습니다.\n문의: 송산종합사회복지관 031-870-1234") and "사유" not in without


def test_a_sign_up_at_the_moment_of_a_pause_waits_for_it_and_is_refused(app):
    """PostgreSQL (SQLite lets one writer in at a time): the pause holds the program row; a sign-up sent at
    that moment waits, then finds the program paused, instead of taking a place the pause never saw."""
    import threading

    from tests.concurrency import wide_app

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        import pytest

        pytest.skip("SQLite runs one writer at a time")
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=3)
    v = sb.volunteer(d)
    db.session.commit()
    occ_id, v_id, p_id, coord_id = o.id, v.id, p.id, coord.id
    other = next(wide_app(app, 2))
    result = {}

    def sign():
        with other.app_context():
            from volnet.accounts.models import User
            from volnet.shifts.models import ShiftOccurrence

            try:
                svc.sign_up(db.session.get(ShiftOccurrence, occ_id), db.session.get(User, v_id))
                db.session.commit()
                result["outcome"] = "signed"
            except svc.ShiftError as exc:
                db.session.rollback()
                result["outcome"] = str(exc)

    svc.pause_program(db.session.get(Program, p_id), db.session.get(type(coord), coord_id), "")
    t = threading.Thread(target=sign)
    t.start()
    t.join(1.0)
    assert t.is_alive()  # waiting for the pause
    db.session.commit()
    t.join(30)
    assert result["outcome"] == "신청을 받지 않는 활동입니다."
    assert db.session.scalar(select(func.count()).select_from(Signup).where(Signup.status != "cancelled")) == 0
