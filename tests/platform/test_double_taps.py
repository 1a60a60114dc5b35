"""The same form sent twice at one moment (a double tap on a phone, two colleagues at once).

Each copy runs in its own thread with its own connection (a second app on the same database, as another
gunicorn worker would be), released together after every client has logged in. Expected everywhere: no
5xx, one row, the values that were sent. Where nothing more precise fits, a write that a constraint
stops answers 409 with a message in the user's language, and nothing of it is saved.
"""
from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from tests import builders as b
from tests import concurrency
from tests.conftest import base_config
from tests.shifts import builders as sb
from volnet import create_app
from volnet.audit.models import AuditReview
from volnet.core.access import rule
from volnet.extensions import db
from volnet.places.models import Dong, Tong
from volnet.shifts.models import RouteStop, VolunteerProfile

pytestmark = pytest.mark.xdist_group("many-connections")

COPIES = 4


@pytest.fixture
def wide_app(app):
    yield from concurrency.wide_app(app, COPIES + 4)


def _same_moment(app, login_id: str, path: str, data_for, copies: int = COPIES) -> list[int]:
    """``copies`` clients signed in as ``login_id`` POST ``data_for(i)`` to ``path`` at one moment."""
    clients = [app.test_client() for _ in range(copies)]
    for c in clients:
        r = c.post("/account/login", data={"login_id": login_id, "password": b.PASSWORD})
        assert r.status_code == 302, r.status_code

    def send(i, barrier):
        barrier.wait()
        return clients[i].post(path, data=data_for(i)).status_code

    return concurrency.together(copies, send)


def _commit_after(*objs) -> list[int]:
    """Flush, read the ids, then commit: reading after the commit would begin a transaction, which on
    SQLite (BEGIN IMMEDIATE) holds the write lock against every thread."""
    db.session.flush()
    ids = [o.id for o in objs]
    db.session.commit()
    return ids


def test_volunteer_profile_saved_twice_at_once(app, wide_app):
    d = b.dong()
    v = b.user("volunteer", dongs=[d], login_id="vol.double")
    (vid,) = _commit_after(v)
    codes = _same_moment(wide_app, "vol.double", "/shifts/profile", lambda i: {"has_car": "y", "sex": "f"})
    assert codes == [302] * COPIES
    db.session.expire_all()
    prof = db.session.get(VolunteerProfile, vid)
    assert (prof.has_car, prof.sex) == (True, "f")


def test_route_stop_added_twice_at_once(app, wide_app):
    d, org, coord, p = sb.world()
    coord.login_id = "coord.double"
    o = sb.occurrence(p)
    h = b.household(d)
    oid, hid = _commit_after(o, h)
    codes = _same_moment(wide_app, "coord.double", f"/shifts/{oid}/stops",
                         lambda i: {"household_id": hid, "note": "현관 앞",
                                    "hq": "경기도 의정부시 송산로 100 101동 101호"})  # found at its address
    assert set(codes) == {302}
    db.session.expire_all()
    stops = list(db.session.scalars(select(RouteStop).where(RouteStop.occurrence_id == oid)))
    assert [(s.household_id, s.position) for s in stops] == [(hid, 1)]


def test_tong_saved_twice_at_once(app, wide_app):
    d = b.dong()
    b.user("admin", login_id="admin.double")
    (did,) = _commit_after(d)
    codes = _same_moment(wide_app, "admin.double", f"/admin/dongs/{did}",
                         lambda i: {"number": 7, "bans": 5, "area": "송산로 100-120"})
    assert codes == [302] * COPIES
    db.session.expire_all()
    tongs = list(db.session.scalars(select(Tong).where(Tong.dong_id == did)))
    assert [(t.number, t.bans, t.area) for t in tongs] == [(7, 5, "송산로 100-120")]


def test_new_dong_added_twice_at_once(app, wide_app):
    b.user("admin", login_id="admin.newdong")
    db.session.commit()
    form = {"new-code": "4115061000", "new-sido": "경기도", "new-sigungu": "의정부시", "new-name": "송산3동"}
    codes = _same_moment(wide_app, "admin.newdong", "/admin/dongs", lambda i: form)
    assert codes.count(302) == 1 and codes.count(200) == COPIES - 1  # the others: "exists already"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Dong).where(Dong.code == "4115061000")) == 1


def test_district_import_clicked_twice_at_once(app, wide_app):
    b.user("admin", login_id="admin.import")
    db.session.commit()
    codes = _same_moment(wide_app, "admin.import", "/admin/dongs",
                         lambda i: {"action": "import", "imp-sigungu": "의정부시"})
    assert codes == [302] * COPIES
    db.session.expire_all()
    codes_in_db = list(db.session.scalars(select(Dong.code).where(Dong.sigungu == "의정부시")))
    assert len(codes_in_db) == len(set(codes_in_db)) > 5


def test_monthly_review_recorded_twice_at_once(app, wide_app):
    d = b.dong()
    lead = b.user("team_lead", dongs=[d], login_id="lead.double")
    (lead_id,) = _commit_after(lead)
    month = "2026-11"
    codes = _same_moment(wide_app, "lead.double", f"/privacy/review?month={month}",
                         lambda i: {"note": "이상 없음", "month": month})
    assert codes == [302] * COPIES
    db.session.expire_all()
    reviews = list(db.session.scalars(select(AuditReview).where(AuditReview.reviewer_id == lead_id)))
    assert [(r.month, r.note) for r in reviews] == [(month, "이상 없음")]


def test_indicator_types_seeded_by_two_at_once(app, wide_app):
    from volnet.risk import indicators
    from volnet.risk.models import IndicatorType

    def seed(i, barrier):
        with wide_app.app_context():
            barrier.wait()
            n = indicators.seed()
            db.session.commit()
            return n

    added = concurrency.together(3, seed)
    total = db.session.scalar(select(func.count()).select_from(IndicatorType))
    assert total == len(indicators.SEED) == sum(added)  # each type added once, by one of them


def test_any_other_collision_is_a_clear_409_with_nothing_saved(app):
    """The net under every other write: a constraint that stops a write answers 409 in Korean, the
    request's earlier writes are rolled back, and the next request works."""
    other = create_app(base_config(app.config["DATABASE_URL"]))
    bp = Blueprint("collide_test", __name__)

    @bp.route("/_test/collide", methods=["POST"])
    @rule(public=True)
    def collide():
        db.session.add(Dong(code="1111111111", sido="서울특별시", sigungu="종로구", name="먼저 쓴 동"))
        db.session.flush()
        db.session.add(Dong(code="1111111111", sido="서울특별시", sigungu="종로구", name="같은 코드"))
        db.session.flush()  # raises IntegrityError
        raise AssertionError("not reached")

    @bp.route("/_test/dangling", methods=["POST"])
    @rule(public=True)
    def dangling():
        db.session.add(Tong(dong_id=987654321, number=1))  # a dong that does not exist: a bug, not a race
        db.session.flush()
        raise AssertionError("not reached")

    other.register_blueprint(bp)
    other.config["WTF_CSRF_ENABLED"] = False
    try:
        client = other.test_client()
        r = client.post("/_test/collide")
        assert r.status_code == 409
        body = r.get_data(as_text=True)
        assert "같은 때에" in body and "Traceback" not in body and "1111111111" not in body
        with other.app_context():
            assert db.session.scalar(select(func.count()).select_from(Dong).where(Dong.code == "1111111111")) == 0
        assert client.get("/account/login").status_code == 200
        r = client.post("/_test/dangling")  # any other constraint: the 500 page, logged in full
        assert r.status_code == 500 and "같은 때에" not in r.get_data(as_text=True)
    finally:
        with other.app_context():
            db.engine.dispose()

