"""Actions on a household's risk: screening at a visit and confirming the isolation tier.
Services take the acting user and never commit."""
from __future__ import annotations

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk import scoring, screening
from volnet.risk.models import TierChange
from volnet.risk.tiers import TIER_RANK, TIERS
from volnet.settings import services as settings


class RiskError(ValueError):
    """A rule was broken; the message is translated."""


def _store(h: Household, res: scoring.Result) -> None:
    if h.risk_score != res.score:
        h.risk_score = res.score


def record_screening(h: Household, kind: str, answers: dict, actor, note: str = ""):
    before = scoring.evaluate(h)
    try:
        s = screening.record(h, kind, answers, actor, note)
    except screening.ScreeningError as exc:
        raise RiskError(_l("Answer every question.")) from exc
    after = scoring.evaluate(h)
    _store(h, after)
    why = scoring.crossing(before.score, after.score, before.suggested, after.suggested)
    if why:
        scoring.raise_concern(h, {**why, "screening": kind, "level": s.level}, actor, "staff",
                              ["no_support"] if kind != "mohw" else _screening_signals(s), after.suggested,
                              after.score)
    return s, after


def _screening_signals(s) -> list[str]:
    a = s.answers or {}
    out = []
    if a.get("suicidal_thought") or a.get("suicidal_plan"):
        out.append("self_harm_talk")
    if a.get("meals_skip") or a.get("meals_help"):
        out.append("other")
    if a.get("no_help") or a.get("no_talk") or a.get("contact_freq"):
        out.append("no_support")
    if a.get("illness_care") or a.get("illness_alone"):
        out.append("physical_distress")
    return out


def confirm_tier(h: Household, to_tier: str, reason: str, actor) -> TierChange:
    """Confirm the suggestion or override it (a reason is then required); history is kept."""
    if to_tier not in TIERS:
        raise RiskError(_l("Choose one of the offered options."))
    res = scoring.evaluate(h)
    reason = (reason or "").strip()
    if to_tier != res.suggested and not reason:
        raise RiskError(_l("Give a reason when the tier differs from the suggestion."))
    from_tier = h.tier or "unassessed"
    change = TierChange(household_id=h.id, from_tier=from_tier, to_tier=to_tier, suggested_tier=res.suggested,
                        score=res.score, reason=reason[:2000], by_id=actor.id, at=clock.now())
    db.session.add(change)
    h.tier = to_tier
    _store(h, res)
    from volnet.calls import services as calls

    calls.follow_tier(h)  # a safety-call plan takes the new tier's cadence now, not at its next call
    concern_tier = settings.get("risk.concern.tier") or "intensive"
    if TIER_RANK[to_tier] >= TIER_RANK.get(concern_tier, 4) and TIER_RANK[to_tier] > TIER_RANK.get(from_tier, 0):
        scoring.raise_concern(h, {"why": "tier_set", "tier": to_tier, "old_tier": from_tier}, actor, "staff",
                              ["other"], to_tier, res.score, note=reason[:500])
    db.session.flush()
    return change
