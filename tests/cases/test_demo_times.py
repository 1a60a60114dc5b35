"""The demo happens in the past: no case, concern or timeline time is later than the moment the demo was built
(QA round 20: F15, cases started an hour ahead: intake after the assessment, the history out of order). Due
dates may lie ahead; what happened may not."""
from sqlalchemy import select

from volnet.cases import models as cm
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.core.types import UTCDateTime
from volnet.extensions import db
from volnet.observations.models import Observation

# What happened (not when something is due, or planned).
MODELS = (cm.Case, cm.CaseEvent, cm.CaseNote, cm.CaseNeed, cm.CaseGoal, cm.ServiceLinkage, cm.CaseConference,
          cm.ConferenceTask, cm.AftercareCheck, cm.EmergencySupport, cm.ClosureRequest, Concern, ConcernEvent,
          Observation)


def _happened(model):
    return [c for c in model.__table__.columns if isinstance(c.type, UTCDateTime) and "due" not in c.name]


def test_nothing_in_the_demo_happens_after_it_was_built(app):
    from volnet import demo

    demo.build(reset=False)
    db.session.flush()
    now = clock.now()
    later = []
    for model in MODELS:
        for col in _happened(model):
            for ident, at in db.session.execute(select(model.__table__.c.id, col).where(col > now)):
                later.append(f"{model.__tablename__}.{col.name} #{ident}: {clock.to_seoul(at):%m-%d %H:%M}")
    assert later == [], f"after {clock.to_seoul(now):%m-%d %H:%M}: {later[:20]}"


def test_a_case_opened_on_a_fresh_concern_starts_at_the_concern_s_time(app):
    from volnet import demo

    demo.build(reset=False)
    db.session.flush()
    for case in db.session.scalars(select(cm.Case).where(cm.Case.concern_id.is_not(None))):
        concern = db.session.get(Concern, case.concern_id)
        assert case.opened_at >= concern.last_signal_at, case.id
        events = list(db.session.scalars(select(cm.CaseEvent).where(cm.CaseEvent.case_id == case.id)
                                         .order_by(cm.CaseEvent.id)))
        assert [e.at for e in events] == sorted(e.at for e in events), case.id  # the history in order
        assert events[0].at == case.opened_at, case.id
