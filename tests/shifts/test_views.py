"""Pages: the coordinator schedules, the volunteer signs up; bad input gets a clear message, nothing half-saved."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.conftest import csrf_token_from
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts.models import Program, ShiftOccurrence, ShiftSeries, Signup


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def shift_data(**kw):
    day = clock.seoul_today() + timedelta(days=10)
    data = {"date": day.isoformat(), "start_time": "10:00", "end_time": "12:00", "repeat": "once",
            "meeting_place": "복지관 1층", "capacity": "3", "note": ""}
    data.update(kw)
    return data


def test_coordinator_creates_program_and_shifts(client):
    d, org, coord, p = sb.world()
    db.session.commit()
    b.login(client, coord)
    assert client.get("/home").headers["Location"].endswith("/shifts/coordinator")
    r = client.post("/shifts/programs/new", data={"name": "목요일 도시락", "service": "lunch_boxes", "dong_id": d.id,
                                                  "cancel_cutoff_hours": "12", "route_before_hours": "2",
                                                  "route_after_hours": "6", "active": "y"})
    assert r.status_code == 302
    new = db.session.scalar(select(Program).where(Program.name == "목요일 도시락"))
    assert new.organization_id == org.id and new.cancel_cutoff_hours == 12
    r = client.post(f"/shifts/programs/{new.id}/shifts/new", data=shift_data(requirements=["car"]))
    assert r.status_code == 302
    r = client.post(f"/shifts/programs/{new.id}/shifts/new", data=shift_data(repeat="monthly_nth", start_time="14:00",
                                                                              end_time="16:00"))
    assert r.status_code == 302
    series = db.session.scalar(select(ShiftSeries))
    assert series.rrule.startswith("FREQ=MONTHLY;BYDAY=")
    occs = list(db.session.scalars(select(ShiftOccurrence).where(ShiftOccurrence.series_id == series.id)))
    assert len(occs) >= 3 and all(clock.to_seoul(o.starts_at).hour == 14 for o in occs)
    page = client.get(f"/shifts/programs/{new.id}").get_data(as_text=True)
    assert "목요일 도시락" in page


BAD_SHIFT_INPUT = [
    ({"date": (clock.seoul_today() - timedelta(days=1)).isoformat()}, "past"),
    ({"date": "2024-02-30"}, "real date"),
    ({"date": "9999-12-31"}, "too far"),
    ({"start_time": "25:00"}, "09:30"),
    ({"end_time": "09:00"}, "after the start"),
    ({"capacity": "0"}, "Places"),
    ({"capacity": "abc"}, "Places"),
    ({"repeat": "custom", "rrule": "FREQ=SOMETIMES"}, "could not be read"),
    ({"repeat": "custom", "rrule": "FREQ=MINUTELY"}, "not more often"),
    ({"repeat": "sometimes"}, "offered options"),
    ({"repeat": "weekly", "until": "2020-01-01"}, "before the first date"),
    ({"meeting_place": "x" * 500}, "200"),
]


def test_bad_shift_input_is_refused_clearly(client):
    d, org, coord, p = sb.world()
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    for changes, message in BAD_SHIFT_INPUT:
        r = client.post(f"/shifts/programs/{p.id}/shifts/new", data=shift_data(**changes))
        assert r.status_code == 400, changes
        body = r.get_data(as_text=True)
        assert message in body, (changes, body[body.find("alert"):][:500])
        assert count(ShiftOccurrence) == 0 and count(ShiftSeries) == 0


def test_editing_one_date_with_slots_below_sign_ups_keeps_everything(client):
    d, org, coord, p = sb.world()
    # 10:00-12:00 Seoul time three days on: a shift that "now + 72 h" put at 23:00 would end after
    # midnight, which the form refuses before it looks at the places (this test once failed at 23:50 KST).
    day = clock.to_seoul(clock.now() + timedelta(days=3))
    o = sb.occurrence(p, capacity=2, starts_at=sb.seoul(day.year, day.month, day.day, 10))
    sb.signed(o, sb.volunteer(d))
    sb.signed(o, sb.volunteer(d))
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    local = clock.to_seoul(o.starts_at)
    data = {"date": local.date().isoformat(), "start_time": local.strftime("%H:%M"),
            "end_time": clock.to_seoul(o.ends_at).strftime("%H:%M"), "meeting_place": "바뀐 장소", "capacity": "1"}
    r = client.post(f"/shifts/{o.id}/edit", data=data)
    assert r.status_code == 400 and "cannot go below" in r.get_data(as_text=True)
    db.session.expire_all()
    o = db.session.get(ShiftOccurrence, o.id)
    assert o.capacity == 2 and o.filled == 2 and o.meeting_place == "복지관 1층" and o.sequence == 0


def test_volunteer_flow_browse_sign_up_waitlist_mine(client):
    d, org, coord, p = sb.world()
    other = sb.program(org, d, service="haircuts", name="이미용 봉사")
    o = sb.occurrence(p, capacity=1, requirements=["car"])
    sb.occurrence(other, in_hours=90)
    first = sb.volunteer(d, car=True)
    sb.signed(o, first)
    v = sb.volunteer(d, car=True)
    db.session.commit()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.get("/shifts/?service=haircuts").get_data(as_text=True)
    assert "이미용 봉사" in page and "화요일 반찬 배달" not in page
    page = client.get("/shifts/?need=no_car").get_data(as_text=True)
    assert "화요일 반찬 배달" not in page
    assert client.get("/shifts/?from=2024-02-30&page=abc&dong=x").status_code == 200
    r = client.post(f"/shifts/{o.id}/signup", follow_redirects=True)
    assert "waiting list" in r.get_data(as_text=True)
    assert db.session.scalar(select(Signup.status).where(Signup.volunteer_id == v.id)) == "waitlisted"
    mine = client.get("/shifts/mine").get_data(as_text=True)
    assert "화요일 반찬 배달" in mine


def test_csrf_is_required(client, csrf_on):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p)
    v = sb.volunteer(d)
    db.session.commit()
    page = client.get("/account/login").get_data(as_text=True)
    client.post("/account/login", data={"login_id": v.login_id, "password": b.PASSWORD,
                                        "csrf_token": csrf_token_from(page)})
    from flask import g

    g.pop("csrf_token", None)  # the test's app context outlives requests; login started a new session
    r = client.post(f"/shifts/{o.id}/signup")
    assert r.status_code in (302, 400)
    assert count(Signup) == 0
    page = client.get(f"/shifts/{o.id}").get_data(as_text=True)
    r = client.post(f"/shifts/{o.id}/signup", data={"csrf_token": csrf_token_from(page)}, follow_redirects=True)
    assert count(Signup) == 1, r.get_data(as_text=True)[-3000:]


def test_coordinator_dashboard_attendance_and_hours_export(client):
    clock.freeze(sb.seoul(2026, 3, 2, 9))
    d, org, coord, p = sb.world()
    v = sb.volunteer(d, name="=HYPERLINK(\"x\")", phone="01012345678")
    late = sb.volunteer(d, name="늦은사람")
    o = sb.occurrence(p, starts_at=sb.seoul(2026, 3, 3, 10), hours=2, capacity=2)
    s1, s2 = sb.signed(o, v), sb.signed(o, late)
    db.session.commit()
    b.login(client, coord)
    page = client.get("/shifts/coordinator").get_data(as_text=True)
    assert "늦은사람" in page  # unconfirmed place within 48 h
    clock.freeze(sb.seoul(2026, 3, 3, 13))
    b.login(client, coord)
    r = client.post(f"/shifts/{o.id}/attendance", data={f"a-{s1.id}": "yes", f"a-{s2.id}": "no"})
    assert r.status_code == 302
    page = client.get("/shifts/coordinator").get_data(as_text=True)
    assert "늦은사람" in page  # the no-show
    r = client.get("/shifts/coordinator/hours.csv?month=2026-03")
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff") and "'=HYPERLINK" in text and "2.0" in text and "늦은사람" not in text
    assert client.get("/shifts/coordinator/hours.csv?month=2026-13").status_code == 302
    client.post("/account/logout")
    b.login(client, v)
    mine = client.get("/shifts/hours.csv").data.decode("utf-8")
    assert mine.startswith("\ufeff") and "2026-03-03" in mine


def test_other_organizations_coordinator_gets_404(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p)
    other = b.user("coordinator", dongs=[d], org=b.organization("food_bank", d))
    db.session.commit()
    b.login(client, other)
    for url in (f"/shifts/programs/{p.id}", f"/shifts/programs/{p.id}/edit", f"/shifts/{o.id}/manage",
                f"/shifts/programs/{p.id}/shifts/new"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/shifts/{o.id}/cancel").status_code == 404
    assert client.post(f"/shifts/{o.id}/message", data={"message": "x"}).status_code == 404


def test_attendance_with_digit_like_signs_in_field_names_is_ignored(client):
    """'a-²' passes str.isdigit() but is no place id: ignored, as any unknown field, never a 500."""
    clock.freeze(sb.seoul(2026, 3, 2, 9))
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, starts_at=sb.seoul(2026, 3, 3, 10), hours=2, capacity=2)
    s1 = sb.signed(o, sb.volunteer(d, name="참석자"))
    db.session.commit()
    clock.freeze(sb.seoul(2026, 3, 3, 13))  # after the shift
    b.login(client, coord)
    r = client.post(f"/shifts/{o.id}/attendance", data={"a-²": "yes", "a-①": "no", f"a-{s1.id}": "yes"})
    assert r.status_code == 302
    db.session.refresh(s1)
    assert s1.attended is True


def test_volunteer_sees_why_they_cannot_sign_up_before_tapping(client):
    """A shift needing a car, or for women only, says so on the page instead of offering a sign-up button;
    once the profile says 'car', the button is there and the sign-up works (the same rule as the service)."""
    d, org, coord, p = sb.world()
    car = sb.occurrence(p, capacity=2, requirements=["car"])
    women = sb.occurrence(p, in_hours=120, capacity=2, requirements=["women_only"])
    plain = sb.occurrence(p, in_hours=200, capacity=2)
    v = sb.volunteer(d, sex="m")
    db.session.commit()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{car.id}").get_data(as_text=True)
    assert "You cannot sign up for this shift." in page and "This shift needs a car." in page
    assert f'action="/shifts/{car.id}/signup"' not in page
    page = client.get(f"/shifts/{women.id}").get_data(as_text=True)
    assert "homes that asked for women volunteers only" in page
    assert f'action="/shifts/{women.id}/signup"' not in page
    page = client.get(f"/shifts/{plain.id}").get_data(as_text=True)
    assert "You cannot sign up" not in page and f'action="/shifts/{plain.id}/signup"' in page
    listing = client.get("/shifts/").get_data(as_text=True)
    assert listing.count('class="card-meta not-eligible"') == 2 and "This shift needs a car." in listing

    client.post("/shifts/profile", data={"has_car": "y", "sex": "m"})
    page = client.get(f"/shifts/{car.id}").get_data(as_text=True)
    assert "You cannot sign up" not in page and f'action="/shifts/{car.id}/signup"' in page
    client.post(f"/shifts/{car.id}/signup")
    assert db.session.scalar(select(Signup.status).where(Signup.occurrence_id == car.id)) == "confirmed"


def test_volunteer_sees_a_clash_with_their_other_shift_before_tapping(client):
    d, org, coord, p = sb.world()
    mine = sb.occurrence(p, capacity=2)
    other = sb.program(org, d, name="이불 빨래 봉사", service="bedding_laundry")
    clash = sb.occurrence(other, in_hours=73, capacity=2)
    v = sb.volunteer(d)
    sb.signed(mine, v)
    db.session.commit()
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{clash.id}").get_data(as_text=True)
    assert "You already have a shift at that time: 화요일 반찬 배달" in page
    assert f'action="/shifts/{clash.id}/signup"' not in page
    # The other shift's time in the reader's language: '2026. 3. 5.(Thu) 10:00', not '(목)'.
    at = clock.to_seoul(mine.starts_at)
    day = f"{at.year}. {at.month}. {at.day}."
    assert f"화요일 반찬 배달, {day}({at:%a}) {at:%H:%M}." in page and f"{day}({'월화수목금토일'[at.weekday()]})" not in page
    client.post("/lang", data={"lang": "ko"})
    page = client.get(f"/shifts/{clash.id}").get_data(as_text=True)
    assert f"화요일 반찬 배달, {day}({'월화수목금토일'[at.weekday()]}) {at:%H:%M}." in page
    client.post("/lang", data={"lang": "en"})
    # Their own shift still offers to cancel, not a reason.
    page = client.get(f"/shifts/{mine.id}").get_data(as_text=True)
    assert "You cannot sign up" not in page and "Cancel my place" in page
