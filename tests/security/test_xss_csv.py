"""Output is escaped on every list and detail page; CSV exports are UTF-8 with BOM, neutralise formula
cells, and are throttled."""
import csv
import io

import pytest
from flask_babel import refresh

from tests import builders as b
from tests.security.builders import english
from volnet.concerns import services as concerns
from volnet.concerns.models import Concern
from volnet.core.csvutil import csv_bytes, csv_response, safe_cell
from volnet.extensions import db

XSS = '<script>alert("x")</script>'
IMG = '"><img src=x onerror=alert(1)>'


def _client(app, u):
    refresh()
    c = english(app.test_client())
    b.login(c, u)
    return c


def _assert_escaped(page: str, where: str):
    assert XSS not in page, f"raw <script> payload on {where}"
    assert "<img src=x onerror" not in page, f"raw <img> payload on {where}"


def test_payloads_are_escaped_on_lists_and_details(app):
    d = b.dong(name=f"동{XSS}")
    org = b.organization("apartment_office", d, name=f"기관{IMG}")
    cw = b.user("caseworker", [d], name=f"직원{XSS}")
    lead = b.user("team_lead", [d])
    admin = b.user("admin")
    rep = b.user("honorary", [d], name=f"통장{IMG}", org=org)
    h = b.household(d, road=f"경기도 의정부시 {XSS}로 1", unit=IMG, name=f"김{XSS}", alias=IMG,
                     delivery_note=XSS)
    obs = b.observation(h, rep, note=f"메모{XSS}{IMG}", contact=XSS)
    c = db.session.get(Concern, obs.concern_id)
    concerns.record_contact(c, cw, "connected_concern", f"통화{XSS}", None)
    db.session.commit()
    pages = {}
    staff = _client(app, cw)
    for path in ("/concerns/?status=all", f"/concerns/{c.id}", "/households/", f"/households/{h.id}",
                 "/households/?q=김", f"/households/{h.id}/edit", "/report?q=의정부시"):
        r = staff.get(path)
        assert r.status_code == 200, path
        pages[path] = r.get_data(as_text=True)
    pages["team"] = _client(app, lead).get("/concerns/team").get_data(as_text=True)
    reporter = _client(app, rep)
    pages["mine"] = reporter.get("/my/reports").get_data(as_text=True)
    pages["sent"] = reporter.get(f"/report/sent/{obs.id}").get_data(as_text=True)
    boss = _client(app, admin)
    for path in ("/admin/users", f"/admin/users/{cw.id}", "/admin/organizations", "/admin/dongs",
                 f"/admin/dongs/{d.id}", "/admin/audit", f"/privacy/requests?household_id={h.id}"):
        r = boss.get(path)
        assert r.status_code == 200, path
        pages[path] = r.get_data(as_text=True)
    for where, page in pages.items():
        _assert_escaped(page, where)
    assert "&lt;script&gt;" in pages[f"/households/{h.id}"]
    assert "&lt;script&gt;" in pages[f"/concerns/{c.id}"]


def test_csv_helper_neutralises_formulas_and_writes_a_bom(app):
    rows = [["이름", "메모", "숫자"], ["=HYPERLINK(\"http://evil\")", "+1+2", -5], ["@SUM(A1)", "-3", 3.5],
            ["\tTAB", "\rCR", None], ["김영희 🙂", "평범한 메모", 0]]
    data = csv_bytes(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[1] == ["'=HYPERLINK(\"http://evil\")", "'+1+2", "-5"]
    assert parsed[2] == ["'@SUM(A1)", "'-3", "3.5"]
    assert parsed[3][0] == "'\tTAB" and parsed[3][1] == "'\rCR" and parsed[3][2] == ""
    assert parsed[4] == ["김영희 🙂", "평범한 메모", "0"]
    assert safe_cell(True) == "True"
    with app.test_request_context():
        resp = csv_response(rows, "보고서 2026-11.csv")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"] and "filename*=UTF-8''" in resp.headers[
        "Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"


CSV_ROLES = ("caseworker", "team_lead", "nurse", "volunteer", "coordinator")


def _csv_routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.endswith(".csv") and not rule.arguments:
            out.append(rule)
    return out


def test_every_csv_export_has_a_bom_safe_cells_and_a_throttle(app):
    """Cross-cutting: runs against whatever CSV exports the other domains have built."""
    routes = _csv_routes(app)
    if not routes:
        pytest.skip("no CSV exports registered yet")
    d = b.dong()
    users = {role: b.user(role, [d], org=b.organization("welfare_centre", d)) for role in CSV_ROLES}
    db.session.commit()
    problems = []
    for rule in routes:
        from volnet.core.access import access_of

        roles = access_of(app.view_functions[rule.endpoint])["roles"]
        role = next((r for r in CSV_ROLES if r in roles), None)
        if role is None:
            continue
        # Exports share one budget per person (30 an hour): start each route in a fresh hour.
        from datetime import timedelta

        from volnet.core import clock

        clock.advance(timedelta(hours=1, minutes=1))
        c = _client(app, users[role])
        r = c.get(rule.rule)
        if r.status_code != 200:
            problems.append(f"{rule.rule}: answered {r.status_code} to {role}")
            continue
        body = r.get_data()
        if not body.startswith(b"\xef\xbb\xbf"):
            problems.append(f"{rule.rule}: no UTF-8 BOM (Excel shows Hangul garbled)")
        text = body.decode("utf-8-sig", "replace")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                if cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not _is_number(cell)):
                    problems.append(f"{rule.rule}: formula-like cell {cell[:20]!r}")
        statuses = [c.get(rule.rule).status_code for _ in range(31)]
        if 429 not in statuses:
            problems.append(f"{rule.rule}: not throttled (32 downloads in a row all answered)")
    assert problems == [], "\n".join(problems)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
