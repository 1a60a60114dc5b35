"""No raw resident registration number reaches the database, the logs or a report."""
import logging
import re
from pathlib import Path

from sqlalchemy import String, Text, select

from tests import builders as b
from tests.risk import builders as rb
from volnet.extensions import db
from volnet.risk.models import HouseholdRrnHash

RRNS = ["500505-2123456", "4401011234567", "0101013123456"]
DIGITS = [r.replace("-", "") for r in RRNS]


def test_no_raw_rrn_anywhere(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, u)
    header = ["성명", "주민등록번호", "주소", "지표", "비고"]
    rows = [["이순자", RRNS[0], "의정부시 민락로 3", "실직", ""],
            ["김철수", RRNS[1], "의정부시 민락로 5", "단전", f"주민번호 {RRNS[0]} 확인"],
            ["박영", "12345", "의정부시 민락로 7", "단전", ""],            # not an RRN: bad row
            ["최아기", RRNS[2], "의정부시 민락로 9", "없는지표", ""]]       # bad row with an RRN in it
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    # an .xlsx with the number stored as a number (leading zero lost) as well
    xl = rb.xlsx_bytes([["최아기", int(DIGITS[2]), "의정부시 민락로 11", "단수", ""]], header=header)
    r2 = rb.import_file(client, d, xl, filename="b.xlsx")
    assert r.good_rows == 2 and r.bad_rows == 2 and r2.good_rows == 1
    assert db.session.scalar(select(db.func.count()).select_from(HouseholdRrnHash)) == 3
    bad = client.get(f"/risk/rounds/{r.id}/bad-rows.csv").get_data().decode("utf-8-sig")
    assert "011231-3******" in bad or "010101-3******" in bad
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    for blob in (bad, page, caplog.text):
        for raw in RRNS + DIGITS:
            assert raw not in blob
    # every text column of every table
    found = []
    for table in db.metadata.sorted_tables:
        cols = [c for c in table.c if isinstance(c.type, String | Text) or c.type.__class__.__name__ == "JSON"]
        for c in cols:
            for (value,) in db.session.execute(select(c).select_from(table)):
                s = str(value or "")
                s_digits = re.sub(r"\D", "", s)
                if any(raw in s for raw in RRNS) or any(dg in s_digits for dg in DIGITS):
                    found.append((table.name, c.name))
    assert found == []
    if db.engine.dialect.name == "sqlite":
        db.session.commit()  # the database file and its WAL are both read below
        path = Path(db.engine.url.database)
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for raw in RRNS + DIGITS:
            assert raw.encode() not in blob
