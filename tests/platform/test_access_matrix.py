"""Every role x every platform view and object kind: allowed or denied (404 / redirect to login)."""
import pytest

from tests import builders as b
from volnet.extensions import db

ROLES = ["admin", "team_lead", "caseworker", "nurse", "honorary", "tong_leader", "care_corps", "partner",
         "volunteer", "coordinator"]
STAFF = {"team_lead", "caseworker", "nurse"}
REPORTERS = {"team_lead", "caseworker", "nurse", "honorary", "tong_leader", "care_corps", "partner",
             "volunteer", "coordinator"}

# (url template, roles allowed when the object is in their dong)
VIEWS = [
    ("/concerns/", STAFF),
    ("/concerns/{concern}", STAFF),
    ("/concerns/team", {"team_lead"}),
    ("/households/", STAFF),
    ("/households/{household}", STAFF),
    ("/households/{household}/edit", {"caseworker", "team_lead"}),
    ("/households/{household}/merge", {"caseworker", "team_lead"}),
    ("/households/new", {"caseworker", "team_lead"}),
    ("/report", REPORTERS),
    ("/report/new", REPORTERS),
    # partner staff report by address only; volunteers and coordinators reach the households of their routes
    ("/report/new?household_id={household}", {"team_lead", "caseworker", "nurse", "honorary", "tong_leader",
                                               "care_corps"}),
    ("/my/reports", REPORTERS),
    ("/admin/", {"admin"}),
    ("/admin/users", {"admin"}),
    ("/admin/dongs", {"admin"}),
    ("/admin/organizations", {"admin"}),
    ("/admin/invitations", {"admin"}),
    ("/admin/settings", {"admin"}),
    ("/admin/time-rules", {"admin"}),
    ("/admin/audit", {"admin", "team_lead"}),
    ("/account/password", set(ROLES)),
]


@pytest.fixture
def world(app):
    home, away = b.dong(name="송산3동"), b.dong(name="호원2동")
    h_home = b.household(home)
    h_away = b.household(away, road="경기도 의정부시 호국로 1234번길 12")
    o_home = b.observation(h_home)
    o_away = b.observation(h_away)
    db.session.commit()
    return {"home": home, "away": away, "h_home": h_home, "h_away": h_away,
            "c_home": o_home.concern_id, "c_away": o_away.concern_id}


@pytest.mark.parametrize("role", ROLES)
def test_matrix(app, client, world, role):
    user = b.user(role, [world["home"]])
    db.session.commit()
    b.login(client, user)
    for tmpl, allowed in VIEWS:
        url = tmpl.format(concern=world["c_home"], household=world["h_home"].id)
        r = client.get(url)
        if role in allowed:
            assert r.status_code == 200, (role, url, r.status_code)
        else:
            assert r.status_code == 404, (role, url, r.status_code)
        if "{" in tmpl:
            # The same view on the other dong's object: never shown, whatever the role.
            other = tmpl.format(concern=world["c_away"], household=world["h_away"].id)
            r = client.get(other)
            assert r.status_code == 404, (role, other, r.status_code)


@pytest.mark.parametrize("url", ["/concerns/", "/concerns/1", "/households/", "/report/new", "/my/reports",
                                 "/admin/", "/account/password"])
def test_anonymous_is_sent_to_login(client, url):
    r = client.get(url)
    assert r.status_code == 302
    assert "/account/login" in r.headers["Location"]


def test_other_dong_actions_are_refused(app, client, world):
    cw = b.user("caseworker", [world["home"]])
    db.session.commit()
    b.login(client, cw)
    cid = world["c_away"]
    for action, data in [("acknowledge", {}), ("contact", {"outcome": "connected_fine"}),
                         ("close", {"outcome": "no_concern"}), ("urgency", {"urgency": "emergency", "reason": "x"})]:
        r = client.post(f"/concerns/{cid}/{action}", data=data)
        assert r.status_code == 404, action
    from volnet.concerns.models import Concern

    db.session.expire_all()
    c = db.session.get(Concern, cid)
    assert c.status == "new" and c.acknowledged_at is None and c.urgency == "routine"


def test_lists_and_search_show_only_own_dong(app, client, world):
    cw = b.user("caseworker", [world["home"]])
    db.session.commit()
    b.login(client, cw)
    queue = client.get("/concerns/?status=all").get_data(as_text=True)
    assert f"#{world['c_home']}" in queue and f"#{world['c_away']}<" not in queue
    found = client.get("/households/?q=호국로").get_data(as_text=True)
    assert "호국로" not in found.split("<tbody>")[1]


def test_partner_never_sees_other_reports_or_details(app, client, world):
    p1 = b.user("partner", [world["home"]])
    p2 = b.user("partner", [world["home"]])
    mine = b.observation(world["h_home"], reporter=p1, note="내 보고 메모")
    db.session.commit()
    b.login(client, p2)
    assert client.get(f"/report/sent/{mine.id}").status_code == 404
    assert "내 보고 메모" not in client.get("/my/reports").get_data(as_text=True)
    # A partner cannot look the dong's households up: no addresses, never names.
    world["h_home"].name = "김영희"
    world["h_home"].refresh_keys()
    db.session.commit()
    page = client.get("/report?q=송산로").get_data(as_text=True).split('<section class="narrow">')[1]
    assert "송산로" not in page and "김영희" not in page
    assert client.get("/report?q=ㄱㅇㅎ").get_data(as_text=True).count("김영희") == 0


def test_volunteer_never_sees_caseworker_notes(app, client, world):
    vol = b.user("volunteer", [world["home"]])
    o = b.observation(world["h_home"], reporter=vol)
    from volnet.concerns import services
    from volnet.concerns.models import Concern

    cw = b.user("caseworker", [world["home"]])
    services.record_contact(db.session.get(Concern, o.concern_id), cw, "connected_concern", "주무관 메모: 우울감 호소")
    db.session.commit()
    b.login(client, vol)
    for url in ["/my/reports", f"/report/sent/{o.id}", f"/concerns/{o.concern_id}", f"/households/{world['h_home'].id}"]:
        assert "우울감" not in client.get(url).get_data(as_text=True), url
