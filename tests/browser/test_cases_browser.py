"""A caseworker opens an integrated case from a concern, adds a service linkage, and the monthly report counts it."""
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.browser.conftest import login, shot
from volnet.cases.models import Case, ServiceLinkage
from volnet.concerns.models import Concern
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_case_from_concern_linkage_and_report(app, live_server, desktop, phone):
    d = b.dong(name="송산3동")
    b.user("caseworker", [d], name="김민수", login_id="caseworker")
    vol = b.user("volunteer", [d], name="서하늘", login_id="volunteer")
    h = b.household(d, road="경기도 의정부시 송산로 547번길 12", unit="지하 1층", name="김영희", phone="01012345678",
                    tier="intensive")
    obs = b.observation(h, urgency="urgent", signals=("mail_piling", "not_going_out"))
    from volnet.calls import services as calls

    calls.enroll(b.user("caseworker", [d]), h, vol, None)
    calls.ensure_tasks()
    db.session.commit()
    concern_id = obs.concern_id
    db.session.close()

    desktop.on("dialog", lambda dialog: dialog.accept())
    login(desktop, live_server, "caseworker", b.PASSWORD)
    desktop.goto(f"{live_server}/concerns/{concern_id}")
    desktop.click("#open-case button[type=submit]")
    desktop.wait_for_load_state("networkidle")
    assert "/cases/" in desktop.url
    shot(desktop, "cases-01-case-opened")

    desktop.click("#linkages summary")
    desktop.select_option("#sector", "private")
    desktop.select_option("#service_type", "food_bank")
    desktop.fill("#provider", "의정부 푸드뱅크")
    desktop.fill("#value_won", "1,250,000")
    desktop.click("form[action$='/linkages'] button[type=submit]")
    desktop.wait_for_load_state("networkidle")
    assert "1,250,000" in desktop.inner_text("#linkages")
    shot(desktop, "cases-02-linkage-added")

    desktop.goto(f"{live_server}/reports/")
    assert desktop.inner_text("#fig-cases") == "1"
    assert desktop.inner_text("#fig-linkages") == "1"
    assert desktop.inner_text("#fig-value") == "1,250,000"
    assert desktop.inner_text("#fig-initial") == "1"
    shot(desktop, "cases-03-monthly-report")
    desktop.emulate_media(media="print")
    shot(desktop, "cases-04-monthly-report-print")
    assert not desktop.is_visible("form.form-inline")

    # The volunteer's call list on a phone: the minimum, with tap-to-call.
    login(phone, live_server, "volunteer", b.PASSWORD)
    phone.goto(f"{live_server}/calls/")
    assert phone.is_visible("a[href='tel:01012345678']")
    content = phone.content()
    assert "김영희" in content and "/cases/" not in content
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the call list scrolls sideways on a phone ({width}px)"
    shot(phone, "cases-05-phone-call-list")

    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert db.session.get(Concern, concern_id).outcome == "case_opened" and case.concern_id == concern_id
    assert db.session.scalar(select(ServiceLinkage)).value_won == 1250000
