"""One set of Korean words for the three urgencies everywhere, notifications included (QA round 20, F4):
응급 emergency, 긴급 urgent, 일반 routine, as the queue, the concern page and the report form say them.
An "[긴급]" alert for an emergency report reads as the middle level when it is the top one."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests import builders as b
from tests.notifications.builders import person, rows
from volnet.extensions import db
from volnet.notifications import hooks

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = [ROOT / "translations" / "ko" / "LC_MESSAGES" / "messages.po",
              *sorted((ROOT / "translations" / "ko" / "parts").glob("*.po"))]
# Names of programmes and tiers that are spelt with 긴급 whatever the urgency scale says: 긴급복지지원
# (긴급지원 for short, the emergency welfare support act), 긴급위기군 (Seoul's top isolation tier),
# 긴급생계(지원), 노인 긴급생활자금.
NAMES_WITH_긴급 = ("긴급복지", "긴급지원", "긴급위기군", "긴급생계", "긴급생활")


def _pairs():
    for path in CATALOGUES:
        with path.open("rb") as fh:
            for m in read_po(fh, locale="ko"):
                if not m.id:
                    continue
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                for s in strings:
                    if s:
                        yield path.name, " / ".join(ids), s


def test_no_korean_text_calls_an_emergency_긴급_or_an_urgent_thing_시급():
    wrong = []
    for where, msgid, msgstr in _pairs():
        rest = msgstr
        for name in NAMES_WITH_긴급:
            rest = rest.replace(name, "")
        if "mergency" in msgid and "긴급" in rest and "응급" not in msgstr:
            wrong.append((where, msgid, msgstr))
        if re.search(r"urgen", msgid, re.IGNORECASE) and "시급" in msgstr:
            wrong.append((where, msgid, msgstr))
    assert wrong == []


def test_the_scale_itself(app):
    from flask_babel import force_locale

    from volnet.observations.signals import URGENCIES

    with force_locale("ko"):
        assert {k: str(v) for k, v in URGENCIES.items()} == {"emergency": "응급", "urgent": "긴급", "routine": "일반"}


def test_report_alerts_in_the_inbox_and_by_text_message_say_응급_and_긴급(app, client):
    d = b.dong(name="송산3동")
    cw = person("caseworker", dongs=[d], channels=["inapp", "sms", "kakao"], locale="ko")
    reporter = b.user("honorary", dongs=[d])
    emergency = b.observation(b.household(d), reporter, urgency="emergency")
    urgent = b.observation(b.household(d), reporter, urgency="urgent")
    db.session.commit()
    hooks.observation_submitted(emergency.id)
    hooks.observation_submitted(urgent.id)
    b.login(client, cw)
    page = client.get("/notifications").get_data(as_text=True)
    assert "[응급] 송산3동 위기 제보" in page and "송산3동에서 응급 제보가 접수되었습니다" in page
    assert "[긴급] 송산3동 위기 제보" in page and "송산3동에서 긴급 제보가 접수되었습니다" in page
    assert "시급" not in page
    # The emergency alert's mark (it is sent even in quiet hours) is not the word of the middle level.
    assert '<span class="badge badge-emergency">즉시 알림</span>' in page
    assert '<span class="badge badge-emergency">긴급</span>' not in page
    for channel in ("sms", "kakao"):
        sent = {r.kind: r for r in rows(recipient_id=cw.id, channel=channel)}
        assert "[응급]" in sent["concern_emergency"].subject + sent["concern_emergency"].body
        assert "응급 제보" in sent["concern_emergency"].body and "긴급" not in sent["concern_emergency"].body
        assert "긴급 제보" in sent["concern_urgent"].body and "시급" not in sent["concern_urgent"].body
    client.post("/lang", data={"lang": "en"})
    page = client.get("/notifications").get_data(as_text=True)
    assert "Emergency report in 송산3동" in page and "Urgent report in 송산3동" in page
    assert '<span class="badge badge-emergency">Immediate alert</span>' in page
