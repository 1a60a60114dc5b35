"""A deletion request for a household with an integrated case, safety calls and screenings: the content of
every record goes (or the record itself where nothing needs it), the counts stay; an open case blocks it."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from volnet.calls import services as calls
from volnet.calls.models import CallRecord
from volnet.cases import services as cases
from volnet.cases.models import Case, CaseConference, CaseNeed, CaseNote, EmergencySupport
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.privacy.models import PrivacyRequest
from volnet.reports import services as reports
from volnet.risk.models import CrisisRow, Screening, TierChange

SECRETS = ("자살·자해 언급", "위기도 높음 우울", "당뇨, 혼자 병원 가기 어려움", "정신건강복지센터 상담 연계",
           "아드님과 10년째 연락 없음", "긴급 생계비 메모", "통화 메모 우울감", "등급 변경 사유", "회의 결정 사항",
           "명단 확인 메모", "김순자")


def _household_with_everything(d, cw):
    h = b.household(d, name="김순자", phone="01055556666", road="경기도 의정부시 민락로 106")
    case = cb.case(cw, h, summary="자살·자해 언급")
    cases.add_need(case, cw, "health", "high", "당뇨, 혼자 병원 가기 어려움")
    case.assessment_note, case.crisis_level, case.plan_text = "위기도 높음 우울", "high", "정신건강복지센터 상담 연계"
    cases.add_note(case, cw, "아드님과 10년째 연락 없음, 우울감 호소")
    cases.record_emergency(case, cw, "livelihood", note="긴급 생계비 메모")
    db.session.add(CaseConference(case_id=case.id, held_on=clock.seoul_today(), attendees="김민수\n보건소",
                                  decisions="회의 결정 사항"))
    cb.linkage(case, cw, 300000, clock.seoul_today())
    enr = calls.enroll(cw, h, b.user("volunteer", [d]), None)
    db.session.add(CallRecord(enrollment_id=enr.id, household_id=h.id, dong_id=d.id, caller_id=cw.id,
                              outcome="connected_concern", distress=True, arrears_2m=True, meals="poor",
                              note="통화 메모 우울감"))
    db.session.add_all([
        Screening(household_id=h.id, dong_id=d.id, kind="mohw", answers={"suicidal_thought": 2}, total=12,
                  level="high", by_id=cw.id, note="선별 메모"),
        TierChange(household_id=h.id, from_tier="unassessed", to_tier="intensive", reason="등급 변경 사유",
                   by_id=cw.id),
        CrisisRow(round_id=1, row_number=1, natural_key="k", household_id=h.id, name="김순자", unit="302호",
                  phone="01055556666", codes="단전", check_note="명단 확인 메모")])
    db.session.flush()
    return h, case, enr


def _request(client, h, kind):
    return client.post("/privacy/requests", data={"household_id": h.id, "kind": kind, "confirm": "y",
                                                  "reason": "본인 요청, 신분증 확인"})


def test_erasure_removes_the_content_of_the_case_calls_and_screenings_and_keeps_the_counts(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    h, case, enr = _household_with_everything(d, cw)
    db.session.commit()
    today = clock.seoul_today()
    month = (today - timedelta(days=40), today + timedelta(days=1))

    # While the case is open (and the safety calls go on) the request is refused, and says why.
    b.login(client, admin)
    r = _request(client, h, "erase")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and f"#{case.id}" in page and "안심" in page and "아무것도 바꾸지 않았습니다" in page
    db.session.expire_all()
    assert db.session.get(Household, h.id).name == "김순자"
    assert db.session.get(Case, case.id).summary == "자살·자해 언급"
    assert db.session.scalar(select(func.count()).select_from(PrivacyRequest)) == 0

    case = db.session.get(Case, case.id)
    case.status, case.step, case.closed_at, case.closure_reason = "closed", "closed", clock.now(), "stabilised"
    calls.end_enrollment(db.session.merge(enr), cw)
    db.session.commit()
    figures_before = reports.figures(d.id, *month)
    r = _request(client, h, "erase")
    assert r.status_code == 302
    flashed = client.get("/privacy/requests").get_data(as_text=True)
    assert "삭제할 수 없었습니다" in flashed  # says what stays, not "erased"

    db.session.expire_all()
    h = db.session.get(Household, h.id)
    assert h.name is None and h.phone is None
    case = db.session.get(Case, case.id)
    assert (case.assessment_note, case.plan_text) == ("", "") and "요청" in case.summary
    assert case.crisis_level == "high" and case.closure_reason == "stabilised"  # codes stay
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 0
    assert db.session.scalar(select(func.count()).select_from(Screening)) == 0
    need = db.session.scalar(select(CaseNeed))
    assert (need.domain, need.level, need.description) == ("health", "high", "")
    es = db.session.scalar(select(EmergencySupport))
    assert es.note == "" and es.kind == "livelihood"
    rec = db.session.scalar(select(CallRecord))
    assert (rec.note, rec.distress, rec.arrears_2m, rec.meals, rec.outcome) == ("", None, None, "",
                                                                                "connected_concern")
    conf = db.session.scalar(select(CaseConference))
    assert (conf.attendees, conf.decisions) == ("", "")
    assert db.session.scalar(select(TierChange)).reason == ""
    row = db.session.scalar(select(CrisisRow))
    assert (row.name, row.phone, row.check_note, row.codes, row.unit) == ("", None, "", "단전", "")
    assert all(c.summary == "" for c in db.session.scalars(select(Concern).where(Concern.household_id == h.id)))
    # the dong's statistics are the same as before
    assert reports.figures(d.id, *month) == figures_before

    # The case page says the content was erased; nothing of it is left on any page or in the export.
    staff = app.test_client()
    b.login(staff, cw)
    page = staff.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "정보주체의 요청으로 삭제했습니다" in page
    for path in (f"/cases/{case.id}", f"/households/{h.id}", f"/risk/households/{h.id}"):
        body = staff.get(path).get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, (path, secret)
    export = _request(client, db.session.get(Household, h.id), "access").get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in export
    assert json.loads(export)["cases"][0]["crisis_level"] == "high"


def test_anonymising_clears_the_case_content_too_and_erasing_a_household_without_records_deletes_it(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    h, case, enr = _household_with_everything(d, cw)
    case.status = "closed"
    calls.end_enrollment(enr, cw)
    lone = b.household(d, name="박영수", road="경기도 의정부시 나로 2")
    db.session.commit()
    b.login(client, admin)
    assert _request(client, h, "anonymise").status_code == 302
    assert _request(client, lone, "erase").status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).plan_text == ""
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 0
    assert db.session.get(Household, lone.id) is None
