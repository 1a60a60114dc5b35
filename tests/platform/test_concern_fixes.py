"""What caseworkers noticed on the concern pages (QA of 2026-12-04): closing, merging, monitoring,
contact times, urgency changes, the team page."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.concerns import services
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.observations import services as obs_services
from volnet.observations.models import Observation

# Thursday 2026-12-03 10:00 Seoul
THU_10 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def d(app):
    clock.freeze(THU_10)
    return b.dong()


@pytest.fixture
def cw(d):
    return b.user("caseworker", [d], name="김민수")


def _citizen_report(d, urgency="urgent", where="송산로 골목 끝 빌라 2층"):
    return obs_services.submit(Observation(dong_id=d.id, source="citizen", urgency=urgency,
                                           signals=["smell_insects"], location_text=where), None)[0]


def _reload(concern_id) -> Concern:
    db.session.expire_all()
    return db.session.get(Concern, concern_id)


def _close_outcomes(page: str) -> str:
    """The close form's part of the concern page."""
    start = page.index('action="/concerns/')
    start = page.index("/close", start)
    return page[start:page.index("</form>", start)]


def test_a_concern_is_not_closed_as_case_opened_without_a_case(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert 'value="case_opened"' not in _close_outcomes(page)
    assert 'value="no_concern"' in _close_outcomes(page)

    client.post(f"/concerns/{c_id}/close", data={"outcome": "case_opened", "note": ""})
    c = _reload(c_id)
    assert c.is_open and c.outcome is None
    with pytest.raises(services.ConcernError):
        services.close(c, cw, "case_opened", "")
    assert c.is_open

    from volnet.cases import services as cases

    case = cases.open_case(c, cw)  # "Open integrated case" still closes it that way
    assert c.status == "closed" and c.outcome == "case_opened" and case.concern_id == c.id


def test_a_merge_that_raises_the_urgency_says_so_and_the_moved_report_shows_on_the_household(app, client, d, cw):
    h = b.household(d, name="최영자")
    report = _citizen_report(d, urgency="emergency", where="창문 너머 악취 빌라")
    target_id = b.observation(h, urgency="routine").concern_id
    db.session.commit()
    src_id = report.concern_id
    b.login(client, cw)
    r = client.post(f"/concerns/{src_id}/merge", data={"target_id": target_id})
    assert r.status_code == 302

    target = _reload(target_id)
    assert target.urgency == "emergency"
    raised = db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == target_id,
                                                           ConcernEvent.kind == "urgency_raised")).all()
    assert [(e.data["old"], e.data["new"], e.data["by_merge"]) for e in raised] == [("routine", "emergency", src_id)]
    page = client.get(f"/concerns/{target_id}").get_data(as_text=True)
    assert "긴급도: 일반 → 응급" in page and f"#{src_id} 건 병합으로" in page

    moved = db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == target_id)).all()
    assert moved and all(e.household_id == h.id for e in moved)
    household_page = client.get(f"/households/{h.id}").get_data(as_text=True)
    assert "창문 너머 악취 빌라" in household_page  # the citizen's report, now on the household's timeline


def test_merging_a_linked_concern_into_an_unlinked_one_puts_the_whole_timeline_on_the_household(app, client, d, cw):
    h = b.household(d)
    target_id = _citizen_report(d, where="빌라 뒤편").concern_id
    src_id = b.observation(h).concern_id
    db.session.commit()
    b.login(client, cw)
    assert client.post(f"/concerns/{src_id}/merge", data={"target_id": target_id}).status_code == 302
    assert _reload(target_id).household_id == h.id
    hp = client.get(f"/households/{h.id}").get_data(as_text=True)
    assert "빌라 뒤편" in hp


def test_changing_the_households_tong_moves_its_open_concern_in_the_queue(app, client, d, cw):
    h = b.household(d, "송산로 28", "1층", tong=17)
    c_id = b.observation(h).concern_id
    db.session.commit()
    assert db.session.get(Concern, c_id).tong == 17
    b.login(client, cw)
    form = {"dong_id": d.id, "road_address": "송산로 28", "unit": "1층", "tong": "3", "sex": "unknown",
            "age_band": "unknown", "lives_alone": "", "status": "active"}
    assert client.post(f"/households/{h.id}/edit", data=form).status_code == 302
    assert _reload(c_id).tong == 3
    assert f'href="/concerns/{c_id}"' in client.get("/concerns/?tong=3").get_data(as_text=True)
    assert f'href="/concerns/{c_id}"' not in client.get("/concerns/?tong=17").get_data(as_text=True)


def test_a_household_moved_to_another_dong_takes_its_open_concern_there(app, client, d, cw):
    other = b.dong()
    cw.dongs = [d, other]
    h = b.household(d, "송산로 28", "1층", tong=17, lives_alone=True)
    c_id = b.observation(h).concern_id
    colleague = b.user("caseworker", [other])
    db.session.commit()
    b.login(client, cw)
    form = {"dong_id": other.id, "road_address": "호원로 5", "unit": "", "tong": "2", "sex": "unknown",
            "age_band": "unknown", "status": "active"}  # lives_alone left out: the record's answer stays
    assert client.post(f"/households/{h.id}/edit", data=form).status_code == 302
    assert (_reload(c_id).dong_id, _reload(c_id).tong) == (other.id, 2)
    assert db.session.get(type(h), h.id).lives_alone is True
    theirs = app.test_client()
    b.login(theirs, colleague)
    assert f'href="/concerns/{c_id}"' in theirs.get("/concerns/").get_data(as_text=True)


def test_monitoring_is_not_chosen_twice_and_a_routine_call_keeps_it(app, client, d, cw):
    from volnet.reports import services as reports

    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/close", data={"outcome": "monitoring", "note": "", "confirmed": "1"})
    assert _reload(c_id).status == "monitoring"

    clock.freeze(THU_10 + timedelta(days=30))  # the next month
    b.login(client, cw)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert 'value="monitoring"' not in _close_outcomes(page)
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "monitoring", "note": ""}, follow_redirects=True)
    assert "이 가구는 이미 정기 모니터링 대상입니다." in r.get_data(as_text=True)
    assert "정기 모니터링 대상으로 정했습니다" not in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConcernEvent).where(
        ConcernEvent.concern_id == c_id, ConcernEvent.kind == "monitoring")) == 1
    january = reports.figures(d.id, date(2027, 1, 1), date(2027, 1, 31))
    assert january["concerns_by_outcome"].get("monitoring", 0) == 0
    december = reports.figures(d.id, date(2026, 12, 1), date(2026, 12, 31))
    assert december["concerns_by_outcome"]["monitoring"] == 1

    client.post(f"/concerns/{c_id}/contact", data={"outcome": "connected_fine", "note": "정기 안부 통화"})
    assert _reload(c_id).status == "monitoring"
    assert "정기 안부 통화" in client.get(f"/concerns/{c_id}").get_data(as_text=True)


def test_the_contact_time_typed_is_shown_and_cannot_be_before_the_concern(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id  # opened Thu 3 Dec 10:00 Seoul
    db.session.commit()
    clock.freeze(THU_10 + timedelta(days=1))
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "visit_safe", "at": "2026-12-03T15:30",
                                                    "note": "방문함"})
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "통화/방문 2026. 12. 3.(목) 15:30" in page

    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "at": "2026-12-01T09:00",
                                                        "note": "두 번 전화함"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "연락·방문 일시는 이 건이 접수된 때(2026. 12. 3.(목) 10:00)보다 앞설 수 없습니다." in page
    assert "두 번 전화함" in page  # what was typed is still in the form
    assert db.session.scalar(select(func.count()).select_from(ConcernEvent).where(
        ConcernEvent.concern_id == c_id, ConcernEvent.kind.in_(("contact", "visit")))) == 1


def test_a_contact_recorded_now_shows_no_second_time(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "note": ""})
    assert "통화/방문" not in client.get(f"/concerns/{c_id}").get_data(as_text=True)


def test_a_merged_concern_page_points_to_the_other_and_offers_no_household_link(app, client, d, cw):
    h = b.household(d)
    src_id = _citizen_report(d).concern_id
    target_id = b.observation(h).concern_id
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{src_id}/merge", data={"target_id": target_id})
    page = client.get(f"/concerns/{src_id}?hq=송산로").get_data(as_text=True)
    assert f"이 위기 의심 건은 #{target_id} 건에 병합되었습니다." in page
    assert f'href="/concerns/{target_id}"' in page
    assert f"/households/new?link_concern={src_id}" not in page
    assert 'name="hq"' not in page and f"/concerns/{src_id}/link" not in page
    assert f"위기 의심 건 #{target_id}에 병합됨" in page  # its timeline is not just "nothing recorded"
    assert "아직 기록이 없습니다" not in page
    assert f"위기 의심 건 #{target_id}에 병합됨" not in client.get(f"/households/{h.id}").get_data(as_text=True)


def test_a_closed_unlinked_concern_offers_no_household_link(app, client, d, cw):
    c = db.session.get(Concern, _citizen_report(d).concern_id)
    services.close(c, cw, "not_located", "적힌 위치에서 찾지 못함")
    db.session.commit()
    b.login(client, cw)
    page = client.get(f"/concerns/{c.id}").get_data(as_text=True)
    assert f"/households/new?link_concern={c.id}" not in page and 'name="hq"' not in page


def test_merging_into_a_closed_concern_names_the_closed_one(app, client, d, cw):
    closed = db.session.get(Concern, b.observation(b.household(d, unit="1층")).concern_id)
    services.close(closed, cw, "no_concern", "")
    src_id = _citizen_report(d).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{src_id}/merge", data={"target_id": closed.id}, follow_redirects=True)
    assert f"병합할 건(#{closed.id})은 이미 종결되었습니다." in r.get_data(as_text=True)
    assert _reload(src_id).is_open


def test_changing_urgency_to_the_same_one_says_nothing_changed_and_keeps_the_reason(app, client, d, cw):
    c_id = b.observation(b.household(d), urgency="urgent").concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/urgency", data={"urgency": "urgent", "reason": "이웃 추가 제보 확인"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "긴급도를 변경했습니다" not in page
    assert "긴급도가 이미 긴급입니다. 바뀐 것이 없습니다." in page
    assert 'value="이웃 추가 제보 확인"' in page


def test_year_one_in_the_contact_time_is_a_form_error(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "at": "0001-01-01T00:00",
                                                        "note": "메모"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "1년보다 더 이전의 시간입니다." in page and "메모" in page
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "at": "9999-12-31T23:59"})
    assert r.status_code == 400 and "미래" in r.get_data(as_text=True)


def test_year_one_in_a_reports_seen_at_is_a_form_error(app, client, d):
    leader = b.user("tong_leader", [d])
    db.session.commit()
    b.login(client, leader)
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "송산로 1", "urgency": "routine",
                                         "signals": ["mail_piling"], "client_token": "y1",
                                         "seen_at": "0001-01-01T00:00"})
    assert r.status_code == 400
    assert "1년보다 더 이전의 시간입니다." in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0


def test_the_team_page_says_not_yet_closed_for_all_open_statuses(app, client, d, cw):
    lead = b.user("team_lead", [d])
    c = db.session.get(Concern, b.observation(b.household(d)).concern_id)
    services.acknowledge(c, cw)
    db.session.commit()
    b.login(client, lead)
    page = client.get("/concerns/team").get_data(as_text=True)
    assert "<th>미종결</th>" in page and "담당 주무관별 미종결·기한 초과 건" in page
    assert "<th>진행 중</th>" not in page


def test_a_refused_close_shows_the_page_again_with_the_note_typed(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/close", data={"outcome": "monitoring", "note": "", "confirmed": "1"})
    assert _reload(c_id).status == "monitoring"
    events = db.session.scalar(select(func.count()).select_from(ConcernEvent)
                               .where(ConcernEvent.concern_id == c_id))

    note = "12월 방문 때 보일러 고장 확인, 구청 연계 예정"
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "monitoring", "note": note})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "이 가구는 이미 정기 모니터링 대상입니다." in page
    assert f"{note}</textarea>" in _close_outcomes(page)
    assert '<details class="action-block" open>\n    <summary>종결' in page

    # A refusal of the form itself (an outcome that is not offered) keeps the note too.
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "case_opened", "note": note})
    assert r.status_code == 400
    assert f"{note}</textarea>" in _close_outcomes(r.get_data(as_text=True))

    c = _reload(c_id)
    assert c.status == "monitoring" and c.outcome == "monitoring"
    assert db.session.scalar(select(func.count()).select_from(ConcernEvent)
                             .where(ConcernEvent.concern_id == c_id)) == events
