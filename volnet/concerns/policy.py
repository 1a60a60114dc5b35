"""Who may do what with households, observations and concerns. Every view goes through these."""
from __future__ import annotations

from sqlalchemy import false

from volnet.accounts.roles import (
    CASEWORKER,
    COORDINATOR,
    KNOWS_NEIGHBOURS,
    NURSE,
    REPORTERS,
    STAFF,
    TEAM_LEAD,
    VOLUNTEER,
)
from volnet.concerns.models import Concern
from volnet.core.access import policy, visibility
from volnet.households.models import Household
from volnet.observations.models import Observation


def _in_dong(user, dong_id) -> bool:
    return dong_id in user.dong_ids


@policy(Household)
def household_policy(user, action, h: Household) -> bool:
    if action in ("view", "edit"):
        return user.role in STAFF and _in_dong(user, h.dong_id)
    if action == "report":  # may log an observation about it (sees address and unit only)
        if user.role not in REPORTERS or not _in_dong(user, h.dong_id):
            return False
        if user.role in KNOWS_NEIGHBOURS:
            return True
        # Partner staff see nothing of a household (their reports go by address); volunteers and coordinators
        # only the households on a route they may see now (DOMAIN.md privacy: need to know).
        return user.role in (VOLUNTEER, COORDINATOR) and _on_a_route_they_see(user, h.id)
    return False


def _on_a_route_they_see(user, household_id: int) -> bool:
    from datetime import timedelta

    from sqlalchemy import select

    from volnet.core import clock
    from volnet.extensions import db
    from volnet.shifts import services as shifts
    from volnet.shifts.models import RouteStop, ShiftOccurrence

    # Only shifts around now can open their route (a route window is hours, not days): not the months of
    # occurrences a series has ahead.
    now = clock.now()
    occurrences = select(RouteStop.occurrence_id).where(RouteStop.household_id == household_id)
    return any(shifts.may_see_route(user, occ) for occ in db.session.scalars(
        select(ShiftOccurrence).where(ShiftOccurrence.id.in_(occurrences), ShiftOccurrence.status == "scheduled",
                                      ShiftOccurrence.starts_at <= now + timedelta(days=2),
                                      ShiftOccurrence.ends_at >= now - timedelta(days=2))
        .order_by(ShiftOccurrence.starts_at).limit(20)))


@visibility(Household)
def household_visible(user):
    if user.role in STAFF:
        return Household.dong_id.in_(user.dong_ids or {-1})
    return false()


@policy(Concern)
def concern_policy(user, action, c: Concern) -> bool:
    if not _in_dong(user, c.dong_id):
        return False
    if action in ("view", "contact", "acknowledge"):
        return user.role in STAFF
    if action in ("assign", "close", "urgency", "merge", "link", "move"):  # move: to another dong (transfer)
        return user.role in (CASEWORKER, TEAM_LEAD)
    if action in ("reassign", "reopen"):  # a colleague's concern; a concern closed by mistake
        return user.role == TEAM_LEAD
    return False


def visible_dong_ids(user) -> set[int]:
    """The dongs whose concerns ``user`` may list (the queue binds them into a prepared statement)."""
    if getattr(user, "is_authenticated", False) and user.role in STAFF:
        return set(user.dong_ids)
    return set()


@visibility(Concern)
def concern_visible(user):
    # On the table's column: a plain condition that ORM and Core statements both take.
    ids = visible_dong_ids(user)
    return Concern.__table__.c.dong_id.in_(ids) if ids else false()


@policy(Observation)
def observation_policy(user, action, o: Observation) -> bool:
    if action == "view":
        return user.role in STAFF and _in_dong(user, o.dong_id)
    if action == "view_own":
        return o.reporter_id == user.id
    return False


@visibility(Observation)
def observation_visible(user):
    if user.role in STAFF:
        return Observation.dong_id.in_(user.dong_ids or {-1})
    return Observation.reporter_id == user.id


NURSE_ROLE = NURSE  # re-exported for tests
