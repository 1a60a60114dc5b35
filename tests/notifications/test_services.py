"""The outbox rules, in-process (no Redis): one delivery per message, backoff, quiet hours, cancel, locale."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import update

from tests import builders as b
from tests.notifications.builders import person, recorded, rows
from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.notifications import services
from volnet.notifications.models import Outbox
from volnet.settings import services as settings

SEOUL = clock.SEOUL


def seoul(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=SEOUL).astimezone(UTC)


def test_notify_writes_rows_in_the_callers_transaction_only(app):
    u = person(channels=["sms"])
    db.session.commit()
    out = services.notify(u, "shift_x", {"a": 1}, dedupe_key="t:1")
    assert {r.channel for r in out} == {"inapp", "sms"}
    db.session.rollback()  # the change that caused it failed: no message either
    assert rows() == []


def test_same_dedupe_key_does_nothing_and_returns_the_existing_rows(app):
    u = person(channels=["sms", "email"], email="a@example.kr")
    first = services.notify(u, "k", {}, dedupe_key="same")
    db.session.commit()
    again = services.notify(u, "k", {"other": 2}, dedupe_key="same", channels=["kakao"])
    assert sorted(r.id for r in again) == sorted(r.id for r in first)
    db.session.commit()
    assert len(rows()) == 3


def test_inapp_always_and_channels_without_an_address_are_skipped(app):
    u = person(channels=["email", "sms"], phone=None, email=None)
    out = services.notify(u, "k", {}, dedupe_key="x")
    assert [r.channel for r in out] == ["inapp"]
    v = person(channels=None)
    assert [r.channel for r in services.notify(v, "k", {}, dedupe_key="y")] == ["inapp"]


def test_due_message_is_delivered_once_even_if_dispatched_again(app):
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="once")
    db.session.commit()
    services.after_commit_dispatch()
    sms = rows(channel="sms")[0]
    assert sms.state == "sent" and recorded(sms.id) == 1
    assert services.deliver(sms.id) == "skipped"
    services.dispatch([sms.id, sms.id])
    services.sweep()
    assert recorded(sms.id) == 1
    assert rows(channel="inapp")[0].state == "sent"


def test_reminder_goes_out_at_its_time_not_before(app):
    clock.freeze(seoul(2026, 3, 2, 10))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, send_at=clock.now() + timedelta(hours=24), dedupe_key="shift:7:u1:r24")
    db.session.commit()
    services.after_commit_dispatch()
    services.sweep()
    assert {r.state for r in rows()} == {"pending"}
    clock.advance(timedelta(hours=23, minutes=59))
    services.sweep()
    assert recorded() == 0
    clock.advance(timedelta(minutes=1))
    services.sweep()
    services.sweep()
    assert {r.state for r in rows()} == {"sent"}
    assert recorded() == 1


def test_cancelled_shift_reminders_are_not_sent(app):
    clock.freeze(seoul(2026, 3, 2, 10))
    u = person(channels=["sms"])
    for hours in (24, 2):
        services.notify(u, "shift_reminder", {}, send_at=clock.now() + timedelta(hours=30 - hours),
                        dedupe_key=f"shift:1:u{u.id}:r{hours}")
    services.notify(u, "shift_reminder", {}, send_at=clock.now() + timedelta(hours=6),
                    dedupe_key=f"shift:10:u{u.id}:r24")  # another shift whose id starts the same
    services.notify(u, "shift_reminder", {}, send_at=clock.now() + timedelta(hours=6),
                    dedupe_key="shift_1_x")  # LIKE wildcards in the prefix are literal
    db.session.commit()
    assert services.cancel("shift:1:") == 4  # 2 reminders x (inapp + sms)
    db.session.commit()
    clock.advance(timedelta(days=2))
    services.sweep()
    states = {(r.dedupe_key, r.channel): r.state for r in rows()}
    assert states[(f"shift:1:u{u.id}:r24", "sms")] == "cancelled"
    assert states[(f"shift:1:u{u.id}:r2", "inapp")] == "cancelled"
    assert states[(f"shift:10:u{u.id}:r24", "sms")] == "sent"
    assert states[("shift_1_x", "sms")] == "sent"
    assert recorded() == 2


def test_quiet_hours_hold_sms_until_morning_but_not_urgent_ones(app):
    clock.freeze(seoul(2026, 3, 2, 22))
    u = person(channels=["sms", "kakao", "email"], email="v@example.kr")
    services.notify(u, "k", {}, dedupe_key="night")
    services.notify(u, "k", {}, dedupe_key="fire", urgent=True)
    db.session.commit()
    services.after_commit_dispatch()
    night = {r.channel: r for r in rows(dedupe_key="night")}
    assert night["sms"].state == "pending" and night["kakao"].state == "pending"
    assert night["sms"].next_attempt_at == seoul(2026, 3, 3, 8)
    assert night["inapp"].state == "sent"
    assert night["email"].state == "failed"  # email is not held (and no mail server in tests)
    fire = {r.channel: r for r in rows(dedupe_key="fire")}
    assert fire["sms"].state == "sent" and fire["kakao"].state == "sent"
    clock.freeze(seoul(2026, 3, 3, 7, 59))
    services.sweep()
    assert recorded(night["sms"].id) == 0
    clock.freeze(seoul(2026, 3, 3, 8, 0))
    services.sweep()
    assert recorded(night["sms"].id) == 1 and recorded(night["kakao"].id) == 1


def test_quiet_hours_are_a_setting(app):
    settings.put("notify.quiet_start", "23:00")
    settings.put("notify.quiet_end", "06:30")
    assert services.quiet_until(seoul(2026, 3, 2, 22)) is None
    assert services.quiet_until(seoul(2026, 3, 3, 1)) == seoul(2026, 3, 3, 6, 30)
    settings.put("notify.quiet_start", "nonsense")
    assert services.quiet_until(seoul(2026, 3, 2, 21, 30)) == seoul(2026, 3, 3, 6, 30)


def test_a_message_held_at_night_by_a_retry_waits_for_morning(app):
    clock.freeze(seoul(2026, 3, 2, 20, 59))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="late")
    db.session.commit()
    sms = rows(channel="sms")[0]
    clock.freeze(seoul(2026, 3, 2, 21, 1))  # the worker only got to it after 21:00
    assert services.deliver(sms.id) == "deferred"
    db.session.refresh(sms)
    assert sms.state == "pending" and sms.attempts == 0 and sms.next_attempt_at == seoul(2026, 3, 3, 8)


def test_transient_failures_back_off_then_fail_and_can_be_resent(app):
    app.config["SMS_PROVIDER"] = "volnet.notifications.providers:FailingProvider"
    settings.put("notify.max_attempts", 3)
    try:
        clock.freeze(seoul(2026, 3, 2, 10))
        u = person(channels=["sms"])
        services.notify(u, "k", {}, dedupe_key="gw")
        db.session.commit()
        services.after_commit_dispatch()
        sms = rows(channel="sms")[0]
        assert (sms.state, sms.attempts) == ("retrying", 1)
        assert sms.next_attempt_at == clock.now() + timedelta(seconds=60)
        assert "gateway unavailable" in sms.last_error
        clock.advance(timedelta(seconds=59))
        services.sweep()
        db.session.refresh(sms)
        assert sms.attempts == 1  # not before its time
        clock.advance(timedelta(seconds=1))
        services.sweep()
        db.session.refresh(sms)
        assert (sms.state, sms.attempts) == ("retrying", 2)
        assert sms.next_attempt_at == clock.now() + timedelta(seconds=120)  # exponential
        clock.advance(timedelta(minutes=2))
        services.sweep()
        db.session.refresh(sms)
        assert (sms.state, sms.attempts) == ("failed", 3)
        clock.advance(timedelta(hours=5))
        services.sweep()
        db.session.refresh(sms)
        assert sms.state == "failed" and sms.attempts == 3
        app.config["SMS_PROVIDER"] = "volnet.notifications.providers:RecordingSmsProvider"
        assert services.resend(sms)
        db.session.commit()
        services.after_commit_dispatch()
        db.session.refresh(sms)
        assert sms.state == "sent" and recorded(sms.id) == 1
    finally:
        app.config["SMS_PROVIDER"] = "volnet.notifications.providers:RecordingSmsProvider"


def test_a_claim_of_a_dead_worker_is_taken_over_after_the_lease_only(app):
    app.config["NOTIFY_LEASE_SECONDS"] = 300
    try:
        clock.freeze(seoul(2026, 3, 2, 10))
        u = person(channels=["sms"])
        services.notify(u, "k", {}, dedupe_key="lease", channels=["sms"])
        db.session.commit()
        sms = rows(channel="sms")[0]
        # A worker claimed it and died before sending.
        db.session.execute(update(Outbox).where(Outbox.id == sms.id).values(
            state="sending", claimed_at=clock.now(), attempts=1, claim_token="dead"))
        db.session.commit()
        clock.advance(timedelta(seconds=299))
        services.sweep()
        assert recorded(sms.id) == 0
        clock.advance(timedelta(seconds=2))
        services.sweep()
        services.sweep()
        db.session.refresh(sms)
        assert sms.state == "sent" and sms.attempts == 2 and recorded(sms.id) == 1
    finally:
        app.config.pop("NOTIFY_LEASE_SECONDS", None)


def test_messages_are_rendered_in_the_recipients_language(app):
    # A subject that shows the language it is rendered in (the catalogue is compiled by the lead).
    from flask_babel import get_locale
    from flask_babel.speaklater import LazyString

    services.register_kind("test_locale", LazyString(lambda: f"lang={get_locale()}"), _l("%(n)s Households"))
    en = person(locale="en")
    ko = person(locale=None)
    services.notify(en, "test_locale", {"n": 3}, dedupe_key="en")
    services.notify(ko, "test_locale", {"n": 3}, dedupe_key="ko")
    db.session.commit()
    services.after_commit_dispatch()
    assert rows(dedupe_key="en")[0].subject == "lang=en"
    assert rows(dedupe_key="en")[0].body == "3 Households"
    assert rows(dedupe_key="ko")[0].subject == "lang=ko"
    # The person changes language before a later message is delivered: delivery uses the new one.
    services.notify(en, "test_locale", {"n": 1}, dedupe_key="later", send_at=clock.now() + timedelta(hours=1))
    db.session.commit()
    en.locale = "ko"
    db.session.commit()
    clock.advance(timedelta(hours=1))
    services.sweep()
    assert rows(dedupe_key="later")[0].subject == "lang=ko"


def test_missing_or_bad_params_do_not_break_delivery(app):
    services.register_kind("test_params", _l("Hello %(name)s"), _l("100% sure %(x)s"))
    u = person()
    services.notify(u, "test_params", None, dedupe_key="p")
    services.notify(u, "unknown_kind", {"x": object()}, dedupe_key="q")
    db.session.commit()
    services.after_commit_dispatch()
    assert {r.state for r in rows()} == {"sent"}
    assert rows(dedupe_key="p")[0].subject == "Hello "


def test_inactive_recipient_gets_nothing(app):
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="gone", send_at=clock.now() + timedelta(minutes=5))
    u.active = False
    db.session.commit()
    clock.advance(timedelta(minutes=6))
    services.sweep()
    assert {r.state for r in rows()} == {"cancelled"} and recorded() == 0


def test_sweep_uses_a_db_clock_so_guarded_sweeps_run_once_per_interval(app):
    now = clock.now()
    assert services.claim_clock("t", now, timedelta(seconds=60))
    assert not services.claim_clock("t", now + timedelta(seconds=30), timedelta(seconds=60))
    assert services.claim_clock("t", now + timedelta(seconds=61), timedelta(seconds=60))
    b.user("caseworker")  # nothing else needed


def test_a_failed_retention_run_is_tried_again_at_the_next_sweep(app, monkeypatch):
    """The daily retention run claims its day together with its work: when it fails, the next sweep runs
    it again (it used to wait 23 hours), and once it has run it does not run again that day."""
    from volnet.privacy import services as privacy

    runs = []
    real = privacy.run_retention

    def failing_once(now):
        runs.append(now)
        if len(runs) == 1:
            raise RuntimeError("database hiccup")
        return real(now)

    monkeypatch.setattr(privacy, "run_retention", failing_once)
    key = "volnet.privacy.services:daily_retention"
    now = clock.now()
    assert services.sweep(now)["checks"][key] == "error"
    assert services.sweep(now + timedelta(minutes=1))["checks"][key] == 0 and len(runs) == 2
    services.sweep(now + timedelta(hours=2))
    assert len(runs) == 2  # claimed for the day now that a run went through


def test_a_row_taken_over_while_earlier_ones_were_slow_is_not_sent_twice(app, monkeypatch):
    """One worker claims a batch; its provider is slow, the lease of the later rows runs out and another
    worker takes one of them over. When the first worker reaches that row it leaves it to the other
    instead of handing it to the provider as well (an SMS or mail sent cannot be taken back)."""
    from types import SimpleNamespace

    from volnet.notifications.providers import CHANNELS

    handed_over = []
    sms = CHANNELS["sms"]
    real_send = sms.send
    monkeypatch.setattr(sms, "send", lambda row, *a: handed_over.append(row.id) or real_send(row, *a))
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="slow-1")
    db.session.commit()
    (row,) = rows(channel="sms")
    row_id, uid = row.id, u.id
    token_a, claimed = services._claim([row_id], clock.now())
    assert claimed == [row_id]
    later = clock.now() + services.lease() + timedelta(seconds=1)
    token_b, claimed_b = services._claim([row_id], later)  # the other worker, after the lease ran out
    assert claimed_b == [row_id]
    snapshot = SimpleNamespace(id=row_id, channel="sms", link="", kind="k", urgent=True, attempts=1)
    person_ns = SimpleNamespace(id=uid, name="가", email=None, phone="01012345678", active=True)
    assert services._send_one(snapshot, person_ns, "제목", "본문", token_a) == "skipped"
    assert handed_over == []  # the worker that lost the row never gave it to the provider
    assert services._send_one(snapshot, person_ns, "제목", "본문", token_b) == "sent"
    assert handed_over == [row_id] and recorded(channel="sms") == 1


def test_a_message_whose_worker_dies_every_time_ends_failed_not_sending_for_ever(app):
    u = person(channels=["sms"])
    services.notify(u, "k", {}, dedupe_key="poison", channels=["sms"])
    db.session.commit()
    (sms,) = rows(channel="sms")
    # The eighth claim's worker died too (the message makes it crash): no ninth try, an admin sees it.
    db.session.execute(update(Outbox).where(Outbox.id == sms.id).values(
        state="sending", claimed_at=clock.now(), attempts=8, claim_token="dead"))
    db.session.commit()
    clock.advance(services.lease() + timedelta(seconds=1))
    services.sweep()
    db.session.refresh(sms)
    assert sms.state == "failed" and sms.last_error == "stopped while sending" and recorded(sms.id) == 0


def test_a_shift_message_shows_its_time_in_the_readers_language(app):
    """'2026. 12. 8.(화) 10:00' for a Korean reader and '2026. 12. 8.(Tue) 10:00' for an English one, from
    the same stored message; an old message without when_at keeps its stored text."""
    params = {"program": "화요일 반찬 배달", "when": "2026. 12. 8.(화) 10:00", "place": "복지관",
              "when_at": "2026-12-08T01:00:00+00:00", "link": "https://x/shifts/r/t"}
    with app.test_request_context("/"):
        en = services.render("shift_reminder", params, SimpleNamespace(locale="en"))
        ko = services.render("shift_reminder", params, SimpleNamespace(locale="ko"))
        old = services.render("shift_reminder", {k: v for k, v in params.items() if k != "when_at"},
                              SimpleNamespace(locale="en"))
    assert en[0] == "Reminder: 화요일 반찬 배달, 2026. 12. 8.(Tue) 10:00" and "(화)" not in en[1]
    assert "2026. 12. 8.(화) 10:00" in ko[1]
    assert "2026. 12. 8.(화) 10:00" in old[1]


def test_a_fresh_process_shows_shift_messages_in_the_readers_language():
    """The inbox of a process that has not sent a shift message yet still knows the shift kinds (it used to show
    the Korean text stored at sending to an English reader)."""
    import subprocess
    import sys

    code = ("import volnet.shifts.services\n"
            "from volnet.notifications.services import KINDS\n"
            "print(sorted(k for k in KINDS if k.startswith('shift_')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "shift_reminder" in out.stdout and "shift_changed" in out.stdout
