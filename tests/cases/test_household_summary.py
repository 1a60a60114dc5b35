"""The household page sums up the household's care at the top: open integrated case, tier and score,
safety-call plan, indicators of the latest crisis list (QA finding 6)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests import builders as b
from tests.cases import builders as cb
from volnet.calls import services as calls
from volnet.core import clock
from volnet.extensions import db
from volnet.risk.models import HouseholdIndicator, IndicatorType

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Monday in Seoul


@pytest.fixture
def s(app):
    clock.freeze(T0)
    d = b.dong()
    h = b.household(d, name="신현주", phone="01012345678")
    h.tier, h.risk_score = "intensive", 35.0
    staff = {"cw": b.user("caseworker", [d], name="김민수"), "lead": b.user("team_lead", [d], name="박지현"),
             "nurse": b.user("nurse", [d], name="최은정")}
    caller = b.user("care_corps", [d], name="윤복순")
    case = cb.case(staff["cw"], h)
    enr = calls.enroll(staff["cw"], h, caller, None)
    enr.next_due_on, enr.consecutive_misses = date(2026, 3, 4), 1
    types = []
    for code, label, label_en in (("qa_power", "단전·전류제한", "Power cut or current limit"),
                                  ("qa_water", "단수", "Water cut off"),
                                  ("qa_health", "건강보험료 체납", "Health insurance arrears")):
        t = IndicatorType(code=code, label=label, label_en=label_en, weight=5, category="cutoff")
        db.session.add(t)
        types.append(t)
    db.session.flush()
    db.session.add(HouseholdIndicator(household_id=h.id, indicator_type_id=types[2].id, round_id=900001,
                                      observed_on=date(2025, 12, 1)))  # an older round
    for t in types[:2]:
        db.session.add(HouseholdIndicator(household_id=h.id, indicator_type_id=t.id, round_id=900002,
                                          observed_on=date(2026, 2, 20)))
    other = b.dong()
    outsider = b.user("caseworker", [other], name="타동직원")
    volunteer = b.user("volunteer", [d], name="자원봉사자")
    db.session.commit()
    return {"h": h, "case": case, "enr": enr, "outsider": outsider, "volunteer": volunteer, **staff}


def _summary(page: str) -> str:
    start = page.index('id="care-summary"')
    return page[start:page.index("</section>", start)]


@pytest.mark.parametrize("role", ["cw", "lead", "nurse"])
def test_dong_staff_see_the_case_tier_calls_and_latest_crisis_list_at_the_top(s, client, role):
    b.login(client, s[role])
    page = client.get(f"/households/{s['h'].id}").get_data(as_text=True)
    block = _summary(page)
    assert page.index('id="care-summary"') < page.index('id="volunteer-services"')  # at the top of the page
    assert f'href="/cases/{s["case"].id}"' in block and "욕구·위기도 조사" in block and "김민수" in block
    assert "2026. 3. 12.(목)" in block  # the assessment is due
    assert "집중관리군" in block and "35" in block and f'href="/risk/households/{s["h"].id}"' in block
    assert f'href="/calls/enrollments/{s["enr"].id}"' in block and "윤복순" in block
    assert "2026. 3. 4.(수)" in block and "연속 부재 1회" in block
    assert "단전·전류제한" in block and "단수" in block and "건강보험료 체납" not in block  # the latest round only
    client.set_cookie("volnet_lang", "en")
    block = _summary(client.get(f"/households/{s['h'].id}").get_data(as_text=True))
    assert "Power cut or current limit" in block and "Intensive management" in block and "단수" not in block


def test_the_summary_is_for_the_dong_s_staff_only_and_says_when_there_is_nothing(s, client):
    for who in (s["outsider"], s["volunteer"]):
        b.login(client, who)
        assert client.get(f"/households/{s['h'].id}").status_code == 404
        client.post("/account/logout")
    alone = b.household(s["h"].dong, road="경기도 의정부시 송산로 300", name="박철수")
    db.session.commit()
    b.login(client, s["cw"])
    block = _summary(client.get(f"/households/{alone.id}").get_data(as_text=True))
    assert "진행 중인 통합사례 없음" in block and "안심콜 미등록" in block and "최근 위기가구 명단" not in block


def test_the_summary_costs_at_most_three_statements(s, client):
    b.login(client, s["cw"])
    sent, body = b.page_sql(client, f"/households/{s['h'].id}")
    ours = [q for q in sent if "FROM cases" in q or "FROM call_enrollments" in q or "risk_household_indicators" in q]
    assert len(ours) == 3, ours
    assert "윤복순" in body


def test_a_call_still_open_today_is_shown_before_the_plan_s_next_date(s, client):
    """Today's call not made yet (or a retry) is what the household is waiting for, not the next date."""
    from volnet.calls.models import CallTask

    enr = s["enr"]
    db.session.add(CallTask(enrollment_id=enr.id, household_id=s["h"].id, dong_id=s["h"].dong_id,
                            assignee_id=enr.caller_id, due_on=date(2026, 3, 2),
                            due_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC), status="open"))
    db.session.commit()
    clock.freeze(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))  # 12:00 in Seoul: two hours late
    b.login(client, s["cw"])
    block = _summary(client.get(f"/households/{s['h'].id}").get_data(as_text=True))
    assert "통화 예정 2026. 3. 2.(월) 10:00" in block and "기한 초과" in block
    assert "2026. 3. 4.(수)" not in block
