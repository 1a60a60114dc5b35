"""What people see: in-app list with the unread count, mark as read, channel choice, the admin page;
mail through a real local SMTP server (aiosmtpd), and mail with the server down."""
from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest

from tests import builders as b
from tests.conftest import csrf_token_from
from tests.notifications.builders import person, rows
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services
from volnet.settings import services as settings


def _deliver_now(u, key, **kw):
    services.notify(u, "concern_urgent", {"concern": 7, "dong": "송산3동"}, dedupe_key=key, link="/concerns/7", **kw)
    db.session.commit()
    services.after_commit_dispatch()


@pytest.fixture
def csrf_after_login(app):
    yield lambda: app.config.update(WTF_CSRF_ENABLED=True)
    app.config["WTF_CSRF_ENABLED"] = False


def test_inbox_unread_count_and_mark_as_read(app, client, csrf_after_login):
    u = person("caseworker", locale="en")
    other = person("caseworker")
    _deliver_now(u, "a")
    _deliver_now(u, "b")
    _deliver_now(other, "c")
    b.login(client, u)
    csrf_after_login()
    page = client.get("/notifications").get_data(as_text=True)
    assert "Urgent report in 송산3동" in page
    assert re.search(r'nav-count[^>]*>2<', page), "unread count in the header"
    mine = rows(recipient_id=u.id)
    theirs = rows(recipient_id=other.id)[0]
    token = csrf_token_from(page)
    assert client.post(f"/notifications/{mine[0].id}/read", data={}).status_code == 400  # no CSRF: refused
    db.session.refresh(mine[0])
    assert mine[0].read_at is None
    # Someone else's notification answers 404 and stays unread.
    assert client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/abc/read", data={"csrf_token": token}).status_code == 404
    resp = client.post(f"/notifications/{mine[0].id}/read", data={"csrf_token": token, "go": "1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/concerns/7")
    page = client.get("/notifications").get_data(as_text=True)
    assert re.search(r'nav-count[^>]*>1<', page)
    client.post("/notifications/read-all", data={"csrf_token": token})
    page = client.get("/notifications").get_data(as_text=True)
    assert "nav-count" not in page and "No unread notifications." in page
    db.session.expire_all()
    assert rows(recipient_id=other.id)[0].read_at is None
    assert client.get("/notifications?page=999").status_code == 200


def test_channel_choice_is_saved_and_used(app, client):
    u = person("volunteer", channels=None, phone="01055556666", email=None, locale="en")
    b.login(client, u)
    assert "No email address on your account." in client.get("/notifications/settings").get_data(as_text=True)
    resp = client.post("/notifications/settings", data={"sms": "y", "kakao": "y", "role": "admin"})
    assert resp.status_code == 303
    db.session.refresh(u)
    assert u.channels == ["inapp", "sms", "kakao"] and u.role == "volunteer"
    out = services.notify(u, "k", {}, dedupe_key="pref")
    assert sorted(r.channel for r in out) == ["inapp", "kakao", "sms"]


def test_the_settings_page_reads_the_contact_fields_in_one_statement(app, client):
    u = person("volunteer", channels=("inapp", "email"), phone="01055556666", email="vol@example.kr", locale="en")
    db.session.commit()
    b.login(client, u)
    sent, body = b.page_sql(client, "/notifications/settings")
    assert "No email address on your account." not in body and "No phone number" not in body
    assert re.search(r'<input(?=[^>]*\bchecked\b)(?=[^>]*name="email")', body)  # the saved choice shows
    assert len([s for s in sent if "FROM users" in s]) == 2  # the signed-in user, then its contact fields


def test_admin_sees_messages_and_queue_health_others_do_not(app, client):
    admin = b.user("admin", locale="en")
    cw = person("caseworker")
    _deliver_now(cw, "x")
    b.login(client, cw)
    assert client.get("/admin/notifications").status_code == 404
    client = app.test_client()
    b.login(client, admin)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Queue health" in page and "In-process (no Redis)" in page
    assert client.get("/admin/notifications?state=bogus&channel=<script>&page=-3").status_code == 200
    assert client.post("/admin/notifications/sweep").status_code == 303


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_port():
    return _free_port()


def test_mail_is_retried_while_the_server_is_down_then_failed_shown_and_resent(app, client, smtp_port):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, MAIL_TIMEOUT=2)
    settings.put("notify.max_attempts", 3)
    admin = b.user("admin", locale="en")
    u = person("caseworker", channels=["email"], email="kim@example.kr", locale="en")
    db.session.commit()
    try:
        _deliver_now(u, "mail-down")
        mail = rows(channel="email")[0]
        assert mail.state == "retrying" and "ConnectionRefused" in mail.last_error
        for _ in range(4):
            clock.advance(timedelta(minutes=10))
            services.sweep()
        db.session.refresh(mail)
        assert mail.state == "failed" and mail.attempts == 3
        b.login(client, admin)
        page = client.get("/admin/notifications?state=failed").get_data(as_text=True)
        assert "ConnectionRefusedError" in page and "Send again" in page
        # The mail server is back: the admin sends it again; it arrives exactly once.
        handler = _Collect()
        ctl = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=smtp_port)
        ctl.start()
        try:
            resp = client.post(f"/admin/notifications/{mail.id}/resend", data={})
            assert resp.status_code == 303
            services.sweep()
            db.session.refresh(mail)
            assert mail.state == "sent"
            assert len(handler.messages) == 1
            assert handler.messages[0].rcpt_tos == ["kim@example.kr"]
            content = handler.messages[0].content.decode()
            assert "Urgent report in" in content and "/concerns/7" in content
            assert client.post(f"/admin/notifications/{mail.id}/resend", data={}).status_code == 303
            services.sweep()
            assert len(handler.messages) == 1  # a sent message cannot be re-sent
        finally:
            ctl.stop()
    finally:
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)


def test_opportunistic_sweep_after_a_request_sends_due_reminders(app, client):
    app.config["NOTIFY_OPPORTUNISTIC_SWEEP"] = True
    try:
        from volnet.notifications import views

        views._last_check[0] = 0.0
        u = person("volunteer", channels=["sms"])
        services.notify(u, "k", {}, dedupe_key="r", send_at=clock.now() + timedelta(minutes=5))
        db.session.commit()
        clock.advance(timedelta(minutes=6))
        client.get("/account/login").close()
        db.session.expire_all()
        assert {r.state for r in rows()} == {"sent"}
        assert services.last_sweep_at() == clock.now()
    finally:
        app.config["NOTIFY_OPPORTUNISTIC_SWEEP"] = None


def test_reporting_an_emergency_alerts_the_caseworker(app, client):
    d = b.dong()
    cw = person("caseworker", dongs=[d], channels=["sms"])
    rep = b.user("honorary", dongs=[d])
    h = b.household(d)
    db.session.commit()
    b.login(client, rep)
    resp = client.post("/report/new", data={
        "household_id": str(h.id), "dong_id": str(d.id), "urgency": "emergency", "signals": ["unreachable"],
        "note": "문을 두드려도 대답이 없어요", "client_token": "tok-emergency-1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    sms = rows(recipient_id=cw.id, channel="sms")
    assert len(sms) == 1 and sms[0].state == "sent" and sms[0].urgent


def test_outbox_names_each_kind_of_message_in_the_admins_language(app, client):
    """The 종류 column reads '위기 의심 건 접수 확인 기한 초과', not the event key concern_overdue_ack; a kind
    volnet has no label for is shown as it is."""
    admin = b.user("admin", locale="ko")
    cw = person("caseworker")
    services.notify(cw, "concern_overdue_ack", {"concern": 7, "dong": "송산3동", "due": "09:00"}, dedupe_key="a")
    services.notify(cw, "shift_changed", {"program": "화요일 반찬 배달"}, dedupe_key="b")
    services.notify(cw, "made_up_kind", {}, dedupe_key="c")
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "위기 의심 건 접수 확인 기한 초과" in page and "봉사활동 일정 변경" in page
    assert "<code>concern_overdue_ack</code>" not in page and "<code>shift_changed</code>" not in page
    assert "<code>made_up_kind</code>" in page
    client.post("/lang", data={"lang": "en"})
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Concern not acknowledged in time" in page and "Shift changed" in page


def test_every_message_kind_volnet_sends_has_an_outbox_label(app):
    volnet_kinds = {k for k in services.KINDS if not k.startswith("test_")}  # tests register their own
    assert len(volnet_kinds) >= 19 and volnet_kinds - set(services.KIND_LABELS) == set()


def test_case_alerts_are_known_to_a_process_that_has_sent_none(app, client):
    """The kinds of the cases and calls alerts, with their outbox labels, are registered when the app is set
    up, not at the first alert a process sends: the admins' page names a case alert in their language, and
    the recipient reads it in the language they now use."""
    import importlib

    import volnet.cases.alerting as alerting

    admin = b.user("admin", locale="ko")
    cw = person("caseworker", locale="ko")
    services.notify(cw, "case_step_overdue", {"case": 5, "step": "사정", "due": "12. 9."}, dedupe_key="case")
    db.session.commit()
    services.after_commit_dispatch()
    saved = dict(services.KINDS), dict(services.KIND_LABELS)
    for kind in alerting.KINDS:  # as in a fresh process, which imports the module once
        services.KINDS.pop(kind, None)
        services.KIND_LABELS.pop(kind, None)
    try:
        importlib.reload(alerting)
        b.login(client, admin)
        page = client.get("/admin/notifications").get_data(as_text=True)
        assert "통합사례 처리 기한 초과" in page and "<code>case_step_overdue</code>" not in page
        client.post("/lang", data={"lang": "en"})
        assert "Integrated case step overdue" in client.get("/admin/notifications").get_data(as_text=True)
        reader = app.test_client()
        b.login(reader, cw)
        reader.post("/lang", data={"lang": "en"})
        page = reader.get("/notifications").get_data(as_text=True)
        assert "Integrated case #5: a step is overdue" in page and "처리 기한이 지났습니다" not in page
    finally:
        services.KINDS.update(saved[0])
        services.KIND_LABELS.update(saved[1])


def test_people_give_their_own_phone_and_email_where_messages_reach_them(app, client):
    u = person("volunteer", channels=None, phone=None, email=None, locale="ko")
    b.login(client, u)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="email_address"' in page
    r = client.post("/notifications/settings", data={"sms": "y", "email": "y", "phone": "010-12",
                                                     "email_address": "no-at-sign"})
    assert r.status_code == 400 and "010-1234-5678" in r.get_data(as_text=True)
    db.session.refresh(u)
    assert u.phone is None and u.channels is None  # nothing half-saved
    r = client.post("/notifications/settings", data={"sms": "y", "email": "y", "phone": "010 5555 6666",
                                                     "email_address": "Vol@Example.kr"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    db.session.refresh(u)
    assert (u.phone, u.email, u.channels) == ("01055556666", "vol@example.kr", ["inapp", "email", "sms"])
    assert "휴대전화 번호나 이메일 주소가 있어야" not in page and "010-5555-6666" in page


def test_text_messages_and_kakaotalk_need_a_mobile_number(app, client):
    """A landline cannot take SMS or KakaoTalk: choosing them with one is refused, in the reader's language,
    and nothing is saved; a mobile number (any way it is typed) is taken."""
    u = person("volunteer", channels=None, phone=None, email=None, locale="ko")
    b.login(client, u)
    for channel, landline in (("sms", "02-123-4567"), ("kakao", "031-123-4567")):
        r = client.post("/notifications/settings", data={channel: "y", "phone": landline})
        assert r.status_code == 400
        assert "문자와 카카오톡은 010-1234-5678 같은 휴대전화 번호로만 받을 수 있습니다." in r.get_data(as_text=True)
        db.session.refresh(u)
        assert u.phone is None and u.channels is None
    client.post("/lang", data={"lang": "en"})
    r = client.post("/notifications/settings", data={"sms": "y", "phone": "02-123-4567"})
    assert r.status_code == 400
    assert "Text messages and KakaoTalk need a mobile number such as 010-1234-5678." in r.get_data(as_text=True)
    r = client.post("/notifications/settings", data={"sms": "y", "kakao": "y", "phone": "+82 10-5555-6666"})
    assert r.status_code == 303
    db.session.refresh(u)
    assert (u.phone, u.channels) == ("01055556666", ["inapp", "sms", "kakao"])
    # Without text messages the number is only where to reach the person: a landline is fine.
    r = client.post("/notifications/settings", data={"email": "y", "phone": "02-123-4567"})
    assert r.status_code == 303
    db.session.refresh(u)
    assert (u.phone, u.channels) == ("021234567", ["inapp", "email"])


def test_resending_a_failed_message_keeps_its_history_and_errors_read_in_korean(app, client):
    """'다시 보내기' on a text message that failed 8 times: it goes out, and the outbox still says it had failed
    8 times with which error, who sent it again and when; errors are explained in the admin's language,
    with the provider's raw text beside them (an unknown one as '발송 업체 오류: <raw>')."""
    admin = b.user("admin", name="정관리", locale="ko")
    vol = person("volunteer", channels=["sms"])
    other = person("volunteer", channels=["sms"])
    sms = [r for r in services.notify(vol, "k", {}, dedupe_key="failed-8", channels=["sms"]) if r.channel == "sms"][0]
    odd = [r for r in services.notify(other, "k", {}, dedupe_key="odd", channels=["sms"]) if r.channel == "sms"][0]
    sms.state, sms.attempts, sms.last_error = "failed", 8, "gateway unavailable"
    odd.state, odd.attempts, odd.last_error = "failed", 1, "E42 quota exceeded"
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/notifications?state=failed").get_data(as_text=True)
    assert "문자 발송 게이트웨이에 연결할 수 없었습니다" in page and "(gateway unavailable)" not in page
    assert "발송 업체 오류: E42 quota exceeded" in page
    assert client.post(f"/admin/notifications/{sms.id}/resend", data={}).status_code == 303
    db.session.expire_all()
    sms = db.session.get(type(sms), sms.id)
    assert (sms.state, sms.attempts, sms.last_error) == ("sent", 1, "")
    assert sms.params[services.RESENDS][0]["attempts"] == 8
    page = client.get("/admin/notifications?channel=sms").get_data(as_text=True)
    row = page[page.index(f"<td>{sms.id}</td>"):]
    row = row[:row.index("</tr>")]
    assert "(이전 8회)" in row
    assert "재발송: 정관리, 2026. 3. 2.(월) 10:00 · 그 전 8회 시도(실패): 문자 발송 게이트웨이에 연결할 수 없었습니다" in row
    client.post("/lang", data={"lang": "en"})
    page = client.get("/admin/notifications?channel=sms").get_data(as_text=True)
    assert "Sent again by 정관리 on 2026. 3. 2.(Mon) 10:00, after 8 attempts (Failed): " \
           "The text message gateway was unavailable" in page
    assert "Provider error: E42 quota exceeded" in page


def test_error_texts():
    assert services.error_text("") == ("", "")
    assert services.error_text("SMTP unavailable: ConnectionRefusedError")[1] == "SMTP unavailable: ConnectionRefusedError"
    assert services.error_text("KeyError")[1] == "KeyError"
    assert services.error_text("weird")[0] == "Provider error: weird"


def test_a_channels_hint_sits_under_its_checkbox_and_is_tied_to_it(app, client):
    """At 360 px the hint beside the checkbox squeezed 'Text message (SMS)' into 'Text / messa / ge': the hint
    takes its own line under the label (the stylesheet gives it the whole row) and screen readers read it
    with its checkbox."""
    u = person("honorary", channels=None, phone=None, email=None, locale="en")
    b.login(client, u)
    page = client.get("/notifications/settings").get_data(as_text=True)
    for name in ("email", "sms", "kakao"):
        assert re.search(rf'<input(?=[^>]*\bid="{name}")(?=[^>]*aria-describedby="{name}-hint")', page)
        assert f'<p class="form-hint" id="{name}-hint">' in page
    css = client.get("/static/css/volnet.css").get_data(as_text=True)
    rule = re.search(r"\.form-check > \.form-hint \{([^}]*)\}", css)
    assert rule and "flex-basis: 100%" in rule.group(1)
