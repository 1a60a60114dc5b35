"""Demo integrated cases for 송산3동: one at each step, linkages, a conference, emergency support."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from volnet.cases import services as svc
from volnet.concerns.models import OPEN_STATUSES, Concern
from volnet.core import clock
from volnet.extensions import db


def build(context):
    users = context["users"]
    cw, cw2 = users["caseworker"], users["caseworker2"]
    dong = context["dong"]
    open_concerns = list(db.session.scalars(
        select(Concern).where(Concern.dong_id == dong.id, Concern.status.in_(OPEN_STATUSES),
                              Concern.household_id.is_not(None)).order_by(Concern.id).limit(5)))
    now = clock.now()
    plans = [
        (18, "service", cw), (12, "planning", cw2), (6, "selection", cw), (2, "assessment", cw2), (40, "closed", cw),
    ]
    needs_days = {"assessment": 0, "selection": 3, "planning": 5, "service": 6, "closed": 26}
    for concern, (days_ago, target, owner) in zip(open_concerns, plans, strict=False):
        # Never before the concern's own reports (a case opened, or closed, before it was reported reads as
        # nothing real could), nor after the demo's now: a case on a fresh concern starts at the concern's time.
        # The steps are drawn closer together when the concern is younger than the plan.
        start = min(now, max(now - timedelta(days=days_ago), concern.last_signal_at))
        scale = min(1.0, (now - start) / timedelta(days=needs_days[target])) if needs_days[target] else 1.0

        def step(days: float, scale=scale) -> None:
            clock.advance(timedelta(days=days) * scale)

        clock.freeze(start)
        try:
            # The concern's signs (open_case reads them in Korean here), or a summary of the demo's own.
            case = svc.open_case(concern, owner, "" if concern.summary else "고독사 위험 1인 가구")
            db.session.flush()
            if target == "assessment":
                continue
            step(3)
            svc.add_need(case, owner, "economy", "high", "관리비 4개월 체납, 전기요금 독촉장")
            svc.add_need(case, owner, "health", "medium", "당뇨, 혼자 병원 가기 어려움")
            svc.add_need(case, owner, "social", "high", "가족과 연락 끊김, 외출 거의 없음")
            svc.record_assessment(case, owner, "high", "위기도 높음. 긴급생계지원 검토 필요.")
            if target == "selection":
                continue
            step(2)
            svc.record_selection(case, owner, "selected")
            svc.add_goal(case, owner, "economy", "체납 관리비 해소와 생계 안정", None)
            svc.add_goal(case, owner, "social", "주 1회 이상 이웃·봉사자와 만남", None)
            emergency = svc.record_emergency(case, owner, "livelihood", clock.now() - timedelta(hours=5),
                                             "통장님 신고, 쌀과 반찬 떨어짐")
            if target == "planning":
                continue
            step(1)
            svc.decide_emergency(case, emergency, owner, "approved", 730000, "긴급생계 1개월분")
            svc.record_plan(case, owner, "긴급생계지원 후 기초생활보장 신청, 푸드뱅크 연계, 반찬 배달 주 1회, "
                                         "정신건강복지센터 상담 연계, 월 1회 사례회의")
            today = clock.seoul_today()
            svc.add_linkage(case, owner, sector="public", service_type="emergency_welfare", provider="의정부시청 복지정책과",
                            status="active", start_on=today, end_on=None, value_won=730000)
            svc.add_linkage(case, owner, sector="private", service_type="food_bank", provider="의정부 푸드뱅크",
                            status="active", start_on=today, end_on=None, value_won=150000)
            svc.add_linkage(case, owner, sector="volunteer", service_type="side_dishes", provider="송산종합사회복지관",
                            status="active", start_on=today, end_on=None, value_won=0)
            svc.add_note(case, owner, "방문 상담. 아드님과 10년째 연락 없음, 우울감 호소. 정신건강복지센터 연계 동의.")
            svc.add_conference(case, owner, held_on=today, attendees="김민수 (송산3동 행정복지센터)\n박지현 팀장\n"
                               "의정부시 정신건강복지센터 상담사", agencies=["mental_health_centre", "welfare_centre"],
                               decisions="정신건강복지센터 주 1회 방문 상담. 복지관 반찬 배달 주 1회.",
                               tasks=[("정신건강복지센터 첫 방문 일정 잡기", "정신건강복지센터", today + timedelta(days=7)),
                                      ("기초생활보장 신청 서류 안내", "김민수", today + timedelta(days=14))])
            if target == "closed":
                step(20)
                svc.close_case(case, owner, "stabilised", "생계 안정, 정기 모니터링으로 전환", end_linkages=True)
        finally:
            clock.reset()
    db.session.flush()
