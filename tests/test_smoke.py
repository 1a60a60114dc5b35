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
