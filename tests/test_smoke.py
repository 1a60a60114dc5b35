from tests import builders as b


def test_queue_shows_concern(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d])
    h = b.household(d)
    b.observation(h, urgency="urgent")
    from volnet.extensions import db
    db.session.commit()
    b.login(client, cw)
    r = client.get("/concerns/")
    assert r.status_code == 200


def test_every_page_names_an_icon_that_is_served(app, client):
    # Browsers ask for /favicon.ico (a 404 in every log) unless the page names its icon.
    import re

    page = client.get("/account/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page).group(1)
    r = client.get(href)
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    assert b"<svg" in r.data
