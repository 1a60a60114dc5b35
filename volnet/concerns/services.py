"""Concern rules: joining, due times and the caseworker's actions.

Services take the acting user explicitly and never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from volnet.concerns.models import OPEN_STATUSES, VISIT_OUTCOMES, Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.observations.signals import URGENCY_RANK
from volnet.settings import services as settings


class ConcernError(ValueError):
    """A rule was broken; the message is a lazy translated string for the user."""


def due_times(urgency: str, start: datetime) -> tuple[datetime, datetime]:
    ack = settings.add_duration(start, settings.get(f"due.{urgency}.ack"))
    action = settings.add_duration(start, settings.get(f"due.{urgency}.action"))
    return ack, action


def refresh_next_due(concern: Concern) -> None:
    if not concern.is_open:
        concern.next_due_at = None
    elif concern.acknowledged_at is None:
        concern.next_due_at = concern.ack_due_at
    elif concern.first_action_at is None:
        concern.next_due_at = concern.action_due_at
    else:
        concern.next_due_at = None


def set_urgency(concern: Concern, urgency: str, start: datetime | None = None) -> None:
    concern.urgency = urgency
    concern.urgency_rank = URGENCY_RANK[urgency]
    concern.ack_due_at, concern.action_due_at = due_times(urgency, start or clock.now())
    refresh_next_due(concern)


def add_event(concern: Concern, kind: str, actor=None, note: str = "", observation=None, **data) -> ConcernEvent:
    ev = ConcernEvent(
        concern_id=concern.id, household_id=concern.household_id,
        actor_id=getattr(actor, "id", None), kind=kind, at=clock.now(),
        observation_id=getattr(observation, "id", None), data=data, note=note,
    )
    db.session.add(ev)
    return ev


def open_concern_for(household_id: int) -> Concern | None:
    return db.session.scalar(
        select(Concern).where(Concern.household_id == household_id, Concern.status.in_(OPEN_STATUSES))
    )


def _summary(obs: Observation) -> str:
    from volnet.observations.signals import SIGNALS

    labels = [str(SIGNALS[s]) for s in (obs.signals or []) if s in SIGNALS]
    return ", ".join(labels)[:300]


def attach_observation(obs: Observation, actor=None) -> Concern:
    """Join the observation to its household's one open concern, or open one.

    Reports without a household open their own concern in the dong's queue (household unknown)
    until a caseworker links it. Safe under concurrency: the partial unique index allows one
    open concern per household; the loser of a race joins the winner's concern.
    """
    now = clock.now()
    concern = open_concern_for(obs.household_id) if obs.household_id else None
    if concern is None:
        concern = Concern(
            dong_id=obs.dong_id, household_id=obs.household_id,
            tong=obs.household.tong if obs.household else None,
            status="new", source=obs.source, opened_at=now, last_signal_at=now,
            summary=_summary(obs), signal_count=0,
        )
        set_urgency(concern, obs.urgency, now)
        try:
            with db.session.begin_nested():
                db.session.add(concern)
                db.session.flush()
        except IntegrityError:
            concern = open_concern_for(obs.household_id)
            if concern is None:  # pragma: no cover - the index said otherwise
                raise
        else:
            add_event(concern, "opened", actor, urgency=obs.urgency, source=obs.source)
    if URGENCY_RANK[obs.urgency] < concern.urgency_rank:
        old = concern.urgency
        set_urgency(concern, obs.urgency, now)
        add_event(concern, "urgency_raised", actor, old=old, new=obs.urgency, by_report=True)
    concern.last_signal_at = now
    concern.signal_count = (concern.signal_count or 0) + 1
    if not concern.summary:
        concern.summary = _summary(obs)
    obs.concern_id = concern.id
    add_event(concern, "observation", actor, observation=obs, source=obs.source)
    return concern


def _require_open(concern: Concern):
    from flask_babel import lazy_gettext as _l

    if not concern.is_open:
        raise ConcernError(_l("This concern is already closed."))


def acknowledge(concern: Concern, actor) -> None:
    _require_open(concern)
    if concern.acknowledged_at is not None:
        return
    concern.acknowledged_at = clock.now()
    if concern.status == "new":
        concern.status = "acknowledged"
    if concern.owner_id is None:
        concern.owner_id = actor.id
    refresh_next_due(concern)
    add_event(concern, "acknowledged", actor)


def assign(concern: Concern, owner, actor) -> None:
    _require_open(concern)
    old = concern.owner_id
    concern.owner_id = owner.id
    add_event(concern, "assigned", actor, old_owner=old, owner=owner.id, owner_name=owner.name)


def record_contact(concern: Concern, actor, outcome: str, note: str, at: datetime | None = None) -> None:
    _require_open(concern)
    now = clock.now()
    if concern.acknowledged_at is None:
        concern.acknowledged_at = now
        if concern.owner_id is None:
            concern.owner_id = actor.id
    concern.first_action_at = concern.first_action_at or now
    concern.status = "in_progress"
    refresh_next_due(concern)
    kind = "visit" if outcome in VISIT_OUTCOMES else "contact"
    add_event(concern, kind, actor, note=note, outcome=outcome, at=(at or now).isoformat())


def change_urgency(concern: Concern, actor, urgency: str, reason: str) -> None:
    _require_open(concern)
    if urgency == concern.urgency:
        return
    old = concern.urgency
    set_urgency(concern, urgency, clock.now())
    add_event(concern, "urgency_changed", actor, note=reason, old=old, new=urgency)


def close(concern: Concern, actor, outcome: str, note: str) -> None:
    _require_open(concern)
    concern.status = "monitoring" if outcome == "monitoring" else "closed"
    concern.outcome = outcome
    if concern.status == "closed":
        concern.closed_at = clock.now()
    concern.acknowledged_at = concern.acknowledged_at or clock.now()
    concern.first_action_at = concern.first_action_at or clock.now()
    refresh_next_due(concern)
    add_event(concern, "closed" if concern.status == "closed" else "monitoring", actor, note=note, outcome=outcome)


def merge(source: Concern, target: Concern, actor) -> None:
    """Merge ``source`` into ``target``: its observations and timeline move over."""
    from flask_babel import lazy_gettext as _l

    if source.id == target.id:
        raise ConcernError(_l("A concern cannot be merged into itself."))
    if source.dong_id != target.dong_id:
        raise ConcernError(_l("Only concerns of the same dong can be merged."))
    _require_open(source)
    _require_open(target)
    if source.household_id and target.household_id and source.household_id != target.household_id:
        raise ConcernError(_l("These concerns are about different households."))
    db.session.execute(update(Observation).where(Observation.concern_id == source.id)
                       .values(concern_id=target.id, household_id=target.household_id or Observation.household_id))
    db.session.execute(update(ConcernEvent).where(ConcernEvent.concern_id == source.id)
                       .values(concern_id=target.id))
    if source.urgency_rank < target.urgency_rank:
        set_urgency(target, source.urgency, clock.now())
    target.signal_count = (target.signal_count or 0) + (source.signal_count or 0)
    target.last_signal_at = max(target.last_signal_at, source.last_signal_at)
    source.status = "merged"
    source.merged_into_id = target.id
    source.closed_at = clock.now()
    refresh_next_due(source)
    db.session.flush()
    if target.household_id is None and source.household_id is not None:
        target.household_id = source.household_id
        target.tong = source.tong
        db.session.execute(update(Observation).where(Observation.concern_id == target.id)
                           .values(household_id=source.household_id))
    add_event(target, "merged", actor, merged_from=source.id)


def link_household(concern: Concern, household: Household, actor) -> Concern:
    """Tie a concern to a household; if the household already has an open concern, merge into it."""
    from flask_babel import lazy_gettext as _l

    _require_open(concern)
    if household.dong_id != concern.dong_id:
        raise ConcernError(_l("The household belongs to another dong."))
    existing = open_concern_for(household.id)
    if existing is not None and existing.id != concern.id:
        db.session.execute(update(Observation).where(Observation.concern_id == concern.id)
                           .values(household_id=household.id))
        merge(concern, existing, actor)
        add_event(existing, "household_linked", actor, household=household.id)
        return existing
    concern.household_id = household.id
    concern.tong = household.tong
    db.session.execute(update(Observation).where(Observation.concern_id == concern.id)
                       .values(household_id=household.id))
    db.session.execute(update(ConcernEvent).where(ConcernEvent.concern_id == concern.id)
                       .values(household_id=household.id))
    add_event(concern, "household_linked", actor, household=household.id)
    return concern
