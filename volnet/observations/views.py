from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from volnet.accounts import tongs as account_tongs
from volnet.accounts.roles import KNOWS_NEIGHBOURS, REPORTERS, TONG_LEADER
from volnet.concerns.models import COARSE_STATUS, Concern
from volnet.core import access, clock
from volnet.core.access import rule
from volnet.core.dbsetup import autocommit_when
from volnet.extensions import db
from volnet.households import services as households
from volnet.households.merge import merged_into
from volnet.households.models import Household
from volnet.observations import services as observations
from volnet.observations.forms import (
    ADDRESS_OR_SEARCH,
    ObservationForm,
    QuickAddObservationForm,
    now_local_input,
)
from volnet.observations.models import Observation
from volnet.observations.signals import SIGNALS, URGENCIES, WARNING_SIGNS
from volnet.places import services as places
from volnet.places.models import Dong

bp = _Blueprint("observations", __name__)


EMERGENCY_NUMBERS = (("119", "Fire and ambulance"), ("112", "Police"))


def _dong_choices():
    return [(d.id, d.full_name) for d in current_user.dongs if d.active]


def _dong_ids_for_validation() -> list[tuple[int, str]]:
    """The choices a posted dong is checked against: the user's active dongs, ids only (no names to
    load when the form is not shown again)."""
    return [(i, "") for i in sorted(places.active_among(current_user.dong_ids))]


# Who may look the dong's recorded households up before reporting (DOMAIN.md, privacy): the neighbourhood's
# own eyes (tong leaders, honorary officers, care corps) and the centre's staff. Partner staff see nothing
# after submitting, volunteers only the households of their own shifts, coordinators their programmes'
# households: they type the address, and the quick add finds a recorded household by that exact address.
LOOKS_UP_HOUSEHOLDS = KNOWS_NEIGHBOURS


@bp.route("/report")
@rule(*REPORTERS)
def start():
    """Step 1 on a phone: find the household by address, or go straight to the form."""
    may_search = current_user.role in LOOKS_UP_HOUSEHOLDS
    q = request.args.get("q", "")[:100] if may_search else ""
    results = households.search_for_reporter(current_user, q) if q else households.Matches([], 0)
    shows_names = current_user.role in KNOWS_NEIGHBOURS
    tongs = None
    if current_user.role == TONG_LEADER:  # names in their own tongs only (households.names_known)
        tongs = _tongs_label(account_tongs.of_user(current_user.id))
        shows_names = bool(tongs)
    return render_template("observations/start.html", q=q, results=results, shows_names=shows_names,
                           may_search=may_search, tongs=tongs)


def _tongs_label(by_dong: dict[int, list[int]]) -> str:
    """'7통, 12통'; with tongs in several dongs, each after its dong's name ('송산3동 7통, 민락동 3통')."""
    from volnet.households.models import tong_ban_label

    names = {d.id: d.name for d in current_user.dongs} if len(by_dong) > 1 else {}
    return ", ".join(f"{names[d]} {tong_ban_label(n)}" if d in names else tong_ban_label(n)
                     for d, numbers in by_dong.items() for n in numbers)


@bp.route("/report/emergency")
@rule(*REPORTERS)
def emergency():
    """Emergency first: call 119/112 now, then the report can go on."""
    return render_template("observations/emergency.html", household_id=request.args.get("household_id", ""))


def _one_statement_report(req) -> bool:
    # A report about a chosen household is saved in one statement (observations.pg_submit); reports that
    # first add the household need a transaction.
    return req.method == "POST" and bool(req.form.get("household_id"))


@bp.route("/report/new", methods=["GET", "POST"])
@rule(*REPORTERS)
@autocommit_when(_one_statement_report)
def new():
    hid = request.values.get("household_id") or None
    # A chosen household needs none of the address fields (fewer fields to bind on every report).
    form = ObservationForm() if hid else QuickAddObservationForm()
    posted = request.method == "POST"
    form.dong_id.choices = _dong_ids_for_validation() if posted else _dong_choices()
    if not form.dong_id.choices:
        flash(_("Your account is not tied to any dong yet. Ask your administrator."), "error")
        return redirect(url_for("observations.mine"))
    household = None
    context = None
    if hid:
        try:
            hid_value = int(hid)
        except (TypeError, ValueError):
            abort(404)
        if not 0 < hid_value < 2**31:
            abort(404)
        if posted:  # one statement: the household, this person's recent reports, a repeat of this form
            context = observations.report_context(hid_value, current_user.id, request.form.get("client_token"),
                                                  REPORT_WINDOW)
            household = context.household
            if household is None and (into := merged_into(hid_value)) is not None:
                # a form opened before its household's record was merged into another: the report goes there
                context = observations.report_context(into, current_user.id, request.form.get("client_token"),
                                                      REPORT_WINDOW)
                household = context.household
                form.household_id.data = str(into)
        else:
            household = db.session.get(Household, hid_value)
            if household is None and (into := merged_into(hid_value)) is not None:
                return redirect(url_for("observations.new", **{**request.args.to_dict(), "household_id": into}))
        if household is None or not access.can(current_user, "report", household):
            abort(404)
    if not posted:
        form.client_token.data = uuid.uuid4().hex
        form.seen_at.data = None
        if household is not None:
            form.household_id.data = str(household.id)
            form.dong_id.data = household.dong_id
        if request.args.get("urgency") in URGENCIES:
            form.urgency.data = request.args["urgency"]
    if household is not None:
        form.dong_id.data = household.dong_id
    if form.validate_on_submit():
        if context is None:
            context = observations.report_context(None, current_user.id, form.client_token.data, REPORT_WINDOW)
        if context.existing_id is not None:  # the same form again (double tap, retry): the first one stands
            return redirect(_sent_url(obs_id=context.existing_id))
        obs = _observation_from(form)
        # The same report sent again (back button, then send: a new token): the first one stands.
        if (first := observations.same_report(context.last_here_id, obs)) is not None:
            return redirect(_sent_url(obs_id=first.id, again=1))
        if context.recent >= REPORT_LIMIT:
            flash(_("Too many reports in a short time. Please wait a few minutes."), "error")
            return _form_page(form, household, 429)
        if household is None:
            if form.dong_id.data not in current_user.dong_ids:
                abort(404)
            household, created = households.find_or_create(
                current_user, form.dong_id.data, form.road_address.data, form.unit.data or "",
                form.tong.data, form.ban.data, form.name.data or None,
                {"yes": True, "no": False}.get(form.lives_alone.data), form.age_band.data)
            if not created:  # a household already recorded: this may be the same report again
                last = observations.last_report_about(household.id, current_user.id, REPORT_WINDOW)
                if (first := observations.same_report(last, obs)) is not None:
                    db.session.rollback()
                    return redirect(_sent_url(obs_id=first.id, again=1))
            # The address as the reporter wrote it: what their own list shows them.
            obs.location_text = household_typed(form)[:300]
        obs.dong_id, obs.household_id, obs.household = household.dong_id, household.id, household
        try:
            obs, _created = observations.submit(obs, current_user, token_checked=True, audit=True)
        except observations.DuplicateReport:  # its twin was saved a moment ago by a parallel request
            db.session.rollback()
            twin = observations.find_by_token(obs.client_token)
            if twin is None:
                raise
            return redirect(_sent_url(obs_id=twin.id))
        obs_id, alert = obs.id, obs.urgency in hooks_urgencies()
        db.session.commit()
        if alert:
            _after_commit(obs_id)
        # The page it leads to thanks the reporter (no flash: the session cookie stays as it is).
        return redirect(_sent_url(obs_id=obs_id))
    return _form_page(form, household, 400 if posted else 200)


def _observation_from(form) -> Observation:
    """The report as the form says it (its household is set once it is known)."""
    seen = clock.from_seoul_naive(form.seen_at.data) if form.seen_at.data else clock.now()
    return Observation(
        reporter_id=current_user.id,
        source="staff" if current_user.role in ("caseworker", "team_lead", "nurse") else "observation",
        urgency=form.urgency.data, signals=list(form.signals.data or []),
        meals=form.meals.data or "", hygiene=form.hygiene.data or "", note=form.note.data or "",
        seen_at=seen, client_token=(form.client_token.data or uuid.uuid4().hex)[:64],
    )


def household_typed(form) -> str:
    return f"{(form.road_address.data or '').strip()} {(form.unit.data or '').strip()}".strip()


# A reporter may send 30 reports in 10 minutes (a tong leader walking a building floor by floor).
REPORT_LIMIT = 30
REPORT_WINDOW = timedelta(minutes=10)


def _form_page(form, household, status: int):
    form.dong_id.choices = _dong_choices()  # with names, for the page
    road = getattr(form, "road_address", None)
    if road is not None and road.errors and current_user.role not in LOOKS_UP_HOUSEHOLDS:
        # They have no household search to choose from: the message says only what they can do.
        road.errors = [_("Enter the address of the household you saw.") if str(e) == str(ADDRESS_OR_SEARCH) else e
                       for e in road.errors]
    return render_template("observations/form.html", form=form, household=household,
                           now_value=now_local_input(), warning=WARNING_SIGNS), status


def hooks_urgencies() -> tuple[str, ...]:
    from volnet.notifications import hooks

    return hooks.ALERT_URGENCIES


def _after_commit(obs_id: int) -> None:
    """Emergency and urgent reports alert the caseworker at once; enqueued only after commit."""
    try:
        from volnet.notifications import hooks

        hooks.observation_submitted(obs_id)
    except Exception:  # noqa: BLE001 - the report is saved; the periodic sweep sends what is due
        import logging

        logging.getLogger(__name__).exception("after-commit notification failed for observation %s", obs_id)


def _sent_url(obs_id: int, **kw) -> str:
    """The sent page; a report started from a stop of a volunteer's route keeps that stop (``stop``), so that
    the page can lead back to the route."""
    stop = request.args.get("stop", "")[:12]
    return url_for("observations.sent", obs_id=obs_id, **kw, **({"stop": stop} if stop else {}))


def _route_back(obs) -> str | None:
    """Back to the route this report was started from ("Worried" at a door), for the volunteer of that shift."""
    stop = request.args.get("stop")
    if not stop:
        return None
    try:
        from volnet.shifts import services as shifts
    except ImportError:
        return None
    occ_id = shifts.route_back(current_user, stop, obs.household_id)
    return url_for("shifts.route", occ_id=occ_id, _anchor=f"stop-{int(stop)}") if occ_id else None


@bp.route("/report/sent/<int:obs_id>")
@rule(*REPORTERS)
def sent(obs_id: int):
    obs = access.load(Observation, obs_id, "view_own", audit=False)
    return render_template("observations/sent.html", obs=obs, signals=SIGNALS, again=bool(request.args.get("again")),
                           route_back=_route_back(obs))


@bp.route("/my/reports")
@rule(*REPORTERS)
def mine():
    """The reporter's own reports with a coarse status only (received / being checked / handled)."""
    page = request.args.get("page", 1, type=int)
    # The household's recorded address only to those who may look the dong's households up; the others
    # see the address as they typed it (a household's record may since say more, or somewhere else).
    shows_addresses = current_user.role in KNOWS_NEIGHBOURS
    stmt = (select(Observation).where(Observation.reporter_id == current_user.id)
            .order_by(Observation.created_at.desc(), Observation.id.desc()))
    if shows_addresses:
        stmt = stmt.options(joinedload(Observation.household).load_only(Household.road_address, Household.unit))
    pagination = db.paginate(stmt, page=max(page, 1), per_page=20, error_out=False)
    if not pagination.items and pagination.total and page > pagination.pages:
        # a stale or edited link past the end: the last page (the reports are there)
        return redirect(url_for("observations.mine", page=pagination.pages))
    states = coarse_states([o.concern_id for o in pagination.items])
    statuses = {cid: str(COARSE_STATUS[state]) for cid, state in states.items()}
    badges = {cid: STATUS_BADGES.get(state, "badge-routine") for cid, state in states.items()}
    return render_template("observations/mine.html", pagination=pagination, statuses=statuses, badges=badges,
                           signals=SIGNALS, shows_addresses=shows_addresses)


# One look per coarse status: received (the centre's blue), being checked (neutral), handled (green).
STATUS_BADGES = {"new": "badge-new", "closed": "badge-ok"}


def coarse_statuses(concern_ids) -> dict[int, str]:
    """concern id -> coarse status text, following merges, in a bounded number of queries."""
    return {cid: str(COARSE_STATUS[state]) for cid, state in coarse_states(concern_ids).items()}


def coarse_states(concern_ids) -> dict[int, str]:
    """concern id -> the status its coarse status is told from, following merges, in a bounded number
    of queries."""
    wanted = {cid for cid in concern_ids if cid}
    found: dict[int, Concern] = {}
    for _hop in range(5):
        missing = wanted - set(found)
        if not missing:
            break
        for c in db.session.scalars(select(Concern).where(Concern.id.in_(missing))):
            found[c.id] = c
        wanted |= {c.merged_into_id for c in found.values() if c.status == "merged" and c.merged_into_id}
    out = {}
    for cid in concern_ids:
        c = found.get(cid) if cid else None
        hops = 0
        while c is not None and c.status == "merged" and c.merged_into_id in found and hops < 5:
            c = found[c.merged_into_id]
            hops += 1
        out[cid] = c.status if c else "new"
    return out


__all__ = ["Dong", "EMERGENCY_NUMBERS"]
from volnet.observations import public  # noqa: E402,F401  (registers the public pages on bp)
