"""The caller's confirmation names who was actually told (QA round 20: F5)."""
from __future__ import annotations

from sqlalchemy import select

from tests import builders as b
from tests.calls.builders import enrolled, korean_client, open_tasks
from volnet.calls import services as svc
from volnet.calls.models import CallRecord
from volnet.extensions import db


def test_with_no_backup_the_caller_is_told_the_centre_staff_were_told(world, client):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    db.session.commit()
    b.login(client, world["vol"])
    page = client.post(f"/calls/tasks/{task.id}", data={"outcome": "invalid_number"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Saved. The welfare centre staff have been told that the household could not be reached." in page
    assert "backup" not in page


def test_with_a_backup_the_caller_is_told_the_backup_was_asked(world, client):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    db.session.commit()
    b.login(client, world["vol"])
    page = client.post(f"/calls/tasks/{task.id}", data={"outcome": "invalid_number"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Saved. The backup, 한상철, has been asked to check on them." in page


def test_a_visit_due_names_the_backup_when_there_is_one(world, client):
    h, enr = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], backup=world["tong"])
    h2, enr2 = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], name="박말순",
                        phone="01099998888")
    svc.ensure_tasks()
    t1, t2 = open_tasks()
    db.session.commit()
    b.login(client, world["vol"])
    page = client.post(f"/calls/tasks/{t1.id}", data={"outcome": "invalid_number"},
                       follow_redirects=True).get_data(as_text=True)
    assert ("Saved. The household was not reached: a visit is now due, and the backup, 한상철, and the dong "
            "centre have been told.") in page
    page = client.post(f"/calls/tasks/{t2.id}", data={"outcome": "invalid_number"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Saved. The household was not reached: a visit is now due and the dong centre has been told." in page


def test_a_worried_call_says_the_centre_has_been_told(app, world, client):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    db.session.commit()
    c = korean_client(app, world["vol"])
    page = c.post(f"/calls/tasks/{task.id}", data={"outcome": "connected_concern", "meals": "severe",
                                                   "distress": "yes"}, follow_redirects=True).get_data(as_text=True)
    assert "저장했습니다. 걱정되는 점을 행정복지센터에 알렸습니다." in page and "감사합니다" not in page
    assert db.session.scalar(select(CallRecord.observation_id)) is not None


def test_the_no_backup_message_in_korean(app, world):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    (task,) = open_tasks()
    db.session.commit()
    c = korean_client(app, world["vol"])
    page = c.post(f"/calls/tasks/{task.id}", data={"outcome": "invalid_number"},
                  follow_redirects=True).get_data(as_text=True)
    assert "저장했습니다. 연락이 닿지 않았다고 행정복지센터 담당자에게 알렸습니다." in page
    assert "보조 담당자" not in page

