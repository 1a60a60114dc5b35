"""QA round 20 on the case page: a conference task row without its text (F8), emergency support approved without
an amount, and a decision made after its clock (F11)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from volnet.cases import services as svc
from volnet.cases.models import CaseConference, ConferenceTask, EmergencySupport
from volnet.core import clock
from volnet.extensions import db

T0 = datetime(2026, 12, 4, 18, 40, tzinfo=UTC)  # Sat 2026-12-05 03:40 in Seoul


@pytest.fixture
def s(app):
    clock.freeze(T0)
    d = b.dong()
    cw = b.user("caseworker", [d], name="김민수")
    case = cb.case(cw, b.household(d, name="김영희"))
    db.session.commit()
    return {"dong": d, "cw": cw, "case": case}


def test_a_task_row_with_who_and_by_when_but_no_task_comes_back_to_be_written(s, client):
    b.login(client, s["cw"])
    form = {"held_on": "2026-12-05", "attendees": "김민수 (송산3동)\n박지현 팀장", "decisions": "주 1회 방문",
            "task1": "", "owner1": "김민수", "due1": "2026-12-20", "task2": "방문 일정", "owner2": "", "due2": ""}
    resp = client.post(f"/cases/{s['case'].id}/conferences", data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "할 일을 적어 주세요." in html
    assert 'value="김민수"' in html and 'value="2026-12-20"' in html and 'value="방문 일정"' in html
    assert "주 1회 방문" in html and "박지현 팀장" in html
    assert db.session.scalar(select(func.count()).select_from(CaseConference)) == 0
    # Written, it is recorded with both tasks.
    resp = client.post(f"/cases/{s['case'].id}/conferences", data=dict(form, task1="기초생활보장 신청 안내"))
    assert resp.status_code == 302
    tasks = db.session.execute(select(ConferenceTask.text, ConferenceTask.owner_name, ConferenceTask.due_on)
                               .order_by(ConferenceTask.id)).all()
    assert tasks == [("기초생활보장 신청 안내", "김민수", date(2026, 12, 20)), ("방문 일정", "", None)]


def test_an_approval_needs_its_amount_and_a_late_decision_stays_marked(s, client):
    case = s["case"]
    es = svc.record_emergency(case, s["cw"], "livelihood", T0 - timedelta(days=8), "쌀과 반찬 떨어짐")
    db.session.commit()
    assert es.decision_due_at < T0  # six days late
    b.login(client, s["cw"])
    url = f"/cases/{case.id}/emergency/{es.id}"
    for amount in ("", "0"):
        resp = client.post(url, data={"decision": "approved", "amount_won": amount, "note": "생계지원 1개월"})
        assert resp.status_code == 400
        html = resp.get_data(as_text=True)
        assert "금액을 입력하세요." in html and "생계지원 1개월" in html
        db.session.expire_all()
        assert db.session.get(EmergencySupport, es.id).decided_at is None
    # "Not approved" needs no amount.
    other = svc.record_emergency(case, s["cw"], "medical", T0 - timedelta(hours=1))
    db.session.commit()
    assert client.post(f"/cases/{case.id}/emergency/{other.id}", data={"decision": "denied"}).status_code == 302
    resp = client.post(url, data={"decision": "approved", "amount_won": "730,000", "note": ""})
    assert resp.status_code == 302
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "730,000원" in html
    assert html.count("기한 넘겨 결정") == 1  # the late one, not the one decided in time
    assert "긴급복지지원 결정(기한 넘김): 지원 결정" in html  # the case history says so too
