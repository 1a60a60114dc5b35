"""A tong leader reports on a phone; a caseworker sees it in the queue and acknowledges it."""
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.browser.conftest import login, shot
from volnet.concerns.models import Concern
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_tong_leader_reports_and_caseworker_acknowledges(app, live_server, phone, desktop):
    d = b.dong(name="송산3동")
    b.user("tong_leader", [d], name="한상철", login_id="tongleader")
    cw = b.user("caseworker", [d], name="김민수", login_id="caseworker")
    db.session.commit()
    cw_id = cw.id
    db.session.close()  # nothing held open while the server thread writes

    # The tong leader, on a 390-px phone.
    login(phone, live_server, "tongleader", b.PASSWORD)
    phone.goto(f"{live_server}/report")
    phone.click("a[href='/report/new']")
    phone.fill("#road_address", "경기도 의정부시 송산로 547번길 12")
    phone.fill("#unit", "지하 1층")
    phone.fill("#tong", "7")
    phone.click("label[for=signals-0]")  # 우편물·고지서 적체
    phone.click("label[for=signals-4]")  # 외출 없음
    phone.fill("#note", "우편함에 고지서가 일주일째 쌓여 있어요")
    # Emergency first shows the call box.
    phone.click("label[for=urgency-2]")
    assert phone.is_visible("a[href='tel:119']")
    phone.click("label[for=urgency-1]")
    shot(phone, "platform-01-phone-report-form")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    phone.click("button[type=submit].btn-large")
    phone.wait_for_load_state("networkidle")
    assert "/report/sent/" in phone.url
    shot(phone, "platform-02-phone-sent")
    phone.goto(f"{live_server}/my/reports")
    assert "접수됨" in phone.content()

    # The caseworker, at a desk.
    login(desktop, live_server, "caseworker", b.PASSWORD)
    desktop.goto(f"{live_server}/concerns/")
    assert "송산로 547번길 12" in desktop.content()
    shot(desktop, "platform-03-queue")
    desktop.click("text=송산로 547번길 12")
    desktop.wait_for_load_state("networkidle")
    assert "우편함에 고지서가 일주일째 쌓여 있어요" in desktop.content()
    desktop.click("form[action$='/acknowledge'] button")
    desktop.wait_for_load_state("networkidle")
    shot(desktop, "platform-04-concern-acknowledged")
    db.session.expire_all()
    c = db.session.scalar(select(Concern))
    assert c.acknowledged_at is not None and c.owner_id == cw_id and c.urgency == "urgent"
    db.session.close()  # release SQLite's lock before the server writes again
    phone.goto(f"{live_server}/my/reports")
    assert "확인 중" in phone.content()
