"""The dong's report, checked against a hand-built dataset.

March 2026 in 송산3동 (Asia/Seoul dates), by construction:
- 3 initial consultations (concerns acknowledged in March; one of them at 00:30 on 1 March Seoul time,
  which is still 28 February in UTC); the February one and the other dong's are not counted;
- 4 concerns opened in March: 3 from observations, 1 from a safety call;
- 2 new integrated cases (a third was opened in February);
- outcomes of concerns closed in March: 2 "integrated case opened", 1 "checked, no concern";
- 4 service linkages worth 1,250,000 won (300,000 + 450,000 + 500,000 + 0): public 2 / 750,000,
  private 1 / 500,000, volunteer 1 / 0. Not counted: a cancelled one (999,999), one starting 1 April,
  and the other dong's;
- safety calls: 4 made, 1 reached, 3 not reached, 1 missed scheduled call.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests import builders as b
from tests.calls.builders import enrolled
from tests.cases import builders as cb
from volnet.calls import services as calls
from volnet.cases import services as cases
from volnet.concerns import services as concerns
from volnet.core import clock
from volnet.extensions import db
from volnet.reports import services as svc

FEB = datetime(2026, 2, 20, 1, 0, tzinfo=UTC)
MAR1_SEOUL = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)  # 2026-03-01 00:30 in Seoul
MAR = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def _at(when):
    clock.freeze(when)


@pytest.fixture
def data(app):
    _at(FEB)
    d = b.dong(name="송산3동")
    other = b.dong(name="호원2동")
    cw = b.user("caseworker", [d], name="김민수")
    lead = b.user("team_lead", [d], name="박지현")
    ocw = b.user("caseworker", [other])
    hh = [b.household(d, road=f"경기도 의정부시 송산로 {i}", name=f"주민{i}") for i in range(6)]
    # February: a concern acknowledged and a case opened (not in March's figures).
    c0 = cb.concern_for(hh[0])
    concerns.acknowledge(c0, cw)
    cases.open_case(c0, cw)
    # 1 March, 00:30 Seoul time: a safety-call concern, acknowledged at once, closed "no concern" on 10 March.
    _at(MAR1_SEOUL)
    from volnet.observations import services as obs_svc
    from volnet.observations.models import Observation
    obs, _ = obs_svc.submit(Observation(dong_id=d.id, household_id=hh[3].id, household=hh[3], source="safety_call",
                                        signals=["unreachable"]), None)
    c3 = db.session.get(concerns.Concern, obs.concern_id)
    concerns.acknowledge(c3, cw)
    _at(MAR)
    concerns.close(c3, cw, "no_concern", "")
    c1, c2 = cb.concern_for(hh[1]), cb.concern_for(hh[2])
    cb.concern_for(hh[4])  # opened, never acknowledged
    concerns.record_contact(c1, cw, "visit_safe", "")
    concerns.acknowledge(c2, cw)
    case1, case2 = cases.open_case(c1, cw), cases.open_case(c2, cw)
    db.session.flush()
    cb.linkage(case1, cw, 300000, date(2026, 3, 10), sector="public", service_type="basic_livelihood")
    cb.linkage(case1, cw, 450000, date(2026, 3, 31), sector="public", service_type="emergency_welfare")
    cb.linkage(case2, cw, 500000, date(2026, 3, 1), sector="private", service_type="housing_repair",
               provider="=HYPERLINK(\"http://x\")")
    cb.linkage(case2, cw, 0, date(2026, 3, 15), sector="volunteer", service_type="side_dishes")
    cb.linkage(case2, cw, 999999, date(2026, 3, 15), status="cancelled")
    cb.linkage(case2, cw, 100000, date(2026, 4, 1))
    # Safety calls in March: one missed scheduled call (3 attempts), then an answered call a week later.
    h5, enr = enrolled(d, cw, tier="daily_risk", name="주민5", phone="01012341234")
    calls.ensure_tasks()
    task = db.session.scalars(calls.tasks_for(enr.caller)).first()
    res = calls.record(task, enr.caller, "no_answer")
    clock.freeze(res["retry"].due_at)  # each retry once its wait is over
    res = calls.record(res["retry"], enr.caller, "no_answer")
    clock.freeze(res["retry"].due_at)
    calls.record(res["retry"], enr.caller, "busy")
    _at(MAR + timedelta(days=7))
    calls.ensure_tasks()
    task = db.session.scalars(calls.tasks_for(enr.caller)).first()
    calls.record(task, enr.caller, "connected_fine")
    # The other dong, same month: nothing of it may show.
    oh = b.household(other, name="다른동주민")
    oc = cb.concern_for(oh)
    concerns.acknowledge(oc, ocw)
    ocase = cases.open_case(oc, ocw)
    db.session.flush()
    cb.linkage(ocase, ocw, 7777777, date(2026, 3, 5))
    db.session.commit()
    _at(datetime(2026, 4, 5, 1, 0, tzinfo=UTC))
    return {"dong": d, "other": other, "cw": cw, "lead": lead, "ocw": ocw}


def test_march_figures_match_the_hand_count(data):
    f = svc.figures(data["dong"].id, date(2026, 3, 1), date(2026, 3, 31))
    assert f["initial_consultations"] == 3
    assert f["concerns_opened"] == 4
    assert f["concerns_by_source"] == {"observation": 3, "safety_call": 1}
    assert f["new_cases"] == 2
    assert f["concerns_by_outcome"] == {"case_opened": 2, "no_concern": 1}
    assert (f["linkages"], f["linkage_value"]) == (4, 1_250_000)
    assert f["linkages_by_sector"] == {"public": {"count": 2, "value": 750_000},
                                       "private": {"count": 1, "value": 500_000},
                                       "volunteer": {"count": 1, "value": 0}}
    assert (f["calls_made"], f["calls_reached"], f["calls_not_reached"], f["calls_missed_scheduled"]) == (4, 1, 3, 1)
    feb = svc.figures(data["dong"].id, date(2026, 2, 1), date(2026, 2, 28))
    assert (feb["initial_consultations"], feb["new_cases"], feb["linkages"]) == (1, 1, 0)
    # Any date range: 1 March alone holds the midnight consultation and the private linkage.
    day = svc.figures(data["dong"].id, date(2026, 3, 1), date(2026, 3, 1))
    assert (day["initial_consultations"], day["linkages"], day["linkage_value"]) == (1, 1, 500_000)


def test_report_page_and_csv(data, client):
    b.login(client, data["lead"])
    page = client.get(f"/reports/?dong={data['dong'].id}&month=2026-03").get_data(as_text=True)
    assert 'id="fig-initial">3<' in page and 'id="fig-cases">2<' in page
    assert 'id="fig-linkages">4<' in page and 'id="fig-value">1,250,000<' in page
    assert "<svg" in page and "<rect" in page and "style=" not in page
    assert "다른동주민" not in page and "주민1" not in page  # aggregated numbers only
    r = client.get(f"/reports/export.csv?dong={data['dong'].id}&month=2026-03")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = r.data
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "1250000" in text and "HYPERLINK" not in text
    # Default: the current month (April 2026).
    page = client.get("/reports/").get_data(as_text=True)
    assert "2026. 4. 1." in page and 'id="fig-value">100,000<' in page


def test_csv_cells_are_neutralised():
    from volnet.core.csvutil import safe_cell  # the one shared writer

    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+82") == "'+82"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-3") == "'-3"
    assert svc.to_csv([[-3]]).decode("utf-8-sig") == "-3\r\n"  # numbers are never prefixed
    assert safe_cell("송산3동") == "송산3동"
    assert svc.to_csv([["=cmd", 1]]).decode("utf-8-sig") == "'=cmd,1\r\n"


def test_bad_periods_give_a_message_not_a_500(data, client):
    b.login(client, data["cw"])
    for qs, msg in (("month=2026-13", "real month"), ("month=abc", "real month"),
                    ("start=2024-02-30&end=2024-03-01", "real dates"), ("start=2026-03-10&end=2026-03-01", "cannot be before"),
                    ("start=1990-01-01&end=2026-01-01", "between 2000-01-01 and 2100-12-31"), ("start=2020-01-01&end=2026-01-01", "three years")):
        r = client.get(f"/reports/?{qs}")
        assert r.status_code == 200 and msg in r.get_data(as_text=True), qs
    r = client.get("/reports/export.csv?month=2026-13", follow_redirects=True)
    assert r.status_code == 200 and r.request.path == "/reports/" and "real month" in r.get_data(as_text=True)


def test_only_team_leads_and_caseworkers_of_the_dong(data, client):
    b.login(client, data["ocw"])
    assert client.get(f"/reports/?dong={data['dong'].id}").status_code == 404
    assert client.get(f"/reports/export.csv?dong={data['dong'].id}").status_code == 404
    assert client.get("/reports/?dong=abc").status_code == 404
    page = client.get("/reports/?month=2026-03").get_data(as_text=True)
    assert 'id="fig-value">7,777,777<' in page  # their own dong
    client.post("/account/logout")
    for role in ("nurse", "volunteer", "tong_leader", "partner"):
        u = b.user(role, [data["dong"]])
        db.session.commit()
        b.login(client, u)
        assert client.get("/reports/").status_code == 404, role
        client.post("/account/logout")


def test_shifts_section_says_not_available_or_counts(data, client):
    b.login(client, data["lead"])
    page = client.get("/reports/?month=2026-03").get_data(as_text=True)
    assert "Shifts delivered" in page or "Not available" in page


def _csv(client, url):
    import csv
    import io

    r = client.get(url)
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_csv_has_every_figure_the_page_shows(data, client):
    """Staff paste the CSV into their monthly report: concerns received, open cases and the safety calls by
    outcome are in it, as on the page, with the page's (translated) labels."""
    b.login(client, data["lead"])
    url = f"/reports/export.csv?dong={data['dong'].id}&month=2026-03"
    rows = {(r[0], r[1]): r[2] for r in _csv(client, url) if len(r) >= 3}
    assert rows[("Summary", "Concerns opened")] == "4"
    assert rows[("Summary", "Open integrated cases now")] == "3"
    assert rows[("Calls by outcome", "No answer")] == "2"
    assert rows[("Calls by outcome", "Busy")] == "1"
    assert rows[("Calls by outcome", "Connected, fine")] == "1"
    page = client.get(f"/reports/?dong={data['dong'].id}&month=2026-03").get_data(as_text=True)
    for label in ("Concerns opened", "Open integrated cases now", "Calls by outcome", "No answer"):
        assert label in page  # the same figures, under the same names
    client.set_cookie("volnet_lang", "ko")
    ko = {(r[0], r[1]): r[2] for r in _csv(client, url) if len(r) >= 3}
    assert ko[("요약", "접수된 위기 의심 건")] == "4"
    assert ko[("결과별 통화", "응답 없음")] == "2"
