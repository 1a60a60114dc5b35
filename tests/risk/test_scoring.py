"""Scores and tier suggestions, with worked examples written out by hand."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import builders as b
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.risk import scoring, screening, services
from volnet.risk.models import HouseholdIndicator, IndicatorType, TierChange
from volnet.risk.scoring import Inputs, compute
from volnet.settings import services as settings

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
D = date(2026, 2, 1)


def test_worked_example_intensive(app):
    # electricity arrears (w=10) + gas cut-off (w=15) + lives alone (5) + 80+ (5) = 35 -> 집중관리군 (30 <= 35 < 50)
    inp = Inputs(birth_date=date(1940, 1, 1), lives_alone=True,
                 indicators=[("arrears_electricity", "전기요금 체납", 10, D), ("cutoff_gas", "단가스", 15, D)])
    res = compute(inp, NOW)
    assert res.score == 35
    assert res.suggested == "intensive"
    assert [(f["kind"], f["points"]) for f in res.factors] == [
        ("indicator", 15), ("indicator", 10), ("lives_alone", 5), ("age", 5)]
    assert [f["share"] for f in res.shares()] == [43, 29, 14, 14]  # 15/35, 10/35, 5/35, 5/35


def test_worked_example_relationship_and_thresholds(app):
    # telecom arrears (5) + aged 70-79 (3) + lives alone (5) = 13 -> 관계지원군 (10 <= 13 < 20)
    inp = Inputs(age_band="70s", lives_alone=True, indicators=[("arrears_telecom", "통신비 체납", 5, D)])
    assert (compute(inp, NOW).score, compute(inp, NOW).suggested) == (13, "relationship")
    # Only aged 70-79 (3) -> 일상지원군 (below 10)
    assert compute(Inputs(age_band="70s"), NOW).suggested == "daily_life"
    # Nothing known -> 미분류
    assert compute(Inputs(), NOW).suggested == "unassessed"
    # self-harm ER visit (25) + suicide high-risk (20) + power cut (15) = 60 -> 긴급위기군 (>= 50)
    inp = Inputs(indicators=[("health_selfharm_er", "", 25, D), ("health_suicide_high_risk", "", 20, D),
                             ("cutoff_power", "", 15, D)])
    assert (compute(inp, NOW).score, compute(inp, NOW).suggested) == (60, "emergency")


def test_same_indicator_twice_counts_once(app):
    inp = Inputs(indicators=[("cutoff_gas", "단가스", 15, D), ("cutoff_gas", "단가스", 15, D - timedelta(days=60))])
    assert compute(inp, NOW).score == 15


def test_observations_decay_with_a_30_day_half_life(app):
    # mail piling (3) seen today = 3; not going out (3) seen 30 days ago = 1.5;
    # self-harm talk (urgent, 8) seen 60 days ago = 2  -> 6.5 -> 일상지원군
    inp = Inputs(observations=[(["mail_piling"], NOW), (["not_going_out"], NOW - timedelta(days=30)),
                               (["self_harm_talk"], NOW - timedelta(days=60))])
    res = compute(inp, NOW)
    assert res.score == 6.5
    assert {f["code"]: f["points"] for f in res.factors} == {"mail_piling": 3, "not_going_out": 1.5,
                                                            "self_harm_talk": 2}
    assert res.suggested == "daily_life"


def test_screening_sets_a_floor(app):
    # MOHW total 9 -> high (20 points) -> 집중관리군 floor; score 20 alone would be 일상위험고립군
    res = compute(Inputs(screenings={"mohw": ("high", {"suicidal_plan": 0}, NOW)}), NOW)
    assert (res.score, res.score_tier, res.suggested) == (20, "daily_risk", "intensive")
    # Any suicide plan -> 긴급위기군 whatever the score: low (4) + plan
    res = compute(Inputs(screenings={"mohw": ("low", {"suicidal_plan": 2}, NOW)}), NOW)
    assert (res.score, res.suggested) == (4, "emergency")
    # LSNS-6 at risk (8) + UCLA-3 lonely (6) = 14 -> 관계지원군
    res = compute(Inputs(screenings={"lsns6": ("at_risk", {}, NOW), "ucla3": ("lonely", {}, NOW)}), NOW)
    assert (res.score, res.suggested) == (14, "relationship")


def test_weights_and_thresholds_are_settings(app):
    settings.put("risk.w.lives_alone", 12)
    settings.put("risk.tier.relationship", 12)
    db.session.flush()
    assert (compute(Inputs(lives_alone=True), NOW).score, compute(Inputs(lives_alone=True), NOW).suggested) == (
        12, "relationship")


@pytest.mark.parametrize("answers,total,level", [
    ({}, 0, "general"),
    ({"meals_skip": 1, "no_talk": 1, "contact_freq": 1}, 3, "low"),
    ({"meals_skip": 2, "illness_care": 2, "no_help": 1, "no_talk": 1, "contact_freq": 2}, 8, "medium"),
    ({"meals_skip": 2, "illness_care": 2, "no_help": 1, "no_talk": 1, "contact_freq": 2, "suicidal_thought": 1}, 9,
     "high"),
    ({"meals_skip": 2, "meals_help": 1, "illness_care": 2, "illness_alone": 1, "contact_freq": 2, "no_help": 1,
      "no_talk": 1, "suicidal_thought": 1, "suicidal_plan": 2}, 13, "high"),
])
def test_mohw_form_scoring(app, answers, total, level):
    full = {key: 0 for key, *_r in screening.MOHW_ITEMS} | answers
    assert screening.score("mohw", full) == (total, level)


def test_lsns_and_ucla_scoring(app):
    lsns = dict.fromkeys(["family_see", "family_talk", "family_help", "friends_see", "friends_talk",
                          "friends_help"], 2)
    assert screening.score("lsns6", lsns) == (12, "at_risk")         # 12 <= 12
    assert screening.score("lsns6", lsns | {"family_see": 3}) == (13, "not_at_risk")
    ucla = {"companionship": 2, "left_out": 2, "isolated": 2}
    assert screening.score("ucla3", ucla) == (6, "lonely")            # 6 >= cut-off 6
    settings.put("risk.ucla.cutoff", 7)
    db.session.flush()
    assert screening.score("ucla3", ucla) == (6, "not_lonely")
    with pytest.raises(screening.ScreeningError):
        screening.score("ucla3", {"companionship": 9, "left_out": 2, "isolated": 2})


def _indicator(h, code, weight):
    t = IndicatorType(code=code, label=code, weight=weight, category="cutoff", signal="utility_cutoff")
    db.session.add(t)
    db.session.flush()
    db.session.add(HouseholdIndicator(household_id=h.id, indicator_type_id=t.id, observed_on=clock.seoul_today()))
    db.session.flush()


def test_crossing_the_score_opens_a_concern_with_the_reason(app):
    d = b.dong()
    h = b.household(d, lives_alone=True, birth_date=date(1940, 1, 1))
    _indicator(h, "x_elec", 10)
    assert scoring.refresh([h.id]) == 0  # 10 + 5 + 5 = 20: below 30
    assert db.session.scalar(select(Concern)) is None
    _indicator(h, "x_gas", 15)
    assert scoring.refresh([h.id]) == 1  # 35: crosses 30
    db.session.refresh(h)
    assert h.risk_score == 35
    c = db.session.scalar(select(Concern))
    ev = db.session.scalar(select(ConcernEvent).where(ConcernEvent.kind == "risk_raised"))
    assert ev.concern_id == c.id and (ev.data["why"], ev.data["score"], ev.data["threshold"]) == ("score", 35, 30)
    assert scoring.refresh([h.id]) == 0  # no change, no second alert


def test_tier_confirm_override_and_history(app):
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    h = b.household(d, lives_alone=True, birth_date=date(1940, 1, 1))
    _indicator(h, "x_elec", 10)
    _indicator(h, "x_gas", 15)  # 35 -> suggested intensive
    services.confirm_tier(h, "intensive", "", cw)
    with pytest.raises(services.RiskError):
        services.confirm_tier(h, "relationship", "", cw)  # override without a reason
    services.confirm_tier(h, "emergency", "방문 시 자해 흔적 확인", cw)
    changes = list(db.session.scalars(select(TierChange).order_by(TierChange.id)))
    assert [(c.from_tier, c.to_tier, c.suggested_tier) for c in changes] == [
        ("unassessed", "intensive", "intensive"), ("intensive", "emergency", "intensive")]
    assert changes[1].reason == "방문 시 자해 흔적 확인" and changes[1].by_id == cw.id
    assert h.tier == "emergency"
    c = db.session.scalar(select(Concern))
    assert c.urgency == "urgent"
    notes = list(db.session.scalars(select(ConcernEvent.note).where(ConcernEvent.kind == "risk_raised")))
    assert len(notes) == 2 and notes[1] == "방문 시 자해 흔적 확인"


def test_screening_raises_concern_and_is_kept_with_who_and_when(app):
    clock.freeze(NOW)
    d = b.dong()
    nurse = b.user("nurse", dongs=[d])
    h = b.household(d)
    answers = {key: 0 for key, *_r in screening.MOHW_ITEMS} | {"suicidal_thought": 1, "suicidal_plan": 2}
    s, res = services.record_screening(h, "mohw", answers, nurse)
    assert (s.total, s.level, s.by_id, s.at) == (3, "low", nurse.id, NOW)
    assert res.suggested == "emergency"
    assert db.session.scalar(select(Concern)).urgency == "urgent"


def test_missed_calls_count_when_the_calls_module_exists(app):
    # missed calls (4 each): 2 no-answers in the window = 8 -> 일상지원군; the factor is 0 without volnet.calls
    inp = Inputs(missed_calls=2)
    assert compute(inp, NOW).score == 8
    d = b.dong()
    h = b.household(d)
    try:
        from volnet.calls import models as cm  # noqa: F401
    except ImportError:
        assert scoring._missed_call_counts([h.id], NOW) == {}
        return
    counts = scoring._missed_call_counts([h.id], NOW - timedelta(days=30))
    assert counts in ({}, {h.id: 0})


def test_the_risk_alert_reason_is_shown_in_the_reader_s_language(app, client):
    # The reason is kept as data (score, threshold, tier) and written out when the page is shown; an entry
    # stored earlier with its sentence keeps showing that sentence.
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    h = b.household(d, lives_alone=True, birth_date=date(1940, 1, 1))
    _indicator(h, "x_elec", 10)
    _indicator(h, "x_gas", 15)
    assert scoring.refresh([h.id]) == 1
    c = db.session.scalar(select(Concern))
    from volnet.concerns import services as concerns

    concerns.add_event(c, "risk_raised", None, note="위기 점수 41점으로 기준 30점에 이르렀습니다.")  # an old entry
    db.session.commit()
    b.login(client, cw)
    ko = client.get(f"/concerns/{c.id}").get_data(as_text=True)
    assert "위기 점수 35점으로 기준 30점에 이르렀습니다" in ko
    client.post("/lang", data={"lang": "en", "next": "/"})
    en = client.get(f"/concerns/{c.id}").get_data(as_text=True)
    assert "Risk score 35 reached the threshold 30; suggested tier: Intensive management" in en
    assert en.count("위기 점수") == 1  # only the old entry's stored sentence
