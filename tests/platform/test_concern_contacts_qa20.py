"""QA round 20 (the first loop): only a contact or visit that reached the person completes the contact step (F2),
at the time it happened when it is entered later (F11); no response at an emergency's door says what to do."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import builders as b
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db

# Thursday 2026-12-03 10:00 Seoul
THU_10 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
FAILED = ["no_answer", "busy", "refused", "invalid_number", "visit_no_response"]
REACHED = ["connected_fine", "connected_concern", "away_confirmed", "visit_safe", "emergency_requested"]


@pytest.fixture
def d(app):
    clock.freeze(THU_10)
    return b.dong(name="송산3동")


@pytest.fixture
def cw(d):
    return b.user("caseworker", [d], name="김민수")


def _reload(concern_id) -> Concern:
    db.session.expire_all()
    return db.session.get(Concern, concern_id)


def _concern(d, urgency="routine") -> int:
    c_id = b.observation(b.household(d), urgency=urgency).concern_id
    db.session.commit()
    return c_id


def _due_rows(page: str) -> tuple[str, str]:
    def row(label):
        return re.sub(r"\s+", " ", re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", page, re.S).group(1)).strip()
    return row("접수 확인 기한"), row("연락·방문 기한")


def _events(c_id, kind) -> list[ConcernEvent]:
    return list(db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == c_id,
                                                              ConcernEvent.kind == kind)))


# --- F2. only a contact that reached the person completes the step ----------------------------------------------

@pytest.mark.parametrize("outcome", FAILED)
def test_a_failed_attempt_is_recorded_but_the_contact_step_stays_due(app, client, d, cw, outcome):
    from volnet.notifications import services as notifications

    c_id = _concern(d, "urgent")
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": outcome, "note": "시도함"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "시도를 기록했습니다. 당사자와 연락이 닿지 않아 연락·방문 기한은 그대로입니다." in page
    c = _reload(c_id)
    assert c.acknowledged_at is not None and c.first_action_at is None
    assert c.next_due_at == c.action_due_at and c.status == "in_progress"
    assert len(_events(c_id, "visit" if outcome == "visit_no_response" else "contact")) == 1
    ack, contact = _due_rows(page)
    assert "완료" in ack and "완료" not in contact
    # Past the contact due time it is overdue in the queue and on the team page, and escalated.
    clock.advance(timedelta(days=3, minutes=1))
    client = app.test_client()  # the next morning's session
    b.login(client, cw)
    assert f'href="/concerns/{c_id}"' in client.get("/concerns/?overdue=1").get_data(as_text=True)
    assert notifications.escalate_concerns() >= 1
    db.session.commit()
    assert _reload(c_id).alerted_due_at == c.action_due_at


@pytest.mark.parametrize("outcome", REACHED)
def test_a_contact_that_reached_the_person_completes_the_step(app, client, d, cw, outcome):
    c_id = _concern(d, "urgent")
    b.login(client, cw)
    r = client.post(f"/concerns/{c_id}/contact", data={"outcome": outcome, "note": ""}, follow_redirects=True)
    assert "연락 기록을 저장했습니다." in r.get_data(as_text=True)
    c = _reload(c_id)
    assert c.first_action_at == THU_10 and c.next_due_at is None


def test_no_response_at_the_door_of_an_emergency_concern_shows_what_to_do(app, client, d, cw):
    emergency, urgent = _concern(d, "emergency"), _concern(d, "urgent")
    b.login(client, cw)
    for c_id in (emergency, urgent):
        client.post(f"/concerns/{c_id}/contact", data={"outcome": "visit_no_response", "note": "문 두드려도 응답 없음"})
    page = client.get(f"/concerns/{emergency}").get_data(as_text=True)
    assert "응급 건 방문에 응답이 없습니다" in page
    assert 'href="tel:119"' in page and 'href="tel:112"' in page
    assert "문이 잠겨 있으면 통장이나 관리사무소가 열쇠를 가지고 있을 수 있습니다." in page
    assert "응급 건 방문에 응답이 없습니다" not in client.get(f"/concerns/{urgent}").get_data(as_text=True)
    # Once someone reaches the person (here: 119 was called), the box is gone.
    client.post(f"/concerns/{emergency}/contact", data={"outcome": "emergency_requested", "note": "119 신고"})
    assert "응급 건 방문에 응답이 없습니다" not in client.get(f"/concerns/{emergency}").get_data(as_text=True)


# --- F11. a contact entered later counts at the time it happened -------------------------------------------------

def test_a_visit_recorded_later_counts_as_done_at_the_time_entered(app, client, d, cw):
    c_id = _concern(d, "urgent")
    clock.advance(timedelta(days=2))
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "visit_safe", "at": "2026-12-03T15:30",
                                                    "note": "방문 후 늦게 기록"})
    when = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)
    c = _reload(c_id)
    assert c.first_action_at == when and c.acknowledged_at == when and c.next_due_at is None
    ack, contact = _due_rows(client.get(f"/concerns/{c_id}").get_data(as_text=True))
    assert contact.endswith("· 완료 2026. 12. 3.(목) 15:30") and ack.endswith("· 완료 2026. 12. 3.(목) 15:30")
    # An earlier contact entered after a later one: the step was done at the earlier time.
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "connected_fine", "at": "2026-12-03T11:00",
                                                    "note": ""})
    assert _reload(c_id).first_action_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    # A failed attempt, whenever it was, changes nothing.
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "at": "2026-12-03T10:30", "note": ""})
    assert _reload(c_id).first_action_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
