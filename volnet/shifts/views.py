"""Shift pages: coordinators schedule, volunteers sign up on their phones and report from the door."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import String, case, cast, not_, select
from sqlalchemy.orm import joinedload

from volnet.accounts.roles import COORDINATOR, VOLUNTEER
from volnet.audit.services import record, record_many
from volnet.core import access, clock, nav
from volnet.core.access import rule, visible
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.sql import upsert
from volnet.core.web import seoul_datetime
from volnet.extensions import db
from volnet.households.key_holders import key_holders_for
from volnet.households.models import Household
from volnet.places.models import Dong
from volnet.shifts import ical, recurrence
from volnet.shifts import policy as _policy  # noqa: F401  (registers the access rules)
from volnet.shifts import services as svc
from volnet.shifts.forms import (
    ActionForm,
    AddVolunteerForm,
    CancelForm,
    CopyMonthForm,
    MessageForm,
    OccurrenceForm,
    OutcomeForm,
    ProfileForm,
    ProgramForm,
    SeriesForm,
    ShiftForm,
    StopForm,
)
from volnet.shifts.models import (
    OUTCOMES,
    REQUIREMENTS,
    SERVICES,
    SIGNUP_STATUSES,
    Program,
    RouteStop,
    ShiftOccurrence,
    ShiftSeries,
    Signup,
    VolunteerProfile,
)

bp = Blueprint("shifts", __name__, url_prefix="/shifts")
# The door outcomes' names for the concern timeline (a volunteer's corrected report), from their one place.
bp.add_app_template_global(OUTCOMES, "door_outcomes")

nav.register(_l("Shifts"), "shifts.browse", (VOLUNTEER,))
nav.register(_l("My shifts"), "shifts.mine", (VOLUNTEER,))
nav.register(_l("Shifts"), "shifts.coordinator_home", (COORDINATOR,))

PER_PAGE = 20


def _ctx(**kw):
    return dict(services=SERVICES, requirements=REQUIREMENTS, outcomes=OUTCOMES, signup_statuses=SIGNUP_STATUSES,
                describe=recurrence.describe, now=clock.now(), **kw)


def _form_errors(form) -> str:
    if "csrf_token" in (form.errors or {}):
        return _("The form has expired. Please submit it again.")
    msgs = [str(e) for errs in (form.errors or {}).values() for e in errs]
    return " ".join(msgs) or _("Please check the form.")


def _seoul(day: date, t) -> datetime:
    return datetime.combine(day, t).replace(tzinfo=clock.SEOUL).astimezone(UTC)


def _times(form) -> tuple[datetime, datetime]:
    start = _seoul(form.date.data, form.start_time.data)
    end = _seoul(form.date.data, form.end_time.data)
    if end <= start:  # an evening shift past midnight is not a use case; say so clearly
        raise svc.ShiftError(_l("The end time must be after the start time."))
    return start, end


# =========================================================================== volunteer

@bp.route("/")
@rule(VOLUNTEER, COORDINATOR)
def browse():
    """Open shifts, soonest first, with date, service, dong and requirement filters."""
    args = request.args
    now = clock.now()
    stmt = (select(ShiftOccurrence).join(Program, ShiftOccurrence.program_id == Program.id)
            .options(joinedload(ShiftOccurrence.program).joinedload(Program.dong))
            .where(visible(current_user, ShiftOccurrence), Program.active.is_(True),
                   ShiftOccurrence.status == "scheduled", ShiftOccurrence.starts_at > now))
    start_day = None
    if args.get("from"):
        try:
            start_day = date.fromisoformat(args["from"][:10])
        except ValueError:
            flash(_("Enter a real date."), "error")
    if start_day:
        stmt = stmt.where(ShiftOccurrence.starts_at >= _seoul(start_day, datetime.min.time()))
    if args.get("service") in SERVICES:
        stmt = stmt.where(Program.service == args["service"])
    dong_id = args.get("dong", type=int)
    if dong_id:
        stmt = stmt.where(Program.dong_id == dong_id)
    req_text = cast(ShiftOccurrence.requirements, String)
    need = args.get("need", "")
    if need == "no_car":
        stmt = stmt.where(not_(req_text.like('%"car"%')))
    elif need == "car":
        stmt = stmt.where(req_text.like('%"car"%'))
    elif need == "women_only":
        stmt = stmt.where(req_text.like('%"women_only"%'))
    if args.get("open") == "1":
        stmt = stmt.where(ShiftOccurrence.filled < ShiftOccurrence.capacity)
    stmt = stmt.order_by(ShiftOccurrence.starts_at, ShiftOccurrence.id)
    page = max(args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    mine, blocked = {}, {}
    ids = [o.id for o in pagination.items]
    if ids:
        mine = dict(db.session.execute(select(Signup.occurrence_id, Signup.status).where(
            Signup.volunteer_id == current_user.id, Signup.occurrence_id.in_(ids))).all())
        if access.has_role(current_user, (VOLUNTEER,)):
            profile = svc.profile_of(current_user)
            blocked = {o.id: why for o in pagination.items
                       if mine.get(o.id) not in svc.ACTIVE
                       and (why := svc.requirement_problem(o, current_user, profile)) is not None}
    dongs = list(db.session.scalars(select(Dong).where(Dong.id.in_(
        select(Program.dong_id).where(Program.active.is_(True)))).order_by(Dong.name)))
    keep = {k: v for k, v in args.items() if k != "page" and v}
    return render_template("shifts/browse.html", **_ctx(pagination=pagination, mine=mine, blocked=blocked, dongs=dongs,
                                                        args=keep))


@bp.route("/<int:occ_id>")
@rule(VOLUNTEER, COORDINATOR)
def detail(occ_id: int):
    occ = access.load(ShiftOccurrence, occ_id, "view")
    signup = db.session.scalar(select(Signup).where(Signup.occurrence_id == occ.id,
                                                    Signup.volunteer_id == current_user.id))
    waiting = None
    if signup is not None and signup.status == "waitlisted":
        waiting = db.session.scalar(select(db.func.count()).select_from(Signup).where(
            Signup.occurrence_id == occ.id, Signup.status == "waitlisted",
            (Signup.queued_at < signup.queued_at) | ((Signup.queued_at == signup.queued_at) & (Signup.id < signup.id))
        )) + 1
    blocked = None
    if (access.has_role(current_user, (VOLUNTEER,)) and occ.status == "scheduled" and occ.starts_at > clock.now()
            and (signup is None or signup.status not in svc.ACTIVE)):
        blocked = svc.signup_problem(occ, current_user)
    # "Yes, I'm coming" from the time the first reminder goes out: the in-app copy of a reminder leads here.
    confirm_open = clock.now() >= svc.confirm_opens_at(occ)
    return render_template("shifts/detail.html", **_ctx(
        occ=occ, signup=signup, waiting=waiting, blocked=blocked, form=ActionForm(), cutoff=svc.cutoff_of(occ),
        confirm_open=confirm_open,
        can_route=svc.may_see_route(current_user, occ), manage=svc.is_coordinator_of(current_user, occ.program),
        route_from=svc.route_window(occ)[0], contacts=svc.contacts_for(occ.program)))


@bp.route("/<int:occ_id>/signup", methods=["POST"])
@rule(VOLUNTEER)
def signup(occ_id: int):
    occ = access.load(ShiftOccurrence, occ_id, "view", audit=False)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.detail", occ_id=occ.id))
    try:
        s = svc.sign_up(occ, current_user)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.detail", occ_id=occ_id))
    db.session.commit()
    _dispatch()
    if s.status == "confirmed":
        flash(_("You are signed up. See you there!"), "success")
    else:
        flash(_("The shift is full. You are on the waiting list and will be told if a place opens."), "info")
    return redirect(url_for("shifts.detail", occ_id=occ_id))


def _own_signup(signup_id: int) -> Signup:
    return access.load(Signup, signup_id, "own", audit=False)


@bp.route("/signups/<int:signup_id>/cancel", methods=["POST"])
@rule(VOLUNTEER)
def cancel(signup_id: int):
    s = _own_signup(signup_id)
    return _cancel(s, offer=False)


@bp.route("/signups/<int:signup_id>/confirm", methods=["POST"])
@rule(VOLUNTEER)
def confirm(signup_id: int):
    """ "Yes, I'm coming" on the shift page (signed in), as on the reminder link's page."""
    s = _own_signup(signup_id)
    back = url_for("shifts.detail", occ_id=s.occurrence_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(back)
    try:
        svc.confirm_attendance_intent(s)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Thank you, you are confirmed."), "success")
    return redirect(back)


@bp.route("/signups/<int:signup_id>/offer", methods=["POST"])
@rule(VOLUNTEER)
def offer(signup_id: int):
    s = _own_signup(signup_id)
    return _cancel(s, offer=True)


def _cancel(s: Signup, offer: bool, back: str | None = None):
    form = ActionForm()
    occ_id = s.occurrence_id
    back = back or url_for("shifts.detail", occ_id=occ_id)
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(back)
    try:
        promoted = svc.cancel_signup(s, current_user if current_user.is_authenticated else s.volunteer, offer=offer)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(back)
    db.session.commit()
    _dispatch()
    if offer and promoted is not None:  # never the other volunteer's name: this page may be the no-login one
        flash(_("Thank you for telling us. The next person on the waiting list takes your place."), "success")
    else:
        flash(_("Your place is cancelled."), "success")
    return redirect(back)


@bp.route("/mine")
@rule(VOLUNTEER)
def mine():
    now = clock.now()
    base = (select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
            .options(joinedload(Signup.occurrence).joinedload(ShiftOccurrence.program))
            .where(Signup.volunteer_id == current_user.id))
    coming = base.where(ShiftOccurrence.ends_at >= now, Signup.status.in_(svc.ACTIVE)).order_by(ShiftOccurrence.starts_at)
    upcoming = list(db.session.scalars(coming.where(ShiftOccurrence.status == "scheduled").limit(100)))
    # Cancelled by the organizer: shown apart, greyed, so nobody goes to a shift that is not happening.
    called_off = list(db.session.scalars(coming.where(ShiftOccurrence.status == "cancelled").limit(20)))
    # Places the organizer took away (the coordinator took the volunteer off, or paused the program): listed
    # with them, with the reason given, so a shift does not just vanish from the volunteer's calendar.
    taken_off = list(db.session.scalars(
        base.where(ShiftOccurrence.ends_at >= now, Signup.status == "cancelled",
                   Signup.cancelled_by.in_(("removed", "paused")))
        .order_by(ShiftOccurrence.starts_at).limit(20)))
    called_off = sorted(called_off + taken_off, key=lambda s: (s.occurrence.starts_at, s.id))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    past = db.paginate(base.where(ShiftOccurrence.ends_at < now, Signup.status == "confirmed")
                       .order_by(ShiftOccurrence.starts_at.desc()), page=page, per_page=10, error_out=False)
    prof = svc.profile_of(current_user)
    return render_template("shifts/mine.html", **_ctx(
        upcoming=upcoming, called_off=called_off, past=past, hours=svc.monthly_hours(current_user), form=ActionForm(),
        profile_form=ProfileForm(has_car=prof.has_car, sex=prof.sex), has_calendar=svc.has_calendar(current_user),
        feed_url=None, route_ok={s.occurrence_id: svc.may_see_route(current_user, s.occurrence) for s in upcoming}))


@bp.route("/profile", methods=["POST"])
@rule(VOLUNTEER)
def profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.mine"))
    # One statement: a double tap on the first save does not collide with itself.
    upsert(VolunteerProfile, ["user_id"], {"user_id": current_user.id, "has_car": bool(form.has_car.data),
                                           "sex": form.sex.data})
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("shifts.mine"))


@bp.route("/calendar", methods=["POST"])
@rule(VOLUNTEER)
def calendar_new():
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.mine"))
    token = svc.new_calendar_token(current_user)
    record(current_user, "create", "shift_calendar_token", current_user.id)
    db.session.commit()
    feed = url_for("shifts.feed", token=token, _external=True)
    return render_template("shifts/calendar_created.html", feed_url=feed,
                           webcal=feed.replace("https://", "webcal://").replace("http://", "webcal://"))


@bp.route("/calendar/revoke", methods=["POST"])
@rule(VOLUNTEER)
def calendar_revoke():
    form = ActionForm()
    if form.validate_on_submit():
        svc.revoke_calendar(current_user)
        record(current_user, "revoke", "shift_calendar_token", current_user.id)
        db.session.commit()
        flash(_("The calendar link no longer works."), "success")
    else:
        flash(_form_errors(form), "error")
    return redirect(url_for("shifts.mine"))


def _ics_response(body: bytes, filename: str):
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/feed/<token>.ics")
@rule(public=True)
def feed(token: str):
    user = svc.user_for_calendar_token(token)
    if user is None:
        abort(404)
    events = [ical.signup_event(s, request.host or "volnet") for s in svc.feed_signups(user)]
    return _ics_response(ical.calendar(events, name="volnet " + _("Shifts")), "volnet-shifts.ics")


@bp.route("/<int:occ_id>.ics")
@rule(VOLUNTEER, COORDINATOR)
def occurrence_ics(occ_id: int):
    occ = access.load(ShiftOccurrence, occ_id, "view", audit=False)
    s = db.session.scalar(select(Signup).where(Signup.occurrence_id == occ.id, Signup.volunteer_id == current_user.id))
    ev = ical.signup_event(s, request.host or "volnet") if s else ical.occurrence_event(occ, request.host or "volnet")
    return _ics_response(ical.calendar([ev]), f"shift-{occ.id}.ics")


@bp.route("/hours.csv")
@rule(VOLUNTEER)
def my_hours_csv():
    from volnet.security.throttle import throttle_export

    if not throttle_export(current_user):
        abort(429)
    rows = svc.attended_rows(volunteer_ids=[current_user.id])
    resp = make_response(svc.hours_csv(rows, with_person=False))
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = 'attachment; filename="volunteer-hours.csv"'
    return resp


# --------------------------------------------------------------------------- reminder link (no login)

@bp.route("/r/<token>", methods=["GET"])
@rule(public=True)
def reminder(token: str):
    s = _reminder_signup(token)
    return render_template("shifts/reminder.html", **_ctx(s=s, occ=s.occurrence, token=token, form=ActionForm(),
                                                          cutoff=svc.cutoff_of(s.occurrence),
                                                          waiting=_waiting_count(s.occurrence),
                                                          contacts=svc.contacts_for(s.occurrence.program)))


def _reminder_signup(token: str) -> Signup:
    """The sign-up of a reminder link (no login). The link stops working once the shift is over."""
    s = svc.signup_for_token(token)
    if s is None:
        abort(404)
    if s.occurrence.ends_at <= clock.now():
        abort(make_response(render_template("shifts/reminder_expired.html"), 410))
    return s


def _waiting_count(occ: ShiftOccurrence) -> int:
    return db.session.scalar(select(db.func.count()).select_from(Signup).where(
        Signup.occurrence_id == occ.id, Signup.status == "waitlisted")) or 0


@bp.route("/r/<token>/confirm", methods=["POST"])
@rule(public=True)
def reminder_confirm(token: str):
    s = _reminder_signup(token)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.reminder", token=token))
    try:
        svc.confirm_attendance_intent(s)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.reminder", token=token))
    db.session.commit()
    flash(_("Thank you, you are confirmed."), "success")
    return redirect(url_for("shifts.reminder", token=token))


@bp.route("/r/<token>/cancel", methods=["GET", "POST"])
@rule(public=True)
def reminder_cancel(token: str):
    """ "I can't come" from the reminder: first say what happens to the place, then cancel on a second tap."""
    s = _reminder_signup(token)
    if request.method == "POST" and request.form.get("confirm") == "1":
        return _cancel(s, offer=True, back=url_for("shifts.reminder", token=token))
    if request.method == "POST":
        return redirect(url_for("shifts.reminder_cancel", token=token))
    occ = s.occurrence
    return render_template("shifts/reminder_cancel.html", **_ctx(
        s=s, occ=occ, token=token, form=ActionForm(), cutoff=svc.cutoff_of(occ), waiting=_waiting_count(occ),
        contacts=svc.contacts_for(occ.program)))


# --------------------------------------------------------------------------- at the shift

@bp.route("/<int:occ_id>/route")
@rule(VOLUNTEER, COORDINATOR)
def route(occ_id: int):
    occ = access.load(ShiftOccurrence, occ_id, "route")
    stops = svc.stops_of(occ)
    record_many(current_user, "view", "households", [st.household_id for st in stops], f"shift route {occ.id}")
    # A door nobody opened: whom to call besides 112/119 (the key holder, DOMAIN.md).
    key_holders = key_holders_for([st.household for st in stops if st.outcome == "no_answer"])
    return render_template("shifts/route.html", **_ctx(occ=occ, stops=stops, form=OutcomeForm(),
                                                       window=svc.route_window(occ),
                                                       outcomes_from=svc.outcomes_open_at(occ),
                                                       contacts=svc.contacts_for(occ.program),
                                                       key_holders_of=key_holders))


@bp.route("/stops/<int:stop_id>/outcome", methods=["POST"])
@rule(VOLUNTEER, COORDINATOR)
def stop_outcome(stop_id: int):
    # Locked: two volunteers of one route recording the same stop at once take turns.
    stop = access.load(RouteStop, stop_id, "record", audit=False, lock=True)
    form = OutcomeForm()
    back = url_for("shifts.route", occ_id=stop.occurrence_id) + f"#stop-{stop.id}"
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(back)
    corrects = stop.observation_id is not None and stop.outcome != form.outcome.data
    try:
        obs = svc.record_outcome(stop, current_user, form.outcome.data)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(back)
    record(current_user, "update", "shift_route_stops", stop.id)
    db.session.commit()
    if obs is not None:
        _after_observation(obs)
    if corrects:
        flash(_("Corrected. The dong welfare centre sees that your earlier report from this door no longer holds."),
              "info")
    if form.outcome.data == "concern":
        h = stop.household
        if access.can(current_user, "report", h):
            flash(_("Noted for the dong welfare centre. Add what you saw, if you can."), "success")
            # ``stop``: the sent page leads back to this route (observations.views.sent)
            return redirect(url_for("observations.new", household_id=h.id, stop=stop.id))
        flash(_("Noted for the dong welfare centre."), "success")
    elif form.outcome.data == "no_answer":
        flash(_("No answer noted. The dong welfare centre will check on this household."), "success")
    else:
        flash(_("Saved."), "success")
    return redirect(back)


def _after_observation(obs) -> None:
    try:
        from volnet.notifications import hooks
    except ImportError:
        return
    fn = getattr(hooks, "observation_submitted", None)
    if fn is not None:
        fn(obs.id)


def _dispatch() -> None:
    notes = svc._notifications()
    if notes is not None and hasattr(notes, "after_commit_dispatch"):
        notes.after_commit_dispatch()


def _held(message: str) -> str:
    """``message`` (the volunteers were told), and when the texts just written wait for the end of the quiet
    hours, when they go out and to call if it is urgent: the in-app copy has gone, the text has not."""
    notes = svc._notifications()
    at = notes.held_until() if notes is not None else None
    if at is None:
        return message
    return message + " " + _("Text messages and KakaoTalk go out when the quiet hours end, at %(time)s. If it is "
                             "urgent, call them.", time=seoul_datetime(at))


# =========================================================================== coordinator

def _org_dong_choices():
    return [(d.id, d.full_name) for d in current_user.dongs if d.active]


@bp.route("/coordinator")
@rule(COORDINATOR)
def coordinator_home():
    programs = svc.org_programs(current_user)
    today = clock.seoul_today()
    nxt = (today.replace(day=28) + timedelta(days=5)).replace(day=1)
    return render_template("shifts/coordinator.html", **_ctx(
        programs=programs, stats=svc.coordinator_stats(current_user), copy_form=CopyMonthForm(month=f"{nxt:%Y-%m}"),
        this_month=f"{today:%Y-%m}"))


def _program_for_manage(program_id: int) -> Program:
    return access.load(Program, program_id, "manage", audit=False)


@bp.route("/programs/new", methods=["GET", "POST"])
@rule(COORDINATOR)
def program_new():
    if current_user.organization_id is None:
        flash(_("Your account is not tied to an organization yet. Ask your administrator."), "error")
        return redirect(url_for("shifts.coordinator_home"))
    form = ProgramForm()
    form.dong_id.choices = _org_dong_choices()
    if form.validate_on_submit():
        p = Program(organization_id=current_user.organization_id, created_at=clock.now())
        form.populate_obj(p)
        db.session.add(p)
        db.session.flush()
        record(current_user, "create", "shift_programs", p.id)
        db.session.commit()
        flash(_("Program created. Now add its shifts."), "success")
        return redirect(url_for("shifts.program", program_id=p.id))
    return render_template("shifts/program_form.html", form=form, program=None), 400 if form.errors else 200


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@rule(COORDINATOR)
def program_edit(program_id: int):
    p = _program_for_manage(program_id)
    form = ProgramForm(obj=p)
    form.dong_id.choices = _org_dong_choices()
    if p.dong_id not in dict(form.dong_id.choices):
        form.dong_id.choices.append((p.dong_id, p.dong.full_name))
    if form.validate_on_submit():
        pausing = p.active and not form.active.data
        if pausing:
            people, shifts = svc.upcoming_signup_counts(p)
            if people and request.form.get("confirm_pause") != "1":  # say what pausing does, then ask again
                return render_template("shifts/program_form.html", form=form, program=p,
                                       pause_warning={"people": people, "shifts": shifts})
        form.populate_obj(p)
        cancelled = told = 0
        if pausing:
            reason = " ".join((request.form.get("pause_reason") or "").split())[:300]
            cancelled, told = svc.pause_program(p, current_user, reason)
        record(current_user, "update", "shift_programs", p.id, detail=f"paused, {cancelled} places cancelled"
               if pausing else "")
        db.session.commit()
        _dispatch()
        if cancelled:
            flash(_held(_("Saved. The program is paused: %(n)d places on its upcoming shifts were cancelled, and "
                          "each of the %(people)d volunteers was sent one message.", n=cancelled, people=told)),
                  "success")
        else:
            flash(_("Saved."), "success")
        return redirect(url_for("shifts.program", program_id=p.id))
    return render_template("shifts/program_form.html", form=form, program=p), 400 if form.errors else 200


@bp.route("/programs/<int:program_id>")
@rule(COORDINATOR)
def program(program_id: int):
    p = _program_for_manage(program_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    past = request.args.get("past") == "1"
    now = clock.now()
    stmt = select(ShiftOccurrence).where(ShiftOccurrence.program_id == p.id)
    stmt = (stmt.where(ShiftOccurrence.ends_at < now).order_by(ShiftOccurrence.starts_at.desc()) if past else
            stmt.where(ShiftOccurrence.ends_at >= now).order_by(ShiftOccurrence.starts_at))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    series = list(db.session.scalars(select(ShiftSeries).where(ShiftSeries.program_id == p.id)
                                     .order_by(ShiftSeries.ended, ShiftSeries.id)))
    return render_template("shifts/program.html", **_ctx(
        p=p, pagination=pagination, series=series, past=past, message_form=MessageForm(), form=ActionForm(),
        args={"past": "1"} if past else {}))


@bp.route("/programs/<int:program_id>/shifts/new", methods=["GET", "POST"])
@rule(COORDINATOR)
def shift_new(program_id: int):
    p = _program_for_manage(program_id)
    form = ShiftForm()
    if request.method == "GET":
        form.date.data = clock.seoul_today() + timedelta(days=7)
    error = None
    if form.validate_on_submit():
        try:
            start, end = _times(form)
            kind = form.repeat.data
            common = dict(meeting_place=form.meeting_place.data or "", capacity=form.capacity.data,
                          requirements=form.requirements.data or [], note=form.note.data or "")
            if form.until.data and form.until.data < form.date.data:
                raise svc.ShiftError(_l("The repeat end date is before the first date."))
            if kind == "once":
                occ = svc.create_one_off(p, current_user, start, end, **common)
                target = url_for("shifts.manage", occ_id=occ.id)
            else:
                rule_text = (form.rrule.data or "") if kind == "custom" else recurrence.build_rule(
                    kind, form.date.data, form.until.data)
                if kind == "custom" and form.until.data and "UNTIL" not in rule_text.upper() \
                        and "COUNT" not in rule_text.upper():
                    rule_text += f";UNTIL={form.until.data:%Y%m%d}T235959"
                series = svc.create_series(p, current_user, start, end, rule_text, **common)
                target = url_for("shifts.program", program_id=p.id)
                flash(_("Repeating shift created: %(rule)s.", rule=recurrence.describe(series.rrule)), "success")
            record(current_user, "create", "shift_occurrences", p.id)
            db.session.commit()
            if kind == "once":
                flash(_("Shift created. You can add the households of its route now."), "success")
            return redirect(target)
        except (svc.ShiftError, recurrence.RuleError) as exc:
            db.session.rollback()
            error = str(exc.args[0])
    elif request.method == "POST":
        error = _form_errors(form)
    status = 400 if request.method == "POST" else 200
    return render_template("shifts/shift_form.html", **_ctx(form=form, p=p, error=error, occ=None)), status


def _occ_for_manage(occ_id: int, lock: bool = False) -> ShiftOccurrence:
    """``lock``: changes to the occurrence's route wait for each other (a double tap, two coordinators)."""
    return access.load(ShiftOccurrence, occ_id, "manage", audit=False, lock=lock)


@bp.route("/<int:occ_id>/manage")
@rule(COORDINATOR)
def manage(occ_id: int):
    occ = _occ_for_manage(occ_id)
    signups = list(db.session.scalars(
        select(Signup).options(joinedload(Signup.volunteer), joinedload(Signup.stepped_in_for))
        # Who is coming, then the waiting list, then the places cancelled (taken off, or given up) last.
        .where(Signup.occurrence_id == occ.id)
        .order_by(case((Signup.status == "cancelled", 1), else_=0), Signup.status, Signup.queued_at, Signup.id)))
    q = request.args.get("hq", "")[:100].strip()
    results = svc.households_for_route(current_user, q) if q else []
    stops = svc.stops_of(occ)
    # Whose details the coordinator saw (QUALITY: log whose personal data each user viewed), as the route page
    record_many(current_user, "view", "households", [st.household_id for st in stops], f"shift manage {occ.id}")
    if q:  # the query itself may be a name or an address: not written down, only that a search was made
        record(current_user, "search", "households", None, detail=f"shift route search {occ.id}: {len(results)} found")
        record_many(current_user, "view", "households", [h.id for h in results], f"shift route search {occ.id}")
    started = occ.starts_at <= clock.now()
    on_shift = {s.volunteer_id for s in signups if s.status in svc.ACTIVE}
    # A volunteer who phoned in goes onto a free place only: a full shift offers no search, it says it is full.
    # Found by name or phone digits (vq) among those the organization may sign up, the first 10 and how many.
    can_add = occ.status == "scheduled" and not started and occ.program.active
    vq = " ".join(request.args.get("vq", "")[:60].split())
    addable = (svc.find_volunteers(occ.program.organization_id, vq, exclude_ids=on_shift)
               if can_add and occ.open_places > 0 else svc.Matches([], 0))
    return render_template("shifts/manage.html", **_ctx(
        occ=occ, signups=signups, stops=stops, form=ActionForm(), stop_form=StopForm(),
        cancel_form=CancelForm(), message_form=MessageForm(), hq=q, results=results,
        started=started, can_add=can_add, addable=addable, vq=vq, add_form=AddVolunteerForm()))


@bp.route("/<int:occ_id>/edit", methods=["GET", "POST"])
@rule(COORDINATOR)
def occ_edit(occ_id: int):
    occ = _occ_for_manage(occ_id)
    form = OccurrenceForm(obj=occ)
    if request.method == "GET":
        local_s, local_e = clock.to_seoul(occ.starts_at), clock.to_seoul(occ.ends_at)
        form.date.data, form.start_time.data, form.end_time.data = local_s.date(), local_s.time(), local_e.time()
    error = None
    if form.validate_on_submit():
        try:
            start, end = _times(form)
            changed = svc.update_occurrence(occ, current_user, starts_at=start, ends_at=end,
                                            meeting_place=form.meeting_place.data or "", capacity=form.capacity.data,
                                            requirements=form.requirements.data or [], note=form.note.data or "")
            record(current_user, "update", "shift_occurrences", occ.id)
            db.session.commit()
            _dispatch()
            if changed == "told":
                flash(_held(_("Saved. Everyone on the shift has been told.")), "success")
            elif changed:
                flash(_("Saved. Only a new time or meeting place is sent to the volunteers; to tell them "
                        "anything else, send them a message."), "success")
            else:
                flash(_("Nothing changed."), "success")
            return redirect(url_for("shifts.manage", occ_id=occ.id))
        except svc.ShiftError as exc:
            db.session.rollback()
            error = str(exc.args[0])
    elif request.method == "POST":
        error = _form_errors(form)
    status = 400 if request.method == "POST" else 200
    return render_template("shifts/shift_form.html", **_ctx(form=form, p=occ.program, error=error, occ=occ)), status


@bp.route("/<int:occ_id>/cancel", methods=["POST"])
@rule(COORDINATOR)
def occ_cancel(occ_id: int):
    occ = _occ_for_manage(occ_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    try:
        svc.cancel_occurrence(occ, current_user, form.reason.data or "")
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    record(current_user, "cancel", "shift_occurrences", occ.id)
    db.session.commit()
    _dispatch()
    flash(_held(_("The shift is cancelled and everyone on it has been told.")), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id))


@bp.route("/signups/<int:signup_id>/remove", methods=["POST"])
@rule(COORDINATOR)
def signup_remove(signup_id: int):
    """The coordinator takes a volunteer off the shift ("no longer coming"); the waiting list moves up."""
    s = access.load(Signup, signup_id, "manage", audit=False)
    occ_id, name = s.occurrence_id, s.volunteer.name
    back = url_for("shifts.manage", occ_id=occ_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(back)
    try:
        promoted = svc.remove_volunteer(s, current_user, form.reason.data or "")
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(back)
    record(current_user, "cancel", "shift_signups", signup_id, detail=f"removed by coordinator from shift {occ_id}")
    db.session.commit()
    _dispatch()
    msg = _("%(name)s is no longer on the shift and has been told.", name=name)
    if promoted is not None:
        msg += " " + _("%(name)s from the waiting list has the place.", name=promoted.volunteer.name)
    flash(_held(msg), "success")
    return redirect(back)


@bp.route("/<int:occ_id>/volunteers", methods=["POST"])
@rule(COORDINATOR)
def volunteer_add(occ_id: int):
    """The coordinator signs up a volunteer who phoned in, on a free place. No lock on the shift here: the
    place is taken by sign_up's guarded update, after the program's share lock (a pause's lock order)."""
    occ = _occ_for_manage(occ_id)
    form = AddVolunteerForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    from volnet.accounts.models import User

    volunteer = db.session.get(User, form.volunteer_id.data)
    try:
        s = svc.add_volunteer(occ, current_user, volunteer)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    record(current_user, "create", "shift_signups", s.id, detail=f"added by coordinator to shift {occ.id}")
    db.session.commit()
    _dispatch()
    flash(_held(_("%(name)s is signed up and has been told.", name=volunteer.name)), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id))


@bp.route("/series/<int:series_id>/edit", methods=["GET", "POST"])
@rule(COORDINATOR)
def series_edit(series_id: int):
    series = db.session.get(ShiftSeries, series_id) if 0 < series_id < 2**31 else None
    if series is None or not svc.is_coordinator_of(current_user, series.program):
        abort(404)
    form = SeriesForm(obj=series)
    error = None
    if form.validate_on_submit():
        try:
            n = svc.update_series(series, current_user, meeting_place=form.meeting_place.data or "",
                                  capacity=form.capacity.data, requirements=form.requirements.data or [],
                                  note=form.note.data or "")
            record(current_user, "update", "shift_series", series.id)
            db.session.commit()
            _dispatch()
            flash(_held(_("Saved. %(n)d upcoming shifts follow the change.", n=n)), "success")
            return redirect(url_for("shifts.program", program_id=series.program_id))
        except svc.ShiftError as exc:
            db.session.rollback()
            error = str(exc.args[0])
    elif request.method == "POST":
        error = _form_errors(form)
    return render_template("shifts/series_form.html", **_ctx(form=form, series=series, error=error,
                                                             end_form=CancelForm())), (400 if error else 200)


@bp.route("/series/<int:series_id>/end", methods=["POST"])
@rule(COORDINATOR)
def series_end(series_id: int):
    series = db.session.get(ShiftSeries, series_id) if 0 < series_id < 2**31 else None
    if series is None or not svc.is_coordinator_of(current_user, series.program):
        abort(404)
    form = CancelForm()
    if form.validate_on_submit():
        n = svc.end_series(series, current_user, form.reason.data or "")
        record(current_user, "end", "shift_series", series.id)
        db.session.commit()
        _dispatch()
        flash(_held(_("The series has ended; %(n)d upcoming shifts were cancelled.", n=n)), "success")
    else:
        flash(_form_errors(form), "error")
    return redirect(url_for("shifts.program", program_id=series.program_id))


@bp.route("/<int:occ_id>/attendance", methods=["POST"])
@rule(COORDINATOR)
def attendance(occ_id: int):
    occ = _occ_for_manage(occ_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    marks = {}
    for key, value in request.form.items():
        if key.startswith("a-") and key[2:].isdecimal() and value in ("yes", "no", ""):
            marks[int(key[2:])] = {"yes": True, "no": False, "": None}[value]
    try:
        n = svc.mark_attendance(occ, current_user, marks)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    record(current_user, "update", "shift_signups", occ.id, detail="attendance")
    db.session.commit()
    flash(_("Attendance saved for %(n)d people.", n=n), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id))


@bp.route("/<int:occ_id>/stops", methods=["POST"])
@rule(COORDINATOR)
def stop_add(occ_id: int):
    occ = _occ_for_manage(occ_id, lock=True)
    form = StopForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    h = db.session.get(Household, form.household_id.data)
    try:
        if h is None:
            raise svc.ShiftError(_l("That household is not in your dongs."))
        if not svc.may_add_to_route(current_user, h, request.form.get("hq", "")):
            raise svc.ShiftError(_l("Find the household by its full address, with 동·호, to add it to the route."))
        svc.add_stop(occ, current_user, h, form.note.data or "")
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    record(current_user, "update", "shift_route", occ.id, detail=f"add household {h.id}")
    db.session.commit()
    flash(_("Added to the route."), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id) + "#route")


@bp.route("/stops/<int:stop_id>/<any(up, down, remove):action>", methods=["POST"])
@rule(COORDINATOR)
def stop_change(stop_id: int, action: str):
    stop = access.load(RouteStop, stop_id, "manage", audit=False)
    occ_id = stop.occurrence_id
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ_id))
    try:
        if action == "remove":
            svc.remove_stop(stop)
        else:
            svc.move_stop(stop, 1 if action == "down" else -1)
    except svc.ShiftError as exc:
        db.session.rollback()
        flash(str(exc.args[0]), "error")
        return redirect(url_for("shifts.manage", occ_id=occ_id))
    db.session.commit()
    return redirect(url_for("shifts.manage", occ_id=occ_id) + "#route")


@bp.route("/<int:occ_id>/route-to-series", methods=["POST"])
@rule(COORDINATOR)
def route_to_series(occ_id: int):
    occ = _occ_for_manage(occ_id)
    form = ActionForm()
    if form.validate_on_submit():
        n = svc.route_to_series(occ)
        db.session.commit()
        flash(_("The route now applies to %(n)d later shifts of the series.", n=n), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id))


@bp.route("/<int:occ_id>/message", methods=["POST"])
@rule(COORDINATOR)
def occ_message(occ_id: int):
    occ = _occ_for_manage(occ_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.manage", occ_id=occ.id))
    n = svc.message_shift(occ, current_user, form.message.data)
    record(current_user, "message", "shift_occurrences", occ.id)
    db.session.commit()
    _dispatch()
    flash(_held(_("Message sent to %(n)d people.", n=n)), "success")
    return redirect(url_for("shifts.manage", occ_id=occ.id))


@bp.route("/programs/<int:program_id>/message", methods=["POST"])
@rule(COORDINATOR)
def program_message(program_id: int):
    p = _program_for_manage(program_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.program", program_id=p.id))
    n = svc.message_program(p, current_user, form.message.data)
    record(current_user, "message", "shift_programs", p.id)
    db.session.commit()
    _dispatch()
    flash(_held(_("Message sent to %(n)d people.", n=n)), "success")
    return redirect(url_for("shifts.program", program_id=p.id))


@bp.route("/coordinator/copy-month", methods=["POST"])
@rule(COORDINATOR)
def copy_month():
    form = CopyMonthForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return redirect(url_for("shifts.coordinator_home"))
    parsed = svc.parse_month(form.month.data)
    if parsed is None:
        flash(_("Enter a month like 2026-04."), "error")
        return redirect(url_for("shifts.coordinator_home"))
    y, m = parsed
    copied, skipped = svc.copy_month(current_user, y, m)
    record(current_user, "create", "shift_occurrences", None, detail=f"copy month {y}-{m:02d}")
    db.session.commit()
    flash(_("%(c)d shifts copied from the month before; %(s)d skipped (already there, in the past, or no such "
            "weekday).", c=copied, s=skipped), "success")
    return redirect(url_for("shifts.coordinator_home"))


@bp.route("/coordinator/hours.csv")
@rule(COORDINATOR)
def org_hours_csv():
    from volnet.security.throttle import throttle_export

    if not throttle_export(current_user):
        abort(429)
    month = request.args.get("month", "") or clock.seoul_today().strftime("%Y-%m")  # default: this month
    parsed = svc.parse_month(month)
    if parsed is None:
        flash(_("Enter a month like 2026-04."), "error")
        return redirect(url_for("shifts.coordinator_home"))
    y, m = parsed
    rows = svc.attended_rows(program_ids=[p.id for p in svc.org_programs(current_user)], month=(y, m))
    record(current_user, "export", "shift_signups", None, detail=f"hours {y}-{m:02d}")
    db.session.commit()
    resp = make_response(svc.hours_csv(rows, with_person=True))
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="volunteer-hours-{y}-{m:02d}.csv"'
    return resp
