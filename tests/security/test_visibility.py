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
