from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

import volnet.cases.policy  # noqa: F401  (registers the access policies)
from volnet.accounts.models import User, user_dongs
from volnet.accounts.roles import CASEWORKER, STAFF, TEAM_LEAD
from volnet.audit.services import record
from volnet.cases import alerting
from volnet.cases import forms as F
from volnet.cases import services as svc
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
    REVIEW,
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
from volnet.concerns.models import Concern
from volnet.core import access, clock, nav
from volnet.core.access import rule, visible
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.web import seoul_date, seoul_datetime
from volnet.extensions import db
from volnet.settings import services as settings

bp = Blueprint("cases", __name__, url_prefix="/cases")
nav.register(_l("Cases"), "cases.index", STAFF)

EDITORS = (CASEWORKER, TEAM_LEAD)
PER_PAGE = 25
LABELS = dict(steps=STEPS, domains=DOMAINS, need_levels=NEED_LEVELS, crisis_levels=CRISIS_LEVELS,
              selection_decisions=SELECTION_DECISIONS, goal_statuses=GOAL_STATUSES, sectors=SECTORS,
              service_types=SERVICE_TYPES, linkage_statuses=LINKAGE_STATUSES, closure_reasons=CLOSURE_REASONS,
              agencies=AGENCIES, aftercare_outcomes=AFTERCARE_OUTCOMES, emergency_decisions=EMERGENCY_DECISIONS,
              emergency_kinds=EMERGENCY_KINDS)


def _late_aftercare(today):
    """Case ids with an aftercare check past its date and not recorded (a select to narrow with .where)."""
    return select(AftercareCheck.case_id).where(AftercareCheck.done_at.is_(None), AftercareCheck.due_on < today)


@bp.route("/")
@rule(*STAFF)
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    overdue = request.args.get("overdue") == "1"
    # "Overdue" looks at closed cases too (an aftercare check not made), unless a status is chosen.
    status = request.args.get("status", "all" if overdue else "open")
    stmt = select(Case).where(visible(current_user, Case)).options(joinedload(Case.household),
                                                                    joinedload(Case.owner))
    if status in ("open", "closed"):
        stmt = stmt.where(Case.status == status)
    else:
        status = "all"
    if request.args.get("mine") == "1":
        stmt = stmt.where(Case.owner_id == current_user.id)
    now = clock.now()
    today = clock.seoul_today()
    if overdue:
        # A step past its due date, or an emergency support past its decision clock (as the case page marks it);
        # of a closed case, an aftercare check past its date and not made.
        late = _late_decision(now).where(EmergencySupport.case_id == Case.id).exists()
        aftercare_late = _late_aftercare(today).where(AftercareCheck.case_id == Case.id).exists()
        stmt = stmt.where(or_(and_(Case.status == "open", or_(Case.next_due_at < now, late)),
                              and_(Case.status == "closed", aftercare_late)))
    # A closure waiting for a team lead's approval (open cases only: an approved one has closed the case).
    closing_waits = select(ClosureRequest.id).where(ClosureRequest.case_id == Case.id,
                                                   ClosureRequest.decided_at.is_(None)).exists()
    if request.args.get("closing") == "1":
        stmt = stmt.where(Case.status == "open", closing_waits)
    waiting_total = db.session.scalar(select(func.count()).select_from(Case).where(
        visible(current_user, Case), Case.status == "open", closing_waits))
    stmt = stmt.order_by(Case.next_due_at.is_(None), Case.next_due_at, Case.id.desc())
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    ids = [c.id for c in pagination.items if c.is_open]
    late = set(db.session.scalars(_late_decision(now).where(EmergencySupport.case_id.in_(ids)))) if ids else set()
    closing = set(db.session.scalars(select(ClosureRequest.case_id).where(
        ClosureRequest.case_id.in_(ids), ClosureRequest.decided_at.is_(None)))) if ids else set()
    closed_ids = [c.id for c in pagination.items if not c.is_open]
    late_aftercare = set(db.session.scalars(_late_aftercare(today).where(
        AftercareCheck.case_id.in_(closed_ids)))) if closed_ids else set()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("cases/index.html", pagination=pagination, args=args, status=status,
                           now=now, late_decisions=late, late_aftercare=late_aftercare,
                           closure_requested=closing, waiting_total=waiting_total,
                           approves=current_user.role == TEAM_LEAD, **LABELS)


def _late_decision(now):
    """The cases of emergency supports still without a decision past their clock (``decision_due_at``)."""
    return select(EmergencySupport.case_id).where(EmergencySupport.decided_at.is_(None),
                                                  EmergencySupport.decision_due_at < now)


@bp.route("/from-concern/<int:concern_id>", methods=["POST"])
@rule(*EDITORS)
def open_from_concern(concern_id: int):
    # Locked: two caseworkers opening a case from one concern at once would give the household two cases.
    concern = access.load(Concern, concern_id, "close", audit=False, lock=True)
    form = F.OpenCaseForm()
    if not form.validate_on_submit():
        db.session.rollback()
        flash(_("The form has expired. Please submit it again.") if "csrf_token" in form.errors
              else _("Please check the form."), "error")
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    try:
        case = svc.open_case(concern, current_user, form.summary.data or "")
    except svc.CaseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    record(current_user, "create", "case", case.id)
    record(current_user, "close", "concern", concern.id, f"outcome=case_opened case={case.id}")
    db.session.commit()
    flash(_("Integrated case #%(n)d opened. The assessment is due %(due)s.", n=case.id,
            due=seoul_date(case.assessment_due_at)), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


def _staff_of(dong_id: int, roles=EDITORS):
    return list(db.session.scalars(
        select(User).join(user_dongs, user_dongs.c.user_id == User.id)
        .where(user_dongs.c.dong_id == dong_id, User.role.in_(roles), User.active.is_(True)).order_by(User.name)))


# What the case page shows of its relations, loaded with the case.
_DETAIL_OPTIONS = (joinedload(Case.household), joinedload(Case.owner).load_only(User.id, User.name))


@bp.route("/<int:case_id>")
@rule(*STAFF)
def detail(case_id: int):
    case = access.load(Case, case_id, "view", options=_DETAIL_OPTIONS)
    return _page(case)


def _page(case: Case, status: int = 200, open_block: str | None = None, **refused):
    """The case page. A refused form comes back under its name on the page (``need_form=form``, ...) and is
    shown again as it was sent, with its errors, its block open (``open_block``, the same name); the forms of
    one item (an emergency support's decision, an aftercare check) come as ``decide_forms``/``aftercare_forms``
    = {item id: form}."""
    can_notes = access.can(current_user, "notes", case)
    q = lambda model, *order: list(db.session.scalars(select(model).where(model.case_id == case.id)  # noqa: E731
                                                      .order_by(*order)))
    needs = q(CaseNeed, CaseNeed.id)
    goals = q(CaseGoal, CaseGoal.id)
    linkages = q(ServiceLinkage, ServiceLinkage.start_on.desc(), ServiceLinkage.id.desc())
    emergencies = q(EmergencySupport, EmergencySupport.reported_at.desc())
    aftercare = list(db.session.scalars(select(AftercareCheck).options(joinedload(AftercareCheck.done_by).load_only(
        User.id, User.name)).where(AftercareCheck.case_id == case.id).order_by(AftercareCheck.due_on)))
    notes = conferences = []
    if can_notes:
        notes = list(db.session.scalars(select(CaseNote).options(joinedload(CaseNote.author))
                                        .where(CaseNote.case_id == case.id).order_by(CaseNote.at.desc())))
        conferences = q(CaseConference, CaseConference.held_on.desc())
    requests = list(db.session.scalars(select(ClosureRequest).options(
        joinedload(ClosureRequest.requested_by).load_only(User.id, User.name),
        joinedload(ClosureRequest.decided_by).load_only(User.id, User.name))
        .where(ClosureRequest.case_id == case.id)))
    pending = next((r for r in requests if r.decided_at is None), None)
    # The latest request returned by a team lead (or withdrawn): its reason is shown over the closure form, which
    # holds again what was asked, to correct and ask again.
    latest = max(requests, key=lambda r: (r.requested_at, r.id), default=None)
    previous = latest if (case.is_open and latest is not None and latest.decided_at is not None
                          and latest.decision in ("returned", "withdrawn")) else None
    events = list(db.session.scalars(select(CaseEvent).options(joinedload(CaseEvent.actor))
                                     .where(CaseEvent.case_id == case.id)
                                     .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(200)))
    owner_form = F.OwnerForm()
    staff = _staff_of(case.dong_id)
    owner_form.owner_id.choices = [(u.id, u.name) for u in staff]
    history = _history(events, {link.id: link for link in linkages}, {g.id: g for g in goals},
                       {u.id: u.name for u in staff}, {r.id: r for r in requests})
    forms = dict(
        need_form=F.NeedForm(), assessment_form=F.AssessmentForm(), selection_form=F.SelectionForm(),
        goal_form=F.GoalForm(), plan_form=F.PlanForm(plan_text=case.plan_text),
        linkage_form=F.LinkageForm(start_on=clock.seoul_today()), status_form=F.LinkageStatusForm(),
        note_form=F.NoteForm(), conference_form=F.ConferenceForm(held_on=clock.seoul_today()),
        close_form=F.CloseCaseForm(formdata=None, reason=previous.reason, note=previous.note,
                                   end_linkages=previous.end_linkages) if previous else F.CloseCaseForm(),
        return_form=F.ReturnClosureForm(),
        aftercare_form=F.AftercareForm(), emergency_form=F.EmergencyForm(),
        decide_form=F.DecideForm(), decide_forms={}, aftercare_forms={})
    forms.update(refused)
    return render_template(
        "cases/detail.html", case=case, h=case.household, needs=needs, goals=goals, linkages=linkages,
        emergencies=emergencies, aftercare=aftercare, notes=notes, conferences=conferences, history=history,
        review_label=REVIEW, pending=pending, previous_request=previous,
        can_approve=access.can(current_user, "approve_closure", case),
        can_withdraw=pending is not None and access.can(current_user, "edit", case)
        and current_user.id in (pending.requested_by_id, case.owner_id),
        can_edit=access.can(current_user, "edit", case), can_notes=can_notes,
        value_total=sum(link.value_won for link in linkages if link.status != "cancelled"),
        now=clock.now(), today=clock.seoul_today(), open_block=open_block,
        open_linkages=[link for link in linkages if link.status in svc.OPEN_LINKAGE_STATUSES],
        undecided=[es for es in emergencies if es.decided_at is None], linkage_label=svc.linkage_label,
        aftercare_opens={a.id: svc.aftercare_opens_on(a) for a in aftercare if a.done_at is None},
        no_aftercare=svc.NO_AFTERCARE,
        no_aftercare_reasons=", ".join(str(CLOSURE_REASONS[r]) for r in svc.NO_AFTERCARE),
        action_form=F.ActionForm(), owner_form=owner_form,
        emergency_rule=duration_text(settings.get(svc.EMERGENCY_DECISION)), **forms, **LABELS), status


# What each kind of case event says on the case's history; the codes it holds are shown with their labels.
_EVENT_TEXTS = {
    "opened": _l("Case opened from concern #%(concern)s"),
    "need": _l("Need recorded: %(domain)s"),
    "assessed": _l("Assessment completed: %(crisis_level)s"),
    "selection": _l("Selection recorded: %(decision)s"),
    "goal": _l("Goal added: %(domain)s"),
    "goal_status": _l("Goal \"%(goal)s\": %(status)s"),
    "planned": _l("Service plan completed"),
    "linkage": _l("Service linkage added: %(service_type)s"),
    "linkage_status": _l("Service linkage %(linkage)s: %(status)s"),
    "conference": _l("Case conference recorded"),
    "emergency": _l("Emergency welfare support recorded: %(support)s"),
    "emergency_decided": _l("Emergency welfare support decided: %(decision)s"),
    "emergency_decided_late": _l("Emergency welfare support decided after its deadline: %(decision)s"),
    "closed": _l("Case closed: %(reason)s"),
    "aftercare": _l("Aftercare check after %(months)s months: %(outcome)s"),
    "owner": _l("Owner changed to %(owner)s"),
    "closure_requested": _l("Closure requested: %(reason)s"),
    "closure_returned": _l("Closure returned: %(note)s"),
    "closure_withdrawn": _l("Closure request withdrawn"),
}


def _history(events, linkages: dict, goals: dict, names: dict, requests: dict) -> list[dict]:
    """The case's events as lines of its history: when, who, what (in the reader's language)."""
    missing = {ev.data.get("owner") for ev in events if ev.kind == "owner"} - set(names) - {None}
    if missing:
        names = {**names, **dict(db.session.execute(select(User.id, User.name).where(User.id.in_(missing))).all())}
    out = []
    for ev in events:
        data = dict(ev.data or {})
        labels = {"domain": DOMAINS, "crisis_level": CRISIS_LEVELS, "reason": CLOSURE_REASONS,
                  "outcome": AFTERCARE_OUTCOMES, "service_type": SERVICE_TYPES, "support": EMERGENCY_KINDS,
                  "decision": EMERGENCY_DECISIONS if ev.kind == "emergency_decided" else SELECTION_DECISIONS,
                  "status": GOAL_STATUSES if ev.kind == "goal_status" else LINKAGE_STATUSES}
        params = {k: labels[k].get(v, v) if k in labels else v for k, v in data.items()}
        if ev.kind == "linkage_status":
            link = linkages.get(data.get("linkage"))
            params["linkage"] = svc.linkage_label(link) if link is not None else f"#{data.get('linkage')}"
        elif ev.kind == "goal_status":
            goal = goals.get(data.get("goal"))
            params["goal"] = goal.text if goal is not None else f"#{data.get('goal')}"
        elif ev.kind == "owner":
            params["owner"] = names.get(data.get("owner"), _("Unassigned"))
        elif ev.kind == "closure_returned":
            req = requests.get(data.get("request"))
            params["note"] = req.return_note if req is not None else ""
        template = _EVENT_TEXTS.get(ev.kind)
        if ev.kind == "emergency_decided" and data.get("on_time") is False:
            template = _EVENT_TEXTS["emergency_decided_late"]
        try:
            text = str(template) % params if template is not None else ev.kind
        except (KeyError, TypeError, ValueError):
            text = str(template).split(":")[0]
        out.append({"at": ev.at, "who": ev.actor.name if ev.actor else "", "text": text})
    return out


# ---------------------------------------------------------------- actions

def _back(case, anchor=""):
    return redirect(url_for("cases.detail", case_id=case.id) + (f"#{anchor}" if anchor else ""))


def _fail(case, form=None, exc=None, anchor="", keep: str | None = None, item: int | None = None):
    """Refused: say why. With ``keep`` (the page's name of ``form``; with ``item``, the id of the support or
    check the form is about) the page is shown again with what was typed, instead of a redirect losing it."""
    db.session.rollback()
    if exc is not None:
        flash(str(exc), "error")
    else:
        errors = form.errors or {}
        if "csrf_token" in errors:
            msgs = [_("The form has expired. Please submit it again.")]
        else:
            msgs = []
            for name, errs in errors.items():
                label = form[name].label.text if name in form else ""
                msgs += [f"{label}: {e}" if label else str(e) for e in errs]
        flash(" ".join(msgs) or _("Please check the form."), "error")
    if keep and form is not None:
        case = access.load(Case, case.id, "view", options=_DETAIL_OPTIONS)  # the page is read again: audited
        return _page(case, 400, open_block=keep, **{keep: {item: form} if item is not None else form})
    return _back(case, anchor)


def _ok(case, message, anchor=""):
    record(current_user, "update", "case", case.id)
    db.session.commit()
    flash(message, "success")
    return _back(case, anchor)


def _act(case_id: int, form_cls, action: str, do, message, anchor="", keep: str | None = None):
    """Validate ``form_cls``, then ``do(case, form)``; refused, the page comes back with the form (``keep``).
    ``message`` may be a function of what ``do`` returned."""
    case = access.load(Case, case_id, action, audit=False)
    form = form_cls()
    if not form.validate_on_submit():
        return _fail(case, form, anchor=anchor, keep=keep)
    try:
        result = do(case, form)
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor=anchor, keep=keep)
    return _ok(case, message(result) if callable(message) else message, anchor)


def _child(model, child_id, case):
    obj = db.session.get(model, child_id) if 0 < child_id < 2**62 else None
    if obj is None or getattr(obj, "case_id", None) != case.id:
        abort(404)
    return obj


@bp.route("/<int:case_id>/needs", methods=["POST"])
@rule(*EDITORS)
def add_need(case_id):
    return _act(case_id, F.NeedForm, "edit",
                lambda c, f: svc.add_need(c, current_user, f.domain.data, f.level.data, f.description.data),
                _("Need recorded."), "assessment", keep="need_form")


@bp.route("/<int:case_id>/assessment", methods=["POST"])
@rule(*EDITORS)
def assessment(case_id):
    return _act(case_id, F.AssessmentForm, "edit",
                lambda c, f: svc.record_assessment(c, current_user, f.crisis_level.data, f.note.data or ""),
                _("Assessment completed. Selection is next."), "steps", keep="assessment_form")


@bp.route("/<int:case_id>/selection", methods=["POST"])
@rule(*EDITORS)
def selection(case_id):
    return _act(case_id, F.SelectionForm, "edit",
                lambda c, f: svc.record_selection(c, current_user, f.decision.data, f.note.data or ""),
                _selection_message, "steps", keep="selection_form")


def _selection_message(outcome):
    if outcome == "requested":
        return _("Not selected: the closure of the case waits for a team lead's approval.")
    if outcome == "closed":
        return _("Not selected: the case has been closed.")
    return _("Selection recorded.")


@bp.route("/<int:case_id>/goals", methods=["POST"])
@rule(*EDITORS)
def add_goal(case_id):
    return _act(case_id, F.GoalForm, "edit",
                lambda c, f: svc.add_goal(c, current_user, f.domain.data, f.text.data, f.target_on.data),
                _("Goal added."), "plan", keep="goal_form")


@bp.route("/<int:case_id>/goals/<int:goal_id>", methods=["POST"])
@rule(*EDITORS)
def goal_status(case_id, goal_id):
    case = access.load(Case, case_id, "edit", audit=False)
    goal = _child(CaseGoal, goal_id, case)
    form = F.ActionForm()
    status = request.form.get("status", "")
    if not form.validate_on_submit():
        return _fail(case, form, anchor="plan")
    try:
        svc.set_goal_status(case, goal, current_user, status)
    except svc.CaseError as exc:
        return _fail(case, exc=exc, anchor="plan")
    return _ok(case, _("Goal updated."), "plan")


@bp.route("/<int:case_id>/plan", methods=["POST"])
@rule(*EDITORS)
def plan(case_id):
    return _act(case_id, F.PlanForm, "edit", lambda c, f: svc.record_plan(c, current_user, f.plan_text.data),
                _("Service plan completed."), "plan", keep="plan_form")


@bp.route("/<int:case_id>/linkages", methods=["POST"])
@rule(*EDITORS)
def add_linkage(case_id):
    def do(c, f):
        svc.add_linkage(c, current_user, sector=f.sector.data, service_type=f.service_type.data,
                        provider=f.provider.data, status=f.status.data, start_on=f.start_on.data,
                        end_on=f.end_on.data, value_won=f.value_won.data, note=f.note.data or "")
    return _act(case_id, F.LinkageForm, "edit", do, _("Service linkage added."), "linkages", keep="linkage_form")


@bp.route("/<int:case_id>/linkages/<int:link_id>", methods=["POST"])
@rule(*EDITORS)
def linkage_status(case_id, link_id):
    case = access.load(Case, case_id, "edit", audit=False)
    link = _child(ServiceLinkage, link_id, case)
    form = F.LinkageStatusForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="linkages")
    try:
        svc.set_linkage_status(case, link, current_user, form.status.data)
    except svc.CaseError as exc:
        return _fail(case, exc=exc, anchor="linkages")
    return _ok(case, _("Linkage updated."), "linkages")


@bp.route("/<int:case_id>/notes", methods=["POST"])
@rule(*EDITORS)
def add_note(case_id):
    return _act(case_id, F.NoteForm, "notes", lambda c, f: svc.add_note(c, current_user, f.text.data),
                _("Note saved."), "notes", keep="note_form")


@bp.route("/<int:case_id>/conferences", methods=["POST"])
@rule(*EDITORS)
def add_conference(case_id):
    def do(c, f):
        svc.add_conference(c, current_user, held_on=f.held_on.data, attendees=f.attendees.data,
                           agencies=f.agencies.data or [], decisions=f.decisions.data, tasks=f.tasks())
    return _act(case_id, F.ConferenceForm, "notes", do, _("Case conference recorded."), "conferences",
                keep="conference_form")


@bp.route("/<int:case_id>/tasks/<int:task_id>/done", methods=["POST"])
@rule(*EDITORS)
def task_done(case_id, task_id):
    case = access.load(Case, case_id, "notes", audit=False)
    task = db.session.get(ConferenceTask, task_id) if 0 < task_id < 2**62 else None
    if task is None:
        abort(404)
    form = F.ActionForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="conferences")
    try:
        svc.complete_task(case, task, current_user)
    except svc.CaseError:
        abort(404)
    return _ok(case, _("Task marked done."), "conferences")


@bp.route("/<int:case_id>/close", methods=["POST"])
@rule(*EDITORS)
def close(case_id):
    """Closing settles the case's services: refused (the page again, with what was written and why) while an
    emergency support waits for its decision, or while linkages go on and ending them was not chosen.
    A team lead closes at once; a caseworker's closure waits for a team lead's approval (``approve``)."""
    case = access.load(Case, case_id, "edit", audit=False, lock=True)
    form = F.CloseCaseForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="aftercare", keep="close_form")
    direct = access.can(current_user, "approve_closure", case)
    try:
        if direct:
            checks = svc.close_case(case, current_user, form.reason.data, form.note.data or "",
                                    end_linkages=bool(form.end_linkages.data))
        else:
            svc.request_closure(case, current_user, form.reason.data, form.note.data or "",
                                end_linkages=bool(form.end_linkages.data))
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor="aftercare", keep="close_form")
    if not direct:
        return _ok(case, _("Closure requested. A team lead of the dong approves it or returns it."), "aftercare")
    if not checks:  # a closing reason without aftercare (svc.NO_AFTERCARE)
        return _ok(case, _("The case has been closed. No aftercare checks follow for this closing reason."),
                   "aftercare")
    return _ok(case, _("The case has been closed. Aftercare checks are scheduled."), "aftercare")


@bp.route("/<int:case_id>/closure/approve", methods=["POST"])
@rule(TEAM_LEAD)
def approve_closure(case_id):
    case = access.load(Case, case_id, "approve_closure", audit=False, lock=True)
    form = F.ActionForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="aftercare")
    try:
        checks = svc.approve_closure(case, current_user)
    except svc.CaseError as exc:
        return _fail(case, exc=exc, anchor="aftercare")
    if not checks:  # a closing reason without aftercare (svc.NO_AFTERCARE)
        return _ok(case, _("Closure approved: the case has been closed. No aftercare checks follow for this "
                           "closing reason."), "aftercare")
    return _ok(case, _("Closure approved: the case has been closed. Aftercare checks are scheduled."), "aftercare")


@bp.route("/<int:case_id>/closure/return", methods=["POST"])
@rule(TEAM_LEAD)
def return_closure(case_id):
    case = access.load(Case, case_id, "approve_closure", audit=False, lock=True)
    form = F.ReturnClosureForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="aftercare", keep="return_form")
    try:
        svc.return_closure(case, current_user, form.note.data)
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor="aftercare", keep="return_form")
    return _ok(case, _("The closure has been returned; the case stays open."), "aftercare")


@bp.route("/<int:case_id>/closure/withdraw", methods=["POST"])
@rule(*EDITORS)
def withdraw_closure(case_id):
    """The one who asked, or the case's owner, withdraws the closure waiting for a team lead."""
    case = access.load(Case, case_id, "edit", audit=False, lock=True)
    form = F.ActionForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="aftercare")
    try:
        svc.withdraw_closure(case, current_user)
    except svc.CaseError as exc:
        return _fail(case, exc=exc, anchor="aftercare")
    return _ok(case, _("The closure request has been withdrawn; the case stays open. Correct it and ask again "
                       "when the case is ready."), "aftercare")


@bp.route("/<int:case_id>/aftercare/<int:check_id>", methods=["POST"])
@rule(*EDITORS)
def aftercare(case_id, check_id):
    case = access.load(Case, case_id, "edit", audit=False)
    check = _child(AftercareCheck, check_id, case)
    form = F.AftercareForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="aftercare", keep="aftercare_forms", item=check_id)
    try:
        obs = svc.record_aftercare(case, check, current_user, form.outcome.data, form.note.data or "")
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor="aftercare", keep="aftercare_forms", item=check_id)
    if obs is None:
        return _ok(case, _("Aftercare check recorded."), "aftercare")
    obs_id, concern_id = obs.id, obs.concern_id
    record(current_user, "create", "observation", obs_id)
    response = _ok(case, _("Aftercare check recorded. The household's concern #%(n)d is open for the follow-up.",
                           n=concern_id), "aftercare")
    alerting.after_commit([obs_id])
    return response


@bp.route("/<int:case_id>/emergency", methods=["POST"])
@rule(*EDITORS)
def emergency(case_id):
    case = access.load(Case, case_id, "edit", audit=False)
    form = F.EmergencyForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="emergency", keep="emergency_form")
    at = clock.from_seoul_naive(form.reported_at.data) if form.reported_at.data else None
    try:
        es = svc.record_emergency(case, current_user, form.kind.data, at, form.note.data or "")
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor="emergency", keep="emergency_form")
    # The decision clock is the admin's setting (due.emergency.action): the message says when, not "48 hours".
    return _ok(case, _("Emergency welfare support recorded. A decision is due by %(due)s.",
                       due=seoul_datetime(es.decision_due_at)), "emergency")


_DURATION_UNITS = {"m": _l("%(n)d minutes"), "h": _l("%(n)d hours"), "d": _l("%(n)d days"),
                   "wd": _l("%(n)d working days")}


def duration_text(rule_text: str) -> str:
    """A due-time rule ("48h", "2d", "3wd") in words, in the reader's language."""
    try:
        n, unit = settings.parse_duration(rule_text)
    except ValueError:
        return str(rule_text)
    return _DURATION_UNITS[unit] % {"n": n}


@bp.route("/<int:case_id>/emergency/<int:support_id>", methods=["POST"])
@rule(*EDITORS)
def decide(case_id, support_id):
    case = access.load(Case, case_id, "edit", audit=False)
    es = _child(EmergencySupport, support_id, case)
    form = F.DecideForm()
    if not form.validate_on_submit():
        return _fail(case, form, anchor="emergency", keep="decide_forms", item=support_id)
    try:
        svc.decide_emergency(case, es, current_user, form.decision.data, form.amount_won.data or 0,
                             form.note.data or "")
    except svc.CaseError as exc:
        return _fail(case, form, exc=exc, anchor="emergency", keep="decide_forms", item=support_id)
    return _ok(case, _("Decision recorded."), "emergency")


@bp.route("/<int:case_id>/owner", methods=["POST"])
@rule(TEAM_LEAD)
def owner(case_id):
    case = access.load(Case, case_id, "reassign", audit=False)
    form = F.OwnerForm()
    staff = {u.id: u for u in _staff_of(case.dong_id)}
    form.owner_id.choices = [(uid, u.name) for uid, u in staff.items()]
    if not form.validate_on_submit():
        return _fail(case, form)
    case.owner_id = form.owner_id.data
    db.session.add(CaseEvent(case_id=case.id, actor_id=current_user.id, kind="owner", at=clock.now(),
                             data={"owner": case.owner_id}))
    return _ok(case, _("Owner changed to %(name)s.", name=staff[form.owner_id.data].name))
