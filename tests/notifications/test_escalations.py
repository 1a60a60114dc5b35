"""Concern escalations and the morning digest, on the frozen clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests import builders as b
from tests.notifications.builders import person, rows
from volnet.concerns import services as concerns
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import hooks, services


def seoul(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=clock.SEOUL).astimezone(UTC)


def _setup():
    d, other = b.dong(), b.dong()
    cw1 = person("caseworker", dongs=[d], channels=["sms"])
    cw2 = person("caseworker", dongs=[d])
    lead = person("team_lead", dongs=[d], channels=["sms"])
    far = person("caseworker", dongs=[other])
    reporter = b.user("honorary", dongs=[d])
    return d, cw1, cw2, lead, far, reporter


def _kinds(u):
    return sorted(r.kind for r in rows(recipient_id=u.id, channel="inapp") if r.kind != "staff_digest")


def test_overdue_concern_goes_to_the_caseworkers_then_the_team_lead_once_each(app):
    clock.freeze(seoul(2026, 3, 2, 10))  # Monday
    d, cw1, cw2, lead, far, reporter = _setup()
    obs = b.observation(b.household(d), reporter, urgency="emergency")  # acknowledge within 1 h
    db.session.commit()
    clock.advance(timedelta(minutes=59))
    services.sweep()
    assert _kinds(cw1) == []
    clock.advance(timedelta(minutes=2))
    services.sweep()
    services.sweep()
    assert _kinds(cw1) == ["concern_overdue_ack"] and _kinds(cw2) == ["concern_overdue_ack"]
    assert _kinds(lead) == [] and _kinds(far) == []
    sms = rows(recipient_id=cw1.id, channel="sms", kind="concern_overdue_ack")[0]
    assert sms.urgent and sms.state == "sent"  # an emergency may go by SMS at any hour
    clock.advance(timedelta(hours=2))  # past the 2-hour grace period
    services.sweep()
    services.sweep()
    assert _kinds(lead) == ["concern_overdue_lead"]
    assert _kinds(cw1) == ["concern_overdue_ack"]
    # Acknowledged: the next due time (action within 48 h) gets its own reminder to the owner only.
    c = db.session.get(Concern, obs.concern_id)
    concerns.acknowledge(c, cw2)
    db.session.commit()
    services.sweep()
    assert len([r for r in rows(channel="inapp") if r.kind.startswith("concern")]) == 3
    clock.advance(timedelta(hours=48))
    services.sweep()
    assert _kinds(cw2) == ["concern_overdue_ack", "concern_overdue_action"]
    assert _kinds(cw1) == ["concern_overdue_ack"]
    assert f"#{c.id}" in rows(recipient_id=cw2.id, kind="concern_overdue_action")[0].subject
    # A contact made: nothing more is due, nothing more is sent.
    concerns.record_contact(c, cw2, "connected_fine", "")
    db.session.commit()
    before = len([r for r in rows() if r.kind.startswith("concern")])
    clock.advance(timedelta(days=3))
    services.sweep()
    assert len([r for r in rows() if r.kind.startswith("concern")]) == before


def test_morning_digest_once_a_day_after_0830(app):
    clock.freeze(seoul(2026, 3, 2, 7))
    d, cw1, cw2, lead, far, reporter = _setup()
    b.observation(b.household(d), reporter, urgency="routine")
    b.observation(b.household(d, road="경기도 의정부시 민락로 5"), reporter, urgency="emergency")
    db.session.commit()
    clock.freeze(seoul(2026, 3, 2, 8, 29))
    services.sweep()
    assert rows(kind="staff_digest") == []
    clock.freeze(seoul(2026, 3, 2, 8, 31))
    services.sweep()
    services.sweep()
    digests = {r.recipient_id: r for r in rows(kind="staff_digest", channel="inapp")}
    assert set(digests) == {cw1.id, cw2.id, lead.id}  # not the other dong's caseworker (nothing there)
    assert digests[cw1.id].params == {"new": 2, "overdue": 1, "date": "2026-03-02"}
    clock.freeze(seoul(2026, 3, 3, 9))
    services.sweep()
    assert len(rows(kind="staff_digest", channel="inapp")) == 6


def test_emergency_report_alerts_the_owner_or_the_dongs_caseworkers_at_once(app):
    clock.freeze(seoul(2026, 3, 2, 23))  # at night: emergencies still go by SMS
    d, cw1, cw2, lead, far, reporter = _setup()
    h = b.household(d)
    obs = b.observation(h, reporter, urgency="emergency")
    db.session.commit()
    hooks.observation_submitted(obs.id)
    assert _kinds(cw1) == ["concern_emergency"] and _kinds(cw2) == ["concern_emergency"]
    assert _kinds(far) == []
    sms = rows(recipient_id=cw1.id, channel="sms", kind="concern_emergency")[0]
    assert sms.state == "sent" and sms.urgent
    # A second report about the same household: no repeat.
    obs2 = b.observation(h, reporter, urgency="emergency")
    db.session.commit()
    hooks.observation_submitted(obs2.id)
    assert _kinds(cw1) == ["concern_emergency"]
    # Routine reports do not alert; with an owner, only the owner hears.
    c = db.session.get(Concern, obs.concern_id)
    concerns.assign(c, cw2, lead)
    db.session.commit()
    h2 = b.household(d, road="경기도 의정부시 용민로 9")
    hooks.observation_submitted(b.observation(h2, reporter, urgency="routine").id)
    c2 = db.session.get(Concern, b.observation(h2, reporter, urgency="urgent").concern_id)
    concerns.assign(c2, cw1, lead)
    db.session.commit()
    obs3 = b.observation(h2, reporter, urgency="urgent")
    db.session.commit()
    hooks.observation_submitted(obs3.id)
    assert _kinds(cw1) == ["concern_emergency", "concern_urgent"]
    assert _kinds(cw2) == ["concern_emergency"]
    urgent_sms = rows(recipient_id=cw1.id, channel="sms", kind="concern_urgent")[0]
    assert urgent_sms.state == "pending"  # not an emergency: waits for the morning
    hooks.observation_submitted(999999)  # unknown id: nothing, no error


def test_every_overdue_concern_is_reached_however_many_are_overdue(app, monkeypatch):
    """More overdue concerns than one sweep takes (2,000; 3 here): the next sweeps reach the rest instead
    of looking at the same oldest ones again and again."""
    monkeypatch.setattr(services, "ESCALATE_BATCH", 3)
    clock.freeze(seoul(2026, 3, 2, 10))
    d, cw1, cw2, lead, far, reporter = _setup()
    concern_ids = []
    for i in range(5):
        concern_ids.append(b.observation(b.household(d, road=f"경기도 의정부시 송산로 {i + 1}"), reporter,
                                         urgency="emergency").concern_id)
        clock.advance(timedelta(minutes=1))  # due one after the other
    db.session.commit()
    clock.advance(timedelta(minutes=61))  # all five past their hour

    def alerted():
        return sorted({r.params["concern"] for r in rows(recipient_id=cw1.id, channel="inapp",
                                                          kind="concern_overdue_ack")})

    services.escalate_concerns()
    db.session.commit()
    assert alerted() == concern_ids[:3]
    services.escalate_concerns()
    db.session.commit()
    assert alerted() == concern_ids
    assert services.escalate_concerns() == 0  # nothing left, nothing twice


def test_a_concern_handed_to_another_caseworker_while_overdue_alerts_the_new_owner(app):
    clock.freeze(seoul(2026, 3, 2, 10))
    d, cw1, cw2, lead, far, reporter = _setup()
    obs = b.observation(b.household(d), reporter, urgency="emergency")
    c = db.session.get(Concern, obs.concern_id)
    concerns.assign(c, cw1, lead)
    db.session.commit()
    clock.advance(timedelta(minutes=61))
    services.sweep()
    assert _kinds(cw1) == ["concern_overdue_ack"] and _kinds(cw2) == []
    concerns.assign(db.session.get(Concern, obs.concern_id), cw2, lead)  # still overdue, now cw2's
    db.session.commit()
    services.sweep()
    assert _kinds(cw2) == ["concern_overdue_ack"] and _kinds(cw1) == ["concern_overdue_ack"]
