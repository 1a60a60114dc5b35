"""A coordinator's household search on a shift: need to know, and audited (QA shifts #11)."""
from __future__ import annotations

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.shifts.models import RouteStop


def setup():
    d, org, coord, p = sb.world()
    served = b.household(d, name="김영희", road="경기도 의정부시 송산로 100", unit="101동 101호")
    stranger = b.household(d, name="김철수", road="경기도 의정부시 송산로 200", unit="3층",
                           delivery_note="현관 비밀번호 4321")
    earlier = sb.occurrence(p, in_hours=30)
    sb.stop(earlier, served)
    o = sb.occurrence(p, in_hours=80)
    db.session.commit()
    return o, coord, served, stranger


def test_search_finds_only_served_households_or_an_exact_address(client):
    o, coord, served, stranger = setup()
    b.login(client, coord)

    def page(q):
        return client.get(f"/shifts/{o.id}/manage", query_string={"hq": q}).get_data(as_text=True)

    body = page("ㄱ")
    assert "김영희" not in body and "김철수" not in body and "4321" not in body
    body = page("ㄱㅊ")
    assert "김철수" not in body
    body = page("송산로")
    assert "김영희" in body and "김철수" not in body and "송산로 200" not in body
    assert "김철수" not in page("송산로 200")  # the building without its unit: not exact
    body = page("경기도 의정부시 송산로 200 3층")
    assert "김철수" in body
    # added only as found: not by a made-up form with its number
    r = client.post(f"/shifts/{o.id}/stops", data={"household_id": stranger.id, "hq": "ㄱ"})
    assert r.status_code == 302
    assert db.session.scalar(select(RouteStop).where(RouteStop.occurrence_id == o.id)) is None
    client.post(f"/shifts/{o.id}/stops", data={"household_id": stranger.id, "hq": "송산로200 3층"})
    client.post(f"/shifts/{o.id}/stops", data={"household_id": served.id})
    assert {s.household_id for s in db.session.scalars(select(RouteStop).where(RouteStop.occurrence_id == o.id))} \
        == {stranger.id, served.id}


def test_search_and_the_route_on_the_manage_page_are_audited(client):
    o, coord, served, stranger = setup()
    b.login(client, coord)
    client.get(f"/shifts/{o.id}/manage", query_string={"hq": "송산로 200 3층"})
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.actor_id == coord.id,
                                                          AuditLog.subject_type == "households")))
    search = [r for r in rows if r.action == "search"]
    assert len(search) == 1 and "1 found" in search[0].detail and "송산로" not in search[0].detail
    assert {r.subject_id for r in rows if r.action == "view"} == {str(stranger.id)}
    db.session.add(RouteStop(occurrence_id=o.id, household_id=served.id, position=1))
    db.session.commit()
    client.get(f"/shifts/{o.id}/manage")
    views = db.session.scalars(select(AuditLog.subject_id).where(
        AuditLog.actor_id == coord.id, AuditLog.action == "view", AuditLog.detail == f"shift manage {o.id}")).all()
    assert views == [str(served.id)]
