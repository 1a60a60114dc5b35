"""No response at the door: tap-to-call numbers of the household's key holders (QA round 20: F10)."""
from __future__ import annotations

from datetime import timedelta

from tests import builders as b
from tests.calls.builders import korean_client
from volnet.calls import services as svc
from volnet.calls.models import CallTask
from volnet.core import clock
from volnet.extensions import db
from volnet.households.key_holders import KeyHolder


def _keyholders_world(world):
    from volnet.accounts import tongs

    d = world["dong"]
    tongs.set_for_user(world["tong"].id, {d.id: [7]})
    other_tong = b.user("tong_leader", [d], name="고다른", phone="01012121212")
    tongs.set_for_user(other_tong.id, {d.id: [8]})
    no_phone = b.user("tong_leader", [d], name="전화없", phone=None)
    tongs.set_for_user(no_phone.id, {d.id: [7]})
    centre = b.organization("dong_centre", d, name="테스트 행정복지센터")
    centre.phone = "0318284567"
    elsewhere = b.dong()
    far = b.organization("dong_centre", elsewhere, name="다른동 행정복지센터")
    far.phone = "0319990000"
    backup = b.user("volunteer", [d], name="박보조", phone="01034345656")
    h = b.household(d, name="임순자", phone="01055556666", tier="emergency", tong=7)
    enr = svc.enroll(world["cw"], h, world["vol"], backup)
    visit = CallTask(enrollment_id=enr.id, household_id=h.id, dong_id=h.dong_id, assignee_id=world["vol"].id,
                     kind="visit", attempt=0, due_at=clock.now() + timedelta(hours=3), due_on=clock.seoul_today(),
                     status="open")
    db.session.add(visit)
    db.session.commit()
    return h, enr, visit, backup


def test_no_response_at_the_door_gives_the_key_holders_numbers(world, client):
    h, enr, visit, backup = _keyholders_world(world)
    b.login(client, world["vol"])
    page = client.post(f"/calls/tasks/{visit.id}", data={"outcome": "visit_no_response"}).get_data(as_text=True)
    assert 'href="tel:119"' in page and 'href="tel:112"' in page
    assert "If the door is locked, call" in page
    assert "Backup, 박보조" in page and 'href="tel:01034345656"' in page
    assert "Tong leader of tong 7, 한상철" in page and 'href="tel:01077778888"' in page
    assert "테스트 행정복지센터" in page and 'href="tel:0318284567"' in page
    for absent in ("고다른", "01012121212", "전화없", "다른동", "0319990000"):
        assert absent not in page


def test_the_key_holders_leave_out_the_visitor_and_name_a_backup_tong_leader_once(app, world):
    from volnet.accounts import tongs

    d = world["dong"]
    tongs.set_for_user(world["tong"].id, {d.id: [7]})
    h = b.household(d, name="임순자", phone="01055556666", tier="emergency", tong=7)
    enr = svc.enroll(world["cw"], h, world["vol"], world["tong"])
    assert svc.key_holders(enr, viewer=world["vol"]) == [KeyHolder("backup", "한상철", "01077778888", 7)]
    assert svc.key_holders(enr, viewer=world["tong"]) == []  # the visitor is not offered their own number
    db.session.commit()
    visit = CallTask(enrollment_id=enr.id, household_id=h.id, dong_id=h.dong_id, assignee_id=world["vol"].id,
                     kind="visit", attempt=0, due_at=clock.now() + timedelta(hours=3), due_on=clock.seoul_today(),
                     status="open")
    db.session.add(visit)
    db.session.commit()
    page = korean_client(app, world["vol"]).post(f"/calls/tasks/{visit.id}",
                                           data={"outcome": "visit_no_response"}).get_data(as_text=True)
    assert "보조 담당자·7통 통장 한상철" in page and "문이 잠겨 있으면 연락하세요" in page
    assert page.count('href="tel:01077778888"') == 1


def test_the_key_holders_page_is_only_for_who_may_record_the_visit(world, client):
    h, enr, visit, backup = _keyholders_world(world)
    stranger = b.user("volunteer", [world["dong"]], name="남남")
    db.session.commit()
    b.login(client, stranger)
    r = client.post(f"/calls/tasks/{visit.id}", data={"outcome": "visit_no_response"})
    assert r.status_code == 404 and "01077778888" not in r.get_data(as_text=True)

