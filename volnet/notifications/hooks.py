"""Hooks other domains call after their commit."""
from __future__ import annotations

import logging

from volnet.extensions import db

log = logging.getLogger(__name__)


# Reports of these urgencies alert staff at once (the views call observation_submitted only for them).
ALERT_URGENCIES = ("emergency", "urgent")


def observation_submitted(obs_id: int) -> None:
    """An emergency or urgent report: the concern's owner (or every caseworker of the dong) hears now.

    Called by the observation views after their commit. Deduplicated per concern and urgency, so a second
    report about the same household does not repeat the alert (an urgent concern raised to emergency does).
    Never raises: the report is saved whatever happens here.
    """
    from volnet.accounts.models import User
    from volnet.concerns.models import Concern
    from volnet.notifications import services
    from volnet.observations.models import Observation

    try:
        obs = db.session.get(Observation, obs_id)
        if obs is None or obs.urgency not in ALERT_URGENCIES or obs.concern_id is None:
            return
        concern = db.session.get(Concern, obs.concern_id)
        if concern is None or not concern.is_open:
            return
        owner = db.session.get(User, concern.owner_id) if concern.owner_id else None
        recipients = [owner] if owner is not None and owner.active else services._dong_staff(
            concern.dong_id, ("caseworker",))
        emergency = obs.urgency == "emergency"
        params = {"concern": concern.id, "dong": concern.dong.name if concern.dong else ""}
        for u in recipients:
            services.notify(u, "concern_emergency" if emergency else "concern_urgent", params,
                            dedupe_key=f"concern:{concern.id}:report:{obs.urgency}:{u.id}", urgent=emergency,
                            link=f"/concerns/{concern.id}")
        db.session.commit()
    except Exception:  # noqa: BLE001 - the report itself is already saved
        db.session.rollback()
        log.exception("notifications for observation %s failed", obs_id)
        return
    services.after_commit_dispatch()


def concern_moved_in(concern, from_dong: str, to_dong: str, event_id: int) -> None:
    """A concern was sent to another dong (concerns.transfer): that dong's caseworkers hear of it as of a new
    report, an emergency at once. In the caller's transaction (it commits with the move); ``event_id`` (the
    timeline entry of this move) lets a concern sent back and forth be told each time."""
    from volnet.notifications import services

    params = {"concern": concern.id, "dong": to_dong, "from_dong": from_dong, "urgency": concern.urgency}
    for u in services._dong_staff(concern.dong_id, ("caseworker",)):
        services.notify(u, "concern_moved_in", params, dedupe_key=f"concern:{concern.id}:moved:{event_id}:{u.id}",
                        urgent=concern.urgency == "emergency", link=f"/concerns/{concern.id}")
