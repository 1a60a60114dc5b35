"""Crisis lists arrive with the resident registration number's back part masked (440105-2******), or with
something else in that column (12345): such a row is imported all the same, matched on name, birth date and
address, with a warning on the round's page (QA round 20: F3). Nothing is hashed for it and nothing of the
number is stored."""
from datetime import date

from sqlalchemy import func, select

from tests import builders as b
from tests.risk import builders as rb
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk.models import BadRow, CrisisRow, HouseholdIndicator, HouseholdRrnHash

HEADER = ["연번", "성명", "생년월일", "주민등록번호", "도로명주소", "상세주소", "연락처", "위기지표"]
WARNING_KO = "주민등록번호가 가려져 있거나 읽을 수 없어 성명, 생년월일, 주소로 대조했습니다"


def test_a_masked_or_unreadable_number_is_ignored_and_the_row_matched_on_the_rest(client, staff):
    d, _u = staff
    h = b.household(d, road="경기도 의정부시 동일로 179", unit="1층", name="강복순", birth_date=date(1944, 1, 5))
    db.session.commit()
    rows = [["1", "강복순", "19440105", "440105-2******", "경기도 의정부시 동일로 179", "1층", "", "실직"],
            ["2", "박영수", "19500303", "12345", "경기도 의정부시 동일로 181", "", "", "단전"],
            ["3", "최말순", "", "380303-2xxxxxx", "", "", "", "단수"],     # birth date from the number's front
            ["4", "", "", "12345", "", "", "", "단전"],                    # nothing else to go on: a bad row
            ["5", "이순자", "19500505", "500505-2123456", "경기도 의정부시 동일로 183", "", "", "실직"]]
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=HEADER, encoding="cp949"))
    assert r.status == "done"
    assert (r.good_rows, r.bad_rows, r.matched_rows) == (4, 1, 1), db.session.execute(select(BadRow.reason)).all()
    got = {row.row_number: row for row in db.session.scalars(select(CrisisRow))}
    assert got[2].household_id == h.id and got[2].match == "address"
    assert db.session.scalar(select(func.count()).select_from(HouseholdIndicator)
                             .where(HouseholdIndicator.household_id == h.id)) == 1
    assert got[4].birth_date == date(1938, 3, 3) and got[4].name == "최말순"
    assert {n: got[n].warning for n in got} == {2: "rrn_unread", 3: "rrn_unread", 4: "rrn_unread", 6: ""}
    assert db.session.scalar(select(func.count()).select_from(HouseholdRrnHash)) == 1  # row 6's only
    bad = db.session.scalar(select(BadRow))
    assert bad.row_number == 5 and bad.reason == "rrn_unread_only"
    page = client.get(f"/risk/rounds/{r.id}", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert page.count(WARNING_KO) == 3
    assert "주민등록번호가 가려져 있거나 읽을 수 없고, 주소나 성명·생년월일도 없습니다" in page
    assert "올바른 주민등록번호가 아닙니다" not in page
    assert db.session.get(Household, got[3].household_id).name == "박영수"


def test_a_masked_number_is_not_stored_in_full_either(client, staff):
    """The masking rules stay: a number of the full shape that fails the check is masked before anything
    is stored, and the row is imported like a masked one."""
    d, _u = staff
    rows = [["1", "이순자", "", "511309-1234567", "경기도 의정부시 민락로 3", "", "", "실직"]]
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=HEADER))
    assert (r.good_rows, r.bad_rows) == (1, 0)
    row = db.session.scalar(select(CrisisRow))
    assert row.warning == "rrn_unread" and row.birth_date is None  # 13th month: no birth date from it
    for table in db.metadata.sorted_tables:
        for c in table.c:
            if c.type.__class__.__name__ in ("String", "Text", "JSONType", "JSON"):
                for (value,) in db.session.execute(select(c).select_from(table)):
                    assert "5113091234567" not in str(value or "").replace("-", ""), (table.name, c.name)
