from __future__ import annotations

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from volnet.accounts.roles import CASEWORKER, STAFF, TEAM_LEAD
from volnet.audit.services import record
from volnet.concerns import services as concern_services
from volnet.concerns.models import CONTACT_OUTCOMES, OPEN_STATUSES, OUTCOMES, STATUSES, Concern
from volnet.core import access
from volnet.core.access import rule
from volnet.core.korean import normalize_phone
from volnet.extensions import db
from volnet.households import merge as merging
from volnet.households import services as svc
from volnet.households.forms import (
    AGE_BAND_CHOICES,
    LIVES_ALONE_VALUES,
    SEX_CHOICES,
    STATUS_CHOICES,
    HouseholdForm,
    MergeForm,
)
from volnet.households.models import Household
from volnet.households.summary import care_summary
from volnet.observations.models import Observation
from volnet.observations.signals import LEVELS, SIGNALS, URGENCIES

bp = _Blueprint("households", __name__, url_prefix="/households")


@bp.route("/")
@rule(*STAFF)
def index():
    q = request.args.get("q", "")[:100]
    status = request.args.get("status", "")
    status = status if status in dict(STATUS_CHOICES) else ""
    tong = request.args.get("tong", type=int)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = svc.staff_query(current_user, q, tong=tong if tong and 0 < tong < 1000 else None,
                           status=status or None).options(joinedload(Household.dong))
    pagination = db.paginate(stmt, page=page, per_page=25, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("households/index.html", pagination=pagination, q=q, args=args,
                           statuses=dict(STATUS_CHOICES))


@bp.route("/<int:household_id>")
@rule(*STAFF)
def detail(household_id: int):
    try:
        h = access.load(Household, household_id, "view", options=(joinedload(Household.dong),))
    except NotFound:
        into = merging.merged_into(household_id) if 0 < household_id < 2**31 else None
        kept = db.session.get(Household, into) if into is not None else None
        if kept is None or not access.can(current_user, "view", kept):
            raise
        flash(_("Household record %(n)d was merged into this one.", n=household_id), "info")
        return redirect(url_for("households.detail", household_id=into))
    concerns = list(db.session.scalars(select(Concern).where(Concern.household_id == h.id)
                                       .order_by(Concern.opened_at.desc()).limit(50)))
    open_concern = next((c for c in concerns if c.status in OPEN_STATUSES), None)
    events = concern_services.timeline_events(household_id=h.id)
    from volnet.shifts import services as shifts
    from volnet.shifts.models import OUTCOMES as DOOR_OUTCOMES
    from volnet.shifts.models import SERVICES as SHIFT_SERVICES

    return render_template("households/detail.html", h=h, concerns=concerns, open_concern=open_concern,
                           care=care_summary(current_user, h),
                           visits=shifts.household_visits(h.id), door_outcomes=DOOR_OUTCOMES,
                           shift_services=SHIFT_SERVICES,
                           events=events, statuses=STATUSES, signals=SIGNALS, urgencies=URGENCIES,
                           contact_outcomes=CONTACT_OUTCOMES, outcomes=OUTCOMES, levels=LEVELS,
                           ages=dict(AGE_BAND_CHOICES), sexes=dict(SEX_CHOICES), hstatuses=dict(STATUS_CHOICES))


def _dong_choices():
    return [(d.id, d.full_name) for d in current_user.dongs]


@bp.route("/new", methods=["GET", "POST"])
@rule(CASEWORKER, TEAM_LEAD)
def new():
    form = HouseholdForm()
    form.dong_id.choices = _dong_choices()
    link_concern = request.args.get("link_concern", type=int)
    valid = form.validate_on_submit()
    same = _same_address(form) if valid else []
    if valid and not same:
        svc.note_household_added(form.dong_id.data)  # first: it takes the dong's additions in turn
        h = Household(created_by_id=current_user.id)
        _fill(h, form)
        db.session.add(h)
        db.session.flush()
        record(current_user, "create", "household", h.id)
        target = url_for("households.detail", household_id=h.id)
        if link_concern:
            concern = db.session.get(Concern, link_concern)
            if concern is not None and access.can(current_user, "link", concern) and concern.is_open:
                from volnet.concerns import services as concerns

                try:
                    result = concerns.link_household(concern, h, current_user)
                    target = url_for("concerns.detail", concern_id=result.id)
                except concerns.ConcernError as exc:
                    flash(str(exc), "error")
            elif concern is not None and access.can(current_user, "link", concern):
                flash(_("The report was not linked to it: it has been closed or merged meanwhile."), "warning")
        db.session.commit()
        flash(_("The household has been saved."), "success")
        return redirect(target)
    concern = _concern_to_link(link_concern)
    reports = _reports_of(concern) if concern is not None and concern.household_id is None else []
    if request.method == "GET" and concern is not None:
        _prefill_from_reports(form, concern, reports)
    return render_template("households/form.html", form=form, h=None, same=same,
                           link_to=concern if same else None, for_concern=concern, reports=reports,
                           signals=SIGNALS, ages=dict(AGE_BAND_CHOICES), sexes=dict(SEX_CHOICES)), \
        (400 if request.method == "POST" else 200)


def _concern_to_link(concern_id: int | None) -> Concern | None:
    """The open concern a new household is added for (from its page), if this user may link it."""
    if not concern_id or not 0 < concern_id < 2**31:
        return None
    concern = db.session.get(Concern, concern_id)
    if concern is None or not concern.is_open or not access.can(current_user, "link", concern):
        return None
    return concern


def _reports_of(concern: Concern) -> list[Observation]:
    """The reports of a concern not yet tied to a household, newest first: what the page shows of them
    (where, what was seen, about whom) is what the caseworker types the household from."""
    record(current_user, "view", "concern", concern.id)
    return list(db.session.scalars(select(Observation).where(Observation.concern_id == concern.id)
                                   .order_by(Observation.created_at.desc(), Observation.id.desc()).limit(5)))


def _prefill_from_reports(form: HouseholdForm, concern: Concern, reports: list[Observation]) -> None:
    """A blank form for a report starts from what the report says: its dong, its location in words (to
    correct into a road-name address), the person's sex and age band."""
    form.dong_id.data = concern.dong_id
    where = next((o.location_text.strip() for o in reports if (o.location_text or "").strip()), "")
    if where:
        form.road_address.data = where[:200]
    sexes, ages = dict(SEX_CHOICES), dict(AGE_BAND_CHOICES)
    sex = next((o.subject_sex for o in reports if o.subject_sex in sexes and o.subject_sex != "unknown"), None)
    age = next((o.subject_age_band for o in reports
                if o.subject_age_band in ages and o.subject_age_band != "unknown"), None)
    if sex:
        form.sex.data = sex
    if age:
        form.age_band.data = age


@bp.route("/<int:household_id>/edit", methods=["GET", "POST"])
@rule(CASEWORKER, TEAM_LEAD)
def edit(household_id: int):
    h = access.load(Household, household_id, "edit")
    form = HouseholdForm(obj=h)
    form.dong_id.choices = _dong_choices()
    if request.method == "GET":
        form.phone.data = h.phone_display
    if form.lives_alone.data not in LIVES_ALONE_VALUES:  # the record's answer (a form that left it out keeps it)
        form.lives_alone.data = {True: "yes", False: "no"}.get(h.lives_alone, "")
    moved = (form.dong_id.data, form.road_address.data, form.unit.data or "") != (h.dong_id, h.road_address, h.unit)
    valid = form.validate_on_submit()
    same = _same_address(form, h) if valid and moved else []
    if valid and not same:
        if moved:
            svc.note_household_added(form.dong_id.data)  # at another address now: as if added there
        _fill(h, form)
        concern_services.follow_household(h)  # its open concern is listed under the new tong
        record(current_user, "update", "household", h.id)
        db.session.commit()
        flash(_("The household has been saved."), "success")
        return redirect(url_for("households.detail", household_id=h.id))
    return render_template("households/form.html", form=form, h=h, same=same), \
        (400 if request.method == "POST" else 200)


@bp.route("/<int:household_id>/merge", methods=["GET"])
@rule(CASEWORKER, TEAM_LEAD)
def merge_page(household_id: int):
    """Merge another record of this household into this one: pick it, compare, confirm (then ``merge``)."""
    keep = access.load(Household, household_id, "edit", options=(joinedload(Household.dong),))
    return _merge_page(keep, MergeForm(), request.args.get("other", type=int), 200)


@bp.route("/<int:household_id>/merge", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def merge(household_id: int):
    keep = access.load(Household, household_id, "edit", audit=False, options=(joinedload(Household.dong),))
    form = MergeForm()
    if not form.validate_on_submit():
        return _merge_page(keep, form, form.other_id.data, 400)
    other_id = form.other_id.data
    dup, kept = merging.lock(other_id, keep.id)
    if dup is None or kept is None or not access.can(current_user, "edit", dup):
        db.session.rollback()
        flash(_("No household with that number in your dongs."), "error")
        return redirect(url_for("households.merge_page", household_id=household_id))
    try:
        merging.merge(dup, kept, current_user)
    except merging.MergeError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("households.merge_page", household_id=household_id, other=other_id))
    record(current_user, "merge", "households", kept.id, detail=f"merged={other_id}")
    db.session.commit()
    flash(_("Household record %(n)d has been merged into this one.", n=other_id), "success")
    return redirect(url_for("households.detail", household_id=kept.id))


def _merge_page(keep: Household, form: MergeForm, other_id: int | None, status: int):
    other = None
    if other_id:
        other = db.session.get(Household, other_id) if 0 < other_id < 2**31 else None
        if other is None or not access.can(current_user, "edit", other) or other.id == keep.id:
            other = None
            flash(_("No household with that number in your dongs."), "error")
    if other is not None:
        record(current_user, "view", "households", other.id)
        form.other_id.data = other.id
        return render_template("households/merge.html", h=keep, other=other, form=form,
                               problems=merging.conflicts(other, keep),
                               counts={keep.id: merging.counts(keep), other.id: merging.counts(other)},
                               ages=dict(AGE_BAND_CHOICES), sexes=dict(SEX_CHOICES),
                               hstatuses=dict(STATUS_CHOICES)), status
    q = request.args.get("q", "")[:100].strip()
    candidates = svc.at_address(keep.dong_id, keep.road_address, keep.unit, exclude_id=keep.id, limit=20)
    found = []
    if q:
        found = [o for o in db.session.scalars(svc.staff_query(current_user, q, dong_id=keep.dong_id).limit(21))
                 if o.id != keep.id][:20]
    return render_template("households/merge.html", h=keep, other=None, form=form, q=q,
                           candidates=candidates, found=found), status


def _same_address(form: HouseholdForm, h: Household | None = None) -> list[Household]:
    """Other households of the dong at the address the form gives, unless the user has confirmed that this
    is another household there: saving then waits for that answer, so a second record of one person (two
    timelines, two open concerns) is not made by mistake. Empty when there are none or it was confirmed."""
    if form.same_address_ok.data:
        return []
    svc.take_dong_additions(form.dong_id.data)  # two people adding the same household at once take turns
    return svc.at_address(form.dong_id.data, form.road_address.data, form.unit.data or "",
                          exclude_id=h.id if h is not None else None)


def _fill(h: Household, form: HouseholdForm) -> None:
    h.dong_id = form.dong_id.data
    h.road_address = form.road_address.data
    h.unit = form.unit.data or ""
    h.jibun_address = form.jibun_address.data or ""
    h.tong = form.tong.data
    h.ban = form.ban.data
    h.name = form.name.data or None
    h.alias = form.alias.data or None
    h.phone = normalize_phone(form.phone.data)
    h.birth_date = form.birth_date.data
    h.sex = form.sex.data
    h.age_band = form.age_band.data
    h.lives_alone = LIVES_ALONE_VALUES.get(form.lives_alone.data)
    h.status = form.status.data
    h.delivery_note = form.delivery_note.data or ""
    h.refresh_keys()
