"""Personal-data lifecycle: retention then anonymisation, access requests (export) and deletion requests."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from volnet.audit.models import AuditLog
from volnet.concerns import services as concerns
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.privacy.models import PrivacyRequest
from volnet.privacy.services import run_retention


def _closed_case(d, actor, name, closed_years_ago, clock_now):
    h = b.household(d, name=name, phone="01012345678", road=f"경기도 의정부시 {name}로 1")
    clock.freeze(clock_now - timedelta(days=365 * closed_years_ago + 30))
    obs = b.observation(h, actor, note=f"{name} 메모: 우울감 호소", contact="010-1111-2222")
    c = db.session.get(Concern, obs.concern_id)
    concerns.close(c, actor, "no_concern", f"{name} 종결 메모")
    clock.freeze(clock_now)
    return h, obs, c


def test_retention_anonymises_old_closed_concerns_only(app):
    now = clock.now()
    d = b.dong()
    cw = b.user("caseworker", [d])
    old_h, old_obs, old_c = _closed_case(d, cw, "오래된", 6, now)
    new_h, new_obs, _new_c = _closed_case(d, cw, "최근", 1, now)
    # an old closed concern whose household has an open concern again keeps the household details
    busy_h, busy_obs, _busy_c = _closed_case(d, cw, "다시열림", 6, now)
    b.observation(busy_h, cw, note="새 신고")
    db.session.commit()

    dry = run_retention(now, dry_run=True)
    db.session.rollback()
    assert dry["concerns"] == 2 and dry["households"] == 1
    db.session.expire_all()
    assert db.session.get(Observation, old_obs.id).note.startswith("오래된")  # a dry run changes nothing

    stats = run_retention(now)
    db.session.commit()
    assert stats["concerns"] == 2 and stats["households"] == 1
    db.session.expire_all()
    o = db.session.get(Observation, old_obs.id)
    assert o.note == "" and o.contact == ""
    assert all(e.note == "" for e in db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == old_c.id)))
    h = db.session.get(Household, old_h.id)
    assert h.name is None and h.phone is None and h.name_chosung == ""
    assert db.session.get(Observation, new_obs.id).note.startswith("최근")
    assert db.session.get(Household, new_h.id).name == "최근"
    assert db.session.get(Household, busy_h.id).name == "다시열림"
    assert db.session.get(Observation, busy_obs.id).note == ""
    # running again does nothing more
    assert run_retention(now)["concerns"] == 0


def test_retention_keeps_who_lives_there_while_a_case_or_a_call_plan_is_open(app):
    """An old closed concern is anonymised, but the household's name and phone stay while an integrated
    case is open or safety calls go on: the caseworker and the caller still need them."""
    from tests.cases import builders as cb
    from volnet.calls import services as calls

    now = clock.now()
    d = b.dong()
    cw = b.user("caseworker", [d])
    in_case, _o1, _c1 = _closed_case(d, cw, "사례중", 6, now)
    on_calls, _o2, _c2 = _closed_case(d, cw, "안심콜", 6, now)
    cb.case(cw, in_case)  # opens (and closes) a concern of today, so close that one long ago too
    calls.enroll(cw, on_calls, b.user("volunteer", [d]), None)
    db.session.execute(Concern.__table__.update().where(Concern.household_id == in_case.id)
                       .values(closed_at=now - timedelta(days=365 * 6)))
    db.session.commit()
    run_retention(now)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Household, in_case.id).name == "사례중"
    assert db.session.get(Household, on_calls.id).phone == "01012345678"


def test_retention_cli_dry_run(app):
    now = clock.now()
    d = b.dong()
    cw = b.user("caseworker", [d])
    _h, obs, _c = _closed_case(d, cw, "명령줄", 6, now)
    db.session.commit()
    clock.reset()
    res = app.test_cli_runner().invoke(args=["volnet", "retention", "--dry-run"])
    assert res.exit_code == 0 and "concerns=1" in res.output, res.output
    db.session.expire_all()
    assert db.session.get(Observation, obs.id).note != ""
    res = app.test_cli_runner().invoke(args=["volnet", "retention"])
    assert res.exit_code == 0 and "concerns=1" in res.output
    db.session.expire_all()
    assert db.session.get(Observation, obs.id).note == ""


def _request(client, h, kind, reason="본인이 방문하여 신분증 확인"):
    return client.post("/privacy/requests", data={"household_id": h.id, "kind": kind, "reason": reason,
                                                  "confirm": "y"})


def test_access_request_downloads_everything_and_is_audited(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    h = b.household(d, name="김순자", phone="01055556666")
    b.observation(h, cw, note="반찬 지원 필요", contact="딸 010-2222-3333")
    db.session.commit()
    b.login(client, admin)
    r = _request(client, h, "access")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"] and "no-store" in r.headers["Cache-Control"]
    data = json.loads(r.get_data(as_text=True))
    assert data["household"]["name"] == "김순자" and data["observations"][0]["note"] == "반찬 지원 필요"
    assert data["concerns"] and data["concern_events"]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "privacy_access",
                                                    AuditLog.subject_id == str(h.id), AuditLog.actor_id == admin.id))
    assert db.session.scalar(select(PrivacyRequest)).kind == "access"


def test_deletion_request_anonymises_or_erases(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    h1 = b.household(d, name="이말순", road="경기도 의정부시 가로 1")
    o1 = b.observation(h1, cw, note="치매 의심")
    h2 = b.household(d, name="박영수", road="경기도 의정부시 나로 2")
    b.observation(h2, cw, note="지워질 메모")
    db.session.commit()
    b.login(client, admin)
    assert _request(client, h1, "anonymise").status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, h1.id).name is None and db.session.get(Observation, o1.id).note == ""
    assert _request(client, h2, "erase").status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, h2.id) is None
    assert db.session.scalar(select(func.count()).select_from(Observation).where(Observation.household_id == h2.id)) == 0
    kinds = sorted(r.kind for r in db.session.scalars(select(PrivacyRequest)))
    assert kinds == ["anonymise", "erase"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("privacy_%"))) == 2
    # a missing reason or confirmation changes nothing
    h3 = b.household(d, name="최옥순", road="경기도 의정부시 다로 3")
    db.session.commit()
    r = client.post("/privacy/requests", data={"household_id": h3.id, "kind": "erase", "reason": "", "confirm": "y"})
    assert r.status_code == 400
    r = client.post("/privacy/requests", data={"household_id": h3.id, "kind": "erase", "reason": "요청"})
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(Household, h3.id).name == "최옥순"


def test_only_admins_handle_requests(app, client):
    d = b.dong()
    lead = b.user("team_lead", [d])
    h = b.household(d)
    db.session.commit()
    b.login(client, lead)
    assert client.get("/privacy/requests").status_code == 404
    assert _request(client, h, "access").status_code == 404
    assert client.get("/privacy/security").status_code == 404
    assert client.get("/privacy/retention").status_code == 404


def test_access_export_holds_every_record_about_the_household_in_seoul_time_and_words(app, client):
    """An access request (열람 요구) gets what every domain holds about the household, not only its concerns:
    its integrated case, safety calls, screenings and crisis-list rows, with times in Asia/Seoul and the coded
    values spelt out."""
    from tests.cases import builders as cb
    from volnet.calls import services as calls
    from volnet.households.merge import HANDLED
    from volnet.risk.models import CrisisRow, HouseholdRrnHash

    d = b.dong()
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    h = b.household(d, name="김순자", phone="01055556666", sex="f")
    b.observation(h, cw, signals=["mail_piling"], note="반찬 지원 필요")
    case = cb.case(cw, h, summary="사례 요약")
    from volnet.cases import services as cases

    cases.request_closure(case, cw, "stabilised", "종결 요약 메모")
    calls.enroll(cw, h, b.user("volunteer", [d]), None)
    db.session.add_all([CrisisRow(round_id=1, row_number=1, natural_key="k", household_id=h.id, codes="단전"),
                        HouseholdRrnHash(household_id=h.id, dong_id=d.id, rrn_hash="f" * 64)])
    db.session.commit()
    b.login(client, admin)
    data = json.loads(_request(client, h, "access").get_data(as_text=True))
    assert data["cases"][0]["id"] == case.id and data["cases"][0]["summary"] == "사례 요약"
    assert data["call_enrollments"] and data["risk_rows"][0]["codes"] == "단전"
    assert "f" * 64 not in json.dumps(data) and data["risk_household_rrn_hashes"]  # that a link exists, not the hash
    # every table that refers to a household has its section (the merge's list of them)
    assert set(HANDLED) - {"observations", "concerns", "concern_events", "privacy_requests", "merged_households"} \
        <= set(data)
    assert data["exported_at"].endswith("+09:00") and data["concerns"][0]["opened_at"].endswith("+09:00")
    assert data["household"]["sex_label"] == "여성"
    assert data["observations"][0]["signals_label"] == ["우편물·고지서 적체"]
    closing = data["case_closure_requests"][0]  # the closing summary is about the household too
    assert closing["note"] == "종결 요약 메모" and closing["reason_label"] and "requested_by_id" not in closing


def test_access_export_reads_in_words_and_names_no_staff_account_numbers(app, client):
    """Every section of the copy for the data subject spells out its codes (case steps, screening questions and
    answers, emergency support, call outcomes), and says who recorded what by role and organisation, never by an
    internal account number."""
    from tests.cases import builders as cb
    from volnet.calls import services as calls
    from volnet.calls.models import CallRecord
    from volnet.cases import services as cases
    from volnet.risk.models import Screening

    d = b.dong()
    org = b.organization(name="송산3동 행정복지센터", dong_obj=d)
    cw = b.user("caseworker", [d], org=org, name="김민수")
    admin = b.user("admin", login_id="admin77")
    h = b.household(d, name="김순자", phone="01055556666")
    case = cb.case(cw, h)
    cases.add_need(case, cw, "health", "high", "")
    cases.add_note(case, cw, "메모")
    cases.record_emergency(case, cw, "livelihood")
    enr = calls.enroll(cw, h, b.user("volunteer", [d]), None)
    db.session.add_all([
        CallRecord(enrollment_id=enr.id, household_id=h.id, dong_id=d.id, caller_id=cw.id,
                   outcome="connected_concern"),
        Screening(household_id=h.id, dong_id=d.id, kind="mohw", answers={"suicidal_thought": 1}, total=2,
                  level="medium", by_id=cw.id)])
    db.session.commit()
    b.login(client, admin)
    text = _request(client, h, "access").get_data(as_text=True)
    data = json.loads(text)
    assert data["cases"][0]["step_label"] == "욕구·위기도 조사" and data["cases"][0]["status_label"] == "진행 중"
    assert data["case_needs"][0]["domain_label"] == "건강" and data["case_needs"][0]["level_label"] == "높음"
    assert data["emergency_supports"][0]["kind_label"] == "생계지원"
    assert data["call_records"][0]["outcome_label"] == "통화됨, 우려 있음"
    s = data["risk_screenings"][0]
    assert s["kind_label"] == "사회적 고립가구 조사표(보건복지부)"
    assert {"question": "지난 1년 동안 죽고 싶다는 생각을 한 적이 있나요?", "answer": "예"} in s["answers_label"]
    assert data["case_events"] and all(e.get("kind_label") for e in data["case_events"])
    assert data["concern_events"] and all(e.get("kind_label") for e in data["concern_events"])
    assert data["case_notes"][0]["author"] == "담당 주무관 (송산3동 행정복지센터)"
    assert data["call_enrollments"][0]["staff"] == "담당 주무관 (송산3동 행정복지센터)"
    assert "admin77" not in text and data["exported_by"]

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    staff_keys = {"author_id", "caller_id", "staff_id", "backup_id", "by_id", "created_by_id", "owner_id",
                  "actor_id", "done_by_id", "outcome_by_id", "checked_by_id", "decided_by_id", "requested_by_id"}
    assert not staff_keys & set(keys(data))
