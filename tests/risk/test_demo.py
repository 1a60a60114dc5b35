"""The demo's risk picture is one a caseworker could have made: every decided tier has its history line."""
from sqlalchemy import exists, func, select

from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk.models import TierChange


def test_every_tier_in_the_demo_comes_with_its_tier_history(app):
    from volnet import demo

    demo.build(reset=False)
    db.session.flush()
    decided = select(func.count()).select_from(Household).where(Household.tier.not_in(("unassessed", "")))
    assert db.session.scalar(decided) >= 12  # the safety-call plans give tiers too
    without = decided.where(~exists().where(TierChange.household_id == Household.id))
    assert db.session.scalar(without) == 0
