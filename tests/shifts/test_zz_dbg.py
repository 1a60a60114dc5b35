from tests import builders as b
from tests.conftest import csrf_token_from
from tests.shifts import builders as sb
from volnet.extensions import db
def test_x(client, csrf_on):
    d, org, coord, p = sb.world()
    o = sb.occurrence(p)
    v = sb.volunteer(d)
    db.session.commit()
    page = client.get("/account/login").get_data(as_text=True)
    r = client.post("/account/login", data={"login_id": v.login_id, "password": b.PASSWORD, "csrf_token": csrf_token_from(page)})
    print("login", r.status_code, r.headers.get("Location"))
    page = client.get(f"/shifts/{o.id}").get_data(as_text=True)
    import re
    print(re.findall(r'csrf_token[^>]*', page)[:4])
    r = client.post(f"/shifts/{o.id}/signup", data={"csrf_token": csrf_token_from(page)})
    print("signup", r.status_code, r.headers.get("Location"))
