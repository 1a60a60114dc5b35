"""Lists, search and counts follow the same rules as detail pages: another dong's data never shows."""
from tests import builders as b
from tests.security.builders import two_dongs
from volnet.extensions import db


def test_caseworker_of_dong_a_sees_nothing_of_dong_b(app, client):
    w = two_dongs()
    db.session.commit()
    b.login(client, w["cw_a"])
    pages = {
        "queue": client.get("/concerns/?status=all").get_data(as_text=True),
        "households": client.get("/households/").get_data(as_text=True),
        "search name": client.get("/households/?q=주민").get_data(as_text=True),
        "search chosung": client.get("/households/?q=ㅈㅁ").get_data(as_text=True),
        "search address": client.get("/households/?q=의정부시").get_data(as_text=True),
        "reporter search": client.get("/report?q=의정부시").get_data(as_text=True),
    }
    for name, page in pages.items():
        assert "주민B" not in page and f"b로 {w['b'].id}" not in page, name
    assert "주민A" in pages["households"] and "주민A" in pages["search name"]
    assert client.get(f"/households/{w['h_b'].id}").status_code == 404
    assert client.get(f"/concerns/{w['c_b'].id}").status_code == 404
    # owner filter with another dong's id, dong filter with another dong's id
    assert "주민B" not in client.get(f"/concerns/?dong={w['b'].id}&status=all").get_data(as_text=True)


def test_team_lead_counts_only_their_dong(app, client):
    w = two_dongs()
    for _ in range(3):
        h = b.household(w["b"], road=f"경기도 의정부시 다른로 {_}")
        b.observation(h, w["cw_b"])
    db.session.commit()
    b.login(client, w["lead_a"])
    page = client.get("/concerns/team").get_data(as_text=True)
    assert "주민B" not in page
    import re

    numbers = [int(n) for n in re.findall(r'<span class="stat-value">(\d+)</span>', page)]
    assert numbers and sum(numbers) == 1, numbers  # dong A has one open concern; dong B has four


def test_partner_pages_carry_no_caseworker_fields(app, client):
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern

    d = b.dong()
    cw = b.user("caseworker", [d])
    partner = b.user("partner", [d], org=b.organization("apartment_office", d))
    h = b.household(d, name="박복순", phone="01077778888", delivery_note="현관 비밀번호 1234")
    obs = b.observation(h, partner, note="우편물이 쌓여 있음")
    concerns.record_contact(db.session.get(Concern, obs.concern_id), cw, "connected_concern", "우울감, 약 복용 중단", None)
    db.session.commit()
    b.login(client, partner)
    for path in ("/my/reports", f"/report/sent/{obs.id}"):
        page = client.get(path).get_data(as_text=True)
        for secret in ("우울감", "박복순", "7777", "현관 비밀번호", cw.name):
            assert secret not in page, (path, secret)
    assert client.get(f"/households/{h.id}").status_code == 404
    assert client.get(f"/concerns/{obs.concern_id}").status_code == 404


def test_off_site_next_is_refused_after_two_step(app, client):
    import pyotp

    from volnet.core import clock
    from volnet.security import totp

    u = b.user("caseworker")
    u.totp_secret = totp.new_secret()
    db.session.commit()
    client.post("/account/login?next=https://evil.example/", data={"login_id": u.login_id, "password": b.PASSWORD})
    r = client.post("/account/two-step", data={"code": pyotp.TOTP(u.totp_secret).at(clock.now().timestamp())})
    assert r.status_code == 302 and "evil.example" not in r.headers["Location"]
