"""Demo data: a realistic dong (의정부시 송산3동, 4115057800) with people, households and concerns."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from volnet.accounts import tongs
from volnet.accounts.models import Organization, User
from volnet.concerns import services as concerns
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations import services as observations
from volnet.observations.models import Observation
from volnet.places.models import Tong
from volnet.places.services import get_or_create

DEMO_PASSWORD = "volnet-demo-2026"  # noqa: S105 - printed for the demo only
DEMO_TONG = 7  # the tong leader's tong
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["영희", "철수", "순자", "정숙", "말순", "영수", "광호", "미경", "옥순", "병철", "현주", "동현", "길자",
         "춘자", "상철", "복순", "재석", "명자", "대호", "숙희"]
ROADS = ["송산로", "민락로", "용민로", "오목로", "동일로", "호국로 1234번길", "송산로 547번길", "민락로 52번길"]
UNITS = ["101동 1203호", "102동 304호", "지하 1층", "2층", "3층 302호", "B01호", "103동 1501호", "1층", "옥탑"]

PEOPLE = [
    ("admin", "관리자", "admin", None),
    ("teamlead", "박지현", "team_lead", "dong_centre"),
    ("caseworker", "김민수", "caseworker", "dong_centre"),
    ("caseworker2", "이서연", "caseworker", "dong_centre"),
    ("nurse", "최은정", "nurse", "dong_centre"),
    ("honorary", "정말순", "honorary", None),
    ("tongleader", "한상철", "tong_leader", None),
    ("carecorps", "윤복순", "care_corps", None),
    ("partner", "오대호", "partner", "apartment_office"),
    ("volunteer", "서하늘", "volunteer", "volunteer_centre"),
    ("coordinator", "권미경", "coordinator", "welfare_centre"),
]


def _name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def build(reset: bool = False, households: int = 120, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    if db.session.scalar(select(User.id).where(User.login_id == "caseworker")) is not None:
        if not reset:
            return [(role, login) for login, _n, role, _o in PEOPLE]
    dong = get_or_create("4115057800")  # 경기도 의정부시 송산3동
    other = get_or_create("4115055500")  # 호원2동, for access tests in the demo
    for n in range(1, 21):
        if db.session.scalar(select(Tong.id).where(Tong.dong_id == dong.id, Tong.number == n)) is None:
            db.session.add(Tong(dong_id=dong.id, number=n, bans=rng.randint(3, 8)))
    orgs = {
        "dong_centre": Organization(name="송산3동 행정복지센터", kind="dong_centre", dong_id=dong.id,
                                    phone="0318284567"),
        "apartment_office": Organization(name="송산주공 3단지 관리사무소", kind="apartment_office", dong_id=dong.id),
        "volunteer_centre": Organization(name="의정부시 자원봉사센터", kind="volunteer_centre", dong_id=dong.id),
        "welfare_centre": Organization(name="송산종합사회복지관", kind="welfare_centre", dong_id=dong.id),
    }
    db.session.add_all(orgs.values())
    db.session.add(Organization(name="의정부우체국 송산3동 집배팀", kind="post_office", dong_id=dong.id))
    db.session.add(Organization(name="행복공인중개사", kind="real_estate", dong_id=dong.id))
    db.session.flush()
    users = {}
    for login, name, role, org in PEOPLE:
        u = db.session.scalar(select(User).where(User.login_id == login))
        if u is None:
            u = User(login_id=login, name=name, role=role,
                     organization_id=orgs[org].id if org else None,
                     phone=f"010{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}",
                     pledge_accepted_at=clock.now() - timedelta(days=30))
            u.set_password(DEMO_PASSWORD)
            db.session.add(u)
        if role != "admin":
            u.dongs = [dong]
        users[login] = u
    other_cw = User(login_id="caseworker-howon", name="장동현", role="caseworker",
                    pledge_accepted_at=clock.now(), dongs=[other])
    other_cw.set_password(DEMO_PASSWORD)
    db.session.add(other_cw)
    db.session.flush()
    # The tong leader serves 7통: their household search shows names there, addresses elsewhere in the dong.
    tongs.set_for_user(users["tongleader"].id, {dong.id: [DEMO_TONG]})

    hh = []
    for i in range(households):
        road = rng.choice(ROADS)
        h = Household(
            dong_id=dong.id, tong=rng.randint(1, 20), ban=rng.randint(1, 6),
            road_address=f"경기도 의정부시 {road} {rng.randint(1, 300)}",
            unit=rng.choice(UNITS), name=_name(rng) if rng.random() < 0.8 else None,
            phone=f"010{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}" if rng.random() < 0.7 else None,
            age_band=rng.choice(["60s", "70s", "80p", "50s", "40s"]), sex=rng.choice(["f", "m"]),
            lives_alone=rng.random() < 0.7, created_by_id=users["caseworker"].id,
            delivery_note=rng.choice(["", "문 앞에 두고 벨 두 번", "경비실에 맡겨 주세요", "오전에는 병원에 감"]),
        )
        if h.name is None:
            h.alias = f"{road.split()[0]} 어르신 {i}"
        h.refresh_keys()
        db.session.add(h)
        hh.append(h)
    db.session.flush()

    reporters = [users[k] for k in ("honorary", "tongleader", "carecorps", "partner", "volunteer")]
    signal_sets = [["mail_piling", "not_going_out"], ["smell_insects"], ["rubbish_bottles", "no_support"],
                   ["tv_light_no_movement"], ["unreachable", "mail_piling"], ["arrears", "dunning_notices"],
                   ["poor_mobility"], ["self_harm_talk"], ["utility_cutoff"], ["job_loss", "housing_crisis"]]
    now = clock.now()
    for i, h in enumerate(hh[:60]):
        days_ago = rng.randint(0, 20)
        reporter = rng.choice(reporters)
        obs = Observation(
            dong_id=h.dong_id, household_id=h.id, household=h, reporter_id=reporter.id,
            urgency=rng.choice(["routine", "routine", "routine", "urgent", "emergency"]),
            signals=rng.choice(signal_sets), meals=rng.choice(["", "good", "poor", "severe"]),
            hygiene=rng.choice(["", "good", "poor"]), note=rng.choice([
                "우편함에 고지서가 일주일째 쌓여 있어요.", "며칠째 불이 켜져 있는데 인기척이 없습니다.",
                "현관 앞에 술병이 많이 쌓였어요.", "관리비가 3개월 밀렸다고 합니다.", ""]),
            seen_at=now - timedelta(days=days_ago, hours=2),
        )
        clock.freeze(now - timedelta(days=days_ago))
        try:
            obs, _created = observations.submit(obs, reporter)
            c = db.session.get(concerns.Concern, obs.concern_id)
            state = i % 6
            cw = users["caseworker"] if i % 2 else users["caseworker2"]
            if state >= 1:
                concerns.acknowledge(c, cw)
            if state >= 2:
                concerns.record_contact(c, cw, rng.choice(["connected_fine", "connected_concern", "no_answer"]),
                                        "전화 통화함")
            if state == 3:
                concerns.record_contact(c, cw, "visit_safe", "방문 상담, 식사 양호")
            if state == 4:
                concerns.close(c, cw, rng.choice(["services_linked", "no_concern", "referred"]), "종결")
            if state == 5:
                concerns.close(c, cw, "monitoring", "정기 모니터링 대상으로 전환")
        finally:
            clock.reset()
    # A citizen report not yet tied to a household, waiting in the queue.
    citizen = Observation(dong_id=dong.id, source="citizen", urgency="urgent", signals=["smell_insects"],
                          location_text="송산로 547번길 골목 끝 빌라 2층", subject_sex="m", subject_age_band="60s",
                          note="창문 너머로 악취가 나요", reference_code=observations.new_reference_code())
    observations.submit(citizen, None)
    db.session.flush()
    context = {"dong": dong, "other_dong": other, "users": users, "households": hh, "orgs": orgs, "rng": rng}
    for extra in _domain_builders():
        extra(context)
        db.session.flush()
    return [(role, login) for login, _n, role, _o in PEOPLE] + [("caseworker (호원2동)", "caseworker-howon")]


def _domain_builders():
    """Each later domain may add its demo data in volnet/<domain>/demo.py: build(context)."""
    import importlib

    out = []
    for name in ("shifts", "notifications", "risk", "cases", "calls", "reports", "privacy"):
        try:
            mod = importlib.import_module(f"volnet.{name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"volnet.{name}", f"volnet.{name}.demo"):
                raise
            continue
        out.append(mod.build)
    return out
