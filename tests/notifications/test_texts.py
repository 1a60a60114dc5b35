"""What a message reads like: dates and times as the rest of the UI shows them in the reader's language,
"Unassigned" for a missing owner, the right particle after a place name, no raw one-time link in the app's
own list, and links that point at the instance people use."""
from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import builders as b
from tests.notifications.builders import person, rows
from volnet.core import clock
from volnet.core.korean import fix_ro, ro
from volnet.extensions import db
from volnet.notifications import services


def seoul(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=clock.SEOUL).astimezone(UTC)


def _inbox(client, u, lang):
    b.login(client, u)
    client.post("/lang", data={"lang": lang})
    return client.get("/notifications").get_data(as_text=True)


def test_overdue_alerts_and_the_morning_summary_read_dates_as_the_ui_does_and_say_unassigned(app):
    clock.freeze(seoul(2026, 3, 2, 10))  # Monday
    d = b.dong(name="송산3동")
    cw = person("caseworker", dongs=[d], locale="ko")
    lead = person("team_lead", dongs=[d], channels=["sms"], locale="ko")
    b.observation(b.household(d), b.user("honorary", dongs=[d]), urgency="emergency")  # acknowledge by 11:00
    db.session.commit()
    clock.freeze(seoul(2026, 3, 2, 13, 30))  # past the due time and the 2-hour grace
    services.sweep()
    ko = _inbox(app.test_client(), lead, "ko")
    assert "(담당: 미배정)의 처리 기한(2026. 3. 2.(월) 11:00)이 지났는데" in ko
    assert "2026-03-02" not in ko and "담당: -" not in ko
    assert "2026. 3. 2.(월) 11:00까지 접수 확인해야 했습니다" in _inbox(app.test_client(), cw, "ko")
    sms = rows(recipient_id=lead.id, channel="sms", kind="concern_overdue_lead")[0]
    assert sms.state == "sent" and "미배정" in sms.body and "2026. 3. 2.(월) 11:00" in sms.body  # what was sent
    en = _inbox(app.test_client(), lead, "en")
    assert "(owner: Unassigned) passed its due time 2026. 3. 2.(Mon) 11:00" in en
    # The morning summary (sent after 08:30) names the day the same way.
    clock.freeze(seoul(2026, 3, 3, 8, 31))
    services.sweep()
    assert "좋은 아침입니다. 2026. 3. 3.(화) 담당 동 현황" in _inbox(app.test_client(), cw, "ko")
    assert "In your dongs on 2026. 3. 3.(Tue):" in _inbox(app.test_client(), cw, "en")


def test_a_place_takes_the_particle_it_needs():
    assert (ro("조리실"), ro("경로당"), ro("노인회관 2층 교실"), ro("복지관(3층)"), ro("2"), ro("Café")) == (
        "로", "으로", "로", "으로", "로", None)
    assert fix_ro("일정이 12. 8.(화) 10:00, 조리실(으)로 바뀌었습니다.") == "일정이 12. 8.(화) 10:00, 조리실로 바뀌었습니다."
    assert fix_ro("경로당(으)로 오세요, Café Nuri(으)로") == "경로당으로 오세요, Café Nuri(으)로"


def test_shift_change_messages_read_well_with_a_place_or_without_one(app, client):
    import volnet.shifts.services  # noqa: F401  (registers the shift kinds)

    vol = person("volunteer", channels=["sms"], locale="ko")
    for i, place in enumerate(("송산종합사회복지관 1층 조리실", "-")):
        services.notify(vol, "shift_changed", {"program": "화요일 반찬 배달", "when": "12. 8.(화) 10:00",
                                               "place": place}, dedupe_key=f"chg{i}", link="/shifts/1")
    db.session.commit()
    services.after_commit_dispatch()
    page = _inbox(client, vol, "ko")
    assert "일정이 바뀌었습니다: 12. 8.(화) 10:00, 송산종합사회복지관 1층 조리실." in page
    assert "12. 8.(화) 10:00, 모이는 곳 미정." in page
    assert "(으)로" not in page and ", -." not in page
    assert all("(으)로" not in r.body for r in rows(recipient_id=vol.id, channel="sms"))


def test_the_in_app_copy_has_no_raw_one_time_link_the_text_message_keeps_it(app, client):
    import volnet.shifts.services  # noqa: F401

    vol = person("volunteer", channels=["sms"], locale="ko")
    link = "http://127.0.0.1:5064/shifts/r/eyJzIjoxfQ.abc"
    services.notify(vol, "shift_reminder", {"program": "반찬 배달", "when": "12. 8.(화) 10:00", "place": "조리실",
                                            "link": link}, dedupe_key="rem", link="/shifts/1")
    db.session.commit()
    services.after_commit_dispatch()
    page = _inbox(client, vol, "ko")
    assert "참석 확인·취소는 여기서 한 번에: 아래 ‘바로 가기’ 버튼" in page and "/shifts/r/" not in page
    assert link in rows(recipient_id=vol.id, channel="sms")[0].body


def test_the_demo_command_builds_links_for_the_port_it_runs_on(monkeypatch):
    """scripts/demo.sh runs on port 5000 or $PORT: its messages' links point there (VOLNET_BASE_URL), and the
    configuration reads VOLNET_BASE_URL."""
    script = (Path(__file__).resolve().parents[2] / "scripts" / "demo.sh").read_text()
    line = next((ln for ln in script.splitlines() if ln.startswith("export VOLNET_BASE_URL=")), None)
    assert line is not None
    assert script.index(line) < script.index("flask volnet demo")  # set before the demo writes its messages
    env = {k: v for k, v in os.environ.items() if k not in ("VOLNET_BASE_URL", "PORT")}
    for port, want in ((None, "http://127.0.0.1:5000"), ("5064", "http://127.0.0.1:5064")):
        run_env = dict(env, **({"PORT": port} if port else {}))
        out = subprocess.run(["bash", "-c", f'{line}; printf %s "$VOLNET_BASE_URL"'], env=run_env,
                             capture_output=True, text=True, check=True).stdout
        assert out == want
    from volnet import create_app

    monkeypatch.setenv("VOLNET_BASE_URL", "http://127.0.0.1:5064")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["BASE_URL"] == "http://127.0.0.1:5064"


@pytest.mark.parametrize("raw", ["2026-12-02 11:48", "2026-12-04"])
def test_stored_texts_of_older_messages_read_the_same(app, raw):
    """Rows written before (params with the stored 'YYYY-MM-DD HH:MM' text) read the new way too."""
    u = person("caseworker", locale="ko")
    subject, body = services.render("concern_overdue_ack", {"concern": 1, "dong": "송산3동", "due": raw}, u)
    assert raw not in body and "2026. 12." in body


@pytest.mark.parametrize("lang,expected", [("ko", "담당 통화자 님이 오늘 3번 전화했지만"),
                                           ("en", "The assigned caller could not reach")])
def test_a_missed_call_alert_without_a_caller_names_the_assigned_caller(app, client, lang, expected):
    import volnet.cases.alerting  # noqa: F401  (registers the safety-call kinds)

    leader = person("tong_leader", channels=["sms"], locale=lang)
    services.notify(leader, "safety_call_missed", {"household": "민락로 106 1층", "caller": "-", "attempts": 3,
                                                   "misses": 1}, dedupe_key="missed-1", link="/calls/")
    db.session.commit()
    services.after_commit_dispatch()
    page = _inbox(client, leader, lang)
    assert expected in page and "- 님이" not in page and "- could not" not in page
