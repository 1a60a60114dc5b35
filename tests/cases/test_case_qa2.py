"""QA round 2 on integrated cases: the closure request in the reader's language, what an approval says about
aftercare, withdrawing a waiting request, the owner told of the result, a returned closure on the page, the
list filter of closures awaiting approval, and the aftercare card's wording."""
from __future__ import annotations

import html as htmllib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services as notes
from volnet.notifications.models import Outbox

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Monday in Seoul


@pytest.fixture
def s(app):
    clock.freeze(T0)
    d = b.dong()
    return {
        "dong": d,
        "cw": b.user("caseworker", [d], name="김민수", locale="ko"),
        "cw2": b.user("caseworker", [d], name="이서연", locale="ko"),
        "lead": b.user("team_lead", [d], name="박지현", locale="en"),
        "household": b.household(d, name="김영희", phone="01012345678"),
    }


def _block(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return htmllib.unescape(page[start:page.index("</section>", start)])


def _outbox(kind, user):
    return db.session.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.recipient_id == user.id,
                                                   Outbox.channel == "inapp")).all()


def _inbox(client, user) -> str:
    """The user's notifications page, once the messages due are delivered."""
    notes.deliver_many(notes.due_ids(clock.now(), for_queue=False))
    client.post("/account/logout")
    b.login(client, user)
    return htmllib.unescape(client.get("/notifications").get_data(as_text=True))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- 2. the closing reason in the reader's language

def test_the_closure_request_message_names_the_reason_in_each_reader_s_language(s, client):
    case = cb.case(s["cw"], s["household"])  # 김민수's case; 이서연 asks
    db.session.commit()
    b.login(client, s["cw2"])
    client.post(f"/cases/{case.id}/close", data={"reason": "stabilised", "note": "생계 안정"})
    row = _outbox("case_closure_requested", s["lead"])[0]
    assert row.params["reason"] == "stabilised"  # the code, not a text frozen in the asker's language
    page = _inbox(client, s["lead"])  # the team lead reads English
    assert f"asked to close integrated case #{case.id} (Crisis resolved, stable)" in page
    assert "위기 해소" not in page
    page = _inbox(client, s["cw"])  # the owner reads Korean
    assert "위기 해소, 안정" in page and "Crisis resolved" not in page


def test_an_older_closure_request_message_holding_the_reason_as_text_still_reads(s):
    row = notes.notify(s["lead"], "case_closure_requested", {"case": 3, "who": "이서연", "reason": "위기 해소, 안정"},
                       dedupe_key="old")[0]
    _subject, body = notes.render(row.kind, row.params, s["lead"])
    assert "(위기 해소, 안정)" in body
