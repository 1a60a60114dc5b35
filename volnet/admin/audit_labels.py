"""Names for the audit log's codes: what an action or an object is called on the search page.

The action filter offers the actions listed here: each is one that some code writes (a concern's actions are
written as themselves by concerns.views, with a short detail: old -> new, the outcome code).

The rows keep the codes their modules wrote (``access.load`` writes the table name, "households"; views
often a singular, "household"): the page groups the spellings of one kind of object, so a search for an
object finds every row about it, and shows a label instead of the code. Codes not listed here are shown as
they are.
"""
from __future__ import annotations

from volnet.core.i18n import lazy_gettext as _l

# group key (used in the URL) -> (label, the subject types written for it). The ids of one group are ids of
# the same kind of object (a safety-call row names the household, a shift's route and sign-ups the shift).
OBJECT_GROUPS: dict[str, tuple[object, tuple[str, ...]]] = {
    "households": (_l("Household"), ("households", "household", "household_tier")),
    "concerns": (_l("Concern"), ("concerns", "concern")),
    "observations": (_l("Observation"), ("observations", "observation")),
    "cases": (_l("Integrated case"), ("cases", "case")),
    "calls": (_l("Safety calls (household)"),
              ("call_enrollment", "call_enrollments", "call_record", "call_records")),
    "call_tasks": (_l("Safety call (one call)"), ("call_tasks",)),
    "risk_rounds": (_l("Crisis list"), ("risk_rounds", "risk_round")),
    "risk_rows": (_l("Crisis list row"), ("risk_rows", "risk_row")),
    "risk_screenings": (_l("Screening"), ("risk_screenings", "risk_screening")),
    "risk_indicator_types": (_l("Indicator"), ("risk_indicator_types",)),
    "shift_programs": (_l("Program"), ("shift_programs", "shift_program")),
    "shift_series": (_l("Shift series"), ("shift_series",)),
    "shift_occurrences": (_l("Shift"), ("shift_occurrences", "shift_occurrence", "shift_route", "shift_signups")),
    "shift_route_stops": (_l("Route stop"), ("shift_route_stops", "shift_route_stop")),
    "shift_calendar_token": (_l("Calendar link"), ("shift_calendar_token", "shift_calendar_tokens")),
    "users": (_l("Account"), ("user", "users")),
    "dongs": (_l("Dong"), ("dong", "dongs")),
    "organizations": (_l("Organization"), ("organization", "organizations")),
    "invitations": (_l("Invitation"), ("invitation", "invitations")),
    "settings": (_l("Settings"), ("settings",)),
    "report": (_l("Report"), ("report",)),
    "audit_review": (_l("Audit log review"), ("audit_review", "audit_reviews")),
}

TYPE_GROUP: dict[str, str] = {t: key for key, (_label, types) in OBJECT_GROUPS.items() for t in types}
# subject type -> label, for the rows
OBJECT_LABELS = {t: OBJECT_GROUPS[key][0] for t, key in TYPE_GROUP.items()}
GROUP_LABELS = {key: label for key, (label, _types) in OBJECT_GROUPS.items()}

ACTION_LABELS = {
    "view": _l("Viewed"),
    # access.load(..., "edit"): a record opened to be edited (its form shown, or sent); what a save changed is
    # a row of its own ("update"). Never "Edited": it sat beside "Changed" and read as a change.
    "edit": _l("Edit form opened"),
    "update": _l("Changed"),
    "create": _l("Created"),
    "denied": _l("Access refused"),
    "export": _l("Exported"),
    "search": _l("Searched"),
    "message": _l("Message sent"),
    "cancel": _l("Cancelled"),
    "revoke": _l("Revoked"),
    "end": _l("Ended"),
    "merge": _l("Merged"),
    "close": _l("Closed"),
    "reopen": _l("Reopened"),
    "acknowledge": _l("Acknowledged"),
    "assign": _l("Assigned"),
    "contact": _l("Contact recorded"),
    "urgency": _l("Urgency changed"),
    "monitoring": _l("Put under regular monitoring"),
    "link": _l("Household linked"),
    "move": _l("Sent to another dong"),
    "check": _l("Check recorded"),
    "login": _l("Logged in"),
    "login_failed": _l("Login failed"),
    "login_locked": _l("Login refused (locked)"),
    "login_password_ok": _l("Password correct, two-step code asked"),
    "logout": _l("Logged out"),
    "joined": _l("Joined with an invitation"),
    "password_changed": _l("Password changed"),
    "password_reset": _l("Password reset"),
    "pledge_accepted": _l("Pledge accepted"),
    "totp_enabled": _l("Two-step login turned on"),
    "totp_disabled": _l("Two-step login turned off"),
    "totp_recovery_codes": _l("New recovery codes"),
    "totp_reset": _l("Two-step login reset"),
    "privacy_access": _l("Privacy request: access"),
    "privacy_anonymise": _l("Privacy request: anonymised"),
    "privacy_erase": _l("Privacy request: erased"),
    "retention": _l("Retention clean-up"),
    "audit_review": _l("Audit log reviewed"),
}


def subject_types(value: str) -> tuple[str, ...]:
    """The subject types a search for ``value`` covers: a group key or any spelling of it finds the whole
    group; an unknown code only itself."""
    key = value if value in OBJECT_GROUPS else TYPE_GROUP.get(value)
    return OBJECT_GROUPS[key][1] if key else (value,)


def group_of(value: str) -> str:
    """The group key a search value stands for ('' when none), to show it chosen in the list."""
    return value if value in OBJECT_GROUPS else TYPE_GROUP.get(value, "")
