"""The public 'report a neighbour' page: reference code, coarse status, throttling, spam defences."""
import re
import time

import pytest
from sqlalchemy import func, select

from tests import builders as b
from volnet.extensions import db
from volnet.observations.models import Observation


@pytest.fixture
def dong(app):
    d = b.dong(name="송산3동")
    db.session.commit()
    return d


def _form(client):
    page = client.get("/report-a-neighbour").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"|id="started" name="started" type="hidden" value="([^"]+)"', page)
    return next(g for g in started.groups() if g)


def _post(client, dong, started, **extra):
    data = {"dong_id": dong.id, "location_text": "송산초등학교 뒤 빌라 2층", "signals": ["smell_insects"],
            "urgency": "routine", "subject_sex": "m", "subject_age_band": "60s", "started": started}
    data.update(extra)
    return client.post("/report-a-neighbour", data=data, environ_base={"REMOTE_ADDR": extra.pop("ip", "10.0.0.1")})


def _started_long_ago(app):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="citizen-report").dumps(int(time.time()) - 60)


def test_report_returns_a_code_that_shows_coarse_status(app, client, dong):
    r = _post(client, dong, _started_long_ago(app))
    assert r.status_code == 303
    r = client.get(r.headers["Location"])
    code = re.search(r"<strong>([2-9A-Z]{4}-[2-9A-Z]{4})</strong>", r.get_data(as_text=True)).group(1)
    o = db.session.scalar(select(Observation))
    assert o.reporter_id is None and o.concern_id and o.household_id is None
    status = client.post("/report-a-neighbour/status", data={"code": code.lower().replace("-", "")})
    assert "접수됨" in status.get_data(as_text=True)
    assert "송산초등학교" not in status.get_data(as_text=True)


def test_unknown_code_reveals_nothing(app, client, dong):
    r = client.post("/report-a-neighbour/status", data={"code": "ZZZZ-ZZZZ"})
    assert "코드" in r.get_data(as_text=True)


def test_bots_are_refused(app, client, dong):
    assert _post(client, dong, _started_long_ago(app), website="http://spam.example").status_code == 400
    assert _post(client, dong, _form(client)).status_code == 400  # filled in under 3 seconds
    assert _post(client, dong, "forged").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0


def test_throttled_per_client(app, client, dong):
    started = _started_long_ago(app)
    for i in range(10):  # ten reports (the same words again from this browser would be one report)
        assert _post(client, dong, started, note=f"{i + 1}번째 제보").status_code == 303, i
    r = _post(client, dong, started)
    assert r.status_code == 429
    # Another client is not affected.
    assert _post(client, dong, started, ip="10.0.0.2").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 11


def test_validation_messages(app, client, dong):
    r = _post(client, dong, _started_long_ago(app), location_text="  ", signals=[], note="")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert page.count("form-error") >= 2
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0


def test_page_is_public_and_offers_119(client, dong):
    page = client.get("/report-a-neighbour").get_data(as_text=True)
    assert 'href="tel:119"' in page and "송산3동" in page


def test_length_messages_read_as_plain_korean_and_english(app, client, dong):
    """WTForms' own Korean ("2000자 보다 많을 수 없습니다") is replaced by plain wording."""
    r = _post(client, dong, _started_long_ago(app), note="가" * 2001)
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "2000자 이내로 적어 주세요." in page and "자 보다" not in page
    client.post("/lang", data={"lang": "en"})
    page = _post(client, dong, _started_long_ago(app), note="가" * 2001).get_data(as_text=True)
    assert "Field cannot be longer than 2000 characters." in page
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0
