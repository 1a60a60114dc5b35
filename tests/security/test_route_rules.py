"""Deny by default: every route declares its access rule, and anonymous users never get data."""
import re

from tests import builders as b
from volnet.core.access import PUBLIC, access_of
from volnet.extensions import db


def _url(rule, ident=1) -> str:
    """The rule's path with every variable filled: ints with ``ident``, anything else with 'x'."""
    def fill(m):
        conv = m.group(1) or ""
        return str(ident) if conv.startswith(("int", "float")) else "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def test_every_route_declares_an_access_rule(app):
    missing = [r.rule for r in app.url_map.iter_rules()
               if r.endpoint != "static" and access_of(app.view_functions[r.endpoint]) is None]
    assert missing == [], f"routes without @rule(...): {missing}"


def test_anonymous_users_are_sent_to_login_on_every_private_route(app, client):
    # some data in the database, so a leaking route would have something to show
    d = b.dong()
    h = b.household(d, name="비밀주민")
    b.observation(h, None, note="비밀메모")
    db.session.commit()
    problems = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        decl = access_of(app.view_functions[rule.endpoint])
        if PUBLIC in decl["roles"]:
            continue
        url = _url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method)
            body = resp.get_data(as_text=True)
            ok = (resp.status_code == 302 and "/account/login" in resp.headers.get("Location", "")) \
                or resp.status_code in (400, 404, 405)
            if not ok or "비밀" in body:
                problems.append((method, url, resp.status_code))
    assert problems == []


def test_public_routes_are_a_short_known_list(app):
    public = sorted(r.endpoint for r in app.url_map.iter_rules()
                    if r.endpoint != "static" and PUBLIC in access_of(app.view_functions[r.endpoint])["roles"])
    allowed = {"main.index", "main.health", "main.set_language", "accounts.login", "accounts.join",
               "accounts.two_step", "observations.public_report", "observations.public_status",
               # the citizen's thank-you page: only the code of the report this browser's own session sent
               "observations.public_report_sent"}
    unexpected = [e for e in public if e not in allowed and not re.match(r"^(shifts|notifications|calls)\.", e)]
    assert unexpected == [], f"new public routes, check they show no personal data: {unexpected}"
