"""Who may do what with programs, shifts, sign-ups and route stops.

- A coordinator manages the programs of their own organization (and sees their routes).
- A volunteer sees open shifts of active programs and their own sign-ups (of a paused program too); the
  route of a shift (households' name or alias, address, delivery note) only with a confirmed place on it,
  and only from ``route_before_hours`` before the start until ``route_after_hours`` after the end.
Anything else answers 404.
"""
from __future__ import annotations

from sqlalchemy import select

from volnet.core.access import policy, visibility
from volnet.shifts import services
from volnet.shifts.models import Program, RouteStop, ShiftOccurrence, Signup


@policy(Program)
def program_policy(user, action, p: Program) -> bool:
    if action in ("manage", "view_manage"):
        return services.is_coordinator_of(user, p)
    if action == "view":
        return services.is_coordinator_of(user, p) or (user.role == "volunteer" and p.active)
    return False


@visibility(Program)
def program_visible(user):
    if user.role == "coordinator" and user.organization_id:
        return Program.organization_id == user.organization_id
    if user.role == "volunteer":
        return Program.active.is_(True)
    return Program.id < 0


@policy(ShiftOccurrence)
def occurrence_policy(user, action, occ: ShiftOccurrence) -> bool:
    if action == "manage":
        return services.is_coordinator_of(user, occ.program)
    if action == "view":
        if services.is_coordinator_of(user, occ.program):
            return True
        if user.role != "volunteer":
            return False
        if occ.status == "scheduled" and occ.program.active:
            return True
        # A cancelled shift, or one of a paused program: only for someone who had a place on it (the page
        # says what happened instead of "not found").
        from volnet.extensions import db

        return db.session.scalar(select(Signup.id).where(Signup.occurrence_id == occ.id,
                                                         Signup.volunteer_id == user.id)) is not None
    if action == "route":
        return services.may_see_route(user, occ)
    return False


@visibility(ShiftOccurrence)
def occurrence_visible(user):
    if user.role == "coordinator" and user.organization_id:
        return ShiftOccurrence.program_id.in_(
            select(Program.id).where(Program.organization_id == user.organization_id))
    if user.role == "volunteer":
        return ShiftOccurrence.program_id.in_(select(Program.id).where(Program.active.is_(True)))
    return ShiftOccurrence.id < 0


@policy(Signup)
def signup_policy(user, action, s: Signup) -> bool:
    if action == "own":
        return s.volunteer_id == user.id and user.role == "volunteer"
    if action == "manage":
        return services.is_coordinator_of(user, s.occurrence.program)
    return False


@policy(RouteStop)
def stop_policy(user, action, stop: RouteStop) -> bool:
    if action == "record":
        return services.may_see_route(user, stop.occurrence)
    if action == "manage":
        return services.is_coordinator_of(user, stop.occurrence.program)
    return False
