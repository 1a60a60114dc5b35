"""Builders for integrated cases (flush, never commit)."""
from __future__ import annotations

from tests import builders as b
from volnet.cases import services as svc
from volnet.concerns.services import open_concern_for
from volnet.extensions import db


def concern_for(household, reporter=None, urgency="routine"):
    obs = b.observation(household, reporter, urgency=urgency)
    return open_concern_for(household.id) or db.session.get(type(open_concern_for(household.id)), obs.concern_id)


def case(caseworker, household, summary="테스트 사례"):
    c = concern_for(household)
    result = svc.open_case(c, caseworker, summary)
    db.session.flush()
    return result


def linkage(case_obj, actor, value, start_on, sector="public", service_type="food_bank", status="active",
            provider="의정부 푸드뱅크"):
    link = svc.add_linkage(case_obj, actor, sector=sector, service_type=service_type, provider=provider,
                           status=status, start_on=start_on, end_on=None, value_won=value)
    db.session.flush()
    return link
