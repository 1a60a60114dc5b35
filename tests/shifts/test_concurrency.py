"""No overbooking and exactly-once promotion, with real threads against the real database.

Each thread has its own app context and session (its own connection). PostgreSQL runs with a pool
large enough for every thread at once; SQLite serialises writers with BEGIN IMMEDIATE.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import base_config
from tests.shifts import builders as sb
from volnet import create_app
from volnet.accounts.models import User
from volnet.extensions import db
from volnet.shifts import services as svc
from volnet.shifts.models import ShiftOccurrence, Signup

N = 50
# These tests open many connections at once: keep them on one xdist worker, one after the other.
pytestmark = pytest.mark.xdist_group("many-connections")


@pytest.fixture
def wide_app(app):
    """A second app on the same database, with a pool as wide as a busy deployment's (30 connections):
    the 50 threads hold none while they wait at the barrier, then race for the place 30 at a time, the
    rest taking a connection as soon as one is free. (50 at once, beside the other test process's
    connections, could exceed PostgreSQL's default max_connections of 100.)"""
    cfg = base_config(app.config["DATABASE_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 30, "max_overflow": 0, "pool_timeout": 30}
    other = create_app(cfg)
    yield other
    with other.app_context():
        db.engine.dispose()


def _run(wide_app, fn, ids):
    barrier = threading.Barrier(len(ids), timeout=60)  # a thread that fails early breaks it, not hangs
    results, errors = {}, []

    def worker(i):
        try:
            from flask_babel import force_locale

            with wide_app.app_context(), force_locale("en"):
                fn(i, barrier, results)
                db.session.remove()
        except Exception:  # noqa: BLE001 - reported below
            import traceback

            errors.append(traceback.format_exc()[-2500:])

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    return results


def _cancel(sid, barrier, results):
    """One thread: cancel the signup once every thread is ready; who was promoted in its place."""
    s = db.session.get(Signup, sid)
    s.occurrence.program  # noqa: B018 - load before the race
    db.session.commit()
    barrier.wait()
    s = db.session.get(Signup, sid)
    promoted = svc.cancel_signup(s, s.volunteer)
    db.session.commit()
    results[sid] = promoted.id if promoted else None


@pytest.mark.slow
@pytest.mark.parametrize("waitlist", [True, False])
def test_fifty_people_for_the_last_place(app, wide_app, waitlist):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, capacity=5)
    for _ in range(4):
        sb.signed(o, sb.volunteer(d))
    people = [sb.volunteer(d).id for _ in range(N)]
    occ_id = o.id
    db.session.commit()  # and touch nothing until the threads are done (SQLite: no open write lock here)

    def sign(vid, barrier, results):
        occ, v = db.session.get(ShiftOccurrence, occ_id), db.session.get(User, vid)
        occ.program  # noqa: B018 - load before the race
        db.session.commit()  # end the read transaction (on SQLite it would hold the write lock)
        barrier.wait()
        try:
            s = svc.sign_up(occ, v, waitlist=waitlist)
            db.session.commit()
            results[vid] = s.status
        except svc.ShiftError as exc:
            db.session.rollback()
            results[vid] = "refused: " + str(exc.args[0])

    results = _run(wide_app, sign, people)
    values = list(results.values())
    assert values.count("confirmed") == 1
    if waitlist:
        assert values.count("waitlisted") == N - 1
    else:
        assert sum(v.startswith("refused: Sorry, the last place was just taken") for v in values) == N - 1
    db.session.expire_all()
    occ = db.session.get(ShiftOccurrence, occ_id)
    confirmed = db.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.occurrence_id == occ_id, Signup.status == "confirmed"))
    assert occ.filled == confirmed == 5


@pytest.mark.slow
def test_concurrent_cancellations_promote_each_waiting_person_once(app, wide_app):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, capacity=5)
    placed = [sb.signed(o, sb.volunteer(d)).id for _ in range(5)]
    waiting = [sb.signed(o, sb.volunteer(d)).id for _ in range(10)]
    leaving = placed + waiting[:2]  # all five with a place, and the first two waiting, at once
    occ_id = o.id
    db.session.commit()

    results = _run(wide_app, _cancel, leaving)
    promoted = [v for v in results.values() if v]
    assert len(promoted) == len(set(promoted))  # nobody promoted twice
    db.session.expire_all()
    status = dict(db.session.execute(select(Signup.id, Signup.status)).all())
    assert [sid for sid in waiting if status[sid] == "confirmed"] == waiting[2:7]
    assert [sid for sid in waiting if status[sid] == "waitlisted"] == waiting[7:]
    assert all(status[sid] == "cancelled" for sid in leaving)
    assert db.session.get(ShiftOccurrence, occ_id).filled == 5


@pytest.mark.slow
def test_leaving_the_waiting_list_while_being_promoted_leaves_it(app, wide_app):
    """The person on a one-place shift cancels at the moment the first person waiting leaves the waiting
    list: the place goes to the second person waiting, never to the one who just left. Repeated, since
    the two requests must meet at the moment the place is handed out."""
    d, org, coord, p = sb.world()
    rounds = []
    for _ in range(30):
        o = sb.occurrence(p, capacity=1)
        rounds.append((sb.signed(o, sb.volunteer(d)).id, sb.signed(o, sb.volunteer(d)).id,
                       sb.signed(o, sb.volunteer(d)).id))
    db.session.commit()

    for placed, first_waiting, second_waiting in rounds:
        _run(wide_app, _cancel, [placed, first_waiting])
        db.session.expire_all()
        status = dict(db.session.execute(select(Signup.id, Signup.status).where(
            Signup.id.in_((placed, first_waiting, second_waiting)))).all())
        assert status == {placed: "cancelled", first_waiting: "cancelled", second_waiting: "confirmed"}
        db.session.rollback()  # end the read: on SQLite an open transaction holds the write lock


def test_copying_a_month_twice_at_once_makes_each_shift_once(app, wide_app):
    """A double tap on "copy last month" (or two coordinators at one moment): the shifts and their route
    stops exist once, and the copies between them report every shift as copied or skipped."""
    from tests.builders import household
    from volnet.core import clock
    from volnet.shifts.models import RouteStop

    clock.freeze(sb.seoul(2026, 3, 20, 9))
    d, org, coord, p = sb.world()
    h = household(d)
    for day in (3, 10, 17, 24):
        sb.stop(sb.occurrence(p, starts_at=sb.seoul(2026, 3, day, 10)), h)
    db.session.flush()
    coord_id = coord.id
    db.session.commit()  # after the id is read (SQLite: see the note at the top of tests/platform races)

    def copy(i, barrier, results):
        db.session.get(User, coord_id)  # loaded before the race
        db.session.commit()
        barrier.wait()
        results[i] = svc.copy_month(db.session.get(User, coord_id), 2026, 4)
        db.session.commit()

    results = _run(wide_app, copy, range(4))
    assert sum(c for c, _s in results.values()) == 4
    assert all(c + s == 4 for c, s in results.values())
    db.session.expire_all()
    april = list(db.session.scalars(select(ShiftOccurrence).where(ShiftOccurrence.starts_at >= sb.seoul(2026, 4, 1))))
    assert len(april) == 4 and len({o.starts_at for o in april}) == 4
    assert db.session.scalar(select(func.count()).select_from(RouteStop).where(
        RouteStop.occurrence_id.in_([o.id for o in april]))) == 4
