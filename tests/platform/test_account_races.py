"""Accounts under simultaneous requests: guesses sent in a burst and two people joining with one ID.

Each request runs in a thread of its own with its own connection (a second app on the same database, as
another gunicorn worker would be), all released together by a barrier.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests import concurrency
from volnet.accounts.models import Invitation, User
from volnet.audit.models import AuditLog
from volnet.core import clock
from volnet.extensions import db

pytestmark = pytest.mark.xdist_group("many-connections")

BURST = 14


@pytest.fixture
def wide_app(app):
    yield from concurrency.wide_app(app, BURST + 4)


def _at_once(app, n: int, request) -> list:
    """``request(client, i)`` in ``n`` threads at the same moment; their results in order of ``i``."""
    def run(i, barrier):
        client = app.test_client()
        barrier.wait()
        with app.app_context():
            return request(client, i)

    return concurrency.together(n, run)


def test_a_burst_of_guesses_gets_no_more_checks_than_the_limit(app, wide_app):
    """Fourteen wrong passwords at one moment: only six are checked, the rest are refused as locked,
    and the right password is refused afterwards too."""
    u = b.user("caseworker", login_id="target")
    db.session.commit()

    def guess(client, i):
        r = client.post("/account/login", data={"login_id": "target", "password": f"guess number {i}"},
                        environ_base={"REMOTE_ADDR": f"10.1.0.{i + 1}"})  # many clients: the account's lock
        return r.status_code

    codes = _at_once(wide_app, BURST, guess)
    assert set(codes) <= {200, 429}
    assert codes.count(200) <= 6, codes  # without counting guesses in flight, all fourteen were checked
    db.session.expire_all()
    failed = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "login_failed"))
    assert failed == codes.count(200)  # every checked guess is on record; refused ones were never checked
    # Going on one at a time: checked until six failures in all, then locked, the right password too.
    client = app.test_client()
    checked = codes.count(200)
    for i in range(8):
        r = client.post("/account/login", data={"login_id": "target", "password": f"more guesses {i}"})
        if r.status_code == 429:
            break
        assert r.status_code == 200
        checked += 1
    assert checked == 6
    r = client.post("/account/login", data={"login_id": "target", "password": b.PASSWORD})
    assert r.status_code == 429
    clock.advance(timedelta(minutes=31))
    r = client.post("/account/login", data={"login_id": "TARGET", "password": b.PASSWORD})
    assert r.status_code == 302 and u.id


def test_colleagues_behind_one_office_address_log_in_at_the_same_moment(app, wide_app):
    """A dong office shares one public address: ten colleagues logging in at one moment all get in (only
    guesses at one account are counted while they are checked, not everything from one address)."""
    users = [b.user("caseworker") for _ in range(10)]
    db.session.flush()
    logins = [u.login_id for u in users]
    # Committed after the IDs are read: reading an expired attribute would begin a transaction, which on
    # SQLite (BEGIN IMMEDIATE) holds the write lock against every thread below.
    db.session.commit()

    def log_in(client, i):
        r = client.post("/account/login", data={"login_id": logins[i], "password": b.PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.7.7.7"})
        return r.status_code

    assert _at_once(wide_app, len(logins), log_in) == [302] * len(logins)


def test_two_people_joining_with_one_id_in_different_case(app, wide_app):
    """"Kim" and "kim" at the same moment from one poster link: one account, the other is asked to choose
    another ID, with nothing half-saved (the link's use is counted once)."""
    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=10, expires_at=clock.now() + timedelta(days=1)))
    db.session.commit()

    def join(client, i):
        r = client.post(f"/account/join/{token}", data={
            "name": f"김하나{i}", "login_id": ["Kim.One", "kim.one", "KIM.ONE", "kim.ONE"][i],
            "new_password": "김씨네 긴 비밀번호", "confirm": "김씨네 긴 비밀번호"})
        return r.status_code, r.get_data(as_text=True)

    results = _at_once(wide_app, 4, join)
    codes = [code for code, _ in results]
    assert codes.count(302) == 1 and codes.count(200) == 3, codes
    for code, body in results:
        if code == 200:
            assert "이미 쓰이는 아이디입니다" in body
    db.session.expire_all()
    assert list(db.session.scalars(select(User.login_id).where(User.login_id.like("%one")))) == ["kim.one"]
    assert db.session.scalar(select(Invitation.uses)) == 1
    # The one who got in signs in however they type their ID.
    client = app.test_client()
    r = client.post("/account/login", data={"login_id": "KiM.oNe", "password": "김씨네 긴 비밀번호"})
    assert r.status_code == 302
