"""Builders for safety calls (flush, never commit)."""
from __future__ import annotations

from tests import builders as b
from volnet.calls import services as svc


def enrolled(dong, caseworker, tier="daily_risk", caller=None, backup=None, name="이순자", phone="01055556666"):
    h = b.household(dong, name=name, phone=phone, tier=tier)
    caller = caller or b.user("volunteer", [dong], name="서하늘")
    enr = svc.enroll(caseworker, h, caller, backup)
    return h, enr
