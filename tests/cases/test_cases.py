"""Integrated case management: steps and due dates, linkages, closure, escalation and access."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from tests.conftest import csrf_token_from
from volnet.cases import services as svc
from volnet.cases.models import AftercareCheck, Case, CaseNote, ServiceLinkage
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Monday in Seoul


@pytest.fixture
def dong_staff(app):
    clock.freeze(T0)
    d = b.dong()
    return {
        "dong": d,
        "cw": b.user("caseworker", [d], name="김민수"),
        "lead": b.user("team_lead", [d], name="박지현"),
        "nurse": b.user("nurse", [d], name="최은정"),
        "household": b.household(d, name="김영희", phone="01012345678"),
    }


def test_caseworker_opens_a_case_from_a_concern(dong_staff, client):
    s = dong_staff
    concern = cb.concern_for(s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    r = client.post(f"/cases/from-concern/{concern.id}", data={"summary": "고독사 위험, 관리비 체납"})
    assert r.status_code == 302
    case = db.session.scalar(select(Case))
    assert r.headers["Location"].endswith(f"/cases/{case.id}")
    db.session.refresh(concern)
    assert concern.status == "closed" and concern.outcome == "case_opened"
    assert (case.concern_id, case.household_id, case.owner_id) == (concern.id, s["household"].id, s["cw"].id)
    assert case.step == "assessment"
    assert case.assessment_due_at == T0 + timedelta(days=10)
    assert case.total_due_at == T0 + timedelta(days=30)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "김영희" in page and "고독사 위험" in page
    # Opening again from the (now closed) concern is refused with a message, nothing new saved.
    r = client.post(f"/cases/from-concern/{concern.id}", data={}, follow_redirects=True)
    assert "이미 종결된 건입니다" in r.get_data(as_text=True)  # Korean first
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_concern_without_a_household_cannot_become_a_case(dong_staff):
    from volnet.observations import services as obs_svc
    from volnet.observations.models import Observation

    s = dong_staff
    obs, _ = obs_svc.submit(Observation(dong_id=s["dong"].id, source="citizen", signals=["smell_insects"],
                                        location_text="골목 끝 빌라"), None)
    concern = db.session.get(Concern, obs.concern_id)
    with pytest.raises(svc.CaseError):
        svc.open_case(concern, s["cw"])


def test_step_due_dates_follow_the_guidelines(dong_staff):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    # Assessment needs at least one need.
    with pytest.raises(svc.CaseError):
        svc.record_assessment(case, s["cw"], "high")
    clock.advance(timedelta(days=3))
    svc.add_need(case, s["cw"], "economy", "high", "관리비 4개월 체납")
    svc.add_need(case, s["cw"], "health", "medium", "당뇨, 병원 동행 필요")
    svc.record_assessment(case, s["cw"], "high", "위기도 높음")
    assert case.step == "selection"
    assert case.selection_due_at == T0 + timedelta(days=3 + 5)
    assert case.next_due_at == case.selection_due_at
    # Steps in the wrong order are refused.
    with pytest.raises(svc.CaseError):
        svc.record_plan(case, s["cw"], "계획")
    clock.advance(timedelta(days=4))
    svc.record_selection(case, s["cw"], "selected")
    assert case.step == "planning"
    assert case.plan_due_at == T0 + timedelta(days=7 + 15)
    with pytest.raises(svc.CaseError):  # a plan needs at least one goal
        svc.record_plan(case, s["cw"], "계획")
    svc.add_goal(case, s["cw"], "economy", "체납 관리비 해소", date(2026, 6, 30))
    svc.record_plan(case, s["cw"], "긴급생계 신청, 푸드뱅크 연계, 월 1회 사례회의")
    assert case.step == "service" and case.next_due_at == clock.now() + timedelta(days=30)  # the monthly review


def test_every_step_is_capped_at_thirty_days_in_all(dong_staff):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    clock.advance(timedelta(days=20))  # the assessment is 10 days late
    svc.add_need(case, s["cw"], "housing", "high", "")
    svc.record_assessment(case, s["cw"], "crisis")
    assert case.selection_due_at == T0 + timedelta(days=25)
    clock.advance(timedelta(days=4))
    svc.record_selection(case, s["cw"], "selected")
    # 24 + 15 = 39 days, but the whole process is due within 30 days of intake.
    assert case.plan_due_at == T0 + timedelta(days=30)


def test_settings_change_the_due_dates(dong_staff):
    from volnet.settings import services as settings

    s = dong_staff
    settings.put("cases.due.assessment", "7d")
    case = cb.case(s["cw"], s["household"])
    assert case.assessment_due_at == T0 + timedelta(days=7)


def test_not_selected_closes_without_aftercare(dong_staff):
    """Recorded by a team lead, "not selected" closes the case (no aftercare); recorded by a caseworker, it is
    a closure request the team lead approves, as every closure is (DOMAIN.md)."""
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    svc.add_need(case, s["cw"], "economy", "low", "")
    svc.record_assessment(case, s["cw"], "low")
    assert svc.record_selection(case, s["lead"], "not_selected", "단순 서비스 연계로 충분") == "closed"
    assert case.status == "closed" and case.closure_reason == "not_selected"
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(AftercareCheck)) == 0


def test_a_caseworker_s_not_selected_waits_for_the_team_lead(dong_staff, client):
    from volnet.cases.models import ClosureRequest

    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    svc.add_need(case, s["cw"], "economy", "low", "")
    svc.record_assessment(case, s["cw"], "low")
    db.session.commit()
    b.login(client, s["cw"])
    r = client.post(f"/cases/{case.id}/selection", data={"decision": "not_selected", "note": "연계로 충분"},
                    follow_redirects=True)
    assert "대상자 미선정: 사례 종결은 팀장의 승인을 기다립니다." in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "open"
    req = db.session.scalar(select(ClosureRequest).where(ClosureRequest.case_id == case.id))
    assert req is not None and req.reason == "not_selected" and req.decided_at is None
    svc.approve_closure(db.session.get(Case, case.id), s["lead"])
    assert db.session.get(Case, case.id).status == "closed"


def test_closure_schedules_aftercare_at_one_and_three_months(dong_staff):
    s = dong_staff
    clock.freeze(datetime(2026, 1, 31, 3, 0, tzinfo=UTC))  # 31 January in Seoul
    case = cb.case(s["cw"], s["household"])
    checks = svc.close_case(case, s["cw"], "goals_achieved", "목표 달성")
    assert [(c.months, c.due_on) for c in checks] == [(1, date(2026, 2, 28)), (3, date(2026, 4, 30))]
    with pytest.raises(svc.CaseError):
        svc.add_linkage(case, s["cw"], sector="public", service_type="voucher", provider="x", status="active",
                        start_on=date(2026, 2, 1), end_on=None, value_won=1)


def test_emergency_support_has_a_48_hour_decision_clock(dong_staff):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    es = svc.record_emergency(case, s["cw"], "livelihood", T0 - timedelta(hours=2))
    assert es.decision_due_at == T0 + timedelta(hours=46)
    db.session.flush()
    clock.advance(timedelta(hours=47))
    sent = svc.escalate_overdue(clock.now())
    kinds = {(x["user"], x["kind"]) for x in sent}
    assert (s["cw"].id, "emergency_decision_overdue") in kinds and (s["lead"].id, "emergency_decision_overdue") in kinds
    assert not [x for x in svc.escalate_overdue(clock.now()) if x["kind"] == "emergency_decision_overdue"]
    svc.decide_emergency(case, es, s["cw"], "approved", 730000)
    assert es.decision == "approved" and es.amount_won == 730000
    with pytest.raises(svc.CaseError):
        svc.decide_emergency(case, es, s["cw"], "denied")


def test_overdue_steps_remind_the_owner_then_the_team_lead(dong_staff):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    db.session.flush()
    assert svc.escalate_overdue(T0 + timedelta(days=9)) == []
    clock.advance(timedelta(days=10, minutes=1))
    sent = svc.escalate_overdue(clock.now())
    assert [(x["user"], x["kind"]) for x in sent] == [(s["cw"].id, "case_step_overdue")]
    assert svc.escalate_overdue(clock.now()) == []  # deduped
    clock.advance(timedelta(days=2))
    sent = svc.escalate_overdue(clock.now())
    assert [(x["user"], x["kind"]) for x in sent] == [(s["lead"].id, "case_step_overdue_lead")]
    assert svc.escalate_overdue(clock.now() + timedelta(days=5)) == []
    # The next step starts a new chain.
    svc.add_need(case, s["cw"], "safety", "high", "")
    svc.record_assessment(case, s["cw"], "high")
    clock.advance(timedelta(days=6))
    sent = svc.escalate_overdue(clock.now())
    assert [(x["user"], x["key"]) for x in sent] == [(s["cw"].id, f"case:{case.id}:selection:owner")]


def test_escalation_writes_outbox_rows(dong_staff):
    from tests.conftest import need
    from volnet.cases import alerting

    if not alerting.available():
        need("volnet.notifications.services (notify) is not installed yet")
    from volnet.notifications import models as nmodels

    s = dong_staff
    cb.case(s["cw"], s["household"])
    db.session.flush()
    outbox = next(getattr(nmodels, n) for n in dir(nmodels) if n.lower() in ("outbox", "outboxmessage", "notification"))
    before = db.session.scalar(select(func.count()).select_from(outbox))
    svc.escalate_overdue(T0 + timedelta(days=13))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(outbox)) > before


def _form_post(client, url, page_url, data):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=True)


def test_linkage_value_is_validated(dong_staff, client, app):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    app.config["WTF_CSRF_ENABLED"] = True
    page = f"/cases/{case.id}"
    base = {"sector": "private", "service_type": "food_bank", "provider": "의정부 푸드뱅크", "status": "active",
            "start_on": "2026-03-02", "end_on": "", "note": ""}
    client.set_cookie("volnet_lang", "en")  # the messages checked below in English; Korean is tested elsewhere
    for bad, message in (("-5000", "cannot be negative"), ("abc", "whole number"), ("1.5", "whole number"),
                         ("", "Enter the value"), ("99999999999999", "too large")):
        r = _form_post(client, f"/cases/{case.id}/linkages", page, {**base, "value_won": bad})
        assert r.status_code == 400 and message in r.get_data(as_text=True), bad
    r = _form_post(client, f"/cases/{case.id}/linkages", page, {**base, "value_won": "1", "start_on": "2024-02-30"})
    assert "Enter a real date" in r.get_data(as_text=True)
    r = _form_post(client, f"/cases/{case.id}/linkages", page, {**base, "value_won": "1", "end_on": "2026-03-01"})
    assert "before the start" in r.get_data(as_text=True)
    r = _form_post(client, f"/cases/{case.id}/linkages", page, {**base, "sector": "mafia", "value_won": "1"})
    assert "Choose one of the offered options" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ServiceLinkage)) == 0
    r = _form_post(client, f"/cases/{case.id}/linkages", page, {**base, "value_won": "1,250,000"})
    assert "Service linkage added" in r.get_data(as_text=True) and "1,250,000" in r.get_data(as_text=True)
    link = db.session.scalar(select(ServiceLinkage))
    assert link.value_won == 1250000 and link.household_id == s["household"].id
    r = client.post(f"/cases/{case.id}/linkages", data={**base, "value_won": "5"})  # no CSRF token
    assert db.session.scalar(select(func.count()).select_from(ServiceLinkage)) == 1


def test_service_won_validation_rejects_non_integers():
    with pytest.raises(svc.CaseError):
        svc.validate_won(-1)
    with pytest.raises(svc.CaseError):
        svc.validate_won(1.5)
    with pytest.raises(svc.CaseError):
        svc.validate_won(True)
    assert svc.validate_won(0) == 0


def test_notes_and_conferences_are_for_caseworkers_and_team_leads(dong_staff, client):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    svc.add_note(case, s["cw"], "아드님과 연락 두절, 우울감 호소")
    svc.add_conference(case, s["cw"], held_on=date(2026, 3, 2), attendees="김민수 (동 주민센터)\n정신건강복지센터 상담사",
                       agencies=["mental_health_centre"], decisions="정신건강복지센터 주 1회 방문 상담",
                       tasks=[("상담 연계", "정신건강복지센터", date(2026, 3, 12))])
    db.session.commit()
    b.login(client, s["nurse"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "김영희" in page  # the nurse reads the case
    assert "우울감 호소" not in page and "주 1회 방문 상담" not in page and "Case notes" not in page
    r = client.post(f"/cases/{case.id}/notes", data={"text": "간호사 메모"})
    assert r.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 1
    client.post("/account/logout")
    b.login(client, s["lead"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "우울감 호소" in page and "주 1회 방문 상담" in page and "상담 연계" in page


def test_other_dongs_and_neighbourhood_roles_get_404(dong_staff, client):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    other = b.dong()
    outsider = b.user("caseworker", [other])
    volunteer = b.user("volunteer", [s["dong"]])
    db.session.commit()
    for who in (outsider, volunteer):
        b.login(client, who)
        assert client.get(f"/cases/{case.id}").status_code == 404
        assert client.post(f"/cases/{case.id}/notes", data={"text": "x"}).status_code == 404
        assert client.post(f"/cases/{case.id}/close", data={"reason": "other"}).status_code == 404
        client.post("/account/logout")
    b.login(client, outsider)
    assert "김영희" not in client.get("/cases/?status=all").get_data(as_text=True)
    assert client.get("/cases/abc").status_code == 404
    assert client.get("/cases/99999999999999999999").status_code == 404


def test_case_walkthrough_through_the_pages(dong_staff, client):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    client.set_cookie("volnet_lang", "en")  # the walkthrough reads the English texts
    url = f"/cases/{case.id}"
    r = client.post(url + "/assessment", data={"crisis_level": "high"}, follow_redirects=True)
    assert "at least one need" in r.get_data(as_text=True)
    client.post(url + "/needs", data={"domain": "economy", "level": "high", "description": "관리비 체납"})
    r = client.post(url + "/assessment", data={"crisis_level": "high", "note": ""}, follow_redirects=True)
    assert "Selection is next" in r.get_data(as_text=True)
    client.post(url + "/selection", data={"decision": "selected"})
    client.post(url + "/goals", data={"domain": "economy", "text": "체납 해소", "target_on": ""})
    r = client.post(url + "/plan", data={"plan_text": "푸드뱅크, 긴급생계"}, follow_redirects=True)
    assert "Service plan completed" in r.get_data(as_text=True)
    r = client.post(url + "/close", data={"reason": "goals_achieved", "note": "안정"}, follow_redirects=True)
    assert "Closure requested" in r.get_data(as_text=True)  # the team lead approves it
    client.post("/account/logout")
    b.login(client, s["lead"])
    client.set_cookie("volnet_lang", "en")
    r = client.post(url + "/closure/approve", data={}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Aftercare after 1 months" in page
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closed"
    checks = list(db.session.scalars(select(AftercareCheck).order_by(AftercareCheck.months)))
    clock.freeze(datetime(2026, 3, 30, 1, 0, tzinfo=UTC))  # the 1-month check (due 2026-04-02) can be recorded
    b.login(client, s["cw"])
    client.set_cookie("volnet_lang", "en")
    r = client.post(url + f"/aftercare/{checks[0].id}", data={"outcome": "stable", "note": "잘 지내심"},
                    follow_redirects=True)
    assert "Aftercare check recorded" in r.get_data(as_text=True)
    r = client.post(url + "/aftercare/999999", data={"outcome": "stable"})
    assert r.status_code == 404


def test_the_case_page_loads_its_household_and_owner_with_it(dong_staff, client):
    from tests.cases import builders as cb

    case_obj = cb.case(dong_staff["lead"], dong_staff["household"])
    case_obj.owner_id = dong_staff["cw"].id
    db.session.commit()
    case_id = case_obj.id
    b.login(client, dong_staff["lead"])
    sent, body = b.page_sql(client, f"/cases/{case_id}")
    assert "김영희" in body and "김민수" in body
    assert [s for s in sent if s.lstrip().upper().startswith("SELECT HOUSEHOLDS")] == []
    assert [s for s in sent if "FROM users" in s and "WHERE users.id =" in s and "notification_outbox" not in s] == []


def test_the_emergency_decision_clock_is_the_admin_setting_and_the_message_says_when(dong_staff, client):
    # The admin's "Emergency: support decision within" (due.emergency.action) times the decision; the
    # message and the form's hint give that time, not a fixed "48 hours".
    from volnet.settings import services as settings

    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    settings.put(svc.EMERGENCY_DECISION, "24h")
    db.session.commit()
    b.login(client, s["cw"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "신고 후 24시간 안에" in page and "48시간" not in page
    r = client.post(f"/cases/{case.id}/emergency", data={"kind": "livelihood", "reported_at": ""},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    es = db.session.scalar(select(svc.EmergencySupport))
    assert es.decision_due_at == T0 + timedelta(hours=24)
    assert "2026. 3. 3.(화) 10:00까지" in html and "48시간" not in html


def test_case_open_message_gives_the_due_date_in_korean_form(dong_staff, client):
    s = dong_staff
    concern = cb.concern_for(s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    r = client.post(f"/cases/from-concern/{concern.id}", data={"summary": ""}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "2026. 3. 12.(목)" in html and "2026-03-12" not in html


def test_the_concern_names_its_case_in_the_reader_s_language(dong_staff, client):
    s = dong_staff
    concern = cb.concern_for(s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    client.post(f"/cases/from-concern/{concern.id}", data={"summary": ""})
    case = db.session.scalar(select(Case))
    ko = client.get(f"/concerns/{concern.id}").get_data(as_text=True)
    assert f"통합사례 #{case.id}" in ko and f'href="/cases/{case.id}"' in ko
    client.post("/lang", data={"lang": "en", "next": "/"})
    en = client.get(f"/concerns/{concern.id}").get_data(as_text=True)
    assert f"Integrated case #{case.id}" in en and "통합사례" not in en


def test_a_closed_case_refuses_linkage_changes_and_new_conferences(dong_staff, client):
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    link = cb.linkage(case, s["cw"], 10, date(2026, 3, 1))
    svc.close_case(case, s["cw"], "goals_achieved", "", end_linkages=True)
    db.session.commit()
    b.login(client, s["cw"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/linkages/{link.id}" not in page and f"/cases/{case.id}/conferences" not in page
    r = client.post(f"/cases/{case.id}/linkages/{link.id}", data={"status": "planned"}, follow_redirects=True)
    assert "종결된 사례입니다" in r.get_data(as_text=True)
    db.session.refresh(link)
    assert link.status == "ended"
    r = client.post(f"/cases/{case.id}/conferences", data={"held_on": "2026-03-02", "attendees": "김민수",
                                                           "decisions": "종결 후 회의"}, follow_redirects=True)
    assert "종결된 사례입니다" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(svc.CaseConference)) == 0
    # Aftercare notes stay possible.
    r = client.post(f"/cases/{case.id}/notes", data={"text": "1개월 사후 점검 전화"}, follow_redirects=True)
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 1


def test_dates_out_of_range_are_refused(dong_staff, client):
    s = dong_staff  # today in Seoul: 2026-03-02
    case = cb.case(s["cw"], s["household"])
    db.session.commit()
    b.login(client, s["cw"])
    conf = {"attendees": "김민수", "decisions": "지원 계획 논의"}
    r = client.post(f"/cases/{case.id}/conferences", data={**conf, "held_on": "2030-01-01"}, follow_redirects=True)
    assert "사례회의 날짜는 미래일 수 없습니다" in r.get_data(as_text=True)
    client.post(f"/cases/{case.id}/conferences", data={**conf, "held_on": "2026-03-02"})
    assert db.session.scalar(select(func.count()).select_from(svc.CaseConference)) == 1
    link = {"sector": "public", "service_type": "food_bank", "provider": "푸드뱅크", "status": "active",
            "value_won": "1000000"}
    r = client.post(f"/cases/{case.id}/linkages", data={**link, "start_on": "2099-12-04"}, follow_redirects=True)
    assert "1년 넘게" in r.get_data(as_text=True)
    client.post(f"/cases/{case.id}/linkages", data={**link, "start_on": "2027-03-01"})  # within a year
    assert db.session.scalar(select(func.count()).select_from(ServiceLinkage)) == 1
    r = client.post(f"/cases/{case.id}/goals", data={"domain": "economy", "text": "체납 해소", "target_on": "1999-01-01"},
                    follow_redirects=True)
    assert "목표일은 지난 날짜일 수 없습니다" in r.get_data(as_text=True)
    client.post(f"/cases/{case.id}/goals", data={"domain": "economy", "text": "체납 해소", "target_on": "2026-03-02"})
    assert db.session.scalar(select(func.count()).select_from(svc.CaseGoal)) == 1


def _close_block(page: str) -> str:
    """The close form's part of the case page."""
    start = page.index('id="aftercare"')
    return page[start:page.index("</section>", start)]


def test_closing_a_case_asks_about_the_linkages_still_provided_and_ends_them_when_chosen(dong_staff, client):
    # A case is closed with its services settled: the close form lists the linkages still planned or being
    # provided; closing without choosing to end them is refused with a message naming them (the summary
    # written is kept, nothing changes); with the choice the case closes, the linkage being provided ends
    # on the closing date and the planned one is cancelled.
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    food = cb.linkage(case, s["cw"], 150000, date(2026, 2, 1))
    dishes = cb.linkage(case, s["cw"], 0, date(2026, 3, 20), sector="volunteer", service_type="side_dishes",
                        status="planned", provider="송산종합사회복지관")
    done = cb.linkage(case, s["cw"], 5000, date(2026, 2, 1), service_type="voucher", provider="끝난 바우처")
    svc.set_linkage_status(case, done, s["cw"], "ended", date(2026, 2, 20))
    db.session.commit()
    case_id, food_id, dishes_id = case.id, food.id, dishes.id
    b.login(client, s["lead"])  # a team lead closes at once (a caseworker's closure waits for one)
    block = _close_block(client.get(f"/cases/{case_id}").get_data(as_text=True))
    assert "의정부 푸드뱅크" in block and "송산종합사회복지관" in block and "끝난 바우처" not in block
    assert 'name="end_linkages"' in block

    summary = "생계 안정, 정기 모니터링으로 전환"
    r = client.post(f"/cases/{case_id}/close", data={"reason": "stabilised", "note": summary})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "아직 예정이거나 제공 중인 서비스 연계가 있습니다" in html
    assert "푸드뱅크 (의정부 푸드뱅크)" in html and "반찬 배달 (송산종합사회복지관)" in html
    assert f"{summary}</textarea>" in _close_block(html)
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "open"
    assert [(lk.status, lk.end_on) for lk in (db.session.get(ServiceLinkage, food_id),
                                             db.session.get(ServiceLinkage, dishes_id))] == [("active", None),
                                                                                          ("planned", None)]
    assert db.session.scalar(select(func.count()).select_from(AftercareCheck)) == 0

    r = client.post(f"/cases/{case_id}/close", data={"reason": "stabilised", "note": summary, "end_linkages": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "closed"
    food, dishes = db.session.get(ServiceLinkage, food_id), db.session.get(ServiceLinkage, dishes_id)
    assert (food.status, food.end_on) == ("ended", date(2026, 3, 2))  # the closing date in Seoul
    assert (dishes.status, dishes.end_on) == ("cancelled", None)
    assert db.session.scalar(select(func.count()).select_from(AftercareCheck)) == 2
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "2026. 2. 1.(일) – 2026. 3. 2.(월)" in page


def test_a_case_with_an_undecided_emergency_support_is_not_closed(dong_staff, client):
    # The emergency support decision is due whatever happens to the case: closing waits for it.
    s = dong_staff
    case = cb.case(s["cw"], s["household"])
    es = svc.record_emergency(case, s["cw"], "livelihood", T0 - timedelta(hours=2))
    db.session.commit()
    case_id, es_id = case.id, es.id
    b.login(client, s["lead"])
    block = _close_block(client.get(f"/cases/{case_id}").get_data(as_text=True))
    assert "결정이 기록되지 않은 긴급복지지원이 있습니다" in block and 'href="#emergency"' in block
    r = client.post(f"/cases/{case_id}/close", data={"reason": "moved", "note": "", "end_linkages": "y"})
    assert r.status_code == 400
    assert "2026. 3. 2.(월) 08:00에 신고된 긴급복지지원(생계지원)의 결정이 아직 없습니다" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "open"
    client.post(f"/cases/{case_id}/emergency/{es_id}", data={"decision": "referred", "amount_won": "0", "note": ""})
    r = client.post(f"/cases/{case_id}/close", data={"reason": "moved", "note": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "closed"


def test_an_overdue_step_is_named_in_each_reader_s_language(dong_staff):
    """The step is stored as its code: the caseworker reading English and the team lead reading Korean each
    see its name in their language, whatever language the sweep ran in."""
    from volnet.notifications.models import Outbox

    s = dong_staff
    s["cw"].locale, s["lead"].locale = "en", "ko"
    case = cb.case(s["cw"], s["household"])
    db.session.flush()
    clock.advance(timedelta(days=12, minutes=1))
    svc.escalate_overdue(clock.now())
    db.session.flush()
    body = {r.recipient_id: r.body for r in db.session.scalars(
        select(Outbox).where(Outbox.kind.in_(["case_step_overdue", "case_step_overdue_lead"]),
                             Outbox.channel == "inapp"))}
    assert "Needs and crisis assessment" in body[s["cw"].id] and f"#{case.id}" in body[s["cw"].id]
    assert "욕구·위기도 조사" in body[s["lead"].id] and "Needs and crisis" not in body[s["lead"].id]
