"""Who may open the report form of a recorded household (which shows its address and unit)."""
from tests import builders as b
from tests.shifts import builders as sb
from volnet.extensions import db


def test_volunteers_reach_the_households_of_their_route_only_around_the_shift(app, client):
    d, org, coord, p = sb.world()
    on_route, other = b.household(d, "송산로 10", "2층"), b.household(d, "송산로 20", "")
    soon = sb.occurrence(p, in_hours=1)
    sb.stop(soon, on_route)
    for week in range(1, 25):  # the series' later occurrences visit it too
        sb.stop(sb.occurrence(p, in_hours=1 + 24 * 7 * week), on_route)
    vol = sb.volunteer(d)
    sb.signed(soon, vol)
    partner = b.user("partner", [d])
    db.session.commit()
    b.login(client, vol)
    assert client.get(f"/report/new?household_id={on_route.id}").status_code == 200
    assert client.get(f"/report/new?household_id={other.id}").status_code == 404
    later = app.test_client()
    b.login(later, coord)  # the program's coordinator sees its routes
    assert later.get(f"/report/new?household_id={on_route.id}").status_code == 200
    assert later.get(f"/report/new?household_id={other.id}").status_code == 404
    theirs = app.test_client()
    b.login(theirs, partner)  # partner staff report by address: no household by its number
    assert theirs.get(f"/report/new?household_id={on_route.id}").status_code == 404


def test_a_volunteers_route_is_closed_to_them_long_before_the_shift(app, client):
    d, org, coord, p = sb.world()
    h = b.household(d, "송산로 10", "2층")
    far = sb.occurrence(p, in_hours=72)
    sb.stop(far, h)
    vol = sb.volunteer(d)
    sb.signed(far, vol)
    db.session.commit()
    b.login(client, vol)
    assert client.get(f"/report/new?household_id={h.id}").status_code == 404
