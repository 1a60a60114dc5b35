"""The case page on a 360 px phone stays 360 px wide, in Korean and English: a conference's task table (task, who, by
when, 'mark done') becomes one small card per task instead of running out of its card and panning the page (QA round
20: F9), and so does the table of needs by domain (QA round 20: R2)."""
from datetime import date

import pytest

from tests import builders as b
from tests.browser.conftest import ARTIFACTS, login, shot
from tests.cases.builders import case as make_case
from volnet.cases import services as svc
from volnet.extensions import db

pytestmark = pytest.mark.browser


def test_a_case_with_conference_tasks_fits_a_360px_phone(app, live_server, browser):
    d = b.dong(name="송산3동")
    cw = b.user("caseworker", [d], name="김민수", login_id="caseworker")
    h = b.household(d, road="경기도 의정부시 호국로 1234번길 12", unit="지하 1층 102호", name="홍동현")
    case = make_case(cw, h, summary="고독사 위험 1인 가구")
    svc.add_conference(case, cw, held_on=date(2026, 12, 4), attendees="김민수 (송산3동 행정복지센터)\n박지현 팀장\n"
                       "의정부시 정신건강복지센터 상담사", agencies=["mental_health_centre", "welfare_centre"],
                       decisions="정신건강복지센터 주 1회 방문 상담. 복지관 반찬 배달 주 1회.",
                       tasks=[("정신건강복지센터 첫 방문 일정 잡기", "의정부시 정신건강복지센터", date(2026, 12, 11)),
                              ("기초생활보장 신청 서류 안내", "김민수", date(2026, 12, 18))])
    db.session.commit()
    case_id = case.id
    db.session.close()
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="ko-KR", timezone_id="Asia/Seoul")
    try:
        page = ctx.new_page()
        page.set_default_timeout(15000)
        login(page, live_server, "caseworker", b.PASSWORD)
        page.goto(f"{live_server}/cases/{case_id}")
        shot(page, "phone_case_conference_tasks")
        page.locator("#conferences").screenshot(path=str(ARTIFACTS / "phone_case_conferences.png"))
        assert "기초생활보장 신청 서류 안내" in page.inner_text("#conferences")
        # On a phone a page wider than the screen widens the layout viewport too (innerWidth 492): both are checked.
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner <= 360, f"the case page scrolls sideways ({width}px, viewport {inner}px)"
        for button in page.query_selector_all("#conferences form[action$='/done'] button"):
            box = button.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        for due in page.query_selector_all("#conferences td[data-label='기한']"):  # a date is read on one line
            assert due.bounding_box()["height"] < 40, due.inner_text()
    finally:
        ctx.close()


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_a_case_with_needs_fits_a_360px_phone_in_both_languages(app, live_server, browser, locale):
    """The 'Needs by domain' table (domain, level, what is needed) is a small card per need on a phone: in English its
    headings made the page 390 px wide and cut off 'What is needed' (QA round 20: R2)."""
    d = b.dong(name="송산3동")
    cw = b.user("caseworker", [d], name="김민수", login_id="caseworker", locale=locale)
    h = b.household(d, road="경기도 의정부시 호국로 1234번길 12", unit="지하 1층 102호", name="홍동현")
    case = make_case(cw, h, summary="고독사 위험 1인 가구")
    svc.add_need(case, cw, "economy", "high", "관리비 4개월 체납, 전기요금 독촉장, 가스 공급 중단 예고 통지서 받음")
    svc.add_need(case, cw, "health", "medium", "당뇨, 혼자 병원 가기 어려움")
    svc.add_need(case, cw, "daily_living", "high", "가족과 연락 끊김, 외출 거의 없음")
    svc.add_conference(case, cw, held_on=date(2026, 12, 4), attendees="김민수\n박지현 팀장",
                       agencies=["welfare_centre"], decisions="복지관 반찬 배달 주 1회.",
                       tasks=[("기초생활보장 신청 서류 안내", "김민수", date(2026, 12, 18))])
    db.session.commit()
    case_id = case.id
    db.session.close()
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="ko-KR" if locale == "ko" else "en-US", timezone_id="Asia/Seoul")
    try:
        page = ctx.new_page()
        page.set_default_timeout(15000)
        login(page, live_server, "caseworker", b.PASSWORD)
        page.goto(f"{live_server}/cases/{case_id}")
        assert page.get_attribute("html", "lang") == locale
        shot(page, f"phone_case_needs_{locale}")
        page.locator("#assessment").screenshot(path=str(ARTIFACTS / f"phone_case_needs_{locale}.png"))
        needs = page.inner_text("#assessment")
        assert "가스 공급 중단 예고 통지서 받음" in needs
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner <= 360, f"the case page scrolls sideways ({width}px, viewport {inner}px)"
        for cell in page.query_selector_all("#assessment td"):  # every cell of the needs is on the screen
            box = cell.bounding_box()
            assert box is None or (box["x"] >= 0 and box["x"] + box["width"] <= 360), cell.inner_text()
    finally:
        ctx.close()
