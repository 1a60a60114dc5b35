"""Builders for shift tests. They flush, never commit."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tests import builders as b
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts import services as svc
from volnet.shifts.models import Program, RouteStop, ShiftOccurrence, VolunteerProfile


def seoul(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=clock.SEOUL).astimezone(UTC)


def world():
    """A dong, a welfare centre with its coordinator, and a program."""
    d = b.dong()
    org = b.organization("welfare_centre", d, name="송산종합사회복지관")
    coord = b.user("coordinator", dongs=[d], org=org, name="권미경")
    p = program(org, d)
    return d, org, coord, p


def program(org, d, **kw) -> Program:
    p = Program(organization_id=org.id, dong_id=d.id, service=kw.pop("service", "side_dishes"),
                name=kw.pop("name", "화요일 반찬 배달"), cancel_cutoff_hours=kw.pop("cutoff", 24), **kw)
    db.session.add(p)
    db.session.flush()
    return p


def volunteer(d, *, car=False, sex="unknown", **kw):
    u = b.user("volunteer", dongs=[d], **kw)
    if car or sex != "unknown":
        db.session.add(VolunteerProfile(user_id=u.id, has_car=car, sex=sex))
        db.session.flush()
    return u


def occurrence(p, *, in_hours=72, hours=2, capacity=2, **kw) -> ShiftOccurrence:
    start = kw.pop("starts_at", None) or (clock.now() + timedelta(hours=in_hours)).replace(microsecond=0)
    o = ShiftOccurrence(program_id=p.id, starts_at=start, ends_at=start + timedelta(hours=hours),
                        meeting_place=kw.pop("meeting_place", "복지관 1층"), capacity=capacity, filled=0,
                        requirements=kw.pop("requirements", []), status="scheduled",
                        created_at=clock.now(), updated_at=clock.now(), **kw)
    db.session.add(o)
    db.session.flush()
    return o


def stop(o, h, pos=1, note="") -> RouteStop:
    s = RouteStop(occurrence_id=o.id, household_id=h.id, position=pos, note=note)
    db.session.add(s)
    db.session.flush()
    return s


def signed(o, v):
    s = svc.sign_up(o, v)
    db.session.flush()
    return s


def at_local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm)).replace(tzinfo=clock.SEOUL).astimezone(UTC)
