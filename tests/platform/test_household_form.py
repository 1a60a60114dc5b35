"""The staff household form keeps what it does not know and names a household's status as a household's."""
import re

from tests import builders as b
from volnet.extensions import db
from volnet.households.models import Household


def _form_data(page: str) -> dict:
    """The edit form's fields as the browser would send them unchanged."""
    from html.parser import HTMLParser

    class Fields(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data, self.select, self.first = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "submit"):
                self.data.setdefault(a["name"], a.get("value", ""))
            elif tag == "select":
                self.select, self.first = a["name"], None
            elif tag == "option" and self.select:
                self.first = a.get("value", "") if self.first is None else self.first
                if "selected" in a:
                    self.data[self.select] = a.get("value", "")

        def handle_endtag(self, tag):
            if tag == "select" and self.select:
                self.data.setdefault(self.select, self.first)
                self.select = None

    parser = Fields()
    parser.feed(page[page.index('<form method="post" novalidate'):])
    return parser.data


def test_saving_a_household_unchanged_keeps_lives_alone_unknown(app, client):
    d = b.dong()
    h = b.household(d, name="문옥자")
    cw = b.user("caseworker", [d])
    db.session.commit()
    assert h.lives_alone is None
    b.login(client, cw)
    page = client.get(f"/households/{h.id}/edit").get_data(as_text=True)
    data = _form_data(page)
    assert data["lives_alone"] == ""
    r = client.post(f"/households/{h.id}/edit", data=data)
    assert r.status_code == 302, (data, re.findall(r"form-error[^>]*>([^<]*)", r.get_data(as_text=True)))
    db.session.expire_all()
    assert db.session.get(Household, h.id).lives_alone is None
    assert "모름" in client.get(f"/households/{h.id}").get_data(as_text=True)
    r = client.post(f"/households/{h.id}/edit", data={**data, "lives_alone": "no"})
    db.session.expire_all()
    assert db.session.get(Household, h.id).lives_alone is False
    page = client.get(f"/households/{h.id}/edit").get_data(as_text=True)
    assert _form_data(page)["lives_alone"] == "no"


def test_an_active_household_reads_as_living_here_not_as_a_service(app, client):
    d = b.dong()
    h = b.household(d)
    cw = b.user("caseworker", [d])
    db.session.commit()
    b.login(client, cw)
    page = client.get(f"/households/{h.id}").get_data(as_text=True)
    assert "거주 중" in page and "제공 중" not in page


def test_adding_a_household_for_a_report_merged_meanwhile_says_it_was_not_linked(app, client):
    from volnet.concerns import services as concerns
    from volnet.concerns.models import Concern

    d = b.dong()
    cw = b.user("caseworker", [d])
    h = b.household(d, "송산로 1")
    target = db.session.get(Concern, b.observation(h).concern_id)
    lost = Concern(dong_id=d.id, status="new", urgency="routine", urgency_rank=2, source="public")
    db.session.add(lost)
    db.session.flush()
    concerns.merge(lost, target, cw)
    db.session.commit()
    b.login(client, cw)
    r = client.post(f"/households/new?link_concern={lost.id}", follow_redirects=True,
                    data={"dong_id": d.id, "road_address": "송산로 99", "unit": "", "sex": "unknown",
                          "age_band": "unknown", "lives_alone": "", "status": "active"})
    assert "제보는 연결하지 않았습니다" in r.get_data(as_text=True)
