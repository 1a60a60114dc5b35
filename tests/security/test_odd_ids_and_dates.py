"""Odd ids and dates typed into URLs: a plain 404 for an id that cannot exist, the date message (not a 404)
for a date the clock cannot convert, and the report's period range said in words with the fields kept."""
from tests import builders as b
from volnet.extensions import db


def test_organization_number_zero_is_not_the_new_organization_form(app, client):
    b.login(client, b.user("admin"))
    db.session.commit()
    assert client.get("/admin/organizations/0").status_code == 404
    assert client.get("/admin/organizations/new").status_code == 200


def test_audit_search_with_year_one_says_enter_a_real_date(app, client):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    for query in ("since=0001-01-01", "until=0001-01-01", "since=2026-02-30"):
        r = client.get(f"/admin/audit?{query}")
        assert r.status_code == 200 and "올바른 날짜를 입력하세요." in r.get_data(as_text=True), query


def test_report_period_before_2000_says_the_range_and_keeps_what_was_typed(app, client):
    d = b.dong()
    lead = b.user("team_lead", [d])
    db.session.commit()
    b.login(client, lead)
    page = client.get("/reports/?start=1999-01-01&end=2026-01-01").get_data(as_text=True)
    assert "기간은 2000-01-01부터 2100-12-31 사이로 입력하세요." in page
    assert 'name="start" value="1999-01-01"' in page and 'name="end" value="2026-01-01"' in page
    page = client.get("/reports/?start=2026-02-30&end=2026-03-01").get_data(as_text=True)
    assert "YYYY-MM-DD" in page and 'name="start" value="2026-02-30"' in page
