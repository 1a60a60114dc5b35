"""Demo notifications: unread alerts for the caseworker and team lead, reminders waiting for the volunteer,
and one failed text message on the admin page."""
from __future__ import annotations

from datetime import timedelta

from volnet.core import clock
from volnet.notifications import services


def build(context) -> None:
    users = context["users"]
    dong = context["dong"]
    now = clock.now()
    cw, lead, vol = users.get("caseworker"), users.get("teamlead"), users.get("volunteer")
    if vol is not None:
        vol.channels = ["inapp", "sms"]
    sent = []
    if cw is not None:
        sent += services.notify(cw, "concern_urgent", {"concern": 3, "dong": dong.name},
                                dedupe_key="demo:urgent:cw", link="/concerns/")
        sent += services.notify(cw, "staff_digest", {"new": 4, "overdue": 2, "date": clock.seoul_today().isoformat()},
                                dedupe_key="demo:digest:cw", link="/concerns/")
    if lead is not None:
        sent += services.notify(lead, "concern_overdue_lead",
                                {"concern": 5, "dong": dong.name, "due": "09:00", "owner": cw.name if cw else "-"},
                                dedupe_key="demo:lead", link="/concerns/team")
    for row in sent:
        row.state = "sent"
        row.sent_at = now - timedelta(minutes=30)
        row.attempts = 1
    if vol is not None:
        # Shift reminders waiting for their time (the opportunistic sweep sends them when due).
        services.notify(vol, "shift_reminder", {"program": "반찬지원", "when": "내일 10:00", "place": "송산종합사회복지관",
                                                "link": ""},
                        send_at=now + timedelta(hours=20), dedupe_key="demo:shift:reminder24")
        services.notify(vol, "shift_reminder", {"program": "반찬지원", "when": "오늘 10:00", "place": "송산종합사회복지관",
                                                "link": ""},
                        send_at=now + timedelta(minutes=2), dedupe_key="demo:shift:reminder2")
        failed = services.notify(vol, "shift_changed", {"program": "도시락 배달", "when": "토 11:30", "place": "1층 로비"},
                                 dedupe_key="demo:failed", channels=["sms"])
        for row in failed:
            if row.channel == "sms":
                row.state, row.attempts, row.last_error = "failed", 8, "gateway unavailable"
            else:
                row.state, row.sent_at = "sent", now - timedelta(hours=3)
