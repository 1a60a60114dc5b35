"""Who may see and do what in the risk module. Staff of the object's dong; screening is sensitive."""
from __future__ import annotations

from sqlalchemy import false

from volnet.accounts.roles import CASEWORKER, SENSITIVE_READERS, STAFF, TEAM_LEAD
from volnet.core.access import policy, visibility
from volnet.risk.models import CrisisRound, CrisisRow, Screening

IMPORTERS = (CASEWORKER, TEAM_LEAD)
TIER_DECIDERS = (CASEWORKER, TEAM_LEAD)
SCREENERS = SENSITIVE_READERS  # caseworker, nurse, team lead


@policy(CrisisRound)
def round_policy(user, action, r: CrisisRound) -> bool:
    if r.dong_id not in user.dong_ids:
        return False
    if action == "view":
        return user.role in STAFF
    if action in ("map", "check"):
        return user.role in IMPORTERS
    return False


@visibility(CrisisRound)
def round_visible(user):
    if user.role in STAFF:
        return CrisisRound.dong_id.in_(user.dong_ids or {-1})
    return false()


@policy(CrisisRow)
def row_policy(user, action, row: CrisisRow) -> bool:
    dong_id = row.round.dong_id if row.round is not None else None
    if dong_id not in user.dong_ids:
        return False
    if action == "view":
        return user.role in STAFF
    if action == "check":
        return user.role in IMPORTERS
    return False


@policy(Screening)
def screening_policy(user, action, s: Screening) -> bool:
    return action == "view" and user.role in SCREENERS and s.dong_id in user.dong_ids


@visibility(Screening)
def screening_visible(user):
    if user.role in SCREENERS:
        return Screening.dong_id.in_(user.dong_ids or {-1})
    return false()
