"""The public crisis indicator types (DOMAIN.md). Seeded once; an admin edits them afterwards."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from volnet.core.i18n import lazy_gettext as _l
from volnet.core.sql import insert_ignoring
from volnet.extensions import db
from volnet.risk.models import IndicatorType

CATEGORIES = {
    "arrears": _l("Arrears"),
    "cutoff": _l("Cut-offs"),
    "work": _l("Work"),
    "housing": _l("Housing"),
    "health": _l("Health"),
    "event": _l("Events"),
    "other": _l("Other"),
}

# (code, category, Korean label, English label, weight, observation signal, aliases)
SEED = [
    ("arrears_health_pension", "arrears", "건강보험료·국민연금 체납", "Health insurance / national pension arrears", 8,
     "arrears", ["건강보험료체납", "건보료체납", "국민연금체납"]),
    ("arrears_financial", "arrears", "금융 연체", "Financial delinquency", 6, "dunning_notices", ["금융연체"]),
    ("arrears_electricity", "arrears", "전기요금 체납", "Electricity arrears", 10, "arrears", ["전기료체납"]),
    ("arrears_public_rental", "arrears", "공공임대주택 임대료 체납", "Public rental arrears", 8, "arrears",
     ["임대료체납", "공공임대체납"]),
    ("arrears_management_fee", "arrears", "공동주택 관리비 체납", "Apartment management-fee arrears", 8, "arrears",
     ["관리비체납"]),
    ("arrears_telecom", "arrears", "통신비 체납", "Telecom arrears", 5, "arrears", ["통신요금체납"]),
    ("arrears_water", "arrears", "수도요금 체납", "Water arrears", 6, "arrears", ["수도료체납"]),
    ("arrears_gas", "arrears", "가스요금 체납", "Gas arrears", 6, "arrears", ["가스료체납"]),
    ("debt_adjustment_stopped", "arrears", "채무조정 중지", "Debt adjustment suspended", 6, "dunning_notices",
     ["채무조정중단"]),
    ("elderly_emergency_loan", "arrears", "노인 긴급생활자금 대출", "Elderly emergency loan", 5, "other", []),
    ("cutoff_gas", "cutoff", "단가스", "Gas cut off", 15, "utility_cutoff", ["가스공급중단"]),
    ("cutoff_water", "cutoff", "단수", "Water cut off", 15, "utility_cutoff", ["수도공급중단"]),
    ("cutoff_power", "cutoff", "단전·전류제한", "Power cut off or current limited", 15, "utility_cutoff",
     ["단전", "전류제한"]),
    ("job_loss", "work", "실직", "Job loss", 8, "job_loss", []),
    ("unemployment_unclaimed", "work", "실업급여 미신청", "Unemployment benefit not claimed", 6, "job_loss", []),
    ("day_labour", "work", "일용근로", "Day labour", 4, "job_loss", ["일용직"]),
    ("business_closure", "work", "휴·폐업", "Business suspension or closure", 6, "job_loss", ["폐업", "휴업"]),
    ("employment_insurance_loss", "work", "고용보험 자격 상실", "Employment-insurance loss", 6, "job_loss",
     ["고용보험상실"]),
    ("housing_rent_vulnerable", "housing", "전·월세 취약", "Jeonse / monthly-rent vulnerable", 8,
     "housing_crisis", ["전월세취약", "주거취약"]),
    ("health_selfharm_er", "health", "자해·자살 시도 응급실 내원", "Self-harm / suicide attempt ER visit", 25,
     "self_harm_talk", ["자살시도"]),
    ("health_suicide_high_risk", "health", "자살 고위험", "Suicide high-risk", 20, "self_harm_talk", []),
    ("health_no_care", "health", "장기 의료 미이용", "Long non-use of medical care", 6, "physical_distress", []),
    ("health_catastrophic_cost", "health", "과다 의료비 지출", "Catastrophic medical costs", 8, "physical_distress",
     ["재난적의료비"]),
    ("health_ltc_grade", "health", "장기요양 등급", "Long-term-care grade", 5, "poor_mobility", ["장기요양"]),
    ("health_severe_illness", "health", "중증질환", "Severe illness", 8, "physical_distress", ["중증질환산정특례"]),
    ("event_crime_victim", "event", "범죄 피해", "Crime victim", 8, "abuse_violence", []),
    ("event_head_death", "event", "가구주 사망", "Death of household head", 10, "earner_loss", ["주소득자사망"]),
    ("event_house_fire", "event", "주택 화재", "House fire", 10, "housing_crisis", ["화재"]),
    ("event_disaster", "event", "재난 피해", "Disaster", 10, "housing_crisis", ["재해"]),
    ("benefit_failed", "other", "기초·긴급지원 신청 탈락·중지", "Failed or stopped basic/emergency benefit application",
     8, "other", ["복지탈락", "기초수급탈락", "긴급지원탈락"]),
    ("facility_discharge", "other", "시설 퇴소", "Facility discharge", 6, "life_transition", ["시설퇴소자"]),
    ("student_at_risk", "other", "위기 학생", "At-risk student", 6, "other", ["학업중단"]),
]


def seed(update: bool = False) -> int:
    """Add the standard indicator types that are missing. Returns how many were added."""
    existing = set(db.session.scalars(select(IndicatorType.code)))
    added = 0
    for i, (code, cat, label, label_en, weight, signal, aliases) in enumerate(SEED):
        if code in existing:
            continue
        # ON CONFLICT DO NOTHING: the first two uploads of a new installation may seed at the same moment.
        res = db.session.execute(insert_ignoring(IndicatorType.__table__, ["code"]).values(
            code=code, category=cat, label=label, label_en=label_en, weight=weight, signal=signal,
            aliases=aliases, sort=i * 10).returning(IndicatorType.__table__.c.id))
        added += len(res.all())  # no row back: another request added it a moment ago
    return added


def ensure_seeded() -> None:
    if not db.session.scalar(select(func.count()).select_from(IndicatorType)):
        seed()


_FOLD = re.compile(r"[\s·.,()\-_/]+")


def fold(text: str) -> str:
    return _FOLD.sub("", (text or "").lower())


def lookup() -> dict[str, IndicatorType]:
    """Every spelling (code, label, aliases) folded -> active indicator type."""
    out: dict[str, IndicatorType] = {}
    for t in db.session.scalars(select(IndicatorType).where(IndicatorType.active.is_(True))):
        for name in [t.code, t.label, t.label_en, *(t.aliases or [])]:
            if name:
                out.setdefault(fold(name), t)
    return out
