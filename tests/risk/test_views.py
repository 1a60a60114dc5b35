"""Overview, export, household risk page, screening access and audit, admin pages."""
from datetime import date

from sqlalchemy import select

from tests import builders as b
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk import indicators
from volnet.risk.models import IndicatorType, Screening
from volnet.settings import services as settings


def _setup():
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    for i in range(30):
        h = b.household(d, road=f"송산로 {i}", name=f"주민{i}", tong=i % 3 + 1)
        h.risk_score = float(i)
        h.tier = "intensive" if i >= 25 else "daily_life"
    b.household(d, road="송산로 99", name="=HYPERLINK(\"x\")", tong=1).risk_score = 99.0
    b.household(b.dong(), road="남의동 1", name="다른동").risk_score = 100.0
    db.session.commit()
    return d, cw


def test_overview_filters_paginates_and_exports(client, app):
    d, cw = _setup()
    b.login(client, cw)
    html = client.get("/risk/").get_data(as_text=True)
    assert "다른동" not in html and "주민29" in html and "주민0<" not in html  # page 1 of 2, highest first
    html = client.get("/risk/?tier=intensive").get_data(as_text=True)
    assert "주민25" in html and "주민24" not in html
    html = client.get("/risk/?tong=2&min_score=20").get_data(as_text=True)
    assert "주민28" in html and "주민27" not in html
    assert client.get("/risk/?page=2").status_code == 200
    assert client.get("/risk/?tong=abc&page=-1&min_score=x").status_code == 200
    resp = client.get("/risk/export.csv")
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf") and resp.headers["Cache-Control"] == "no-store"
    text = body.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "다른동" not in text and text.count("\n") == 32
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export")) is not None


def test_household_risk_page_screening_and_audit(client, app):
    d, cw = _setup()
    nurse = b.user("nurse", dongs=[d])
    h = db.session.scalar(select(Household).where(Household.name == "주민3"))
    h.lives_alone, h.birth_date = True, date(1940, 1, 1)
    indicators.seed()
    db.session.commit()
    b.login(client, nurse)
    form = {f"q_{k}": "0" for k in ("meals_skip", "meals_help", "illness_care", "illness_alone", "contact_freq",
                                    "no_help", "no_talk", "suicidal_thought", "suicidal_plan")}
    form["q_meals_skip"] = "2"
    form["q_no_help"] = "1"
    form["q_contact_freq"] = "2"
    bad = dict(form, q_meals_skip="7")
    assert client.post(f"/risk/households/{h.id}/screen/mohw", data=bad).status_code == 400
    assert client.post(f"/risk/households/{h.id}/screen/nope", data=form).status_code == 404
    resp = client.post(f"/risk/households/{h.id}/screen/mohw", data=form)
    assert resp.status_code == 302
    s = db.session.scalar(select(Screening))
    assert (s.total, s.level) == (5, "medium")
    html = client.get(f"/risk/households/{h.id}").get_data(as_text=True)
    # lives alone 5 + 80+ 5 + medium 10 = 20
    assert ">20<" in html
    reads = db.session.scalars(select(AuditLog).where(AuditLog.subject_type == "risk_screenings",
                                                      AuditLog.action == "view")).all()
    assert [r.subject_id for r in reads] == [str(s.id)]
    assert client.get(f"/risk/screenings/{s.id}").status_code == 200
    # another dong's nurse, or a volunteer of this dong: 404
    client.post("/account/logout")
    b.login(client, b.user("nurse", dongs=[b.dong()]))
    db.session.commit()
    assert client.get(f"/risk/screenings/{s.id}").status_code == 404
    assert client.get(f"/risk/households/{h.id}").status_code == 404
    client.post("/account/logout")
    vol = b.user("volunteer", dongs=[d])
    db.session.commit()
    b.login(client, vol)
    assert client.get(f"/risk/screenings/{s.id}").status_code == 404
    assert client.get("/risk/").status_code == 404


def test_tier_form(client, app):
    d, cw = _setup()
    h = db.session.scalar(select(Household).where(Household.name == "주민3"))
    b.login(client, cw)
    resp = client.post(f"/risk/households/{h.id}/tier", data={"tier": "emergency", "reason": ""})
    assert resp.status_code == 302
    db.session.refresh(h)
    assert h.tier == "daily_life"  # refused: override needs a reason
    client.post(f"/risk/households/{h.id}/tier", data={"tier": "emergency", "reason": "단전 확인"})
    db.session.refresh(h)
    assert h.tier == "emergency"
    assert client.post(f"/risk/households/{h.id}/tier", data={"tier": "bogus", "reason": "x"}).status_code == 302


def test_admin_indicator_crud_and_settings(client, app):
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    assert client.post("/risk/admin/indicators/seed").status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(IndicatorType)) == len(indicators.SEED)
    html = client.get("/risk/admin/indicators").get_data(as_text=True)
    assert "단가스" in html
    resp = client.post("/risk/admin/indicators/new", data={
        "code": "heat_cut", "label": "난방비 체납", "label_en": "Heating arrears", "category": "arrears",
        "weight": "7", "aliases": "난방비, 지역난방", "signal": "arrears", "active": "1"})
    assert resp.status_code == 302
    t = db.session.scalar(select(IndicatorType).where(IndicatorType.code == "heat_cut"))
    assert t.aliases == ["난방비", "지역난방"] and t.weight == 7
    assert client.post("/risk/admin/indicators/new", data={
        "code": "heat_cut", "label": "x", "category": "arrears", "weight": "7", "signal": "arrears",
        "active": "1"}).status_code == 400
    assert client.post(f"/risk/admin/indicators/{t.id}", data={
        "code": "heat_cut", "label": "난방비 체납", "category": "arrears", "weight": "-3", "signal": "arrears",
        "active": "1"}).status_code == 400
    # A post without the aliases field (a hand-made request; browsers send it empty) keeps them.
    assert client.post(f"/risk/admin/indicators/{t.id}", data={
        "code": "heat_cut", "label": "난방비 체납", "category": "arrears", "weight": "8", "signal": "arrears",
        "active": "1"}).status_code == 302
    db.session.refresh(t)
    assert t.aliases == ["난방비", "지역난방"] and t.weight == 8
    form = {k.replace(".", "__"): str(v) for k, v in settings.DEFAULTS.items() if k.startswith("risk.")
            and isinstance(v, int | float)}
    form["risk__w__lives_alone"] = "9"
    assert client.post("/risk/admin/settings", data=form).status_code == 302
    assert settings.get("risk.w.lives_alone") == 9
    assert client.get("/risk/admin/settings").status_code == 200


def test_household_risk_page_statements_do_not_grow_with_its_history(client, app):
    # The page audits every screening it shows. It wrote one INSERT per screening, and its commit expired
    # what it had loaded, so the template read every indicator and its type again, one statement each.
    from volnet.core import clock
    from volnet.risk.models import HouseholdIndicator

    d, cw = _setup()
    nurse = b.user("nurse", dongs=[d])
    indicators.seed()
    db.session.flush()
    types = list(db.session.scalars(select(IndicatorType)))
    first_label = str(types[0].label)
    few, many = (db.session.scalar(select(Household.id).where(Household.name == n)) for n in ("주민1", "주민2"))

    def history(hid, n):
        for i in range(n):
            db.session.add(HouseholdIndicator(household_id=hid, indicator_type_id=types[i % len(types)].id,
                                              observed_on=date(2026, 1, 1 + i % 28)))
            db.session.add(Screening(household_id=hid, dong_id=d.id, kind="ucla3", answers={}, total=3,
                                     level="low", by_id=nurse.id, at=clock.now()))

    history(few, 2)
    history(many, 12)
    db.session.commit()
    b.login(client, nurse)
    n_few, _html = b.page_statements(client, f"/risk/households/{few}")
    n_many, html = b.page_statements(client, f"/risk/households/{many}")
    assert n_many == n_few
    assert first_label in html
    reads = db.session.scalars(select(AuditLog.subject_id).where(AuditLog.subject_type == "risk_screenings")).all()
    assert len(reads) == 2 * (2 + 12)  # every screening shown, on both fetches of each page, was audited


def test_the_overview_csv_shows_statuses_as_the_page_does(client, app):
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    b.household(d, road="송산로 1", name="주민가", status="to_locate").risk_score = 10.0
    b.household(d, road="송산로 2", name="주민나", status="active").risk_score = 5.0
    db.session.commit()
    b.login(client, cw)
    body = client.get("/risk/export.csv").get_data().decode("utf-8-sig")
    assert "소재 확인 필요" in body and "거주 중" in body
    assert "to_locate" not in body and ",active" not in body
    client.set_cookie("volnet_lang", "en")
    body = client.get("/risk/export.csv").get_data().decode("utf-8-sig")
    assert "To locate" in body and "Living here" in body


def test_in_english_crisis_indicators_show_their_english_labels(client, app):
    from tests.risk import builders as rb
    from volnet.core import clock

    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, cw)
    client.set_cookie("volnet_lang", "en")
    today = clock.seoul_today().isoformat()
    header = ["성명", "주소", "단수", "위기지표"]
    r = rb.import_file(client, d, rb.csv_bytes([["김순자", "의정부시 송산로 5", "Y", "단전"]], header=header),
                       mapping={"col_0": "name", "col_1": "address", "col_2": "ind:cutoff_water",
                                "col_3": "indicator_code"}, received=today)
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert "Power cut off or current limited" in page and "Water cut off" in page and "단전" not in page
    h = db.session.scalar(select(Household).where(Household.name == "김순자"))
    page = client.get(f"/risk/households/{h.id}").get_data(as_text=True)
    assert "Public list: Water cut off" in page and "단수" not in page
    resp = rb.upload(client, d, rb.csv_bytes([["김순자", "의정부시 송산로 7", "Y", "단전"]], header=header))
    mapping_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Indicator: Water cut off" in mapping_page and "Indicator: 단수" not in mapping_page
    client.set_cookie("volnet_lang", "ko")
    assert "단수" in client.get(f"/risk/households/{h.id}").get_data(as_text=True)
