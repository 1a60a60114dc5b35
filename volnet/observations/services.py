"""Saving an observation: one record per submission, joined to its household's concern."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from volnet.concerns import services as concerns
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation
from volnet.observations.signals import URGENT_SIGNALS

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def new_reference_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def effective_urgency(urgency: str, signals: list[str], meals: str, hygiene: str) -> str:
    """The reporter's urgency, raised to 'urgent' by danger signs (never lowered)."""
    if urgency == "emergency":
        return urgency
    if set(signals or []) & URGENT_SIGNALS or "severe" in (meals, hygiene):
        return "urgent"
    return urgency


def submit(obs: Observation, actor=None) -> tuple[Observation, bool]:
    """Save and join. Returns (observation, created). A repeated client_token returns the first one."""
    if obs.client_token:
        existing = db.session.scalar(select(Observation).where(Observation.client_token == obs.client_token))
        if existing is not None:
            return existing, False
    obs.urgency = effective_urgency(obs.urgency, obs.signals, obs.meals, obs.hygiene)
    obs.created_at = clock.now()
    try:
        with db.session.begin_nested():
            db.session.add(obs)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(Observation).where(Observation.client_token == obs.client_token))
        if existing is None:
            raise
        return existing, False
    concerns.attach_observation(obs, actor)
    return obs, True
