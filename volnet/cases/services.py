"""Integrated case rules: opening from a concern, steps and due dates, linkages, closure, escalation.

Services take the acting user and never commit; views and the sweep commit.

Due dates (settings, defaults from the local guidelines in DOMAIN.md):
- assessment due ``cases.due.assessment`` (10d) after intake (the case opening);
- selection due ``cases.due.selection`` (5d) after the assessment;
- service plan due ``cases.due.planning`` (15d) after the selection;
- every step is also due no later than ``cases.due.total`` (30d) after intake.
While services are provided, a review (the monthly case conference) is due ``cases.review_every`` (30d) after
the plan, then after the latest conference.
Aftercare checks are due ``cases.aftercare_months`` ([1, 3]) months after closure (Asia/Seoul dates).
Emergency welfare support needs a decision ``due.emergency.action`` (48h, DOMAIN.md's "emergency support
decision after the report") after it was reported: the admin's "Emergency: support decision within", the
same rule that times an emergency concern's next step.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select

from volnet.accounts.models import User, user_dongs
from volnet.cases import alerting
from volnet.cases.models import (
    AFTERCARE_OUTCOMES,
    AGENCIES,
    CLOSURE_REASONS,
    CRISIS_LEVELS,
    DOMAINS,
    EMERGENCY_DECISIONS,
    EMERGENCY_KINDS,
    GOAL_STATUSES,
    LINKAGE_STATUSES,
    NEED_LEVELS,
    SECTORS,
    SELECTION_DECISIONS,
    SERVICE_TYPES,
    STEPS,
    AftercareCheck,
    Case,
    CaseConference,
    CaseEvent,
    CaseGoal,
    CaseNeed,
    CaseNote,
    ClosureRequest,
    ConferenceTask,
    EmergencySupport,
    ServiceLinkage,
)
from volnet.concerns import services as concerns
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.settings import services as settings

settings.DEFAULTS.setdefault("cases.due.assessment", "10d")
settings.DEFAULTS.setdefault("cases.due.selection", "5d")
settings.DEFAULTS.setdefault("cases.due.planning", "15d")
settings.DEFAULTS.setdefault("cases.due.total", "30d")
# An overdue step reminds the owner at once, and alerts the team lead when still overdue this long after.
settings.DEFAULTS.setdefault("cases.escalate_lead_after", "2d")
settings.DEFAULTS.setdefault("cases.aftercare_months", [1, 3])
# An aftercare check can be recorded from this long before it is due (not on the closing day for the +1 month).
settings.DEFAULTS.setdefault("cases.aftercare_early", "7d")
# Once the plan is done the case is reviewed at a case conference every month (local practice): the review is
# due this long after the plan, then after the latest conference.
settings.DEFAULTS.setdefault("cases.review_every", "30d")
EMERGENCY_DECISION = "due.emergency.action"  # the setting (settings.DEFAULTS: 48h)
LINKAGE_START_AHEAD = timedelta(days=366)  # a service linkage starts within a year from today

MAX_WON = 10**12  # a trillion won: anything above is a typing mistake
NO_AFTERCARE = ("not_selected", "deceased", "moved")


class CaseError(ValueError):
    """A rule was broken; the message is a lazy translated string for the user."""


def _event(case: Case, kind: str, actor=None, **data) -> None:
    db.session.add(CaseEvent(case_id=case.id, actor_id=getattr(actor, "id", None), kind=kind,
                             at=clock.now(), data=data))


def _cap(case: Case, due: datetime) -> datetime:
    return min(due, case.total_due_at) if case.total_due_at else due


def _set_step(case: Case, step: str, due: datetime | None) -> None:
    case.step = step
    case.next_due_at = due
    case.escalation_step = None
    case.escalation_level = 0


def open_case_for(household_id: int) -> Case | None:
    return db.session.scalar(select(Case).where(Case.household_id == household_id, Case.status == "open"))


def open_case(concern: Concern, actor, summary: str = "") -> Case:
    """Open an integrated case from a concern; the concern closes with outcome "case_opened". Without a
    ``summary`` the case's is the concern's signs, as the caseworker opening it reads them."""
    from volnet.core.i18n import labels
    from volnet.observations.signals import SIGNALS, summary_shown

    if not concern.is_open:
        raise CaseError(_l("This concern is already closed."))
    if concern.household_id is None:
        raise CaseError(_l("Link the concern to a household before opening a case."))
    if open_case_for(concern.household_id) is not None:
        raise CaseError(_l("This household already has an open integrated case."))
    now = clock.now()
    case = Case(dong_id=concern.dong_id, household_id=concern.household_id, concern_id=concern.id,
                owner_id=actor.id, status="open", opened_at=now, created_by_id=actor.id,
                summary=(summary or summary_shown(concern.summary or "", labels(SIGNALS)))[:300])
    case.total_due_at = settings.add_duration(now, settings.get("cases.due.total"))
    case.assessment_due_at = _cap(case, settings.add_duration(now, settings.get("cases.due.assessment")))
    _set_step(case, "assessment", case.assessment_due_at)
    db.session.add(case)
    db.session.flush()
    # The concern's timeline names the case by its number, in the reader's language (not a stored text).
    concerns.close(concern, actor, "case_opened", "", case=case.id)
    _event(case, "opened", actor, concern=concern.id)
    return case


def _require_step(case: Case, step: str) -> None:
    if not case.is_open:
        raise CaseError(_l("This case is closed."))
    if case.step != step:
        raise CaseError(_l("This step is not open now (the case is at: %(step)s).", step=STEPS[case.step]))


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(_l("This case is closed."))


def add_need(case: Case, actor, domain: str, level: str, description: str) -> CaseNeed:
    _require_open(case)
    if domain not in DOMAINS or level not in NEED_LEVELS:
        raise CaseError(_l("Choose one of the offered options."))
    need = CaseNeed(case_id=case.id, domain=domain, level=level, description=description,
                    created_by_id=actor.id, created_at=clock.now())
    db.session.add(need)
    _event(case, "need", actor, domain=domain, level=level)
    return need


def record_assessment(case: Case, actor, crisis_level: str, note: str = "") -> None:
    _require_step(case, "assessment")
    if crisis_level not in CRISIS_LEVELS:
        raise CaseError(_l("Choose one of the offered options."))
    if not db.session.scalar(select(CaseNeed.id).where(CaseNeed.case_id == case.id).limit(1)):
        raise CaseError(_l("Record at least one need before completing the assessment."))
    now = clock.now()
    case.assessed_at = now
    case.crisis_level = crisis_level
    case.assessment_note = note
    case.selection_due_at = _cap(case, settings.add_duration(now, settings.get("cases.due.selection")))
    _set_step(case, "selection", case.selection_due_at)
    _event(case, "assessed", actor, crisis_level=crisis_level)


def record_selection(case: Case, actor, decision: str, note: str = "") -> str | None:
    """Record the selection. "Not selected" ends the case as any closure does: at once when a team lead records
    it, else as a closure request for a team lead's approval. Returns "closed", "requested" or None."""
    from volnet.core import access

    _require_step(case, "selection")
    if pending_closure(case) is not None:  # a "not selected" waiting for approval: withdrawn first
        raise CaseError(_l("A closure of this case is already waiting for a team lead's approval."))
    if decision not in SELECTION_DECISIONS:
        raise CaseError(_l("Choose one of the offered options."))
    now = clock.now()
    case.selected_at = now
    case.selection = decision
    _event(case, "selection", actor, decision=decision)
    if decision == "not_selected":  # refused, as a closure, while services are still open
        if access.can(actor, "approve_closure", case):
            close_case(case, actor, "not_selected", note)
            return "closed"
        request_closure(case, actor, "not_selected", note)
        return "requested"
    case.plan_due_at = _cap(case, settings.add_duration(now, settings.get("cases.due.planning")))
    _set_step(case, "planning", case.plan_due_at)


def add_goal(case: Case, actor, domain: str, text: str, target_on: date | None) -> CaseGoal:
    _require_open(case)
    if domain not in DOMAINS:
        raise CaseError(_l("Choose one of the offered options."))
    if target_on is not None and target_on < clock.seoul_today():
        raise CaseError(_l("The target date cannot be in the past."))
    goal = CaseGoal(case_id=case.id, domain=domain, text=text, target_on=target_on, created_at=clock.now())
    db.session.add(goal)
    _event(case, "goal", actor, domain=domain)
    return goal


def set_goal_status(case: Case, goal: CaseGoal, actor, status: str) -> None:
    _require_open(case)
    if goal.case_id != case.id or status not in GOAL_STATUSES:
        raise CaseError(_l("Choose one of the offered options."))
    goal.status = status
    _event(case, "goal_status", actor, goal=goal.id, status=status)


def record_plan(case: Case, actor, plan_text: str) -> None:
    _require_step(case, "planning")
    if not db.session.scalar(select(CaseGoal.id).where(CaseGoal.case_id == case.id).limit(1)):
        raise CaseError(_l("Add at least one goal before completing the service plan."))
    if not (plan_text or "").strip():
        raise CaseError(_l("Write the service plan."))
    case.planned_at = clock.now()
    case.plan_text = plan_text
    _set_step(case, "service", settings.add_duration(case.planned_at, settings.get("cases.review_every")))
    _event(case, "planned", actor)


def _review_due(case: Case) -> datetime:
    """The monthly review: ``cases.review_every`` after the plan or after the latest case conference (held that
    day, at the time it is recorded), whichever is later."""
    latest = db.session.scalar(select(func.max(CaseConference.held_on)).where(CaseConference.case_id == case.id))
    base = case.planned_at or clock.now()
    if latest is not None:
        at = clock.to_seoul(clock.now())
        held = datetime.combine(latest, at.time(), tzinfo=clock.SEOUL)
        base = max(base, held.astimezone(base.tzinfo))
    return settings.add_duration(base, settings.get("cases.review_every"))


def validate_won(value) -> int:
    """Won amounts: whole numbers, 0 or more, below a trillion."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseError(_l("Enter the value in won as a whole number."))
    if value < 0:
        raise CaseError(_l("The value cannot be negative."))
    if value >= MAX_WON:
        raise CaseError(_l("The value is too large."))
    return value


def add_linkage(case: Case, actor, *, sector: str, service_type: str, provider: str, status: str,
                start_on: date, end_on: date | None, value_won: int, note: str = "") -> ServiceLinkage:
    _require_open(case)
    if sector not in SECTORS or service_type not in SERVICE_TYPES or status not in LINKAGE_STATUSES:
        raise CaseError(_l("Choose one of the offered options."))
    if start_on is None:
        raise CaseError(_l("Enter the start date."))
    if start_on > clock.seoul_today() + LINKAGE_START_AHEAD:
        raise CaseError(_l("The start date cannot be more than a year ahead."))
    if end_on is not None and end_on < start_on:
        raise CaseError(_l("The end date cannot be before the start date."))
    link = ServiceLinkage(case_id=case.id, dong_id=case.dong_id, household_id=case.household_id,
                          sector=sector, service_type=service_type, provider=provider, status=status,
                          start_on=start_on, end_on=end_on, value_won=validate_won(value_won), note=note,
                          created_at=clock.now(), created_by_id=actor.id)
    db.session.add(link)
    _event(case, "linkage", actor, sector=sector, service_type=service_type)
    return link


def set_linkage_status(case: Case, link: ServiceLinkage, actor, status: str, end_on: date | None = None) -> None:
    _require_open(case)
    if link.case_id != case.id or status not in LINKAGE_STATUSES:
        raise CaseError(_l("Choose one of the offered options."))
    if end_on is not None and end_on < link.start_on:
        raise CaseError(_l("The end date cannot be before the start date."))
    link.status = status
    if status in ("ended", "cancelled"):
        link.end_on = end_on or link.end_on or clock.seoul_today()
    _event(case, "linkage_status", actor, linkage=link.id, status=status)


def add_note(case: Case, actor, text: str) -> CaseNote:
    """Also on a closed case: notes of the aftercare checks that follow the closure."""
    if not (text or "").strip():
        raise CaseError(_l("Write the note."))
    note = CaseNote(case_id=case.id, author_id=actor.id, text=text, at=clock.now())
    db.session.add(note)
    return note


def add_conference(case: Case, actor, *, held_on: date, attendees: str, agencies: list[str], decisions: str,
                   tasks: list[tuple[str, str, date | None]]) -> CaseConference:
    _require_open(case)
    if held_on is not None and held_on > clock.seoul_today():
        raise CaseError(_l("The date of the conference cannot be in the future."))
    if any(a not in AGENCIES for a in agencies):
        raise CaseError(_l("Choose one of the offered options."))
    if not (decisions or "").strip():
        raise CaseError(_l("Write what was decided."))
    conf = CaseConference(case_id=case.id, held_on=held_on, attendees=attendees, agencies=list(agencies),
                          decisions=decisions, created_by_id=actor.id, created_at=clock.now())
    for text, owner, due in tasks:
        if text.strip():
            conf.tasks.append(ConferenceTask(text=text.strip()[:300], owner_name=owner.strip()[:120], due_on=due))
    db.session.add(conf)
    db.session.flush()
    _event(case, "conference", actor, conference=conf.id, agencies=list(agencies))
    if case.step == "service":  # the month's review is held: the next one is due a month on
        due = _review_due(case)
        if case.next_due_at is None or due != case.next_due_at:
            _set_step(case, "service", due)
    return conf


def complete_task(case: Case, task: ConferenceTask, actor) -> None:
    conf = db.session.get(CaseConference, task.conference_id)
    if conf is None or conf.case_id != case.id:
        raise CaseError(_l("Choose one of the offered options."))
    task.done_at = task.done_at or clock.now()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


OPEN_LINKAGE_STATUSES = ("planned", "active")


def open_linkages(case: Case) -> list[ServiceLinkage]:
    """The case's linkages still planned or being provided, oldest first."""
    return list(db.session.scalars(select(ServiceLinkage).where(
        ServiceLinkage.case_id == case.id, ServiceLinkage.status.in_(OPEN_LINKAGE_STATUSES))
        .order_by(ServiceLinkage.start_on, ServiceLinkage.id)))


def undecided_emergencies(case: Case) -> list[EmergencySupport]:
    return list(db.session.scalars(select(EmergencySupport).where(
        EmergencySupport.case_id == case.id, EmergencySupport.decided_at.is_(None))
        .order_by(EmergencySupport.reported_at, EmergencySupport.id)))


def linkage_label(link: ServiceLinkage) -> str:
    label = str(SERVICE_TYPES.get(link.service_type, link.service_type))
    return f"{label} ({link.provider})" if link.provider else label


def _closable(case: Case, reason: str, end_linkages: bool) -> list[ServiceLinkage]:
    """Refuse a closure the case's services do not allow yet (see ``close_case``); the linkages to settle."""
    from volnet.core.web import seoul_datetime

    _require_open(case)
    if reason not in CLOSURE_REASONS:
        raise CaseError(_l("Choose one of the offered options."))
    waiting = undecided_emergencies(case)
    if waiting:
        es = waiting[0]
        raise CaseError(_l("The emergency welfare support (%(kind)s) reported %(at)s has no decision yet: record "
                           "the decision before closing the case.", kind=EMERGENCY_KINDS.get(es.kind, es.kind),
                           at=seoul_datetime(es.reported_at)))
    links = open_linkages(case)
    if links and not end_linkages:
        raise CaseError(_l("These service linkages are still planned or being provided: %(links)s. Choose to end "
                           "them as of the closing date, or end them under Service linkages first.",
                           links=", ".join(linkage_label(link) for link in links)))
    return links


def close_case(case: Case, actor, reason: str, note: str = "", end_linkages: bool = False) -> list[AftercareCheck]:
    """Close the case. Its services are settled first: an emergency support still waiting for its decision
    refuses the closure (the decision is due whatever happens to the case); linkages still planned or being
    provided refuse it unless ``end_linkages`` (the caseworker's explicit choice), which ends those being
    provided on the closing date (an earlier end date is kept) and cancels those not started yet.
    A closure request waiting for a team lead is settled as approved by ``actor``.
    (The pages let a team lead close; a caseworker's closure is a request: ``request_closure``.)"""
    links = _closable(case, reason, end_linkages)
    waiting_request = pending_closure(case)
    if waiting_request is not None:
        waiting_request.decided_at, waiting_request.decided_by_id = clock.now(), actor.id
        waiting_request.decision = "approved"
    today = clock.seoul_today()
    for link in links:
        if link.status == "active" and link.start_on <= today:
            link.status, link.end_on = "ended", min(link.end_on or today, today)
        else:  # not started yet
            link.status = "cancelled"
        _event(case, "linkage_status", actor, linkage=link.id, status=link.status)
    now = clock.now()
    case.status = "closed"
    case.closed_at = now
    case.closure_reason = reason
    case.closure_note = note
    _set_step(case, "closed", None)
    checks = []
    if reason not in NO_AFTERCARE:
        today = clock.seoul_today()
        for months in settings.get("cases.aftercare_months") or []:
            check = AftercareCheck(case_id=case.id, months=int(months), due_on=add_months(today, int(months)))
            db.session.add(check)
            checks.append(check)
    _event(case, "closed", actor, reason=reason)
    return checks


# An aftercare check that finds the household in need again, or cannot reach it, is a new signal about it.
AFTERCARE_FOLLOW_UP = {"needs_support": ("urgent", ["other"]), "unreachable": ("routine", ["unreachable"])}


# ---------------------------------------------------------------- closure approval (DOMAIN.md: the team lead)

def pending_closure(case: Case) -> ClosureRequest | None:
    """The closure request of the case waiting for a team lead, if any."""
    return db.session.scalar(select(ClosureRequest).where(ClosureRequest.case_id == case.id,
                                                          ClosureRequest.decided_at.is_(None)))


def request_closure(case: Case, actor, reason: str, note: str = "", end_linkages: bool = False) -> ClosureRequest:
    """A caseworker closes: the closure waits for a team lead of the dong, who is told (and the case's owner,
    when someone else asked). Refused as ``close_case`` would refuse it, so what is approved can close."""
    _require_open(case)
    if pending_closure(case) is not None:
        raise CaseError(_l("A closure of this case is already waiting for a team lead's approval."))
    _closable(case, reason, end_linkages)
    req = ClosureRequest(case_id=case.id, requested_by_id=actor.id, requested_at=clock.now(), reason=reason,
                         note=note, end_linkages=bool(end_linkages))
    db.session.add(req)
    db.session.flush()
    _event(case, "closure_requested", actor, request=req.id, reason=reason)
    # The reason as its code: each recipient reads its label in their own language (alerting.PARAM_LABELS).
    params = {"case": case.id, "who": actor.name, "reason": reason}
    recipients = team_leads(case.dong_id)
    if case.owner is not None and case.owner_id != actor.id and case.owner_id not in {u.id for u in recipients}:
        recipients.append(case.owner)
    for user in recipients:
        if user.id != actor.id:
            alerting.send(user, "case_closure_requested", params, dedupe_key=f"closure:{req.id}:{user.id}",
                          link=f"/cases/{case.id}")
    return req


def _decided(case: Case, req: ClosureRequest | None) -> ClosureRequest:
    _require_open(case)
    if req is None or req.case_id != case.id or req.decided_at is not None:
        raise CaseError(_l("No closure of this case is waiting for approval."))
    return req


def approve_closure(case: Case, actor) -> list[AftercareCheck]:
    """A team lead approves: the case closes as the request asked (refused if its services no longer allow it,
    the request still waiting); the one who asked is told, and whether aftercare checks follow."""
    req = _decided(case, pending_closure(case))
    checks = close_case(case, actor, req.reason, req.note, end_linkages=req.end_linkages)
    kind = "case_closure_approved" if checks else "case_closure_approved_no_aftercare"
    _tell_decision(case, req, actor, kind, "approved")
    return checks


def _tell_decision(case: Case, req: ClosureRequest, actor, kind: str, decision: str) -> None:
    """The one who asked is told the team lead's decision, and the case's owner too when someone else asked
    (the owner was told of the request)."""
    params = {"case": case.id, "who": actor.name}
    if req.requested_by is not None and req.requested_by_id != actor.id:
        alerting.send(req.requested_by, kind, params, dedupe_key=f"closure:{req.id}:{decision}",
                      link=f"/cases/{case.id}")
    if case.owner is not None and case.owner_id not in (actor.id, req.requested_by_id):
        alerting.send(case.owner, kind, params, dedupe_key=f"closure:{req.id}:{decision}:{case.owner_id}",
                      link=f"/cases/{case.id}")


def return_closure(case: Case, actor, note: str) -> ClosureRequest:
    """A team lead returns the closure with a reason: the case stays open, the reason is on its page and the
    one who asked is told, and the owner when someone else asked (the reason itself only on the page)."""
    req = _decided(case, pending_closure(case))
    if not (note or "").strip():
        raise CaseError(_l("Write why the closure is returned."))
    req.decided_at, req.decided_by_id, req.decision, req.return_note = clock.now(), actor.id, "returned", note
    _event(case, "closure_returned", actor, request=req.id)
    _tell_decision(case, req, actor, "case_closure_returned", "returned")
    return req


def withdraw_closure(case: Case, actor) -> ClosureRequest:
    """The one who asked, or the case's owner, withdraws a closure still waiting for a team lead (to correct it
    and ask again, or because the household's situation changed): the case stays open, the withdrawal is on its
    history, and those told of the request are told it is withdrawn (their notice of it, when not delivered
    yet, is cancelled)."""
    req = _decided(case, pending_closure(case))
    if actor.id not in (req.requested_by_id, case.owner_id):
        raise CaseError(_l("Only the one who asked for the closure, or the case's owner, can withdraw it."))
    req.decided_at, req.decided_by_id, req.decision = clock.now(), actor.id, "withdrawn"
    _event(case, "closure_withdrawn", actor, request=req.id)
    alerting.cancel(f"closure:{req.id}:")
    recipients = {u.id: u for u in team_leads(case.dong_id)}
    for user in (case.owner, req.requested_by):
        if user is not None:
            recipients.setdefault(user.id, user)
    for user in recipients.values():
        if user.id != actor.id:
            alerting.send(user, "case_closure_withdrawn", {"case": case.id, "who": actor.name},
                          dedupe_key=f"closure:{req.id}:withdrawn:{user.id}", link=f"/cases/{case.id}")
    return req


def aftercare_opens_on(check: AftercareCheck) -> date:
    """The first day the check can be recorded: ``cases.aftercare_early`` (days) before it is due."""
    n, unit = settings.parse_duration(settings.get("cases.aftercare_early"))
    return check.due_on - timedelta(days=n if unit in ("d", "wd") else 0)


def record_aftercare(case: Case, check: AftercareCheck, actor, outcome: str, note: str = ""):
    """Record an aftercare check, from ``cases.aftercare_early`` (7d) before it is due. "Needs support again"
    and "could not be reached" report the household through observations.submit (so its concern opens or
    rises: urgent, or routine with the "unreachable" signal), with the note, and tell the case's owner when
    someone else recorded it. Returns that observation, or None."""
    if check.case_id != case.id or outcome not in AFTERCARE_OUTCOMES:
        raise CaseError(_l("Choose one of the offered options."))
    if check.done_at is not None:
        raise CaseError(_l("This check has already been recorded."))
    earliest = aftercare_opens_on(check)
    if clock.seoul_today() < earliest:
        from volnet.core.web import seoul_date

        raise CaseError(_l("This check is due %(due)s: it can be recorded from %(from)s.",
                           due=seoul_date(check.due_on), **{"from": seoul_date(earliest)}))
    check.done_at = clock.now()
    check.outcome = outcome
    check.note = note
    check.done_by_id = actor.id
    _event(case, "aftercare", actor, months=check.months, outcome=outcome)
    if outcome not in AFTERCARE_FOLLOW_UP:
        return None
    return _aftercare_follow_up(case, check, actor, outcome, note)


def _aftercare_follow_up(case: Case, check: AftercareCheck, actor, outcome: str, note: str):
    from volnet.observations import services as observations
    from volnet.observations.models import Observation

    urgency, signals = AFTERCARE_FOLLOW_UP[outcome]
    household = case.household
    said = str(_l("Aftercare check %(months)s months after closing integrated case #%(case)s: %(outcome)s.",
                  months=check.months, case=case.id, outcome=AFTERCARE_OUTCOMES[outcome]))
    obs = Observation(dong_id=household.dong_id, household_id=household.id, household=household,
                      reporter_id=actor.id, source="staff", urgency=urgency, signals=signals,
                      note=(said + "\n" + note).strip(), seen_at=clock.now())
    obs, _created = observations.submit(obs, actor)
    owner = case.owner if case.owner is not None and case.owner.active else None
    recipients = [owner] if owner is not None else team_leads(case.dong_id)
    for user in recipients:
        if user.id != actor.id:
            alerting.send(user, f"aftercare_{outcome}", {"case": case.id, "months": check.months,
                                                          "concern": obs.concern_id},
                          dedupe_key=f"aftercare:{check.id}:{outcome}:{user.id}", link=f"/cases/{case.id}")
    return obs


def record_emergency(case: Case, actor, kind: str, reported_at: datetime | None = None, note: str = "") -> EmergencySupport:
    _require_open(case)
    if kind not in EMERGENCY_KINDS:
        raise CaseError(_l("Choose one of the offered options."))
    now = clock.now()
    reported_at = reported_at or now
    if reported_at > now + timedelta(minutes=5):
        raise CaseError(_l("The report time cannot be in the future."))
    es = EmergencySupport(case_id=case.id, dong_id=case.dong_id, kind=kind, reported_at=reported_at,
                          decision_due_at=settings.add_duration(reported_at, settings.get(EMERGENCY_DECISION)),
                          note=note, created_by_id=actor.id)
    db.session.add(es)
    _event(case, "emergency", actor, support=kind)
    return es


def decide_emergency(case: Case, es: EmergencySupport, actor, decision: str, amount_won: int = 0,
                     note: str = "") -> None:
    if es.case_id != case.id or decision not in EMERGENCY_DECISIONS:
        raise CaseError(_l("Choose one of the offered options."))
    if es.decided_at is not None:
        raise CaseError(_l("A decision has already been recorded."))
    if decision == "approved" and not amount_won:
        raise CaseError(_l("Enter the amount."))
    es.amount_won = validate_won(amount_won)
    es.decided_at = clock.now()
    es.decision = decision
    if note:
        es.note = (es.note + "\n" + note).strip()
    _event(case, "emergency_decided", actor, decision=decision, on_time=es.decided_at <= es.decision_due_at)


# ---------------------------------------------------------------- escalation (called by the sweep)

def team_leads(dong_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(user_dongs, user_dongs.c.user_id == User.id)
        .where(user_dongs.c.dong_id == dong_id, User.role == "team_lead", User.active.is_(True))
        .order_by(User.id)))


def _seoul_text(value: datetime) -> str:
    return clock.to_seoul(value).strftime("%Y-%m-%d %H:%M")


def escalate_overdue(now: datetime | None = None) -> list[dict]:
    """Remind owners of overdue case steps, then alert the team lead; safe to run every few minutes.

    1. An open case whose current step is past due: the owner gets ``case_step_overdue`` once per step.
    2. Still overdue ``cases.escalate_lead_after`` later (or no owner): each team lead of the dong gets
       ``case_step_overdue_lead`` once per step.
    3. An emergency support without a decision past its clock (``due.emergency.action``, 48 hours): owner and team leads, urgent, once.
    4. An aftercare check due today or earlier: the owner, once.
    Returns what was sent: [{"user": id, "kind": ..., "key": dedupe_key}]. Does not commit.
    """
    now = now or clock.now()
    sent: list[dict] = []
    lead_after = settings.get("cases.escalate_lead_after")

    def out(user, kind, params, key, urgent=None, link=None):
        if user is None:
            return
        alerting.send(user, kind, params, dedupe_key=key, urgent=urgent, link=link)
        sent.append({"user": user.id, "kind": kind, "key": key})

    overdue = db.session.scalars(
        select(Case).where(Case.status == "open", Case.next_due_at.is_not(None), Case.next_due_at < now,
                           or_(Case.escalation_step.is_(None), Case.escalation_step != Case.step,
                               Case.escalation_level < 2))
        .order_by(Case.next_due_at).limit(1000))
    for case in overdue:
        if case.escalation_step != case.step:
            case.escalation_step, case.escalation_level = case.step, 0
        step = case.step if case.step != "service" else "review"  # a code: named in the reader's language
        params = {"case": case.id, "step": step, "due": _seoul_text(case.next_due_at),
                  "owner": case.owner.name if case.owner else "-"}
        link = f"/cases/{case.id}"
        # Each month's review is its own deadline, reminded once like a step.
        key = case.step if case.step != "service" else f"review:{clock.to_seoul(case.next_due_at).date().isoformat()}"
        if case.escalation_level < 1 and case.owner is not None:
            out(case.owner, "case_step_overdue", params, f"case:{case.id}:{key}:owner", link=link)
            case.escalation_level = 1
        lead_due = settings.add_duration(case.next_due_at, lead_after)
        if case.escalation_level < 2 and (case.owner is None or now >= lead_due):
            for lead in team_leads(case.dong_id):
                out(lead, "case_step_overdue_lead", params, f"case:{case.id}:{key}:lead:{lead.id}",
                    link=link)
            case.escalation_level = 2

    late = db.session.scalars(
        select(EmergencySupport).where(EmergencySupport.decided_at.is_(None),
                                       EmergencySupport.decision_due_at < now,
                                       EmergencySupport.escalation_level < 1).limit(1000))
    for es in late:
        case = db.session.get(Case, es.case_id)
        params = {"case": case.id, "reported": _seoul_text(es.reported_at), "due": _seoul_text(es.decision_due_at)}
        recipients = ([case.owner] if case.owner else []) + [u for u in team_leads(case.dong_id)
                                                             if u.id != case.owner_id]
        for u in recipients:
            out(u, "emergency_decision_overdue", params, f"emergency:{es.id}:{u.id}", urgent=True,
                link=f"/cases/{case.id}")
        es.escalation_level = 1

    today = now.astimezone(clock.SEOUL).date()
    due_checks = db.session.execute(
        select(AftercareCheck, Case).join(Case, Case.id == AftercareCheck.case_id)
        .where(and_(AftercareCheck.done_at.is_(None), AftercareCheck.reminded_at.is_(None),
                    AftercareCheck.due_on <= today)).limit(1000)).all()
    for check, case in due_checks:
        target = case.owner or (team_leads(case.dong_id) or [None])[0]
        out(target, "aftercare_due", {"case": case.id, "months": check.months, "due": check.due_on.isoformat()},
            f"aftercare:{check.id}", link=f"/cases/{case.id}")
        check.reminded_at = now
    return sent
