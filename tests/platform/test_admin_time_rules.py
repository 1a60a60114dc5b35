"""Time rules as the admin edits them: due-time rules mixing calendar and working days, the other time rules'
own page (case steps, safety-call retries, shift reminders, quiet hours, login limits), and the shared QR."""
from __future__ import annotations

from tests import builders as b
from volnet.extensions import db
from volnet.settings import services as settings

RULES = {"emergency_ack": "1h", "emergency_action": "48h", "urgent_ack": "24h", "urgent_action": "3d",
         "routine_ack": "3wd", "routine_action": "7d", "public_per_hour": 5}


def _admin(client):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    return admin


# --- due-time rules with working days -------------------------------------------------------------------

def test_a_working_day_action_that_can_come_after_a_calendar_day_acknowledgement_is_accepted(app, client):
    _admin(client)
    # 2 working days from a Friday end on Tuesday, after 3 calendar days (Monday): a possible rule.
    r = client.post("/admin/settings", data={**RULES, "routine_ack": "3d", "routine_action": "2wd"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert (settings.get("due.routine.ack"), settings.get("due.routine.action")) == ("3d", "2wd")
    # The same the other way round: 2 working days can end after 48 hours (Friday to Tuesday).
    assert client.post("/admin/settings", data={**RULES, "urgent_ack": "2wd", "urgent_action": "48h"}
                       ).status_code == 302
    assert settings.get("due.urgent.ack") == "2wd"


def test_an_acknowledgement_always_due_after_its_action_is_refused(app, client):
    _admin(client)
    # 5 working days take 5 days at the least (from a Sunday): always later than 4 days.
    r = client.post("/admin/settings", data={**RULES, "routine_ack": "5wd", "routine_action": "4d"})
    assert r.status_code == 400 and "접수 확인 기한" in r.get_data(as_text=True)
    # 3 working days are always later than 2, whatever the calendar.
    r = client.post("/admin/settings", data={**RULES, "routine_ack": "3wd", "routine_action": "2wd"})
    assert r.status_code == 400 and "접수 확인 기한" in r.get_data(as_text=True)
    # A month never passes within 2 working days, not even across the longest holidays.
    r = client.post("/admin/settings", data={**RULES, "urgent_ack": "30d", "urgent_action": "2wd"})
    assert r.status_code == 400 and "접수 확인 기한" in r.get_data(as_text=True)
    assert (settings.get("due.routine.ack"), settings.get("due.urgent.ack")) == ("3wd", "24h")


# --- the row lock of an organization save ------------------------------------------------------------------

def test_an_organization_save_takes_its_dongs_lock_with_the_shared_helper(app, client, monkeypatch):
    from volnet.admin import views
    from volnet.core import sql
    from volnet.places.models import Dong

    calls = []
    real = sql.lock_rows
    monkeypatch.setattr(views, "lock_rows", lambda model, ids: (calls.append((model, list(ids))),
                                                                real(model, ids)), raising=False)
    d = b.dong()
    _admin(client)
    r = client.post("/admin/organizations/new", data={"name": "행복약국", "kind": "pharmacy", "dong_id": d.id,
                                                      "phone": "", "active": "y"})
    assert r.status_code == 302
    assert calls == [(Dong, [d.id])]


# --- one QR helper ------------------------------------------------------------------------------------------

def test_the_invitation_and_two_step_qr_come_from_one_helper(app):
    from volnet.admin import views
    from volnet.core import qr
    from volnet.security import totp

    assert totp.qr_svg is qr.qr_svg
    assert not hasattr(views, "_qr_svg")
    assert 'width="' in qr.qr_svg("https://volnet.example/account/join/abc", scale=6)
