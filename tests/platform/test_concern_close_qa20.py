"""QA round 20 (the first loop), F1: closing a concern starts from an empty outcome, asks first, needs a note
when nobody reached the person of an emergency or urgent concern, becomes the closer's, and does not show steps
that never happened as done; a team lead of the dong reopens a concern closed in the last 30 days."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.audit.models import AuditLog
from volnet.concerns import services
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db

# Thursday 2026-12-03 10:00 Seoul
THU_10 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def d(app):
    clock.freeze(THU_10)
    return b.dong(name="송산3동")


@pytest.fixture
def cw(d):
    return b.user("caseworker", [d], name="김민수")


@pytest.fixture
def lead(d):
    return b.user("team_lead", [d], name="박지현")


def _reload(concern_id) -> Concern:
    db.session.expire_all()
    return db.session.get(Concern, concern_id)


def _concern(d, urgency="routine") -> int:
    c_id = b.observation(b.household(d), urgency=urgency).concern_id
    db.session.commit()
    return c_id


def _select(page: str, action: str) -> str:
    """The outcome select of the form posting to /concerns/<id>/<action>."""
    form = re.search(rf'<form[^>]*action="/concerns/\d+/{action}".*?</form>', page, re.S).group(0)
    return re.search(r'<select[^>]*name="outcome".*?</select>', form, re.S).group(0)


def _due_rows(page: str) -> tuple[str, str]:
    def row(label):
        return re.sub(r"\s+", " ", re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", page, re.S).group(1)).strip()
    return row("접수 확인 기한"), row("연락·방문 기한")


def _close(client, c_id, outcome, note="", **extra):
    return client.post(f"/concerns/{c_id}/close", data={"outcome": outcome, "note": note, "confirmed": "1", **extra})


def _events(c_id, kind) -> list[ConcernEvent]:
    return list(db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == c_id,
                                                              ConcernEvent.kind == kind)))


# --- F1. closing ----------------------------------------------------------------------------------------------

def test_the_close_and_contact_outcomes_start_empty_and_must_be_chosen(app, client, d, cw):
    c_id = _concern(d, "emergency")
    b.login(client, cw)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    for action in ("close", "contact"):
        select_ = _select(page, action)
        first = re.search(r"<option[^>]*>[^<]*</option>", select_).group(0)
        assert 'value=""' in first and "결과를 선택하세요" in first, action
        assert "selected" not in select_, action
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "", "note": "", "confirmed": "1"})
    assert r.status_code == 400 and "결과를 고르세요." in r.get_data(as_text=True)
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "", "note": "두 번 전화함"})
    assert r.status_code == 400 and "결과를 고르세요." in r.get_data(as_text=True)
    c = _reload(c_id)
    assert c.is_open and c.acknowledged_at is None and c.first_action_at is None


def test_closing_asks_for_confirmation_first_and_can_go_back(app, client, d, cw):
    c_id = _concern(d)
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "services_linked", "note": "푸드뱅크 연계"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"위기 의심 건(#{c_id})을 종결할까요?" in page
    assert "서비스 연계" in page and "푸드뱅크 연계" in page
    assert "당사자와 연락이 닿은 기록(통화·방문)이 없습니다." in page
    assert "이 건의 담당자로 지정됩니다." in page
    assert 'name="confirmed" value="1"' in page and 'value="services_linked"' in page
    assert _reload(c_id).is_open and not _events(c_id, "closed")
    # "Go back": the concern page with the close form open and what was typed.
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "services_linked", "note": "푸드뱅크 연계",
                                                      "confirmed": "1", "back": "1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and _reload(c_id).is_open
    assert '<option selected value="services_linked">' in _select(page, "close")
    assert "푸드뱅크 연계</textarea>" in page
    # Confirmed: closed.
    r = _close(client, c_id, "services_linked", "푸드뱅크 연계")
    assert r.status_code == 302
    assert _reload(c_id).status == "closed" and len(_events(c_id, "closed")) == 1


def test_putting_under_monitoring_asks_too(app, client, d, cw):
    c_id = _concern(d)
    b.login(client, cw)
    page = client.post(f"/concerns/{c_id}/close", data={"outcome": "monitoring", "note": ""}).get_data(as_text=True)
    assert "이 가구를 정기 모니터링 대상으로 정할까요?" in page
    assert "당사자와 연락이 닿을 때까지 연락·방문 기한은 그대로 남습니다." in page
    assert _reload(c_id).status == "new"
    _close(client, c_id, "monitoring")
    c = _reload(c_id)
    # Deciding on monitoring acknowledges the concern; nobody was reached, so the contact stays due.
    assert c.status == "monitoring" and c.acknowledged_at == THU_10 and c.owner_id == cw.id
    assert c.first_action_at is None and c.next_due_at == c.action_due_at


@pytest.mark.parametrize("locale, once, twice", [("ko", "정기 모니터링으로 전환", "정기 모니터링: 정기 모니터링"),
                                                 ("en", "Moved to regular monitoring",
                                                  "Regular monitoring: Regular monitoring")])
def test_the_timeline_says_once_that_the_household_went_under_monitoring(app, client, d, locale, once, twice):
    """The kind and the outcome are the same words for monitoring: the timeline read 'Regular monitoring: Regular
    monitoring' (QA round 20: R4)."""
    cw = b.user("caseworker", [d], locale=locale)
    c_id = _concern(d)
    b.login(client, cw)
    assert _close(client, c_id, "monitoring", "월 1회 방문").status_code == 302
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S).group(0)
    item = re.search(r'<li class="timeline-item timeline-monitoring">.*?</li>', timeline, re.S).group(0)
    what = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item))
    assert once in what and twice not in what and what.count("monitoring" if locale == "en" else "모니터링") == 1
    assert "월 1회 방문" in what


@pytest.mark.parametrize("urgency", ["emergency", "urgent"])
def test_closing_an_emergency_or_urgent_concern_nobody_reached_needs_a_note(app, client, d, cw, urgency):
    c_id = _concern(d, urgency)
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "note": ""})  # a failed attempt
    r = _close(client, c_id, "no_concern", "")
    page = r.get_data(as_text=True)
    label = {"emergency": "응급", "urgent": "긴급"}[urgency]
    assert r.status_code == 400
    assert (f"아직 당사자와 연락이 닿지 않았습니다. 이 {label} 건을 연락·방문 없이 종결하는 이유를 메모에 적어 "
            "주세요.") in page
    assert '<option selected value="no_concern">' in _select(page, "close")  # what was chosen is kept
    assert _reload(c_id).is_open
    # The service says the same to any caller.
    with pytest.raises(services.ConcernError):
        services.close(_reload(c_id), cw, "no_concern", "  ")
    db.session.rollback()
    # Without confirming first, the note is asked for before the confirmation.
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "no_concern", "note": ""})
    assert r.status_code == 400 and "이유를 메모에 적어 주세요." in r.get_data(as_text=True)
    r = _close(client, c_id, "no_concern", "딸과 통화, 요양병원 입원 확인")
    assert r.status_code == 302 and _reload(c_id).status == "closed"


def test_a_routine_concern_or_one_where_someone_was_reached_closes_without_a_note(app, client, d, cw):
    routine = _concern(d)
    reached = _concern(d, "emergency")
    b.login(client, cw)
    client.post(f"/concerns/{reached}/contact", data={"outcome": "connected_fine", "note": ""})
    for c_id in (routine, reached):
        assert _close(client, c_id, "no_concern").status_code == 302
        assert _reload(c_id).status == "closed"


def test_steps_that_never_happened_are_not_shown_done_after_closing(app, client, d, cw):
    from volnet.reports import services as reports

    never = _concern(d, "emergency")
    acked = _concern(d)
    b.login(client, cw)
    client.post(f"/concerns/{acked}/acknowledge")
    clock.advance(timedelta(minutes=5))
    _close(client, never, "no_concern", "주소 오기재, 해당 가구 없음")
    _close(client, acked, "referred", "")
    c = _reload(never)
    assert c.status == "closed" and c.acknowledged_at is None and c.first_action_at is None
    ack, contact = _due_rows(client.get(f"/concerns/{never}").get_data(as_text=True))
    assert ack.endswith("· 접수 확인 없이 종결") and "완료" not in ack
    assert contact.endswith("· 연락이 닿기 전 종결") and "완료" not in contact
    ack, contact = _due_rows(client.get(f"/concerns/{acked}").get_data(as_text=True))
    assert ack.endswith("· 완료 2026. 12. 3.(목) 10:00")
    assert contact.endswith("· 연락이 닿기 전 종결")
    # The month's initial consultations count the acknowledged one only.
    assert reports.figures(d.id, date(2026, 12, 1), date(2026, 12, 31))["initial_consultations"] == 1


def test_a_caseworker_closing_an_unassigned_concern_becomes_its_owner(app, client, d, cw):
    colleague = b.user("caseworker", [d], name="이서연")
    unowned = _concern(d)
    theirs = _concern(d)
    services.assign(_reload(theirs), colleague, colleague)
    db.session.commit()
    b.login(client, cw)
    _close(client, unowned, "no_concern")
    _close(client, theirs, "no_concern")
    assert _reload(unowned).owner_id == cw.id
    assert _reload(theirs).owner_id == colleague.id
    assert "담당자</dt><dd>김민수" in client.get(f"/concerns/{unowned}").get_data(as_text=True)


# --- F1. reopening --------------------------------------------------------------------------------------------

def _reopen(client, c_id, reason="종결 처리 착오, 방문 확인 필요"):
    return client.post(f"/concerns/{c_id}/reopen", data={"reason": reason})


def test_a_team_lead_reopens_a_recently_closed_concern_with_a_reason(app, client, d, cw, lead):
    c_id = _concern(d, "emergency")
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "visit_safe", "note": ""})
    _close(client, c_id, "no_concern")
    clock.advance(timedelta(days=2))
    client = app.test_client()  # another person, another browser
    b.login(client, lead)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert f'action="/concerns/{c_id}/reopen"' in page and "다시 여는 이유" in page
    # A reason is needed; what was typed elsewhere is not lost (nothing else to keep: the form is the reason).
    r = _reopen(client, c_id, "")
    assert r.status_code == 400 and "다시 여는 이유를 적어 주세요." in r.get_data(as_text=True)
    assert _reload(c_id).status == "closed"

    r = _reopen(client, c_id)
    assert r.status_code == 302
    now = clock.now()
    c = _reload(c_id)
    assert c.status == "acknowledged" and c.closed_at is None and c.outcome is None
    assert c.first_action_at is None and c.action_due_at == now + timedelta(hours=48)
    assert c.next_due_at == c.action_due_at
    assert c.owner_id == cw.id
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "위기 의심 건을 다시 열었습니다." in page
    assert "다시 열림 (이전 결과: 확인 결과 이상 없음)" in page and "종결 처리 착오, 방문 확인 필요" in page
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "reopen", AuditLog.subject_type == "concern", AuditLog.subject_id == str(c_id),
        AuditLog.actor_id == lead.id)) == 1
    # In the queue again, and overdue (escalated) once its new due time passes.
    assert f'href="/concerns/{c_id}"' in client.get("/concerns/").get_data(as_text=True)
    clock.advance(timedelta(hours=49))
    client = app.test_client()  # two days later, a new session
    b.login(client, lead)
    assert f'href="/concerns/{c_id}"' in client.get("/concerns/?overdue=1").get_data(as_text=True)


def test_a_concern_closed_without_acknowledgement_is_reopened_as_new_with_due_times_from_now(app, client, d, cw,
                                                                                             lead):
    c_id = _concern(d, "emergency")
    b.login(client, cw)
    _close(client, c_id, "no_concern", "중복 제보로 판단")
    clock.advance(timedelta(days=1))
    client = app.test_client()  # another person, another browser
    b.login(client, lead)
    assert _reopen(client, c_id).status_code == 302
    now = clock.now()
    c = _reload(c_id)
    assert c.status == "new" and c.acknowledged_at is None
    assert (c.ack_due_at, c.action_due_at, c.next_due_at) == (now + timedelta(hours=1), now + timedelta(hours=48),
                                                               now + timedelta(hours=1))


def test_only_a_team_lead_of_the_dong_may_reopen(app, client, d, cw):
    other_lead = b.user("team_lead", [b.dong()])
    c_id = _concern(d)
    b.login(client, cw)
    _close(client, c_id, "no_concern")
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "/reopen" not in page
    assert _reopen(client, c_id).status_code == 404
    client = app.test_client()
    b.login(client, other_lead)
    assert _reopen(client, c_id).status_code == 404
    assert _reload(c_id).status == "closed"


def test_a_concern_closed_more_than_30_days_ago_is_not_reopened(app, client, d, cw, lead):
    c_id = _concern(d)
    b.login(client, cw)
    _close(client, c_id, "no_concern")
    clock.advance(timedelta(days=30, minutes=1))
    client = app.test_client()  # another person, another browser
    b.login(client, lead)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "/reopen" not in page
    assert "종결한 지 30일이 넘은 건은 다시 열 수 없습니다." in page
    r = _reopen(client, c_id)
    assert "종결한 지 30일이 넘은 건은 다시 열 수 없습니다." in client.get(r.headers["Location"]).get_data(as_text=True)
    assert _reload(c_id).status == "closed"


def test_reopening_is_refused_while_the_household_has_another_open_concern(app, client, d, cw, lead):
    h = b.household(d)
    first = b.observation(h).concern_id
    db.session.commit()
    b.login(client, cw)
    _close(client, first, "no_concern")
    second = b.observation(db.session.get(type(h), h.id)).concern_id
    db.session.commit()
    assert second != first
    client = app.test_client()  # another person, another browser
    b.login(client, lead)
    page = client.get(f"/concerns/{first}").get_data(as_text=True)
    assert f'action="/concerns/{first}/reopen"' not in page
    assert f"이 가구에는 처리 중인 다른 위기 의심 건(#{second})이 있습니다." in page
    assert f'href="/concerns/{second}"' in page
    r = _reopen(client, first)
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"이 가구에는 처리 중인 다른 위기 의심 건(#{second})이 있습니다." in page
    assert _reload(first).status == "closed" and _reload(second).is_open


def test_merged_concerns_and_ones_that_became_a_case_are_not_reopened(app, d, cw, lead):
    from volnet.cases import services as cases
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    a = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                        location_text="송산로 77 2층"), None)[0].concern_id
    services.merge(_reload(a), _reload(_concern(d)), cw)
    to_case = _concern(d)
    cases.open_case(_reload(to_case), cw)
    db.session.commit()
    for c_id in (a, to_case):
        with pytest.raises(services.ConcernError):
            services.reopen(_reload(c_id), lead, "다시 확인")
        db.session.rollback()


@pytest.mark.xdist_group("many-connections")
def test_a_reopen_at_the_moment_a_report_opens_a_new_concern_is_refused_not_an_error(app, d, cw, lead):
    """The report's concern is not committed yet when the reopen looks for one: the one-open-concern index
    makes the reopen wait, then refuses it; the team lead is told about the other concern (no 409, no 500)."""
    from sqlalchemy import update

    from tests.conftest import base_config
    from tests.platform.test_concern_races import _while_held
    from volnet import create_app

    h = b.household(d)
    first = b.observation(h).concern_id
    services.close(db.session.get(Concern, first), cw, "no_concern", "")
    # A second, older closed concern of the household that the "report" opens again at that moment.
    earlier = Concern(dong_id=d.id, household_id=h.id, status="closed", urgency="routine", urgency_rank=2,
                      outcome="no_concern", closed_at=clock.now())
    db.session.add(earlier)
    db.session.flush()
    earlier_id, login_id = earlier.id, lead.login_id
    db.session.commit()

    other_app = create_app(base_config(app.config["DATABASE_URL"]))
    client = other_app.test_client()
    done = {}
    try:
        with other_app.app_context():
            assert client.post("/account/login", data={"login_id": login_id, "password": b.PASSWORD}).status_code == 302

        def report_opens_another(conn):  # uncommitted for the moment, as a report being saved
            conn.execute(update(Concern).where(Concern.id == earlier_id).values(status="new", closed_at=None,
                                                                               outcome=None))

        def reopen_in_thread():
            with other_app.app_context():
                done["resp"] = client.post(f"/concerns/{first}/reopen", data={"reason": "다시 확인"})
                if done["resp"].status_code == 302:
                    done["page"] = client.get(done["resp"].headers["Location"]).get_data(as_text=True)

        _while_held(app, report_opens_another, reopen_in_thread)
    finally:
        with other_app.app_context():
            db.engine.dispose()
    assert done["resp"].status_code == 302
    assert f"이 가구에는 처리 중인 다른 위기 의심 건(#{earlier_id})이 있습니다." in done["page"]
    assert _reload(first).status == "closed" and _reload(earlier_id).status == "new"




def test_an_integrated_case_opened_from_a_new_concern_counts_as_its_initial_consultation(app, client, d, cw):
    """Opening a case takes the household on: the concern reads acknowledged then, and the month counts the
    initial consultation (the contact step is not faked: nobody was reached yet)."""
    from volnet.cases import services as cases
    from volnet.reports import services as reports

    c_id = _concern(d)
    cases.open_case(_reload(c_id), cw)
    db.session.commit()
    c = _reload(c_id)
    assert c.status == "closed" and c.outcome == "case_opened"
    assert c.acknowledged_at is not None and c.first_action_at is None
    figures = reports.figures(d.id, date(2026, 12, 1), date(2026, 12, 31))
    assert (figures["initial_consultations"], figures["new_cases"]) == (1, 1)
