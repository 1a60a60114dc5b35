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


def test_caseworker_adding_a_recorded_household_links_the_report_to_it(app, live_server, phone):
    """From a report waiting for its household, "create a household" at an address the dong already has
    shows that household first; its button (inside the warning, submitting a form of its own) links the
    report to it and adds nothing."""
    from volnet.households.models import Household
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    d = b.dong(name="송산3동")
    b.user("caseworker", [d], name="김민수", login_id="caseworker")
    h = b.household(d, "경기도 의정부시 용민로 251", "103동 1501호", name="박명자")
    citizen = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                              location_text="용민로 251 103동"), None)[0]
    db.session.commit()
    concern_id, household_id = citizen.concern_id, h.id
    db.session.close()

    login(phone, live_server, "caseworker", b.PASSWORD)
    phone.goto(f"{live_server}/concerns/{concern_id}")
    phone.click(f"a[href='/households/new?link_concern={concern_id}']")
    phone.fill("#road_address", "경기도 의정부시 용민로251")
    phone.fill("#unit", "103동1501호")
    phone.click("form button[type=submit].btn-primary:has-text('저장')")
    phone.wait_for_load_state("networkidle")
    assert phone.is_visible(".same-address")
    assert "박명자" in phone.inner_text(".same-address")
    shot(phone, "platform-05-phone-same-address")
    phone.click(".same-address button:has-text('이 가구에 신고 연결')")
    phone.wait_for_load_state("networkidle")
    assert phone.url.endswith(f"/concerns/{concern_id}")
    assert "가구를 연결했습니다" in phone.content()
    db.session.expire_all()
    assert db.session.get(Concern, concern_id).household_id == household_id
    assert len(db.session.scalars(select(Household)).all()) == 1
    db.session.close()


def test_switching_language_with_something_typed_asks_first(app, live_server, phone):
    """The language switch shows the page again in the other language: with a note typed, it asks first;
    dismissed, the note stays; accepted, the same page comes back in English."""
    d = b.dong(name="송산3동")
    b.user("tong_leader", [d], name="한상철", login_id="tongleader")
    db.session.commit()
    db.session.close()
    login(phone, live_server, "tongleader", b.PASSWORD)
    phone.goto(f"{live_server}/report/new")
    phone.fill("#note", "우편함에 고지서가 쌓여 있어요")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    phone.once("dialog", dismiss)
    phone.click(".lang-switch button[type=submit]")
    phone.wait_for_timeout(300)
    assert asked and "입력한 내용이 사라집니다" in asked[0]
    assert phone.input_value("#note") == "우편함에 고지서가 쌓여 있어요" and "/report/new" in phone.url
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click(".lang-switch button[type=submit]")
    phone.wait_for_load_state("networkidle")
    assert "/report/new" in phone.url and phone.get_attribute("html", "lang") == "en"
