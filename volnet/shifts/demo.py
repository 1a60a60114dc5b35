"""Demo shifts: 송산종합사회복지관 runs side-dish delivery, lunch boxes and home cleaning in 송산3동."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from volnet.accounts.models import User
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts import services as svc
from volnet.shifts.models import Program, RouteStop, ShiftOccurrence, Signup, VolunteerProfile

VOLUNTEERS = [("volunteer2", "김하은", "f", True), ("volunteer3", "박준호", "m", False),
              ("volunteer4", "이수민", "f", False), ("volunteer5", "최정우", "m", True)]


def _at(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm)).replace(tzinfo=clock.SEOUL).astimezone(UTC)


def build(context) -> None:
    dong, users, households, orgs, rng = (context["dong"], context["users"], context["households"],
                                          context["orgs"], context["rng"])
    org = orgs["welfare_centre"]
    coordinator = users["coordinator"]
    coordinator.organization_id = org.id
    vols = [users["volunteer"]]
    db.session.add(VolunteerProfile(user_id=users["volunteer"].id, has_car=True, sex="f"))
    for login, name, sex, car in VOLUNTEERS:
        u = db.session.scalar(select(User).where(User.login_id == login))
        if u is None:
            u = User(login_id=login, name=name, role="volunteer", organization_id=orgs["volunteer_centre"].id,
                     phone=f"010{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}",
                     pledge_accepted_at=clock.now() - timedelta(days=20), dongs=[dong])
            u.password_hash = users["volunteer"].password_hash
            db.session.add(u)
            db.session.flush()
            db.session.add(VolunteerProfile(user_id=u.id, has_car=car, sex=sex))
        vols.append(u)
    db.session.flush()
    programs = {
        "side_dishes": Program(organization_id=org.id, dong_id=dong.id, service="side_dishes",
                               name="화요일 반찬 배달", description="복지관 조리실에서 반찬을 받아 홀몸 어르신 댁에 전해 드립니다.",
                               cancel_cutoff_hours=24),
        "lunch_boxes": Program(organization_id=org.id, dong_id=dong.id, service="lunch_boxes",
                               name="목요일 도시락 나눔", cancel_cutoff_hours=12),
        "home_cleaning": Program(organization_id=org.id, dong_id=dong.id, service="home_cleaning",
                                 name="홈클리닝 (둘째 토요일)", cancel_cutoff_hours=48),
        "bedding": Program(organization_id=org.id, dong_id=dong.id, service="bedding_laundry",
                           name="이불 빨래 봉사", cancel_cutoff_hours=24),
    }
    db.session.add_all(programs.values())
    db.session.flush()
    today = clock.seoul_today()
    nxt_tue = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    nxt_thu = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    route = [{"household_id": h.id, "note": ""} for h in households[:6]]
    s1 = svc.create_series(programs["side_dishes"], coordinator, _at(nxt_tue, 10), _at(nxt_tue, 12),
                           "FREQ=WEEKLY;BYDAY=TU", meeting_place="송산종합사회복지관 1층 조리실", capacity=3,
                           requirements=["car"], note="보냉가방을 챙겨 주세요.")
    s1.route = route
    for occ in db.session.scalars(select(ShiftOccurrence).where(ShiftOccurrence.series_id == s1.id)):
        for pos, stop in enumerate(route):
            db.session.add(RouteStop(occurrence_id=occ.id, household_id=stop["household_id"], position=pos))
    svc.create_series(programs["lunch_boxes"], coordinator, _at(nxt_thu, 11, 30), _at(nxt_thu, 13),
                      "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", meeting_place="송산3동 행정복지센터 앞", capacity=4)
    first = nxt_tue.replace(day=1) + timedelta(days=32)
    first = first.replace(day=1)
    sat = next(first + timedelta(days=i) for i in range(7, 14) if (first + timedelta(days=i)).weekday() == 5)
    svc.create_series(programs["home_cleaning"], coordinator, _at(sat, 9), _at(sat, 13),
                      "FREQ=MONTHLY;BYDAY=+2SA", meeting_place="복지관 주차장", capacity=2,
                      requirements=["women_only"], note="장갑과 마스크는 복지관에서 드립니다.")
    svc.create_one_off(programs["bedding"], coordinator, _at(today + timedelta(days=3), 14),
                       _at(today + timedelta(days=3), 17), meeting_place="송산빨래방", capacity=2)
    db.session.flush()
    # Sign-ups: the first Tuesday is full with one person waiting; the demo volunteer has a place.
    occs = list(db.session.scalars(select(ShiftOccurrence).order_by(ShiftOccurrence.starts_at)))
    tue = [o for o in occs if o.program_id == programs["side_dishes"].id]
    for v in (vols[0], vols[4], vols[1]):
        db.session.add(VolunteerProfile(user_id=v.id, has_car=True, sex="f")) if db.session.get(
            VolunteerProfile, v.id) is None else None
    for o in tue[:1]:
        for v in vols[:3] + [vols[4]]:
            prof = db.session.get(VolunteerProfile, v.id)
            prof.has_car = True
            db.session.flush()
            svc.sign_up(o, v)
    for o in tue[1:3]:
        svc.sign_up(o, vols[0])
    for o in occs:
        if o.program_id == programs["lunch_boxes"].id:
            svc.sign_up(o, vols[2])
            break
    # Last month: attended shifts for the hours page.
    for weeks in (1, 2, 3, 4):
        day = nxt_tue - timedelta(days=7 * weeks)
        past = ShiftOccurrence(program_id=programs["side_dishes"].id, starts_at=_at(day, 10), ends_at=_at(day, 12),
                               meeting_place="송산종합사회복지관 1층 조리실", capacity=3, filled=2, status="scheduled",
                               requirements=[], created_at=clock.now(), updated_at=clock.now())
        db.session.add(past)
        db.session.flush()
        for v, came in ((vols[0], True), (vols[1], weeks != 2)):
            db.session.add(Signup(occurrence_id=past.id, volunteer_id=v.id, status="confirmed",
                                  queued_at=past.starts_at - timedelta(days=3), attended=came,
                                  minutes=120 if came else 0, created_at=clock.now(), updated_at=clock.now()))
    db.session.flush()
