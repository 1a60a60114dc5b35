"""The care summary at the top of a household's page: its open integrated case, tier and score, safety-call
plan and the indicators of the latest public crisis list. Three statements, each shown only to whom the
domain's own rules let see it (volnet/*/policy.py)."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from volnet.accounts.models import User
from volnet.accounts.roles import STAFF
from volnet.core import access
from volnet.extensions import db
from volnet.households.models import Household


def care_summary(user, h: Household) -> dict:
    from volnet.cases.models import STEPS
    from volnet.risk.tiers import TIER_BADGE, TIERS

    if not _STATEMENTS:
        _STATEMENTS.update(_statements())
    out: dict = {"case": None, "calls": None, "open_call_at": None, "indicators": [], "risk": user.role in STAFF,
                 "steps": STEPS, "tiers": TIERS, "tier_badge": TIER_BADGE}
    params = {"hid": h.id}
    case = db.session.scalar(_STATEMENTS["case"], params)
    if case is not None and access.can(user, "view", case):
        out["case"] = case
    row = db.session.execute(_STATEMENTS["calls"], params).first()
    if row is not None and access.can(user, "view", row[0]):
        out["calls"], out["open_call_at"] = row
    if out["risk"]:  # the risk picture's readers (crisis-list rounds: staff of the dong)
        out["indicators"] = db.session.execute(_STATEMENTS["indicators"], params).all()
    return out


# Built once per process (the household page is busy): SQLAlchemy then neither rebuilds nor re-hashes them.
_STATEMENTS: dict = {}


def _statements() -> dict:
    from volnet.calls.models import CallEnrollment, CallTask
    from volnet.cases.models import Case
    from volnet.risk.models import HouseholdIndicator, IndicatorType

    hid = bindparam("hid")
    case = (select(Case).options(joinedload(Case.owner).load_only(User.id, User.name))
            .where(Case.household_id == hid, Case.status == "open").limit(1))
    # The call still open (today's, or a retry) comes before the plan's next scheduled date.
    open_call = (select(func.min(CallTask.due_at)).where(CallTask.enrollment_id == CallEnrollment.id,
                                                         CallTask.status == "open").scalar_subquery())
    calls = (select(CallEnrollment, open_call)
             .options(joinedload(CallEnrollment.caller).load_only(User.id, User.name))
             .where(CallEnrollment.household_id == hid, CallEnrollment.active.is_(True)).limit(1))
    latest = (select(func.max(HouseholdIndicator.round_id)).where(HouseholdIndicator.household_id == hid)
              .scalar_subquery())
    indicators = (select(IndicatorType.label, IndicatorType.label_en, HouseholdIndicator.observed_on)
                  .join(IndicatorType, IndicatorType.id == HouseholdIndicator.indicator_type_id)
                  .where(HouseholdIndicator.household_id == hid, HouseholdIndicator.round_id == latest)
                  .order_by(IndicatorType.sort, IndicatorType.id).limit(20))
    return {"case": case, "calls": calls, "indicators": indicators}
