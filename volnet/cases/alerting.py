"""A thin bridge to the reminder system (volnet.notifications.services).

The cases and calls domains send every alert through ``send``. Their message kinds are registered when this
module is imported. Should the notifications module be absent (an early checkout), the alert is only logged
and ``send`` returns False.
Our own tables record what was escalated, so the sweeps stay idempotent either way; the dedupe key
also lets the outbox drop duplicates.
"""
from __future__ import annotations

import logging

from volnet.cases.models import CLOSURE_REASONS, REVIEW, STEPS
from volnet.core.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)

# kind: (subject, body, urgent, label on the admins' outbox page)
KINDS = {
    "case_step_overdue": (
        _l("Integrated case #%(case)s: a step is overdue"),
        _l("The step \"%(step)s\" of integrated case #%(case)s was due %(due)s. Please update the case."),
        False,
        _l("Integrated case step overdue"),
    ),
    "case_step_overdue_lead": (
        _l("Integrated case #%(case)s is overdue (team lead)"),
        _l("The step \"%(step)s\" of integrated case #%(case)s (owner: %(owner)s) was due %(due)s and is "
           "still open."),
        False,
        _l("Integrated case overdue (team lead)"),
    ),
    "emergency_decision_overdue": (
        _l("Emergency welfare support decision overdue (case #%(case)s)"),
        _l("The emergency welfare support reported %(reported)s for case #%(case)s needed a decision by "
           "%(due)s."),
        True,
        _l("Emergency welfare support decision overdue"),
    ),
    "aftercare_due": (
        _l("Aftercare check due (case #%(case)s)"),
        _l("The %(months)s-month aftercare check of closed case #%(case)s is due %(due)s."),
        False,
        _l("Aftercare check due"),
    ),
    "case_closure_requested": (
        _l("Integrated case #%(case)s: closure to approve"),
        _l("%(who)s asked to close integrated case #%(case)s (%(reason)s). A team lead approves the closure or "
           "returns it on the case page."),
        False,
        _l("Integrated case closure to approve"),
    ),
    "case_closure_approved": (
        _l("Integrated case #%(case)s closed"),
        _l("%(who)s approved the closure of integrated case #%(case)s. Aftercare checks are scheduled."),
        False,
        _l("Integrated case closure approved"),
    ),
    "case_closure_approved_no_aftercare": (  # a closing reason without aftercare (services.NO_AFTERCARE)
        _l("Integrated case #%(case)s closed"),
        _l("%(who)s approved the closure of integrated case #%(case)s. No aftercare checks follow for this "
           "closing reason."),
        False,
        _l("Integrated case closure approved (no aftercare)"),
    ),
    "case_closure_returned": (
        _l("Integrated case #%(case)s: closure returned"),
        _l("%(who)s returned the closure of integrated case #%(case)s. The reason is on the case page."),
        False,
        _l("Integrated case closure returned"),
    ),
    "case_closure_withdrawn": (
        _l("Integrated case #%(case)s: closure request withdrawn"),
        _l("%(who)s withdrew the request to close integrated case #%(case)s. The case stays open; there is "
           "nothing to approve."),
        False,
        _l("Integrated case closure request withdrawn"),
    ),
    "aftercare_needs_support": (
        _l("Aftercare: support needed again (case #%(case)s)"),
        _l("The %(months)s-month aftercare check of closed case #%(case)s found that the household needs support "
           "again. Its concern #%(concern)s is open."),
        False,
        _l("Aftercare: support needed again"),
    ),
    "aftercare_unreachable": (
        _l("Aftercare: household not reached (case #%(case)s)"),
        _l("The household of closed case #%(case)s could not be reached for its %(months)s-month aftercare check. "
           "Its concern #%(concern)s is open."),
        False,
        _l("Aftercare: household not reached"),
    ),
    "safety_call_missed": (
        _l("Safety call: no answer (%(household)s)"),
        _l("%(caller)s could not reach %(household)s after %(attempts)s tries today. Please check on them "
           "if you can, and tell the dong centre."),
        True,
        _l("Safety call: no answer"),
    ),
    "safety_call_visit_due": (
        _l("Safety call: visit due (%(household)s)"),
        _l("%(household)s has missed %(misses)s scheduled safety calls. A visit is due by %(due)s."),
        True,
        _l("Safety call: visit due"),
    ),
    "safety_visit_no_response": (
        _l("Safety visit: no response (%(household)s)"),
        _l("No one answered the door at %(household)s. Call 112/119 if there are danger signs; the tong "
           "leader or the management office may hold a key."),
        True,
        _l("Safety visit: no response"),
    ),
}

# Params stored as codes and shown as their labels in the reader's language (older rows hold the text itself).
# A step is stored as its code ("review" for the monthly review) and named in the reader's language.
_STEP_LABELS = {**STEPS, "review": REVIEW}
PARAM_LABELS = {
    "case_closure_requested": {"reason": CLOSURE_REASONS},
    "case_step_overdue": {"step": _STEP_LABELS},
    "case_step_overdue_lead": {"step": _STEP_LABELS},
}

_registered = False


def _services():
    global _registered
    try:
        from volnet.notifications import services
    except ImportError:  # the reminder system is not installed in this checkout
        return None
    if not hasattr(services, "notify"):
        return None
    if not _registered and hasattr(services, "register_kind"):
        for kind, (subject, body, urgent, label) in KINDS.items():
            services.register_kind(kind, subject, body, urgent=urgent, label=label, labels=PARAM_LABELS.get(kind))
        _registered = True
    return services


# Registered at import (volnet.cases and volnet.calls import this module when the app is set up): a process that
# only shows these messages (the inbox, the admins' outbox page, the worker) knows them, not only one that has
# sent one since it started.
_services()


def available() -> bool:
    return _services() is not None


def send(user, kind: str, params: dict, *, dedupe_key: str, urgent: bool | None = None,
         link: str | None = None) -> bool:
    """notify() one person; False (and a log line) when the reminder system is absent."""
    if user is None or not getattr(user, "active", True):
        return False
    services = _services()
    if services is None:
        log.info("alert %s for user %s not sent: notifications not installed", kind, getattr(user, "id", None))
        return False
    services.notify(user, kind, params, dedupe_key=dedupe_key, urgent=urgent, link=link)
    return True


def cancel(dedupe_key_prefix: str) -> int:
    """Cancel the messages not yet delivered whose dedupe key starts with the prefix (0 without the system)."""
    services = _services()
    if services is None or not hasattr(services, "cancel"):
        return 0
    return services.cancel(dedupe_key_prefix)


def after_commit(observation_ids=()) -> None:
    """After the caller's commit: hand queued messages to the workers; alert staff about urgent observations."""
    try:
        from volnet.notifications import hooks, services
    except ImportError:
        return
    for obs_id in observation_ids:
        if obs_id and hasattr(hooks, "observation_submitted"):
            hooks.observation_submitted(obs_id)
    if hasattr(services, "after_commit_dispatch"):
        services.after_commit_dispatch()
