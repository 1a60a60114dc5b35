"""QA round 20, finding 10 (the route): "no answer" at a door says what to do, as DOMAIN.md does (danger signs:
112/119; a locked door: the key holder, the tong leader of that tong or the management office), with a tap-to-call
for the tong leader serving the household's tong and for the dong welfare centre."""
from __future__ import annotations

from datetime import timedelta

from tests import builders as b
from tests.shifts import builders as sb
from volnet.accounts import tongs
from volnet.core import clock
from volnet.extensions import db
from volnet.households.key_holders import KeyHolder, key_holder_contacts, key_holders_for


def neighbourhood():
    d, org, coord, p = sb.world()
    centre = b.organization("dong_centre", d, name="송산3동 행정복지센터")
    centre.phone = "0318284567"
    leader = b.user("tong_leader", [d], name="한상철", phone="01055557777")
    tongs.set_for_user(leader.id, {d.id: [7]})
    other_tong = b.user("tong_leader", [d], name="오미숙", phone="01066668888")
    tongs.set_for_user(other_tong.id, {d.id: [8]})
    no_phone = b.user("tong_leader", [d], name="전화없음")
    tongs.set_for_user(no_phone.id, {d.id: [7]})
    away = b.user("tong_leader", [d], name="비활성", phone="01099990000", active=False)
    tongs.set_for_user(away.id, {d.id: [7]})
    b.organization("apartment_office", d, name="송산주공 관리사무소")  # no number: not offered
    return d, p


def test_key_holders_are_the_tong_leader_of_the_tong_and_the_dong_centre_with_a_number(app):
    d, p = neighbourhood()
    in_seven = b.household(d, "경기도 의정부시 송산로 10", "2층", tong=7, name="박명자")
    no_tong = b.household(d, "경기도 의정부시 송산로 20", "", name="이순자")
    elsewhere = b.household(b.dong(), "경기도 의정부시 호원로 1", "")
    db.session.flush()
    assert key_holder_contacts(in_seven) == [KeyHolder("tong_leader", "한상철", "01055557777", 7),
                                             KeyHolder("dong_centre", "송산3동 행정복지센터", "0318284567")]
    assert key_holder_contacts(no_tong) == [KeyHolder("dong_centre", "송산3동 행정복지센터", "0318284567")]
    assert key_holder_contacts(elsewhere) == []  # no centre with a number in that dong, no tong
    assert key_holder_contacts(None) == []
    many = key_holders_for([in_seven, no_tong, elsewhere])
    assert many == {in_seven.id: key_holder_contacts(in_seven), no_tong.id: key_holder_contacts(no_tong),
                    elsewhere.id: []}


def test_no_answer_at_a_door_shows_112_119_and_the_key_holders_to_call(client):
    d, p = neighbourhood()
    h = b.household(d, "경기도 의정부시 송산로 10", "2층", tong=7, name="박명자")
    answered = b.household(d, "경기도 의정부시 송산로 30", "", tong=7, name="김복례")
    o = sb.occurrence(p, in_hours=1, hours=2, capacity=1)
    st, other = sb.stop(o, h), sb.stop(o, answered, pos=2)
    v = sb.volunteer(d, name="서하늘")
    sb.signed(o, v)
    db.session.commit()
    clock.freeze(o.starts_at + timedelta(minutes=10))
    b.login(client, v)
    page = client.get(f"/shifts/{o.id}/route").get_data(as_text=True)
    assert 'id="no-answer-' not in page and "tel:01055557777" not in page
    r = client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": "no_answer"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    box = page.split(f'id="no-answer-{st.id}"', 1)[1].split("</div>", 1)[0]
    assert "위험 징후" in box and 'href="tel:119"' in box and 'href="tel:112"' in box
    assert "통장이나 관리사무소" in box
    assert "7통 통장 한상철" in box and 'href="tel:01055557777"' in box and "010-5555-7777" in box
    assert "송산3동 행정복지센터" in box and 'href="tel:0318284567"' in box
    for name in ("오미숙", "전화없음", "비활성", "관리사무소:"):
        assert name not in box
    assert f'id="no-answer-{other.id}"' not in page  # only at the door nobody opened
    client.post(f"/shifts/stops/{other.id}/outcome", data={"outcome": "delivered"})
    # Corrected to "delivered": the advice goes with it.
    client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": "delivered"})
    page = client.get(f"/shifts/{o.id}/route").get_data(as_text=True)
    assert 'id="no-answer-' not in page


def test_without_a_tong_or_numbers_the_advice_still_names_112_119_and_the_key_holder(client):
    d, org, coord, p = sb.world()
    h = b.household(d, "경기도 의정부시 송산로 10", "2층", name="박명자")
    o = sb.occurrence(p, in_hours=1, hours=2, capacity=1)
    st = sb.stop(o, h)
    v = sb.volunteer(d, name="서하늘")
    sb.signed(o, v)
    db.session.commit()
    clock.freeze(o.starts_at + timedelta(minutes=10))
    b.login(client, v)
    client.post("/lang", data={"lang": "en"})
    page = client.post(f"/shifts/stops/{st.id}/outcome", data={"outcome": "no_answer"},
                       follow_redirects=True).get_data(as_text=True)
    box = page.split(f'id="no-answer-{st.id}"', 1)[1].split("</div>", 1)[0]
    assert 'href="tel:119"' in box and 'href="tel:112"' in box
    assert "the tong leader or the management office may hold a key" in box
    assert "key-holders" not in box
