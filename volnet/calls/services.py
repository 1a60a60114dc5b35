"""Safety-call rules: enrollment, today's list, recording an attempt, and the missed-call chain.

The missed-call chain (DOMAIN.md, local practice in Daejeon and Incheon; every number is a setting):
1. A scheduled call not answered (no answer, busy) makes a retry task ``calls.retry_after`` (15m) later,
   up to ``calls.retries`` (2) retries, each on the caller's list with its due time.
   An invalid number skips the retries (retrying cannot help).
2. When the retries are used up, the chain is missed: the backup (volunteer or tong leader) is alerted
   (``safety_call_missed`` through notify), and the household's run of missed scheduled calls grows.
3. After ``calls.visit_after_misses`` (2) missed scheduled calls in a row, or any missed call for a
   household in a top tier (``calls.top_tiers``: emergency, intensive), a visit is due the same or the
   next day: a visit task, an Observation(source="safety_call", signals=["unreachable"], urgency="urgent")
   submitted through volnet.observations.services.submit (so the household's concern opens or rises),
   and ``safety_call_visit_due`` alerts to the backup and the responsible caseworker.
4. A visit that finds no response shows the 112/119 guidance, submits an emergency observation and alerts
   staff and backup (``safety_visit_no_response``).
``process_missed_calls(now)`` (the sweep) creates today's scheduled tasks, treats a retry not done within
``calls.retry_grace`` (60m) of its due time as the end of the chain, and a scheduled call never made by the
end of its day as a missed scheduled call (the household was not reached either way).
"""
from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select, update

from volnet.accounts.models import User
from volnet.accounts.roles import CARE_CORPS, CASEWORKER, TEAM_LEAD, TONG_LEADER, VOLUNTEER
from volnet.calls.models import MISSED, REACHED, CallEnrollment, CallRecord, CallTask
from volnet.cases import alerting
from volnet.concerns.models import CONTACT_OUTCOMES
from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.households.models import Household
from volnet.settings import services as settings

log = logging.getLogger(__name__)

settings.DEFAULTS.setdefault("calls.cadence_days", {
    "emergency": 1, "intensive": 2, "daily_risk": 7, "relationship": 10, "daily_life": 14, "unassessed": 7,
})
settings.DEFAULTS.setdefault("calls.top_tiers", ["emergency", "intensive"])
settings.DEFAULTS.setdefault("calls.retry_after", "15m")
settings.DEFAULTS.setdefault("calls.retries", 2)
settings.DEFAULTS.setdefault("calls.retry_grace", "60m")
settings.DEFAULTS.setdefault("calls.visit_after_misses", 2)
settings.DEFAULTS.setdefault("calls.call_hour", 10)  # scheduled calls are due at 10:00 Seoul time
settings.DEFAULTS.setdefault("calls.visit_hour", 18)  # a visit is due by 18:00 the same or the next day

CALLER_ROLES = (CASEWORKER, CARE_CORPS, VOLUNTEER)
BACKUP_ROLES = (VOLUNTEER, TONG_LEADER)
CHECKLIST_LEVELS = ("", "good", "poor", "severe")


class CallError(ValueError):
    """A rule was broken; the message is a lazy translated string for the user."""


def call_again_at(due_at: datetime) -> datetime:
    """The first whole minute at or after ``due_at``: what "call again at" shows (a retry due at 10:15:48
    reads 10:16, never 10:15, which would be refused for another 48 seconds; 10:15:00 stays 10:15)."""
    whole = due_at.replace(second=0, microsecond=0)
    return whole if whole == due_at else whole + timedelta(minutes=1)


def cadence_days(tier: str | None) -> int:
    table = settings.get("calls.cadence_days") or {}
    try:
        return max(1, int(table.get(tier or "unassessed", table.get("unassessed", 7))))
    except (TypeError, ValueError):
        return 7


def _seoul_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.SEOUL).astimezone(clock.now().tzinfo)


def _today(now: datetime) -> date:
    return now.astimezone(clock.SEOUL).date()


# ---------------------------------------------------------------- enrollment

def enroll(actor, household: Household, caller: User, backup: User | None) -> CallEnrollment:
    if caller.role not in CALLER_ROLES or household.dong_id not in caller.dong_ids or not caller.active:
        raise CallError(_l("The caller must be an active caseworker, care corps member or volunteer of the dong."))
    if backup is not None and (backup.role not in BACKUP_ROLES or household.dong_id not in backup.dong_ids
                               or not backup.active):
        raise CallError(_l("The backup must be an active volunteer or tong leader of the dong."))
    if backup is not None and backup.id == caller.id:
        raise CallError(_l("The backup must be someone other than the caller."))
    existing = db.session.scalar(select(CallEnrollment).where(CallEnrollment.household_id == household.id,
                                                              CallEnrollment.active.is_(True)))
    if existing is not None:
        raise CallError(_l("This household is already enrolled for safety calls."))
    enr = CallEnrollment(household_id=household.id, dong_id=household.dong_id, caller_id=caller.id,
                         backup_id=backup.id if backup else None, staff_id=actor.id, active=True,
                         next_due_on=clock.seoul_today(), started_at=clock.now())
    db.session.add(enr)
    db.session.flush()
    return enr


def change_people(enr: CallEnrollment, caller: User, backup: User | None) -> None:
    household = enr.household
    if caller.role not in CALLER_ROLES or household.dong_id not in caller.dong_ids or not caller.active:
        raise CallError(_l("The caller must be an active caseworker, care corps member or volunteer of the dong."))
    if backup is not None and (backup.role not in BACKUP_ROLES or household.dong_id not in backup.dong_ids
                               or backup.id == caller.id):
        raise CallError(_l("The backup must be an active volunteer or tong leader of the dong."))
    if caller.id != enr.caller_id:
        db.session.execute(update(CallTask).where(CallTask.enrollment_id == enr.id, CallTask.status == "open",
                                                  CallTask.kind != "visit", CallTask.assignee_id == enr.caller_id)
                           .values(assignee_id=caller.id))
    enr.caller_id = caller.id
    enr.backup_id = backup.id if backup else None


def end_enrollment(enr: CallEnrollment, actor) -> None:
    enr.active = False
    enr.ended_at = clock.now()
    db.session.execute(update(CallTask).where(CallTask.enrollment_id == enr.id, CallTask.status == "open")
                       .values(status="cancelled", closed_at=clock.now()))


def follow_tier(household: Household, now: datetime | None = None) -> CallEnrollment | None:
    """The household's tier has changed: its active plan's next call follows the new cadence at once,
    counted from its last scheduled call (``ensure_tasks`` applies a cadence only when it makes a day's
    call, so a household just judged an emergency would otherwise wait out its old fortnight).

    Next call = last scheduled call + the new cadence, never before today: earlier than planned when the
    cadence gets shorter (a raised tier), later when it gets longer (a lowered one). A plan that has had no
    call yet keeps its first one (only brought forward). A call that falls due today is put on the caller's
    list now. Returns the plan, or None when the household has none. Does not commit."""
    enr = db.session.scalar(select(CallEnrollment).where(CallEnrollment.household_id == household.id,
                                                         CallEnrollment.active.is_(True)))
    if enr is None:
        return None
    now = now or clock.now()
    today = _today(now)
    # Locked and read again: the sweep making today's calls claims the plan by moving this same date on.
    db.session.refresh(enr, ["next_due_on"], with_for_update=True)
    last = db.session.scalar(select(func.max(CallTask.due_on)).where(CallTask.enrollment_id == enr.id,
                                                                     CallTask.kind == "scheduled"))
    if last is None:
        due = min(enr.next_due_on, today + timedelta(days=cadence_days(household.tier)))
    else:
        due = max(last + timedelta(days=cadence_days(household.tier)), today)
    if due != enr.next_due_on:
        enr.next_due_on = due
        db.session.flush()
        if due <= today:
            # This plan's call only: the dong's other plans due today are the sweep's (a caseworker's tier
            # change used to make every one of them, inside the request).
            ensure_tasks(now, enrollment_ids=[enr.id])
            db.session.expire(enr, ["next_due_on"])
    return enr


def ensure_tasks(now: datetime | None = None, dong_ids=None, limit: int = 20000, enrollment_ids=None) -> int:
    """Create today's scheduled call for every enrollment due today or earlier. Returns how many.

    ``dong_ids`` / ``enrollment_ids``: only the plans of those dongs / those plans (an empty list is none).
    The sweep and "prepare today's lists" run it for the dong or the city; a change to one plan (enrolled,
    its tier changed) for that plan alone, so a caseworker's request does not schedule the whole dong."""
    now = now or clock.now()
    today = _today(now)
    hour = int(settings.get("calls.call_hour") or 10)
    stmt = (select(CallEnrollment, Household.tier).join(Household, Household.id == CallEnrollment.household_id)
            .where(CallEnrollment.active.is_(True), CallEnrollment.next_due_on <= today))
    if dong_ids is not None:
        stmt = stmt.where(CallEnrollment.dong_id.in_(list(dong_ids) or [-1]))
    if enrollment_ids is not None:
        stmt = stmt.where(CallEnrollment.id.in_(list(enrollment_ids) or [-1]))
    made = 0
    for enr, tier in db.session.execute(stmt.limit(limit)).all():
        # Claimed by moving its next due day on, in one conditional UPDATE: when two runs overlap (a
        # caseworker's "prepare the list" during the sweep) the second waits for the first and then finds
        # the enrollment no longer due, so nobody gets two calls for one day.
        claimed = db.session.execute(
            update(CallEnrollment)
            .where(CallEnrollment.id == enr.id, CallEnrollment.active.is_(True), CallEnrollment.next_due_on <= today)
            .values(next_due_on=today + timedelta(days=cadence_days(tier)))
            .execution_options(synchronize_session=False)).rowcount
        db.session.expire(enr, ["next_due_on"])
        if not claimed:
            continue
        db.session.add(CallTask(enrollment_id=enr.id, household_id=enr.household_id, dong_id=enr.dong_id,
                                assignee_id=enr.caller_id, kind="scheduled", attempt=0, due_on=today,
                                due_at=_seoul_at(today, hour), status="open", created_at=now))
        made += 1
    if made:
        db.session.flush()
    return made


def tasks_for(user, now: datetime | None = None):
    """Today's list of one caller (Asia/Seoul date): open tasks due today or earlier (the household joined).
    Visits come first, those of the top tiers (``calls.top_tiers``) before the others, each by due time, as
    the staff's "visits due"; then the calls by due time."""
    now = now or clock.now()
    top = list(settings.get("calls.top_tiers") or [])
    is_visit = CallTask.kind == "visit"
    return (select(CallTask).join(CallEnrollment, CallEnrollment.id == CallTask.enrollment_id)
            .join(Household, Household.id == CallTask.household_id)
            .where(CallTask.assignee_id == user.id, CallTask.status == "open", CallTask.due_on <= _today(now),
                   CallEnrollment.active.is_(True))
            .order_by(case((is_visit, 0), else_=1), case((and_(is_visit, Household.tier.in_(top)), 0), else_=1),
                      CallTask.due_at, CallTask.id))


# ---------------------------------------------------------------- recording an attempt

def _signals_from(rec: CallRecord) -> list[str]:
    signals = []
    if rec.arrears_2m:
        signals.append("arrears")
    if rec.distress:
        signals.append("mental_distress")
    if rec.support_network is False:
        signals.append("no_support")
    return signals


def _observe(enr: CallEnrollment, reporter, urgency: str, signals: list[str], note: str = "",
             meals: str = "", hygiene: str = ""):
    from volnet.observations import services as observations
    from volnet.observations.models import Observation

    household = enr.household
    obs = Observation(dong_id=household.dong_id, household_id=household.id, household=household,
                      reporter_id=getattr(reporter, "id", None), source="safety_call", urgency=urgency,
                      signals=signals or ["other"], meals=meals, hygiene=hygiene, note=note,
                      seen_at=clock.now())
    obs, _created = observations.submit(obs, reporter)
    return obs


def _staff_recipients(enr: CallEnrollment) -> list[User]:
    """The caseworker responsible for the enrollment, else the household concern's owner, else team leads."""
    from volnet.cases.services import team_leads
    from volnet.concerns.services import open_concern_for

    if enr.staff is not None and enr.staff.active and enr.staff.role in (CASEWORKER, TEAM_LEAD):
        return [enr.staff]
    concern = open_concern_for(enr.household_id)
    if concern is not None and concern.owner is not None and concern.owner.active:
        return [concern.owner]
    return team_leads(enr.dong_id)


def _label(enr: CallEnrollment) -> str:
    h = enr.household
    return f"{h.display_name or ''} {h.address_line}".strip()


def open_retry_after(task: CallTask) -> CallTask | None:
    """The retry still to do after this attempt of its chain, if any."""
    return db.session.scalar(select(CallTask).where(
        CallTask.chain_id == (task.chain_id or task.id), CallTask.kind == "retry", CallTask.status == "open",
        CallTask.attempt > task.attempt).order_by(CallTask.attempt).limit(1))


def record(task: CallTask, actor, outcome: str, *, meals: str = "", hygiene: str = "",
           arrears_2m: bool | None = None, distress: bool | None = None, support_network: bool | None = None,
           contact_frequency: str = "", note: str = "", client_token: str | None = None) -> dict:
    """Record one attempt for a task. Returns {"record", "retry", "visit", "emergency", "alerts"}."""
    from volnet.calls.models import CONTACT_FREQUENCIES

    if task in db.session:
        # Locked and read again: the missed-call sweep (or the same form sent twice) may be closing this
        # very task. The sweep skips locked tasks, so a call being recorded is never also counted as
        # missed; a second copy of the form waits here and then finds the first one's record below.
        db.session.refresh(task, ["status"], with_for_update=True)
    if client_token:
        existing = db.session.scalar(select(CallRecord).where(CallRecord.client_token == client_token))
        if existing is not None:
            return {"record": existing, "retry": None, "visit": None, "emergency": False, "alerts": [],
                    "duplicate": True}
    if task.status != "open":
        raise CallError(_l("This call has already been recorded."))
    if outcome not in CONTACT_OUTCOMES:
        raise CallError(_l("Choose one of the offered options."))
    if meals not in CHECKLIST_LEVELS or hygiene not in CHECKLIST_LEVELS or (
            contact_frequency and contact_frequency not in CONTACT_FREQUENCIES):
        raise CallError(_l("Choose one of the offered options."))
    now = clock.now()
    if task.kind == "retry" and outcome in MISSED and now < task.due_at:
        # Retries are some minutes apart (calls.retry_after, DOMAIN.md: 10-15 min): a retry "not answered"
        # a few seconds after the last try (a double tap, an impatient caller) would use up the chain and
        # send out a visit for a household that would have answered. Reaching them early is recorded.
        left = max(1, math.ceil((call_again_at(task.due_at) - now).total_seconds() / 60))
        raise CallError(_l("Too early for the retry: call again in %(left)s, at %(time)s or later. If you "
                           "reached them, record that now.", time=retry_time(task.due_at, now),
                           left=_l("1 minute") if left == 1 else _l("%(n)d minutes", n=left)))
    enr = task.enrollment
    rec = CallRecord(task_id=task.id, enrollment_id=enr.id, household_id=task.household_id, dong_id=task.dong_id,
                     caller_id=actor.id, at=now, outcome=outcome, meals=meals, hygiene=hygiene,
                     arrears_2m=arrears_2m, distress=distress, support_network=support_network,
                     contact_frequency=contact_frequency, note=note, client_token=client_token)
    db.session.add(rec)
    task.outcome = outcome
    task.closed_at = now
    result = {"record": rec, "retry": None, "visit": None, "emergency": False, "alerts": [], "duplicate": False,
              "observations": []}

    if outcome in REACHED:
        task.status = "done"
        _close_chain(task, now, "done")
        _lock_enrollment(enr)
        enr.consecutive_misses = 0
        if task.kind == "visit":
            alerting_cancel(f"safetycall:{enr.id}:")
        worrying = (outcome in ("connected_concern", "emergency_requested") or "poor" in (meals, hygiene)
                    or "severe" in (meals, hygiene) or bool(_signals_from(rec)))
        if worrying:
            urgency = "emergency" if outcome == "emergency_requested" else "routine"
            obs = _observe(enr, actor, urgency, _signals_from(rec), note, meals, hygiene)
            rec.observation_id = obs.id
            result["observations"].append(obs.id)
    elif outcome == "visit_no_response":
        task.status = "done"
        _close_chain(task, now, "done")
        result["emergency"] = True
        obs = _observe(enr, actor, "emergency", ["unreachable"], note)
        rec.observation_id = obs.id
        result["observations"].append(obs.id)
        params = {"household": _label(enr)}
        for u in _staff_recipients(enr) + ([enr.backup] if enr.backup else []):
            key = f"safetycall:{enr.id}:noresponse:{task.id}:{u.id}"
            alerting.send(u, "safety_visit_no_response", params, dedupe_key=key, urgent=True,
                          link=f"/calls/enrollments/{enr.id}")
            result["alerts"].append({"user": u.id, "kind": "safety_visit_no_response"})
    else:  # no answer, busy, invalid number
        task.status = "missed"
        _missed_attempt(task, now, actor, outcome, result)
    db.session.flush()
    return result


def alerting_cancel(prefix: str) -> None:
    try:
        from volnet.notifications import services
    except ImportError:
        return
    if hasattr(services, "cancel"):
        services.cancel(prefix)


def _close_chain(task: CallTask, now: datetime, status: str) -> None:
    root_id = task.chain_id or (task.id if task.kind == "scheduled" else None)
    if root_id is None:
        return
    db.session.execute(update(CallTask).where(CallTask.chain_id == root_id, CallTask.status == "open",
                                              CallTask.id != task.id)
                       .values(status="cancelled", closed_at=now))
    if task.id != root_id:
        root = db.session.get(CallTask, root_id)
        if root is not None and status == "done":
            root.status = "done"


def _missed_attempt(task: CallTask, now: datetime, actor, outcome: str | None, result: dict) -> None:
    retries = int(settings.get("calls.retries") or 0)
    if task.kind in ("scheduled", "retry") and task.attempt < retries and outcome not in (None, "invalid_number"):
        root_id = task.chain_id or task.id
        retry = CallTask(enrollment_id=task.enrollment_id, household_id=task.household_id, dong_id=task.dong_id,
                         assignee_id=task.assignee_id, kind="retry", chain_id=root_id, attempt=task.attempt + 1,
                         due_at=settings.add_duration(now, settings.get("calls.retry_after")),
                         due_on=_today(now), status="open", created_at=now)
        retry.due_on = _today(retry.due_at)
        db.session.add(retry)
        db.session.flush()
        result["retry"] = retry
        return
    if task.kind == "visit":
        return
    _chain_missed(task, now, result)


def _lock_enrollment(enr: CallEnrollment) -> None:
    """``SELECT … FOR UPDATE`` of the enrollment, its count of misses read afresh (PostgreSQL; SQLite has
    one writer at a time anyway). Always after the task's lock: the same order everywhere."""
    db.session.refresh(enr, ["consecutive_misses"], with_for_update=True)


def _chain_missed(task: CallTask, now: datetime, result: dict) -> None:
    """The scheduled call and its retries went unanswered: alert the backup; a visit when the rule says so."""
    enr = task.enrollment
    # Locked and read again: a call of this household recorded at this moment (it resets the count), or a
    # second sweep, must not be overwritten, nor give the household two visits.
    _lock_enrollment(enr)
    root_id = task.chain_id or task.id
    root = db.session.get(CallTask, root_id)
    if root is not None and root.status == "open":
        root.status, root.closed_at = "missed", now
    enr.consecutive_misses = (enr.consecutive_misses or 0) + 1
    caller = db.session.get(User, task.assignee_id)
    params = {"household": _label(enr), "caller": caller.name if caller else "-",
              "attempts": 1 + task.attempt, "misses": enr.consecutive_misses}
    backup = enr.backup if enr.backup is not None and enr.backup.active else None
    result["backup"] = backup  # who was asked to check, for the caller's confirmation (else the staff)
    first = [backup] if backup else _staff_recipients(enr)
    for u in first:
        key = f"safetycall:{enr.id}:missed:{root_id}:{u.id}"
        alerting.send(u, "safety_call_missed", params, dedupe_key=key, urgent=True, link="/calls/")
        result["alerts"].append({"user": u.id, "kind": "safety_call_missed"})
    top = set(settings.get("calls.top_tiers") or [])
    need_visit = (enr.consecutive_misses >= int(settings.get("calls.visit_after_misses") or 2)
                  or enr.household.tier in top)
    if need_visit:
        result["visit"] = _visit_due(enr, now, params, result)


def retry_time(due_at: datetime, now: datetime) -> str:
    """'10:15' later today; with the date (in the reader's language) when the wait runs past midnight.
    A time within a minute is the next whole minute (``call_again_at``)."""
    from volnet.core.web import seoul_datetime

    due_at = call_again_at(due_at)
    if clock.to_seoul(due_at).date() == clock.to_seoul(now).date():
        return clock.to_seoul(due_at).strftime("%H:%M")
    return seoul_datetime(due_at)


def key_holders(enr: CallEnrollment, viewer=None) -> list:
    """Whom the visitor may call when nobody opens the door (DOMAIN.md: 112/119 and the key holder): the
    plan's backup (active, with a number), then the tong leaders of the household's tong and the dong
    welfare centre (``households.key_holders``). Each number once (a backup who leads the household's tong is
    one entry, kind "backup" with the tong), never the visitor's own. Only for someone who may record the
    household's visit (the view has loaded the task for them)."""
    from volnet.core.korean import phone_digits
    from volnet.households.key_holders import KeyHolder, key_holder_contacts

    people = key_holder_contacts(enr.household)
    backup = enr.backup if enr.backup is not None and enr.backup.active and enr.backup.phone else None
    if backup is not None:
        same = next((k for k in people if k.kind == "tong_leader" and k.phone == backup.phone), None)
        people = [KeyHolder("backup", backup.name, backup.phone, same.tong if same else None),
                  *(k for k in people if k is not same)]
    own = phone_digits(getattr(viewer, "phone", None))
    return [k for k in people if not own or phone_digits(k.phone) != own]


def visit_due_at(now: datetime) -> datetime:
    """The next visit deadline: 18:00 Seoul today if at least 3 hours away, else 18:00 tomorrow."""
    hour = int(settings.get("calls.visit_hour") or 18)
    today = _today(now)
    due = _seoul_at(today, hour)
    if due - now < timedelta(hours=3):
        due = _seoul_at(today + timedelta(days=1), hour)
    return due


def _visit_due(enr: CallEnrollment, now: datetime, params: dict, result: dict) -> CallTask:
    existing = db.session.scalar(select(CallTask).where(CallTask.enrollment_id == enr.id, CallTask.kind == "visit",
                                                        CallTask.status == "open"))
    if existing is not None:
        return existing
    due = visit_due_at(now)
    staff = _staff_recipients(enr)
    assignee = enr.backup if enr.backup is not None and enr.backup.active else (staff[0] if staff else enr.caller)
    visit = CallTask(enrollment_id=enr.id, household_id=enr.household_id, dong_id=enr.dong_id,
                     assignee_id=assignee.id, kind="visit", attempt=0, due_at=due, due_on=_today(due),
                     status="open", created_at=now)
    db.session.add(visit)
    db.session.flush()
    obs = _observe(enr, None, "urgent", ["unreachable"],
                   str(_l("%(n)s safety calls in a row were not answered.", n=enr.consecutive_misses)))
    result.setdefault("observations", []).append(obs.id)
    params = dict(params, due=clock.to_seoul(due).strftime("%Y-%m-%d %H:%M"))
    recipients = {u.id: u for u in staff + [assignee]}
    for u in recipients.values():
        alerting.send(u, "safety_call_visit_due", params, dedupe_key=f"safetycall:{enr.id}:visit:{visit.id}:{u.id}",
                      urgent=True, link="/calls/")
        result["alerts"].append({"user": u.id, "kind": "safety_call_visit_due"})
    return visit


def process_missed_calls(now: datetime | None = None) -> dict:
    """The sweep (run every few minutes). Does not commit; safe to run twice.

    - creates today's scheduled tasks;
    - a retry still open ``calls.retry_grace`` after its due time ends its chain as missed;
    - a scheduled call still open after the end of its day (nobody called) counts as missed.
    Returns counts and the alerts sent.
    """
    now = now or clock.now()
    summary = {"created": ensure_tasks(now), "retries_expired": 0, "scheduled_expired": 0, "alerts": [],
               "visits": 0}
    grace = settings.get("calls.retry_grace")
    limit_due = now - (settings.add_duration(now, grace) - now)
    # Locked, skipping tasks a caller is recording right now (they are done in a moment; if not, the next
    # sweep takes them), so a call that reached the household never also raises a "could not reach" alert.
    stale_retries = list(db.session.scalars(
        select(CallTask).where(CallTask.status == "open", CallTask.kind == "retry", CallTask.due_at < limit_due)
        .order_by(CallTask.due_at).limit(2000).with_for_update(skip_locked=True)))
    today = _today(now)
    stale_scheduled = list(db.session.scalars(
        select(CallTask).where(and_(CallTask.status == "open", CallTask.kind == "scheduled", CallTask.due_on < today))
        .order_by(CallTask.due_at).limit(5000).with_for_update(skip_locked=True)))
    for task in stale_retries + stale_scheduled:
        if task.status != "open":  # closed by an earlier task of the same chain in this run
            continue
        result = {"alerts": [], "visit": None, "retry": None}
        task_id = task.id
        try:
            # One savepoint per task: a task that cannot be processed (a bug, a row changed under it) is
            # logged and left open for the next sweep; it does not hold up every other household's.
            with db.session.begin_nested():
                task.status, task.closed_at, task.outcome = "missed", now, None
                _close_chain(task, now, "missed")
                _chain_missed(task, now, result)
        except Exception:  # noqa: BLE001 - logged; the other tasks go on
            log.exception("safety call task %s: could not be counted as missed", task_id)
            continue
        if task.kind == "retry":
            summary["retries_expired"] += 1
        else:
            summary["scheduled_expired"] += 1
        summary["alerts"] += result["alerts"]
        summary["visits"] += 1 if result["visit"] is not None else 0
    db.session.flush()
    return summary
