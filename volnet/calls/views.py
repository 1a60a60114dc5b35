from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

import volnet.calls.policy  # noqa: F401  (registers the access policies)
from volnet.accounts.models import User, user_dongs
from volnet.accounts.roles import CARE_CORPS, CASEWORKER, NURSE, STAFF, TEAM_LEAD, TONG_LEADER, VOLUNTEER
from volnet.audit.services import record
from volnet.calls import forms as F
from volnet.calls import services as svc
from volnet.calls.models import (
    CONTACT_FREQUENCIES,
    TASK_KINDS,
    TIERS,
    CallEnrollment,
    CallRecord,
    CallTask,
)
from volnet.cases import alerting
from volnet.concerns.models import CONTACT_OUTCOMES
from volnet.core import access, clock, nav
from volnet.core.access import rule, visible
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.households import services as households
from volnet.households.models import Household

bp = Blueprint("calls", __name__, url_prefix="/calls")

CALLERS = (CASEWORKER, CARE_CORPS, VOLUNTEER, TONG_LEADER, TEAM_LEAD, NURSE)
MANAGERS = (CASEWORKER, TEAM_LEAD)
nav.register(_l("My calls"), "calls.mine", (CARE_CORPS, VOLUNTEER, TONG_LEADER, CASEWORKER))
nav.register(_l("Safety calls"), "calls.manage", STAFF)
PER_PAGE = 30


@bp.route("/")
@rule(*CALLERS)
def mine():
    """Today's list (Asia/Seoul) for the signed-in caller: minimum data only."""
    tasks = list(db.session.scalars(svc.tasks_for(current_user).options(contains_eager(CallTask.household))
                                    .limit(200)))
    visits = [t for t in tasks if t.kind == "visit"]  # first, in their own section (tasks_for's order)
    return render_template("calls/mine.html", tasks=tasks, visits=visits,
                           calls=[t for t in tasks if t.kind != "visit"], kinds=TASK_KINDS, now=clock.now(),
                           today=clock.seoul_today(), call_again_at=svc.call_again_at)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@rule(*CALLERS)
def task(task_id: int):
    t = access.load(CallTask, task_id, "record", audit=False, options=(joinedload(CallTask.household),))
    if request.method == "GET":  # the page shows name, phone and address: a read (a POST is audited as what it saves)
        record(current_user, "view", "call_tasks", t.id)
    form = F.RecordForm()
    form.outcome.choices = F.outcome_choices(t.kind, phone=bool(t.household.phone))
    if request.method == "GET":
        form.client_token.data = secrets.token_urlsafe(16)
    if request.method == "POST":
        if t.status != "open" and not form.client_token.data:
            flash(_("This call has already been recorded."), "info")
            return redirect(url_for("calls.mine"))
        if form.validate_on_submit():
            try:
                result = svc.record(
                    t, current_user, form.outcome.data, meals=form.meals.data or "", hygiene=form.hygiene.data or "",
                    arrears_2m=form.yes_no(form.arrears_2m.data), distress=form.yes_no(form.distress.data),
                    support_network=form.yes_no(form.support_network.data),
                    contact_frequency=form.contact_frequency.data or "", note=form.note.data or "",
                    client_token=form.client_token.data or None)
            except svc.CallError as exc:
                db.session.rollback()
                if t.status != "open":  # recorded meanwhile: nothing to add what was typed to
                    flash(str(exc), "error")
                    return redirect(url_for("calls.mine"))
                # Refused (a retry too early): the page again with what was typed (the note, the checklist,
                # the outcome) and the reason beside the outcome; the same form may be sent again later.
                form.outcome.errors.append(str(exc))
                return _task_page(t, form, refused=True)
            record(current_user, "create", "call_record", t.household_id)
            db.session.commit()
            alerting.after_commit(result.get("observations", []))
            if result.get("duplicate"):  # the same form again (back button, a second tap): the first stands
                retry = svc.open_retry_after(t)
                if retry is not None:
                    flash(_("This call was already saved. Try again at %(time)s; it is on your list.",
                            time=svc.retry_time(retry.due_at, clock.now())), "info")
                else:
                    flash(_("This call was already saved."), "info")
                return redirect(url_for("calls.mine"))
            if result["emergency"]:
                return render_template("calls/no_response.html", t=t, h=t.household,
                                       key_holders=svc.key_holders(t.enrollment, current_user))
            if result["retry"] is not None:
                flash(_("Saved. Try again at %(time)s; it is on your list.",
                        time=svc.retry_time(result["retry"].due_at, clock.now())), "info")
            elif result["visit"] is not None and result.get("backup") is not None:
                flash(_("Saved. The household was not reached: a visit is now due, and the backup, %(name)s, "
                        "and the dong centre have been told.", name=result["backup"].name), "warning")
            elif result["visit"] is not None:
                flash(_("Saved. The household was not reached: a visit is now due and the dong centre has "
                        "been told."), "warning")
            elif any(a["kind"] == "safety_call_missed" for a in result["alerts"]):
                # Named as they were told: the backup when there is one, else the dong's staff.
                if result.get("backup") is not None:
                    flash(_("Saved. The backup, %(name)s, has been asked to check on them.",
                            name=result["backup"].name), "warning")
                else:
                    flash(_("Saved. The welfare centre staff have been told that the household could not be "
                            "reached."), "warning")
            elif result["observations"]:  # connected, but worrying: the household's concern opened or rose
                flash(_("Saved. The dong centre has been told of your concern."), "info")
            else:
                flash(_("Saved. Thank you."), "success")
            return redirect(url_for("calls.mine"))
        db.session.rollback()
    return _task_page(t, form)


def _task_page(t: CallTask, form, refused: bool = False):
    now = clock.now()
    return render_template("calls/task.html", t=t, h=t.household, form=form, kinds=TASK_KINDS, now=now,
                           call_again=svc.retry_time(t.due_at, now) if t.kind == "retry" else None, refused=refused)


# ---------------------------------------------------------------- staff

def _people(dong_ids, roles):
    return list(db.session.scalars(
        select(User).join(user_dongs, user_dongs.c.user_id == User.id)
        .where(user_dongs.c.dong_id.in_(list(dong_ids) or [-1]), User.role.in_(roles), User.active.is_(True))
        .distinct().order_by(User.name)))


def _people_choices(form, dong_id):
    callers = _people([dong_id], svc.CALLER_ROLES)
    backups = _people([dong_id], svc.BACKUP_ROLES)
    form.caller_id.choices = [(u.id, f"{u.name} ({_role(u.role)})") for u in callers]
    form.backup_id.choices = [(0, _("No backup"))] + [(u.id, f"{u.name} ({_role(u.role)})") for u in backups]
    return {u.id: u for u in callers}, {u.id: u for u in backups}


def _role(role):
    from volnet.accounts.roles import ROLE_LABELS

    return ROLE_LABELS.get(role, role)


@bp.route("/manage")
@rule(*STAFF)
def manage():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = (select(CallEnrollment).where(visible(current_user, CallEnrollment), CallEnrollment.active.is_(True))
            # The page's 30 plans first, then their households and callers by id: joined in, the households
            # made PostgreSQL join every plan of the dong before sorting (a scan of all households, 17 ms).
            .options(selectinload(CallEnrollment.household), selectinload(CallEnrollment.caller),
                     selectinload(CallEnrollment.backup))
            .order_by(CallEnrollment.consecutive_misses.desc(), CallEnrollment.next_due_on, CallEnrollment.id))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    today = clock.seoul_today()
    open_today = dict(db.session.execute(
        select(CallTask.kind, func.count()).where(visible(current_user, CallTask), CallTask.status == "open",
                                                  CallTask.due_on <= today).group_by(CallTask.kind)).all())
    visits = list(db.session.scalars(
        select(CallTask).options(joinedload(CallTask.household))
        .where(visible(current_user, CallTask), CallTask.status == "open", CallTask.kind == "visit")
        .order_by(CallTask.due_at).limit(50)))
    return render_template("calls/manage.html", pagination=pagination, args={}, tiers=TIERS, kinds=TASK_KINDS,
                           open_today=open_today, visits=visits, now=clock.now(), action_form=F.ActionForm(),
                           can_manage=current_user.role in MANAGERS)


@bp.route("/prepare", methods=["POST"])
@rule(*MANAGERS)
def prepare():
    form = F.ActionForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
        return redirect(url_for("calls.manage"))
    n = svc.ensure_tasks(dong_ids=current_user.dong_ids)
    db.session.commit()
    flash(_("%(n)d calls added to today's lists.", n=n), "success")
    return redirect(url_for("calls.manage"))


@bp.route("/enroll", methods=["GET", "POST"])
@rule(*MANAGERS)
def enroll():
    q = request.args.get("q", "")[:100]
    form = F.EnrollForm()
    household = None
    hid = request.values.get("household_id", "")
    if hid:
        # Locked when enrolling: two staff enrolling one household at once take turns, and the second is
        # told it is enrolled already (instead of a failed insert).
        household = access.load(Household, hid, "edit", lock=request.method == "POST")
        callers, backups = _people_choices(form, household.dong_id)
    results = list(db.session.scalars(households.staff_query(current_user, q).limit(20))) if q and not household else []
    # Households already on safety calls are marked (with their plan's page, for who may see it), and the
    # form of such a household says so instead of offering a caller.
    ids = [r.id for r in results] + ([household.id] if household is not None else [])
    enrolled = {row.household_id: row for row in db.session.execute(
        select(CallEnrollment.household_id, CallEnrollment.id,
               visible(current_user, CallEnrollment).label("may_see"))
        .where(CallEnrollment.household_id.in_(ids), CallEnrollment.active.is_(True)))} if ids else {}
    if request.method == "POST" and household is not None:
        if form.validate_on_submit():
            caller = callers.get(form.caller_id.data)
            backup = backups.get(form.backup_id.data) if form.backup_id.data else None
            try:
                if caller is None:
                    raise svc.CallError(_l("Choose one of the offered options."))
                if not household.phone and not form.visits_instead.data:
                    # A safety call needs a number: without one the caller's list would offer only
                    # "no answer", and the misses would pile up. The caller may visit instead.
                    raise svc.CallError(_l("This household has no phone number to call. Add it on the household "
                                           "page, or tick “The caller visits instead” to enroll it for visits."))
                enr = svc.enroll(current_user, household, caller, backup)
                svc.ensure_tasks(enrollment_ids=[enr.id])  # its first call; the dong's others are the sweep's
            except svc.CallError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                record(current_user, "create", "call_enrollment", household.id)
                db.session.commit()
                if household.phone:
                    flash(_("Enrolled. The first call is on %(name)s's list today.", name=caller.name), "success")
                else:
                    flash(_("Enrolled for visits (no phone number). The first visit is on %(name)s's list today.",
                            name=caller.name), "success")
                return redirect(url_for("calls.enrollment", enrollment_id=enr.id))
        else:
            db.session.rollback()
    if household is not None:
        form.household_id.data = str(household.id)
    return render_template("calls/enroll.html", form=form, household=household, q=q, results=results, tiers=TIERS,
                           cadence=svc.cadence_days(household.tier) if household else None, enrolled=enrolled)


@bp.route("/enrollments/<int:enrollment_id>")
@rule(*STAFF)
def enrollment(enrollment_id: int):
    enr = access.load(CallEnrollment, enrollment_id, "view", options=(
        joinedload(CallEnrollment.household), joinedload(CallEnrollment.caller).load_only(User.id, User.name),
        joinedload(CallEnrollment.backup).load_only(User.id, User.name)))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    records = db.paginate(select(CallRecord).options(joinedload(CallRecord.caller))
                          .where(CallRecord.household_id == enr.household_id)
                          .order_by(CallRecord.at.desc(), CallRecord.id.desc()), page=page, per_page=PER_PAGE,
                          error_out=False)
    open_tasks = list(db.session.scalars(select(CallTask).where(CallTask.enrollment_id == enr.id,
                                                               CallTask.status == "open").order_by(CallTask.due_at)))
    form = F.PeopleForm(caller_id=enr.caller_id, backup_id=enr.backup_id or 0)
    _people_choices(form, enr.dong_id)
    return render_template("calls/enrollment.html", enr=enr, h=enr.household, records=records, open_tasks=open_tasks,
                           tiers=TIERS, kinds=TASK_KINDS, outcomes=CONTACT_OUTCOMES, frequencies=CONTACT_FREQUENCIES,
                           cadence=svc.cadence_days(enr.household.tier), form=form, action_form=F.ActionForm(),
                           can_manage=access.can(current_user, "manage", enr), args={"enrollment_id": enr.id})


@bp.route("/enrollments/<int:enrollment_id>/people", methods=["POST"])
@rule(*MANAGERS)
def people(enrollment_id: int):
    enr = access.load(CallEnrollment, enrollment_id, "manage", audit=False)
    form = F.PeopleForm()
    callers, backups = _people_choices(form, enr.dong_id)
    if form.validate_on_submit():
        try:
            svc.change_people(enr, callers[form.caller_id.data], backups.get(form.backup_id.data))
        except (svc.CallError, KeyError) as exc:
            db.session.rollback()
            flash(str(exc) if isinstance(exc, svc.CallError) else _("Choose one of the offered options."), "error")
        else:
            record(current_user, "update", "call_enrollment", enr.household_id)
            db.session.commit()
            flash(_("Saved."), "success")
    else:
        db.session.rollback()
        flash(_("Please check the form."), "error")
    return redirect(url_for("calls.enrollment", enrollment_id=enr.id))


@bp.route("/enrollments/<int:enrollment_id>/end", methods=["POST"])
@rule(*MANAGERS)
def end(enrollment_id: int):
    enr = access.load(CallEnrollment, enrollment_id, "manage", audit=False)
    form = F.ActionForm()
    if not form.validate_on_submit() or not enr.active:
        db.session.rollback()
        flash(_("Please check the form."), "error")
        return redirect(url_for("calls.enrollment", enrollment_id=enr.id))
    svc.end_enrollment(enr, current_user)
    record(current_user, "update", "call_enrollment", enr.household_id)
    db.session.commit()
    flash(_("Safety calls for this household have ended."), "success")
    return redirect(url_for("calls.manage"))
