"""The demo's messages are ones volnet could have sent: about the demo's own shifts and concerns, with the
links they promise, and in the reader's language."""
from __future__ import annotations

import re
from datetime import datetime, time

from sqlalchemy import func, select

from tests import builders as b
from volnet.accounts.models import User
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications.models import Outbox
from volnet.shifts.models import ShiftOccurrence, Signup


def test_demo_messages_are_about_real_shifts_and_concerns_with_working_links(app, client):
    from volnet import demo

    demo.build(reset=False)
    db.session.commit()
    vol = db.session.scalar(select(User).where(User.login_id == "volunteer"))
    mine = set(db.session.scalars(select(Signup.occurrence_id).where(Signup.volunteer_id == vol.id,
                                                                     Signup.status == "confirmed")))
    shown = list(db.session.scalars(select(Outbox).where(Outbox.recipient_id == vol.id, Outbox.channel == "inapp",
                                                         Outbox.state == "sent")))
    assert {r.kind for r in shown} >= {"shift_reminder", "shift_changed"}
    for row in shown:
        occ_id = int(row.link.rsplit("/", 1)[1])
        assert occ_id in mine, row.link
        assert row.params["program"] == db.session.get(ShiftOccurrence, occ_id).program.name
    for row in db.session.scalars(select(Outbox).where(Outbox.kind.like("concern_%"), Outbox.link != "")):
        concern = db.session.get(Concern, int(row.params["concern"]))
        assert concern is not None and row.link == f"/concerns/{concern.id}"
    failed = db.session.scalar(select(Outbox).where(Outbox.state == "failed"))
    assert failed is not None and failed.kind == "shift_changed"

    vol_id = vol.id
    db.session.close()
    b.login(client, db.session.get(User, vol_id), password=demo.DEMO_PASSWORD)
    client.post("/lang", data={"lang": "en"})
    page = client.get("/notifications").get_data(as_text=True)
    # In the app the one-time link is noise (the "Go to page" button is right under it); the text message has it.
    assert "Confirm or cancel in one tap: the “Go to page” button below" in page and "/shifts/r/" not in page
    sms = db.session.scalar(select(Outbox).where(Outbox.recipient_id == vol_id, Outbox.kind == "shift_reminder",
                                                 Outbox.channel == "sms"))
    link = re.search(r"(\S+/shifts/r/[\w.-]+)", sms.body)
    assert link is not None, sms.body
    assert client.get("/shifts/r/" + link.group(1).rsplit("/", 1)[1]).status_code == 200
    assert "오늘" not in page and "(토)" not in page and "(화)" not in page
    assert re.search(r"starts \d{4}\. \d+\. \d+\.\((Mon|Tue|Wed|Thu|Fri|Sat|Sun)\) \d\d:\d\d", page), page
    client.post("/lang", data={"lang": "ko"})
    page = client.get("/notifications").get_data(as_text=True)
    assert "참석 확인·취소는 여기서 한 번에: 아래 ‘바로 가기’ 버튼" in page and "http" not in page


def test_demo_morning_summary_is_the_one_the_sweep_sends(app):
    """The demo's staff get the morning summary the sweep would send them (every caseworker and the team lead
    of the dong, with their dongs' counts), already read as sent, and a later sweep does not send it again."""
    from volnet import demo
    from volnet.notifications import services

    demo.build(reset=False)  # at any time of day (the demo runs on the real clock)
    db.session.commit()
    digests = {r.recipient.login_id: r for r in db.session.scalars(
        select(Outbox).where(Outbox.kind == "staff_digest", Outbox.channel == "inapp"))}
    assert {"caseworker", "caseworker2", "teamlead"} <= set(digests)
    today = clock.seoul_today()
    assert all(r.state == "sent" and r.params["date"] == today.isoformat() for r in digests.values())
    assert digests["teamlead"].params == digests["caseworker"].params  # one dong: the same counts
    assert digests["caseworker"].params["new"] > 0 and digests["caseworker"].params["overdue"] > 0
    before = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "staff_digest"))
    clock.freeze(datetime.combine(today, time(23, 0), tzinfo=clock.SEOUL))  # the digest time has passed today
    services.sweep()
    assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "staff_digest")) == before
