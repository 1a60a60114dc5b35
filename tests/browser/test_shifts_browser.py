"""A volunteer signs up on a phone, sees the shift in "my shifts", marks a stop "no answer",
and the caseworker finds the new concern in the queue."""
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.browser.conftest import login, shot
from tests.shifts import builders as sb
from volnet.concerns.models import Concern
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_volunteer_signs_up_and_reports_no_answer(app, live_server, phone, desktop):
    d = b.dong(name="송산3동")
    org = b.organization("welfare_centre", d, name="송산종합사회복지관")
    b.user("coordinator", [d], org=org, name="권미경", login_id="coordinator")
    b.user("caseworker", [d], name="김민수", login_id="caseworker")
    sb.volunteer(d, name="서하늘", login_id="volunteer")
    p = sb.program(org, d, name="화요일 반찬 배달")
    # Starts in 10 minutes: sign-ups still open, and the doors can be recorded (from 15 minutes before the start).
    o = sb.occurrence(p, in_hours=1 / 6, hours=2, capacity=3, meeting_place="송산종합사회복지관 1층 조리실")
    h = b.household(d, road="경기도 의정부시 송산로 547번길 12", unit="지하 1층", name="김영희",
                    delivery_note="문 앞에 두고 벨 두 번")
    sb.stop(o, h)
    db.session.commit()
    occ_id, household_id = o.id, h.id
    db.session.close()

    login(phone, live_server, "volunteer", b.PASSWORD)
    phone.goto(f"{live_server}/shifts/")
    shot(phone, "shifts-01-open-shifts")
    phone.click(f"a[href='/shifts/{occ_id}']")
    phone.wait_for_load_state("networkidle")
    phone.click(f"form[action='/shifts/{occ_id}/signup'] button[type=submit]")
    phone.wait_for_load_state("networkidle")
    assert phone.is_visible(".alert-success")
    shot(phone, "shifts-02-signed-up")

    phone.goto(f"{live_server}/shifts/mine")
    assert "화요일 반찬 배달" in phone.inner_text("main")
    shot(phone, "shifts-03-my-shifts")

    phone.click(f"a[href='/shifts/{occ_id}/route']")
    phone.wait_for_load_state("networkidle")
    assert "김영희" in phone.inner_text("main") and "문 앞에 두고 벨 두 번" in phone.inner_text("main")
    shot(phone, "shifts-04-route")
    phone.click("button[name=outcome][value=no_answer]")
    phone.wait_for_load_state("networkidle")
    assert phone.is_visible(".alert-success")
    shot(phone, "shifts-05-no-answer")

    concern = db.session.scalar(select(Concern).where(Concern.household_id == household_id))
    assert concern is not None and concern.source == "shift"
    concern_id = concern.id
    db.session.close()

    login(desktop, live_server, "caseworker", b.PASSWORD)
    desktop.goto(f"{live_server}/concerns/")
    assert desktop.is_visible(f"a[href='/concerns/{concern_id}']")
    shot(desktop, "shifts-06-caseworker-queue")

    desktop.context.clear_cookies()
    login(desktop, live_server, "coordinator", b.PASSWORD)
    desktop.goto(f"{live_server}/shifts/{occ_id}/manage")
    assert "서하늘" in desktop.inner_text("main")
    shot(desktop, "shifts-07-coordinator-manage")
    desktop.goto(f"{live_server}/shifts/coordinator")
    shot(desktop, "shifts-08-coordinator-home")


SMALL_PHONE = {"width": 360, "height": 740}
FITS = """() => {
  const w = document.documentElement.clientWidth;
  const wraps = [...document.querySelectorAll('.table-wrap')].map(e => [e.scrollWidth, e.clientWidth]);
  const controls = [...document.querySelectorAll('main .table-wrap a.btn, main .table-wrap select')]
    .map(e => e.getBoundingClientRect().right);
  return {page: document.documentElement.scrollWidth, w, wraps, controls};
}"""


def _fits(page):
    got = page.evaluate(FITS)
    assert got["page"] <= got["w"], got
    assert got["wraps"] and all(scroll <= client for scroll, client in got["wraps"]), got
    assert all(right <= got["w"] for right in got["controls"]), got
    return got


def test_shift_tables_fit_a_360px_phone_without_sideways_scrolling(app, live_server, phone):
    """The volunteer's hours, the coordinator's no-shows, a program's dates (with 관리) and a shift's attendance
    (with the 출석 choice) fit a 360 px phone; a wide caseworker list keeps its width and scrolls in its box."""
    from datetime import timedelta

    from volnet.core import clock
    from volnet.shifts.models import Signup

    d = b.dong(name="송산3동")
    org = b.organization("welfare_centre", d, name="송산종합사회복지관")
    b.user("coordinator", [d], org=org, name="권미경", login_id="coordinator")
    b.user("caseworker", [d], name="김민수", login_id="caseworker")
    for n in range(3):
        b.household(d, road=f"경기도 의정부시 송산로 547번길 {n + 10}", unit="102동 1503호", name=f"김영{n}")
    came = sb.volunteer(d, name="서하늘", login_id="volunteer", phone="01040787101")
    absent = sb.volunteer(d, name="김하은", phone="01024329117")
    p = sb.program(org, d, name="화요일 반찬 배달")
    past = sb.occurrence(p, in_hours=-3, hours=2, capacity=3, meeting_place="송산종합사회복지관 1층 조리실")
    for v, attended in ((came, True), (absent, False)):
        db.session.add(Signup(occurrence_id=past.id, volunteer_id=v.id, status="confirmed", attended=attended,
                              minutes=120 if attended else 0, queued_at=past.starts_at - timedelta(days=2),
                              created_at=clock.now(), updated_at=clock.now()))
    for days in (2, 9, 16):
        sb.occurrence(p, in_hours=24 * days, capacity=3, requirements=["car"],
                      meeting_place="송산종합사회복지관 1층 조리실")
    db.session.commit()
    past_id, program_id = past.id, p.id
    db.session.close()

    phone.set_viewport_size(SMALL_PHONE)
    login(phone, live_server, "volunteer", b.PASSWORD)
    phone.goto(f"{live_server}/shifts/mine")
    assert "2.0" in phone.inner_text(".table-wrap")
    _fits(phone)
    shot(phone, "shifts-360-01-my-hours")

    phone.context.clear_cookies()
    login(phone, live_server, "coordinator", b.PASSWORD)
    phone.goto(f"{live_server}/shifts/coordinator")
    assert "김하은" in phone.inner_text(".table-wrap")
    _fits(phone)
    shot(phone, "shifts-360-02-no-shows")
    phone.goto(f"{live_server}/shifts/programs/{program_id}")
    assert phone.locator(".table-wrap a.btn").count() == 3
    _fits(phone)
    shot(phone, "shifts-360-03-program")
    phone.goto(f"{live_server}/shifts/{past_id}/manage")
    assert phone.locator(".table-wrap select").count() == 2
    assert phone.locator(".table-wrap select").first.is_visible()
    _fits(phone)
    shot(phone, "shifts-360-04-attendance")

    phone.context.clear_cookies()
    login(phone, live_server, "caseworker", b.PASSWORD)
    phone.goto(f"{live_server}/households/")
    wrap = phone.evaluate("() => { const e = document.querySelector('.table-wrap');"
                          " return [e.scrollWidth, e.clientWidth, document.documentElement.scrollWidth]; }")
    assert wrap[0] > wrap[1] and wrap[2] <= SMALL_PHONE["width"], wrap
