"""An early retry is refused with what was typed kept, and "call again" times are whole minutes rounded up
(QA round 20: F2, F12)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests import builders as b
from tests.calls.builders import enrolled, korean_client, open_tasks
from volnet.calls import services as svc
from volnet.calls.models import CallRecord, CallTask
from volnet.core import clock
from volnet.extensions import db


def test_an_early_retry_comes_back_with_what_was_typed_and_the_time_rounded_up(app, world, client):
    """A retry recorded as not reached before its wait is over used to redirect to the list and lose the
    note and the checklist; and a retry due at 10:15:48 was shown as '10:15', refused at 10:15:19. The task
    page comes back with what was typed and the refusal beside the outcome; every 'call again' time is the
    first whole minute the retry is allowed (10:16), and the refusal says how many minutes are left."""
    h, enr = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    db.session.commit()
    b.login(client, world["vol"])
    clock.advance(timedelta(seconds=48))
    r = client.post(f"/calls/tasks/{task.id}", data={"outcome": "no_answer", "client_token": "t1"},
                    follow_redirects=True)
    assert "Saved. Try again at 10:16; it is on your list." in r.get_data(as_text=True)
    (retry,) = open_tasks("retry")
    assert "Call again at 2026. 3. 2.(Mon) 10:16 or later" in client.get("/calls/").get_data(as_text=True)
    page = client.get(f"/calls/tasks/{retry.id}").get_data(as_text=True)
    assert "Call again at 10:16 or later." in page and "Due" not in page  # F12: not a deadline

    clock.advance(timedelta(minutes=14, seconds=31))  # 10:15:19: 29 seconds too early
    note = "두 번째 시도: 문 앞에 우유 3개 쌓여 있음"
    r = client.post(f"/calls/tasks/{retry.id}", data={"outcome": "no_answer", "meals": "poor", "distress": "yes",
                                                      "note": note, "client_token": "t2"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and note in page
    assert "Too early for the retry: call again in 1 minute, at 10:16 or later." in page
    assert "Not saved yet. What you typed is still below." in page  # at the top, above the long outcome list
    assert page.index("Not saved yet") < page.index('name="outcome"') < page.index("Too early")
    for kept in ('id="outcome-2" name="outcome" required type="radio" value="no_answer"',
                 'id="meals-2" name="meals" type="radio" value="poor"',
                 'id="distress-1" name="distress" type="radio" value="yes"'):
        assert f"<input checked class=\"chip-input\" {kept}>" in page
    assert '<details class="action-block" open>' in page  # the checklist typed is in sight
    assert 'name="client_token" type="hidden" value="t2"' in page
    db.session.expire_all()
    assert db.session.get(CallTask, retry.id).status == "open"
    assert db.session.scalar(select(func.count()).select_from(CallRecord)) == 1

    clock.advance(timedelta(seconds=30))  # 10:15:49: allowed now; the same form again is saved
    r = client.post(f"/calls/tasks/{retry.id}", data={"outcome": "no_answer", "meals": "poor", "note": note,
                                                      "client_token": "t2"})
    assert r.status_code == 302
    db.session.expire_all()
    rec = db.session.scalars(select(CallRecord).order_by(CallRecord.id.desc())).first()
    assert rec.note == note and rec.meals == "poor"
    (retry2,) = open_tasks("retry")
    page = client.get(f"/calls/tasks/{retry2.id}").get_data(as_text=True)
    assert "Call again at 10:31 or later." in page
    clock.advance(timedelta(minutes=20))
    assert "You can call again now." in client.get(f"/calls/tasks/{retry2.id}").get_data(as_text=True)


def test_the_early_retry_refusal_and_the_retry_time_in_korean(app, world):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    clock.advance(timedelta(seconds=48))
    svc.record(task, world["vol"], "no_answer")
    (retry,) = open_tasks("retry")
    db.session.commit()
    c = korean_client(app, world["vol"])
    page = c.get(f"/calls/tasks/{retry.id}").get_data(as_text=True)
    assert "10:16 이후에 다시 전화해 주세요." in page and "기한" not in page
    clock.advance(timedelta(minutes=10))
    page = c.post(f"/calls/tasks/{retry.id}", data={"outcome": "busy"}).get_data(as_text=True)
    assert "아직 재통화할 때가 아닙니다. 6분 뒤인 10:16부터 다시 전화할 수 있습니다." in page


def test_a_retry_time_is_rounded_up_to_the_minute(app):
    now = datetime(2026, 3, 2, 1, 0, 5, tzinfo=UTC)
    assert svc.call_again_at(datetime(2026, 3, 2, 1, 15, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert svc.call_again_at(datetime(2026, 3, 2, 1, 15, 0, 1, tzinfo=UTC)) == datetime(2026, 3, 2, 1, 16, tzinfo=UTC)
    assert svc.retry_time(datetime(2026, 3, 2, 1, 15, 48, tzinfo=UTC), now) == "10:16"

