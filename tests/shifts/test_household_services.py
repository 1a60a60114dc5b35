"""The household page shows what volunteer shifts do for it (QA shifts #7)."""
from __future__ import annotations

from datetime import timedelta

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.core.web import seoul_datetime
from volnet.extensions import db


def test_caseworker_and_team_lead_see_the_households_routes_next_visit_and_outcomes(client):
    d, org, coord, p = sb.world()
    org.phone = "0318701234"
    h = b.household(d, name="신현주")
    other = b.household(d, name="남", road="경기도 의정부시 송산로 300")
    done = []
    for days, outcome in ((-21, "refused"), (-14, "refused"), (-7, "no_answer")):
        o = sb.occurrence(p, starts_at=(clock.now() + timedelta(days=days)).replace(microsecond=0))
        st = sb.stop(o, h)
        st.outcome, st.outcome_at = outcome, o.starts_at + timedelta(minutes=20)
        done.append(o)
    nxt = sb.occurrence(p, in_hours=20)
    sb.stop(nxt, h)
    sb.stop(sb.occurrence(p, in_hours=24 * 8), h)
    lunch = sb.program(org, d, name="목요일 도시락 나눔", service="lunch_boxes")
    sb.stop(sb.occurrence(lunch, in_hours=50), h)
    sb.stop(sb.occurrence(lunch, in_hours=60), other)
    cw = b.user("caseworker", dongs=[d])
    lead = b.user("team_lead", dongs=[d])
    outsider = b.user("caseworker", dongs=[b.dong()])
    db.session.commit()
    for who in (cw, lead):
        b.login(client, who)
        client.post("/lang", data={"lang": "en"})
        body = client.get(f"/households/{h.id}").get_data(as_text=True)
        section = body[body.index('id="volunteer-services"'):body.index("Timeline")]
        assert "화요일 반찬 배달" in section and "목요일 도시락 나눔" in section and "송산종합사회복지관" in section
        assert 'href="tel:0318701234"' in section and "Side dishes" in section
        assert f"Next visit</dt><dd>{seoul_datetime(nxt.starts_at)} · 화요일 반찬 배달" in section
        assert section.count("Refused") == 2 and section.count("No answer") == 1
        client.post("/account/logout")
    b.login(client, outsider)
    assert client.get(f"/households/{h.id}").status_code == 404
    client.post("/account/logout")
    b.login(client, cw)
    client.post("/lang", data={"lang": "en"})
    assert "Not on any volunteer shift route." in client.get(
        f"/households/{b.household(d, road='경기도 의정부시 송산로 9').id}").get_data(as_text=True)


def test_the_household_page_reads_its_shifts_in_one_statement(client):
    d, org, coord, p = sb.world()
    few, many = b.household(d, name="적음"), b.household(d, name="많음", road="경기도 의정부시 송산로 5")
    cw = b.user("caseworker", dongs=[d])
    sb.stop(sb.occurrence(p, in_hours=30), few)
    for i in range(25):
        o = sb.occurrence(p, starts_at=(clock.now() + timedelta(days=i - 12)).replace(microsecond=0))
        st = sb.stop(o, many)
        if i < 12:
            st.outcome, st.outcome_at = "delivered", o.starts_at
    db.session.commit()
    few_id, many_id = few.id, many.id
    b.login(client, cw)
    n_few, _ = b.page_statements(client, f"/households/{few_id}")
    n_many, html = b.page_statements(client, f"/households/{many_id}")
    assert n_many == n_few
    assert html.count("Delivered") == 5 or html.count("전달 완료") == 5  # the latest five only
