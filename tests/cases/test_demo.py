"""The demo's history is one the product could have produced: nothing is closed before it was reported, no
case opens before its concern's reports, and no report joins a concern that was already closed."""
from sqlalchemy import select

from volnet.cases.models import Case
from volnet.concerns.models import Concern, ConcernEvent
from volnet.extensions import db


def test_the_demo_s_concerns_and_cases_happen_in_order(app):
    from volnet import demo

    demo.build(reset=False)
    db.session.flush()
    concerns = {c.id: c for c in db.session.scalars(select(Concern))}
    for c in concerns.values():
        if c.closed_at is not None:
            assert c.closed_at >= c.opened_at, c.id
            assert c.last_signal_at <= c.closed_at, c.id  # no report filed under it after it closed
    cases = list(db.session.scalars(select(Case).where(Case.concern_id.is_not(None))))
    assert len(cases) >= 5
    for case in cases:
        concern = concerns[case.concern_id]
        assert case.opened_at >= concern.last_signal_at, case.id
        if case.closed_at is not None:
            assert case.closed_at >= case.opened_at, case.id
    for ev in db.session.scalars(select(ConcernEvent).where(ConcernEvent.kind.in_(("closed", "monitoring")))):
        assert ev.at >= concerns[ev.concern_id].opened_at, ev.concern_id
