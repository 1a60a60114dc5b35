"""QA findings on integrated cases: refused forms keep what was typed, closure approval, aftercare results,
the overdue filter, the case history and the monthly review."""
from __future__ import annotations

import html as htmllib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from volnet.cases import services as svc
from volnet.cases.models import Case, CaseConference, CaseGoal, CaseNeed, ClosureRequest, ServiceLinkage
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Monday in Seoul


@pytest.fixture
def s(app):
    clock.freeze(T0)
    d = b.dong()
    return {
        "dong": d,
        "cw": b.user("caseworker", [d], name="김민수"),
        "cw2": b.user("caseworker", [d], name="이서연"),
        "lead": b.user("team_lead", [d], name="박지현"),
        "nurse": b.user("nurse", [d], name="최은정"),
        "household": b.household(d, name="김영희", phone="01012345678"),
    }


def _block(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start:page.index("</section>", start)]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- 3. refused forms keep what was typed

def test_a_refused_conference_shows_the_page_again_with_what_was_typed(s, client):
    case = cb.case(s["cw"], s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    attendees = "김민수 (송산3동)\n박지현 팀장\n정신건강복지센터 상담사"
    r = client.post(f"/cases/{case.id}/conferences", data={
        "held_on": "2026-03-25", "attendees": attendees, "decisions": "주 1회 방문 상담, 반찬 배달 연계",
        "agencies": ["mental_health_centre"], "task1": "첫 방문 일정 잡기", "owner1": "상담사", "due1": "2026-03-12"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "사례회의 날짜는 미래일 수 없습니다" in page
    block = htmllib.unescape(_block(page, "conferences"))
    assert '<details class="action-block" open>' in block
    assert attendees in block and "주 1회 방문 상담, 반찬 배달 연계" in block and "첫 방문 일정 잡기" in block
    assert 'value="2026-03-25"' in block
    assert _count(CaseConference) == 0


def test_refused_assessment_need_goal_and_linkage_keep_what_was_typed(s, client):
    case = cb.case(s["cw"], s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    url = f"/cases/{case.id}"
    # The assessment before any need: refused, the summary kept.
    r = client.post(url + "/assessment", data={"crisis_level": "high", "note": "위기도 높음, 단전 예고"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "욕구를 하나 이상" in page and "위기도 높음, 단전 예고</textarea>" in page
    # A need without its description: refused with the field's error, the domain chosen kept.
    r = client.post(url + "/needs", data={"domain": "housing", "level": "high", "description": "  "})
    assert r.status_code == 400
    block = _block(r.get_data(as_text=True), "assessment")
    assert "<details class=\"action-block\" open>" in block and 'selected value="housing"' in block
    assert 'class="form-error"' in block
    assert _count(CaseNeed) == 0
    # A goal with a past target date: refused, the goal's text kept.
    r = client.post(url + "/goals", data={"domain": "economy", "text": "체납 관리비 해소", "target_on": "2026-01-01"})
    assert r.status_code == 400
    block = _block(r.get_data(as_text=True), "plan")
    assert "목표일은 지난 날짜일 수 없습니다" in r.get_data(as_text=True)
    assert 'value="체납 관리비 해소"' in block and 'value="2026-01-01"' in block
    assert _count(CaseGoal) == 0
    # A linkage with a bad amount: refused, the provider and the amount typed kept.
    for bad in ("-5", "1e9", "abc"):
        r = client.post(url + "/linkages", data={"sector": "private", "service_type": "food_bank",
                                                 "provider": "의정부 푸드뱅크", "status": "active",
                                                 "start_on": "2026-03-02", "value_won": bad})
        assert r.status_code == 400, bad
        block = _block(r.get_data(as_text=True), "linkages")
        assert "<details class=\"action-block\" open>" in block
        assert 'value="의정부 푸드뱅크"' in block and f'value="{bad}"' in block
    assert _count(ServiceLinkage) == 0


# ---------------------------------------------------------------- 8. the overdue filter

def test_the_overdue_filter_lists_a_case_whose_emergency_decision_is_overdue(s, client):
    late = cb.case(s["cw"], s["household"])
    svc.record_emergency(late, s["cw"], "livelihood", T0 - timedelta(hours=2))
    on_time = cb.case(s["cw"], b.household(s["dong"], road="경기도 의정부시 송산로 200", name="박철수"))
    svc.record_emergency(on_time, s["cw"], "medical", T0)
    db.session.commit()
    clock.advance(timedelta(hours=47))  # the first decision was due 46 hours after T0; the steps are not late
    b.login(client, s["lead"])
    page = client.get("/cases/?overdue=1").get_data(as_text=True)
    assert f'href="/cases/{late.id}"' in page and "김영희" in page
    assert "박철수" not in page
    assert "결정 기한 지남" in page
    full = client.get("/cases/").get_data(as_text=True)
    assert full.count("결정 기한 지남") == 1  # the list marks the late one only


def test_the_overdue_filter_lists_a_closed_case_whose_aftercare_check_was_not_made(s, client):
    forgotten = cb.case(s["cw"], s["household"])
    done = cb.case(s["cw"], b.household(s["dong"], road="경기도 의정부시 송산로 200", name="박철수"))
    checks = {c.id: svc.close_case(c, s["lead"], "stabilised", "안정") for c in (forgotten, done)}
    db.session.commit()
    clock.advance(timedelta(days=40))  # the 1-month checks are past their dates
    first_done = checks[done.id][0]
    svc.record_aftercare(done, first_done, s["cw"], "stable", "안부 확인")
    db.session.commit()
    b.login(client, s["lead"])
    page = client.get("/cases/?overdue=1").get_data(as_text=True)
    assert f'href="/cases/{forgotten.id}"' in page and "사후관리 점검 기한 지남" in page
    assert "박철수" not in page
    assert "사후관리 점검 기한 지남" not in client.get("/cases/?overdue=1&status=open").get_data(as_text=True)


# ---------------------------------------------------------------- 11. the case history and the monthly review

def _to_service(case, actor):
    svc.add_need(case, actor, "economy", "high", "관리비 체납")
    svc.record_assessment(case, actor, "high")
    svc.record_selection(case, actor, "selected")
    svc.add_goal(case, actor, "economy", "체납 관리비 해소", None)
    svc.record_plan(case, actor, "푸드뱅크 연계, 월 1회 사례회의")


def test_the_case_page_shows_the_case_history(s, client):
    case = cb.case(s["cw"], s["household"])
    link = cb.linkage(case, s["cw"], 150000, date(2026, 3, 2))
    db.session.commit()
    b.login(client, s["lead"])
    client.post(f"/cases/{case.id}/owner", data={"owner_id": s["cw2"].id})
    client.post(f"/cases/{case.id}/linkages/{link.id}", data={"status": "ended"})
    client.post(f"/cases/{case.id}/needs", data={"domain": "housing", "level": "high", "description": "곰팡이"})
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    history = htmllib.unescape(_block(page, "history"))
    assert "사례 경과" in page
    assert "담당자를 이서연 님으로 변경" in history
    assert "서비스 연계 푸드뱅크 (의정부 푸드뱅크): 종료" in history
    assert "욕구 기록: 주거" in history
    assert f"위기 의심 건 #{case.concern_id}에서 사례 시작" in history
    assert history.count("박지현") == 3 and "김민수" in history  # who did what
    client.set_cookie("volnet_lang", "en")
    history = htmllib.unescape(_block(client.get(f"/cases/{case.id}").get_data(as_text=True), "history"))
    assert "Owner changed to 이서연" in history and "Need recorded: Housing" in history


def test_after_the_plan_a_monthly_review_is_due_and_counts_as_overdue(s, client):
    case = cb.case(s["cw"], s["household"])
    _to_service(case, s["cw"])
    db.session.commit()
    assert case.next_due_at == T0 + timedelta(days=30)
    b.login(client, s["cw"])
    steps = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "steps")
    assert "월례 점검(사례회의)" in steps and "2026. 4. 1.(수)" in steps
    assert f'href="/cases/{case.id}"' not in client.get("/cases/?overdue=1").get_data(as_text=True)
    clock.advance(timedelta(days=31))
    b.login(client, s["cw"])  # a month later: a new session
    steps = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "steps")
    assert "기한 초과" in steps
    assert f'href="/cases/{case.id}"' in client.get("/cases/?overdue=1").get_data(as_text=True)
    sent = svc.escalate_overdue(clock.now())
    assert [(x["user"], x["key"]) for x in sent] == [(s["cw"].id, f"case:{case.id}:review:2026-04-01:owner")]
    db.session.commit()
    # The conference held today: the next review is due a month on, and reminded again when missed.
    r = client.post(f"/cases/{case.id}/conferences", data={"held_on": "2026-04-02", "attendees": "김민수",
                                                           "decisions": "반찬 배달 계속"})
    assert r.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.next_due_at == clock.now() + timedelta(days=30) and not case.is_overdue()
    assert f'href="/cases/{case.id}"' not in client.get("/cases/?overdue=1").get_data(as_text=True)
    clock.advance(timedelta(days=31))
    sent = svc.escalate_overdue(clock.now())
    assert [(x["user"], x["key"]) for x in sent] == [(s["cw"].id, f"case:{case.id}:review:2026-05-02:owner")]
    b.login(client, s["cw"])
    assert "사례회의 기록" in _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "history")


# ---------------------------------------------------------------- 5. aftercare results act, and not too early

def _closed_case(s):
    case = cb.case(s["cw"], s["household"])
    checks = svc.close_case(case, s["lead"], "stabilised", "안정")
    db.session.commit()
    return case, checks


def _outbox(kind, user):
    from volnet.notifications.models import Outbox

    return db.session.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.recipient_id == user.id)).all()


def test_an_aftercare_check_cannot_be_recorded_long_before_it_is_due(s, client):
    case, checks = _closed_case(s)  # the 1-month check is due 2026-04-02
    b.login(client, s["cw"])
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert "2026. 3. 26.(목)부터 기록할 수 있습니다" in block and f"/aftercare/{checks[0].id}" not in block
    r = client.post(f"/cases/{case.id}/aftercare/{checks[0].id}", data={"outcome": "needs_support",
                                                                        "note": "다시 단전됨, 도움 필요"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "2026. 4. 2.(목)" in page and "2026. 3. 26.(목)부터 기록할 수 있습니다" in page
    assert 'value="다시 단전됨, 도움 필요"' in page  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(svc.AftercareCheck, checks[0].id).done_at is None
    assert _count(Concern) == 1  # only the concern the case came from (closed)


def test_aftercare_needs_support_opens_an_urgent_concern_and_tells_the_owner(s, client):
    case, checks = _closed_case(s)
    clock.freeze(datetime(2026, 4, 2, 1, 0, tzinfo=UTC))
    b.login(client, s["cw2"])  # not the case's owner
    r = client.post(f"/cases/{case.id}/aftercare/{checks[0].id}", data={"outcome": "needs_support",
                                                                        "note": "다시 단전됨, 도움 필요"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    concern = db.session.scalar(select(Concern).where(Concern.status != "closed"))
    assert concern is not None and concern.household_id == s["household"].id and concern.urgency == "urgent"
    assert f"위기 의심 건(#{concern.id})이 열려 있습니다" in page
    block = _block(page, "aftercare")
    assert "다시 지원 필요" in block and "이서연" in block and "2026. 4. 2.(목) 10:00" in block  # who and when
    obs = db.session.scalar(select(Observation).where(Observation.concern_id == concern.id))
    assert "다시 단전됨, 도움 필요" in obs.note and f"#{case.id}" in obs.note and obs.reporter_id == s["cw2"].id
    assert len(_outbox("aftercare_needs_support", s["cw"])) >= 1
    assert not _outbox("aftercare_needs_support", s["cw2"])


def test_aftercare_not_reached_raises_the_concern_and_tells_the_owner(s, client):
    case, checks = _closed_case(s)
    clock.freeze(datetime(2026, 4, 1, 1, 0, tzinfo=UTC))  # a day before it is due: within the week
    b.login(client, s["lead"])
    r = client.post(f"/cases/{case.id}/aftercare/{checks[0].id}", data={"outcome": "unreachable", "note": ""})
    assert r.status_code == 302
    concern = db.session.scalar(select(Concern).where(Concern.status != "closed"))
    assert concern is not None and concern.urgency == "routine"
    obs = db.session.scalar(select(Observation).where(Observation.concern_id == concern.id))
    assert obs.signals == ["unreachable"]
    assert len(_outbox("aftercare_unreachable", s["cw"])) >= 1
    # A stable result opens nothing.
    clock.freeze(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))
    b.login(client, s["lead"])
    client.post(f"/cases/{case.id}/aftercare/{checks[1].id}", data={"outcome": "stable", "note": ""})
    assert _count(Observation) == 2  # the case's first report and the unreachable one


# ---------------------------------------------------------------- 4. a team lead approves closures

def test_a_caseworker_s_closure_waits_for_the_team_lead_who_is_told(s, client):
    case = cb.case(s["cw2"], s["household"])  # 이서연's case
    link = cb.linkage(case, s["cw2"], 150000, date(2026, 2, 1))
    db.session.commit()
    case_id, link_id = case.id, link.id
    b.login(client, s["cw"])
    block = _block(client.get(f"/cases/{case_id}").get_data(as_text=True), "aftercare")
    assert "종결 요청" in block and "팀장이 종결을 승인합니다" in block
    r = client.post(f"/cases/{case_id}/close", data={"reason": "goals_achieved", "note": "목표 달성, 안정",
                                                     "end_linkages": "y"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "종결을 요청했습니다" in page
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "open"
    assert db.session.get(ServiceLinkage, link_id).status == "active"
    assert _count(svc.AftercareCheck) == 0
    req = db.session.scalar(select(ClosureRequest))
    assert (req.requested_by_id, req.reason, req.note, req.end_linkages, req.decided_at) == (
        s["cw"].id, "goals_achieved", "목표 달성, 안정", True, None)
    assert _outbox("case_closure_requested", s["lead"]) and _outbox("case_closure_requested", s["cw2"])  # and the owner
    block = _block(page, "aftercare")
    assert "팀장 승인 대기" in block and "목표 달성, 안정" in block and "김민수" in block
    assert "/closure/approve" not in block and f'action="/cases/{case_id}/close"' not in block
    # A caseworker cannot approve it, nor ask twice.
    assert client.post(f"/cases/{case_id}/closure/approve", data={}).status_code == 404
    r = client.post(f"/cases/{case_id}/close", data={"reason": "other", "note": ""})
    assert r.status_code == 400 and "이미 팀장 승인을 기다리는" in r.get_data(as_text=True)
    # The team lead sees it on the list and approves: the case closes as asked.
    client.post("/account/logout")
    b.login(client, s["lead"])
    listing = client.get("/cases/").get_data(as_text=True)
    assert "종결 요청" in listing
    r = client.post(f"/cases/{case_id}/closure/approve", data={}, follow_redirects=True)
    assert "종결을 승인했습니다" in r.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.status == "closed" and case.closure_reason == "goals_achieved" and case.closure_note == "목표 달성, 안정"
    assert db.session.get(ServiceLinkage, link_id).status == "ended"
    assert _count(svc.AftercareCheck) == 2
    assert db.session.scalar(select(ClosureRequest)).decision == "approved"
    assert _outbox("case_closure_approved", s["cw"])
    history = htmllib.unescape(_block(r.get_data(as_text=True), "history"))
    assert "종결 요청: 목표 달성" in history and "사례 종결: 목표 달성" in history


def test_a_team_lead_returns_a_closure_with_a_reason(s, client):
    case = cb.case(s["cw"], s["household"])
    svc.request_closure(case, s["cw"], "stabilised", "생계 안정")
    db.session.commit()
    case_id = case.id
    b.login(client, s["lead"])
    r = client.post(f"/cases/{case_id}/closure/return", data={"note": "  "})
    assert r.status_code == 400 and "이 항목은 필수입니다" in r.get_data(as_text=True)
    r = client.post(f"/cases/{case_id}/closure/return", data={"note": "정신건강복지센터 연계 결과 확인 후 종결"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "사례는 계속 진행됩니다" in page
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "open"
    assert db.session.scalar(select(ClosureRequest)).decision == "returned"
    assert _count(svc.AftercareCheck) == 0
    assert "종결 반려: 정신건강복지센터 연계 결과 확인 후 종결" in htmllib.unescape(_block(page, "history"))
    assert _outbox("case_closure_returned", s["cw"])
    # The caseworker sees the reason on the history and may ask again.
    client.post("/account/logout")
    b.login(client, s["cw"])
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "정신건강복지센터 연계 결과 확인 후 종결" in page and f'action="/cases/{case_id}/close"' in page


def test_a_team_lead_closes_their_own_case_at_once(s, client):
    case = cb.case(s["lead"], s["household"])
    db.session.commit()
    b.login(client, s["lead"])
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert "종결 요청" not in block
    r = client.post(f"/cases/{case.id}/close", data={"reason": "moved", "note": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closed" and _count(ClosureRequest) == 0


def test_the_closed_case_page_loads_who_recorded_the_aftercare_checks_with_them(s, client):
    case, checks = _closed_case(s)
    for check in checks:
        check.done_at, check.outcome, check.done_by_id = clock.now(), "stable", s["cw2"].id
    db.session.commit()
    b.login(client, s["cw"])
    sent, body = b.page_sql(client, f"/cases/{case.id}")
    assert _block(body, "aftercare").count("이서연") == 2
    assert [q for q in sent if "FROM users" in q and "WHERE users.id =" in q and "notification_outbox" not in q] == []
