"""Who may see and act on outbox rows: a person their own in-app notifications; admins every row."""
from __future__ import annotations

from sqlalchemy import true

from volnet.accounts.roles import ADMIN
from volnet.core.access import policy, visibility
from volnet.notifications.models import Outbox


@policy(Outbox)
def outbox_policy(user, action, row: Outbox) -> bool:
    if action in ("view", "read"):
        return row.recipient_id == user.id and row.channel == "inapp" and row.state == "sent"
    if action in ("admin_view", "resend"):
        return user.role == ADMIN
    return False


@visibility(Outbox)
def outbox_visible(user):
    if user.role == ADMIN:
        return true()
    return Outbox.recipient_id == user.id
