"""The coordinator finds a volunteer who phoned in by name or phone digits (no list capped at 500), among the
volunteers their organization may see, and signs them up from the result."""
from __future__ import annotations

from sqlalchemy import insert, select

from tests import builders as b
from tests.shifts import builders as sb
from volnet.accounts.models import User
from volnet.core import clock
from volnet.extensions import db
from volnet.shifts.models import Signup


def _many_volunteers(org, n: int, prefix: str = "가람") -> None:
    """``n`` volunteers of the organization in one statement (names that sort before 하윤서)."""
    db.session.execute(insert(User.__table__), [
        {"login_id": f"bulkvol{org.id}-{i}", "name": f"{prefix}{i:04d}", "role": "volunteer",
         "organization_id": org.id, "password_hash": "", "active": True, "session_version": 1,
         "created_at": clock.now()} for i in range(n)])


def _add_section(page: str) -> str:
    return page[page.index('id="add-volunteer"'):page.index('id="route"')]


def _signup(o, v):
    return db.session.scalar(select(Signup).where(Signup.occurrence_id == o.id, Signup.volunteer_id == v.id))


def test_a_volunteer_beyond_the_first_500_is_found_and_signed_up_and_one_outside_is_not(client):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=3)
    _many_volunteers(org, 520)
    ours = sb.volunteer(d, name="하윤서", org=org, phone="01012345678")
    # Same name, another organization's volunteer who never took part in ours: out of this coordinator's reach.
    stranger = sb.volunteer(d, name="하윤서", org=b.organization("volunteer_centre", d), phone="01099995678")
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    url = f"/shifts/{o.id}/manage"

    add = _add_section(client.get(url).get_data(as_text=True))
    # Without a search: the first 10 by name, and how many there are.
    assert "Showing the first 10 of 521 volunteers." in add and "가람0000" in add and "하윤서" not in add
    assert 'name="vq"' in add

    add = _add_section(client.get(url, query_string={"vq": "하윤"}).get_data(as_text=True))
    assert "하윤서" in add and f'name="volunteer_id" value="{ours.id}"' in add
    assert f'value="{stranger.id}"' not in add and "010-9999-5678" not in add and "Showing the first" not in add

    for digits in ("5678", "010-1234-5678", "１２３４５６７８"):  # the last four, a whole number, full-width
        add = _add_section(client.get(url, query_string={"vq": digits}).get_data(as_text=True))
        assert f'name="volunteer_id" value="{ours.id}"' in add, digits
        assert f'value="{stranger.id}"' not in add, digits

    add = _add_section(client.get(url, query_string={"vq": "가람"}).get_data(as_text=True))
    assert "Showing the first 10 of 520 volunteers found." in add and add.count('name="volunteer_id"') == 10
    add = _add_section(client.get(url, query_string={"vq": "없는이름"}).get_data(as_text=True))
    assert "No volunteer found." in add and 'name="volunteer_id"' not in add

    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": ours.id}, follow_redirects=True)
    assert "하윤서 is signed up and has been told." in r.get_data(as_text=True)
    db.session.expire_all()
    assert _signup(o, ours).status == "confirmed"
    # Already on the shift: no longer offered.
    add = _add_section(client.get(url, query_string={"vq": "하윤서"}).get_data(as_text=True))
    assert f'value="{ours.id}"' not in add and "No volunteer found." in add
    # The stranger cannot be signed up by a crafted form either.
    r = client.post(f"/shifts/{o.id}/volunteers", data={"volunteer_id": stranger.id}, follow_redirects=True)
    assert "Choose one of your organization" in r.get_data(as_text=True)
    assert _signup(o, stranger) is None


def test_the_search_finds_those_who_took_part_before_and_needs_no_javascript(client):
    """A volunteer of another organization who has signed up for one of ours is within reach; the search is
    a plain GET form that leads back to the add section, and each result a plain POST form."""
    d, org, coord, p = sb.world()
    o = sb.occurrence(p, in_hours=72, capacity=3)
    past = sb.occurrence(p, in_hours=200, capacity=5)
    earlier = sb.volunteer(d, name="Maria Santos", org=b.organization("volunteer_centre", d), phone="01077771234")
    sb.signed(past, earlier)
    db.session.commit()
    b.login(client, coord)
    client.post("/lang", data={"lang": "en"})
    page = client.get(f"/shifts/{o.id}/manage", query_string={"vq": "maria"}).get_data(as_text=True)
    add = _add_section(page)
    assert f'action="/shifts/{o.id}/manage#add-volunteer"' in add and 'method="get"' in add
    assert f'name="volunteer_id" value="{earlier.id}"' in add and "010-7777-1234" in add
    assert f'action="/shifts/{o.id}/volunteers"' in add and "<script" not in add and "<select" not in add
    client.post("/lang", data={"lang": "ko"})
    add = _add_section(client.get(f"/shifts/{o.id}/manage", query_string={"vq": "maria"}).get_data(as_text=True))
    assert "이름이나 전화번호" in add
