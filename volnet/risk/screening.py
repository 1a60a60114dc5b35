"""Screening scales used at a visit, scored here and kept with who, when and the answers.

MOHW social isolation form (사회적 고립가구 조사표) — our structured rendering of its four domains,
nine items, total 0-13 (9-13 high 고위험, 4-8 medium 중위험, 1-3 low 저위험, 0 general 일반):

  domain            item                                                        points
  meals             meals_skip      eats regularly / often skips one / often skips two or more   0 / 1 / 2
                    meals_help      cannot prepare meals and has no one to help                  0 / 1
  illness           illness_care    no illness or treated / partly treated / untreated           0 / 1 / 2
                    illness_alone   no one to look after them when ill                           0 / 1
  communication &   contact_freq    contact with anyone weekly+ / about monthly / rarely-never   0 / 1 / 2
  relationships     no_help         no one to ask for help in an emergency                       0 / 1
                    no_talk         no one to talk to about worries                              0 / 1
  suicidal thoughts suicidal_thought has thought of ending their life in the past year           0 / 1
                    suicidal_plan   has made a plan or an attempt                                0 / 2
  maximum: 2+1+2+1+2+1+1+1+2 = 13

LSNS-6 (Lubben Social Network Scale): 6 items, each 0-5 (none / one / two / three-four / five-eight /
nine or more), total 0-30; at or below the cut-off (setting risk.lsns.cutoff, default 12): at risk.

UCLA-3 loneliness: 3 items, each 1-3 (hardly ever / some of the time / often), total 3-9; at or above
the cut-off (setting risk.ucla.cutoff, default 6): lonely.
"""
from __future__ import annotations

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.risk.models import Screening
from volnet.risk.tiers import num

YES_NO = [(0, _l("No")), (1, _l("Yes"))]

MOHW_ITEMS = [
    ("meals_skip", _l("Meals"), _l("How regularly does the person eat?"),
     [(0, _l("Eats regularly")), (1, _l("Often skips one meal a day")), (2, _l("Often skips two or more meals"))]),
    ("meals_help", _l("Meals"), _l("Cannot prepare meals and has no one to help?"), YES_NO),
    ("illness_care", _l("Illness"), _l("Illness and treatment"),
     [(0, _l("No illness, or treated")), (1, _l("Partly treated")), (2, _l("Not treated"))]),
    ("illness_alone", _l("Illness"), _l("No one to look after them when ill?"), YES_NO),
    ("contact_freq", _l("Communication and relationships"), _l("How often in contact with anyone?"),
     [(0, _l("Weekly or more")), (1, _l("About monthly")), (2, _l("Rarely or never"))]),
    ("no_help", _l("Communication and relationships"), _l("No one to ask for help in an emergency?"), YES_NO),
    ("no_talk", _l("Communication and relationships"), _l("No one to talk to about worries?"), YES_NO),
    ("suicidal_thought", _l("Suicidal thoughts"), _l("Thought of ending their life in the past year?"), YES_NO),
    ("suicidal_plan", _l("Suicidal thoughts"), _l("Has made a plan or an attempt?"),
     [(0, _l("No")), (2, _l("Yes"))]),
]

LSNS_CHOICES = [(0, _l("None")), (1, _l("One")), (2, _l("Two")), (3, _l("Three or four")),
                (4, _l("Five to eight")), (5, _l("Nine or more"))]
LSNS_ITEMS = [
    ("family_see", _l("Family"), _l("How many relatives do you see or hear from at least once a month?"),
     LSNS_CHOICES),
    ("family_talk", _l("Family"), _l("How many relatives do you feel at ease with to talk about private matters?"),
     LSNS_CHOICES),
    ("family_help", _l("Family"), _l("How many relatives do you feel close to such that you could call on them "
                                     "for help?"), LSNS_CHOICES),
    ("friends_see", _l("Friends"), _l("How many friends do you see or hear from at least once a month?"),
     LSNS_CHOICES),
    ("friends_talk", _l("Friends"), _l("How many friends do you feel at ease with to talk about private matters?"),
     LSNS_CHOICES),
    ("friends_help", _l("Friends"), _l("How many friends do you feel close to such that you could call on them "
                                       "for help?"), LSNS_CHOICES),
]

UCLA_CHOICES = [(1, _l("Hardly ever")), (2, _l("Some of the time")), (3, _l("Often"))]
UCLA_ITEMS = [
    ("companionship", _l("Loneliness"), _l("How often do you feel that you lack companionship?"), UCLA_CHOICES),
    ("left_out", _l("Loneliness"), _l("How often do you feel left out?"), UCLA_CHOICES),
    ("isolated", _l("Loneliness"), _l("How often do you feel isolated from others?"), UCLA_CHOICES),
]

KINDS = {
    "mohw": {"label": _l("Social isolation form (MOHW)"), "items": MOHW_ITEMS, "range": (0, 13)},
    "lsns6": {"label": _l("LSNS-6 social network"), "items": LSNS_ITEMS, "range": (0, 30)},
    "ucla3": {"label": _l("UCLA-3 loneliness"), "items": UCLA_ITEMS, "range": (3, 9)},
}

LEVELS = {
    "high": _l("High risk"), "medium": _l("Medium risk"), "low": _l("Low risk"), "general": _l("General"),
    "at_risk": _l("At risk of isolation"), "not_at_risk": _l("Not at risk"),
    "lonely": _l("Lonely"), "not_lonely": _l("Not lonely"),
}


class ScreeningError(ValueError):
    pass


def score(kind: str, answers: dict) -> tuple[int, str]:
    """Total and level of a complete set of answers; raises ScreeningError on a missing or unknown answer."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ScreeningError(kind)
    total = 0
    for key, _d, _q, choices in spec["items"]:
        value = answers.get(key)
        if value not in {c for c, _ in choices}:
            raise ScreeningError(key)
        total += int(value)
    if kind == "mohw":
        level = "high" if total >= 9 else "medium" if total >= 4 else "low" if total >= 1 else "general"
    elif kind == "lsns6":
        level = "at_risk" if total <= num("risk.lsns.cutoff") else "not_at_risk"
    else:
        level = "lonely" if total >= num("risk.ucla.cutoff") else "not_lonely"
    return total, level


def record(household, kind: str, answers: dict, actor, note: str = "") -> Screening:
    total, level = score(kind, answers)
    s = Screening(household_id=household.id, dong_id=household.dong_id, kind=kind,
                  answers={k: int(v) for k, v in answers.items()}, total=total, level=level,
                  by_id=actor.id if actor else None, at=clock.now(), note=note or "")
    db.session.add(s)
    db.session.flush()
    return s
