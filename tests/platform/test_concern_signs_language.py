"""The queue's "Signs" column in the reader's language, whoever reported and in whatever language (QA round 20,
F5): a concern keeps its first report's signal codes, and every page shows their labels as its reader reads."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests import builders as b
from volnet.concerns.models import Concern
from volnet.extensions import db


def _signs_cells(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r'data-label="(?:Signs|징후)">(.*?)</td>', page, re.S)]


def _queue(app, user, lang: str) -> list[str]:
    c = app.test_client()
    b.login(c, user)
    c.post("/lang", data={"lang": lang})
    return _signs_cells(c.get("/concerns/").get_data(as_text=True))


def test_an_english_partner_s_report_reads_in_korean_in_a_korean_queue_and_in_english_in_an_english_one(app, client):
    d = b.dong()
    h = b.household(d, road="경기도 의정부시 민락로 106", unit="1층")
    partner = b.user("partner", [d], locale="en")
    cw_ko = b.user("caseworker", [d], locale="ko")
    cw_en = b.user("caseworker", [d], locale="en")
    db.session.commit()
    b.login(client, partner)
    client.post("/lang", data={"lang": "en"})
    # Partner staff report by address (they see no household): this one finds the household recorded.
    r = client.post("/report/new", data={"dong_id": d.id, "road_address": "민락로 106", "unit": "1층",
                                         "urgency": "routine", "signals": ["not_going_out", "mail_piling"],
                                         "client_token": "en-1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    concern = db.session.scalar(select(Concern))
    assert concern.household_id == h.id
    assert concern.summary == "not_going_out,mail_piling"  # no language in the row
    assert _queue(app, cw_ko, "ko") == ["외출 없음, 우편물·고지서 적체"]
    assert _queue(app, cw_en, "en") == ["Not going out, Mail and bills piling up"]


def test_every_way_a_concern_gets_its_signs_stores_codes(app):
    """Opened by a report with a household (PostgreSQL's one statement), joined by a later report while it had
    no signs yet, opened by a report without a household (the portable path on both databases)."""
    from volnet.observations import services
    from volnet.observations.models import Observation

    d = b.dong()
    reporter = b.user("honorary", [d])
    h = b.household(d)
    first = b.observation(h, reporter, signals=(), meals="poor", client_token="a")
    db.session.commit()
    assert db.session.get(Concern, first.concern_id).summary == ""
    b.observation(h, reporter, signals=("utility_cutoff", "life_transition"), client_token="b")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Concern, first.concern_id).summary == "utility_cutoff,life_transition"
    obs, _ = services.submit(Observation(dong_id=d.id, source="citizen", urgency="routine",
                                         signals=["smell_insects"], location_text="민락로 뒤 2층"), None)
    db.session.commit()
    assert db.session.get(Concern, obs.concern_id).summary == "smell_insects"


def test_labels_that_hold_commas_and_text_that_is_not_codes():
    from volnet.observations.signals import SIGNALS, summary_codes, summary_shown

    names = {k: str(v) for k, v in SIGNALS.items()}
    assert summary_shown("utility_cutoff,life_transition", names) == (
        "Power, water or gas cut off, Life transition (birth, turning 65)")
    assert summary_shown("고독사 위험 1인 가구", names) == "고독사 위험 1인 가구"  # free text, as it was
    assert summary_shown("not_going_out,고독사", names) == "not_going_out,고독사"
    assert summary_shown("", names) == ""
    # Every sign at once: whole codes within the column's 300 characters, never half a code.
    every = summary_codes(list(SIGNALS) + ["no_such_sign"])
    assert len(every) <= 300 and all(c in SIGNALS for c in every.split(","))


def test_a_case_opened_without_a_summary_takes_the_signs_as_its_opener_reads_them(app, client):
    from volnet.cases.models import Case

    d = b.dong()
    h = b.household(d)
    cw = b.user("caseworker", [d], locale="en")
    b.observation(h, b.user("honorary", [d]), signals=("not_going_out", "no_support"))
    db.session.commit()
    concern = db.session.scalar(select(Concern))
    b.login(client, cw)
    client.post("/lang", data={"lang": "en"})
    assert client.post(f"/cases/from-concern/{concern.id}", data={"summary": ""}).status_code == 302
    assert db.session.scalar(select(Case.summary)) == "Not going out, No one to rely on"


def test_the_access_request_export_reads_the_signs_beside_their_codes(app):
    from flask_babel import force_locale

    from volnet.privacy.services import household_export

    d = b.dong()
    h = b.household(d)
    admin = b.user("admin")
    b.observation(h, b.user("honorary", [d]), signals=("mail_piling",))
    db.session.commit()
    with app.test_request_context(), force_locale("ko"):
        row = household_export(h, admin)["concerns"][0]
    assert row["summary"] == "mail_piling" and row["summary_label"] == "우편물·고지서 적체"
