"""Who may do what with integrated cases.

- view (the case, its needs, goals, plan, linkages, emergency support, aftercare):
  team lead, caseworker and visiting nurse of the case's dong;
- edit (steps, needs, goals, plan, linkages, closure, emergency support, aftercare):
  team lead and caseworker of the dong;
- notes (case notes *and* case conference records, read and write): team lead and caseworker of the
  dong only. The visiting nurse reads the case but not its notes or conferences: notes often hold
  family and counselling detail beyond what a health visit needs (need to know);
- reassign, approve_closure (approve or return a caseworker's closure; a team lead closes at once): team lead
  of the dong.
Anyone else, and staff of another dong, gets a 404.
"""
from __future__ import annotations

from sqlalchemy import false

from volnet.accounts.roles import CASEWORKER, STAFF, TEAM_LEAD
from volnet.cases.models import Case
from volnet.core.access import policy, visibility

CASE_EDITORS = (CASEWORKER, TEAM_LEAD)


@policy(Case)
def case_policy(user, action: str, case: Case) -> bool:
    if case.dong_id not in user.dong_ids:
        return False
    if action == "view":
        return user.role in STAFF
    if action in ("edit", "notes"):
        return user.role in CASE_EDITORS
    if action in ("reassign", "approve_closure"):
        return user.role == TEAM_LEAD
    return False


@visibility(Case)
def case_visible(user):
    if user.role in STAFF:
        return Case.dong_id.in_(user.dong_ids or {-1})
    return false()
