"""The five Seoul isolation tiers (plus 미분류) and the settings that drive suggestions."""
from __future__ import annotations

from volnet.core.i18n import lazy_gettext as _l
from volnet.settings import services as settings

TIERS = {
    "unassessed": _l("Unassessed"),
    "daily_life": _l("Daily-life support"),
    "relationship": _l("Relationship support"),
    "daily_risk": _l("Daily-risk isolated"),
    "intensive": _l("Intensive management"),
    "emergency": _l("Emergency crisis"),
}
TIER_RANK = {"unassessed": 0, "daily_life": 1, "relationship": 2, "daily_risk": 3, "intensive": 4, "emergency": 5}
TIER_BADGE = {"unassessed": "badge-closed", "daily_life": "badge-ok", "relationship": "badge-new",
              "daily_risk": "badge-routine", "intensive": "badge-urgent", "emergency": "badge-emergency"}

# Defaults (admin-editable on the risk settings page). Scores are points; see scoring.py.
RISK_DEFAULTS: dict[str, object] = {
    # Score thresholds of the suggested tier: at or above the value (below the first: daily-life support).
    "risk.tier.relationship": 10,
    "risk.tier.daily_risk": 20,
    "risk.tier.intensive": 30,
    "risk.tier.emergency": 50,
    # Crossing either of these opens or raises the household's concern.
    "risk.concern.score": 30,
    "risk.concern.tier": "intensive",
    # Factor weights.
    "risk.w.lives_alone": 5,
    "risk.w.age_70s": 3,
    "risk.w.age_80p": 5,
    "risk.w.signal": 3,
    "risk.w.urgent_signal": 8,
    "risk.w.missed_call": 4,
    "risk.w.mohw_high": 20,
    "risk.w.mohw_medium": 10,
    "risk.w.mohw_low": 4,
    "risk.w.lsns_risk": 8,
    "risk.w.ucla_lonely": 6,
    # Time windows and decay.
    "risk.observation.half_life_days": 30,
    "risk.observation.window_days": 180,
    "risk.indicator.window_days": 180,
    "risk.missed_call.window_days": 30,
    "risk.screening.window_days": 365,
    # Scale cut-offs.
    "risk.lsns.cutoff": 12,   # LSNS-6 total at or below: at risk of isolation
    "risk.ucla.cutoff": 6,    # UCLA-3 total at or above: lonely
    # A public list round is due this many months after it arrives.
    "risk.round.due_months": 2,
}
for _k, _v in RISK_DEFAULTS.items():
    settings.DEFAULTS.setdefault(_k, _v)

# Which settings the admin page offers, grouped, with labels.
SETTING_LABELS = {
    "risk.tier.relationship": _l("Score for relationship support"),
    "risk.tier.daily_risk": _l("Score for daily-risk isolated"),
    "risk.tier.intensive": _l("Score for intensive management"),
    "risk.tier.emergency": _l("Score for emergency crisis"),
    "risk.concern.score": _l("Score that opens or raises a concern"),
    "risk.w.lives_alone": _l("Weight: lives alone"),
    "risk.w.age_70s": _l("Weight: aged 70-79"),
    "risk.w.age_80p": _l("Weight: aged 80 or older"),
    "risk.w.signal": _l("Weight: each reported signal"),
    "risk.w.urgent_signal": _l("Weight: each danger signal"),
    "risk.w.missed_call": _l("Weight: each missed safety call"),
    "risk.w.mohw_high": _l("Weight: isolation form, high risk"),
    "risk.w.mohw_medium": _l("Weight: isolation form, medium risk"),
    "risk.w.mohw_low": _l("Weight: isolation form, low risk"),
    "risk.w.lsns_risk": _l("Weight: LSNS-6 at risk"),
    "risk.w.ucla_lonely": _l("Weight: UCLA-3 lonely"),
    "risk.observation.half_life_days": _l("Half-life of a report (days)"),
    "risk.observation.window_days": _l("Reports counted for (days)"),
    "risk.indicator.window_days": _l("Public indicators counted for (days)"),
    "risk.missed_call.window_days": _l("Missed calls counted for (days)"),
    "risk.screening.window_days": _l("Screenings counted for (days)"),
    "risk.lsns.cutoff": _l("LSNS-6 at-risk cut-off (at or below)"),
    "risk.ucla.cutoff": _l("UCLA-3 lonely cut-off (at or above)"),
    "risk.round.due_months": _l("Months to check a public list round"),
}


def num(key: str) -> float:
    value = settings.get(key)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(RISK_DEFAULTS[key])  # type: ignore[arg-type]


def thresholds() -> list[tuple[str, float]]:
    """[(tier, minimum score)] from the highest tier down."""
    return [(t, num(f"risk.tier.{t}")) for t in ("emergency", "intensive", "daily_risk", "relationship")]


def tier_for_score(score: float, cuts: list[tuple[str, float]] | None = None) -> str:
    for tier, minimum in cuts or thresholds():
        if score >= minimum:
            return tier
    return "daily_life"


def higher(a: str, b: str) -> str:
    return a if TIER_RANK.get(a, 0) >= TIER_RANK.get(b, 0) else b
