"""The concern pages after the third QA round (2026-12-04): refused forms say each error once and name the
field, a close refused because a colleague closed first keeps the note, tong numbers read in the page's
language, urgency changes keep the due times of steps already done, the merge-into-itself wording."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.concerns import services
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db

# Thursday 2026-12-03 10:00 Seoul
THU_10 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def d(app):
    clock.freeze(THU_10)
    return b.dong()


@pytest.fixture
def cw(d):
    return b.user("caseworker", [d], name="김민수")


def _reload(concern_id) -> Concern:
    db.session.expire_all()
    return db.session.get(Concern, concern_id)


def _events(concern_id) -> int:
    return db.session.scalar(select(func.count()).select_from(ConcernEvent).where(ConcernEvent.concern_id == concern_id))


# --- 5: a refused form says each error once, and names the field ------------------------------------------

def test_a_refused_contact_says_the_future_time_once(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "at": "2027-01-01T10:00",
                                                        "note": "두 번 전화함"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert page.count("미래 시간은 입력할 수 없습니다") == 1  # under the field, not in the flash too
    assert "표시된 항목을 고쳐 주세요." in page and "두 번 전화함" in page


def test_a_refused_urgency_change_names_the_missing_reason_once(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/urgency", data={"urgency": "urgent", "reason": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert page.count("사유를 적어 주세요.") == 1
    assert "이 항목은 필수입니다" not in page
    assert _reload(c_id).urgency == "routine"


def test_a_refused_merge_without_a_number_names_the_field(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/merge", data={"target_id": ""}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "병합할 건의 번호를 적어 주세요." in page and "이 항목은 필수입니다" not in page


# --- 6: a close refused because a colleague closed the concern first keeps the typed note --------------------

def test_a_close_refused_because_a_colleague_closed_first_shows_the_note_typed(app, client, d, cw):
    colleague = b.user("caseworker", [d])
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    assert "저장되지 않은 내용" not in client.get(f"/concerns/{c_id}").get_data(as_text=True)  # tab A
    services.close(_reload(c_id), colleague, "no_concern", "")  # tab B, the colleague
    db.session.commit()
    events = _events(c_id)

    note = "월 1회 전화 모니터링 계속"
    r = client.post(f"/concerns/{c_id}/close", data={"outcome": "services_linked", "note": note})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "이미 종결된 건입니다." in page
    assert "저장되지 않은 내용" in page and f"readonly aria-label=\"저장되지 않은 내용\">{note}</textarea>" in page
    c = _reload(c_id)
    assert c.outcome == "no_concern" and _events(c_id) == events

    # The same for a contact typed while the colleague closed it.
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "note": "두 번 전화함"})
    assert r.status_code == 400 and ">두 번 전화함</textarea>" in r.get_data(as_text=True)


# --- 8: the tong in the page's language -------------------------------------------------------------------

def test_the_queue_and_household_pages_read_tong_8_in_english_and_8tong_in_korean(app, client, d, cw):
    h = b.household(d, name="류영수", tong=8, ban=3)
    b.observation(h)
    db.session.commit()
    b.login(client, cw)
    page = client.get("/concerns/").get_data(as_text=True)
    assert "8통" in page and "8tong" not in page
    assert "8통 3반" in client.get(f"/households/{h.id}").get_data(as_text=True)

    client.post("/lang", data={"lang": "en"})
    page = client.get("/concerns/").get_data(as_text=True)
    assert "Tong 8" in page and "8tong" not in page and "8통" not in page
    page = client.get(f"/households/{h.id}").get_data(as_text=True)
    assert "Tong 8, ban 3" in page and "8통" not in page


# --- 11: merging a concern into itself --------------------------------------------------------------------

def test_merging_a_concern_into_itself_says_to_enter_the_other_number(app, client, d, cw):
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/merge", data={"target_id": c_id}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "이 건을 자기 자신과 병합할 수는 없습니다. 다른 건 번호를 적어 주세요." in page
    assert "같은 위기 의심 건끼리는" not in page
    assert _reload(c_id).is_open


# --- 10: the queue on a phone is a list of cards -----------------------------------------------------------

def test_the_queue_rows_become_labelled_cards_on_a_phone(app, client, d, cw):
    c = db.session.get(Concern, b.observation(b.household(d, name="류영수", tong=8), urgency="urgent").concern_id)
    services.acknowledge(c, cw)
    db.session.commit()
    b.login(client, cw)
    page = client.get("/concerns/").get_data(as_text=True)
    assert '<table class="table concern-table table-stack">' in page
    row = page[page.index("<tbody>"):page.index("</tbody>")]
    assert 'data-label="담당자">김민수</td>' in row and 'data-label="상태">접수 확인됨</td>' in row
    assert '<td class="stack-full"><a href="/concerns/' in row
    # The stylesheet keeps the queue's desktop width for 768 px and up only.
    css = client.get("/static/css/volnet.css").get_data(as_text=True)
    assert "@media (min-width: 768px) { .table-wrap > .concern-table { min-width: 72rem; } }" in css
    assert ".table-wrap > .concern-table, " not in css


# --- 4: a change of urgency keeps the due times of steps done, and lateness ----------------------------------

def test_changing_the_urgency_after_a_late_acknowledgement_keeps_it_late(app, client, d, cw):
    c_id = b.observation(b.household(d), urgency="emergency").concern_id  # acknowledge by Thu 11:00
    db.session.commit()
    clock.freeze(THU_10 + timedelta(days=19))
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/acknowledge")
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "connected_fine", "note": "통화함"})
    r = client.post(f"/concerns/{c_id}/urgency", data={"urgency": "urgent", "reason": "통화로 안전 확인"})
    assert r.status_code == 302
    c = _reload(c_id)
    assert c.urgency == "urgent" and c.next_due_at is None
    assert c.ack_due_at == THU_10 + timedelta(hours=1) and c.action_due_at == THU_10 + timedelta(hours=48)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "2026. 12. 3.(목) 11:00 · 완료 2026. 12. 22.(화) 10:00" in page


def test_lowering_an_overdue_concern_keeps_it_overdue_until_someone_acts(app, client, d, cw):
    lead = b.user("team_lead", [d])
    c_id = b.observation(b.household(d), urgency="emergency").concern_id
    db.session.commit()
    clock.freeze(THU_10 + timedelta(days=14))
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/urgency", data={"urgency": "routine", "reason": "이웃 말로는 여행 중"})
    c = _reload(c_id)
    assert c.urgency == "routine"
    assert c.ack_due_at == THU_10 + timedelta(hours=1) and c.next_due_at == c.ack_due_at
    assert f'/concerns/{c_id}"' in client.get("/concerns/?overdue=1").get_data(as_text=True)
    lead_client = app.test_client()
    b.login(lead_client, lead)
    assert f'/concerns/{c_id}"' in lead_client.get("/concerns/team").get_data(as_text=True)


def test_a_raise_brings_pending_due_times_earlier_and_a_lowering_gives_more_time_from_the_report(app, d, cw):
    c = db.session.get(Concern, b.observation(b.household(d), urgency="routine").concern_id)
    routine_ack = c.ack_due_at  # Tue 8 Dec 10:00 (3 working days)
    clock.freeze(THU_10 + timedelta(hours=2))
    services.change_urgency(c, cw, "emergency", "이웃이 119를 불러야 할 것 같다고 함")
    assert c.ack_due_at == THU_10 + timedelta(hours=3)  # the raise's rule, from now
    assert c.action_due_at == THU_10 + timedelta(hours=50)
    clock.freeze(THU_10 + timedelta(hours=2, minutes=30))
    services.change_urgency(c, cw, "routine", "오해였음")
    # From the report, as if it had been routine all along; never earlier than it was.
    assert c.ack_due_at == routine_ack and c.action_due_at == THU_10 + timedelta(days=7)
    assert c.next_due_at == routine_ack


def test_a_more_urgent_report_keeps_the_due_times_of_steps_done(app, d, cw):
    h = b.household(d)
    c = db.session.get(Concern, b.observation(h, urgency="routine").concern_id)
    routine_ack = c.ack_due_at
    clock.freeze(THU_10 + timedelta(hours=1))
    services.acknowledge(c, cw)
    db.session.commit()
    clock.freeze(THU_10 + timedelta(hours=3))
    b.observation(h, urgency="emergency", signals=["unreachable"])
    c = _reload(c.id)
    assert c.urgency == "emergency"
    assert c.ack_due_at == routine_ack  # acknowledged on time: stays as it was
    assert c.action_due_at == THU_10 + timedelta(hours=3 + 48) == c.next_due_at


def test_merging_an_overdue_concern_into_a_newer_one_keeps_it_overdue(app, d, cw):
    """The citizen's report of Thursday, due for acknowledgement on Tuesday and not acknowledged, is merged on
    the next Thursday into the household's new concern: the one kept is late since Tuesday, not due next week."""
    from volnet.observations import services as observations
    from volnet.observations.models import Observation

    old = Observation(dong_id=d.id, source="citizen", urgency="routine", signals=["smell_insects"],
                      location_text="송산로 골목 빌라 2층", reference_code=observations.new_reference_code())
    old, _ = observations.submit(old, None)
    db.session.flush()
    source = db.session.get(Concern, old.concern_id)
    overdue_since = source.ack_due_at
    clock.freeze(THU_10 + timedelta(days=7))
    target = db.session.get(Concern, b.observation(b.household(d), urgency="routine").concern_id)
    assert target.ack_due_at > clock.now()
    services.merge(source, target, cw)
    assert target.ack_due_at == overdue_since and target.next_due_at == overdue_since < clock.now()
