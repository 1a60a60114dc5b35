"""Time rules as the admin edits them: due-time rules mixing calendar and working days, the other time rules'
own page (case steps, safety-call retries, shift reminders, quiet hours, login limits), and the shared QR."""
from __future__ import annotations

import re
from datetime import time

from sqlalchemy import select

from tests import builders as b
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.settings import services as settings
from volnet.settings.models import Setting

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


# --- the other time rules' page ---------------------------------------------------------------------------

TIME_RULES = {"case_assessment": "10d", "case_selection": "5d", "case_planning": "15d", "case_total": "30d",
              "case_escalate": "2d", "call_retries": 2, "call_retry_after": "15m", "call_retry_grace": "60m",
              "shift_reminders": "24, 2", "quiet_start": "21:00", "quiet_end": "08:00", "login_max_failures": 6,
              "login_lock_minutes": 30, "login_max_failures_per_address": 50,
              "call_cadence_emergency": 1, "call_cadence_intensive": 2, "call_cadence_daily_risk": 7,
              "call_cadence_relationship": 10, "call_cadence_daily_life": 14, "call_cadence_unassessed": 7,
              "call_hour": 10, "call_visit_after_misses": 2, "call_visit_hour": 18, "shift_unfilled_hours": 48,
              "lead_escalate_hours": 2, "digest_time": "08:30", "case_review": "30d", "case_aftercare_early": "7d",
              "shift_outcome_early": 15}


def test_only_admins_open_the_other_time_rules(app, client):
    caseworker = b.user("caseworker", [b.dong()])
    db.session.commit()
    b.login(client, caseworker)
    assert client.get("/admin/time-rules").status_code == 404  # as every page a role may not use
    assert client.post("/admin/time-rules", data={**TIME_RULES, "call_retries": 5}).status_code == 404
    assert settings.get("calls.retries") == 2


def test_the_admin_sees_current_values_and_defaults_and_changes_them(app, client):
    from volnet.accounts import views as accounts_views
    from volnet.notifications import services as notifications

    admin = _admin(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/time-rules"' in page and "기타 시간 규칙" in page
    r = client.get("/admin/time-rules")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "기본값: 24, 2" in page and 'value="24, 2"' in page and "안심콜" in page
    assert 'value="21:00"' in page and "기본값: 15m" in page

    r = client.post("/admin/time-rules", data={**TIME_RULES, "case_assessment": "7WD", "call_retries": "３",
                                               "call_retry_after": "30m", "shift_reminders": "2、48, 24",
                                               "quiet_start": "２２：００", "quiet_end": "7:30",
                                               "login_max_failures": 5, "login_lock_minutes": 15})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert settings.get("cases.due.assessment") == "7wd"
    assert (settings.get("calls.retries"), settings.get("calls.retry_after")) == (3, "30m")
    assert settings.get("shifts.reminders") == [48, 24, 2]
    assert notifications.quiet_window() == (time(22, 0), time(7, 30))
    assert accounts_views._lock_rules()[0] == 5 and accounts_views._lock_rules()[1].total_seconds() == 15 * 60
    # The page shows what is in force now; unchanged rules still follow the code's defaults (no row).
    page = client.get("/admin/time-rules").get_data(as_text=True)
    assert 'value="48, 24, 2"' in page and 'value="22:00"' in page and "기본값: 21:00" in page
    assert db.session.get(Setting, "cases.due.total") is None
    logged = db.session.scalars(select(AuditLog).where(AuditLog.actor_id == admin.id,
                                                       AuditLog.subject_type == "settings")).all()
    assert len(logged) == 1 and "calls.retries" in logged[0].detail and "cases.due.total" not in logged[0].detail
    # No reminders at all is a choice too.
    assert client.post("/admin/time-rules", data={**TIME_RULES, "shift_reminders": ""}).status_code == 302
    assert settings.get("shifts.reminders") == []


def test_the_other_time_rules_refuse_what_cannot_work(app, client):
    _admin(client)
    for change, message in (
            ({"case_total": "30x"}, "숫자와 단위"),
            ({"case_planning": "0d"}, "1 이상"),
            ({"call_retries": 9}, None),
            ({"call_retry_after": "2d"}, "하루 이내"),
            ({"call_retry_grace": "25h"}, "하루 이내"),
            ({"shift_reminders": "24h"}, "1~168"),
            ({"shift_reminders": "200"}, "1~168"),
            ({"shift_reminders": "1, 2, 3, 4, 5"}, "1~168"),
            ({"quiet_start": "25:00"}, "시각을 적으세요"),
            ({"quiet_end": "8시"}, "시각을 적으세요"),
            ({"login_max_failures": 0}, None),
            ({"case_total": "1h"}, "일 단위"),
            ({"case_review": "1h"}, "일 단위"),
            ({"case_aftercare_early": "48h"}, "일 단위"),
            ({"case_aftercare_early": "5wd"}, "달력 날짜"),
            ({"case_total": "12d"}, "각 단계"),
            ({"login_max_failures": 10, "login_max_failures_per_address": 5}, "한 계정"),
    ):
        r = client.post("/admin/time-rules", data={**TIME_RULES, "case_selection": "4d", **change})
        assert r.status_code == 400, change
        errors = re.findall(r'<p class="form-error" role="alert">([^<]*)</p>', r.get_data(as_text=True))
        assert len(errors) == 1 and (message is None or message in errors[0]), (change, errors)
    # Nothing of a refused form is saved.
    assert settings.get("cases.due.selection") == "5d"
    assert settings.get("notify.quiet_start") == "21:00"


def test_the_call_cadence_per_tier_and_the_other_call_shift_and_notice_times_are_set_on_the_page(app, client):
    from volnet.calls import services as calls

    _admin(client)
    page = client.get("/admin/time-rules").get_data(as_text=True)
    assert "집중관리군: 전화 간격(일)" in page and "통화 후 방문" not in page
    assert 'name="call_cadence_intensive"' in page and 'value="2"' in page and 'value="08:30"' in page
    r = client.post("/admin/time-rules", data={**TIME_RULES, "call_cadence_intensive": 3, "call_hour": 9,
                                               "call_visit_after_misses": 3, "shift_unfilled_hours": 72,
                                               "lead_escalate_hours": 4, "digest_time": "7:45",
                                               "case_review": "4wd", "case_aftercare_early": "14d",
                                               "shift_outcome_early": 30})
    assert r.status_code == 302, r.get_data(as_text=True)
    # Read where they apply: one tier's cadence changed, the others still as they were.
    assert calls.cadence_days("intensive") == 3 and calls.cadence_days("emergency") == 1
    assert calls.cadence_days("daily_life") == 14
    assert (settings.get("calls.call_hour"), settings.get("calls.visit_after_misses")) == (9, 3)
    assert settings.get("shifts.unfilled_alert_hours") == 72 and settings.get("shifts.outcome_early_minutes") == 30
    assert (settings.get("cases.review_every"), settings.get("cases.aftercare_early")) == ("4wd", "14d")
    assert (settings.get("notify.escalate_lead_after_hours"), settings.get("notify.digest_time")) == (4, "07:45")
    page = client.get("/admin/time-rules").get_data(as_text=True)
    assert re.search(r'name="call_cadence_intensive"[^>]*value="3"|value="3"[^>]*name="call_cadence_intensive"', page)
    assert "기본값: 2" in page
    for change in ({"call_cadence_emergency": 0}, {"call_hour": 24}, {"digest_time": "25:00"},
                   {"shift_unfilled_hours": 0}):
        assert client.post("/admin/time-rules", data={**TIME_RULES, **change}).status_code == 400, change
    assert calls.cadence_days("emergency") == 1 and settings.get("calls.call_hour") == 9
