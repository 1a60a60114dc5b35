from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import joinedload

from volnet.accounts.models import User, user_dongs
from volnet.accounts.roles import CASEWORKER, NURSE, STAFF, TEAM_LEAD
from volnet.audit.services import record
from volnet.concerns import services as svc
from volnet.concerns.forms import (
    CLOSE_OUTCOMES,
    ActionForm,
    AssignForm,
    CloseForm,
    ContactForm,
    LinkForm,
    MergeForm,
    ReopenForm,
    UrgencyForm,
)
from volnet.concerns.models import (
    CONTACT_OUTCOMES,
    OPEN_STATUSES,
    OUTCOMES,
    STATUSES,
    Concern,
)
from volnet.concerns.policy import visible_dong_ids
from volnet.core import access, clock
from volnet.core.access import rule, visible
from volnet.core.cache import TTLCache
from volnet.core.i18n import labels
from volnet.core.paging import PagedQuery, RowPage, count_of
from volnet.core.web import seoul_datetime
from volnet.extensions import db
from volnet.households import services as households
from volnet.households.models import Household
from volnet.observations.signals import LEVELS, SIGNALS, SOURCES, URGENCIES, summary_shown

bp = _Blueprint("concerns", __name__, url_prefix="/concerns")

PER_PAGE = 25


def _int_arg(name):
    value = request.args.get(name, "")
    try:
        n = int(value)
    except ValueError:
        return None
    return n if 0 < n < 2**31 else None


_QC = Concern.__table__.c  # the queue is read with Core statements (rows, not entities)
_H = Household.__table__.c
_OWNER = User.__table__.alias("owner")

# Urgency first, then the nearest due time. Matches the index order (PostgreSQL sorts NULLs last by
# default), so a page is an index scan.
QUEUE_ORDER = (_QC.urgency_rank, _QC.next_due_at.asc().nulls_last(), _QC.id)
QUEUE_ROWS = (
    select(_QC.id, _QC.urgency, _QC.status, _QC.tong, _QC.summary, _QC.signal_count, _QC.next_due_at,
           _QC.household_id, _H.road_address, _H.unit, _H.name.label("household_name"), _H.alias,
           _OWNER.c.name.label("owner_name"))
    .select_from(Concern.__table__
                 .outerjoin(Household.__table__, _H.id == _QC.household_id)
                 .outerjoin(_OWNER, _OWNER.c.id == _QC.owner_id))
)
# Each filter of the query string, as a condition on bound parameters.
_FILTERS = {
    "status_open": _QC.status.in_(OPEN_STATUSES),
    "status": _QC.status == bindparam("p_status"),
    "urgency": _QC.urgency == bindparam("p_urgency"),
    "source": _QC.source == bindparam("p_source"),
    "tong": _QC.tong == bindparam("p_tong"),
    "owner": _QC.owner_id == bindparam("p_owner"),
    "owner_none": _QC.owner_id.is_(None),
    "dong": _QC.dong_id == bindparam("p_dong"),
    "overdue": _QC.next_due_at < bindparam("p_now"),
    "unlinked": _QC.household_id.is_(None),
}


def queue_filters(user, args) -> tuple[tuple[str, ...], dict]:
    """The filters asked for in the query string: which ones (the statement's shape) and their values.
    Only the dongs the concern policy lets this user see are ever listed."""
    shape: list[str] = []
    params: dict = {"p_dongs": sorted(visible_dong_ids(user)) or [-1]}
    status = args.get("status", "open")
    if status in STATUSES:
        shape.append("status")
        params["p_status"] = status
    elif status != "all":
        shape.append("status_open")
    if args.get("urgency") in URGENCIES:
        shape.append("urgency")
        params["p_urgency"] = args["urgency"]
    if args.get("source") in SOURCES:
        shape.append("source")
        params["p_source"] = args["source"]
    try:
        tong = tong_number(args.get("tong", ""))
    except ValueError:  # the page says so (queue); never a filter quietly dropped
        tong = None
    if tong:
        shape.append("tong")
        params["p_tong"] = tong
    owner = args.get("owner", "")
    if owner == "me":
        shape.append("owner")
        params["p_owner"] = user.id
    elif owner == "none":
        shape.append("owner_none")
    elif owner.isdecimal() and len(owner) < 10:
        shape.append("owner")
        params["p_owner"] = int(owner)
    dong = _int_arg("dong")
    if dong:
        shape.append("dong")
        params["p_dong"] = dong
    if args.get("overdue") == "1":
        shape.append("overdue")
        params["p_now"] = clock.now()
    if args.get("unlinked") == "1":
        shape.append("unlinked")
    return tuple(shape), params


def tong_number(text: str) -> int | None:
    """The queue's tong filter as people write it ('3', '3통', '３', ' 3 '); None when empty. ValueError when
    it is no tong number ('abc', '0', '3.5')."""
    text = (text or "").strip().removesuffix("통").strip()
    if not text:
        return None
    if not text.isdecimal() or len(text) > 9 or int(text) < 1:
        raise ValueError(text)
    return int(text)


@lru_cache(maxsize=512)
def _queue_query(shape: tuple[str, ...]) -> PagedQuery:
    """The page statements of one filter shape, built once per process: a busy page then costs
    SQLAlchemy neither building nor hashing them again (about three times less than a fresh one)."""
    conds = [_QC.dong_id.in_(bindparam("p_dongs", expanding=True)), *(_FILTERS[k] for k in shape)]
    return PagedQuery(QUEUE_ROWS.where(*conds).order_by(*QUEUE_ORDER), count_of(Concern.__table__, *conds))


# "N concerns" may be up to TOTAL_SECONDS old: counting a dong's thousand open concerns costs the database
# more than the page itself (every report touches one, so the count cannot come from the index alone).
TOTAL_SECONDS = 10
_queue_totals = TTLCache(seconds=TOTAL_SECONDS, max_items=5000)


def queue_rows(user, args, page: int) -> RowPage:
    """One page of the queue as rows of exactly the columns the page shows (no entities)."""
    shape, params = queue_filters(user, args)
    total_key = (shape, *((k, tuple(v) if isinstance(v, list) else v)
                          for k, v in sorted(params.items()) if k != "p_now"))
    return _queue_query(shape).page(params, page, PER_PAGE, totals=_queue_totals, total_key=total_key)


def _assignable(*columns):
    return (select(*columns).join(user_dongs, user_dongs.c.user_id == User.id)
            .where(user_dongs.c.dong_id == bindparam("dong_id"), User.role.in_((CASEWORKER, TEAM_LEAD, NURSE)),
                   User.active.is_(True)).order_by(User.name, User.id))


# Who a concern of a dong may be assigned to: the users (for the assignment itself), or only their names
# (for the concern page's choice list).
_ASSIGNABLE_USERS = _assignable(User)
_ASSIGNABLE = _assignable(User.id, User.name)


def _colleagues(dong_id: int):
    return list(db.session.scalars(_ASSIGNABLE_USERS, {"dong_id": dong_id}))



QueueRow = namedtuple("QueueRow", "id urgency urgency_label household unlinked tong summary signals "
                                   "status_label due overdue owner")


def present_queue(items) -> list[QueueRow]:
    """The queue's rows as the page shows them (labels in this request's language, Seoul times)."""
    now = clock.now()
    urgencies, statuses, signs = labels(URGENCIES), labels(STATUSES), labels(SIGNALS)
    t_overdue, t_due, t_unlinked, t_tong, t_unassigned = (
        _("Overdue"), _("Due"), _("Household not linked"), _("Tong %(n)d"), _("Unassigned"))
    out = []
    for r in items:
        is_open = r.status in OPEN_STATUSES
        overdue = bool(is_open and r.next_due_at is not None and r.next_due_at < now)
        due = (f"{t_overdue if overdue else t_due} · {seoul_datetime(r.next_due_at)}"
               if is_open and r.next_due_at is not None else "")
        household = None
        if r.household_id:
            who = r.household_name or r.alias
            household = f"{r.road_address} {r.unit}" + (f" · {who}" if who else "")
        out.append(QueueRow(r.id, r.urgency, urgencies.get(r.urgency, r.urgency), household, t_unlinked,
                            t_tong % {"n": r.tong} if r.tong else "", summary_shown(r.summary, signs),
                            r.signal_count if r.signal_count > 1 else None, statuses.get(r.status, r.status),
                            due, overdue, r.owner_name or t_unassigned))
    return out


@bp.route("/")
@rule(*STAFF)
def queue():
    page = request.args.get("page", 1, type=int) or 1
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    tong_error = None
    try:
        tong_number(request.args.get("tong", ""))
    except ValueError:
        tong_error = _("Tong must be a number.")
    if tong_error:  # the list as if unfiltered would mislead: the filter is refused, and says why
        pagination = RowPage([], 1, PER_PAGE, 0)
    else:
        pagination = queue_rows(current_user, request.args, page)
        if not pagination.items and pagination.total and pagination.page > pagination.pages:
            # a stale link or bookmark past the end, or the last rows of a page closed: the last page
            return redirect(url_for("concerns.queue", **args, page=pagination.pages))
    owners = _colleagues_of_user()
    return render_template("concerns/queue.html", pagination=pagination, rows=present_queue(pagination.items),
                           args=args, statuses=labels(STATUSES), urgencies=labels(URGENCIES),
                           sources=labels(SOURCES), owners=owners, tong_error=tong_error), \
        (400 if tong_error else 200)


_COLLEAGUES = (
    select(User.id, User.name).distinct()
    .join(user_dongs, user_dongs.c.user_id == User.id)
    .where(user_dongs.c.dong_id.in_(bindparam("dong_ids", expanding=True)), User.role.in_(STAFF),
           User.active.is_(True))
    .order_by(User.name, User.id)
)


Colleague = namedtuple("Colleague", "id name")
# Names for the owner filter: a busy queue page need not ask for them every time.
_colleague_names = TTLCache(seconds=30)
# The concern page's "assign to" names per dong (the assignment itself checks the users afresh: _colleagues).
_assignable_names = TTLCache(seconds=30)


def _colleagues_of_user() -> list[Colleague]:
    """Staff of the user's dongs, for the owner filter."""
    dong_ids = tuple(sorted(current_user.dong_ids)) or (-1,)
    return _colleague_names.get(dong_ids, lambda: [
        Colleague(r.id, r.name) for r in db.session.execute(_COLLEAGUES, {"dong_ids": list(dong_ids)})])


# What the concern page shows of its relations, in the statement that loads the concern.
_DETAIL_OPTIONS = (joinedload(Concern.household), joinedload(Concern.dong),
                   joinedload(Concern.owner).load_only(User.id, User.name))


@bp.route("/<int:concern_id>")
@rule(*STAFF)
def detail(concern_id: int):
    concern = access.load(Concern, concern_id, "view", options=_DETAIL_OPTIONS)
    return _page(concern)


LINK_RESULTS = 10  # households offered to link a report to; more matches: type more of the address


def _close_choices(concern):
    """A household already under regular monitoring is not put under it again (it was counted once)."""
    return [("", _("Choose the outcome…"))] + [
        (k, v) for k, v in CLOSE_OUTCOMES if not (k == "monitoring" and concern.status == "monitoring")]


def _page(concern, status: int = 200, open_block: str | None = None, **forms):
    """The concern page; ``forms`` are ones sent back with what the user typed (after a refusal)."""
    # Refused because a colleague closed (or merged) the concern meanwhile: the page has no form to put
    # the note back in, so it shows what was typed, to copy.
    kept = forms.get(open_block) if open_block and open_block != "reopen_form" and not concern.is_open else None
    typed = getattr(kept, "note", None) or getattr(kept, "reason", None)
    unsaved = (typed.data or "").strip() if typed is not None else ""
    events = svc.timeline_events(concern_id=concern.id, household_id=concern.household_id)
    assign_form = forms.pop("assign_form", None) or AssignForm(formdata=None)
    assign_form.owner_id.choices = _assignable_names.get(concern.dong_id, lambda: [
        tuple(r) for r in db.session.execute(_ASSIGNABLE, {"dong_id": concern.dong_id})])
    close_form = forms.pop("close_form", None) or CloseForm(formdata=None)
    close_form.outcome.choices = _close_choices(concern)
    link_q = request.args.get("hq", "")[:100]
    link_results = households.Matches([], 0)
    if link_q and concern.household_id is None and concern.is_open:
        link_results = households.first_matches(
            households.staff_query(current_user, link_q, dong_id=concern.dong_id)
            .order_by(None).order_by(*households.ADDRESS_ORDER), LINK_RESULTS)
    blank = {"ack_form": ActionForm, "contact_form": ContactForm, "merge_form": MergeForm, "link_form": LinkForm}
    for name, cls in blank.items():
        forms.setdefault(name, cls(formdata=None))
    forms.setdefault("urgency_form", UrgencyForm(formdata=None, urgency=concern.urgency))
    forms.setdefault("door_no_response", _door_no_response(concern, events))
    forms.setdefault("reopen_form", ReopenForm(formdata=None))
    forms.setdefault("reopen", svc.reopen_check(concern) if concern.status == "closed"
                     and access.can(current_user, "reopen", concern) else None)
    return render_template(
        "concerns/detail.html", c=concern, events=events, assign_form=assign_form, close_form=close_form,
        link_q=link_q, link_results=link_results, open_block=open_block, unsaved=unsaved,
        statuses=STATUSES, urgencies=URGENCIES, outcomes=OUTCOMES, contact_outcomes=CONTACT_OUTCOMES,
        signals=SIGNALS, levels=LEVELS, sources=SOURCES, now=clock.now(), **forms,
    ), status


def _door_no_response(concern, events) -> bool:
    """An emergency whose latest contact found no one at the door, and nobody reached since: the page says
    what to do now (112/119, the key holder; DOMAIN.md)."""
    if not concern.is_open or concern.urgency != "emergency" or concern.first_action_at is not None:
        return False
    latest = next((ev for ev in events if ev.concern_id == concern.id and ev.kind in ("contact", "visit")), None)
    return latest is not None and latest.data.get("outcome") == "visit_no_response"


def _done(concern, message, action: str, detail: str = ""):
    """Saved: the audit row names the action (the search page's action filter finds it) and how, in a short
    detail without personal data (old -> new, the outcome code); then commit and back to the concern."""
    record(current_user, action, "concern", concern.id, detail)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("concerns.detail", concern_id=concern.id))


def _failed(concern, form=None, exc=None, keep: str | None = None):
    """Refused: say why. With ``keep`` (the page's name of ``form``) the page is shown again with what
    was typed in that form, instead of a redirect that would lose it."""
    db.session.rollback()
    shown_again = bool(keep and form is not None)
    if exc is not None:
        flash(str(exc), "error")
    else:
        errors = form.errors or {}  # (a stale form token never gets here: core.web.form_expired answers it)
        if shown_again:
            # The page shows each field's error under the field: said once, not in the flash too.
            msgs = [_("Please correct the marked fields.")] if errors else []
        else:
            msgs = [str(e) for errs in errors.values() for e in errs]
        flash(" ".join(msgs) or _("Please check the form."), "error")
    if shown_again:
        concern = access.load(Concern, concern.id, "view", audit=False, options=_DETAIL_OPTIONS)
        return _page(concern, 400, open_block=keep, **{keep: form})
    return redirect(url_for("concerns.detail", concern_id=concern.id))


@bp.route("/<int:concern_id>/acknowledge", methods=["POST"])
@rule(*STAFF)
def acknowledge(concern_id: int):
    concern = access.load(Concern, concern_id, "acknowledge", audit=False, lock=True)
    form = ActionForm()
    if not form.validate_on_submit():
        return _failed(concern, form)
    try:
        svc.acknowledge(concern, current_user)
    except svc.ConcernError as exc:
        return _failed(concern, exc=exc)
    return _done(concern, _("Acknowledged."), "acknowledge")


@bp.route("/<int:concern_id>/assign", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def assign(concern_id: int):
    concern = access.load(Concern, concern_id, "assign", audit=False, lock=True)
    form = AssignForm()
    colleagues = {u.id: u for u in _colleagues(concern.dong_id)}
    form.owner_id.choices = [(uid, u.name) for uid, u in colleagues.items()]
    if not form.validate_on_submit():
        return _failed(concern, form)
    owner = colleagues[form.owner_id.data]
    # Caseworkers take a concern or hand an unowned/own one to a colleague; team leads reassign anything.
    if current_user.role != TEAM_LEAD and concern.owner_id not in (None, current_user.id):
        flash(_("Only the team lead can reassign a colleague's concern."), "error")
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    old_owner = concern.owner_id
    try:
        svc.assign(concern, owner, current_user)
    except svc.ConcernError as exc:
        return _failed(concern, exc=exc)
    return _done(concern, _("Owner changed to %(name)s.", name=owner.name), "assign",
                 f"owner {old_owner or '-'} → {owner.id}")


@bp.route("/<int:concern_id>/contact", methods=["POST"])
@rule(*STAFF)
def contact(concern_id: int):
    concern = access.load(Concern, concern_id, "contact", audit=False, lock=True)
    form = ContactForm()
    if not form.validate_on_submit():
        return _failed(concern, form, keep="contact_form")
    at = clock.from_seoul_naive(form.at.data) if form.at.data else None
    try:
        reached = svc.record_contact(concern, current_user, form.outcome.data, form.note.data or "", at)
    except svc.ConcernError as exc:
        return _failed(concern, form, exc=exc, keep="contact_form")
    return _done(concern, _("Contact recorded.") if reached else
                 _("Attempt recorded. Nobody was reached, so the contact or visit is still due."),
                 "contact", f"outcome={form.outcome.data}")


@bp.route("/<int:concern_id>/urgency", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def urgency(concern_id: int):
    concern = access.load(Concern, concern_id, "urgency", audit=False, lock=True)
    form = UrgencyForm()
    if not form.validate_on_submit():
        return _failed(concern, form, keep="urgency_form")
    old_urgency = concern.urgency
    try:
        svc.change_urgency(concern, current_user, form.urgency.data, form.reason.data)
    except svc.ConcernError as exc:
        return _failed(concern, form, exc=exc, keep="urgency_form")
    return _done(concern, _("Urgency changed."), "urgency", f"{old_urgency} → {concern.urgency}")


@bp.route("/<int:concern_id>/close", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def close(concern_id: int):
    concern = access.load(Concern, concern_id, "close", audit=False, lock=True)
    form = CloseForm()
    if not form.validate_on_submit():
        return _failed(concern, form, keep="close_form")
    if request.form.get("back"):  # from the confirmation: the form again, as it was filled in
        return _page(concern, open_block="close_form", close_form=form)
    outcome, note = form.outcome.data, form.note.data or ""
    try:
        svc.check_close(concern, current_user, outcome, note)
    except svc.NoteRequired as exc:  # said under the note field
        form.note.errors = [*form.note.errors, str(exc)]
        return _failed(concern, form, keep="close_form")
    except svc.ConcernError as exc:
        return _failed(concern, form, exc=exc, keep="close_form")
    if request.form.get("confirmed") != "1":
        # Asked first, on a page of its own (works without JavaScript): what it closes as and what it leaves.
        return render_template("concerns/close_confirm.html", c=concern, form=form, outcomes=OUTCOMES,
                               becomes_owner=concern.owner_id is None and current_user.role == CASEWORKER,
                               reopen_days=svc.REOPEN_DAYS)
    try:
        svc.close(concern, current_user, outcome, note)
    except svc.ConcernError as exc:
        return _failed(concern, form, exc=exc, keep="close_form")
    return _done(concern, _("The concern has been closed.") if concern.status == "closed"
                 else _("The household is now under regular monitoring."),
                 "close" if concern.status == "closed" else "monitoring", f"outcome={concern.outcome}")


@bp.route("/<int:concern_id>/reopen", methods=["POST"])
@rule(TEAM_LEAD)
def reopen(concern_id: int):
    """A team lead opens a concern closed by mistake again, with a reason (services.reopen)."""
    concern = access.load(Concern, concern_id, "reopen", audit=False, lock=True)
    form = ReopenForm()
    if not form.validate_on_submit():
        return _failed(concern, form, keep="reopen_form")
    try:
        svc.reopen(concern, current_user, form.reason.data)
    except svc.ConcernError as exc:
        return _failed(concern, exc=exc)
    record(current_user, "reopen", "concern", concern.id)
    db.session.commit()
    flash(_("The concern has been reopened. Its due times run from now."), "success")
    return redirect(url_for("concerns.detail", concern_id=concern.id))


@bp.route("/<int:concern_id>/merge", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def merge(concern_id: int):
    concern = access.load(Concern, concern_id, "merge", audit=False)
    form = MergeForm()
    if not form.validate_on_submit():
        return _failed(concern, form)
    target = db.session.get(Concern, form.target_id.data)
    if target is None or not access.can(current_user, "merge", target):
        flash(_("No concern with that number in your dongs."), "error")
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    # Both rows locked, in id order (two opposite merges at once take turns instead of deadlocking),
    # and read again: a report or a colleague may have changed either since the page was shown.
    list(db.session.scalars(select(Concern).where(Concern.id.in_((concern.id, target.id)))
                            .order_by(Concern.id).with_for_update()
                            .execution_options(populate_existing=True)))
    try:
        svc.merge(concern, target, current_user)
    except svc.ConcernError as exc:
        return _failed(concern, exc=exc)
    record(current_user, "merge", "concern", concern.id, f"into={target.id}")
    record(current_user, "merge", "concern", target.id, f"merged={concern.id}")
    db.session.commit()
    flash(_("Merged into concern %(n)d.", n=target.id), "success")
    return redirect(url_for("concerns.detail", concern_id=target.id))


@bp.route("/<int:concern_id>/link", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def link(concern_id: int):
    concern = access.load(Concern, concern_id, "link", audit=False, lock=True)
    form = LinkForm()
    if not form.validate_on_submit():
        return _failed(concern, form)
    try:
        # Locked too: two concerns linked to one household at once must end as one (the second merges).
        household = access.load(Household, form.household_id.data, "edit", audit=False, lock=True)
    except Exception:  # noqa: BLE001 - a 404 from load: unknown or another dong's household
        db.session.rollback()
        flash(_("That household cannot be linked."), "error")
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    try:
        result = svc.link_household(concern, household, current_user)
    except svc.ConcernError as exc:
        return _failed(concern, exc=exc)
    # The household already had an open concern: this one was merged into it (services.link_household).
    record(current_user, "link", "concern", concern.id,
           f"household={household.id}" + (f" into={result.id}" if result.id != concern.id else ""))
    if result.id != concern.id:
        record(current_user, "merge", "concern", result.id, f"merged={concern.id}")
    db.session.commit()
    flash(_("The household has been linked."), "success")
    return redirect(url_for("concerns.detail", concern_id=result.id))


@bp.route("/team")
@rule(TEAM_LEAD)
def team():
    """The team lead's view: every concern in their dongs, overdue counts per caseworker."""
    now = clock.now()
    vis = visible(current_user, Concern)
    open_ = and_(vis, Concern.status.in_(OPEN_STATUSES))
    overdue_expr = func.sum(case((Concern.next_due_at < now, 1), else_=0))
    per_owner = db.session.execute(
        select(Concern.owner_id, func.count(), overdue_expr).where(open_).group_by(Concern.owner_id)
    ).all()
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_([r[0] for r in per_owner if r[0]] or [-1])))}
    rows = sorted(
        ({"owner": users.get(oid), "open": n, "overdue": int(od or 0)} for oid, n, od in per_owner),
        key=lambda r: (-r["overdue"], -r["open"]))
    by_urgency = dict(db.session.execute(
        select(Concern.urgency, func.count()).where(open_).group_by(Concern.urgency)).all())
    overdue = list(db.session.scalars(
        select(Concern).options(joinedload(Concern.household), joinedload(Concern.owner))
        .where(open_, Concern.next_due_at < now)
        .order_by(Concern.urgency_rank, Concern.next_due_at).limit(50)))
    return render_template("concerns/team.html", rows=rows, by_urgency=by_urgency, overdue=overdue,
                           urgencies=URGENCIES, statuses=STATUSES, now=now)


from volnet.concerns import transfer  # noqa: E402,F401  (registers "move to another dong" on bp)
