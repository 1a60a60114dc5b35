"""The risk score of a household, explained factor by factor, and the suggested isolation tier.

score = public indicators (each type once, its weight, within risk.indicator.window_days)
      + reported signals (signal weight, urgent signals more, halved every risk.observation.half_life_days)
      + missed safety calls (each, within risk.missed_call.window_days; when volnet.calls exists)
      + screening results (latest of each scale)
      + lives alone + age band (70s, 80+)
Suggested tier = the tier of the score (settings risk.tier.*), raised to the floor that a screening sets
(MOHW high -> intensive, medium -> daily-risk, low -> relationship; any suicidal plan -> emergency,
suicidal thoughts -> intensive; LSNS-6 at risk or UCLA-3 lonely -> relationship). A person decides.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, text, update

from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.observations.signals import URGENT_SIGNALS
from volnet.risk.models import HouseholdIndicator, IndicatorType, Screening
from volnet.risk.sqlutil import member, pg_array
from volnet.risk.tiers import TIER_RANK, TIERS, higher, num, thresholds, tier_for_score
from volnet.settings import services as settings

# A concern a public crisis list opens is urgent only for these signals (the indicators' signals: self-harm
# ER visit, suicide high-risk); see raise_concern. Admins choose them on the risk settings page.
LIST_URGENT_KEY = "risk.list.urgent_signals"
settings.DEFAULTS.setdefault(LIST_URGENT_KEY, ["self_harm_talk"])
RISK_TOKEN_PREFIX = "risk:"  # noqa: S105 - observations the risk module writes itself (never fed back into the score)


@dataclass
class Inputs:
    birth_date: date | None = None
    age_band: str = "unknown"
    lives_alone: bool | None = None
    indicators: list = field(default_factory=list)    # [(code, label, weight, observed_on)]
    observations: list = field(default_factory=list)  # [(signals, seen_at)]
    screenings: dict = field(default_factory=dict)    # kind -> (level, answers, at)
    missed_calls: int = 0


@dataclass
class Result:
    score: float
    factors: list          # [{"kind", "code", "label", "detail", "points"}]
    suggested: str
    score_tier: str
    floor: str
    floor_reasons: list

    def shares(self) -> list[dict]:
        total = sum(f["points"] for f in self.factors) or 1.0
        return [{**f, "share": round(f["points"] * 100 / total)} for f in self.factors]


def age_of(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def band_of(inputs: Inputs, today: date) -> str:
    age = age_of(inputs.birth_date, today)
    if age is None:
        return inputs.age_band or "unknown"
    if age >= 80:
        return "80p"
    if age >= 70:
        return "70s"
    return "other"


def compute(inp: Inputs, now: datetime | None = None, weights: dict | None = None) -> Result:
    now = now or clock.now()
    today = clock.to_seoul(now).date()
    w = weights or current_weights()
    factors: list[dict] = []
    # Public indicators: each type once (the latest), at its weight.
    seen: dict[str, tuple] = {}
    for code, label, weight, observed_on in inp.indicators:
        if code not in seen or observed_on > seen[code][2]:
            seen[code] = (label, float(weight), observed_on)
    for code, (label, weight, observed_on) in sorted(seen.items(), key=lambda kv: -kv[1][1]):
        if weight:
            factors.append({"kind": "indicator", "code": code, "label": label,
                            "detail": observed_on.isoformat(), "points": round(weight, 2)})
    # Reported signals, decayed by age.
    per_signal: dict[str, list] = defaultdict(lambda: [0.0, 0])
    half_life = max(w["half_life"], 0.1)
    for signals, seen_at in inp.observations:
        age_days = max((now - seen_at).total_seconds() / 86400, 0.0)
        decay = 0.5 ** (age_days / half_life)
        for s in signals or []:
            base = w["urgent_signal"] if s in URGENT_SIGNALS else w["signal"]
            per_signal[s][0] += base * decay
            per_signal[s][1] += 1
    for s, (points, count) in sorted(per_signal.items(), key=lambda kv: -kv[1][0]):
        if points >= 0.05:
            factors.append({"kind": "signal", "code": s, "label": s, "detail": str(count), "points": round(points, 2)})
    if inp.missed_calls:
        counted = min(inp.missed_calls, 5)
        factors.append({"kind": "missed_calls", "code": "missed_calls", "label": "", "detail": str(inp.missed_calls),
                        "points": round(counted * w["missed_call"], 2)})
    floor = "unassessed"
    floor_reasons: list[str] = []
    mohw = inp.screenings.get("mohw")
    if mohw:
        level, answers, _at = mohw
        pts = {"high": w["mohw_high"], "medium": w["mohw_medium"], "low": w["mohw_low"]}.get(level, 0)
        if pts:
            factors.append({"kind": "screening", "code": "mohw", "label": level, "detail": "", "points": pts})
        floor = higher(floor, {"high": "intensive", "medium": "daily_risk", "low": "relationship"}.get(level,
                                                                                                       "daily_life"))
        if level in ("high", "medium", "low"):
            floor_reasons.append("mohw_" + level)
        if int((answers or {}).get("suicidal_plan", 0) or 0) > 0:
            floor = higher(floor, "emergency")
            floor_reasons.append("suicidal_plan")
        elif int((answers or {}).get("suicidal_thought", 0) or 0) > 0:
            floor = higher(floor, "intensive")
            floor_reasons.append("suicidal_thought")
    lsns = inp.screenings.get("lsns6")
    if lsns:
        floor = higher(floor, "daily_life")
        if lsns[0] == "at_risk":
            factors.append({"kind": "screening", "code": "lsns6", "label": "at_risk", "detail": "",
                            "points": w["lsns_risk"]})
            floor = higher(floor, "relationship")
            floor_reasons.append("lsns_at_risk")
    ucla = inp.screenings.get("ucla3")
    if ucla:
        floor = higher(floor, "daily_life")
        if ucla[0] == "lonely":
            factors.append({"kind": "screening", "code": "ucla3", "label": "lonely", "detail": "",
                            "points": w["ucla_lonely"]})
            floor = higher(floor, "relationship")
            floor_reasons.append("ucla_lonely")
    if inp.lives_alone:
        factors.append({"kind": "lives_alone", "code": "lives_alone", "label": "", "detail": "",
                        "points": w["lives_alone"]})
    band = band_of(inp, today)
    if band == "80p" and w["age_80p"]:
        factors.append({"kind": "age", "code": "80p", "label": "", "detail": "", "points": w["age_80p"]})
    elif band == "70s" and w["age_70s"]:
        factors.append({"kind": "age", "code": "70s", "label": "", "detail": "", "points": w["age_70s"]})
    factors = [f for f in factors if f["points"]]
    score = round(sum(f["points"] for f in factors), 1)
    has_data = bool(factors) or bool(inp.screenings)
    score_tier = tier_for_score(score, w["cuts"]) if has_data else "unassessed"
    suggested = higher(score_tier, floor)
    return Result(score=score, factors=factors, suggested=suggested, score_tier=score_tier, floor=floor,
                  floor_reasons=floor_reasons)


def current_weights() -> dict:
    return {
        "lives_alone": num("risk.w.lives_alone"), "age_70s": num("risk.w.age_70s"), "age_80p": num("risk.w.age_80p"),
        "signal": num("risk.w.signal"), "urgent_signal": num("risk.w.urgent_signal"),
        "missed_call": num("risk.w.missed_call"), "mohw_high": num("risk.w.mohw_high"),
        "mohw_medium": num("risk.w.mohw_medium"), "mohw_low": num("risk.w.mohw_low"),
        "lsns_risk": num("risk.w.lsns_risk"), "ucla_lonely": num("risk.w.ucla_lonely"),
        "half_life": num("risk.observation.half_life_days"), "cuts": thresholds(),
    }


# --- loading the inputs ---------------------------------------------------------------------------

def _missed_call_counts(ids: list[int], since: datetime) -> dict[int, int]:
    """Missed safety calls per household, if volnet.calls exists (built by another team); else nothing.
    Uses the model of call attempts (household_id, outcome and a time column "at"/"called_at") and the
    module's MISSED outcome set when it has one."""
    try:
        from volnet.calls import models as calls_models  # noqa: PLC0415
    except ImportError:
        return {}
    from sqlalchemy import func

    missed = set(getattr(calls_models, "MISSED", None) or {"no_answer", "missed", "unreachable"})
    candidates = []
    for obj in vars(calls_models).values():
        table = getattr(obj, "__table__", None)
        if table is None or "household_id" not in table.c or "outcome" not in table.c:
            continue
        when = next((table.c[n] for n in ("at", "called_at") if n in table.c), None)
        if when is not None:
            candidates.append((table, when))
    for table, when in candidates[:1]:
        stmt = (select(table.c.household_id, func.count()).where(member(table.c.household_id, ids))
                .where(table.c.outcome.in_(sorted(missed)), when >= since).group_by(table.c.household_id))
        try:
            with db.session.begin_nested():
                return {hid: n for hid, n in db.session.execute(stmt)}
        except Exception:  # noqa: BLE001 - the other team's model may differ; the factor is then 0
            return {}
    return {}


def load_inputs(ids: list[int], now: datetime | None = None) -> dict[int, tuple[Household | tuple, Inputs]]:
    """Inputs for many households in a handful of queries (no per-household query)."""
    now = now or clock.now()
    today = clock.to_seoul(now).date()
    out: dict[int, Inputs] = {}
    rows = db.session.execute(select(Household.id, Household.birth_date, Household.age_band, Household.lives_alone)
                              .where(member(Household.id, ids)))
    for hid, birth, band, alone in rows:
        out[hid] = Inputs(birth_date=birth, age_band=band or "unknown", lives_alone=alone)
    if not out:
        return {}
    since_ind = today - timedelta(days=int(num("risk.indicator.window_days")))
    for hid, code, label, weight, observed_on in db.session.execute(
            select(HouseholdIndicator.household_id, IndicatorType.code, IndicatorType.label, IndicatorType.weight,
                   HouseholdIndicator.observed_on)
            .join(IndicatorType, IndicatorType.id == HouseholdIndicator.indicator_type_id)
            .where(member(HouseholdIndicator.household_id, ids), HouseholdIndicator.observed_on >= since_ind,
                   IndicatorType.active.is_(True))):
        out[hid].indicators.append((code, label, weight, observed_on))
    since_obs = now - timedelta(days=num("risk.observation.window_days"))
    for hid, signals, seen_at, token in db.session.execute(
            select(Observation.household_id, Observation.signals, Observation.seen_at, Observation.client_token)
            .where(member(Observation.household_id, ids), Observation.seen_at >= since_obs)):
        if token and token.startswith(RISK_TOKEN_PREFIX):
            continue
        out[hid].observations.append((signals or [], seen_at))
    since_scr = now - timedelta(days=num("risk.screening.window_days"))
    for hid, kind, level, answers, at in db.session.execute(
            select(Screening.household_id, Screening.kind, Screening.level, Screening.answers, Screening.at)
            .where(member(Screening.household_id, ids), Screening.at >= since_scr).order_by(Screening.at)):
        out[hid].screenings[kind] = (level, answers, at)  # ordered by time: the latest wins
    since_calls = now - timedelta(days=num("risk.missed_call.window_days"))
    for hid, n in _missed_call_counts(ids, since_calls).items():
        if hid in out:
            out[hid].missed_calls = int(n)
    return out


def evaluate(h: Household, now: datetime | None = None) -> Result:
    inputs = load_inputs([h.id], now).get(h.id) or Inputs()
    return compute(inputs, now)


# --- refreshing stored scores and raising concerns ---------------------------------------------

def concern_rule() -> tuple[float, str]:
    return num("risk.concern.score"), settings.get("risk.concern.tier") or "intensive"


def crossing(old_score: float | None, new_score: float, old_tier: str, new_tier: str,
             rule: tuple[float, str] | None = None) -> dict | None:
    """Why this change should open or raise a concern, as data for the concern's timeline (shown in the
    reader's language by ``reason_text``), or None."""
    thr, tier_thr = rule or concern_rule()
    if new_score >= thr and (old_score is None or old_score < thr):
        return {"why": "score", "score": new_score, "threshold": thr, "tier": new_tier}
    if TIER_RANK.get(new_tier, 0) >= TIER_RANK.get(tier_thr, 4) and TIER_RANK.get(new_tier, 0) > TIER_RANK.get(
            old_tier, 0):
        return {"why": "tier", "old_tier": old_tier, "tier": new_tier, "score": new_score}
    return None


def reason_text(data: dict) -> str:
    """A risk_raised timeline entry's reason (its data: see ``crossing``, ``services``) in the current language."""
    from volnet.risk import screening

    why = data.get("why")
    score = data.get("score")
    score = _fmt(score) if isinstance(score, int | float) else ""
    tier, old = data.get("tier") or "", data.get("old_tier") or "unassessed"
    if why == "score":
        text = _("Risk score %(score)s reached the threshold %(thr)s; suggested tier: %(tier)s.", score=score,
                 thr=_fmt(data.get("threshold") or 0), tier=TIERS.get(tier, tier))
    elif why == "tier":
        text = _("Suggested tier rose from %(old)s to %(new)s (risk score %(score)s).",
                 old=TIERS.get(old, old), new=TIERS.get(tier, tier), score=score)
    elif why == "tier_set":
        text = _("Tier set to %(new)s (was %(old)s).", new=TIERS.get(tier, tier), old=TIERS.get(old, old))
    else:
        return ""
    kind = screening.KINDS.get(data.get("screening") or "")
    if kind:
        level = data.get("level") or ""
        text = f"{kind['label']}: {screening.LEVELS.get(level, level)}. {text}"
    return text


def _fmt(x: float) -> str:
    return f"{x:g}"


def list_due_at(due_on: date) -> datetime:
    """A public list round's due date as the due time of the concerns it opens: the end of that working day."""
    return datetime.combine(due_on, time(18, 0), tzinfo=clock.SEOUL).astimezone(UTC)


def raise_concern(h: Household, why: dict, actor=None, source: str = "staff", signals=None,
                  tier: str = "", score: float | None = None, note: str = "", due_on: date | None = None):
    """Open or join the household's concern with the reason on its timeline: ``why`` (see ``crossing``) is
    kept as the entry's data and shown in the reader's language; ``note`` is what a person wrote.

    The urgency: from a person's decision or a screening, "urgent" for the emergency tier, else "routine"
    (danger signs raise it, as for any report: observations.effective_urgency).

    From a public crisis list (``source="crisis_list"``) the rule is the list's own: its data are weeks
    old and national practice gives the round two months (``due_on``, risk.round.due_months), so a list of
    a few thousand households must not fill tomorrow's queue with "urgent" concerns. A concern the list
    opens is "routine", due to be acknowledged and acted on by the round's due date (``list_due_at``),
    unless the household's indicators carry a signal of ``risk.list.urgent_signals`` (default: self-harm
    or suicide, i.e. a self-harm ER visit or suicide high-risk): then "urgent", on the usual urgent clock.
    Cut-offs, arrears and the rest stay routine (an admin may tick "utility_cutoff" on the risk settings page). A
    household whose concern is already open keeps that concern's due times; an urgent list signal raises it."""
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern
    from volnet.observations import services as observations

    signals = sorted(set(signals or [])) or ["other"]
    from_list = source == "crisis_list"
    if from_list:
        urgency = "urgent" if set(signals) & set(settings.get(LIST_URGENT_KEY) or []) else "routine"
    else:
        urgency = "urgent" if tier == "emergency" else "routine"
    obs = Observation(dong_id=h.dong_id, household_id=h.id, household=h, reporter_id=getattr(actor, "id", None),
                      source=source, urgency=urgency, signals=signals, note=note,
                      seen_at=clock.now(), client_token=f"{RISK_TOKEN_PREFIX}{uuid.uuid4().hex}")
    obs, _created = observations.submit(obs, actor, keep_urgency=from_list)
    concern = db.session.get(Concern, obs.concern_id)
    if from_list and urgency == "routine" and due_on is not None and concern.signal_count == 1:
        # Opened by this list just now (a concern that was open already has counted a report before).
        due = list_due_at(due_on)
        concern.ack_due_at = concern.action_due_at = due
        concerns.refresh_next_due(concern)
    concerns.add_event(concern, "risk_raised", actor, note=note, **{"score": score, "tier": tier, **why})
    return concern


def refresh(ids: list[int], actor=None, source: str = "staff", signals_by_household: dict | None = None,
            now: datetime | None = None, fresh: dict[int, Result] | None = None, due_on: date | None = None) -> int:
    """Recompute and store the scores of these households; open/raise concerns on a crossing.
    Returns the number of concerns opened or raised. Bulk: a few queries per call.

    ``fresh``: {household id: Result} of households just created (no score before) whose score was computed
    from inputs known in full and stored with them; only their crossing is checked, without a query."""
    if not ids and not fresh:
        return 0
    now = now or clock.now()
    ids = list(ids)
    old = {hid: score for hid, score in db.session.execute(
        select(Household.id, Household.risk_score).where(member(Household.id, ids)))} if ids else {}
    inputs = load_inputs(ids, now) if ids else {}
    weights = current_weights()
    rule = concern_rule()
    updates = []
    crossings = []
    fresh_reasons: dict[int, dict | None] = {}  # new households often share one Result: one answer each
    for hid, res in (fresh or {}).items():
        key = id(res)
        if key not in fresh_reasons:
            fresh_reasons[key] = crossing(None, res.score, higher("unassessed", res.floor), res.suggested, rule)
        if fresh_reasons[key]:
            crossings.append((hid, fresh_reasons[key], res))
    for hid, inp in inputs.items():
        res = compute(inp, now, weights)
        old_score = old.get(hid)
        if old_score != res.score:
            updates.append({"hid": hid, "score": res.score})
        old_tier = higher(tier_for_score(old_score, weights["cuts"]) if old_score else "unassessed", res.floor)
        reason = crossing(old_score, res.score, old_tier, res.suggested, rule)
        if reason:
            crossings.append((hid, reason, res))
    _store_scores(updates)
    raised = 0
    for hid, reason, res in crossings:
        h = db.session.get(Household, hid)
        sig = (signals_by_household or {}).get(hid) or _signals_from(res)
        raise_concern(h, reason, actor, source, sig, res.suggested, res.score, due_on=due_on)
        raised += 1
    return raised


def _signals_from(res: Result) -> list[str]:
    out = [f["code"] for f in res.factors if f["kind"] == "signal"]
    return out[:3]


def _store_scores(updates: list[dict]) -> None:
    if not updates:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("UPDATE households AS h SET risk_score = u.s FROM unnest(CAST(:ids AS integer[]), "
                                "CAST(:scores AS double precision[])) AS u(id, s) WHERE h.id = u.id"),
                           {"ids": pg_array([u["hid"] for u in updates]),
                            "scores": pg_array([u["score"] for u in updates], "float")})
    else:
        db.session.connection().execute(
            update(Household.__table__).where(Household.__table__.c.id == bindparam("hid"))
            .values(risk_score=bindparam("score")), updates)
    for hid in (u["hid"] for u in updates):
        obj = db.session.identity_map.get((Household, (hid,), None))
        if obj is not None:
            db.session.expire(obj, ["risk_score"])
