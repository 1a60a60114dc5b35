"""A crisis list's page on a 360 px phone: the page itself never scrolls sideways (its tables do)."""
import pytest

from tests import builders as b
from tests.browser.conftest import login
from tests.risk import builders as rb
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_a_crisis_list_page_fits_a_360px_phone(app, client, live_server, browser):
    d = b.dong(name="송산3동")
    cw = b.user("caseworker", [d], name="김민수", login_id="caseworker")
    rb.seed_types()
    b.household(d, road="경기도 의정부시 송산로 87", unit="102동 304호", name="조병철")
    db.session.commit()
    b.login(client, cw)
    rows = [rb.person(n, road=f"경기도 의정부시 송산로 {80 + n}번길 {n}", unit="102동 304호",
                      codes="전기요금 체납, 건강보험료·국민연금 체납") for n in range(1, 8)]
    rows.append(["9", "홍길동", "1950-03-01", "경기도 의정부시 송산로 87", "102동 304호", "", "단전"])
    r = rb.import_file(client, d, rb.csv_bytes(rows))
    assert r.status == "done"
    db.session.close()
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="ko-KR", timezone_id="Asia/Seoul")
    try:
        page = ctx.new_page()
        login(page, live_server, "caseworker", b.PASSWORD)
        page.goto(f"{live_server}/risk/rounds/{r.id}")
        assert "조병철" in page.inner_text("main")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the crisis list page scrolls sideways on a phone ({width}px)"
    finally:
        ctx.close()
