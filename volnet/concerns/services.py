"""Concern rules: joining, due times and the caseworker's actions.

Services take the acting user explicitly and never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, case, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from volnet.accounts.models import User
from volnet.concerns.models import (
    OPEN_STATUSES,
    OPEN_STATUSES_SQL,
    REACHED_OUTCOMES,
    VISIT_OUTCOMES,
    Concern,
    ConcernEvent,
)
from volnet.core import clock
from volnet.core.sql import expire_cached, insert_ignoring, prebuilt
from volnet.core.web import seoul_datetime
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.observations.signals import URGENCY_RANK, summary_codes
from volnet.settings import services as settings


class ConcernError(ValueError):
    """A rule was broken; the message is a lazy translated string for the user."""


class NoteRequired(ConcernError):
    """The closing needs a note (``note_required``): the page says so under the note field."""


# A team lead may reopen a concern closed this many days ago at most (product decision, QA round 20).
REOPEN_DAYS = 30


def due_times(urgency: str, start: datetime) -> tuple[datetime, datetime]:
    ack = settings.add_duration(start, settings.get(f"due.{urgency}.ack"))
    action = settings.add_duration(start, settings.get(f"due.{urgency}.action"))
    return ack, action


def refresh_next_due(concern: Concern) -> None:
    concern.next_due_at = _next_due(concern.is_open, concern.acknowledged_at, concern.first_action_at,
                                    concern.ack_due_at, concern.action_due_at)


def set_urgency(concern: Concern, urgency: str, now: datetime | None = None) -> None:
    """Give an open concern another urgency, and its steps not yet done the due times that follow.

    The due times rules (settings ``due.<urgency>.*``) run from the report; a change of urgency never
    rewrites history (``pending_due``):
    - a step already done (acknowledged, first contact or visit) keeps its due time, so an acknowledgement
      that came late still reads late;
    - a step not done whose due time has passed stays overdue until someone acts: lowering the urgency
      takes no concern off the overdue lists;
    - a raise may bring a pending due time earlier, never later: the earlier of the current one and the new
      urgency's rule counted from now (the raise is new knowledge, so its rule runs from when it came);
    - a lowering may give more time, never less: the later of the current one and the new urgency's rule
      counted from when the concern was opened (the rule it would have had from the start)."""
    now = now or clock.now()
    raising = URGENCY_RANK[urgency] < concern.urgency_rank
    ack, action = due_times(urgency, now if raising else (concern.opened_at or now))
    concern.ack_due_at = pending_due(concern.ack_due_at, concern.acknowledged_at, ack, raising, now)
    concern.action_due_at = pending_due(concern.action_due_at, concern.first_action_at, action, raising, now)
    concern.urgency = urgency
    concern.urgency_rank = URGENCY_RANK[urgency]
    refresh_next_due(concern)


def pending_due(current: datetime | None, done_at: datetime | None, rule_due: datetime, raising: bool,
                now: datetime) -> datetime | None:
    """One step's due time after a change of urgency (``set_urgency`` says why)."""
    if done_at is not None or (current is not None and current <= now):
        return current
    if current is None:
        return rule_due
    return min(current, rule_due) if raising else max(current, rule_due)


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


def summary_of(obs: Observation) -> str:
    """The concern's summary from a report: its signal codes, in no language (``signals.summary_codes``); the
    queue shows their labels in its reader's language (``signals.summary_shown``)."""
    return summary_codes(obs.signals)


class ConcernJoin:
    """Where a new observation goes: its concern and the timeline entries to write with it."""

    def __init__(self, concern_id: int, events: list[dict]):
        self.concern_id = concern_id
        self.events = events

    def write(self, observation_id: int, actor_id, source: str, household_id) -> None:
        """The observation is saved: write the timeline entries, the report's own last."""
        self.events.append(_event(self.concern_id, household_id, actor_id, "observation", clock.now(),
                                  {"source": source}, observation_id=observation_id))
        db.session.execute(_INSERT_EVENTS, self.events)


_C = Concern.__table__.c
_INSERT_EVENTS = insert(ConcernEvent.__table__)
# Count a report into the household's open concern (locking it until commit) ...
_COUNT_INTO_OPEN = (
    update(Concern.__table__)
    .where(_C.household_id == bindparam("p_household"), _C.status.in_(OPEN_STATUSES))
    .values(last_signal_at=bindparam("p_now"), signal_count=_C.signal_count + 1,
            summary=case((_C.summary == "", bindparam("p_summary")), else_=_C.summary))
    .returning(_C.id, _C.urgency, _C.urgency_rank, _C.acknowledged_at, _C.first_action_at, _C.ack_due_at,
               _C.action_due_at)
)
# ... and raise it when the report is more urgent.
_RAISE = (
    update(Concern.__table__).where(_C.id == bindparam("p_id"))
    .values(urgency=bindparam("p_urgency"), urgency_rank=bindparam("p_rank"), ack_due_at=bindparam("p_ack"),
            action_due_at=bindparam("p_action"), next_due_at=bindparam("p_next"))
)


def _insert_concern(dialect: str, skip_if_open: bool):
    table = Concern.__table__
    if skip_if_open:
        return insert_ignoring(table, ["household_id"], index_where=text(OPEN_STATUSES_SQL)).returning(table.c.id)
    return insert(table).returning(table.c.id)


def join_concern(obs: Observation, actor=None) -> ConcernJoin:
    """Count the (not yet saved) observation into its household's one open concern, or open one.

    Reports without a household open their own concern in the dong's queue (household unknown) until
    a caseworker links it. Safe under concurrency: the UPDATE locks the open concern until commit, and
    the partial unique index allows one open concern per household (an INSERT that loses the race
    finds the winner's row on the second try). Plain statements, usually one: every report runs this.
    """
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    events: list[dict] = []
    if obs.household_id:
        for _attempt in range(2):
            joined = _count_into_open_concern(obs, now, actor_id, events)
            if joined is not None:
                return ConcernJoin(joined, events)
            opened = _open_new_concern(obs, now, skip_if_open=True)
            if opened is not None:
                break
        else:  # pragma: no cover - opened and closed by others twice in a row
            raise RuntimeError("could not join or open a concern")
    else:
        opened = _open_new_concern(obs, now, skip_if_open=False)
    events.append(_event(opened, obs.household_id, actor_id, "opened", now,
                         {"urgency": obs.urgency, "source": obs.source}))
    return ConcernJoin(opened, events)


def _event(concern_id, household_id, actor_id, kind, at, data, observation_id=None, note="") -> dict:
    return {"concern_id": concern_id, "household_id": household_id, "actor_id": actor_id, "kind": kind,
            "at": at, "observation_id": observation_id, "data": data, "note": note}


def _open_new_concern(obs: Observation, now: datetime, skip_if_open: bool) -> int | None:
    """INSERT a new open concern for the observation; None when the household already has one."""
    ack, action = due_times(obs.urgency, now)
    household = obs.__dict__.get("household")
    if household is not None:
        tong = household.tong
    elif obs.household_id:
        tong = db.session.scalar(select(Household.tong).where(Household.id == obs.household_id))
    else:
        tong = None
    values = {
        "dong_id": obs.dong_id, "household_id": obs.household_id, "tong": tong,
        "status": "new", "urgency": obs.urgency, "urgency_rank": URGENCY_RANK[obs.urgency],
        "source": obs.source, "opened_at": now, "last_signal_at": now, "ack_due_at": ack,
        "action_due_at": action, "next_due_at": ack, "summary": summary_of(obs), "signal_count": 1,
    }
    stmt = prebuilt(f"concerns.insert.{skip_if_open}", lambda d: _insert_concern(d, skip_if_open))
    return db.session.execute(stmt, values).scalar()


def _count_into_open_concern(obs: Observation, now: datetime, actor_id, events: list) -> int | None:
    """The household's open concern counts the report (and is locked until commit); None if it has none.
    A report more urgent than the concern raises it, with new due times and a timeline entry."""
    row = db.session.execute(_COUNT_INTO_OPEN, {"p_household": obs.household_id, "p_now": now,
                                                "p_summary": summary_of(obs)}).first()
    if row is None:
        return None
    if URGENCY_RANK[obs.urgency] < row.urgency_rank:
        # The steps not done yet may come due sooner (set_urgency's rules; pg_submit does the same in SQL).
        ack, action = due_times(obs.urgency, now)
        ack = pending_due(row.ack_due_at, row.acknowledged_at, ack, True, now)
        action = pending_due(row.action_due_at, row.first_action_at, action, True, now)
        db.session.execute(_RAISE, {
            "p_id": row.id, "p_urgency": obs.urgency, "p_rank": URGENCY_RANK[obs.urgency], "p_ack": ack,
            "p_action": action, "p_next": _next_due(True, row.acknowledged_at, row.first_action_at, ack, action)})
        events.append(_event(row.id, obs.household_id, actor_id, "urgency_raised", now,
                             {"old": row.urgency, "new": obs.urgency, "by_report": True}))
    expire_cached(Concern, row.id)
    return row.id


def _next_due(is_open: bool, acknowledged_at, first_action_at, ack_due_at, action_due_at):
    """The next due time of a concern (the rule refresh_next_due applies to entities)."""
    if not is_open:
        return None
    if acknowledged_at is None:
        return ack_due_at
    if first_action_at is None:
        return action_due_at
    return None


def _require_open(concern: Concern):
    from volnet.core.i18n import lazy_gettext as _l

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
    if old != owner.id:  # the new owner hears about a concern that is already overdue
        concern.alerted_due_at = concern.lead_alerted_due_at = None
    add_event(concern, "assigned", actor, old_owner=old, owner=owner.id, owner_name=owner.name)


def record_contact(concern: Concern, actor, outcome: str, note: str, at: datetime | None = None) -> bool:
    """A call or visit (``at``: when it happened, default now); True when it reached the person.

    Only a contact that reached the person (``REACHED_OUTCOMES``) completes the contact step, and at the time
    it happened: one typed in later with its real time counts then, not when it was typed. A failed attempt
    acknowledges the concern (someone is on it) and goes into the timeline, but the step stays due: the
    concern stays on the overdue lists and is escalated. A household under regular monitoring stays under
    monitoring: the routine call is what monitoring means."""
    from volnet.core.i18n import lazy_gettext as _l

    _require_open(concern)
    now = clock.now()
    if at is not None and at < concern.opened_at.replace(second=0, microsecond=0):
        raise ConcernError(_l("The contact cannot be before the concern was opened (%(t)s).",
                              t=seoul_datetime(concern.opened_at)))
    when = min(max(at, concern.opened_at), now) if at is not None else now
    if concern.acknowledged_at is None:
        concern.acknowledged_at = when
        if concern.owner_id is None:
            concern.owner_id = actor.id
    reached = outcome in REACHED_OUTCOMES
    if reached and (concern.first_action_at is None or when < concern.first_action_at):
        concern.first_action_at = when
    if concern.status != "monitoring":
        concern.status = "in_progress"
    refresh_next_due(concern)
    kind = "visit" if outcome in VISIT_OUTCOMES else "contact"
    add_event(concern, kind, actor, note=note, outcome=outcome, at=(at or now).isoformat())
    return reached


def change_urgency(concern: Concern, actor, urgency: str, reason: str) -> None:
    from volnet.core.i18n import lazy_gettext as _l
    from volnet.observations.signals import URGENCIES

    _require_open(concern)
    if urgency == concern.urgency:
        raise ConcernError(_l("The urgency is already %(u)s; nothing was changed.", u=URGENCIES[urgency]))
    old = concern.urgency
    set_urgency(concern, urgency, clock.now())
    add_event(concern, "urgency_changed", actor, note=reason, old=old, new=urgency)


def note_required(concern: Concern, outcome: str) -> bool:
    """Closing an emergency or urgent concern whose person no contact or visit has reached needs a note that
    says why. Not for regular monitoring (the contact stays due) nor an integrated case (the follow-up itself)."""
    return (outcome not in ("monitoring", "case_opened") and concern.urgency in ("emergency", "urgent")
            and concern.first_action_at is None)


def check_close(concern: Concern, actor, outcome: str, note: str, **data) -> None:
    """The rules ``close`` keeps, for the page to say before it asks for confirmation (ConcernError)."""
    from volnet.core.i18n import lazy_gettext as _l
    from volnet.observations.signals import URGENCIES

    _require_open(concern)
    if outcome == "monitoring" and concern.status == "monitoring":
        raise ConcernError(_l("This household is already under regular monitoring."))
    if outcome == "case_opened" and not data.get("case"):
        raise ConcernError(_l("An integrated case is opened with \"Open integrated case\", not by closing the "
                              "concern."))
    # A system close (actor None: the only report was corrected by the volunteer) has no one to write it.
    if actor is not None and note_required(concern, outcome) and not (note or "").strip():
        raise NoteRequired(_l("Nobody has reached the person yet. Write in the note why this %(urgency)s concern "
                              "is closed without a contact or visit.", urgency=URGENCIES[concern.urgency]))


def close(concern: Concern, actor, outcome: str, note: str, **data) -> None:
    """Close the concern with ``outcome``, or put the household under regular monitoring ("monitoring").
    ``data`` goes into the timeline event. "case_opened" only comes with the integrated case itself
    (cases.services.open_case opens it first and passes its number, ``case=``, which the timeline links).

    Steps that never happened stay undone: a concern closed without an acknowledgement, or before a contact
    reached the person, keeps ``acknowledged_at`` / ``first_action_at`` empty (its page says "closed without
    acknowledgement" / "closed before anyone was reached"; the initial consultations do not count it).
    Putting a household under regular monitoring acknowledges the concern (someone decided, and it stays
    open), and its contact stays due until someone reaches the person; so does opening an integrated case from
    it (the caseworker took the household on: its intake is the initial consultation the month counts). A caseworker who closes an unassigned
    concern becomes its owner. ``check_close`` has the rules (a note when nobody was reached)."""
    check_close(concern, actor, outcome, note, **data)
    now = clock.now()
    concern.status = "monitoring" if outcome == "monitoring" else "closed"
    concern.outcome = outcome
    if concern.status == "closed":
        concern.closed_at = now
    if concern.acknowledged_at is None and outcome in ("monitoring", "case_opened"):
        concern.acknowledged_at = now
    if concern.owner_id is None and getattr(actor, "role", None) == "caseworker":
        concern.owner_id = actor.id
    refresh_next_due(concern)
    add_event(concern, "closed" if concern.status == "closed" else "monitoring", actor, note=note, outcome=outcome,
              **data)


class ReopenCheck(NamedTuple):
    """Whether a closed concern may be reopened: ``refused`` says why not; ``other_id`` is the household's
    open concern when that is the reason (the page links to it)."""
    refused: object | None
    other_id: int | None = None


def reopen_check(concern: Concern) -> ReopenCheck:
    from volnet.core.i18n import lazy_gettext as _l

    if concern.status != "closed":
        return ReopenCheck(_l("Only a closed concern can be reopened."))
    if concern.outcome == "case_opened":
        return ReopenCheck(_l("This concern became an integrated case; follow it up in the case."))
    if concern.closed_at is None or concern.closed_at < clock.now() - timedelta(days=REOPEN_DAYS):
        return ReopenCheck(_l("A concern closed more than %(days)d days ago cannot be reopened; a new report "
                              "opens a new concern.", days=REOPEN_DAYS))
    other = open_concern_for(concern.household_id) if concern.household_id else None
    if other is not None:
        return _other_open(other.id)
    return ReopenCheck(None)


def _other_open(other_id: int) -> ReopenCheck:
    from volnet.core.i18n import lazy_gettext as _l

    return ReopenCheck(_l("This household has another open concern (#%(n)d): add to that one instead.", n=other_id),
                       other_id)


def reopen(concern: Concern, actor, reason: str) -> None:
    """Open a concern closed by mistake again (a team lead, with a reason): one closed in the last
    ``REOPEN_DAYS`` days, not one that became an integrated case, while its household has no other open
    concern (one open concern per household). Its steps are due again from now, by its urgency's rules: the
    acknowledgement if it never had one, and a contact or visit that reaches the person (any earlier one was
    before the closure). The closure stays in the timeline, followed by the reopening and its reason."""
    check = reopen_check(concern)
    if check.refused is not None:
        raise ConcernError(check.refused)
    now = clock.now()
    old_outcome, closed_at, household_id = concern.outcome, concern.closed_at, concern.household_id
    ack, action = due_times(concern.urgency, now)
    try:
        with db.session.begin_nested():  # changed inside: the savepoint holds the UPDATE the index may refuse
            concern.status = "new" if concern.acknowledged_at is None else "acknowledged"
            concern.outcome = concern.closed_at = None
            if concern.acknowledged_at is None:
                concern.ack_due_at = ack
            concern.first_action_at = None
            concern.action_due_at = action
            concern.alerted_due_at = concern.lead_alerted_due_at = None
            refresh_next_due(concern)
            db.session.flush()
    except IntegrityError:
        # A report opened a new concern for the household at this moment (the one-open-concern index
        # waited for it, then refused this one): that concern is where to go on.
        other = open_concern_for(household_id) if household_id else None
        if other is None:
            raise
        raise ConcernError(_other_open(other.id).refused) from None
    add_event(concern, "reopened", actor, note=reason, outcome=old_outcome, closed_at=closed_at.isoformat())


def follow_household(household: Household) -> None:
    """The household's details changed: its open concern is listed under the household's dong and tong
    again (the queue and its tong filter read the concern's copies). A household moved to another dong
    takes its open concern to that dong's queue."""
    if household.id is None:
        return
    db.session.execute(update(Concern).where(Concern.household_id == household.id,
                                             Concern.status.in_(OPEN_STATUSES),
                                             or_(Concern.tong.is_distinct_from(household.tong),
                                                 Concern.dong_id != household.dong_id))
                       .values(tong=household.tong, dong_id=household.dong_id))


def merge(source: Concern, target: Concern, actor) -> None:
    """Merge ``source`` into ``target``: its observations and timeline move over."""
    from volnet.core.i18n import lazy_gettext as _l

    if source.id == target.id:
        raise ConcernError(_l("A concern cannot be merged into itself. Enter the number of the other concern."))
    if source.dong_id != target.dong_id:
        raise ConcernError(_l("Only concerns of the same dong can be merged."))
    _require_open(source)
    if not target.is_open:
        raise ConcernError(_l("Concern #%(n)d, to merge into, is already closed.", n=target.id))
    if source.household_id and target.household_id and source.household_id != target.household_id:
        raise ConcernError(_l("These concerns are about different households."))
    db.session.execute(update(Observation).where(Observation.concern_id == source.id)
                       .values(concern_id=target.id, household_id=target.household_id or Observation.household_id))
    # The moved timeline takes the target's household (as link_household does): it shows on the household page.
    db.session.execute(update(ConcernEvent).where(ConcernEvent.concern_id == source.id)
                       .values(concern_id=target.id,
                               household_id=target.household_id or ConcernEvent.household_id))
    if source.urgency_rank < target.urgency_rank:
        old_urgency = target.urgency
        set_urgency(target, source.urgency, clock.now())
        add_event(target, "urgency_raised", actor, old=old_urgency, new=source.urgency, by_merge=source.id)
    # A step neither has done is due when the earlier of the two was: the merged concern's lateness (or its
    # nearer due time) is not lost in the one kept.
    if target.acknowledged_at is None and source.acknowledged_at is None and source.ack_due_at is not None:
        target.ack_due_at = min(filter(None, (target.ack_due_at, source.ack_due_at)))
    if target.first_action_at is None and source.first_action_at is None and source.action_due_at is not None:
        target.action_due_at = min(filter(None, (target.action_due_at, source.action_due_at)))
    refresh_next_due(target)
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
        db.session.execute(update(ConcernEvent).where(ConcernEvent.concern_id == target.id)
                           .values(household_id=source.household_id))
    add_event(target, "merged", actor, merged_from=source.id)
    # What the merged concern's own page shows (its timeline moved to the target): only there, so the
    # household's timeline does not say it twice.
    db.session.add(ConcernEvent(concern_id=source.id, household_id=None, actor_id=getattr(actor, "id", None),
                                kind="merged_into", at=clock.now(), data={"merged_into": target.id}, note=""))


def link_household(concern: Concern, household: Household, actor) -> Concern:
    """Tie a concern to a household; if the household already has an open concern, merge into it."""
    from volnet.core.i18n import lazy_gettext as _l

    _require_open(concern)
    if household.dong_id != concern.dong_id:
        raise ConcernError(_l("The household belongs to another dong."))
    existing = open_concern_for(household.id)
    if existing is None or existing.id == concern.id:
        try:
            with db.session.begin_nested():
                concern.household_id = household.id
                concern.tong = household.tong
                db.session.flush()
        except IntegrityError:
            # A report about this household opened its own concern a moment ago (the one-open-concern
            # index waited for it, then refused): merge into that one, as if it had been there before.
            existing = open_concern_for(household.id)
            if existing is None:
                raise
    if existing is not None and existing.id != concern.id:
        db.session.execute(update(Observation).where(Observation.concern_id == concern.id)
                           .values(household_id=household.id))
        merge(concern, existing, actor)
        add_event(existing, "household_linked", actor, household=household.id)
        return existing
    db.session.execute(update(Observation).where(Observation.concern_id == concern.id)
                       .values(household_id=household.id))
    db.session.execute(update(ConcernEvent).where(ConcernEvent.concern_id == concern.id)
                       .values(household_id=household.id))
    add_event(concern, "household_linked", actor, household=household.id)
    return concern


class TimelineActor(NamedTuple):
    name: str


class TimelineReport(NamedTuple):
    """The report of an "observation" event: what the timeline shows of it."""
    source: str
    signals: list
    meals: str
    hygiene: str
    seen_at: datetime | None
    location_text: str | None
    contact: str | None
    note: str


class TimelineEvent(NamedTuple):
    """One line of a timeline (concerns/_timeline.html), read as a row: a page shows up to 300 of them, and
    building ORM objects with their relations cost more than the rest of the page's queries."""
    id: int
    concern_id: int
    kind: str
    at: datetime
    data: dict
    note: str
    actor: TimelineActor | None
    observation: TimelineReport | None


# The actor's name and the report's own fields, nothing else of either row (no password hash or TOTP
# secret decrypted per event).
_TIMELINE_COLUMNS = (ConcernEvent.id, ConcernEvent.concern_id, ConcernEvent.kind, ConcernEvent.at, ConcernEvent.data,
                     ConcernEvent.note, ConcernEvent.actor_id, User.name, ConcernEvent.observation_id,
                     Observation.source, Observation.signals, Observation.meals, Observation.hygiene,
                     Observation.seen_at, Observation.location_text, Observation.contact, Observation.note)


def _timeline_statement(kind: str):
    stmt = (select(*_TIMELINE_COLUMNS)
            .outerjoin(User, User.id == ConcernEvent.actor_id)
            .outerjoin(Observation, Observation.id == ConcernEvent.observation_id))
    if kind == "concern":
        stmt = stmt.where(ConcernEvent.concern_id == bindparam("concern_id")).limit(300)
    elif kind == "concern_and_household":  # the concern's own events and its household's other ones
        stmt = stmt.where(or_(ConcernEvent.concern_id == bindparam("concern_id"),
                              ConcernEvent.household_id == bindparam("household_id"))).limit(300)
    else:
        stmt = stmt.where(ConcernEvent.household_id == bindparam("household_id")).limit(200)
    return stmt.order_by(ConcernEvent.at.desc(), ConcernEvent.id.desc())


def _with_contact_time(data: dict, recorded_at: datetime) -> dict:
    """A contact's ``at`` (when the call or visit happened, as typed) as ``at_time`` when it is not the
    time it was recorded (that one the timeline shows anyway)."""
    try:
        when = datetime.fromisoformat(data["at"])
    except (TypeError, ValueError):
        return data
    if when.tzinfo is None or abs((when - recorded_at).total_seconds()) < 60:
        return data
    return {**data, "at_time": when}


def timeline_events(*, concern_id: int | None = None, household_id: int | None = None) -> list[TimelineEvent]:
    """A timeline's events, newest first: a concern's (and, with ``household_id``, every event of its
    household, earlier concerns included), or a household's; the latest 300 / 200."""
    kind = ("concern_and_household" if household_id else "concern") if concern_id else "household"
    stmt = prebuilt(f"concerns.timeline.{kind}", lambda _dialect: _timeline_statement(kind))
    out = []
    for (eid, cid, ev_kind, at, data, note, actor_id, actor_name, obs_id, *report) in db.session.execute(
            stmt, {"concern_id": concern_id, "household_id": household_id}):
        if ev_kind in ("contact", "visit") and data and data.get("at"):
            data = _with_contact_time(data, at)
        out.append(TimelineEvent(eid, cid, ev_kind, at, data or {}, note or "",
                                 TimelineActor(actor_name) if actor_id is not None else None,
                                 TimelineReport(*report) if obs_id is not None else None))
    return out
