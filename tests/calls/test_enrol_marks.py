"""The enrolment search and form say when a household is already enrolled (QA round 20: F14)."""
from __future__ import annotations

from tests import builders as b
from tests.calls.builders import enrolled, korean_client
from volnet.extensions import db


def test_the_enrolment_search_marks_enrolled_households(world, client):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"], name="신현주")
    free = b.household(world["dong"], name="신미등", road="경기도 의정부시 송산로 100", unit="102동 101호")
    db.session.commit()
    b.login(client, world["cw"])
    page = client.get("/calls/enroll?q=송산로 100").get_data(as_text=True)
    assert "신현주" in page and "신미등" in page
    assert page.count("Enrolled") == 1 and f'href="/calls/enrollments/{enr.id}"' in page
    assert f"/calls/enroll?household_id={free.id}" in page and f"/calls/enroll?household_id={h.id}" not in page
    page = client.get(f"/calls/enroll?household_id={h.id}").get_data(as_text=True)
    assert "This household is already enrolled for safety calls." in page
    assert page.index("already enrolled") < page.index('class="kv"')  # at once, above the household's details
    assert f'href="/calls/enrollments/{enr.id}"' in page and 'name="caller_id"' not in page
    page = client.get(f"/calls/enroll?household_id={free.id}").get_data(as_text=True)
    assert 'name="caller_id"' in page and "already enrolled" not in page


def test_an_enrolled_household_in_korean(app, world):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"], name="신현주")
    db.session.commit()
    c = korean_client(app, world["cw"])
    page = c.get("/calls/enroll?q=신현주").get_data(as_text=True)
    assert "등록됨" in page
    page = c.get(f"/calls/enroll?household_id={h.id}").get_data(as_text=True)
    assert "이 가구는 이미 안심콜 대상으로 등록되어 있습니다." in page and "안심콜 보기" in page
