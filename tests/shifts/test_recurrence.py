"""Recurrence in Seoul wall-clock time: month ends, nth weekdays, edited and cancelled occurrences."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts import recurrence
from volnet.shifts import services as svc
from volnet.shifts.models import ShiftOccurrence


def local(dt):
    return clock.to_seoul(dt).replace(tzinfo=None)


def expand(rule, start, days=120):
    return [local(x) for x in recurrence.occurrences(rule, start, start, start + timedelta(days=days))]


def test_weekly_crosses_month_end_keeping_seoul_wall_clock():
    got = expand("FREQ=WEEKLY;BYDAY=TU", sb.seoul(2026, 1, 27, 9), days=40)
    assert got[:3] == [datetime(2026, 1, 27, 9), datetime(2026, 2, 3, 9), datetime(2026, 2, 10, 9)]
    # Stored as UTC: 09:00 KST is 00:00 UTC all year (Korea has no daylight saving time).
    utc = recurrence.occurrences("FREQ=WEEKLY;BYDAY=TU", sb.seoul(2026, 1, 27, 9), sb.seoul(2026, 1, 1),
                                 sb.seoul(2026, 12, 31))
    assert len(utc) == 49 and {x.hour for x in utc} == {0} and {local(x).hour for x in utc} == {9}


def test_every_other_week():
    got = expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", sb.seoul(2026, 1, 29, 11, 30), days=30)
    assert got == [datetime(2026, 1, 29, 11, 30), datetime(2026, 2, 12, 11, 30), datetime(2026, 2, 26, 11, 30)]


def test_second_tuesday_monthly():
    day = sb.seoul(2026, 1, 13, 10)
    rule = recurrence.build_rule("monthly_nth", local(day).date())
    assert rule == "FREQ=MONTHLY;BYDAY=+2TU"
    assert expand(rule, day, days=100)[:4] == [datetime(2026, 1, 13, 10), datetime(2026, 2, 10, 10),
                                               datetime(2026, 3, 10, 10), datetime(2026, 4, 14, 10)]


def test_fifth_weekday_becomes_last_weekday():
    rule = recurrence.build_rule("monthly_nth", datetime(2026, 1, 30).date())  # 5th Friday of January
    assert rule == "FREQ=MONTHLY;BYDAY=-1FR"
    got = expand(rule, sb.seoul(2026, 1, 30, 14), days=70)
    assert got == [datetime(2026, 1, 30, 14), datetime(2026, 2, 27, 14), datetime(2026, 3, 27, 14)]


def test_31st_skips_short_months_and_leap_day():
    got = expand("FREQ=MONTHLY;BYMONTHDAY=31", sb.seoul(2026, 1, 31, 9), days=100)
    assert got == [datetime(2026, 1, 31, 9), datetime(2026, 3, 31, 9)]
    feb = expand("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", sb.seoul(2028, 2, 29, 9), days=365 * 5)
    assert feb == [datetime(2028, 2, 29, 9), datetime(2032, 2, 29, 9)]


def test_until_is_inclusive_local_date():
    rule = recurrence.build_rule("weekly", datetime(2026, 3, 3).date(), until=datetime(2026, 3, 17).date())
    assert expand(rule, sb.seoul(2026, 3, 3, 18)) == [datetime(2026, 3, 3, 18), datetime(2026, 3, 10, 18),
                                                      datetime(2026, 3, 17, 18)]


@pytest.mark.parametrize("bad", ["", "FREQ=SOMETIMES", "BYDAY=TU", "FREQ=MINUTELY", "FREQ=HOURLY;INTERVAL=1",
                                 "FREQ=WEEKLY;UNTIL=20200101T000000", "FREQ=WEEKLY;BYDAY=XX",
                                 "FREQ=WEEKLY\nBYDAY=TU", "FREQ=MONTHLY;BYMONTHDAY=32", "x" * 400,
                                 "FREQ=WEEKLY;UNTIL=20270101T000000Z"])
def test_malformed_rules_are_refused_with_a_message(bad):
    with pytest.raises(recurrence.RuleError) as exc:
        recurrence.parse(bad, datetime(2026, 3, 3, 9))
    assert exc.value.args[0]


def test_edited_and_cancelled_occurrences_survive_regeneration(app):
    clock.freeze(sb.seoul(2026, 1, 20, 8))
    d, org, coord, p = sb.world()
    series = svc.create_series(p, coord, sb.seoul(2026, 1, 27, 9), sb.seoul(2026, 1, 27, 11),
                               "FREQ=WEEKLY;BYDAY=TU", capacity=3)
    occs = list(db.session.scalars(select(ShiftOccurrence).where(ShiftOccurrence.series_id == series.id)
                                   .order_by(ShiftOccurrence.starts_at)))
    assert len(occs) >= 13 and all(local(o.starts_at).hour == 9 for o in occs)
    moved, gone = occs[1], occs[2]
    svc.update_occurrence(moved, coord, starts_at=sb.seoul(2026, 2, 4, 14), ends_at=sb.seoul(2026, 2, 4, 16),
                          meeting_place="송산3동 행정복지센터", capacity=3)
    svc.cancel_occurrence(gone, coord, "설 연휴")
    db.session.commit()
    # The horizon moves on a month: regeneration adds new dates and leaves the exceptions alone.
    clock.freeze(sb.seoul(2026, 2, 1, 8))
    assert svc.materialise(series, until=sb.seoul(2026, 6, 30))
    svc.materialise(series, until=sb.seoul(2026, 6, 30))  # twice: nothing new
    db.session.commit()
    rows = list(db.session.scalars(select(ShiftOccurrence).where(ShiftOccurrence.series_id == series.id)))
    originals = [r.original_start for r in rows]
    assert len(originals) == len(set(originals))
    db.session.refresh(moved)
    db.session.refresh(gone)
    assert moved.is_exception and local(moved.starts_at) == datetime(2026, 2, 4, 14)
    assert moved.meeting_place == "송산3동 행정복지센터" and moved.sequence == 1
    assert gone.status == "cancelled" and gone.is_exception
    # Series-wide change: followers change, the edited one keeps its own place.
    svc.update_series(series, coord, meeting_place="복지관 주차장", capacity=4)
    db.session.commit()
    db.session.refresh(moved)
    assert moved.meeting_place == "송산3동 행정복지센터"
    later = db.session.scalar(select(ShiftOccurrence).where(ShiftOccurrence.series_id == series.id,
                                                            ShiftOccurrence.starts_at > sb.seoul(2026, 3, 1)).limit(1))
    assert later.meeting_place == "복지관 주차장" and later.capacity == 4 and not later.is_exception


def test_series_in_the_past_or_without_dates_is_refused(app):
    clock.freeze(sb.seoul(2026, 3, 1, 8))
    d, org, coord, p = sb.world()
    with pytest.raises(svc.ShiftError):
        svc.create_series(p, coord, sb.seoul(2026, 2, 3, 9), sb.seoul(2026, 2, 3, 11), "FREQ=WEEKLY")
    with pytest.raises(svc.ShiftError):
        svc.create_series(p, coord, sb.seoul(2026, 3, 3, 9), sb.seoul(2026, 3, 3, 11), "FREQ=WEEKLY;COUNT=0")


def test_a_series_route_leaves_out_a_household_erased_since(app):
    """A household on a series' route is erased (privacy request) before the later shifts exist: the new
    shifts get the rest of the route, in order, and no stop that points nowhere."""
    from tests.builders import household
    from volnet.privacy.services import erase_household
    from volnet.shifts.models import RouteStop

    clock.freeze(sb.seoul(2026, 1, 20, 8))
    d, org, coord, p = sb.world()
    kept, gone = household(d), household(d, road="경기도 의정부시 송산로 200")
    series = svc.create_series(p, coord, sb.seoul(2026, 1, 27, 9), sb.seoul(2026, 1, 27, 11),
                               "FREQ=WEEKLY;BYDAY=TU", capacity=3)
    db.session.execute(delete(RouteStop))  # no stop written yet: the route lives only in the series
    series.route = [{"household_id": gone.id, "note": ""}, {"household_id": kept.id, "note": "2층"}]
    db.session.flush()
    assert erase_household(gone) == "erased"
    clock.freeze(sb.seoul(2026, 3, 1, 8))
    created = svc.materialise(series, until=sb.seoul(2026, 6, 30))
    db.session.commit()
    assert created
    for occ in created:
        stops = list(db.session.scalars(select(RouteStop).where(RouteStop.occurrence_id == occ.id)))
        assert [(s.household_id, s.position, s.note) for s in stops] == [(kept.id, 1, "2층")]


@pytest.mark.parametrize(("rule", "ko", "en"), [
    ("FREQ=MONTHLY;BYDAY=+2SA", "매월 둘째 토요일", "Monthly, second Saturday"),
    ("FREQ=MONTHLY;BYDAY=1TU", "매월 첫째 화요일", "Monthly, first Tuesday"),
    ("FREQ=MONTHLY;BYDAY=+3WE", "매월 셋째 수요일", "Monthly, third Wednesday"),
    ("FREQ=MONTHLY;BYDAY=+4TH", "매월 넷째 목요일", "Monthly, fourth Thursday"),
    ("FREQ=MONTHLY;BYDAY=-1FR", "매월 마지막 금요일", "Monthly, last Friday"),
])
def test_monthly_nth_weekday_reads_as_the_nth_weekday(app, rule, ko, en):
    """BYDAY=2SA is the second Saturday of the month: '매월 둘째 토요일', not '매월 2째 주 토요일'."""
    from flask_babel import force_locale

    with app.test_request_context("/"):
        with force_locale("ko"):
            assert recurrence.describe(rule) == ko
        with force_locale("en"):
            assert recurrence.describe(rule) == en


def test_a_rule_it_cannot_name_reads_custom_repeat_not_the_rule(app):
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale("ko"):
        assert recurrence.describe("FREQ=MONTHLY;BYDAY=+5SA") == "사용자 지정 반복"
        assert recurrence.describe("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2SA") == "사용자 지정 반복"
        assert recurrence.describe("FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO,TU,WE,TH,FR") == "사용자 지정 반복"
