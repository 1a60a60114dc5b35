"""Merging two records of one household: everything recorded about the duplicate moves to the record kept.

Two records of one person come from an address written two ways ("101동 202호" and "101-202"), from a crisis
list row that did not match, or from "another household at the same address" ticked by mistake. Each has
its own timeline, concerns and calls, so a caseworker sees half the picture on either. ``merge`` moves
the duplicate's rows to the record kept in one transaction and deletes the duplicate:

- its observations, timeline and closed concerns move; an open concern on both is merged into the kept
  record's (the usual concern merge: the more urgent urgency wins, the timeline is one);
- integrated cases, service linkages, safety-call plans, tasks and records, screenings, tier history and
  crisis-list rows move. Two open cases or two active call plans are not merged: which one goes on is a
  caseworker's decision, so the merge is refused with a message until one is closed or ended;
- indicators of the same list round and RRN links the kept record already has are dropped as duplicates;
  shift routes visit the kept household (once, where both were on one route);
- the kept record's empty fields (name, phone, birth date ...) are filled from the duplicate; its tier is
  the higher of the two, and its risk score is computed again.

Every table that refers to a household is listed in ``HANDLED``; a test checks the list against the models,
so a new table cannot be forgotten. Does not commit.
"""
from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import aliased

from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.households import services as households
from volnet.households.models import Household, MergedHousehold

# table name -> how its household_id is handled (documentation for the completeness test and for readers)
HANDLED = {
    "observations": "moved",
    "concerns": "moved; an open concern on both is merged into the kept record's",
    "concern_events": "moved",
    "cases": "moved; refused when both have an open case",
    "service_linkages": "moved",
    "call_enrollments": "moved; refused when both have an active plan",
    "call_tasks": "moved",
    "call_records": "moved",
    "risk_rows": "moved",
    "risk_household_indicators": "moved; those of a round the kept record has too are dropped",
    "risk_household_rrn_hashes": "moved; links the kept record has too are dropped",
    "risk_screenings": "moved",
    "risk_tier_changes": "moved",
    "shift_route_stops": "moved; a stop of a route that visits both is dropped",
    "privacy_requests": "kept as it is: the record of a request about the duplicate's number",
    "merged_households": "records merged into the duplicate before now lead to the kept record",
}

# Fields of the kept record filled from the duplicate where the kept one has nothing.
_FILLED = ("name", "alias", "phone", "birth_date", "jibun_address", "landmark", "delivery_note", "tong", "ban")
_UNKNOWN = {"sex": "unknown", "age_band": "unknown"}


class MergeError(ValueError):
    """The merge is refused; the message is a lazy translated string for the user."""


def conflicts(dup: Household, keep: Household) -> list:
    """Why these two records cannot be merged (translated messages); empty when they can."""
    from volnet.calls.models import CallEnrollment
    from volnet.cases.models import Case

    if dup.id == keep.id:
        return [_l("A household cannot be merged with itself.")]
    if dup.dong_id != keep.dong_id:
        return [_l("Only households of the same dong can be merged.")]
    ids = (dup.id, keep.id)
    out = []
    open_cases = db.session.scalars(select(Case.household_id).where(Case.household_id.in_(ids),
                                                                    Case.status == "open")).all()
    if set(open_cases) == set(ids):
        out.append(_l("Both records have an open integrated case. Close one of them first."))
    plans = db.session.scalars(select(CallEnrollment.household_id).where(CallEnrollment.household_id.in_(ids),
                                                                         CallEnrollment.active)).all()
    if set(plans) == set(ids):
        out.append(_l("Both records have an active safety-call plan. End one of them first."))
    return out


def counts(h: Household) -> dict[str, int]:
    """What is recorded about a household, for the confirmation page."""
    from sqlalchemy import func

    from volnet.calls.models import CallRecord
    from volnet.cases.models import Case
    from volnet.concerns.models import Concern
    from volnet.observations.models import Observation

    def n(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.household_id == h.id)) or 0

    return {"concerns": n(Concern), "observations": n(Observation), "cases": n(Case), "calls": n(CallRecord)}


def merge(dup: Household, keep: Household, actor) -> None:
    """Move everything recorded about ``dup`` to ``keep`` and delete ``dup``. The caller has locked both
    rows (``lock``) and commits; raises MergeError before changing anything when it is refused."""
    problems = conflicts(dup, keep)
    if problems:
        raise MergeError(problems[0])
    dup_id, keep_id = dup.id, keep.id
    _merge_concerns(dup, keep, actor)
    _move_cases_and_calls(dup_id, keep_id)
    _move_risk(dup_id, keep_id)
    _move_routes(dup_id, keep_id)
    _fill(keep, dup)
    households.note_household_added(keep.dong_id)  # an import reading the dong plans its rest again
    db.session.execute(update(MergedHousehold).where(MergedHousehold.into_id == dup_id).values(into_id=keep_id))
    db.session.delete(dup)
    db.session.flush()
    db.session.add(MergedHousehold(id=dup_id, into_id=keep_id, merged_by_id=getattr(actor, "id", None)))
    from volnet.risk import scoring

    scoring.refresh([keep_id], actor)
    _timeline_note(dup, keep, actor)


def merged_into(household_id: int) -> int | None:
    """The record kept when ``household_id`` was merged into another; None for any other number."""
    return db.session.scalar(select(MergedHousehold.into_id).where(MergedHousehold.id == household_id))


def lock(dup_id: int, keep_id: int) -> tuple[Household | None, Household | None]:
    """Take the dong's additions in turn (as adding a household does: an import batch or a quick add of
    the same address waits) and lock both rows in id order, read afresh."""
    first = db.session.get(Household, min(dup_id, keep_id))
    if first is not None:
        households.take_dong_additions(first.dong_id)
    rows = {h.id: h for h in db.session.scalars(
        select(Household).where(Household.id.in_((dup_id, keep_id))).order_by(Household.id)
        .with_for_update().execution_options(populate_existing=True))}
    return rows.get(dup_id), rows.get(keep_id)


def _merge_concerns(dup: Household, keep: Household, actor) -> None:
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern, ConcernEvent
    from volnet.observations.models import Observation

    dup_open = concerns.open_concern_for(dup.id)
    keep_open = concerns.open_concern_for(keep.id)
    if dup_open is not None and keep_open is not None:
        # concerns.merge moves the observations and timeline of a concern with no household yet
        dup_open.household_id = None
        db.session.flush()
        concerns.merge(dup_open, keep_open, actor)
        dup_open.household_id = dup.id  # merged now, no longer open: it moves with the others below
        db.session.flush()
    db.session.execute(update(Concern).where(Concern.household_id == dup.id)
                       .values(household_id=keep.id, tong=keep.tong if keep.tong is not None else Concern.tong))
    db.session.execute(update(Observation).where(Observation.household_id == dup.id).values(household_id=keep.id))
    db.session.execute(update(ConcernEvent).where(ConcernEvent.household_id == dup.id)
                       .values(household_id=keep.id))


def _move_cases_and_calls(dup_id: int, keep_id: int) -> None:
    from volnet.calls.models import CallEnrollment, CallRecord, CallTask
    from volnet.cases.models import Case, ServiceLinkage

    for model in (Case, ServiceLinkage, CallEnrollment, CallTask, CallRecord):
        db.session.execute(update(model).where(model.household_id == dup_id).values(household_id=keep_id))


def _move_risk(dup_id: int, keep_id: int) -> None:
    from volnet.risk.models import CrisisRow, HouseholdIndicator, HouseholdRrnHash, Screening, TierChange

    kept = aliased(HouseholdIndicator)
    db.session.execute(delete(HouseholdIndicator).where(
        HouseholdIndicator.household_id == dup_id,
        exists().where(kept.household_id == keep_id, kept.round_id == HouseholdIndicator.round_id,
                       kept.indicator_type_id == HouseholdIndicator.indicator_type_id)))
    kept_rrn = aliased(HouseholdRrnHash)
    db.session.execute(delete(HouseholdRrnHash).where(
        HouseholdRrnHash.household_id == dup_id,
        exists().where(kept_rrn.household_id == keep_id, kept_rrn.rrn_hash == HouseholdRrnHash.rrn_hash)))
    for model in (CrisisRow, HouseholdIndicator, HouseholdRrnHash, Screening, TierChange):
        db.session.execute(update(model).where(model.household_id == dup_id).values(household_id=keep_id))


def _move_routes(dup_id: int, keep_id: int) -> None:
    from volnet.shifts.models import Program, RouteStop, ShiftSeries

    kept = aliased(RouteStop)
    db.session.execute(delete(RouteStop).where(
        RouteStop.household_id == dup_id,
        exists().where(kept.household_id == keep_id, kept.occurrence_id == RouteStop.occurrence_id)))
    db.session.execute(update(RouteStop).where(RouteStop.household_id == dup_id).values(household_id=keep_id))
    # Recurring routes are templates in JSON: a dong has a handful of series, read in Python.
    dong_id = db.session.scalar(select(Household.dong_id).where(Household.id == keep_id))
    for series in db.session.scalars(select(ShiftSeries).join(Program).where(Program.dong_id == dong_id,
                                                                             ~ShiftSeries.ended)):
        route = series.route or []
        if not any(stop.get("household_id") == dup_id for stop in route):
            continue
        has_keep = any(stop.get("household_id") == keep_id for stop in route)
        new_route = []
        for stop in route:
            if stop.get("household_id") == dup_id:
                if has_keep:
                    continue
                stop = {**stop, "household_id": keep_id}
            new_route.append(stop)
        series.route = new_route


def _fill(keep: Household, dup: Household) -> None:
    for field in _FILLED:
        if getattr(keep, field) in (None, "") and getattr(dup, field) not in (None, ""):
            setattr(keep, field, getattr(dup, field))
    for field, unknown in _UNKNOWN.items():
        if getattr(keep, field) == unknown:
            setattr(keep, field, getattr(dup, field))
    if keep.lives_alone is None:
        keep.lives_alone = dup.lives_alone
    if keep.status == "to_locate" and dup.status != "to_locate":
        keep.status = dup.status
    from volnet.risk.tiers import higher

    keep.tier = higher(keep.tier, dup.tier)
    keep.refresh_keys()


def _timeline_note(dup: Household, keep: Household, actor) -> None:
    """A line in the kept household's timeline (on its open concern, else its latest one)."""
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern

    target = concerns.open_concern_for(keep.id) or db.session.scalar(
        select(Concern).where(Concern.household_id == keep.id).order_by(Concern.opened_at.desc()).limit(1))
    if target is not None:
        concerns.add_event(target, "household_merged", actor, merged_from=dup.id, address=dup.address_line)
