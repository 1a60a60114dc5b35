"""Builders and helpers for the security tests."""
from __future__ import annotations

from tests import builders as b
from volnet.concerns.models import Concern
from volnet.extensions import db


def two_dongs():
    """Dong A with a caseworker, a team lead and a household with an open concern; the same for dong B."""
    a, bb = b.dong(name="가동"), b.dong(name="나동")
    out = {"a": a, "b": bb}
    for key, d in (("a", a), ("b", bb)):
        out[f"cw_{key}"] = b.user("caseworker", [d])
        out[f"lead_{key}"] = b.user("team_lead", [d])
        h = b.household(d, road=f"경기도 의정부시 {key}로 {d.id}", name=f"주민{key.upper()}")
        out[f"h_{key}"] = h
        b.observation(h, out[f"cw_{key}"], note=f"비밀메모{key.upper()}")
        out[f"c_{key}"] = db.session.scalar(db.select(Concern).where(Concern.household_id == h.id))
    return out


def english(client):
    client.set_cookie("volnet_lang", "en")
    return client
