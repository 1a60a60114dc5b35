"""Concern joining, due-time rules and the caseworker's actions."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.concerns import services
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.settings import services as settings

# Wednesday 2026-11-18 10:00 Seoul
WED_10 = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)


@pytest.fixture
def d(app):
    return b.dong()


def test_reports_about_one_household_join_one_open_concern(app, d):
    h = b.household(d)
    o1 = b.observation(h, signals=["mail_piling"])
    o2 = b.observation(h, signals=["smell_insects"])
    o3 = b.observation(h, signals=["not_going_out"])
    assert o1.concern_id == o2.concern_id == o3.concern_id
    assert db.session.scalar(select(func.count()).select_from(Concern)) == 1
    assert db.session.get(Concern, o1.concern_id).signal_count == 3


def test_a_closed_concern_is_not_reopened_a_new_one_starts(app, d):
    h = b.household(d)
    cw = b.user("caseworker", [d])
    first = db.session.get(Concern, b.observation(h).concern_id)
    services.close(first, cw, "no_concern", "")
    second = b.observation(h)
    assert second.concern_id != first.id
    assert first.status == "closed"


def test_higher_urgency_report_raises_the_concern(app, d):
    clock.freeze(WED_10)
    h = b.household(d)
    c = db.session.get(Concern, b.observation(h, urgency="routine", signals=["mail_piling"]).concern_id)
    assert c.urgency == "routine"
    clock.advance(timedelta(hours=2))
    b.observation(h, urgency="emergency", signals=["unreachable"])
    assert c.urgency == "emergency"
    assert c.next_due_at == WED_10 + timedelta(hours=3)  # ack within 1 h of the emergency report
    kinds = [e.kind for e in db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == c.id))]
    assert "urgency_raised" in kinds


def test_danger_signs_make_a_routine_report_urgent(app, d):
    h = b.household(d)
    o = b.observation(h, urgency="routine", signals=["self_harm_talk"])
    assert o.urgency == "urgent"


def test_emergency_due_times(app, d):
    clock.freeze(WED_10)
    c = db.session.get(Concern, b.observation(b.household(d), urgency="emergency").concern_id)
    assert c.ack_due_at == WED_10 + timedelta(hours=1)
    assert c.action_due_at == WED_10 + timedelta(hours=48)
    assert c.next_due_at == c.ack_due_at


def test_routine_ack_counts_working_days_skipping_weekend(app, d):
    # Friday 2026-11-20 15:00 Seoul + 3 working days = Wednesday 2026-11-25 15:00 Seoul
    fri = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    clock.freeze(fri)
    c = db.session.get(Concern, b.observation(b.household(d)).concern_id)
    assert c.ack_due_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert c.action_due_at == fri + timedelta(days=7)


def test_working_days_skip_korean_public_holidays():
    # 2026 추석: 9/24-9/26 (Thu-Sat); Wednesday 9/23 10:00 + 3 working days = Tue 9/29 (9/28 Mon is 1... )
    start = datetime(2026, 9, 23, 1, 0, tzinfo=UTC)
    due = settings.add_duration(start, "3wd")
    # Thu 24, Fri 25 holidays, Sat 26 holiday/weekend, Sun 27, Mon 28 (1), Tue 29 (2), Wed 30 (3)
    assert due.astimezone(clock.SEOUL).date().isoformat() == "2026-09-30"


def test_due_rules_are_settings_an_admin_can_change(app, d):
    settings.put("due.urgent.action", "1d")
    clock.freeze(WED_10)
    c = db.session.get(Concern, b.observation(b.household(d), urgency="urgent").concern_id)
    assert c.action_due_at == WED_10 + timedelta(days=1)


def test_acknowledge_then_contact_clears_due(app, d):
    clock.freeze(WED_10)
    cw = b.user("caseworker", [d])
    c = db.session.get(Concern, b.observation(b.household(d), urgency="urgent").concern_id)
    services.acknowledge(c, cw)
    assert c.owner_id == cw.id and c.status == "acknowledged"
    assert c.next_due_at == c.action_due_at
    services.record_contact(c, cw, "visit_safe", "방문함")
    assert c.next_due_at is None and c.status == "in_progress"


def test_overdue_is_marked_in_queue(app, client, d):
    clock.freeze(WED_10)
    cw = b.user("caseworker", [d])
    b.observation(b.household(d), urgency="emergency")
    db.session.commit()
    b.login(client, cw)
    assert 'class="overdue"' not in client.get("/concerns/").get_data(as_text=True)
    clock.advance(timedelta(hours=2))
    b.login(client, cw)  # two idle hours ended the session
    page = client.get("/concerns/").get_data(as_text=True)
    assert 'class="overdue"' in page
    assert client.get("/concerns/?overdue=1").get_data(as_text=True).count("concerns/1\"") >= 1


def test_queue_sorted_by_urgency_then_due(app, client, d):
    clock.freeze(WED_10)
    cw = b.user("caseworker", [d])
    routine = b.observation(b.household(d, road="송산로 1"), urgency="routine").concern_id
    emergency = b.observation(b.household(d, road="송산로 2"), urgency="emergency").concern_id
    urgent = b.observation(b.household(d, road="송산로 3"), urgency="urgent").concern_id
    db.session.commit()
    b.login(client, cw)
    page = client.get("/concerns/").get_data(as_text=True)
    pos = [page.index(f'/concerns/{i}"') for i in (emergency, urgent, routine)]
    assert pos == sorted(pos)


def test_queue_filters(app, client, d):
    cw = b.user("caseworker", [d])
    a = db.session.get(Concern, b.observation(b.household(d, road="송산로 1", tong=3), urgency="urgent").concern_id)
    other = b.observation(b.household(d, road="송산로 2", tong=4)).concern_id
    services.acknowledge(a, cw)
    db.session.commit()
    b.login(client, cw)
    page = client.get("/concerns/?urgency=urgent").get_data(as_text=True)
    assert f'/concerns/{a.id}"' in page and f'/concerns/{other}"' not in page
    page = client.get("/concerns/?tong=4").get_data(as_text=True)
    assert f'/concerns/{a.id}"' not in page and f'/concerns/{other}"' in page
    page = client.get("/concerns/?owner=me").get_data(as_text=True)
    assert f'/concerns/{a.id}"' in page and f'/concerns/{other}"' not in page
    assert client.get("/concerns/?tong=4&urgency=<script>&page=-4").status_code == 200
    assert client.get("/concerns/?tong=abc&urgency=<script>&page=-4").status_code == 400  # "Tong must be a number"


def test_queue_paginates(app, client, d):
    cw = b.user("caseworker", [d])
    for i in range(30):
        b.observation(b.household(d, road=f"송산로 {i + 1}"))
    db.session.commit()
    b.login(client, cw)
    first = client.get("/concerns/").get_data(as_text=True)
    second = client.get("/concerns/?page=2").get_data(as_text=True)
    import re

    def rows(page):  # concern rows of the table: each links its number "#123"
        return re.findall(r'<td><a href="/concerns/(\d+)">#\1</a></td>', page)

    assert len(rows(first)) == 25 and len(rows(second)) == 5
    assert not set(rows(first)) & set(rows(second))
    assert "위기 의심 건 30건" in first  # "30 concerns", counted on the first page
    assert client.get("/concerns/?page=99").headers["Location"] == "/concerns/?page=2"  # past the end: the last
    # The pager keeps the filters: page 2 of the routine ones links back to page 1 of the routine ones,
    # and the page shown is not a link.
    filtered = client.get("/concerns/?urgency=routine&page=2").get_data(as_text=True)
    assert 'class="page-prev" href="/concerns/?urgency=routine&amp;page=1"' in filtered
    assert '<a href="/concerns/?urgency=routine&amp;page=1">1</a>' in filtered
    assert '<span class="page-current" aria-current="page">2</span>' in filtered
    assert 'class="page-next"' not in filtered


def test_actions_through_the_page_appear_in_timeline(app, client, d):
    cw = b.user("caseworker", [d], name="김민수")
    colleague = b.user("caseworker", [d], name="이서연")
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    assert client.post(f"/concerns/{c_id}/acknowledge").status_code == 302
    client.post(f"/concerns/{c_id}/assign", data={"owner_id": colleague.id})
    client.post(f"/concerns/{c_id}/contact", data={"outcome": "no_answer", "note": "두 번 전화함"})
    client.post(f"/concerns/{c_id}/urgency", data={"urgency": "urgent", "reason": "이웃 추가 제보"})
    client.post(f"/concerns/{c_id}/close", data={"outcome": "services_linked", "note": "푸드뱅크 연계",
                                                  "confirmed": "1"})
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    for text in ["이서연", "두 번 전화함", "이웃 추가 제보", "푸드뱅크 연계"]:
        assert text in page
    c = db.session.get(Concern, c_id)
    db.session.refresh(c)
    assert c.status == "closed" and c.outcome == "services_linked" and c.owner_id == colleague.id


def test_urgency_change_needs_a_reason(app, client, d):
    cw = b.user("caseworker", [d])
    c_id = b.observation(b.household(d)).concern_id
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{c_id}/urgency", data={"urgency": "emergency", "reason": "   "})
    db.session.expire_all()
    assert db.session.get(Concern, c_id).urgency == "routine"


def test_caseworker_cannot_take_a_colleagues_concern_but_team_lead_can(app, client, d):
    cw, other = b.user("caseworker", [d]), b.user("caseworker", [d])
    lead = b.user("team_lead", [d])
    c = db.session.get(Concern, b.observation(b.household(d)).concern_id)
    services.acknowledge(c, other)
    db.session.commit()
    b.login(client, cw)
    client.post(f"/concerns/{c.id}/assign", data={"owner_id": cw.id})
    db.session.expire_all()
    assert db.session.get(Concern, c.id).owner_id == other.id
    client2 = app.test_client()
    b.login(client2, lead)
    client2.post(f"/concerns/{c.id}/assign", data={"owner_id": cw.id})
    db.session.expire_all()
    assert db.session.get(Concern, c.id).owner_id == cw.id


def test_merge_duplicates_moves_reports(app, client, d):
    cw = b.user("caseworker", [d])
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    a = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["smell_insects"],
                                        location_text="송산로 골목 빌라"), None)[0]
    h = b.household(d)
    bb = b.observation(h)
    db.session.commit()
    src_id, target_id = a.concern_id, bb.concern_id
    b.login(client, cw)
    r = client.post(f"/concerns/{src_id}/merge", data={"target_id": target_id})
    assert r.status_code == 302
    db.session.expire_all()
    src = db.session.get(Concern, src_id)
    assert src.status == "merged" and src.merged_into_id == target_id
    assert db.session.get(Observation, a.id).concern_id == target_id
    assert db.session.get(Observation, a.id).household_id == h.id


def test_unlinked_report_linked_to_household_with_open_concern_merges(app, client, d):
    cw = b.user("caseworker", [d])
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    citizen = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                              location_text="송산로 100 근처"), None)[0]
    h = b.household(d)
    existing = b.observation(h)
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/concerns/{citizen.concern_id}/link", data={"household_id": h.id})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/concerns/{existing.concern_id}")
    db.session.expire_all()
    assert db.session.get(Observation, citizen.id).concern_id == existing.concern_id
    assert db.session.scalar(select(func.count()).select_from(Concern).where(
        Concern.household_id == h.id, Concern.status.in_(["new", "acknowledged", "in_progress"]))) == 1


def test_create_household_from_unlinked_concern(app, client, d):
    cw = b.user("caseworker", [d])
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    citizen = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                              location_text="빌라 2층"), None)[0]
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/households/new?link_concern={citizen.concern_id}",
                    data={"dong_id": d.id, "road_address": "경기도 의정부시 송산로 547번길 3", "unit": "2층",
                          "sex": "unknown", "age_band": "60s", "status": "active"})
    assert r.status_code == 302
    db.session.expire_all()
    c = db.session.get(Concern, citizen.concern_id)
    assert c.household_id is not None and c.household.unit == "2층"


def test_staff_adding_a_household_at_a_recorded_address_is_asked_first(app, client, d):
    """A caseworker adding a household the dong already has at that address (spacing aside) sees it,
    with a link, and saves a second one only after confirming it is another household; a report waiting
    for its household can be linked to the recorded one from there instead."""
    cw = b.user("caseworker", [d])
    old = b.household(d, "경기도 의정부시 송산로 547번길 3", "2층", name="김영희")
    b.household(d, "경기도 의정부시 송산로 547번길 3", "3층")  # upstairs: a different household
    from volnet.households.models import Household
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    citizen = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                              location_text="빌라 2층"), None)[0]
    db.session.commit()
    b.login(client, cw)
    form = {"dong_id": d.id, "road_address": "경기도 의정부시 송산로547길 3", "unit": "2 층",
            "sex": "unknown", "age_band": "60s", "status": "active"}
    r = client.post(f"/households/new?link_concern={citizen.concern_id}", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "이 동에 같은 주소의 가구가 이미 등록되어 있습니다." in page
    assert f'href="/households/{old.id}"' in page and "김영희" in page
    assert page.count('name="household_id"') == 1  # link to the one on the 2nd floor, not the 3rd
    assert db.session.scalar(select(func.count()).select_from(Household)) == 2
    assert db.session.get(Concern, citizen.concern_id).household_id is None

    r = client.post(f"/concerns/{citizen.concern_id}/link", data={"household_id": old.id})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Concern, citizen.concern_id).household_id == old.id

    r = client.post("/households/new", data={**form, "same_address_ok": "y", "name": "박철수"})
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Household)) == 3


def test_moving_a_household_to_a_recorded_address_is_asked_first(app, client, d):
    cw = b.user("caseworker", [d])
    there = b.household(d, "송산로 10", "", name="이순자")
    h = b.household(d, "송산로 20", "")
    db.session.commit()
    b.login(client, cw)
    form = {"dong_id": d.id, "road_address": "송산로 20", "unit": "", "sex": "unknown", "age_band": "unknown",
            "lives_alone": "", "status": "active", "name": "최민수"}
    assert client.post(f"/households/{h.id}/edit", data=form).status_code == 302  # its own address: no question
    r = client.post(f"/households/{h.id}/edit", data={**form, "road_address": "송산로10"})
    assert r.status_code == 400 and f'href="/households/{there.id}"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(h), h.id).road_address == "송산로 20"
    r = client.post(f"/households/{h.id}/edit", data={**form, "road_address": "송산로10", "same_address_ok": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(h), h.id).road_address == "송산로10"


def test_one_open_concern_even_when_two_reports_race(app, d):
    """The partial unique index keeps one open concern per household."""
    from sqlalchemy.exc import IntegrityError

    h = b.household(d)
    b.observation(h)
    dup = Concern(dong_id=d.id, household_id=h.id, status="new")
    db.session.add(dup)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("page", ["concern", "household"])
def test_timeline_pages_take_the_same_statements_however_long_the_history(app, client, d, page):
    # The timeline loads its events with their actors and reports in one statement, and only the fields it
    # shows: a field it shows but did not load would cost a query per event on a long history.
    from volnet.accounts.models import User
    from volnet.households.models import Household

    cw = b.user("caseworker", [d], name="김민수")
    reporters = [b.user("honorary", [d], name=f"제보자{i}") for i in range(3)]
    h = b.household(d)
    cw_id, reporter_ids, h_id = cw.id, [r.id for r in reporters], h.id
    db.session.commit()

    def add_history(n):
        h, cw = db.session.get(Household, h_id), db.session.get(User, cw_id)
        for i in range(n):
            o = b.observation(h, db.session.get(User, reporter_ids[i % 3]), meals="poor", hygiene="poor",
                              note=f"메모{i}번", location_text="현관 앞", contact="010-1234-5678",
                              signals=("mail_piling", "smell_insects") if i == 13 else ("mail_piling",))
            concern_ids.append(o.concern_id)
            if i % 4 == 3:  # closed ones: the next report opens another concern of the same household
                services.close(db.session.get(Concern, o.concern_id), cw, "no_risk", "")
        db.session.commit()
        return o.concern_id

    def render(concern_id):
        return b.page_statements(client, f"/concerns/{concern_id}" if page == "concern" else f"/households/{h_id}")

    concern_ids: list[int] = []
    b.login(client, cw)
    short, _body = render(add_history(2))
    long_, body = render(add_history(14))
    assert long_ == short
    for i in (0, 9, 13):
        assert f"메모{i}번" in body
    assert "제보자0" in body and "제보자2" in body and "현관 앞" in body
    assert "우편물·고지서 적체, " in body  # the signals of the last report, by their labels
    # Events of the household's earlier concerns link to them (all of them, on the household page).
    earlier = [cid for cid in dict.fromkeys(concern_ids) if cid != concern_ids[-1]]
    assert len(earlier) >= 3
    for cid in earlier:
        assert f'<a href="/concerns/{cid}">#{cid}</a>' in body


def test_the_concern_page_loads_its_household_dong_and_owner_with_the_concern(app, client, d):
    """What the page shows of the concern's relations comes in the statement that loads the concern
    (not one query each as the template reaches them), and the page shows all of it."""
    viewer = b.user("caseworker", [d], name="김민수")
    owner = b.user("caseworker", [d], name="이담당")
    h = b.household(d, "경기도 의정부시 송산로 12", "101동 1203호", name="박명자")
    o = b.observation(h)
    services.assign(db.session.get(Concern, o.concern_id), owner, owner)
    db.session.commit()
    dong_name, concern_id, h_id = d.name, o.concern_id, h.id
    b.login(client, viewer)
    sent, body = b.page_sql(client, f"/concerns/{concern_id}")
    assert "송산로 12 101동 1203호" in body and "박명자" in body and dong_name in body and "이담당" in body
    lazy = [s for s in sent if s.lstrip().upper().startswith(("SELECT HOUSEHOLDS", "SELECT DONGS"))]
    assert lazy == []
    # the only read of a user by id is the signed-in one (with their unread alerts)
    assert [s for s in sent if "FROM users" in s and "WHERE users.id =" in s and "notification_outbox" not in s] == []
    sent, body = b.page_sql(client, f"/households/{h_id}")  # the household page: its dong with it
    assert dong_name in body and [s for s in sent if s.lstrip().upper().startswith("SELECT DONGS")] == []
