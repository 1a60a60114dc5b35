"""A pause's message lists the dates of the places it cancelled in each recipient's own language (their
remembered language), as every other message does: whenever it is shown or delivered, not frozen in the
language it had when the coordinator pressed the button."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.extensions import db
from volnet.notifications import services as notes
from volnet.notifications.models import Outbox
from volnet.shifts.models import Program


def _pause(client, p):
    return client.post(f"/shifts/programs/{p.id}/edit", follow_redirects=True, data={
        "name": p.name, "service": p.service, "dong_id": p.dong_id, "cancel_cutoff_hours": "24",
        "route_before_hours": "2", "route_after_hours": "6", "confirm_pause": "1", "pause_reason": ""})


def _inbox(client, u) -> str:
    b.login(client, u)
    page = client.get("/notifications").get_data(as_text=True)
    client.post("/account/logout")
    return page


KO_DATES = ("2031. 3. 4.(화) 10:00, 2031. 3. 11.(화) 10:00, 2031. 3. 18.(화) 10:00, 2031. 3. 25.(화) 10:00, "
            "2031. 4. 1.(화) 10:00 외 2건")
EN_DATES = ("2031. 3. 4.(Tue) 10:00, 2031. 3. 11.(Tue) 10:00, 2031. 3. 18.(Tue) 10:00, 2031. 3. 25.(Tue) 10:00, "
            "2031. 4. 1.(Tue) 10:00 and 2 more")


def test_each_volunteer_reads_the_paused_dates_in_their_own_language(client):
    d, org, coord, p = sb.world()
    weekly = [sb.occurrence(p, starts_at=sb.seoul(2031, 3, 4, 10) + timedelta(days=7 * i), capacity=2)
              for i in range(7)]
    ko = sb.volunteer(d, name="김하은", locale="ko")
    en = sb.volunteer(d, name="Sam Lee", locale="en", channels=["inapp", "sms"], phone="01012345678")
    for o in weekly:
        sb.signed(o, ko)
        sb.signed(o, en)
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "ko"})  # the coordinator reads Korean
    assert "일시 중지" in _pause(client, p).get_data(as_text=True)
    client.post("/account/logout")
    db.session.expire_all()
    assert db.session.get(Program, p.id).active is False

    # As sent: the Korean volunteer in Korean, the English one in English.
    ko_page, en_page = _inbox(client, ko), _inbox(client, en)
    assert f"(7건): {KO_DATES}" in ko_page and "(Tue)" not in ko_page
    assert f"(7): {EN_DATES}" in en_page and "(화)" not in en_page and "외 2건" not in en_page

    # The English volunteer switches to Korean (remembered on the account): the message reads Korean throughout,
    # in the app and in a text message delivered from now on.
    b.login(client, en)
    client.post("/lang", data={"lang": "ko"})
    page = client.get("/notifications").get_data(as_text=True)
    client.post("/account/logout")
    assert f"(7건): {KO_DATES}" in page and "(Tue)" not in page and "and 2 more" not in page
    db.session.expire_all()
    sms = db.session.scalar(select(Outbox).where(Outbox.recipient_id == en.id, Outbox.channel == "sms"))
    subject, body = notes.render(sms.kind, sms.params, db.session.get(type(en), en.id), (sms.subject, sms.body))
    assert subject.startswith("프로그램 일시 중지") and KO_DATES in body and "(Tue)" not in body

    # And the other way round.
    b.login(client, ko)
    client.post("/lang", data={"lang": "en"})
    page = client.get("/notifications").get_data(as_text=True)
    assert EN_DATES in page and "(화)" not in page
