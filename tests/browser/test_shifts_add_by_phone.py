"""A coordinator on a 360 px phone, with JavaScript off, finds a volunteer who phoned in by the last four
digits of their number and signs them up; the page never scrolls sideways."""
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.browser.conftest import login, shot
from tests.shifts import builders as sb
from volnet.extensions import db
from volnet.shifts.models import Signup

pytestmark = pytest.mark.browser


def test_find_and_add_a_volunteer_at_360px_without_javascript(app, live_server, browser):
    d = b.dong(name="송산3동")
    org = b.organization("welfare_centre", d, name="송산종합사회복지관")
    b.user("coordinator", [d], org=org, name="권미경", login_id="coordinator")
    for n in range(14):
        sb.volunteer(d, name=f"김봉사{n:02d}", org=org, phone=f"010{n:04d}{n:04d}")
    wanted = sb.volunteer(d, name="하윤서", org=org, phone="01012345678")
    p = sb.program(org, d, name="화요일 반찬 배달")
    o = sb.occurrence(p, in_hours=72, capacity=3, meeting_place="송산종합사회복지관 1층 조리실")
    db.session.commit()
    occ_id, wanted_id = o.id, wanted.id
    db.session.close()

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="ko-KR", timezone_id="Asia/Seoul",
                              java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.set_default_timeout(15000)
        login(page, live_server, "coordinator", b.PASSWORD)
        page.goto(f"{live_server}/shifts/{occ_id}/manage")
        section = page.locator("#add-volunteer")
        assert "15명 중 앞의 10명만 보입니다" in section.inner_text()
        page.fill("#vq", "5678")
        page.click("#add-volunteer form[role=search] button[type=submit]")
        page.wait_for_load_state("load")
        assert page.url.endswith("#add-volunteer") and "vq=5678" in page.url
        found = page.locator("#add-volunteer-found li")
        assert found.count() == 1 and "하윤서" in found.inner_text() and "010-1234-5678" in found.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = found.locator("button").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        shot(page, "shifts-360-05-add-by-phone")
        found.locator("button").click()
        page.wait_for_load_state("load")
        assert "하윤서" in page.inner_text(".alert-success")
    finally:
        ctx.close()
    assert db.session.scalar(select(Signup.status).where(Signup.occurrence_id == occ_id,
                                                         Signup.volunteer_id == wanted_id)) == "confirmed"
