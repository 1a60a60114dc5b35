"""Merging two records of one household: everything moves to the record kept, the duplicate is deleted."""
from datetime import date

import pytest
from sqlalchemy import ForeignKey, func, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.audit.models import AuditLog
from volnet.calls import services as calls
from volnet.calls.models import CallEnrollment, CallRecord
from volnet.cases import services as cases
from volnet.cases.models import Case
from volnet.concerns import services as concerns
from volnet.concerns.models import OPEN_STATUSES, Concern, ConcernEvent
from volnet.extensions import db
from volnet.households import merge as merging
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.risk import indicators
from volnet.risk.models import (
    CrisisRow,
    HouseholdIndicator,
    HouseholdRrnHash,
    IndicatorType,
    Screening,
    TierChange,
)
from volnet.shifts.models import RouteStop, ShiftSeries


@pytest.fixture
def world(app):
    d = b.dong(name="송산3동")
    cw = b.user("caseworker", [d], name="박민수")
    keep = b.household(d, road="경기도 의정부시 송산로 100", unit="101동 202호", name="김영희", tong=3)
    dup = b.household(d, road="경기도 의정부시 송산로 100", unit="101-202", phone="01012345678",
                      birth_date=date(1948, 3, 1), lives_alone=True, sex="f", tier="daily_risk")
    db.session.commit()
    return {"d": d, "cw": cw, "keep": keep, "dup": dup}


def _merge(dup_id, keep_id, actor):
    dup, keep = merging.lock(dup_id, keep_id)
    merging.merge(dup, keep, actor)
    db.session.commit()


def _count(model, **where):
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return db.session.scalar(stmt)


def test_everything_recorded_about_the_duplicate_moves_to_the_record_kept(world):
    d, cw, keep, dup = world["d"], world["cw"], world["keep"], world["dup"]
    keep_id, dup_id = keep.id, dup.id
    reports = [b.observation(keep, signals=["mail_piling"]), b.observation(dup)]
    concerns.close(db.session.get(Concern, reports[-1].concern_id), cw, "no_concern", "")
    reports.append(b.observation(dup, signals=["no_support"]))
    case = cases.open_case(concerns.open_concern_for(dup.id), cw, "사례")  # closes that concern
    reports.append(b.observation(dup, urgency="urgent", signals=["smell_insects"]))
    report_ids = [o.id for o in reports]
    enr = calls.enroll(cw, dup, b.user("volunteer", [d]), None)
    db.session.add(CallRecord(household_id=dup.id, dong_id=d.id, enrollment_id=enr.id, outcome="answered_ok"))
    indicators.seed()
    db.session.flush()
    t1, t2 = db.session.scalars(select(IndicatorType.id).order_by(IndicatorType.id).limit(2))
    db.session.add_all([
        CrisisRow(round_id=1, row_number=1, natural_key="k1", household_id=dup.id),
        HouseholdIndicator(household_id=keep.id, indicator_type_id=t1, round_id=1, observed_on=date(2026, 11, 1)),
        HouseholdIndicator(household_id=dup.id, indicator_type_id=t1, round_id=1, observed_on=date(2026, 11, 1)),
        HouseholdIndicator(household_id=dup.id, indicator_type_id=t2, round_id=1, observed_on=date(2026, 11, 1)),
        HouseholdRrnHash(household_id=keep.id, dong_id=d.id, rrn_hash="a" * 64),
        HouseholdRrnHash(household_id=dup.id, dong_id=d.id, rrn_hash="a" * 64),
        HouseholdRrnHash(household_id=dup.id, dong_id=d.id, rrn_hash="b" * 64),
        Screening(household_id=dup.id, dong_id=d.id, kind="ucla3", answers={}, total=3, level="low"),
        TierChange(household_id=dup.id, from_tier="unassessed", to_tier="daily_risk"),
    ])
    org = b.organization("welfare_centre", d)
    p = sb.program(org, d)
    both, only_dup = sb.occurrence(p), sb.occurrence(p, in_hours=96)
    sb.stop(both, keep, 1)
    sb.stop(both, dup, 2)
    sb.stop(only_dup, dup, 1)
    series = ShiftSeries(program_id=p.id, rrule="FREQ=WEEKLY", dtstart=both.starts_at, duration_minutes=60,
                         route=[{"household_id": dup.id, "note": "2층"}, {"household_id": 999999, "note": ""}])
    db.session.add(series)
    db.session.commit()

    _merge(dup_id, keep_id, cw)

    db.session.expire_all()
    assert db.session.get(Household, dup_id) is None
    kept = db.session.get(Household, keep_id)
    # empty fields filled from the duplicate, its own kept; the higher tier
    assert (kept.name, kept.phone, kept.birth_date, kept.lives_alone, kept.sex, kept.unit) == \
        ("김영희", "01012345678", date(1948, 3, 1), True, "f", "101동 202호")
    assert kept.tier == "daily_risk"
    # one open concern (the two merged, the more urgent urgency), the closed one moved too
    mine = list(db.session.scalars(select(Concern).where(Concern.household_id == keep_id)))
    assert len([c for c in mine if c.status in OPEN_STATUSES]) == 1
    open_one = next(c for c in mine if c.status in OPEN_STATUSES)
    assert open_one.urgency == "urgent"
    assert sorted(c.status for c in mine if c.status not in OPEN_STATUSES) == ["closed", "closed", "merged"]
    assert {c.tong for c in mine} == {3}
    assert set(db.session.scalars(select(Observation.household_id).where(Observation.id.in_(report_ids)))) \
        == {keep_id}
    assert {report_ids[0], report_ids[-1]} <= set(db.session.scalars(
        select(Observation.id).where(Observation.concern_id == open_one.id)))
    kinds = set(db.session.scalars(select(ConcernEvent.kind).where(ConcernEvent.household_id == keep_id)))
    assert {"merged", "household_merged", "closed"} <= kinds
    assert db.session.get(Case, case.id).household_id == keep_id
    assert db.session.get(CallEnrollment, enr.id).household_id == keep_id
    assert _count(CallRecord, household_id=keep_id) == 1
    assert _count(CrisisRow, household_id=keep_id) == 1
    assert _count(HouseholdIndicator, household_id=keep_id) == 2  # the same round's twin dropped
    assert _count(HouseholdRrnHash, household_id=keep_id) == 2
    assert _count(Screening, household_id=keep_id) == _count(TierChange, household_id=keep_id) == 1
    for model in (Observation, Concern, ConcernEvent, CrisisRow, HouseholdIndicator, HouseholdRrnHash, RouteStop):
        assert _count(model, household_id=dup_id) == 0, model
    assert [s.household_id for s in db.session.scalars(select(RouteStop).where(RouteStop.occurrence_id == both.id))] \
        == [keep_id]  # the route visits the household once
    assert _count(RouteStop, occurrence_id=only_dup.id, household_id=keep_id) == 1
    assert db.session.get(ShiftSeries, series.id).route == [{"household_id": keep_id, "note": "2층"},
                                                           {"household_id": 999999, "note": ""}]


def test_a_series_route_that_visits_both_visits_the_kept_one_once(world):
    d, keep, dup = world["d"], world["keep"], world["dup"]
    p = sb.program(b.organization("welfare_centre", d), d)
    series = ShiftSeries(program_id=p.id, rrule="FREQ=WEEKLY", dtstart=sb.seoul(2026, 12, 8, 10),
                         duration_minutes=60, route=[{"household_id": keep.id, "note": ""},
                                                     {"household_id": dup.id, "note": "x"}])
    db.session.add(series)
    db.session.commit()
    _merge(dup.id, keep.id, world["cw"])
    db.session.expire_all()
    assert db.session.get(ShiftSeries, series.id).route == [{"household_id": keep.id, "note": ""}]


def test_two_open_cases_or_two_active_call_plans_are_refused_and_nothing_changes(world):
    d, cw, keep, dup = world["d"], world["cw"], world["keep"], world["dup"]
    for h in (keep, dup):
        b.observation(h)
        cases.open_case(concerns.open_concern_for(h.id), cw)
    db.session.commit()
    with pytest.raises(merging.MergeError, match="진행 중인 통합사례관리"):
        merging.merge(*merging.lock(dup.id, keep.id), cw)
    db.session.rollback()
    assert db.session.get(Household, dup.id) is not None
    assert _count(Concern, household_id=dup.id) == 1

    other = b.household(d, road="경기도 의정부시 송산로 200")
    twin = b.household(d, road="경기도 의정부시 송산로 200", unit="1층")
    caller = b.user("volunteer", [d])
    calls.enroll(cw, other, caller, None)
    calls.enroll(cw, twin, caller, None)
    db.session.commit()
    problems = merging.conflicts(twin, other)
    assert len(problems) == 1 and "진행 중인 안심콜" in str(problems[0])


def test_only_two_records_of_one_dong_can_be_merged(world):
    away = b.household(b.dong(), road="경기도 의정부시 호국로 1")
    assert "같은 동의 가구" in str(merging.conflicts(away, world["keep"])[0])
    assert "같은 가구 기록끼리는" in str(merging.conflicts(world["keep"], world["keep"])[0])


def test_every_table_that_refers_to_a_household_is_handled(app):
    referring = set()
    for table in db.metadata.tables.values():
        for col in table.columns:
            if col.name == "household_id" or any(isinstance(fk, ForeignKey) and fk.column.table.name == "households"
                                                 for fk in col.foreign_keys):
                referring.add(table.name)
    assert referring == set(merging.HANDLED)


# --- the page -----------------------------------------------------------------------------------------

def test_a_caseworker_finds_compares_and_merges_the_duplicate(world, client):
    cw, keep, dup = world["cw"], world["keep"], world["dup"]
    b.observation(dup, signals=["smell_insects"])
    db.session.commit()
    b.login(client, cw)
    assert "/merge" in client.get(f"/households/{keep.id}").get_data(as_text=True)
    page = client.get(f"/households/{keep.id}/merge?q=송산로 100").get_data(as_text=True)
    assert f"other={dup.id}" in page
    page = client.get(f"/households/{keep.id}/merge?other={dup.id}").get_data(as_text=True)
    assert "010-1234-5678" in page and "김영희" in page

    r = client.post(f"/households/{keep.id}/merge", data={"other_id": dup.id})
    assert r.status_code == 400
    assert "두 기록이 같은 가구인지 확인하고 체크하세요." in r.get_data(as_text=True)
    assert db.session.get(Household, dup.id) is not None

    r = client.post(f"/households/{keep.id}/merge", data={"other_id": dup.id, "confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/households/{keep.id}")
    page = client.get(f"/households/{keep.id}").get_data(as_text=True)
    assert f"#{dup.id}" in page and "101-202" in page  # the flash and the timeline line
    assert db.session.get(Household, dup.id) is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "merge",
                                                    AuditLog.subject_id == str(keep.id))) is not None


def test_a_refused_merge_says_why_and_offers_no_button(world, client):
    cw, keep, dup = world["cw"], world["keep"], world["dup"]
    caller = b.user("volunteer", [world["d"]])
    calls.enroll(cw, keep, caller, None)
    calls.enroll(cw, dup, caller, None)
    db.session.commit()
    b.login(client, cw)
    page = client.get(f"/households/{keep.id}/merge?other={dup.id}").get_data(as_text=True)
    assert "두 기록 모두 진행 중인 안심콜이 있습니다." in page
    assert 'name="confirm"' not in page
    r = client.post(f"/households/{keep.id}/merge", data={"other_id": dup.id, "confirm": "y"},
                    follow_redirects=True)
    assert db.session.get(Household, dup.id) is not None
    assert "두 기록 모두 진행 중인 안심콜이 있습니다." in r.get_data(as_text=True)


def test_another_dongs_household_is_neither_shown_nor_merged(world, client):
    away = b.household(b.dong(), road="경기도 의정부시 호국로 1", name="남의동사람")
    db.session.commit()
    b.login(client, world["cw"])
    page = client.get(f"/households/{world['keep'].id}/merge?other={away.id}").get_data(as_text=True)
    assert "남의동사람" not in page
    r = client.post(f"/households/{world['keep'].id}/merge", data={"other_id": away.id, "confirm": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, away.id) is not None
    r = client.post(f"/households/{away.id}/merge", data={"other_id": world["keep"].id, "confirm": "y"})
    assert r.status_code == 404
    assert db.session.get(Household, world["keep"].id) is not None


# --- the merged record's number -----------------------------------------------------------------------

def test_a_report_form_opened_before_the_merge_reaches_the_kept_record(world, client):
    d, keep, dup = world["d"], world["keep"], world["dup"]
    leader = b.user("tong_leader", [d])
    db.session.commit()
    b.login(client, leader)
    assert client.get(f"/report/new?household_id={dup.id}").status_code == 200
    _merge(dup.id, keep.id, world["cw"])
    r = client.get(f"/report/new?household_id={dup.id}&urgency=urgent")
    assert r.status_code == 302 and f"household_id={keep.id}" in r.headers["Location"] \
        and "urgency=urgent" in r.headers["Location"]
    r = client.post("/report/new", data={"household_id": dup.id, "dong_id": d.id, "urgency": "routine",
                                         "signals": "mail_piling", "client_token": "stale-form-1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    obs = db.session.scalar(select(Observation).where(Observation.client_token == "stale-form-1"))
    assert obs.household_id == keep.id
    assert db.session.get(Concern, obs.concern_id).household_id == keep.id


def test_a_report_written_while_its_household_is_merged_goes_to_the_kept_record(app, world, client, monkeypatch):
    # The report form found the duplicate; a caseworker's merge commits after the report was read and before
    # it is written (another request): the report is saved on the record kept, in the open concern that
    # moved there, instead of an error page.
    from volnet.accounts.models import User
    from volnet.observations import pg_submit

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no merge can commit inside a request")
    d, keep, dup = world["d"], world["keep"], world["dup"]
    leader = b.user("tong_leader", [d])
    first = b.observation(dup)  # the duplicate's open concern
    db.session.commit()
    keep_id, dup_id, concern_id, cw_id = keep.id, dup.id, first.concern_id, world["cw"].id
    b.login(client, leader)
    real = pg_submit.submit

    def merged_first(*args, **kwargs):
        with app.app_context():  # another request: the caseworker merges the two records and commits
            _merge(dup_id, keep_id, db.session.get(User, cw_id))
        return real(*args, **kwargs)

    monkeypatch.setattr(pg_submit, "submit", merged_first)
    d_id = d.id
    db.session.commit()  # the test holds no transaction: the request runs as in production (autocommit)
    r = client.post("/report/new", data={"household_id": dup_id, "dong_id": d_id, "urgency": "urgent",
                                         "signals": "smell_insects", "client_token": "during-merge"})
    assert r.status_code == 302 and "/report/sent/" in r.headers["Location"], r.get_data(as_text=True)[:500]
    db.session.expire_all()
    obs = db.session.scalar(select(Observation).where(Observation.client_token == "during-merge"))
    assert (obs.household_id, obs.concern_id) == (keep_id, concern_id)
    c = db.session.get(Concern, concern_id)
    assert (c.household_id, c.signal_count, c.urgency) == (keep_id, 2, "urgent")
    assert db.session.get(Household, dup_id) is None and _count(Observation, household_id=keep_id) == 2
    assert client.get(r.headers["Location"]).status_code == 200


def test_the_merged_records_page_leads_to_the_kept_one_for_those_who_may_see_it(app, world, client):
    keep, dup = world["keep"], world["dup"]
    later = b.household(world["d"], road="경기도 의정부시 송산로 100", unit="101동202호")
    db.session.commit()
    _merge(dup.id, keep.id, world["cw"])
    _merge(keep.id, later.id, world["cw"])  # and the kept one later into a third: both numbers lead there
    b.login(client, world["cw"])
    for old in (dup.id, keep.id):
        r = client.get(f"/households/{old}")
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/households/{later.id}")
    stranger = b.user("caseworker", [b.dong()])
    db.session.commit()
    other = app.test_client()
    b.login(other, stranger)
    assert other.get(f"/households/{dup.id}").status_code == 404


def test_a_merged_records_number_is_never_given_to_another_household(world):
    keep, dup = world["keep"], world["dup"]
    assert dup.id > keep.id  # the newest record: SQLite would give its number again
    dup_id = dup.id
    _merge(dup_id, keep.id, world["cw"])
    fresh = b.household(world["d"], road="경기도 의정부시 송산로 300")
    assert fresh.id > dup_id


def test_erasing_the_kept_record_removes_what_led_to_it(world):
    from volnet.households.models import MergedHousehold
    from volnet.privacy import services as privacy

    keep_id, dup_id = world["keep"].id, world["dup"].id
    _merge(dup_id, keep_id, world["cw"])
    assert privacy.erase_household(db.session.get(Household, keep_id)) == "erased"
    db.session.commit()
    assert db.session.get(MergedHousehold, dup_id) is None
    assert merging.merged_into(dup_id) is None
