"""Two people acting on one concern at the same moment: the second sees what the first did.

A colleague's change is held uncommitted on one connection while a caseworker's request runs on another;
the request must wait for it and then act on the concern as it now is, not write over it.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text, update

from tests import builders as b
from tests.conftest import base_config
from volnet import create_app
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db

pytestmark = pytest.mark.xdist_group("many-connections")


@pytest.fixture
def other_app(app):
    """A second app on the same database: its requests use their own connections, as another process would."""
    other = create_app(base_config(app.config["DATABASE_URL"]))
    yield other
    with other.app_context():
        db.engine.dispose()


def _wait_until_blocked(conn, seconds: float = 10.0) -> None:
    """PostgreSQL: until some other session waits for a row lock. SQLite: the writer waits at BEGIN."""
    if conn.dialect.name != "postgresql":
        time.sleep(1.0)
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
            "AND datname = current_database()")).scalar()
        conn.rollback()  # statistics views are a snapshot per transaction: look again in a fresh one
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the request never waited for the colleague's change")


def _while_held(app, hold, act) -> None:
    """``hold(conn)`` runs on a connection of its own and stays uncommitted while ``act()`` runs in a
    thread; once ``act`` waits for it (PostgreSQL: seen waiting on a lock), it commits."""
    with app.app_context():
        holder = db.engine.connect()
        monitor = db.engine.connect() if holder.dialect.name == "postgresql" else holder
        try:
            tx = holder.begin()
            hold(holder)
            thread = threading.Thread(target=act)
            thread.start()
            _wait_until_blocked(monitor)
            tx.commit()
            thread.join(30)
        finally:
            if monitor is not holder:
                monitor.close()
            holder.close()


def _act_while_held(app, other_app, concern_id: int, login_id: str, path: str, data: dict, held_change):
    client = other_app.test_client()
    with other_app.app_context():
        resp = client.post("/account/login", data={"login_id": login_id, "password": b.PASSWORD})
        assert resp.status_code == 302
    done = {}

    def hold(conn):
        conn.execute(select(Concern.id).where(Concern.id == concern_id).with_for_update())
        held_change(conn)

    def request_in_thread():
        with other_app.app_context():
            done["resp"] = client.post(path, data=data)

    _while_held(app, hold, request_in_thread)
    return done["resp"]


def test_acknowledging_while_a_colleague_closes_does_not_reopen_the_concern(app, other_app):
    d = b.dong()
    cw = b.user("caseworker", [d])
    c_id = b.observation(b.household(d)).concern_id
    db.session.flush()
    login_id = cw.login_id
    # Committed after reading what the test needs: an open read would hold SQLite's write lock.
    db.session.commit()

    def colleague_closes(conn):
        conn.execute(update(Concern).where(Concern.id == c_id).values(
            status="closed", outcome="no_concern", closed_at=clock.now(), next_due_at=None))

    resp = _act_while_held(app, other_app, c_id, login_id, f"/concerns/{c_id}/acknowledge", {}, colleague_closes)
    assert resp.status_code == 302
    db.session.expire_all()
    concern = db.session.get(Concern, c_id)
    assert concern.status == "closed" and concern.outcome == "no_concern"  # not reopened as "acknowledged"
    kinds = list(db.session.scalars(select(ConcernEvent.kind).where(ConcernEvent.concern_id == c_id)))
    assert "acknowledged" not in kinds


def test_merging_while_a_report_is_counted_into_the_target_counts_both(app, other_app):
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    d = b.dong()
    cw = b.user("caseworker", [d])
    source = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["smell_insects"],
                                             location_text="송산로 골목 빌라"), None)[0]
    target = b.observation(b.household(d))
    db.session.flush()
    src_id, target_id, login_id = source.concern_id, target.concern_id, cw.login_id
    counts = {c.id: c.signal_count for c in db.session.scalars(
        select(Concern).where(Concern.id.in_((src_id, target_id))))}
    db.session.commit()

    def report_arrives(conn):  # a report counted into the target, uncommitted for the moment
        conn.execute(update(Concern).where(Concern.id == target_id).values(signal_count=Concern.signal_count + 1))

    resp = _act_while_held(app, other_app, target_id, login_id, f"/concerns/{src_id}/merge",
                           {"target_id": str(target_id)}, report_arrives)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/concerns/{target_id}")
    db.session.expire_all()
    merged = db.session.get(Concern, target_id)
    assert db.session.get(Concern, src_id).status == "merged"
    assert merged.signal_count == counts[src_id] + counts[target_id] + 1  # the report is not lost


def test_linking_a_household_while_a_report_about_it_opens_its_concern_merges_into_that_one(app, other_app):
    """A caseworker links a waiting citizen report to household H at the moment a tong leader's report about
    H opens H's own concern: one open concern for H in the end, with the linked report merged into it."""
    from volnet.observations import services as obs_services
    from volnet.observations.models import Observation

    d = b.dong()
    cw = b.user("caseworker", [d])
    waiting = obs_services.submit(Observation(dong_id=d.id, source="citizen", signals=["mail_piling"],
                                              location_text="송산로 77 2층"), None)[0]
    h = b.household(d, road="경기도 의정부시 송산로 77", unit="201호")
    earlier = b.observation(h)  # H's earlier concern, closed: H has no open concern when the link starts
    db.session.flush()
    waiting_id, h_id, theirs_id, login_id = waiting.concern_id, h.id, earlier.concern_id, cw.login_id
    db.session.execute(update(Concern).where(Concern.id == theirs_id).values(
        status="closed", outcome="no_concern", closed_at=clock.now(), next_due_at=None))
    db.session.commit()

    def report_opens_hs_concern(conn):  # uncommitted for the moment, as a report being saved
        conn.execute(update(Concern).where(Concern.id == theirs_id).values(
            status="new", outcome=None, closed_at=None, next_due_at=clock.now()))

    resp = _act_while_held(app, other_app, waiting_id, login_id, f"/concerns/{waiting_id}/link",
                           {"household_id": str(h_id)}, report_opens_hs_concern)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/concerns/{theirs_id}")
    db.session.expire_all()
    assert db.session.get(Concern, waiting_id).status == "merged"
    assert db.session.get(Concern, waiting_id).merged_into_id == theirs_id
    open_for_h = list(db.session.scalars(select(Concern.id).where(
        Concern.household_id == h_id, Concern.status.notin_(("closed", "merged")))))
    assert open_for_h == [theirs_id]


def test_two_quick_adds_of_the_same_new_address_give_one_household(app, other_app):
    """Two reporters add the same new household at the same moment: one household, so one open concern."""
    from volnet.households import services as households
    from volnet.households.models import Household
    from volnet.households.services import address_key
    from volnet.places.models import Dong

    d = b.dong()
    rep = b.user("tong_leader", [d])
    db.session.flush()
    d_id, rep_id = d.id, rep.id
    db.session.commit()
    key = address_key("송산로 77", "201호")
    found = {}

    def second_reporter():
        with other_app.app_context():
            from volnet.accounts.models import User

            h, created = households.find_or_create(db.session.get(User, rep_id), d_id, "송산로 77", "201호")
            found["created"] = created
            db.session.commit()

    def first_reporter(conn):  # its request: it has taken the address and added the household
        conn.execute(select(Dong.id).where(Dong.id == d_id).with_for_update(key_share=True))  # as find_or_create
        conn.execute(Household.__table__.insert().values(
            dong_id=d_id, road_address="송산로 77", unit="201호", address_key=key, status="active",
            age_band="unknown", created_by_id=rep_id, created_at=clock.now(), updated_at=clock.now()))

    _while_held(app, first_reporter, second_reporter)
    assert found == {"created": False}
    assert db.session.scalar(select(func.count()).select_from(Household).where(Household.dong_id == d_id)) == 1


def test_staff_adding_the_household_a_colleague_is_adding_is_shown_it(app, other_app):
    """Two caseworkers add the same household at the same moment: the second waits for the first one's
    save and is then asked about it (the dong's additions take turns), rather than adding it twice."""
    from volnet.households.models import Household
    from volnet.households.services import address_key
    from volnet.places.models import Dong

    d = b.dong()
    cw = b.user("caseworker", [d])
    db.session.flush()
    d_id, cw_id, login_id = d.id, cw.id, cw.login_id
    db.session.commit()
    client = other_app.test_client()
    with other_app.app_context():
        assert client.post("/account/login", data={"login_id": login_id, "password": b.PASSWORD}).status_code == 302
    form = {"dong_id": d_id, "road_address": "송산로 77", "unit": "201호", "sex": "unknown", "age_band": "unknown",
            "status": "active"}
    done = {}

    def second_caseworker():
        with other_app.app_context():
            resp = client.post("/households/new", data=form)
            done["status"], done["body"] = resp.status_code, resp.get_data(as_text=True)

    def first_caseworker(conn):  # its request: it has taken the dong's additions and added the household
        conn.execute(select(Dong.id).where(Dong.id == d_id).with_for_update(key_share=True))
        conn.execute(Household.__table__.insert().values(
            dong_id=d_id, road_address="송산로 77", unit="201호", address_key=address_key("송산로 77", "201호"),
            status="active", age_band="unknown", created_by_id=cw_id, created_at=clock.now(), updated_at=clock.now()))

    _while_held(app, first_caseworker, second_caseworker)
    assert done["status"] == 400 and "이 동에 같은 주소의 가구가 이미 등록되어 있습니다." in done["body"]
    assert db.session.scalar(select(func.count()).select_from(Household).where(Household.dong_id == d_id)) == 1
