"""No raw resident registration number reaches the database, the logs or a report."""
import logging
import re
from pathlib import Path

import pytest
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
            ["박영", "12345", "의정부시 민락로 7", "단전", ""],            # not an RRN: matched on the rest
            ["최아기", RRNS[2], "의정부시 민락로 9", "없는지표", ""]]       # bad row with an RRN in it
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    # an .xlsx with the number stored as a number (leading zero lost) as well
    xl = rb.xlsx_bytes([["최아기", int(DIGITS[2]), "의정부시 민락로 11", "단수", ""]], header=header)
    r2 = rb.import_file(client, d, xl, filename="b.xlsx")
    assert r.good_rows == 3 and r.bad_rows == 1 and r2.good_rows == 1
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


def test_erasing_a_household_on_a_crisis_list_anonymises_it_instead(app, client):
    # The list's rows, indicators and RRN links refer to households without a foreign key (bulk tables):
    # erasure checks them itself. A household a list matched is anonymised, not deleted (its rows stay for
    # the round's progress); one no list names is deleted.
    from volnet.households.models import Household
    from volnet.privacy.services import erase_household
    from volnet.risk.models import CrisisRow, HouseholdIndicator

    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    on_list = b.household(d, road="경기도 의정부시 호국로 12", unit="", name="김영희")
    linked_only = b.household(d, road="경기도 의정부시 호국로 14", unit="", name="이철")
    other = b.household(d, road="경기도 의정부시 호국로 16", unit="", name="박다른")
    db.session.commit()
    b.login(client, u)
    header = ["성명", "주소", "주민등록번호", "지표"]
    r = rb.import_file(client, d, rb.csv_bytes([["김영희", "경기도 의정부시 호국로 12", "", "단전"],
                                                ["이철", "경기도 의정부시 호국로 14", RRNS[0], "단수"]], header=header))
    assert r.matched_rows == 2
    # Only an RRN link left (the list's rows and indicators gone): still refers to the household.
    db.session.execute(db.delete(CrisisRow).where(CrisisRow.household_id == linked_only.id))
    db.session.execute(db.delete(HouseholdIndicator).where(HouseholdIndicator.household_id == linked_only.id))
    db.session.commit()
    assert erase_household(on_list) == "anonymised_instead"
    assert erase_household(linked_only) == "anonymised_instead"
    assert erase_household(other) == "erased"
    db.session.commit()
    kept = {h.id: h for h in db.session.scalars(select(Household))}
    assert set(kept) == {on_list.id, linked_only.id} and kept[on_list.id].name != "김영희"
    assert db.session.scalar(select(HouseholdRrnHash.household_id)) == linked_only.id


@pytest.mark.parametrize("step", ["write_new", "settle"])
def test_an_import_batch_stops_when_a_household_it_matched_was_erased(app, client, monkeypatch, step):
    # A household the job matched (it was there when the job started) is erased before the batch is stored,
    # or after its new rows were written (uncommitted) and before it is settled: the batch refers to
    # nothing, as a foreign key would refuse. The round fails with nothing of that batch stored, the erased
    # household is not brought back; imported again, the row gets a new household.
    from volnet.households.models import Household
    from volnet.privacy.services import erase_household
    from volnet.risk import importer
    from volnet.risk.models import CrisisRound, CrisisRow

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no erasure can commit while an import job runs")
    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    gone = b.household(d, road="경기도 의정부시 호국로 12", unit="", name="김영희")
    db.session.commit()
    gone_id = gone.id
    b.login(client, u)
    real = getattr(importer.Importer, step)

    def erased_meanwhile(self, plan):
        from flask import current_app

        with current_app.app_context():  # another request: the admin erases the household and commits
            assert erase_household(db.session.get(Household, gone_id)) == "erased"
            db.session.commit()
        return real(self, plan)

    monkeypatch.setattr(importer.Importer, step, erased_meanwhile)
    header = ["성명", "주소", "지표"]
    r = rb.import_file(client, d, rb.csv_bytes([["김영희", "경기도 의정부시 호국로 12", "단전"]], header=header))
    assert (r.status, r.error, r.done_rows) == ("failed", "LookupError", 0)
    assert db.session.scalar(select(db.func.count()).select_from(CrisisRow)) == 0
    assert db.session.get(Household, gone_id) is None
    monkeypatch.setattr(importer.Importer, step, real)
    r.status = "queued"
    db.session.commit()
    importer.run_import(r.id)
    db.session.expire_all()
    r = db.session.get(CrisisRound, r.id)
    assert (r.status, r.created_households, r.matched_rows) == ("done", 1, 0)


def test_rrns_in_full_width_or_other_digits_are_hashed_and_masked_too(app, client):
    """Spreadsheets from other offices sometimes hold full-width digits (９００１０１－１２３４５６７): such a
    number is found like any other (hashed in its own column, masked in text), and a number in other
    scripts' digits no longer stops the upload with an error."""
    from volnet.risk import rrn

    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, u)
    wide = "".join(chr(0xFF10 + int(c)) if c.isdigit() else "－" for c in RRNS[0])  # ５００５０５－２１２３４５６
    mixed = "٥٠0505-2١٢٣٤٥٦"  # Arabic-Indic and ASCII digits
    header = ["성명", "주민등록번호", "주소", "지표", "비고"]
    rows = [["이순자", wide, "의정부시 민락로 3", "실직", f"번호 {wide}"],
            ["이순자", mixed, "의정부시 민락로 3", "실직", ""]]
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    assert (r.status, r.good_rows, r.duplicate_rows) == ("done", 1, 1)  # the same person twice: one row
    assert db.session.scalar(select(db.func.count()).select_from(HouseholdRrnHash)) == 1
    from datetime import date

    from volnet.risk.models import CrisisRow

    assert db.session.scalar(select(CrisisRow.birth_date)) == date(1950, 5, 5)  # read from the number
    assert rrn.mask(f"메모 {wide}") == "메모 500505-2******"
    for table in db.metadata.sorted_tables:
        for c in [c for c in table.c if isinstance(c.type, String | Text)]:
            for (value,) in db.session.execute(select(c).select_from(table)):
                folded = rrn._fold(str(value or ""))
                assert DIGITS[0] not in re.sub(r"\D", "", folded), (table.name, c.name)


def test_an_rrn_in_any_script_s_digits_is_hashed_or_masked(app):
    """Not only full-width and Arabic-Indic: a number typed in Devanagari, Bengali, Thai or Myanmar
    digits (a keyboard left in another layout, a file through a translation tool) is an RRN as well."""
    from volnet.risk import rrn

    def digits(zero: int, text: str = "900101-1234567") -> str:
        return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)

    san = rrn.Sanitizer()
    plain = san.cell("900101-1234567")
    for zero in (0x0966, 0x09E6, 0x0E50, 0x1040, 0xFF10, 0x0660):
        number = digits(zero)
        assert san.cell(number) == plain, hex(zero)
        assert san.cell(f"비고 {number} 확인") == "비고 900101-1****** 확인", hex(zero)
        assert rrn.display(f"메모 {number}") == "메모 900101-1******"
    # Other text in those scripts stays exactly as it was.
    assert san.cell("ठाकुर गली ४ मकान १२ - पीछे") == "ठाकुर गली ४ मकान १२ - पीछे"


@pytest.mark.parametrize("sep", [".", " . ", "/", "_", "·", " - ", "  "])
def test_an_rrn_written_with_a_dot_slash_or_middle_dot_is_hashed_or_masked(app, sep):
    """Office spreadsheets write 900101.1234567 or 900101·1234567 as well as with a hyphen."""
    from volnet.risk import rrn

    san = rrn.Sanitizer()
    assert san.cell(f"900101{sep}1234567") == san.cell("900101-1234567")
    assert san.cell(f"비고 900101{sep}1234567 확인") == "비고 900101-1****** 확인"
    assert rrn.mask(f"메모 511309{sep}1234567") == "메모 511309-*******"  # fails the check: masked all the same
    assert rrn.mask_loose(f"계좌 440101{sep}12345678") == "계좌 440101-*******"
    # Dates, phone numbers and amounts are left alone.
    for text in ("2026.12.04", "010.1234.5678", "1,234,567.50", "민락로 106. 1층"):
        assert rrn.mask(text) == text and san.cell(text) == text


def test_every_decimal_digit_of_unicode_is_looked_for():
    """The quick scan that decides whether a cell must be folded finds every decimal digit that Unicode
    knows besides 0-9 (the digits' blocks could grow with a new Python)."""
    import sys
    import unicodedata

    from volnet.risk import rrn

    missed = [hex(cp) for cp in range(0x80, sys.maxunicode + 1)
              if unicodedata.category(chr(cp)) == "Nd" and not rrn._FOLD_HINT.match(chr(cp))]
    assert missed == []
    assert rrn._FOLD_HINT.search("경기도 의정부시 민락로 123번길 45, 101동 1203호") is None


def test_a_number_that_fails_the_rrn_check_is_masked_not_stored(app, client):
    """A typo in a registration number (month 13, a digit too many or too few): the number is still
    someone's, so neither the database, the round's page nor bad-rows.csv holds it; only its first six digits,
    as 511309-*******, in a row refused for another reason. A row with such a number and an address is
    imported all the same, matched on the rest (QA round 20: F3)."""
    from volnet.risk.models import BadRow, CrisisRow

    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, u)
    header = ["성명", "주민등록번호", "주소", "지표", "비고"]
    typo, short, other = "511309-1234567", "5113091234", "4401011234568"
    rows = [["이순자", typo, "의정부시 민락로 3", "실직", ""],                         # fails the check
            ["김철수", short, "의정부시 민락로 5", "단전", ""],                          # too short
            ["박영", "", "의정부시 민락로 7", "없는지표", f"메모 {typo} / 640231-1234567"],  # refused otherwise
            ["최민", "", "의정부시 민락로 9", "없는지표", "계좌 44010112345678"],          # 14 digits
            ["정순", short, "의정부시 민락로 11", "없는지표", ""]]                         # refused otherwise
    page = client.get(f"/risk/rounds/{rb.import_file(client, d, rb.csv_bytes(rows, header=header)).id}")
    r = db.session.scalars(select(db.func.max(BadRow.round_id))).one()
    assert db.session.scalar(select(db.func.count()).select_from(BadRow).where(BadRow.round_id == r)) == 3
    assert db.session.scalar(select(db.func.count()).select_from(CrisisRow).where(CrisisRow.round_id == r)) == 2
    html = page.get_data(as_text=True)
    csv_text = client.get(f"/risk/rounds/{r}/bad-rows.csv").get_data().decode("utf-8-sig")
    assert "511309-*******" in csv_text and "640231-1******" in csv_text and "511309****" in csv_text
    stored = " ".join(f"{x.detail} {x.content}" for x in db.session.scalars(select(BadRow)))
    for blob in (html, csv_text, stored):
        digits = re.sub(r"\D", "", blob)
        for raw in (typo.replace("-", ""), "6402311234567", short, "44010112345678", other):
            assert raw not in digits, raw
    # Every text column of every table (the staged rows are gone with the finished import).
    for table in db.metadata.sorted_tables:
        for c in [c for c in table.c if isinstance(c.type, String | Text) or c.type.__class__.__name__ == "JSON"]:
            for (value,) in db.session.execute(select(c).select_from(table)):
                assert typo.replace("-", "") not in re.sub(r"\D", "", str(value or "")), (table.name, c.name)


def test_the_migration_masks_numbers_stored_raw_before(app):
    """Rows an import refused before this fix may hold an RRN-shaped number in full: the data migration
    masks them (and the previews and staged rows of lists not imported yet), keyed hash tokens untouched."""
    import importlib.util
    import zlib

    from volnet.risk.models import BadRow, CrisisRound, UploadChunk

    path = Path(__file__).resolve().parents[2] / "migrations/versions/d5e8a1c4b7f3_mask_rrn_like_numbers_in_stored_rows.py"
    spec = importlib.util.spec_from_file_location("mask_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    token = "RRNH:" + "a" * 20 + "5113091234567" + "b" * 31 + ":900101-1"
    from datetime import date

    r = CrisisRound(dong_id=d.id, uploaded_by_id=u.id, file_hash="x" * 64, received_on=date(2026, 1, 5),
                    due_on=date(2026, 3, 5), status="uploaded", header=["a"],
                    preview=[["511309-1234567", "이순자"]])
    db.session.add(r)
    db.session.flush()
    db.session.add(BadRow(round_id=r.id, row_number=2, reason="bad_rrn", detail="511309-1234567",
                          content="이순자,511309-1234567,9001011234567,5113091234"))
    db.session.add(UploadChunk(round_id=r.id, seq=0, data=zlib.compress(f"2,,이순자,511309-1234567,{token}\n".encode())))
    db.session.commit()
    migration._bad_rows(db.session.connection())
    migration._previews(db.session.connection())
    migration._chunks(db.session.connection())
    db.session.commit()
    db.session.expire_all()
    bad = db.session.scalar(select(BadRow))
    assert bad.detail == "511309-*******"
    assert bad.content == "이순자,511309-*******,900101-1******,5113091234"  # 10 digits: not RRN-like
    assert db.session.get(CrisisRound, r.id).preview == [["511309-*******", "이순자"]]
    staged = zlib.decompress(b"".join(db.session.scalars(select(UploadChunk.data).order_by(UploadChunk.seq))))
    assert staged.decode() == f"2,,이순자,511309-*******,{token}\n"
