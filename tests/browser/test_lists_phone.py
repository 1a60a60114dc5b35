"""The risk, case and safety-call lists on a 360 px phone: each row is a small card, so the key columns
(tier, score, due date, next call) are on screen without scrolling sideways."""
import pytest

from tests import builders as b
from tests.browser.conftest import login, shot
from tests.calls.builders import enrolled
from tests.cases.builders import case as make_case
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_key_columns_of_the_lists_fit_a_360px_phone(app, live_server, browser):
    d = b.dong(name="송산3동")
    cw = b.user("caseworker", [d], name="김민수", login_id="caseworker")
    h, _enr = enrolled(d, cw, tier="intensive", name="홍동현")
    h.road_address, h.unit, h.risk_score = "경기도 의정부시 호국로 1234번길 12", "지하 1층 102호", 37.0
    make_case(cw, h, summary="단전")
    db.session.commit()
    db.session.close()
    ctx = browser.new_context(viewport={"width": 360, "height": 800}, locale="ko-KR", timezone_id="Asia/Seoul")
    try:
        page = ctx.new_page()
        login(page, live_server, "caseworker", b.PASSWORD)
        for url, key in (("/risk/", "td.text-right"), ("/cases/", "td[data-label]"),
                         ("/calls/manage", "td.num")):
            page.goto(live_server + url)
            shot(page, "phone_list_" + url.strip("/").replace("/", "_"))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{url} scrolls sideways ({width}px)"
            for cell in page.query_selector_all(f"main table tbody tr:first-child {key}"):
                box = cell.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (url, cell.inner_text())
            table = page.query_selector("main .table-wrap")
            assert page.evaluate("t => t.scrollWidth <= t.clientWidth", table), f"{url}: the table scrolls"
    finally:
        ctx.close()
