"""On "my calls", visits come first, top tiers first (QA round 20: F6)."""
from __future__ import annotations

from datetime import timedelta

from tests import builders as b
from tests.calls.builders import enrolled
from volnet.calls import services as svc
from volnet.calls.models import CallTask
from volnet.core import clock
from volnet.extensions import db


def test_visits_come_first_on_my_calls_top_tiers_first(world, client):
    cw = world["cw"]
    routine = []
    for i, name in enumerate(("가정기", "나정기", "다정기", "라정기")):
        routine.append(enrolled(world["dong"], cw, tier="daily_life", caller=cw, name=name,
                                phone=f"0105555{i:04d}"))
    svc.ensure_tasks()
    h_low, enr_low = enrolled(world["dong"], cw, tier="daily_risk", caller=cw, name="마방문", phone="01066660001")
    h_top, enr_top = enrolled(world["dong"], cw, tier="emergency", caller=cw, name="바방문", phone="01066660002")
    now = clock.now()
    for h, enr, due in ((h_low, enr_low, now + timedelta(hours=2)), (h_top, enr_top, now + timedelta(hours=8))):
        db.session.add(CallTask(enrollment_id=enr.id, household_id=h.id, dong_id=h.dong_id, assignee_id=cw.id,
                                kind="visit", attempt=0, due_at=due, due_on=clock.seoul_today(), status="open"))
    db.session.commit()
    b.login(client, cw)
    page = client.get("/calls/").get_data(as_text=True)
    order = [page.index(n) for n in ("Visits due", "바방문", "마방문", "Calls to make", "가정기", "나정기", "다정기", "라정기")]
    assert order == sorted(order)
    ids = [t.id for t in db.session.scalars(svc.tasks_for(cw))]
    assert [db.session.get(CallTask, i).household_id for i in ids[:2]] == [h_top.id, h_low.id]


def test_without_visits_the_list_has_no_sections(world, client):
    enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    db.session.commit()
    b.login(client, world["vol"])
    page = client.get("/calls/").get_data(as_text=True)
    assert "이순자" in page and "Visits due" not in page

