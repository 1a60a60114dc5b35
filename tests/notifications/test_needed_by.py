"""``needed_by``: a text about something at that time (a shift's start) that the quiet hours would hold until
then or later goes out at once; ``cancel(prefix, reason)`` says why a held message was not sent (QA round 20: F1)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_babel import force_locale

from tests.notifications.builders import person, recorded, rows
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services
from volnet.settings import services as settings


def seoul(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=clock.SEOUL).astimezone(UTC)


def test_a_text_needed_before_the_quiet_hours_end_goes_now_one_needed_later_waits(app):
    clock.freeze(seoul(2026, 12, 5, 3, 40))
    u = person(channels=["sms", "kakao"])
    services.notify(u, "k", {}, dedupe_key="early", needed_by=seoul(2026, 12, 5, 7))
    services.notify(u, "k", {}, dedupe_key="at-eight", needed_by=seoul(2026, 12, 5, 8))  # 08:00 is too late too
    services.notify(u, "k", {}, dedupe_key="started", needed_by=seoul(2026, 12, 5, 3))  # begun already
    services.notify(u, "k", {}, dedupe_key="later", needed_by=seoul(2026, 12, 5, 10))
    assert services.held_until() == seoul(2026, 12, 5, 8)  # only "later" waits
    assert services.held_until() is None  # said once
    db.session.commit()
    services.after_commit_dispatch()
    for key in ("early", "at-eight", "started"):
        assert {r.channel: r.state for r in rows(dedupe_key=key)} == {"inapp": "sent", "sms": "sent", "kakao": "sent"}
    later = {r.channel: r for r in rows(dedupe_key="later")}
    assert later["sms"].state == "pending" and later["sms"].next_attempt_at == seoul(2026, 12, 5, 8)
    assert later["inapp"].state == "sent"


def test_quiet_hours_that_begin_before_delivery_do_not_hold_a_text_needed_before_they_end(app):
    clock.freeze(seoul(2026, 12, 4, 20, 59))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="needed", needed_by=seoul(2026, 12, 5, 7))
    services.notify(u, "k", {}, dedupe_key="can-wait", needed_by=seoul(2026, 12, 5, 10))
    assert services.held_until() is None  # not quiet when written
    db.session.commit()  # not dispatched: the worker gets to them after 21:00
    clock.freeze(seoul(2026, 12, 4, 21, 1))
    services.sweep()
    assert rows(dedupe_key="needed", channel="sms")[0].state == "sent"
    waiting = rows(dedupe_key="can-wait", channel="sms")[0]
    assert waiting.state == "pending" and waiting.next_attempt_at == seoul(2026, 12, 5, 8)


def test_a_retry_of_a_text_needed_before_morning_is_not_put_off_until_morning(app):
    app.config["SMS_PROVIDER"] = "volnet.notifications.providers:FailingProvider"
    settings.put("notify.max_attempts", 3)
    clock.freeze(seoul(2026, 12, 5, 3, 40))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="gw", needed_by=seoul(2026, 12, 5, 7))
    db.session.commit()
    services.after_commit_dispatch()
    sms = rows(channel="sms")[0]
    assert sms.state == "retrying" and sms.next_attempt_at == clock.now() + timedelta(seconds=60)
    app.config["SMS_PROVIDER"] = "volnet.notifications.providers:RecordingSmsProvider"
    clock.advance(timedelta(seconds=60))
    services.sweep()
    db.session.refresh(sms)
    assert sms.state == "sent" and recorded(sms.id) == 1


def test_a_cancel_with_a_reason_shows_it_on_the_admins_outbox(app):
    clock.freeze(seoul(2026, 12, 4, 23))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="shift:9:u1:added:1")
    db.session.commit()
    services.after_commit_dispatch()
    assert services.cancel("shift:9:u1:", "dropped: place cancelled") == 1  # the SMS; the in-app copy went
    db.session.commit()
    sms = rows(channel="sms")[0]
    assert (sms.state, sms.last_error) == ("cancelled", "dropped: place cancelled")
    with force_locale("en"):
        label, detail = services.error_text(sms.last_error)
        assert label == "Not sent: the place was cancelled before it went out" and detail == ""
        assert services.error_text("cancelled")[0] == "Cancelled"  # a plain cancel reads as before
    clock.freeze(seoul(2026, 12, 5, 8))
    services.sweep()
    assert recorded(sms.id) == 0


def test_the_settings_page_says_which_messages_the_quiet_hours_do_not_hold(client):
    from tests import builders as b

    u = person(channels=["sms"])
    db.session.commit()
    b.login(client, u)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "08:00 전에 시작하는 봉사활동에 관한 메시지는 예외입니다" in page
