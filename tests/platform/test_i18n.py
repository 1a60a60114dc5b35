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
