"""QA round 20 (the first loop), the concern page: the timeline names a visit once (F10), the merge number asks
for a concern number (F13), and a caseworker sees who owns a colleague's concern instead of a form that is
refused (F17)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests import builders as b
from volnet.concerns import services
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db

# Thursday 2026-12-03 10:00 Seoul
THU_10 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def d(app):
    clock.freeze(THU_10)
    return b.dong(name="송산3동")


@pytest.fixture
def cw(d):
    return b.user("caseworker", [d], name="김민수")


@pytest.fixture
def lead(d):
    return b.user("team_lead", [d], name="박지현")


def _reload(concern_id) -> Concern:
    db.session.expire_all()
    return db.session.get(Concern, concern_id)


def _concern(d, urgency="routine") -> int:
    c_id = b.observation(b.household(d), urgency=urgency).concern_id
    db.session.commit()
    return c_id


# --- F10. the timeline names a visit once ------------------------------------------------------------------------

def test_the_timeline_names_a_visit_once_in_both_languages(app, client, d, cw):
    c_id = _concern(d)
    b.login(client, cw)
    for outcome in ("visit_no_response", "visit_safe", "no_answer"):
        client.post(f"/concerns/{c_id}/contact", data={"outcome": outcome, "note": ""})
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "방문: 응답 없음" in page and "방문: 안전 확인" in page and "방문: 방문" not in page
    assert "연락: 응답 없음" in page
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    assert "Visit: no response" in page and "Visit: safe" in page and "Visit: Visit" not in page
    assert "Contact: No answer" in page


# --- F13. the merge number ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["-5", "0", "abc", "99999999999"])
def test_the_merge_number_asks_for_a_concern_number(app, client, d, cw, typed):
    c_id = _concern(d)
    b.login(client, cw)
    page = client.get(f"/concerns/{c_id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="target_id"[^>]*>', page).group(0)
    assert 'min="1"' in field and "4611686018427387904" not in field
    maximum = int(re.search(r'max="(\d+)"', field).group(1))
    assert maximum < 2**31
    r = client.post(f"/concerns/{c_id}/merge", data={"target_id": typed}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "위기 의심 건 번호를 적어 주세요 (예: 63)." in page
    assert "4611686018427387904" not in page and "이하의 값" not in page
    assert _reload(c_id).status == "new"


# --- F17. a colleague's concern: who owns it, and whom to ask ---------------------------------------------------

def test_a_caseworker_sees_the_owner_of_a_colleagues_concern_instead_of_an_assign_form(app, client, d, cw, lead):
    colleague = b.user("caseworker", [d], name="이서연")
    theirs, unowned = _concern(d), _concern(d)
    services.assign(_reload(theirs), cw, cw)
    db.session.commit()
    b.login(client, colleague)
    page = client.get(f"/concerns/{theirs}").get_data(as_text=True)
    assert f'action="/concerns/{theirs}/assign"' not in page
    assert "담당자: 김민수. 다른 사람에게 넘기려면 복지팀장에게 재배정을 요청하세요." in page
    assert f'action="/concerns/{unowned}/assign"' in client.get(f"/concerns/{unowned}").get_data(as_text=True)
    services.assign(_reload(theirs), colleague, lead)
    db.session.commit()
    assert f'action="/concerns/{theirs}/assign"' in client.get(f"/concerns/{theirs}").get_data(as_text=True)
    client = app.test_client()  # another person, another browser
    b.login(client, lead)
    services.assign(_reload(theirs), cw, lead)
    db.session.commit()
    assert f'action="/concerns/{theirs}/assign"' in client.get(f"/concerns/{theirs}").get_data(as_text=True)
