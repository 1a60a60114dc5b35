"""Shift rules: scheduling, sign-up without overbooking, waiting list, routes, attendance, hours.

Services take the acting user and never commit; views, jobs and the CLI commit.

No overbooking: a place is taken by ``UPDATE shift_occurrences SET filled = filled + 1 WHERE id = ?
AND filled < capacity`` inside a savepoint together with the sign-up row (unique per occurrence and
volunteer). On PostgreSQL the row lock of that UPDATE serialises competing sign-ups and cancellations
of one shift; on SQLite every write transaction is BEGIN IMMEDIATE (volnet.core.dbsetup).

Messages go through volnet.notifications.services (outbox rows in the caller's transaction). Dedupe
keys all start with ``shift:{occurrence id}:`` so ``cancel(f"shift:{occ.id}:")`` drops every pending
reminder of an occurrence; one volunteer's reminders are ``shift:{occ.id}:u{user id}:r{hours}:{start}``, and
the messages about their place ``shift:{occ.id}:u{user id}:{added|promoted|changed|off}:{random}``: a text of
these that the quiet hours still hold when its reason goes away (the place cancelled, the shift cancelled, a
newer change) is dropped with that reason (``notifications.services.cancel``). A text about a shift that the
quiet hours would hold until after its start goes out at once (``needed_by``: it is about that shift).
``send_due_reminders(now)`` (the reminders, written when due so they use the volunteer's channels and language
of that moment) and ``check_unfilled(now)`` (the 48-hour "places still open" alert) are periodic checks: the
notifications sweep (or ``flask volnet shifts-check``) calls them; they notify at send time, once.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from volnet.accounts.models import User
from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import normalize_phone, phone_digits
from volnet.core.sql import lock_rows
from volnet.core.web import seoul_datetime
from volnet.extensions import db
from volnet.households.services import Matches, escape_like, first_matches
from volnet.settings import services as settings
from volnet.shifts import recurrence
from volnet.shifts.models import (
    REQUIREMENTS,
    CalendarToken,
    Program,
    RouteStop,
    ShiftOccurrence,
    ShiftSeries,
    Signup,
    VolunteerProfile,
)

settings.DEFAULTS.setdefault("shifts.reminders", [24, 2])  # hours before the start (DOMAIN.md, proposal)
settings.DEFAULTS.setdefault("shifts.unfilled_alert_hours", 48)  # coordinator alert when places are open
settings.DEFAULTS.setdefault("shifts.horizon_days", 92)  # how far ahead recurring shifts are materialised
settings.DEFAULTS.setdefault("shifts.max_capacity", 200)
# Door outcomes can be recorded from this many minutes before the start (proposal): the route opens earlier so
# volunteers can prepare, but a "no answer" before the shift would send the dong to a door for nothing.
settings.DEFAULTS.setdefault("shifts.outcome_early_minutes", 15)

ACTIVE = ("confirmed", "waitlisted")


class ShiftError(ValueError):
    """A rule was broken; ``args[0]`` is a lazy translated message for the user."""


# --------------------------------------------------------------------------- notifications

# kind: (subject, body, urgent, label on the admins' outbox page)
_KINDS = {
    "shift_reminder": (_l("Reminder: %(program)s, %(when)s"),
                       _l("Your shift %(program)s starts %(when)s at %(place)s. Confirm or cancel in one tap: "
                          "%(link)s"), False, _l("Shift reminder")),
    "shift_promoted": (_l("You have a place: %(program)s, %(when)s"),
                       _l("A place opened up and you moved from the waiting list onto %(program)s, %(when)s at "
                          "%(place)s. If you cannot come, cancel in volnet so the next person can go."), False,
                       _l("Place from the waiting list")),
    "shift_changed": (_l("Shift changed: %(program)s"),
                      _l("%(program)s is now %(when)s at %(place)s. Please check your calendar."), False,
                      _l("Shift changed")),
    # The reason on its own line behind a label, as for a place cancelled (a kind with it, one without).
    "shift_cancelled": (_l("Shift cancelled: %(program)s, %(when)s"),
                        _l("%(program)s on %(when)s has been cancelled by the organizer.\nQuestions: %(contact)s"),
                        False, _l("Shift cancelled")),
    "shift_cancelled_reason": (_l("Shift cancelled: %(program)s, %(when)s"),
                               _l("%(program)s on %(when)s has been cancelled by the organizer.\n"
                                  "Reason: %(reason)s\nQuestions: %(contact)s"), False, _l("Shift cancelled")),
    "shift_unfilled": (_l("%(open)s places still open: %(program)s"),
                       _l("%(program)s on %(when)s still has %(open)s open places of %(capacity)s."), False,
                       _l("Shift places still open")),
    "shift_message": (_l("Message about %(program)s"), _l("%(message)s"), False, _l("Message about a shift")),
    # The reason, when one is given, on its own line behind a label: a kind with it and one without, so that
    # no "Reason:" stands empty (the text is rendered again in the reader's language from these templates).
    "shift_place_cancelled": (_l("Your place is cancelled: %(program)s, %(when)s"),
                              _l("The organizer took you off %(program)s on %(when)s.\nQuestions: %(contact)s"),
                              False, _l("Place cancelled by the organizer")),
    "shift_place_cancelled_reason": (_l("Your place is cancelled: %(program)s, %(when)s"),
                                     _l("The organizer took you off %(program)s on %(when)s.\nReason: %(reason)s\n"
                                        "Questions: %(contact)s"), False, _l("Place cancelled by the organizer")),
    "shift_added": (_l("You are signed up: %(program)s, %(when)s"),
                    _l("The organizer signed you up for %(program)s, %(when)s at %(place)s. If you cannot come, "
                       "cancel in volnet so someone else can go."), False, _l("Signed up by the organizer")),
    # One message per volunteer, however many of their places the pause cancelled (``dates`` lists them).
    "shift_paused": (_l("Program paused: %(program)s"),
                     _l("%(program)s has been paused by the organizer, so your places on its upcoming shifts are "
                        "cancelled (%(n)s): %(dates)s\nQuestions: %(contact)s"), False, _l("Program paused")),
    "shift_paused_reason": (_l("Program paused: %(program)s"),
                            _l("%(program)s has been paused by the organizer, so your places on its upcoming shifts "
                               "are cancelled (%(n)s): %(dates)s\nReason: %(reason)s\nQuestions: %(contact)s"), False,
                            _l("Program paused")),
}
_registered = False


def _notifications():
    """The notifications service, or None while it does not exist yet."""
    global _registered
    try:
        from volnet.notifications import services as notes
    except ImportError as exc:  # not built yet (an empty package folder raises ImportError, not ModuleNotFound)
        if getattr(exc, "name", None) not in (None, "volnet.notifications", "volnet.notifications.services"):
            raise
        return None
    if not _registered:
        for kind, (subject, body, urgent, label) in _KINDS.items():
            notes.register_kind(kind, subject, body, urgent=urgent, label=label)
        _registered = True
    return notes


def _notify(user, kind: str, params: dict, **kw) -> None:
    notes = _notifications()
    if notes is not None and user is not None and user.active:
        notes.notify(user, kind, params, **kw)


def _cancel_notes(prefix: str, reason: str = "cancelled") -> None:
    notes = _notifications()
    if notes is not None:
        notes.cancel(prefix, reason)


# Why a message still held (by the quiet hours) is dropped: notifications.services.ERROR_TEXTS reads them.
PLACE_CANCELLED, SHIFT_CANCELLED, SUPERSEDED = "dropped: place cancelled", "dropped: shift cancelled", "dropped: superseded"


def _place_key(occ: ShiftOccurrence, volunteer_id: int, what: str) -> str:
    """The key of a message about one volunteer's place (``what``: added, promoted, changed, off): under the
    volunteer's prefix of the shift, so that what makes it untrue can drop it while it waits."""
    return f"shift:{occ.id}:u{volunteer_id}:{what}:{secrets.token_hex(6)}"


def _about_place(user, kind: str, occ: ShiftOccurrence, what: str, params: dict) -> None:
    """A message about ``user``'s place on ``occ``: in time for the shift even at night (``needed_by``)."""
    _notify(user, kind, params, dedupe_key=_place_key(occ, user.id, what), link=f"/shifts/{occ.id}",
            needed_by=occ.starts_at)


# Registered at import: a process that only shows these messages (the inbox, the worker) renders them in the
# reader's language too, not only one that has sent one since it started.
_notifications()


def when_text(at: datetime) -> str:
    local = clock.to_seoul(at)
    days = "월화수목금토일"
    return f"{local:%Y. %-m. %-d.}({days[local.weekday()]}) {local:%H:%M}"


def message_params(occ: ShiftOccurrence, **extra) -> dict:
    """The params of a message about ``occ``. ``when_at`` lets the message show the time in the reader's
    language (notifications.services.render); ``when`` is the Korean text for where it is not read."""
    return {"program": occ.program.name, "when": when_text(occ.starts_at), "when_at": occ.starts_at.isoformat(),
            "place": occ.meeting_place or "-", **extra}


def reminder_token(signup: Signup) -> str:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="shift-reminder").dumps(
        {"s": signup.id, "v": signup.volunteer_id})


def signup_for_token(token: str) -> Signup | None:
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="shift-reminder").loads(token[:300])
        sid, vid = int(data["s"]), int(data["v"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    s = db.session.get(Signup, sid)
    if s is None or s.volunteer_id != vid:
        return None
    return s


def reminder_link(signup: Signup) -> str:
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}/shifts/r/{reminder_token(signup)}"


def reminder_hours() -> list[int]:
    """The reminder times (hours before the start) from the settings, largest first."""
    out = set()
    for hours in settings.get("shifts.reminders") or []:
        try:
            hours = int(hours)
        except (TypeError, ValueError):
            continue
        if hours > 0:
            out.add(hours)
    return sorted(out, reverse=True)


def send_due_reminders(now: datetime | None = None) -> int:
    """Periodic check (the notifications sweep, or `flask volnet shifts-check`): each reminder is written when
    it is due, not at the sign-up, so it goes by the channels the volunteer has chosen by then, in the language
    they read by then. Of the reminders due (24 h, 2 h before), only the latest is sent, and only one that
    fell due after the person took the place. Keys: ``shift:{occ}:u{volunteer}:r{hours}:{start}``: a shift
    moved to another time reminds again; a second run writes nothing."""
    now = now or clock.now()
    hours = reminder_hours()
    if not hours:
        return 0
    from sqlalchemy.orm import joinedload

    rows = list(db.session.scalars(
        select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
        .join(Program, ShiftOccurrence.program_id == Program.id)
        .options(joinedload(Signup.occurrence).joinedload(ShiftOccurrence.program), joinedload(Signup.volunteer))
        .where(Signup.status == "confirmed", ShiftOccurrence.status == "scheduled", Program.active.is_(True),
               ShiftOccurrence.starts_at > now, ShiftOccurrence.starts_at <= now + timedelta(hours=hours[0]))
        .order_by(ShiftOccurrence.starts_at, Signup.id)))
    due = {}
    for s in rows:
        occ = s.occurrence
        passed = [h for h in hours if occ.starts_at - timedelta(hours=h) <= now]
        if not passed:
            continue
        h = passed[-1]
        at = occ.starts_at - timedelta(hours=h)
        took_place = max(s.queued_at, s.promoted_at or s.queued_at)
        if took_place >= at:
            continue  # signed up after this reminder's time: the next one (if any) will come
        due[f"shift:{occ.id}:u{s.volunteer_id}:r{h}:{int(occ.starts_at.timestamp())}"] = (s, at)
    if not due:
        return 0
    from volnet.notifications.models import Outbox

    have: set[str] = set()
    keys = list(due)
    for i in range(0, len(keys), 500):
        have.update(db.session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(keys[i:i + 500]))))
    n = 0
    for key, (s, at) in due.items():
        if key in have:
            continue
        occ = s.occurrence
        # A text held by the quiet hours past the start is no reminder: only the in-app copy then.
        _notify(s.volunteer, "shift_reminder", message_params(occ, link=reminder_link(s)), send_at=at,
                dedupe_key=key, link=f"/shifts/{occ.id}", not_after=occ.starts_at)
        n += 1
    return n


def cancel_reminders(signup: Signup, reason: str = PLACE_CANCELLED) -> None:
    """The place is gone: its reminders, and any message about it still waiting (signed up, a change ...)."""
    _cancel_notes(f"shift:{signup.occurrence_id}:u{signup.volunteer_id}:", reason)


# --------------------------------------------------------------------------- programs and scheduling

def is_coordinator_of(user, program: Program) -> bool:
    return (user is not None and user.role == "coordinator" and user.organization_id is not None
            and user.organization_id == program.organization_id)


def _check_times(starts_at: datetime, ends_at: datetime, *, allow_past: bool = False) -> None:
    if ends_at <= starts_at:
        raise ShiftError(_l("The end time must be after the start time."))
    if ends_at - starts_at > timedelta(hours=16):
        raise ShiftError(_l("A shift cannot be longer than 16 hours."))
    if not allow_past and starts_at <= clock.now():
        raise ShiftError(_l("The shift would start in the past. Choose a later date or time."))
    if starts_at.year > clock.now().year + 5:
        raise ShiftError(_l("The date is too far in the future."))


def _check_capacity(capacity: int) -> None:
    if capacity is None or capacity < 1:
        raise ShiftError(_l("A shift needs at least one place."))
    if capacity > int(settings.get("shifts.max_capacity") or 200):
        raise ShiftError(_l("Too many places for one shift."))


def _clean_requirements(reqs) -> list[str]:
    return [r for r in (reqs or []) if r in REQUIREMENTS]


def create_one_off(program: Program, actor, starts_at: datetime, ends_at: datetime, *, meeting_place: str = "",
                   capacity: int = 1, requirements=(), note: str = "") -> ShiftOccurrence:
    _check_times(starts_at, ends_at)
    _check_capacity(capacity)
    occ = ShiftOccurrence(program_id=program.id, program=program, starts_at=starts_at, ends_at=ends_at,
                          meeting_place=meeting_place, capacity=capacity, filled=0,
                          requirements=_clean_requirements(requirements), note=note, status="scheduled",
                          created_at=clock.now(), updated_at=clock.now())
    db.session.add(occ)
    db.session.flush()
    return occ


def create_series(program: Program, actor, starts_at: datetime, ends_at: datetime, rule: str, *,
                  meeting_place: str = "", capacity: int = 1, requirements=(), note: str = "") -> ShiftSeries:
    _check_times(starts_at, ends_at)
    _check_capacity(capacity)
    try:
        recurrence.parse(rule, clock.to_seoul(starts_at).replace(tzinfo=None))
        horizon = clock.now() + timedelta(days=int(settings.get("shifts.horizon_days") or 92))
        many = recurrence.occurrences(rule, starts_at, max(clock.now(), starts_at), horizon,
                                      limit=recurrence.MAX_OCCURRENCES + 1)
    except recurrence.RuleError as exc:
        raise ShiftError(exc.args[0]) from exc
    if len(many) > recurrence.MAX_OCCURRENCES:
        raise ShiftError(_l("The repeat rule would make more than %(n)d shifts at once. Give it an end date or "
                            "fewer days.", n=recurrence.MAX_OCCURRENCES))
    series = ShiftSeries(program_id=program.id, program=program, rrule=recurrence.normalise(rule),
                         dtstart=starts_at, duration_minutes=int((ends_at - starts_at).total_seconds() // 60),
                         meeting_place=meeting_place, capacity=capacity,
                         requirements=_clean_requirements(requirements), note=note, route=[],
                         created_at=clock.now())
    db.session.add(series)
    db.session.flush()
    created = materialise(series)
    if not created:
        raise ShiftError(_l("The repeat rule gives no future dates within the planning horizon."))
    return series


def materialise(series: ShiftSeries, until: datetime | None = None) -> list[ShiftOccurrence]:
    """Create the missing occurrences up to the horizon. Existing rows (edited or not) are kept."""
    if series.ended:
        return []
    now = clock.now()
    until = until or now + timedelta(days=int(settings.get("shifts.horizon_days") or 92))
    starts = recurrence.occurrences(series.rrule, series.dtstart, max(now, series.dtstart), until)
    have = set(db.session.scalars(select(ShiftOccurrence.original_start).where(
        ShiftOccurrence.series_id == series.id, ShiftOccurrence.original_start.in_(starts or [now]))))
    route = list(series.route or [])
    if route:
        # The route is kept as JSON: a household erased since (privacy request) is left out, not written
        # as a stop that points nowhere.
        from volnet.households.models import Household

        alive = set(db.session.scalars(select(Household.id).where(
            Household.id.in_([int(s["household_id"]) for s in route]))))
        route = [s for s in route if int(s["household_id"]) in alive]
    created = []
    for start in starts:
        if start in have:
            continue
        occ = ShiftOccurrence(
            program_id=series.program_id, series_id=series.id, original_start=start, starts_at=start,
            ends_at=start + timedelta(minutes=series.duration_minutes), meeting_place=series.meeting_place,
            capacity=series.capacity, filled=0, requirements=list(series.requirements or []), note=series.note,
            status="scheduled", created_at=now, updated_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(occ)
                db.session.flush()
        except IntegrityError:  # generated concurrently by another run: keep theirs
            continue
        for pos, stop in enumerate(route, start=1):
            db.session.add(RouteStop(occurrence_id=occ.id, household_id=int(stop["household_id"]), position=pos,
                                     note=stop.get("note", "")))
        created.append(occ)
    if series.generated_until is None or until > series.generated_until:
        series.generated_until = until
    db.session.flush()
    return created


def extend_all_series() -> int:
    """Job/CLI: keep every running series materialised for the rolling horizon."""
    n = 0
    for series in db.session.scalars(select(ShiftSeries).where(ShiftSeries.ended.is_(False))):
        if series.program.active:
            n += len(materialise(series))
    return n


def _active_signups(occ: ShiftOccurrence) -> list[Signup]:
    return list(db.session.scalars(select(Signup).where(Signup.occurrence_id == occ.id,
                                                        Signup.status.in_(ACTIVE))))


def _bump(occ: ShiftOccurrence) -> None:
    occ.sequence = (occ.sequence or 0) + 1
    occ.updated_at = clock.now()


def update_occurrence(occ: ShiftOccurrence, actor, *, starts_at: datetime, ends_at: datetime, meeting_place: str,
                      capacity: int, requirements=(), note: str = "") -> bool:
    """Edit one occurrence (an exception to its series). Returns "" when nothing changed, "told" when the
    people on the shift were told (its time or meeting place changed, an emptied place too), else "saved".

    Only what a volunteer needs to get there is announced: a note, the places or the requirements change
    silently (the shift page shows them; the coordinator can message the volunteers)."""
    if occ.status == "cancelled":
        raise ShiftError(_l("This shift was cancelled and cannot be changed."))
    if occ.ends_at <= clock.now():
        raise ShiftError(_l("This shift is over and cannot be changed."))
    time_changed = starts_at != occ.starts_at or ends_at != occ.ends_at
    if time_changed:
        _check_times(starts_at, ends_at)
    _check_capacity(capacity)
    reqs = _clean_requirements(requirements)
    changed = (time_changed or meeting_place != occ.meeting_place or capacity != occ.capacity
               or reqs != list(occ.requirements or []) or note != occ.note)
    if not changed:
        return ""
    place_changed = meeting_place != (occ.meeting_place or "")
    if capacity != occ.capacity:
        set_capacity(occ, capacity)
    occ.starts_at, occ.ends_at = starts_at, ends_at
    occ.meeting_place, occ.requirements, occ.note = meeting_place, reqs, note
    occ.is_exception = occ.series_id is not None
    occ.unfilled_alerted_at = None if time_changed else occ.unfilled_alerted_at
    _bump(occ)
    db.session.flush()
    if not (time_changed or place_changed):
        return "saved"
    for s in _active_signups(occ):
        s.sequence = (s.sequence or 0) + 1
        # An earlier change still waiting for the morning, and a reminder of the old time: this one replaces them.
        _cancel_notes(f"shift:{occ.id}:u{s.volunteer_id}:changed:", SUPERSEDED)
        if time_changed and s.status == "confirmed":
            _cancel_notes(f"shift:{occ.id}:u{s.volunteer_id}:r", SUPERSEDED)
        _about_place(s.volunteer, "shift_changed", occ, "changed", message_params(occ))
    return "told"


def set_capacity(occ: ShiftOccurrence, capacity: int) -> None:
    """Change the number of places; never below the people already signed up. Frees promote the waiting list."""
    _check_capacity(capacity)
    res = db.session.execute(
        update(ShiftOccurrence).where(ShiftOccurrence.id == occ.id, ShiftOccurrence.filled <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False))
    db.session.expire(occ, ["capacity", "filled"])
    if res.rowcount != 1:
        raise ShiftError(_l("%(n)d people are already signed up; the places cannot go below that.", n=occ.filled))
    while promote_next(occ) is not None:
        pass


def cancel_occurrence(occ: ShiftOccurrence, actor, reason: str = "") -> None:
    if occ.status == "cancelled":
        return
    if occ.ends_at <= clock.now():
        raise ShiftError(_l("This shift is over and cannot be cancelled."))
    occ.status = "cancelled"
    occ.is_exception = occ.series_id is not None
    _bump(occ)
    _cancel_notes(f"shift:{occ.id}:", SHIFT_CANCELLED)  # reminders, and what still waits about its places
    reason = " ".join((reason or "").split())[:300]
    contact = contact_text(occ.program)
    for s in _active_signups(occ):
        s.sequence = (s.sequence or 0) + 1
        _notify(s.volunteer, _reason_kind("shift_cancelled", reason),
                message_params(occ, reason=reason, contact=contact), link=f"/shifts/{occ.id}",
                dedupe_key=f"shift-cancelled:{occ.id}:u{s.volunteer_id}:{secrets.token_hex(6)}",
                needed_by=occ.starts_at)
    db.session.flush()


def end_series(series: ShiftSeries, actor, reason: str = "") -> int:
    """Stop a series: every future occurrence not edited on its own is cancelled."""
    series.ended = True
    n = 0
    for occ in db.session.scalars(select(ShiftOccurrence).where(
            ShiftOccurrence.series_id == series.id, ShiftOccurrence.starts_at > clock.now(),
            ShiftOccurrence.status == "scheduled")):
        cancel_occurrence(occ, actor, reason)
        n += 1
    return n


def update_series(series: ShiftSeries, actor, *, meeting_place: str, capacity: int, requirements=(),
                  note: str = "") -> int:
    """Change the template; future occurrences not edited on their own follow. Returns how many changed."""
    _check_capacity(capacity)
    series.meeting_place, series.capacity = meeting_place, capacity
    series.requirements, series.note = _clean_requirements(requirements), note
    n = 0
    for occ in list(db.session.scalars(select(ShiftOccurrence).where(
            ShiftOccurrence.series_id == series.id, ShiftOccurrence.starts_at > clock.now(),
            ShiftOccurrence.status == "scheduled", ShiftOccurrence.is_exception.is_(False)))):
        cap = capacity if occ.filled <= capacity else occ.capacity  # never below who is already signed up
        if update_occurrence(occ, actor, starts_at=occ.starts_at, ends_at=occ.ends_at, meeting_place=meeting_place,
                             capacity=cap, requirements=series.requirements, note=note):
            occ.is_exception = False  # a series-wide change: it still follows the series
            n += 1
    return n


# --------------------------------------------------------------------------- sign-up and waiting list

def profile_of(user) -> VolunteerProfile:
    p = db.session.get(VolunteerProfile, user.id)
    return p or VolunteerProfile(user_id=user.id, has_car=False, sex="unknown")


def requirement_problem(occ: ShiftOccurrence, volunteer, profile: VolunteerProfile | None = None):
    """Why ``volunteer`` may not take ``occ`` because of its requirements (car, women only), as a lazy
    message; None when they may. ``sign_up`` refuses by this rule, and the pages show it before the tap.
    Pass ``profile`` (``profile_of``) when checking many shifts for one volunteer."""
    reqs = set(occ.requirements or [])
    if not reqs:
        return None
    prof = profile if profile is not None else profile_of(volunteer)
    if "car" in reqs and not prof.has_car:
        return _l("This shift needs a car. If you can drive one, say so in your shift profile.")
    if "women_only" in reqs and prof.sex != "f":
        return _l("This shift visits homes that asked for women volunteers only.")
    return None


def signup_problem(occ: ShiftOccurrence, volunteer):
    """Why ``volunteer`` cannot sign up for ``occ`` (requirements, another shift at that time); None when they
    can. The same checks ``sign_up`` makes before taking a place."""
    problem = requirement_problem(occ, volunteer)
    if problem is not None:
        return problem
    other = overlapping(occ, volunteer)
    if other is not None:
        # The time in the reader's language: '2026. 12. 8.(Tue) 10:00' for an English reader.
        return _l("You already have a shift at that time: %(program)s, %(when)s.",
                  program=other.program.name, when=seoul_datetime(other.starts_at))
    return None


def overlapping(occ: ShiftOccurrence, volunteer) -> ShiftOccurrence | None:
    return db.session.scalar(
        select(ShiftOccurrence).join(Signup, Signup.occurrence_id == ShiftOccurrence.id)
        .where(Signup.volunteer_id == volunteer.id, Signup.status.in_(ACTIVE),
               ShiftOccurrence.id != occ.id, ShiftOccurrence.status == "scheduled",
               ShiftOccurrence.starts_at < occ.ends_at, ShiftOccurrence.ends_at > occ.starts_at)
        .limit(1))


def _take_place(occ_id: int) -> bool:
    res = db.session.execute(
        update(ShiftOccurrence)
        .where(ShiftOccurrence.id == occ_id, ShiftOccurrence.filled < ShiftOccurrence.capacity,
               ShiftOccurrence.status == "scheduled")
        .values(filled=ShiftOccurrence.filled + 1).execution_options(synchronize_session=False))
    return res.rowcount == 1


def _free_place(occ_id: int) -> None:
    db.session.execute(
        update(ShiftOccurrence).where(ShiftOccurrence.id == occ_id, ShiftOccurrence.filled > 0)
        .values(filled=ShiftOccurrence.filled - 1).execution_options(synchronize_session=False))


def sign_up(occ: ShiftOccurrence, volunteer, *, waitlist: bool = True) -> Signup:
    """Take a place, or join the waiting list when the shift is full. Never overbooks.

    Raises ShiftError with a clear message (already signed up, overlapping, past, requirements).
    """
    now = clock.now()
    if occ.status != "scheduled" or not occ.program.active:
        raise ShiftError(_l("This shift is not taking sign-ups."))
    if occ.starts_at <= now:
        raise ShiftError(_l("This shift has already started."))
    problem = signup_problem(occ, volunteer)
    if problem is not None:
        raise ShiftError(problem)
    existing = db.session.scalar(select(Signup).where(Signup.occurrence_id == occ.id,
                                                      Signup.volunteer_id == volunteer.id))
    if existing is not None and existing.status in ACTIVE:
        raise ShiftError(_l("You are already on this shift."))
    try:
        with db.session.begin_nested():  # the place and the row together, or neither
            # The program read again under a share lock: a pause (which updates the program row first) either
            # commits before, and the sign-up is refused, or waits for it, and then cancels this place too.
            if not db.session.scalar(select(Program.active).where(Program.id == occ.program_id)
                                     .with_for_update(read=True)):
                raise ShiftError(_l("This shift is not taking sign-ups."))
            if existing is None:
                signup = Signup(occurrence_id=occ.id, volunteer_id=volunteer.id, status="waitlisted",
                                queued_at=now, created_at=now, updated_at=now)
                db.session.add(signup)
                db.session.flush()
            else:
                res = db.session.execute(
                    update(Signup).where(Signup.id == existing.id, Signup.status == "cancelled")
                    .values(status="waitlisted", queued_at=now, cancelled_at=None, confirmed_at=None,
                            promoted_at=None, stepped_in_for_id=None, cancelled_by=None, cancel_reason="",
                            updated_at=now,
                            sequence=Signup.sequence + 1)
                    .execution_options(synchronize_session=False))
                if res.rowcount != 1:
                    raise ShiftError(_l("You are already on this shift."))
                signup = existing
            got = _take_place(occ.id)
            if not got and not waitlist:
                raise ShiftError(_l("Sorry, the last place was just taken."))
            db.session.execute(update(Signup).where(Signup.id == signup.id).values(
                status="confirmed" if got else "waitlisted").execution_options(synchronize_session=False))
    except IntegrityError as exc:
        raise ShiftError(_l("You are already on this shift.")) from exc
    if existing is not None:  # back on the shift: a "you were taken off" still waiting is no longer true
        _cancel_notes(f"shift:{occ.id}:u{volunteer.id}:off:", SUPERSEDED)
    db.session.expire(signup)
    db.session.expire(occ, ["filled"])
    return signup  # the reminders are written when they are due (send_due_reminders)


def cutoff_of(occ: ShiftOccurrence) -> datetime:
    return occ.starts_at - timedelta(hours=occ.program.cancel_cutoff_hours or 0)


def promote_next(occ: ShiftOccurrence, stepped_in_for=None) -> Signup | None:
    """Move the first person of the waiting list onto a free place, exactly once. Tells them."""
    while True:
        cand = db.session.scalar(
            select(Signup).where(Signup.occurrence_id == occ.id, Signup.status == "waitlisted")
            .order_by(Signup.queued_at, Signup.id).limit(1))
        if cand is None:
            return None
        if not _take_place(occ.id):
            return None
        now = clock.now()
        res = db.session.execute(
            update(Signup).where(Signup.id == cand.id, Signup.status == "waitlisted")
            .values(status="confirmed", promoted_at=now, updated_at=now, sequence=Signup.sequence + 1,
                    stepped_in_for_id=getattr(stepped_in_for, "id", None))
            .execution_options(synchronize_session=False))
        if res.rowcount == 1:
            db.session.expire(cand)
            db.session.expire(occ, ["filled"])
            _about_place(cand.volunteer, "shift_promoted", occ, "promoted", message_params(occ))
            return cand
        _free_place(occ.id)  # someone else moved them meanwhile: give the place back, try the next


def cancel_signup(signup: Signup, actor, *, offer: bool = False, by_coordinator: bool = False,
                  reason: str = "") -> Signup | None:
    """Cancel a place (or leave the waiting list). Returns the person promoted in their place, if any.

    ``offer``: "I can't come, give my place away": allowed after the cut-off only when someone on the
    waiting list takes it; the promoted person is recorded as having stepped in for this volunteer.
    ``by_coordinator``: the coordinator took the volunteer off (kept with ``reason`` for their My shifts).
    """
    occ = signup.occurrence
    now = clock.now()
    if signup.status == "cancelled":
        return None
    if occ.starts_at <= now and not by_coordinator:
        raise ShiftError(_l("This shift has already started."))
    past_cutoff = now >= cutoff_of(occ) and not by_coordinator
    if past_cutoff and not offer and signup.status == "confirmed":
        raise ShiftError(_l("Cancellations close %(h)d hours before the start. Offer your place to the waiting "
                            "list, or call the coordinator.", h=occ.program.cancel_cutoff_hours))
    promoted = None
    with db.session.begin_nested():
        # The row is locked before its status is read: someone else's cancellation may be promoting this
        # very person from the waiting list at this moment. Reading and then updating "where waitlisted"
        # lost that race (they ended up with a place they had just given up); now the promotion waits for
        # this cancellation and moves on to the next person.
        current = db.session.scalar(select(Signup.status).where(Signup.id == signup.id).with_for_update())
        if current in ("confirmed", "waitlisted"):
            db.session.execute(
                update(Signup).where(Signup.id == signup.id)
                .values(status="cancelled", cancelled_at=now, updated_at=now, sequence=Signup.sequence + 1,
                        cancelled_by="removed" if by_coordinator else None,
                        cancel_reason=(reason or "")[:300] if by_coordinator else "")
                .execution_options(synchronize_session=False))
        if current == "confirmed":
            _free_place(occ.id)
            promoted = promote_next(occ, stepped_in_for=signup.volunteer if offer else None)
            if past_cutoff and promoted is None:
                raise ShiftError(_l("No one on the waiting list can take your place. Please call the coordinator."))
    db.session.expire(signup)
    db.session.expire(occ, ["filled"])
    cancel_reminders(signup)
    return promoted


def confirm_opens_at(occ: ShiftOccurrence) -> datetime:
    """From when "I'm coming" can be said: the first reminder's time (24 hours before without reminders)."""
    hours = reminder_hours()
    return occ.starts_at - timedelta(hours=hours[0] if hours else 24)


def confirm_attendance_intent(signup: Signup) -> None:
    """The "I'm coming" tap from a reminder or the shift page, from the first reminder's time on."""
    if signup.status != "confirmed":
        raise ShiftError(_l("You no longer have a place on this shift."))
    if signup.occurrence.status != "scheduled":
        raise ShiftError(_l("This shift has been cancelled."))
    if signup.occurrence.ends_at <= clock.now():
        raise ShiftError(_l("This shift is over."))
    opens = confirm_opens_at(signup.occurrence)
    if clock.now() < opens:
        raise ShiftError(_l("You can confirm from %(when)s.", when=seoul_datetime(opens)))
    if signup.confirmed_at is None:
        signup.confirmed_at = clock.now()
        signup.updated_at = clock.now()


# --------------------------------------------------------------------------- the coordinator's changes to who comes

def contacts_for(program: Program) -> list[tuple[str, str]]:
    """Whom a volunteer calls about a shift: the organization's phone, or, when it has none, its active
    coordinators' phones. [(name, phone), ...]"""
    org = program.organization
    if org is not None and org.phone:
        return [(org.name, org.phone)]
    return [(u.name, u.phone) for u in coordinators_of(program) if u.phone][:3]


def contact_text(program: Program) -> str:
    """The "Questions:" line of a message about a shift: whom to call, as the shift and reminder pages show it
    ('송산종합사회복지관 02-123-4567'); the organization's name alone when nobody has a phone."""
    from volnet.core.korean import format_phone

    people = contacts_for(program)
    if people:
        return ", ".join(f"{name} {format_phone(phone)}" for name, phone in people)
    return program.organization.name if program.organization is not None else ""


def _reason_kind(kind: str, reason: str) -> str:
    return f"{kind}_reason" if reason else kind


def _org_volunteers_condition(organization_id: int):
    """Volunteers of the organization: its own, and those who have signed up for one of its programs."""
    took_part = (select(Signup.volunteer_id).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
                 .join(Program, ShiftOccurrence.program_id == Program.id)
                 .where(Program.organization_id == organization_id))
    return and_(User.role == "volunteer", User.active.is_(True),
                or_(User.organization_id == organization_id, User.id.in_(took_part)))


FIND_VOLUNTEERS_LIMIT = 10
_PHONE_QUERY = re.compile(r"[\d\s\-.()+]+")  # only digits and what people type between them


def find_volunteers(organization_id: int | None, q: str = "", *, exclude_ids=(),
                    limit: int = FIND_VOLUNTEERS_LIMIT) -> Matches:
    """Volunteers a coordinator of the organization may sign up (``_org_volunteers_condition``): those whose
    name has ``q`` in it, or, when ``q`` is a phone number or part of one (3 digits or more: the last four,
    010-1234-5678, full-width digits), whose number has those digits; all of them when ``q`` is empty.
    ``exclude_ids``: already on the shift. The first ``limit`` by name, and how many match in all."""
    if organization_id is None:
        return Matches([], 0)
    q = " ".join((q or "").split())[:60]
    stmt = select(User).where(_org_volunteers_condition(organization_id))
    if exclude_ids:
        stmt = stmt.where(User.id.not_in(list(exclude_ids)))
    if q:
        conds = [User.name.ilike(f"%{escape_like(q)}%", escape="\\")]
        digits = (normalize_phone(q) or phone_digits(q)) if _PHONE_QUERY.fullmatch(q) else ""
        if len(digits) >= 3:
            conds.append(User.phone.like(f"%{digits}%"))
        stmt = stmt.where(or_(*conds))
    return first_matches(stmt.order_by(User.name, User.id), limit)


def remove_volunteer(signup: Signup, actor, reason: str = "") -> Signup | None:
    """The coordinator takes someone off a shift ("no longer coming"): the place goes to the first person
    on the waiting list (told as usual) and the person removed is told. Returns the person promoted."""
    occ = signup.occurrence
    if signup.status not in ACTIVE:
        raise ShiftError(_l("This person is no longer on the shift."))
    if occ.starts_at <= clock.now():
        raise ShiftError(_l("The shift has started: mark the person as a no-show in the attendance instead."))
    reason = " ".join((reason or "").split())[:300]
    promoted = cancel_signup(signup, actor, by_coordinator=True, reason=reason)
    _about_place(signup.volunteer, _reason_kind("shift_place_cancelled", reason), occ, "off",
                 message_params(occ, reason=reason, contact=contact_text(occ.program)))
    return promoted


def add_volunteer(occ: ShiftOccurrence, actor, volunteer) -> Signup:
    """The coordinator signs up a volunteer who phoned in: only one of the organization's volunteers, only
    on a free place (never over capacity, never the waiting list), with the usual checks. They are told."""
    if volunteer is None or db.session.scalar(select(User.id).where(
            User.id == volunteer.id, _org_volunteers_condition(occ.program.organization_id))) is None:
        raise ShiftError(_l("Choose one of your organization's volunteers."))
    if occ.status != "scheduled" or not occ.program.active:
        raise ShiftError(_l("This shift is not taking sign-ups."))
    if occ.starts_at <= clock.now():
        raise ShiftError(_l("This shift has already started."))
    if db.session.scalar(select(Signup.id).where(Signup.occurrence_id == occ.id, Signup.volunteer_id == volunteer.id,
                                                 Signup.status.in_(ACTIVE))) is not None:
        raise ShiftError(_l("%(name)s is already on this shift.", name=volunteer.name))
    if requirement_problem(occ, volunteer) is not None:
        raise ShiftError(_l("%(name)s's shift profile does not meet this shift's requirements (car, women only).",
                            name=volunteer.name))
    other = overlapping(occ, volunteer)
    if other is not None:
        raise ShiftError(_l("%(name)s already has a shift at that time: %(program)s, %(when)s.", name=volunteer.name,
                            program=other.program.name, when=seoul_datetime(other.starts_at)))
    full = _l("The shift is full. Add places first (Change this shift), or ask someone to give up theirs.")
    if occ.open_places <= 0:
        raise ShiftError(full)
    try:
        signup = sign_up(occ, volunteer, waitlist=False)
    except ShiftError as exc:  # taken meanwhile (by a volunteer's own tap)
        db.session.expire(occ, ["filled"])
        if occ.open_places <= 0:
            raise ShiftError(full) from exc
        raise
    _about_place(volunteer, "shift_added", occ, "added", message_params(occ))
    return signup


def _upcoming_signups(program: Program):
    return (select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
            .where(ShiftOccurrence.program_id == program.id, ShiftOccurrence.status == "scheduled",
                   ShiftOccurrence.starts_at > clock.now(), Signup.status.in_(ACTIVE)))


def upcoming_signup_counts(program: Program) -> tuple[int, int]:
    """(volunteers, shifts) with a place or a waiting-list place on the program's upcoming shifts."""
    sub = _upcoming_signups(program).subquery()
    people, shifts = db.session.execute(select(func.count(func.distinct(sub.c.volunteer_id)),
                                               func.count(func.distinct(sub.c.occurrence_id)))).one()
    return int(people or 0), int(shifts or 0)


def _dates_params(occs: list[ShiftOccurrence], most: int = 5) -> dict:
    """The start times of the first ``most`` shifts and how many more there are, as a message's ``dates_at`` and
    ``dates_more``: the message reads them as '2026. 12. 8.(화) 10:00, 2026. 12. 15.(화) 10:00 외 3건' in the
    reader's language whenever it is shown or sent (notifications.services.render)."""
    return {"dates_at": " ".join(o.starts_at.isoformat() for o in occs[:most]),
            "dates_more": max(len(occs) - most, 0)}


def pause_program(program: Program, actor, reason: str = "") -> tuple[int, int]:
    """The program stops for now: every place (and waiting-list place) on its upcoming shifts is cancelled,
    without moving anyone up, the reminders are dropped, and each volunteer is told once, with the dates of
    the places they lost. The shifts themselves stay, empty, for when the program runs again. Returns
    (places cancelled, volunteers told)."""
    program.active = False
    db.session.flush()  # the program row first: a sign-up at this moment waits for the pause (sign_up)
    reason = " ".join((reason or "").split())[:300]
    now = clock.now()
    n = 0
    lost: dict[int, list[Signup]] = defaultdict(list)
    keys: dict[int, list[str]] = defaultdict(list)
    rows = list(db.session.scalars(_upcoming_signups(program).order_by(ShiftOccurrence.starts_at, Signup.id)
                                   .with_for_update(of=Signup)))  # the shift rows only through _free_place
    for s in rows:
        lost[s.volunteer_id].append(s)
        # The key of each volunteer's message: the places it is about, as they were (a retry of this very
        # pause writes nothing new; a later pause, of places taken since, is a new message).
        keys[s.volunteer_id].append(f"{s.id}.{s.sequence or 0}")
    for s in rows:
        db.session.execute(update(Signup).where(Signup.id == s.id)
                           .values(status="cancelled", cancelled_at=now, updated_at=now, sequence=Signup.sequence + 1,
                                   cancelled_by="paused", cancel_reason=reason)
                           .execution_options(synchronize_session=False))
        if s.status == "confirmed":
            _free_place(s.occurrence_id)
        cancel_reminders(s)
        n += 1
    contact = contact_text(program)
    for uid, places in lost.items():
        user = places[0].volunteer
        digest = hashlib.sha256(",".join(keys[uid]).encode()).hexdigest()[:16]
        occs = [s.occurrence for s in places]
        _notify(user, _reason_kind("shift_paused", reason),
                {**message_params(occs[0], reason=reason, contact=contact), "n": len(occs), **_dates_params(occs)},
                dedupe_key=f"shift-paused:p{program.id}:u{uid}:{digest}",
                link=f"/shifts/{occs[0].id}" if len(occs) == 1 else "/shifts/mine",
                needed_by=occs[0].starts_at)  # the first of those places: in time for it even at night
    for s in rows:
        db.session.expire(s.occurrence, ["filled"])
        db.session.expire(s)
    db.session.flush()
    return n, len(lost)


# --------------------------------------------------------------------------- route and outcomes

def route_window(occ: ShiftOccurrence) -> tuple[datetime, datetime]:
    p = occ.program
    return (occ.starts_at - timedelta(hours=p.route_before_hours or 0),
            occ.ends_at + timedelta(hours=p.route_after_hours or 0))


def may_see_route(user, occ: ShiftOccurrence) -> bool:
    """Coordinator of the program's organization; or a volunteer with a confirmed place, in the window."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_coordinator_of(user, occ.program):
        return True
    if user.role != "volunteer" or occ.status != "scheduled":
        return False
    start, end = route_window(occ)
    if not (start <= clock.now() <= end):
        return False
    return db.session.scalar(select(Signup.id).where(
        Signup.occurrence_id == occ.id, Signup.volunteer_id == user.id, Signup.status == "confirmed")) is not None


def route_back(user, stop_id, household_id: int | None) -> int | None:
    """The shift whose route a report about ``household_id`` was started from (its stop ``stop_id``, "Worried"
    at that door), when ``user`` is a volunteer of that shift who may still see the route: the sent page leads
    back there. None otherwise (another household's stop, a coordinator, the route closed, nonsense)."""
    try:
        stop_id = int(stop_id)
    except (TypeError, ValueError):
        return None
    if not 0 < stop_id < 2**31 or household_id is None or getattr(user, "role", None) != "volunteer":
        return None
    stop = db.session.get(RouteStop, stop_id)
    if stop is None or stop.household_id != household_id or not may_see_route(user, stop.occurrence):
        return None
    return stop.occurrence_id


def stops_of(occ: ShiftOccurrence) -> list[RouteStop]:
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(select(RouteStop).options(joinedload(RouteStop.household))
                                   .where(RouteStop.occurrence_id == occ.id)
                                   .order_by(RouteStop.position, RouteStop.id)))


def household_visits(household_id: int, upcoming: int = 5, recent: int = 5) -> dict:
    """What volunteer shifts do for a household, for its page (dong staff): the next planned visits (of
    running programs) and the latest door outcomes, with program and organization. One statement, a few
    rows: {"next": [...], "recent": [...], "programs": [(program, service, organization, phone), ...]}."""
    stmt = _VISITS.get((upcoming, recent))
    if stmt is None:
        stmt = _VISITS[(upcoming, recent)] = _visits_statement(upcoming, recent)
    rows = db.session.execute(stmt, {"hid": household_id, "now": clock.now()}).all()
    out: dict = {"next": [r for r in rows if r.part == "next"],
                 "recent": sorted((r for r in rows if r.part == "recent"), key=lambda r: r.outcome_at, reverse=True)}
    out["next"].sort(key=lambda r: r.starts_at)
    programs: dict = {}
    for r in out["next"] + out["recent"]:
        programs.setdefault((r.program, r.organization), (r.program, r.service, r.organization, r.phone))
    out["programs"] = list(programs.values())
    return out


# Built once per process (a busy household page need not build the union again): (upcoming, recent) -> stmt.
_VISITS: dict = {}


def _visits_statement(upcoming: int, recent: int):
    from sqlalchemy import bindparam, literal, union_all

    from volnet.accounts.models import Organization

    now = bindparam("now", type_=ShiftOccurrence.__table__.c.ends_at.type)
    household_id = bindparam("hid")
    base = (select(ShiftOccurrence.starts_at, ShiftOccurrence.status, Program.name.label("program"),
                   Program.service, Organization.name.label("organization"), Organization.phone,
                   RouteStop.outcome, RouteStop.outcome_at)
            .join(ShiftOccurrence, RouteStop.occurrence_id == ShiftOccurrence.id)
            .join(Program, ShiftOccurrence.program_id == Program.id)
            .join(Organization, Program.organization_id == Organization.id)
            .where(RouteStop.household_id == household_id))
    nxt = (base.add_columns(literal("next").label("part"))
           .where(ShiftOccurrence.status == "scheduled", ShiftOccurrence.ends_at >= now, Program.active.is_(True),
                  RouteStop.outcome.is_(None))
           .order_by(ShiftOccurrence.starts_at).limit(upcoming).subquery())
    past = (base.add_columns(literal("recent").label("part")).where(RouteStop.outcome.is_not(None))
            .order_by(RouteStop.outcome_at.desc()).limit(recent).subquery())
    return union_all(select(nxt), select(past))


def _served_by(organization_id: int):
    """Households on a route of one of the organization's shifts: the ones it already serves."""
    from volnet.households.models import Household

    return Household.id.in_(select(RouteStop.household_id).join(ShiftOccurrence, RouteStop.occurrence_id ==
                                                                ShiftOccurrence.id)
                            .join(Program, ShiftOccurrence.program_id == Program.id)
                            .where(Program.organization_id == organization_id))


def households_for_route(actor, q: str, limit: int = 10) -> list:
    """What a coordinator's household search on a shift finds (DOMAIN.md privacy: need to know): the
    households the organization already serves (on one of its routes) by name, 초성 or address, and one it
    does not serve yet only at exactly the address typed, with its 동·호 (no browsing the dong by "ㄱ" or by
    a road name)."""
    from volnet.households import services as households
    from volnet.households.models import Household

    q = (q or "").strip()[:100]
    if len(q) < 2 or actor.organization_id is None:
        return []
    dongs = sorted(actor.dong_ids or {-1})
    found: dict[int, Household] = {}
    cond = households.search_condition(q)
    if cond is not None:
        for h in db.session.scalars(select(Household).where(
                Household.dong_id.in_(dongs), Household.status == "active", cond, _served_by(actor.organization_id))
                .order_by(Household.road_address, Household.unit).limit(limit)):
            found[h.id] = h
    for dong_id in dongs:
        for h in households.at_address(dong_id, q, "", limit=3):
            if h.status == "active":
                found.setdefault(h.id, h)
    return list(found.values())[:limit]


def may_add_to_route(actor, household, q: str) -> bool:
    """A household may go on a route when the organization serves it already, or when it was found at
    exactly the address typed (``q``, sent with the form)."""
    from volnet.households.models import Household

    if household is None or actor.organization_id is None or household.dong_id not in actor.dong_ids:
        return False
    if db.session.scalar(select(Household.id).where(Household.id == household.id,
                                                    _served_by(actor.organization_id))) is not None:
        return True
    return any(h.id == household.id for h in households_for_route(actor, q))


def add_stop(occ: ShiftOccurrence, actor, household, note: str = "") -> RouteStop:
    if household.dong_id not in actor.dong_ids:
        raise ShiftError(_l("That household is not in your dongs."))
    exists = db.session.scalar(select(RouteStop.id).where(RouteStop.occurrence_id == occ.id,
                                                          RouteStop.household_id == household.id))
    if exists:
        raise ShiftError(_l("That household is already on the route."))
    pos = (db.session.scalar(select(func.max(RouteStop.position)).where(RouteStop.occurrence_id == occ.id)) or 0) + 1
    stop = RouteStop(occurrence_id=occ.id, household_id=household.id, position=pos, note=note)
    db.session.add(stop)
    db.session.flush()
    return stop


def move_stop(stop: RouteStop, direction: int) -> None:
    stops = stops_of(stop.occurrence)
    i = next(i for i, s in enumerate(stops) if s.id == stop.id)
    j = i + (1 if direction > 0 else -1)
    if 0 <= j < len(stops):
        stops[i], stops[j] = stops[j], stops[i]
    for pos, s in enumerate(stops, start=1):
        s.position = pos


def remove_stop(stop: RouteStop) -> None:
    if stop.outcome:
        raise ShiftError(_l("An outcome was already recorded at this stop; it stays on the route."))
    db.session.delete(stop)


def route_to_series(occ: ShiftOccurrence) -> int:
    """Use this occurrence's route for the series and its later occurrences that have no outcomes yet."""
    if occ.series_id is None:
        return 0
    lock_rows(ShiftSeries, [occ.series_id])  # two at once (a double tap): the second replaces the first's
    stops = stops_of(occ)
    occ.series.route = [{"household_id": s.household_id, "note": s.note} for s in stops]
    n = 0
    for other in db.session.scalars(select(ShiftOccurrence).where(
            ShiftOccurrence.series_id == occ.series_id, ShiftOccurrence.starts_at > occ.starts_at,
            ShiftOccurrence.status == "scheduled")):
        if db.session.scalar(select(RouteStop.id).where(RouteStop.occurrence_id == other.id,
                                                        RouteStop.outcome.is_not(None)).limit(1)):
            continue
        for old in stops_of(other):
            db.session.delete(old)
        db.session.flush()
        for s in stops:
            db.session.add(RouteStop(occurrence_id=other.id, household_id=s.household_id, position=s.position,
                                     note=s.note))
        n += 1
    db.session.flush()
    return n


def outcomes_open_at(occ: ShiftOccurrence) -> datetime:
    """From when what happened at the doors of ``occ`` can be recorded: shortly before its start."""
    try:
        minutes = max(int(settings.get("shifts.outcome_early_minutes") or 0), 0)
    except (TypeError, ValueError):
        minutes = 15
    return occ.starts_at - timedelta(minutes=minutes)


def record_outcome(stop: RouteStop, actor, outcome: str):
    """Record what happened at the door. "No answer" and "concern" join the household's concern."""
    from volnet.observations import services as observations
    from volnet.observations.models import Observation
    from volnet.shifts.models import OUTCOMES

    if outcome not in OUTCOMES:
        raise ShiftError(_l("Choose one of the offered options."))
    occ = stop.occurrence
    now = clock.now()
    if now < outcomes_open_at(occ):
        raise ShiftError(_l("What happened at the doors can be recorded from %(t)s, shortly before the shift starts.",
                            t=seoul_datetime(outcomes_open_at(occ))))
    if outcome == stop.outcome:  # a double tap, or the same answer again: nothing new to report
        return db.session.get(Observation, stop.observation_id) if stop.observation_id else None
    earlier, earlier_report = stop.outcome, stop.observation_id
    stop.outcome, stop.outcome_at, stop.outcome_by_id = outcome, now, actor.id
    stop.observation_id = None
    obs = None
    if outcome in ("no_answer", "concern"):
        h = stop.household
        token = f"shift:{occ.id}:stop:{stop.id}:{outcome}"
        if observations.find_by_token(token) is not None:  # reported, corrected since, and now reported again
            token = f"{token}:{secrets.token_hex(4)}"
        obs = Observation(
            source="shift", household=h, household_id=h.id, dong_id=h.dong_id, reporter_id=actor.id,
            signals=["unreachable"] if outcome == "no_answer" else ["other"],
            urgency="routine" if outcome == "no_answer" else "urgent",
            note=(f"[{occ.program.name}] " + (
                "방문했으나 응답 없음" if outcome == "no_answer" else "봉사자가 방문 중 걱정되는 점을 표시함")),
            seen_at=now, client_token=token)
        obs, _created = observations.submit(obs, actor)
        stop.observation_id = obs.id
    if earlier_report is not None:  # after the new report, which joins the same concern
        _correct_report(earlier_report, actor, occ, earlier, outcome)
    db.session.flush()
    return obs


def _correct_report(observation_id: int, actor, occ: ShiftOccurrence, old: str | None, new: str) -> None:
    """The volunteer changed the outcome of a stop whose earlier outcome went to the dong as a report ("no
    answer", "worried"). The concern that report joined says so on its timeline, so that nobody is sent to a
    door for nothing. A concern that report alone opened, with nothing done on it yet, is closed ("checked,
    no concern") when the household turned out to have been reached and served ("delivered"); any other
    concern stays open, visibly corrected."""
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern, ConcernEvent
    from volnet.observations.models import Observation

    concern_id = db.session.scalar(select(Observation.concern_id).where(Observation.id == observation_id))
    concern = db.session.get(Concern, concern_id, with_for_update=True) if concern_id else None
    for _hop in range(5):  # merged since: its reports and timeline are in the concern it went into
        if concern is None or concern.status != "merged" or not concern.merged_into_id:
            break
        concern = db.session.get(Concern, concern.merged_into_id, with_for_update=True)
    if concern is None:
        return
    concerns.add_event(concern, "report_corrected", actor, old=old, new=new, report=observation_id,
                       program=occ.program.name)
    db.session.flush()
    if new != "delivered" or concern.status != "new" or concern.acknowledged_at is not None:
        return
    reports = list(db.session.scalars(select(Observation.id).where(Observation.concern_id == concern.id).limit(2)))
    others = db.session.scalar(select(ConcernEvent.id).where(
        ConcernEvent.concern_id == concern.id,
        ConcernEvent.kind.not_in(("opened", "observation", "report_corrected"))).limit(1))
    if reports == [observation_id] and others is None:
        concerns.close(concern, None, "no_concern", "", corrected_by_volunteer=True)


# --------------------------------------------------------------------------- attendance and hours

def mark_attendance(occ: ShiftOccurrence, actor, attended: dict[int, bool | None]) -> int:
    if occ.starts_at > clock.now():
        raise ShiftError(_l("Attendance can be marked once the shift has started."))
    n = 0
    for s in db.session.scalars(select(Signup).where(Signup.occurrence_id == occ.id,
                                                     Signup.status == "confirmed")):
        if s.id in attended:
            s.attended = attended[s.id]
            s.minutes = occ.duration_minutes if attended[s.id] else 0
            s.updated_at = clock.now()
            n += 1
    return n


MIN_YEAR = 2000  # months before this (or more than 5 years ahead) are typos, not records


def parse_month(text: str | None) -> tuple[int, int] | None:
    """(year, month) of '2026-04', or None for anything else, including a year out of the sensible range."""
    text = (text or "").strip()
    if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
        return None
    year, month = int(text[:4]), int(text[5:])
    if not (MIN_YEAR <= year <= clock.seoul_today().year + 5 and 1 <= month <= 12):
        return None
    return year, month


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=clock.SEOUL)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=clock.SEOUL)
    return start.astimezone(UTC), end.astimezone(UTC)


def attended_rows(volunteer_ids=None, program_ids=None, month: tuple[int, int] | None = None):
    from sqlalchemy.orm import joinedload

    stmt = (select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
            .options(joinedload(Signup.occurrence).joinedload(ShiftOccurrence.program), joinedload(Signup.volunteer))
            .where(Signup.status == "confirmed", Signup.attended.is_(True)))
    if volunteer_ids is not None:
        stmt = stmt.where(Signup.volunteer_id.in_(list(volunteer_ids) or [-1]))
    if program_ids is not None:
        stmt = stmt.where(ShiftOccurrence.program_id.in_(list(program_ids) or [-1]))
    if month is not None:
        lo, hi = _month_bounds(*month)
        stmt = stmt.where(ShiftOccurrence.starts_at >= lo, ShiftOccurrence.starts_at < hi)
    return list(db.session.scalars(stmt.order_by(ShiftOccurrence.starts_at, Signup.id)))


def monthly_hours(volunteer) -> list[tuple[str, float, int]]:
    """[("2026-03", hours, shifts), ...] newest first, from attendance."""
    agg: dict[str, list] = defaultdict(lambda: [0, 0])
    for s in attended_rows(volunteer_ids=[volunteer.id]):
        key = clock.to_seoul(s.occurrence.starts_at).strftime("%Y-%m")
        agg[key][0] += s.minutes or 0
        agg[key][1] += 1
    return [(k, round(v[0] / 60, 1), v[1]) for k, v in sorted(agg.items(), reverse=True)]


def to_csv(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with BOM, formula cells neutralised: the one shared writer (volnet.core.csvutil)."""
    from volnet.core.csvutil import csv_bytes

    return csv_bytes([header, *rows])


def hours_csv(rows: list[Signup], with_person: bool) -> bytes:
    """Columns as the 1365 volunteer portal's bulk upload expects them (one row per attended shift)."""
    from flask_babel import gettext as _

    from volnet.core.korean import format_phone

    header = ([_("Name"), _("Phone")] if with_person else []) + [
        _("Date"), _("Start"), _("End"), _("Hours"), _("Activity"), _("Service"), _("Place")]
    from volnet.shifts.models import SERVICES

    out = []
    for s in rows:
        o = s.occurrence
        start, end = clock.to_seoul(o.starts_at), clock.to_seoul(o.ends_at)
        row = ([s.volunteer.name, format_phone(s.volunteer.phone)] if with_person else []) + [
            start.strftime("%Y-%m-%d"), start.strftime("%H:%M"), end.strftime("%H:%M"),
            f"{(s.minutes or 0) / 60:.1f}", o.program.name, str(SERVICES.get(o.program.service, o.program.service)),
            o.meeting_place]
        out.append(row)
    return to_csv(header, out)


# --------------------------------------------------------------------------- coordinator

def org_programs(user) -> list[Program]:
    if user.organization_id is None:
        return []
    return list(db.session.scalars(select(Program).where(Program.organization_id == user.organization_id)
                                   .order_by(Program.active.desc(), Program.name)))


def coordinator_stats(user, now: datetime | None = None) -> dict:
    now = now or clock.now()
    pids = [p.id for p in org_programs(user)] or [-1]
    week = now + timedelta(days=7)
    base = and_(ShiftOccurrence.program_id.in_(pids), ShiftOccurrence.status == "scheduled")
    cap, filled = db.session.execute(
        select(func.coalesce(func.sum(ShiftOccurrence.capacity), 0), func.coalesce(func.sum(ShiftOccurrence.filled), 0))
        .where(base, ShiftOccurrence.starts_at >= now, ShiftOccurrence.starts_at < week)).one()
    # The lists show at most 50 rows each; the counts are counted, not the lists' lengths.
    open_where = (base, ShiftOccurrence.starts_at >= now, ShiftOccurrence.starts_at < week,
                  ShiftOccurrence.filled < ShiftOccurrence.capacity)
    open_next = list(db.session.scalars(
        select(ShiftOccurrence).where(*open_where).order_by(ShiftOccurrence.starts_at).limit(50)))
    open_count = db.session.scalar(select(func.count()).select_from(ShiftOccurrence).where(*open_where)) or 0
    signups = select(func.count()).select_from(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
    unconfirmed_where = (base, Signup.status == "confirmed", Signup.confirmed_at.is_(None),
                         ShiftOccurrence.starts_at >= now, ShiftOccurrence.starts_at < now + timedelta(hours=48))
    unconfirmed = list(db.session.scalars(
        select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
        .where(*unconfirmed_where).order_by(ShiftOccurrence.starts_at).limit(50)))
    no_show_where = (ShiftOccurrence.program_id.in_(pids), Signup.status == "confirmed", Signup.attended.is_(False),
                     ShiftOccurrence.starts_at >= now - timedelta(days=30))
    no_shows = list(db.session.scalars(
        select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
        .where(*no_show_where).order_by(ShiftOccurrence.starts_at.desc()).limit(50)))
    to_mark = db.session.scalar(
        select(func.count(func.distinct(ShiftOccurrence.id))).join(Signup, Signup.occurrence_id == ShiftOccurrence.id)
        .where(base, ShiftOccurrence.ends_at < now, ShiftOccurrence.ends_at >= now - timedelta(days=30),
               Signup.status == "confirmed", Signup.attended.is_(None))) or 0
    return {"capacity": int(cap), "filled": int(filled),
            "fill_rate": round(100 * int(filled) / int(cap)) if cap else None,
            "open_next": open_next, "unconfirmed": unconfirmed, "no_shows": no_shows, "to_mark": to_mark,
            "open_count": int(open_count),
            "unconfirmed_count": int(db.session.scalar(signups.where(*unconfirmed_where)) or 0),
            "no_shows_count": int(db.session.scalar(signups.where(*no_show_where)) or 0)}


def nth_weekday(year: int, month: int, n: int, weekday: int) -> date | None:
    """The n-th (1..4, or -1 for last) weekday of a month, or None when it does not exist."""
    import calendar

    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    try:
        return days[n - 1] if n > 0 else days[n]
    except IndexError:
        return None


def copy_month(user, year: int, month: int) -> tuple[int, int]:
    """Copy last month's one-off shifts of the coordinator's programs to the same weekday of the month
    (2nd Tuesday -> 2nd Tuesday), with their routes. Shifts already there are skipped. (copied, skipped)"""
    prev_y, prev_m = (year - 1, 12) if month == 1 else (year, month - 1)
    lo, hi = _month_bounds(prev_y, prev_m)
    pids = [p.id for p in org_programs(user) if p.active] or [-1]
    # Two copies at once (a double tap, two coordinators of one organization): the second waits here for
    # the first to commit and then finds its shifts already there, instead of making each one twice.
    lock_rows(Program, pids)
    src = list(db.session.scalars(select(ShiftOccurrence).where(
        ShiftOccurrence.program_id.in_(pids), ShiftOccurrence.series_id.is_(None),
        ShiftOccurrence.status == "scheduled", ShiftOccurrence.starts_at >= lo, ShiftOccurrence.starts_at < hi)
        .order_by(ShiftOccurrence.starts_at)))
    copied = skipped = 0
    now = clock.now()
    for o in src:
        local = clock.to_seoul(o.starts_at)
        n, _code = recurrence.nth_weekday_of(local.date())
        day = nth_weekday(year, month, n, local.weekday())
        if day is None:
            skipped += 1
            continue
        start = datetime.combine(day, local.time()).replace(tzinfo=clock.SEOUL).astimezone(UTC)
        end = start + (o.ends_at - o.starts_at)
        dup = db.session.scalar(select(ShiftOccurrence.id).where(
            ShiftOccurrence.program_id == o.program_id, ShiftOccurrence.starts_at == start,
            ShiftOccurrence.status == "scheduled"))
        if dup or start <= now:
            skipped += 1
            continue
        new = ShiftOccurrence(program_id=o.program_id, starts_at=start, ends_at=end, meeting_place=o.meeting_place,
                              capacity=o.capacity, filled=0, requirements=list(o.requirements or []), note=o.note,
                              status="scheduled", created_at=now, updated_at=now)
        db.session.add(new)
        db.session.flush()
        for s in stops_of(o):
            db.session.add(RouteStop(occurrence_id=new.id, household_id=s.household_id, position=s.position,
                                     note=s.note))
        copied += 1
    db.session.flush()
    return copied, skipped


def coordinators_of(program: Program) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.role == "coordinator", User.organization_id == program.organization_id, User.active.is_(True))))


def check_unfilled(now: datetime | None = None) -> int:
    """Periodic check (called by the notifications sweep or `flask volnet shifts-check`): a shift starting
    within the alert window that still has open places alerts the coordinators once."""
    now = now or clock.now()
    hours = int(settings.get("shifts.unfilled_alert_hours") or 48)
    n = 0
    for occ in db.session.scalars(select(ShiftOccurrence).where(
            ShiftOccurrence.status == "scheduled", ShiftOccurrence.starts_at > now,
            ShiftOccurrence.starts_at <= now + timedelta(hours=hours),
            ShiftOccurrence.filled < ShiftOccurrence.capacity, ShiftOccurrence.unfilled_alerted_at.is_(None))):
        if not occ.program.active:
            continue
        res = db.session.execute(update(ShiftOccurrence).where(
            ShiftOccurrence.id == occ.id, ShiftOccurrence.unfilled_alerted_at.is_(None))
            .values(unfilled_alerted_at=now).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            continue
        for c in coordinators_of(occ.program):
            _notify(c, "shift_unfilled", message_params(occ, open=occ.open_places, capacity=occ.capacity),
                    dedupe_key=f"shift:{occ.id}:unfilled:{c.id}", link=f"/shifts/{occ.id}/manage")
        n += 1
    return n


def message_shift(occ: ShiftOccurrence, actor, text: str) -> int:
    people = {s.volunteer_id: s.volunteer for s in _active_signups(occ)}
    token = secrets.token_hex(4)
    for uid, u in people.items():
        _notify(u, "shift_message", {"program": occ.program.name, "message": text},
                dedupe_key=f"shift-msg:{occ.id}:{token}:{uid}", link=f"/shifts/{occ.id}", needed_by=occ.starts_at)
    return len(people)


def message_program(program: Program, actor, text: str) -> int:
    rows = db.session.scalars(
        select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
        .where(ShiftOccurrence.program_id == program.id, ShiftOccurrence.status == "scheduled",
               ShiftOccurrence.ends_at > clock.now(), Signup.status.in_(ACTIVE)))
    people = {s.volunteer_id: s.volunteer for s in rows}
    token = secrets.token_hex(4)
    for uid, u in people.items():
        _notify(u, "shift_message", {"program": program.name, "message": text},
                dedupe_key=f"shift-msg:p{program.id}:{token}:{uid}", link="/shifts/mine")
    return len(people)


# --------------------------------------------------------------------------- calendar tokens

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_calendar_token(user) -> str:
    """A fresh private feed URL token (shown once); any previous one stops working."""
    revoke_calendar(user)
    token = secrets.token_urlsafe(24)
    db.session.add(CalendarToken(user_id=user.id, token_hash=_hash(token), created_at=clock.now()))
    db.session.flush()
    return token


def revoke_calendar(user) -> None:
    for t in db.session.scalars(select(CalendarToken).where(CalendarToken.user_id == user.id,
                                                            CalendarToken.revoked_at.is_(None))):
        t.revoked_at = clock.now()


def has_calendar(user) -> bool:
    return db.session.scalar(select(CalendarToken.id).where(CalendarToken.user_id == user.id,
                                                            CalendarToken.revoked_at.is_(None))) is not None


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.token_hash == _hash(token),
                                                        CalendarToken.revoked_at.is_(None)))
    if row is None:
        return None
    u = db.session.get(User, row.user_id)
    return u if u is not None and u.active else None


def feed_signups(user, since_days: int = 60) -> list[Signup]:
    """The volunteer's shifts for the feed: active ones and recently cancelled ones (so phones remove them)."""
    from sqlalchemy.orm import joinedload

    since = clock.now() - timedelta(days=since_days)
    return list(db.session.scalars(
        select(Signup).join(ShiftOccurrence, Signup.occurrence_id == ShiftOccurrence.id)
        .options(joinedload(Signup.occurrence).joinedload(ShiftOccurrence.program))
        .where(Signup.volunteer_id == user.id, ShiftOccurrence.ends_at >= since,
               or_(Signup.status.in_(ACTIVE), Signup.cancelled_at >= since))
        .order_by(ShiftOccurrence.starts_at).limit(500)))
