"""Korean first, English second; the Korean catalogue is complete."""
import subprocess
import sys
from pathlib import Path

from tests import builders as b
from volnet.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def test_korean_by_default_and_switch_to_english(app, client):
    page = client.get("/account/login").get_data(as_text=True)
    assert "로그인" in page and 'lang="ko"' in page
    r = client.post("/lang", data={"lang": "en", "next": "/account/login"})
    assert r.status_code == 302 and r.headers["Location"] == "/account/login"
    page = client.get("/account/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page
    client.post("/lang", data={"lang": "xx"})
    assert "로그인" in client.get("/account/login").get_data(as_text=True)


def test_language_choice_is_kept_on_the_account(app, client):
    u = b.user("caseworker")
    db.session.commit()
    b.login(client, u)
    client.post("/lang", data={"lang": "en"})
    db.session.refresh(u)
    assert u.locale == "en"
    other = app.test_client()
    b.login(other, u)
    assert "Change password" in other.get("/account/password").get_data(as_text=True)


def test_korean_catalogue_is_complete():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "i18n.py"), "missing"], capture_output=True,
                         text=True, cwd=ROOT, check=False)
    missing = [line for line in out.stdout.splitlines() if line.strip()]
    assert missing == [], f"{len(missing)} strings without Korean, e.g. {missing[:10]}"


def test_error_pages_in_both_languages(app, client):
    assert "페이지를 찾을 수 없습니다" in client.get("/no/such/page").get_data(as_text=True)
    client.post("/lang", data={"lang": "en"})
    assert "Page not found" in client.get("/no/such/page").get_data(as_text=True)


def test_lazy_labels_follow_the_language_of_the_moment(app):
    """Labels declared once at import (form labels, choices) are translated when shown: Korean for a
    Korean request, English for an English one, the forced language inside ``force_locale`` (e-mails
    to a user who reads English) and back again after it, and the English text with no request at all."""
    from flask_babel import force_locale, get_locale

    from volnet.core.i18n import gettext, lazy_gettext

    label = lazy_gettext("Lives alone")
    # A request of its own app context, as in production (the test's outer context would be shared).
    with app.app_context(), app.test_request_context("/"):
        get_locale()
        assert str(label) == "1인 가구" and gettext("Lives alone") == "1인 가구"
        with force_locale("en"):
            assert str(label) == "Lives alone"
        assert str(label) == "1인 가구"
        assert gettext("Concern #%(n)s merged into this one", n=7) == "위기 의심 건(#7)을 이 건에 병합함"
    with app.app_context(), app.test_request_context("/", headers={"Cookie": "volnet_lang=en"}):
        get_locale()
        assert str(label) == "Lives alone"
        assert gettext("Concern #%(n)s merged into this one", n=7) == "Concern #7 merged into this one"


def test_lazy_labels_without_an_app_context_are_the_english_text():
    from volnet.core.i18n import lazy_gettext

    assert str(lazy_gettext("Lives alone")) == "Lives alone"


def test_the_language_switch_on_a_page_that_answered_a_form_leads_back_to_the_form(app, client):
    """A refused form or a lookup's result is the answer to a POST: the switch leads to the page the form was
    on (not the home page, nor the staff login for a citizen); on a plain page, to the page itself."""
    import re

    page = client.get("/report-a-neighbour?x=1").get_data(as_text=True)
    assert re.search(r'name="next" value="/report-a-neighbour\?x=1"', page)
    page = client.post("/report-a-neighbour", data={"location_text": ""},
                       headers={"Referer": "http://localhost/report-a-neighbour"}).get_data(as_text=True)
    assert 'name="next" value="/report-a-neighbour"' in page
    assert "data-confirm-typed=" in page
    page = client.post("/report-a-neighbour", data={}, headers={"Referer": "http://evil.example/x"}
                       ).get_data(as_text=True)
    assert 'name="next" value=""' in page


def test_values_put_into_a_lazy_message_are_escaped_in_a_page(app):
    """A lazy message with a value typed by someone (a dong's name, a provider) is safe HTML only as to its own
    words: in a template the value is escaped; as plain text (a CSV, an SMS) it stays as typed."""
    from flask import render_template_string

    from volnet.core.i18n import lazy_gettext

    payload = '<script>alert("x")</script>'
    message = lazy_gettext("Tongs in %(dong)s (tong leaders)", dong=payload)
    count = lazy_gettext("%(n)d minutes", n=5)
    with app.test_request_context("/"):
        html = render_template_string("{{ m }} {{ c }}", m=message, c=count)
        assert payload not in html
        assert "&lt;script&gt;" in html
        assert "5" in html
        assert payload in str(message)
