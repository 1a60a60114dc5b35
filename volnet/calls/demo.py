"""Demo safety calls: households enrolled by tier, today's lists, a missed chain and a visit due."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from volnet.calls import services as svc
from volnet.calls.models import CallTask
from volnet.core import clock
from volnet.extensions import db
from volnet.risk.models import TierChange


def build(context):
    users = context["users"]
    cw, vol, corps, tong = users["caseworker"], users["volunteer"], users["carecorps"], users["tongleader"]
    hh = [h for h in context["households"] if h.phone][:12]
    tiers = ["emergency", "intensive", "intensive", "daily_risk", "daily_risk", "daily_risk", "relationship",
             "daily_life", "daily_risk", "daily_risk", "intensive", "relationship"]
    now = clock.now()
    enrollments = []
    for i, (h, tier) in enumerate(zip(hh, tiers, strict=False)):
        if h.tier in (None, "", "unassessed"):
            # As a caseworker decides a tier (risk.services.confirm_tier): with its line in the tier history.
            db.session.add(TierChange(household_id=h.id, from_tier=h.tier or "unassessed", to_tier=tier,
                                      suggested_tier="unassessed", score=h.risk_score,
                                      reason="안심콜 대상 선정 (데모)", by_id=cw.id, at=now))
            h.tier = tier
        caller = vol if i % 3 == 0 else corps if i % 3 == 1 else cw
        enrollments.append(svc.enroll(cw, h, caller, tong if caller is not vol else None))
    db.session.flush()
    # Last week: calls made, one household not answering.
    clock.freeze(now - timedelta(days=7))
    try:
        svc.ensure_tasks()
        for t in list(db.session.scalars(select(CallTask).where(CallTask.status == "open"))):
            res = svc.record(t, db.session.get(type(cw), t.assignee_id),
                             "no_answer" if t.enrollment_id == enrollments[3].id else "connected_fine",
                             meals="good", hygiene="good", support_network=True, contact_frequency="weekly")
            while res["retry"] is not None:
                clock.freeze(res["retry"].due_at)  # a retry is recorded once its wait is over
                res = svc.record(res["retry"], db.session.get(type(cw), t.assignee_id), "no_answer")
    finally:
        clock.reset()
    for e in enrollments:
        e.next_due_on = clock.seoul_today()
    svc.ensure_tasks()
    db.session.flush()
