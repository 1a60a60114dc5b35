"""Who may do what with safety calls.

- A call task: its assignee (caller, backup or caseworker) may see it and record it; caseworkers and team
  leads of the dong may too. The assignee's page shows only name or alias, phone and address.
- Enrollments: staff of the dong see them; caseworkers and team leads enroll, change callers and end them.
- Call records (with the checklist and notes): staff of the dong.
Another dong's object, or someone else's task, answers 404.
"""
from __future__ import annotations

from sqlalchemy import false

from volnet.accounts.roles import CASEWORKER, STAFF, TEAM_LEAD
from volnet.calls.models import CallEnrollment, CallRecord, CallTask
from volnet.core.access import policy, visibility

MANAGERS = (CASEWORKER, TEAM_LEAD)


@policy(CallTask)
def task_policy(user, action: str, task: CallTask) -> bool:
    if action in ("view", "record"):
        if task.assignee_id == user.id:
            return True
        return user.role in MANAGERS and task.dong_id in user.dong_ids
    return False


@visibility(CallTask)
def task_visible(user):
    if user.role in STAFF:
        return CallTask.dong_id.in_(user.dong_ids or {-1})
    return CallTask.assignee_id == user.id


@policy(CallEnrollment)
def enrollment_policy(user, action: str, enr: CallEnrollment) -> bool:
    if enr.dong_id not in user.dong_ids:
        return False
    if action == "view":
        return user.role in STAFF
    if action == "manage":
        return user.role in MANAGERS
    return False


@visibility(CallEnrollment)
def enrollment_visible(user):
    if user.role in STAFF:
        return CallEnrollment.dong_id.in_(user.dong_ids or {-1})
    return false()


@policy(CallRecord)
def record_policy(user, action: str, rec: CallRecord) -> bool:
    return action == "view" and user.role in STAFF and rec.dong_id in user.dong_ids


@visibility(CallRecord)
def record_visible(user):
    if user.role in STAFF:
        return CallRecord.dong_id.in_(user.dong_ids or {-1})
    return false()
