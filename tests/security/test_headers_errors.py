"""Security headers, no-store on personal pages, generic error pages in Korean and English, no inline
script or style in any template."""
import re
from pathlib import Path

from flask_babel import refresh

from tests import builders as b
from volnet.extensions import db

TEMPLATES = Path(__file__).resolve().parents[2] / "volnet" / "templates"


def test_security_headers_on_every_page(app, client):
    for path in ("/account/login", "/report-a-neighbour", "/no-such-page"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-inline" not in csp and re.search(r"script-src 'self' 'nonce-[\w-]+'", csp)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP: no HSTS


def test_hsts_over_tls(app, client):
    r = client.get("/account/login", base_url="https://localhost")
    assert "max-age=" in r.headers["Strict-Transport-Security"]


def test_no_store_on_personal_pages(app, client):
    d = b.dong()
    u = b.user("caseworker", [d])
    h = b.household(d, name="김영희")
    db.session.commit()
    b.login(client, u)
    for path in (f"/households/{h.id}", "/households/", "/concerns/", "/account/password"):
        r = client.get(path)
        assert r.status_code == 200 and "no-store" in r.headers.get("Cache-Control", ""), path


def test_nonce_in_csp_matches_the_page_scripts(app, client):
    r = client.get("/account/login")
    nonce = re.search(r"'nonce-([\w-]+)'", r.headers["Content-Security-Policy"]).group(1)
    for tag in re.findall(r"<script[^>]*>", r.get_data(as_text=True)):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag


def test_not_found_page_in_english_and_korean(app, client):
    client.set_cookie("volnet_lang", "en")
    r = client.get("/households/999999999")
    assert r.status_code in (302, 404)
    r = client.get("/no-such-page")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and "Page not found" in page and 'lang="en"' in page
    refresh()  # tests share one app context; forget the previous request's language
    ko = app.test_client()
    r = ko.get("/no-such-page")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and 'lang="ko"' in page
    assert "페이지를 찾을 수 없습니다" in page or "Page not found" not in page, "Korean 404 page needs the catalogue"


def test_server_error_page_is_generic(app, client, monkeypatch):
    view = app.view_functions["main.health"]

    def boom():
        raise RuntimeError("secret internals: /srv/volnet/app.py line 42")

    boom._volnet_access = view._volnet_access
    monkeypatch.setitem(app.view_functions, "main.health", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        for lang, title in (("en", "Something went wrong"), ("ko", None)):
            refresh()
            c = app.test_client()
            c.set_cookie("volnet_lang", lang)
            r = c.get("/health")
            page = r.get_data(as_text=True)
            assert r.status_code == 500
            assert "Traceback" not in page and "secret internals" not in page and "RuntimeError" not in page
            assert f'lang="{lang}"' in page
            if title:
                assert title in page
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None


def test_debug_is_off_outside_development(app):
    assert app.debug is False


def test_templates_have_no_inline_script_or_style():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(TEMPLATES)
        for m in re.finditer(r"<script\b[^>]*>", text, re.I):
            tag = m.group(0)
            if "src=" not in tag and "nonce=" not in tag:
                problems.append(f"{rel}: inline <script> without nonce")
        if re.search(r"\sstyle\s*=", text, re.I):
            problems.append(f"{rel}: style= attribute")
        if re.search(r"\son(click|load|submit|change|input|error)\s*=", text, re.I):
            problems.append(f"{rel}: inline event handler")
        if "javascript:" in text.lower():
            problems.append(f"{rel}: javascript: URL")
    assert problems == []


def test_max_content_length_is_set(app, client, monkeypatch):
    assert app.config["MAX_CONTENT_LENGTH"] and app.config["MAX_CONTENT_LENGTH"] <= 64 * 1024 * 1024
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)  # the same check, with a small body
    r = client.post("/account/login", data={"login_id": "x", "password": "가" * 40_000})
    assert r.status_code == 413


def test_a_stale_form_says_it_expired_and_leads_back_to_it(app, client, csrf_on):
    """A stale or missing CSRF token: 400 with "the form has expired" in the user's language and a link back to
    the form (the page it was sent from), not the generic "bad request"; nothing is changed."""
    u = b.user("caseworker")
    db.session.commit()
    page = client.get("/account/login").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    r = client.post("/account/login", data={"csrf_token": csrf_token_from(page), "login_id": u.login_id,
                                            "password": b.PASSWORD})
    assert r.status_code == 302
    r = client.post("/notifications/read-all", data={"csrf_token": "stale"},
                    headers={"Referer": "http://localhost/notifications/?page=2"})
    body = r.get_data(as_text=True)
    # One sentence: not sent, what was typed is kept, go back and send it again (once, not twice).
    message = ("양식은 전송되지 않았지만 입력한 내용은 그대로 남아 있으니, 브라우저의 뒤로 가기 버튼으로 돌아가 "
               "다시 보내 주세요.")
    assert r.status_code == 400 and f"<p>{message}</p>" in body
    page = body[body.index('<section class="error-page">'):body.index("</section>")]
    assert page.count("다시 보내") == 1 and "다시 제출" not in page
    assert 'href="/notifications/?page=2"' in body and "입력 화면으로 돌아가기" in body
    assert "잘못된 요청" not in body
    r = client.post("/notifications/read-all", data={}, headers={"Referer": "http://evil.example/x"})
    assert r.status_code == 400 and "evil.example" not in r.get_data(as_text=True)
    client.set_cookie("volnet_lang", "en")
    refresh()
    r = client.post("/notifications/read-all", data={"csrf_token": "stale"})
    body = r.get_data(as_text=True)
    assert ("<p>The form was not sent, but what you typed is still there: go back to it with your browser&#39;s "
            "Back button and send it again.</p>") in body
    page = body[body.index('<section class="error-page">'):body.index("</section>")]
    assert page.count("again") == 1 and "<h1>The form has expired</h1>" in page
    refresh()


def test_a_form_sent_after_being_signed_out_says_so_and_leads_to_login(app, client, csrf_on):
    """No session any more (cookies cleared, signed out elsewhere): "submit it again" cannot work, so the page
    says the person is signed out and links to the login, coming back to the form's page."""
    r = client.post("/notifications/read-all", data={"csrf_token": "stale"},
                    headers={"Referer": "http://localhost/shifts/2/manage"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "로그아웃되어 양식을 보내지 못했습니다." in body
    assert 'href="/account/login?next=/shifts/2/manage"' in body and "다시 제출해 주세요" not in body
    # A public form (the citizen report) is not about being signed in: it has expired, as before.
    r = client.post("/report-a-neighbour", data={"csrf_token": "stale"})
    assert r.status_code == 400 and "입력 시간이 지났습니다" in r.get_data(as_text=True)


def test_method_not_allowed_has_its_own_title(app, client):
    r = client.get("/account/logout")
    body = r.get_data(as_text=True)
    assert r.status_code == 405 and "허용되지 않는 요청 방법" in body and "잘못된 요청" not in body
