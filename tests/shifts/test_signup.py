"""Sign-up rules: places, waiting list, promotion, cut-off, offering a place, overlaps, requirements."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts import services as svc
from volnet.shifts.models import Signup


def test_full_shift_puts_people_on_the_waiting_list_and_promotes_in_order(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, capacity=1)
    a, b_, c = (sb.volunteer(d, name=n) for n in ("가나", "다라", "마바"))
    assert sb.signed(o, a).status == "confirmed"
    assert sb.signed(o, b_).status == "waitlisted"
    assert sb.signed(o, c).status == "waitlisted"
    db.session.commit()
    promoted = svc.cancel_signup(db.session.scalar(select(Signup).where(Signup.volunteer_id == a.id)), a)
    db.session.commit()
    assert promoted.volunteer_id == b_.id and promoted.status == "confirmed" and promoted.stepped_in_for_id is None
    db.session.refresh(o)
    assert o.filled == 1
    statuses = dict(db.session.execute(select(Signup.volunteer_id, Signup.status)).all())
    assert statuses == {a.id: "cancelled", b_.id: "confirmed", c.id: "waitlisted"}


def test_signing_up_twice_and_again_after_cancelling(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, capacity=2)
    v = sb.volunteer(d)
    s = sb.signed(o, v)
    with pytest.raises(svc.ShiftError, match="already"):
        svc.sign_up(o, v)
    svc.cancel_signup(s, v)
    again = sb.signed(o, v)
    assert again.id == s.id and again.status == "confirmed"
    db.session.refresh(o)
    assert o.filled == 1


def test_cut_off_and_offering_the_place(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=10, capacity=1)  # cut-off 24 h: already passed
    a, w = sb.volunteer(d, name="김하은"), sb.volunteer(d, name="박준호")
    sa = sb.signed(o, a)
    db.session.commit()
    with pytest.raises(svc.ShiftError, match="hours before"):
        svc.cancel_signup(sa, a)
    with pytest.raises(svc.ShiftError, match="waiting list"):  # nobody waiting: the place stays
        svc.cancel_signup(sa, a, offer=True)
    db.session.rollback()
    sa = db.session.get(Signup, sa.id)
    assert sa.status == "confirmed"
    sb.signed(o, w)
    promoted = svc.cancel_signup(sa, a, offer=True)
    db.session.commit()
    assert promoted.volunteer_id == w.id and promoted.stepped_in_for_id == a.id
    assert db.session.get(Signup, sa.id).status == "cancelled"


def test_overlapping_shifts_past_shifts_and_requirements(app):
    d, org, coord, p = sb.world()
    v = sb.volunteer(d)
    o1 = sb.occurrence(p, in_hours=50, hours=2)
    o2 = sb.occurrence(p, in_hours=51, hours=2)
    sb.signed(o1, v)
    with pytest.raises(svc.ShiftError, match="already have a shift"):
        svc.sign_up(o2, v)
    past = sb.occurrence(p, in_hours=-1)
    with pytest.raises(svc.ShiftError, match="started"):
        svc.sign_up(past, v)
    car = sb.occurrence(p, in_hours=100, requirements=["car"])
    with pytest.raises(svc.ShiftError, match="car"):
        svc.sign_up(car, v)
    women = sb.occurrence(p, in_hours=120, requirements=["women_only"])
    with pytest.raises(svc.ShiftError, match="women"):
        svc.sign_up(women, sb.volunteer(d, sex="m"))
    assert sb.signed(women, sb.volunteer(d, sex="f")).status == "confirmed"


def test_places_cannot_go_below_sign_ups_and_more_places_promote(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, capacity=2)
    vs = [sb.volunteer(d) for _ in range(3)]
    for v in vs:
        sb.signed(o, v)
    db.session.commit()
    with pytest.raises(svc.ShiftError, match="already signed up"):
        svc.set_capacity(o, 1)
    db.session.rollback()
    svc.set_capacity(o, 3)
    db.session.commit()
    assert {s.status for s in db.session.scalars(select(Signup))} == {"confirmed"}
    assert o.filled == 3


def test_cancelled_occurrence_takes_no_sign_ups(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p)
    svc.cancel_occurrence(o, coord, "우천")
    with pytest.raises(svc.ShiftError):
        svc.sign_up(o, sb.volunteer(d))


def test_attendance_and_monthly_hours(app):
    clock.freeze(sb.seoul(2026, 3, 2, 9))
    d, org, coord, p = sb.world()
    v = sb.volunteer(d)
    o1 = sb.occurrence(p, starts_at=sb.seoul(2026, 3, 3, 10), hours=2)
    o2 = sb.occurrence(p, starts_at=sb.seoul(2026, 3, 31, 22), hours=3)  # ends in April, counts for March
    s1, s2 = sb.signed(o1, v), sb.signed(o2, v)
    with pytest.raises(svc.ShiftError):
        svc.mark_attendance(o1, coord, {s1.id: True})
    clock.freeze(sb.seoul(2026, 4, 2, 9))
    svc.mark_attendance(o1, coord, {s1.id: True})
    svc.mark_attendance(o2, coord, {s2.id: True})
    db.session.commit()
    assert svc.monthly_hours(v) == [("2026-03", 5.0, 2)]
    csv = svc.hours_csv(svc.attended_rows(volunteer_ids=[v.id]), with_person=False).decode("utf-8")
    assert csv.startswith("\ufeff") and "2026-03-31" in csv


def test_csv_cells_are_neutralised():
    from volnet.core.csvutil import safe_cell as csv_cell  # the one shared writer

    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+82") == "'+82" and csv_cell("@x") == "'@x" and csv_cell("-1") == "'-1"
    assert csv_cell("김영희") == "김영희"
    assert svc.to_csv(["a"], [["=1+1"]]).decode("utf-8") == "\ufeffa\r\n'=1+1\r\n"


def test_copy_last_month_same_weekday(app):
    clock.freeze(sb.seoul(2026, 3, 20, 9))
    d, org, coord, p = sb.world()
    h = __import__("tests.builders", fromlist=["household"]).household(d)
    o = sb.occurrence(p, starts_at=sb.seoul(2026, 3, 10, 10))  # 2nd Tuesday of March
    sb.stop(o, h)
    sb.occurrence(p, starts_at=sb.seoul(2026, 3, 31, 10))  # 5th Tuesday: April has none -> last Tuesday
    copied, skipped = svc.copy_month(coord, 2026, 4)
    db.session.commit()
    assert (copied, skipped) == (2, 0)
    assert svc.copy_month(coord, 2026, 4) == (0, 2)  # idempotent
    from volnet.shifts.models import ShiftOccurrence

    starts = sorted(clock.to_seoul(x.starts_at).date().isoformat() for x in db.session.scalars(
        select(ShiftOccurrence).where(ShiftOccurrence.starts_at > sb.seoul(2026, 4, 1))))
    assert starts == ["2026-04-14", "2026-04-28"]
    new = db.session.scalar(select(ShiftOccurrence).where(ShiftOccurrence.starts_at == sb.seoul(2026, 4, 14, 10)))
    assert [s.household_id for s in svc.stops_of(new)] == [h.id]


def test_unfilled_alert_once(app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=40, capacity=2)
    sb.occurrence(p, in_hours=100, capacity=2)  # outside the 48 h window
    assert svc.check_unfilled() == 1
    assert svc.check_unfilled() == 0
    db.session.refresh(o)
    assert o.unfilled_alerted_at is not None
