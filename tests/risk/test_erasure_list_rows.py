"""Erasing or anonymising a household also removes the rows of the crisis lists that name the person: the
rounds' problem rows (bad rows), the rows of the list stored under another household and the preview rows
kept for the mapping page, matched as the import matches (the keyed hash of the registration number, or the
name with the birth date or the address). The access export lists them (QA round 20: F4)."""
import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests import builders as b
from tests.risk import builders as rb
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk.models import BadRow, CrisisRound, CrisisRow

HEADER = ["연번", "성명", "생년월일", "주민등록번호", "도로명주소", "상세주소", "연락처", "위기지표"]
RRN = "440105-2123456"
ROAD = "경기도 의정부시 동일로 179"


def _lists(client, d):
    """A first list links 강복순's registration number to her household; a second one has problem rows about
    her (and one about someone else), and an older problem row stored before rows kept their identity."""
    first = rb.import_file(client, d, rb.csv_bytes(
        [["1", "강복순", "", RRN, ROAD, "1층", "", "실직"]], header=HEADER), filename="first.csv")
    assert first.matched_rows == 1
    second = rb.import_file(client, d, rb.csv_bytes([
        ["1", "강복순", "19440105", "", ROAD, "1층", "", "없는지표"],                       # name + birth date
        ["2", "", "", RRN, "", "", "", "없는지표"],                                         # the keyed hash
        ["3", "박다른", "19500101", "", "경기도 의정부시 동일로 181", "", "", "없는지표"],   # someone else
        ["4", "강 복순", "1944-13-45", "", "경기도 의정부시 동일로179", "1 층", "", "단전"],  # name + address
        ["5", "강복순", "19600101", "", "경기도 의정부시 민락로 5", "", "", "없는지표"]],     # another 강복순
        header=HEADER), filename="second.csv")
    assert second.bad_rows == 5
    db.session.add_all([
        BadRow(round_id=second.id, row_number=90, reason="bad_rrn", detail="440105-*******",
               content="7,강복순,19440105,440105-*******,경기도 의정부시 동일로 179,1층,,실직"),
        BadRow(round_id=second.id, row_number=91, reason="bad_rrn", detail="500101-*******",
               content="8,박다른,19500101,500101-*******,경기도 의정부시 동일로 181,,,실직")])
    return first, second


@pytest.mark.parametrize("kind", ["erase", "anonymise"])
def test_erasure_removes_the_list_rows_that_name_the_person(app, client, kind):
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    admin = b.user("admin")
    rb.seed_types()
    h = b.household(d, road=ROAD, unit="1층", name="강복순", birth_date=date(1944, 1, 5))
    other = b.household(d, road="경기도 의정부시 호국로 9", unit="", name="이웃")
    db.session.commit()
    b.login(client, cw)
    first, second = _lists(client, d)
    # A row of a list stored under another household that names her all the same (added before her own).
    db.session.add(CrisisRow(round_id=second.id, row_number=99, natural_key="x" * 32, household_id=other.id,
                             match="created", name="강복순", birth_date=date(1944, 1, 5), address="경기도 의정부시 "
                             "가능로 1", codes="cutoff_power"))
    db.session.commit()
    hid = h.id

    desk = app.test_client()  # the admin's
    b.login(desk, admin)
    resp = desk.post("/privacy/requests", data={"household_id": hid, "kind": "access", "reason": "본인 요청",
                                                  "confirm": "y"})
    assert resp.mimetype == "application/json", resp.get_data(as_text=True)[:3000]
    data = json.loads(resp.get_data())
    assert sorted(r["row_number"] for r in data["risk_bad_rows"]) == [2, 3, 5, 90]
    assert all(r["reason_label"] and r["round_id"] == second.id for r in data["risk_bad_rows"])
    assert all("440105-2123456" not in r["content"] for r in data["risk_bad_rows"])
    assert [r["row_number"] for r in data["risk_rows_naming"]] == [99]
    assert {p["round_id"] for p in data["risk_round_previews"]} == {first.id, second.id}

    resp = desk.post("/privacy/requests", data={"household_id": hid, "kind": kind, "reason": "본인 요청",
                                                  "confirm": "y"})
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    left = sorted(db.session.scalars(select(BadRow.row_number)))
    assert left == [4, 6, 91]  # 박다른 twice, and the other 강복순 (another birth date, another address)
    named = db.session.scalar(select(CrisisRow).where(CrisisRow.row_number == 99))
    assert (named.name, named.birth_date) == ("", None)
    for rid in (first.id, second.id):
        preview = json.dumps(db.session.get(CrisisRound, rid).preview, ensure_ascii=False)
        assert "동일로 179" not in preview, preview
    assert "박다른" in json.dumps(db.session.get(CrisisRound, second.id).preview, ensure_ascii=False)
    csv_text = client.get(f"/risk/rounds/{second.id}/bad-rows.csv").get_data().decode("utf-8-sig")
    assert "동일로 179" not in csv_text and "박다른" in csv_text
    assert db.session.get(Household, hid) is not None  # the list's rows refer to it: anonymised
    assert db.session.get(Household, hid).name is None


def test_a_household_named_only_in_problem_rows_is_erased_with_them(app, client):
    from volnet.privacy.services import handle_request

    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    admin = b.user("admin")
    rb.seed_types()
    h = b.household(d, road="경기도 의정부시 민락로 3", unit="", name="김영희", birth_date=date(1950, 5, 5))
    db.session.commit()
    b.login(client, cw)
    r = rb.import_file(client, d, rb.csv_bytes([["1", "김영희", "1950-05-05", "", "경기도 의정부시 민락로 3", "", "",
                                                 "없는지표"]], header=HEADER))
    assert r.bad_rows == 1
    req = handle_request("erase", db.session.get(Household, h.id), admin, "본인 요청")
    db.session.commit()
    assert req.result == "erased"
    assert db.session.scalar(select(BadRow)) is None
    assert "김영희" not in json.dumps(db.session.get(CrisisRound, r.id).preview, ensure_ascii=False)


def _problem_count(client, round_id) -> int:
    """The round page's 'Rows with problems' figure (문제가 있는 행)."""
    page = client.get(f"/risk/rounds/{round_id}").get_data(as_text=True)
    m = re.search(r'stat-value">(\d+)</span><span class="stat-label">문제가 있는 행<', page)
    assert m, page[:3000]
    return int(m.group(1))


@pytest.mark.parametrize("kind", ["erase", "anonymise"])
def test_the_birth_date_of_her_linked_list_row_finds_her_problem_rows(app, client, kind):
    """QA round 20: R1. The household has no birth date; her own list row (linked by name and address) has
    one. A problem row with only her name and that birth date names her: the access export lists it and the
    erasure deletes it, and the round's page counts the problem rows that are left."""
    d = b.dong()
    cw = b.user("caseworker", dongs=[d])
    admin = b.user("admin")
    rb.seed_types()
    h = b.household(d, road=ROAD, unit="1층", name="강복순", birth_date=None)
    db.session.commit()
    hid = h.id
    b.login(client, cw)
    first = rb.import_file(client, d, rb.csv_bytes(
        [["1", "강복순", "19440105", "440105-2******", ROAD, "1층", "", "실직"]], header=HEADER),
        filename="first.csv")
    assert first.matched_rows == 1
    assert db.session.get(Household, hid).birth_date is None
    second = rb.import_file(client, d, rb.csv_bytes([
        ["1", "강복순", "2030-01-01", "", ROAD, "1층", "", "실직"],                  # name + address
        ["2", "강복순", "19440105"],                                                 # name + her list's birth date
        ["3", "강복순", "19440105", "", ROAD, "1층", "", "외계인 침공"],               # all of it
        ["4", "강복순", "19600101", "", "경기도 의정부시 민락로 5", "", "", "없는지표"],  # another 강복순
        ["5", "박다른", "19440105", "", "경기도 의정부시 동일로 181", "", "", "없는지표"]],  # someone else
        header=HEADER), filename="second.csv")
    assert second.bad_rows == 5
    assert _problem_count(client, second.id) == 5

    desk = app.test_client()
    b.login(desk, admin)
    resp = desk.post("/privacy/requests", data={"household_id": hid, "kind": "access", "reason": "본인 요청",
                                                  "confirm": "y"})
    data = json.loads(resp.get_data())
    assert sorted(r["row_number"] for r in data["risk_bad_rows"]) == [2, 3, 4]

    resp = desk.post("/privacy/requests", data={"household_id": hid, "kind": kind, "reason": "본인 요청",
                                                  "confirm": "y"})
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    left = db.session.execute(select(BadRow.row_number, BadRow.name_key, BadRow.birth_date)
                              .order_by(BadRow.row_number)).all()
    assert [n for n, *_ in left] == [5, 6]  # the other 강복순 and 박다른
    assert (left[0].name_key, left[0].birth_date) == ("강복순", date(1960, 1, 1))
    csv_text = client.get(f"/risk/rounds/{second.id}/bad-rows.csv").get_data().decode("utf-8-sig")
    assert "19440105" not in csv_text.replace("박다른,19440105", "") and "민락로 5" in csv_text
    assert "동일로 179" not in csv_text
    own = db.session.scalar(select(CrisisRow).where(CrisisRow.round_id == first.id))
    assert (own.name, own.birth_date) == ("", None)

    assert _problem_count(client, second.id) == 2
    page = client.get(f"/risk/rounds/{second.id}").get_data(as_text=True)
    assert "건만 보입니다" not in page  # 'Showing the first 2; download the CSV for all.'


def test_the_round_page_says_first_n_only_while_more_rows_are_left(app, client):
    """The 'first N only' line is shown when more problem rows exist than the page lists, counted as they are."""
    d = b.dong()
    b.household(d, road=ROAD, unit="1층", name="강복순", birth_date=date(1944, 1, 5))
    cw = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, cw)
    r = rb.import_file(client, d, rb.csv_bytes(
        [[str(i), f"사람{i}", "19500101", "", ROAD, "", "", "없는지표"] for i in range(1, 23)]
        + [["23", "강복순", "19440105", "", "", "", "", "없는지표"]], header=HEADER))
    assert r.bad_rows == 23
    assert _problem_count(client, r.id) == 23
    assert "처음 20건만 보입니다" in client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
