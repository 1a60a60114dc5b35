"""Demo notifications, made from the demo's own data the way the real code makes them: an urgent-report alert
for the caseworker, the morning summary of the dong's staff, the overdue alerts of the escalation sweep for
the caseworker and the team lead, a shift reminder (with its one-tap link) for the volunteer's next shift,
and a change notice for another of their shifts whose text message failed (shown on the admin outbox page)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services
from volnet.notifications.models import Outbox


def build(context) -> None:
    users = context["users"]
    dong = context["dong"]
    now = clock.now()
    cw, vol = users.get("caseworker"), users.get("volunteer")
    if vol is not None:
        vol.channels = ["inapp", "sms"]
    sent = []
    if cw is not None:
        sent += _caseworker(cw, dong, now)
    sent += _digest(now)
    for row in sent:
        row.state = "sent"
        row.sent_at = now - timedelta(minutes=30)
        row.attempts = 1
    db.session.flush()
    # Overdue concerns: the sweep's own messages (owner or caseworkers, then the team lead after the grace).
    services.escalate_concerns(now)
    if vol is not None:
        _volunteer(vol, now)


def _caseworker(cw, dong, now) -> list:
    from volnet.concerns.models import OPEN_STATUSES, Concern

    rows = []
    urgent = db.session.scalar(
        select(Concern).where(Concern.dong_id == dong.id, Concern.status.in_(OPEN_STATUSES),
                              Concern.urgency == "urgent").order_by(Concern.last_signal_at.desc()).limit(1))
    if urgent is not None:  # as notifications.hooks.observation_submitted sends it
        rows += services.notify(cw, "concern_urgent", {"concern": urgent.id, "dong": dong.name},
                                dedupe_key=f"concern:{urgent.id}:report:urgent:{cw.id}",
                                link=f"/concerns/{urgent.id}")
    return rows


def _digest(now) -> list:
    """The morning summary of the dong's caseworkers and team lead: the sweep's own, sent now whatever the time
    (with its keys, so the sweep does not send it twice today)."""
    services.morning_digest(now, any_time=True)
    day = clock.to_seoul(now).date().isoformat()
    return list(db.session.scalars(select(Outbox).where(
        Outbox.kind == "staff_digest", Outbox.state == "pending", Outbox.dedupe_key.like(f"digest:{day}:%"))))


def _volunteer(vol, now) -> None:
    try:
        from volnet.shifts import services as shifts
        from volnet.shifts.models import ShiftOccurrence, Signup
    except ImportError:
        return
    upcoming = list(db.session.scalars(
        select(Signup).join(ShiftOccurrence, ShiftOccurrence.id == Signup.occurrence_id)
        .where(Signup.volunteer_id == vol.id, Signup.status == "confirmed", ShiftOccurrence.status == "scheduled",
               ShiftOccurrence.starts_at > now)
        .order_by(ShiftOccurrence.starts_at).limit(2)))
    if not upcoming:
        return
    # The first reminder of the next shift, sent already: the row the sign-up scheduled (text and one-tap link
    # as the reminder job sends them); the later reminder stays waiting for its time.
    first = upcoming[0]
    occ = first.occurrence
    scheduled = list(db.session.scalars(
        select(Outbox).where(Outbox.recipient_id == vol.id, Outbox.kind == "shift_reminder", Outbox.state == "pending",
                             Outbox.dedupe_key.like(f"shift:{occ.id}:u{vol.id}:%")).order_by(Outbox.send_at)))
    reminder = [r for r in scheduled if r.dedupe_key == scheduled[0].dedupe_key] if scheduled else []
    if not reminder:
        reminder = services.notify(vol, "shift_reminder",
                                   shifts.message_params(occ, link=shifts.reminder_link(first)),
                                   dedupe_key="demo:shift:reminder", link=f"/shifts/{occ.id}")
    for row in reminder:
        row.state, row.attempts, row.send_at = "sent", 1, now - timedelta(minutes=20)
        row.sent_at = row.next_attempt_at = row.send_at
    # A change notice for a later shift: delivered in the app, the text message failed (gateway down).
    later = upcoming[-1].occurrence
    for row in services.notify(vol, "shift_changed", shifts.message_params(later), dedupe_key="demo:failed",
                               link=f"/shifts/{later.id}", channels=["sms"]):
        if row.channel == "sms":
            row.state, row.attempts, row.last_error = "failed", 8, "gateway unavailable"
        else:
            row.state, row.attempts, row.sent_at = "sent", 1, row.send_at
