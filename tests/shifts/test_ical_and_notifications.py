"""Calendar feed (parsed back as RFC 5545) and the messages shifts send through the outbox."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests import builders as b
from tests.shifts import builders as sb
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts import ical
from volnet.shifts import services as svc
from volnet.shifts.models import CalendarToken, Signup

PROP = re.compile(r"^([A-Z][A-Z0-9-]*)((?:;[A-Z0-9-]+=[^:;]*)*):(.*)$")


def parse_ics(raw: bytes) -> list[dict]:
    """A strict little RFC 5545 reader: CRLF only, lines <= 75 octets, folding, nesting, TEXT unescaping."""
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    lines = []
    for line in physical:
        if line.startswith(b" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    stack, events, current = [], [], None
    for raw_line in lines:
        text = raw_line.decode("utf-8")
        m = PROP.match(text)
        assert m, text
        name, value = m.group(1), m.group(3)
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                current = {}
        elif name == "END":
            assert stack.pop() == value
            if value == "VEVENT":
                events.append(current)
                current = None
        elif current is not None:
            assert not re.search(r"(?<!\\)[,;]", value) or name not in ("SUMMARY", "LOCATION", "DESCRIPTION")
            current[name] = re.sub(r"\\([\\;,nN])", lambda x: "\n" if x.group(1) in "nN" else x.group(1), value)
    assert stack == []
    for ev in events:
        for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS"):
            assert key in ev
        assert re.fullmatch(r"\d{8}T\d{6}Z", ev["DTSTART"])
    return events


def test_folding_and_escaping_round_trip():
    text = "반찬; 배달, 송산로\\547번길\n2층 " + "가" * 60
    raw = ical.calendar([ical.event(uid="x@y", start=sb.seoul(2026, 3, 3, 9), end=sb.seoul(2026, 3, 3, 11),
                                    summary=text, location="a,b;c")])
    ev = parse_ics(raw)[0]
    assert ev["SUMMARY"] == text and ev["LOCATION"] == "a,b;c" and ev["DTSTART"] == "20260303T000000Z"


def test_feed_shows_changes_and_cancellations(client):
    d, org, coord, p = sb.world()
    p.name = "화요일 반찬 배달, 송산3동; 1팀"
    v = sb.volunteer(d)
    o1 = sb.occurrence(p, in_hours=72)
    o2 = sb.occurrence(p, in_hours=200)
    sb.signed(o1, v)
    sb.signed(o2, v)
    token = svc.new_calendar_token(v)
    db.session.commit()
    assert db.session.scalar(select(CalendarToken.token_hash)) != token  # only a hash is stored
    url = f"/shifts/feed/{token}.ics"
    r = client.get(url)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")
    before = {e["UID"]: e for e in parse_ics(r.data)}
    assert len(before) == 2 and {e["STATUS"] for e in before.values()} == {"CONFIRMED"}
    assert before[f"shift-{o1.id}@localhost"]["SUMMARY"] == "화요일 반찬 배달, 송산3동; 1팀"
    # The coordinator moves one shift and cancels the other.
    svc.update_occurrence(o1, coord, starts_at=o1.starts_at + timedelta(hours=1), ends_at=o1.ends_at + timedelta(hours=1),
                          meeting_place="새 장소", capacity=o1.capacity)
    svc.cancel_occurrence(o2, coord, "우천")
    db.session.commit()
    after = {e["UID"]: e for e in parse_ics(client.get(url).data)}
    e1, e2 = after[f"shift-{o1.id}@localhost"], after[f"shift-{o2.id}@localhost"]
    assert int(e1["SEQUENCE"]) > int(before[f"shift-{o1.id}@localhost"]["SEQUENCE"])
    assert e1["LOCATION"] == "새 장소" and e1["STATUS"] == "CONFIRMED"
    assert e2["STATUS"] == "CANCELLED" and int(e2["SEQUENCE"]) > 0
    # Revoking ends the feed; a wrong token is a 404.
    svc.revoke_calendar(v)
    db.session.commit()
    assert client.get(url).status_code == 404
    assert client.get("/shifts/feed/nope.ics").status_code == 404


def test_volunteer_cancelling_shows_cancelled_in_feed_and_single_ics(client):
    d, org, coord, p = sb.world()
    v = sb.volunteer(d)
    o = sb.occurrence(p, in_hours=72)
    s = sb.signed(o, v)
    token = svc.new_calendar_token(v)
    db.session.commit()
    b.login(client, v)
    single = parse_ics(client.get(f"/shifts/{o.id}.ics").data)[0]
    assert single["STATUS"] == "CONFIRMED"
    client.post(f"/shifts/signups/{s.id}/cancel")
    ev = parse_ics(client.get(f"/shifts/feed/{token}.ics").data)[0]
    assert ev["STATUS"] == "CANCELLED" and int(ev["SEQUENCE"]) > int(single["SEQUENCE"])


def _outbox():
    try:
        from volnet.notifications.models import Outbox
    except ImportError:
        pytest.skip("notifications not built yet")
    return Outbox


def test_reminders_promotion_change_and_cancel_go_to_the_outbox(app):
    Outbox = _outbox()
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=1)
    a, w = sb.volunteer(d), sb.volunteer(d)
    sa = sb.signed(o, a)
    sb.signed(o, w)
    db.session.commit()
    # Written when due (with the channels and language of that moment), not at the sign-up.
    assert not db.session.scalar(select(Outbox).where(Outbox.kind == "shift_reminder"))
    clock.freeze(o.starts_at - timedelta(hours=24))
    assert svc.send_due_reminders() == 1
    rows = list(db.session.scalars(select(Outbox).where(Outbox.kind == "shift_reminder", Outbox.recipient_id == a.id)))
    assert [r.send_at for r in rows] == [o.starts_at - timedelta(hours=24)]
    assert "/shifts/r/" in rows[0].body
    clock.freeze(o.starts_at - timedelta(hours=3))
    db.session.execute(update(Outbox).values(state="sent"))
    svc.send_due_reminders()
    svc.cancel_signup(sa, a, offer=True)  # past the cut-off: the waiting list takes the place
    db.session.commit()
    assert db.session.scalar(select(Outbox).where(Outbox.kind == "shift_promoted", Outbox.recipient_id == w.id))
    # The 2-hour reminder goes to the person who took the place, not to the one who gave it up.
    clock.freeze(o.starts_at - timedelta(hours=2))
    assert svc.send_due_reminders() == 1
    assert db.session.scalar(select(Outbox.dedupe_key).where(
        Outbox.kind == "shift_reminder", Outbox.recipient_id == w.id)).startswith(f"shift:{o.id}:u{w.id}:r2:")
    svc.cancel_occurrence(o, coord, "우천")
    db.session.commit()
    assert db.session.scalar(select(Outbox).where(Outbox.kind == "shift_cancelled_reason", Outbox.recipient_id == w.id))
    assert {r.state for r in db.session.scalars(select(Outbox).where(
        Outbox.kind == "shift_reminder", Outbox.recipient_id == w.id))} == {"cancelled"}
    assert svc.send_due_reminders() == 0


def test_unfilled_alert_and_messages_go_to_the_outbox(app):
    Outbox = _outbox()
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=30, capacity=3)
    v = sb.volunteer(d)
    sb.signed(o, v)
    assert svc.check_unfilled(clock.now()) == 1
    assert svc.message_shift(o, coord, "장갑을 챙겨 주세요") == 1
    assert svc.message_program(p, coord, "다음 주는 쉽니다") == 1
    db.session.commit()
    assert db.session.scalar(select(Outbox).where(Outbox.kind == "shift_unfilled", Outbox.recipient_id == coord.id))
    bodies = [r.body for r in db.session.scalars(select(Outbox).where(Outbox.kind == "shift_message"))]
    assert any("장갑" in x for x in bodies) and any("다음 주" in x for x in bodies)


def test_reminder_link_confirms_only_on_post(client):
    d, org, coord, p = sb.world()
    v = sb.volunteer(d)
    o = sb.occurrence(p, in_hours=20)
    s = sb.signed(o, v)
    db.session.commit()
    token = svc.reminder_token(s)
    r = client.get(f"/shifts/r/{token}")  # no login needed, nothing changes
    assert r.status_code == 200
    assert db.session.get(Signup, s.id).confirmed_at is None
    assert client.get(f"/shifts/r/{token}x").status_code == 404
    assert client.post(f"/shifts/r/{token}/confirm").status_code == 302
    db.session.expire_all()
    assert db.session.get(Signup, s.id).confirmed_at is not None


def test_a_reminder_reads_its_time_in_the_volunteers_language(app):
    """An English-speaking volunteer's reminder says '(Tue)', a Korean one's '(화)'; no Korean weekday is baked
    into the English text."""
    from types import SimpleNamespace

    from volnet.notifications import services as notes

    Outbox = _outbox()
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, starts_at=sb.seoul(2031, 3, 4, 10), capacity=2)  # a Tuesday
    v = sb.volunteer(d, locale="en")
    sb.signed(o, v)
    db.session.commit()
    clock.freeze(o.starts_at - timedelta(hours=2))
    svc.send_due_reminders()
    row = db.session.scalars(select(Outbox).where(Outbox.kind == "shift_reminder",
                                                  Outbox.recipient_id == v.id)).first()
    assert "2031. 3. 4.(Tue) 10:00" in row.body and "(화)" not in row.body
    with app.test_request_context("/"):
        _subject, body = notes.render(row.kind, row.params, SimpleNamespace(locale="ko"))
    assert "2031. 3. 4.(화) 10:00" in body
