"""Reports about the same household sent at the same moment, with real threads against the real database.

On PostgreSQL a report is one statement of data-modifying CTEs (observations/pg_submit.py); on SQLite the
portable path runs. Either way: one open concern, every report counted once, a repeated form saved once.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.conftest import base_config
from volnet import create_app
from volnet.concerns.models import OPEN_STATUSES, Concern, ConcernEvent
from volnet.extensions import db
from volnet.observations import services as obs_services
from volnet.observations.models import Observation

pytestmark = pytest.mark.xdist_group("many-connections")

REPORTS = 12  # distinct reports, plus 3 threads that send one form again


@pytest.fixture
def wide_app(app):
    cfg = base_config(app.config["DATABASE_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": REPORTS + 8, "max_overflow": 0, "pool_timeout": 30}
    other = create_app(cfg)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_simultaneous_reports_join_one_concern_each_counted_once(app, wide_app):
    d = b.dong()
    reporter = b.user("honorary", [d])
    h = b.household(d)
    db.session.flush()
    ids = {"h": h.id, "d": d.id, "u": reporter.id}
    # Committed after the ids are read: reading an expired attribute would begin a transaction, which on
    # SQLite (BEGIN IMMEDIATE) holds the write lock against every thread below.
    db.session.commit()
    barrier = threading.Barrier(REPORTS + 3, timeout=60)
    outcomes, errors = [], []

    def send(i: int):
        token = "same-form" if i >= REPORTS else f"form-{i}"
        urgency = "emergency" if i == 5 else ("urgent" if i % 4 == 0 else "routine")
        try:
            from flask_babel import force_locale

            with wide_app.app_context(), force_locale("en"):
                o = Observation(dong_id=ids["d"], household_id=ids["h"], reporter_id=ids["u"],
                                source="observation", urgency=urgency, signals=["mail_piling"],
                                client_token=token)
                barrier.wait()
                try:
                    saved, created = obs_services.submit(o, None)
                    db.session.commit()
                    outcomes.append((token, saved.id, created))
                except obs_services.DuplicateReport:
                    db.session.rollback()
                    outcomes.append((token, obs_services.find_by_token(token).id, False))
                db.session.remove()
        except Exception:  # noqa: BLE001 - reported below
            import traceback

            errors.append(traceback.format_exc()[-6000:])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(REPORTS + 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors[:2]
    assert len(outcomes) == REPORTS + 3

    db.session.expire_all()
    observations = list(db.session.scalars(select(Observation).where(Observation.household_id == h.id)))
    assert len(observations) == REPORTS + 1  # the repeated form is one report
    assert len({o for tok, o, _c in outcomes if tok == "same-form"}) == 1  # all three were sent to it
    open_concerns = list(db.session.scalars(select(Concern).where(
        Concern.household_id == h.id, Concern.status.in_(OPEN_STATUSES))))
    assert len(open_concerns) == 1
    concern = open_concerns[0]
    assert concern.signal_count == REPORTS + 1
    assert {o.concern_id for o in observations} == {concern.id}
    assert concern.urgency == "emergency"  # the most urgent report wins, whatever the order
    events = list(db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)
                                     .order_by(ConcernEvent.id)))
    kinds = [e.kind for e in events]
    assert kinds.count("opened") == 1 and kinds[0] == "opened"
    assert kinds.count("observation") == REPORTS + 1
    # The timeline tells how the urgency rose: from the opening report's, each step more urgent, to the top.
    rank = {"routine": 2, "urgent": 1, "emergency": 0}
    level = events[0].data["urgency"]
    for e in events:
        if e.kind == "urgency_raised":
            assert e.data["old"] == level and rank[e.data["new"]] < rank[level]
            level = e.data["new"]
    assert level == "emergency"
    assert db.session.scalar(select(func.count()).select_from(Concern)) == 1


def test_the_one_statement_report_fits_psycopgs_statement_cache():
    """psycopg converts a statement's placeholders once and caches the result only for statements up to
    MAX_CACHED_STATEMENT_LENGTH characters; a longer one is parsed again on every report (about a tenth of a
    report's CPU in ``bench/request_profile.py submit``)."""
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from volnet.observations import pg_submit

    compiled = pg_submit._statement().compile(dialect=postgresql.psycopg.dialect())
    assert len(str(compiled)) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
