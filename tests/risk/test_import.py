"""Importing public crisis lists: encodings, bad rows, truncation, duplicates, size."""
import time

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.risk import builders as rb
from volnet.extensions import db
from volnet.households.models import Household
from volnet.risk import importer
from volnet.risk.models import BadRow, CrisisRound, CrisisRow, HouseholdIndicator, UploadChunk


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp949", "euc-kr"])
def test_encodings_seen_in_korean_public_data(client, staff, encoding):
    d, _u = staff
    rows = [rb.person(1, name="김영희"), rb.person(2, name="박말순", codes="전기요금 체납"),
            rb.person(3, name="이철수", codes="단수;가스요금 체납")]
    r = rb.import_file(client, d, rb.csv_bytes(rows, encoding=encoding, title="2026년 1차 발굴 대상자"))
    assert r.status == "done"
    assert (r.good_rows, r.bad_rows, r.header_row) == (3, 0, 2)
    names = set(db.session.scalars(select(Household.name)))
    assert names == {"김영희", "박말순", "이철수"}
    assert set(db.session.scalars(select(Household.status))) == {"to_locate"}
    assert count(HouseholdIndicator) == 4
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert "김영희" in page and "박말순" in page


def test_xlsx_with_date_cells_and_indicator_columns(client, staff):
    from datetime import date

    d, _u = staff
    header = ["성명", "생년월일", "주소", "동호", "단전", "전기요금 체납", "실직"]
    rows = [["최복순", date(1941, 5, 2), "경기도 의정부시 민락로 12", "지하 1층", "Y", "", ""],
            ["정광호", "19600101", "경기도 의정부시 민락로 14", "2층", "", "O", "1"],
            ["한정숙", "1970.01.01", "경기도 의정부시 민락로 16", "", "N", "", ""]]  # no indicator
    r = rb.import_file(client, d, rb.xlsx_bytes(rows, header=header), filename="명단.xlsx")
    assert r.status == "done" and r.file_kind == "xlsx"
    assert (r.good_rows, r.bad_rows) == (2, 1)
    h = db.session.scalar(select(Household).where(Household.name == "최복순"))
    assert h.birth_date == date(1941, 5, 2) and h.unit == "지하 1층" and h.age_band == "80p"
    codes = set(db.session.scalars(select(CrisisRow.codes)))
    assert codes == {"cutoff_power", "arrears_electricity,job_loss"}
    bad = db.session.scalar(select(BadRow))
    assert bad.row_number == 5 and bad.reason == "no_indicator"


def test_wrong_columns_get_a_clear_message(client, staff):
    d, _u = staff
    data = rb.csv_bytes([["a", "b", "c"], ["d", "e", "f"]], header=["품목", "수량", "비고"])
    resp = rb.upload(client, d, data)
    assert resp.status_code == 302
    assert client.get(resp.headers["Location"]).status_code == 200
    form = {f"col_{i}": "" for i in range(3)}
    resp = client.post(resp.headers["Location"], data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Choose the column for the name" in html or "성명" in html
    assert count(CrisisRow) == 0 and count(Household) == 0
    assert db.session.scalar(select(CrisisRound.status)) == "uploaded"


def test_rows_with_wrong_cell_counts_are_reported(client, staff):
    d, _u = staff
    text = ("성명,생년월일,도로명주소,상세주소,연락처,위기지표\r\n"
            "김하나,1950-01-01,송산로 1,,010-1111-2222,단전\r\n"
            "김둘,1950-01-01,송산로 2\r\n"
            "김셋,1950-01-01,송산로 3,,010-1111-2222,단전,,엉뚱한값\r\n").encode()
    r = rb.import_file(client, d, text)
    reasons = dict(db.session.execute(select(BadRow.row_number, BadRow.reason)).all())
    assert r.good_rows == 1
    assert reasons == {3: "missing_cells", 4: "extra_cells"}


def test_empty_and_duplicate_rows(client, staff):
    d, _u = staff
    rows = [rb.person(1), ["", "", "", "", "", "", ""], rb.person(2), rb.person(1), rb.person(2), rb.person(3)]
    r = rb.import_file(client, d, rb.csv_bytes(rows))
    assert (r.good_rows, r.duplicate_rows, r.empty_rows, r.bad_rows) == (3, 2, 1, 0)
    assert count(Household) == 3


def test_birth_date_formats(client, staff):
    from datetime import date

    d, _u = staff
    rows = [rb.person(1, birth="2024-02-30"), rb.person(2, birth="19900101"), rb.person(3, birth="1990.01.01"),
            rb.person(4, birth="1990. 1. 2."), rb.person(5, birth="어제"), rb.person(6, birth="9999-01-01"),
            rb.person(7, birth="")]
    r = rb.import_file(client, d, rb.csv_bytes(rows))
    assert r.good_rows == 4
    births = sorted(filter(None, db.session.scalars(select(Household.birth_date))))
    assert births == [date(1990, 1, 1), date(1990, 1, 1), date(1990, 1, 2)]
    reasons = dict(db.session.execute(select(BadRow.row_number, BadRow.reason)).all())
    assert reasons == {2: "impossible_birth_date", 6: "bad_birth_date", 7: "impossible_birth_date"}
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert "2024-02-30" in page


def test_csv_cut_mid_row_keeps_good_rows_and_reports_the_last(client, staff):
    d, _u = staff
    data = rb.csv_bytes([rb.person(i) for i in range(1, 6)])
    cut = data[: data.rindex(b"\r\n") - 12]  # inside the last row
    r = rb.import_file(client, d, cut)
    assert r.good_rows == 4 and r.bad_rows == 1
    bad = db.session.scalar(select(BadRow))
    assert (bad.row_number, bad.reason) == (6, "cut_off")


def test_csv_cut_inside_a_multibyte_character(client, staff):
    d, _u = staff
    data = rb.csv_bytes([rb.person(i, name="홍길동" if i == 3 else None) for i in range(1, 4)], encoding="cp949")
    cut = data[: data.index("홍".encode("cp949")) + 1]
    r = rb.import_file(client, d, cut)
    assert r.encoding == "cp949"
    assert r.good_rows == 2 and r.bad_rows == 1


def test_xlsx_cut_in_half_gives_a_clear_error_and_saves_nothing(client, staff):
    d, _u = staff
    data = rb.xlsx_bytes([rb.person(i) for i in range(1, 200)])
    resp = rb.upload(client, d, data[: len(data) // 2], filename="list.xlsx")
    assert resp.status_code == 400
    assert "damaged or incomplete" in resp.get_data(as_text=True) or "손상" in resp.get_data(as_text=True)
    assert count(CrisisRound) == 0 and count(UploadChunk) == 0


def test_old_xls_and_empty_files_are_refused(client, staff):
    d, _u = staff
    assert rb.upload(client, d, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls").status_code == 400
    assert rb.upload(client, d, b"", "a.csv").status_code == 400
    assert rb.upload(client, d, rb.csv_bytes([]), "a.csv").status_code == 400
    assert rb.upload(client, d, "\ufffe\x00garbage".encode("utf-16") * 3, "a.csv").status_code == 400
    assert count(CrisisRound) == 0


def test_same_file_twice_changes_nothing(client, staff):
    d, _u = staff
    data = rb.csv_bytes([rb.person(i) for i in range(1, 8)])
    r = rb.import_file(client, d, data)
    before = (count(Household), count(CrisisRow), count(HouseholdIndicator), count(CrisisRound))
    resp = rb.upload(client, d, data)
    assert resp.status_code == 302 and f"/risk/rounds/{r.id}" in resp.headers["Location"]
    # The job delivered twice (RQ is at-least-once) changes nothing either.
    r.status = "queued"
    r.done_rows = 0
    db.session.commit()
    importer.run_import(r.id)
    assert (count(Household), count(CrisisRow), count(HouseholdIndicator), count(CrisisRound)) == before


@pytest.mark.parametrize("step", ["plan", "write_new", "settle"])
def test_interrupted_job_resumes_without_duplicates(client, staff, monkeypatch, step):
    # The job fails on its third batch, while planning it (matching, in the job thread) or while storing it
    # (on PostgreSQL in a writer thread, with the next batch already planned and maybe written, uncommitted,
    # by the other writer): writing its new rows or settling it after the batch before committed. The two
    # batches before it are kept, nothing of the third or later, and the job run again imports the rest once.
    r = _half_done_round(client, staff, monkeypatch, step)  # failed after two batches of 3: 6 rows kept
    assert (count(Household), count(CrisisRow), count(HouseholdIndicator)) == (6, 6, 6)
    assert r.status == "failed" and r.done_rows == 6
    r.status = "queued"
    db.session.commit()
    importer.run_import(r.id)
    db.session.refresh(r)
    assert r.status == "done" and r.good_rows == 10 and count(Household) == 10 and count(CrisisRow) == 10


def test_a_failing_batch_keeps_the_one_before_that_is_still_being_stored(client, staff, monkeypatch):
    # On PostgreSQL batch 2 is written by one writer while batch 1, on the other, has not committed yet:
    # batch 2 fails first, and batch 1 still commits (its rows are good); batch 2 and later are not kept.
    import threading

    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (3,))
    second_failed, real_write = threading.Event(), importer.Importer.write_new

    def write_new(self, p):
        if p.seq == 2:
            second_failed.set()
            raise RuntimeError("disk full")
        return real_write(self, p)

    monkeypatch.setattr(importer.Importer, "write_new", write_new)
    waited = _settle_first_batch_after(monkeypatch, second_failed)
    r = _upload_and_map(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 11)]))
    assert waited == ([True] if db.engine.dialect.name == "postgresql" else [])
    assert (r.status, r.error, r.done_rows, r.good_rows) == ("failed", "RuntimeError", 3, 3)
    assert (count(Household), count(CrisisRow), count(HouseholdIndicator)) == (3, 3, 3)
    monkeypatch.setattr(importer.Importer, "write_new", real_write)
    r.status = "queued"
    db.session.commit()
    importer.run_import(r.id)
    db.session.refresh(r)
    assert (r.status, r.good_rows, r.duplicate_rows) == ("done", 10, 0) and count(CrisisRow) == 10


def test_matching_by_address_name_birth_and_rrn(client, staff):
    from datetime import date

    d, u = staff
    h1 = b.household(d, road="경기도 의정부시 호국로 1234번길 12", unit="2층", name="김영희")
    h2 = b.household(d, road="경기도 의정부시 송산로 9", unit="101호", name="박철수", birth_date=date(1944, 4, 4))
    db.session.commit()
    header = ["성명", "생년월일", "주소", "상세주소", "주민등록번호", "지표"]
    rows = [["김영희", "", "경기도 의정부시 호국로1234길 12", "2 층", "", "단전"],      # address, spacing forgiven
            ["박철수", "1944-04-04", "다른 주소 1", "", "", "단수"],                 # name + birth date
            ["이순자", "", "경기도 의정부시 민락로 3", "", "500505-2123456", "실직"],  # new household, RRN hashed
            ["이순자", "", "", "", "500505-2123456", "단가스"]]                      # same RRN: same household
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    assert r.good_rows == 4, db.session.execute(select(BadRow.reason)).all()
    got = dict(db.session.execute(select(CrisisRow.row_number, CrisisRow.household_id)).all())
    match = dict(db.session.execute(select(CrisisRow.row_number, CrisisRow.match)).all())
    assert got[2] == h1.id and match[2] == "address"
    assert got[3] == h2.id and match[3] == "name_birth"
    assert match[4] == "created" and got[5] == got[4] and match[5] == "rrn"
    new = db.session.get(Household, got[4])
    assert new.status == "to_locate" and new.birth_date == date(1950, 5, 5)


def test_mapping_is_remembered_for_the_same_layout(client, staff):
    d, _u = staff
    header = ["이름칸", "태어난날", "사는곳", "위험"]
    mapping = {"col_0": "name", "col_1": "birth_date", "col_2": "address", "col_3": "indicator_code"}
    rb.import_file(client, d, rb.csv_bytes([["김일", "1950-01-01", "송산로 1", "단전"]], header=header),
                   mapping=mapping)
    resp = rb.upload(client, d, rb.csv_bytes([["김이", "1950-01-01", "송산로 2", "단수"]], header=header))
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "used last time" in html or "지난번" in html
    r = rb.import_file(client, d, rb.csv_bytes([["김삼", "1950-01-01", "송산로 3", "단수"]], header=header))
    assert r.good_rows == 1


def test_progress_page_refreshes_while_running_and_bad_rows_download(client, staff):
    d, _u = staff
    rows = [rb.person(1), rb.person(2, birth="2024-02-30"), rb.person(3, codes="없는지표")]
    r = rb.import_file(client, d, rb.csv_bytes(rows))
    resp = client.get(f"/risk/rounds/{r.id}/bad-rows.csv")
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "2024-02-30" in text and "없는지표" in text
    assert 'http-equiv="refresh"' not in client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    r.status = "running"
    r.done_rows, r.total_rows = 1, 3
    db.session.commit()
    html = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert 'http-equiv="refresh" content="2"' in html and "<progress" in html


def test_round_due_date_and_check_results(client, staff):
    from datetime import date

    d, _u = staff
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(1), rb.person(2)]), received="2026-01-31")
    assert r.due_on == date(2026, 3, 31)
    row = db.session.scalar(select(CrisisRow).order_by(CrisisRow.row_number))
    resp = client.post(f"/risk/rounds/{r.id}/rows/{row.id}/check", data={"result": "supported", "note": "긴급지원"})
    assert resp.status_code == 302
    resp = client.post(f"/risk/rounds/{r.id}/rows/{row.id}/check", data={"result": "bogus"})
    db.session.expire_all()
    assert db.session.get(CrisisRow, row.id).check_result == "supported"
    page = client.get("/risk/rounds").get_data(as_text=True)
    assert "1 of 2 checked" in page or "2건 중 1건" in page


def test_other_dong_and_other_roles_get_404(app, client, staff):
    d, _u = staff
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(1)]))
    row = db.session.scalar(select(CrisisRow))
    client.post("/account/logout")
    other = b.user("caseworker", dongs=[b.dong()])
    vol = b.user("volunteer", dongs=[d])
    db.session.commit()
    b.login(client, other)
    assert client.get(f"/risk/rounds/{r.id}").status_code == 404
    assert client.get(f"/risk/rounds/{r.id}/bad-rows.csv").status_code == 404
    assert client.post(f"/risk/rounds/{r.id}/rows/{row.id}/check", data={"result": "no_need"}).status_code == 404
    client.post("/account/logout")
    b.login(client, vol)
    assert client.get("/risk/rounds/new").status_code == 404
    assert client.get(f"/risk/rounds/{r.id}").status_code == 404


def test_upload_needs_csrf(client, staff, csrf_on):
    d, _u = staff
    resp = rb.upload(client, d, rb.csv_bytes([rb.person(1)]))
    assert resp.status_code == 400
    assert count(CrisisRound) == 0


def test_upload_never_spills_to_a_temp_file(client, staff, monkeypatch):
    import tempfile

    d, _u = staff
    made = []
    real = tempfile.TemporaryFile

    def spy(*a, **k):
        made.append(1)
        return real(*a, **k)

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    import werkzeug.formparser as fp

    monkeypatch.setattr(fp, "SpooledTemporaryFile", lambda *a, **k: made.append(1) or real(), raising=False)
    data = rb.csv_bytes([rb.person(i, phone="x" * 300) for i in range(3000)])  # > 500 KB
    assert len(data) > 600_000
    assert rb.upload(client, d, data).status_code == 302
    assert made == []


@pytest.mark.slow
def test_fifty_megabyte_file(client, staff):
    d, _u = staff
    filler = "비고" * 700  # a wide unmapped column: 50 MB in 12k rows
    lines = ["성명,생년월일,도로명주소,상세주소,위기지표,비고"]
    for i in range(12_000):
        lines.append(f"김{i},1950-01-01,경기도 의정부시 송산로 {i},{i % 9}층,단전,{filler}")
    lines.append("김끝,1950-01-01,송산로 끝,,단전,짧")
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    assert len(data) > 50_000_000
    # CPU time of this process (upload, staging, job): wall time on a shared 2-core machine varies with load.
    start = time.process_time()
    r = rb.import_file(client, d, data)
    took = time.process_time() - start
    assert r.status == "done" and r.good_rows == 12_001 and r.bad_rows == 0
    assert count(Household) == 12_001
    assert count(UploadChunk) == 0
    assert took < 30, took


def test_imported_scores_equal_a_full_rescore_and_crossings_raise_concerns(client, staff):
    # New households are scored from the batch itself (no query); matched ones are rescored from the
    # database. Both must store exactly what a full rescore gives, and a crossing opens a concern.
    from volnet.concerns.models import Concern
    from volnet.core import clock
    from volnet.risk import scoring

    d, _u = staff
    old = b.household(d, road="경기도 의정부시 송산로 7", unit="", name="박옛집")
    db.session.commit()
    today = clock.seoul_today()
    rows = [rb.person(1, birth="1940-01-01", codes="자해·자살 시도 응급실 내원"),        # 25 + 80+ 5 = 30: crossing
            rb.person(2, birth="1980-01-01", codes="단전, 실직"),                        # 15 + 8
            rb.person(3, name="김순1", birth="", road="경기도 의정부시 송산로 101", codes="단수"),  # 1 again
            rb.person(4, name="박옛집", road="경기도 의정부시 송산로 7", codes="단가스")]     # existing household
    r = rb.import_file(client, d, rb.csv_bytes(rows), received=today.isoformat())
    assert r.status == "done" and r.good_rows == 4 and r.created_households == 2 and r.matched_rows == 1
    households = list(db.session.scalars(select(Household).order_by(Household.id)))
    for h in households:
        assert h.risk_score == scoring.evaluate(h).score, h.name
    by_name = {h.name: h for h in households}
    assert by_name["김순1"].risk_score == 45 and by_name["김순2"].risk_score == 23
    assert by_name["박옛집"].id == old.id and by_name["박옛집"].risk_score >= 15
    assert r.concerns_raised == 1
    assert db.session.scalar(select(Concern.household_id)) == by_name["김순1"].id


def _upload_and_map(client, d, data):
    """Upload and accept the guessed mapping; the job runs inline. Returns the round."""
    resp = rb.upload(client, d, data)
    loc = resp.headers["Location"]
    html = client.get(loc).get_data(as_text=True)
    form = {n: v for n, v in zip(rb.COLS.findall(html), ["", "name", "birth_date", "address", "unit", "phone",
                                                             "indicator_code"], strict=True)}
    client.post(loc, data=form)
    r = db.session.scalar(select(CrisisRound))
    db.session.refresh(r)
    return r


def test_duplicates_and_addresses_found_again_in_later_batches(client, staff, monkeypatch):
    # Earlier batches are looked up through the job's key filters: a row stored two batches ago is a
    # duplicate, and an address a household was created at two batches ago is matched, not created again.
    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (2,))
    rows = [rb.person(1), rb.person(2), rb.person(3), rb.person(4),
            rb.person(1),                                                 # batch 3: row 1 again
            rb.person(5, name="김순1", birth="", road="경기도 의정부시 송산로 101")]   # person 1's address
    r = _upload_and_map(client, d, rb.csv_bytes(rows))
    assert r.status == "done"
    assert (r.good_rows, r.duplicate_rows, r.created_households, r.matched_rows) == (5, 1, 4, 1)
    by_number = {row.row_number: row for row in db.session.scalars(select(CrisisRow))}
    assert by_number[7].match == "address" and by_number[7].household_id == by_number[2].household_id


def test_later_batches_see_earlier_ones_before_they_are_committed(client, staff, monkeypatch):
    # On PostgreSQL writer threads store batches while the job thread plans the next ones: here the first
    # batch is held uncommitted until the third is planned (and the second written by the other writer),
    # so batches 2 and 3 must find its rows, RRN link, addresses and names + birth dates among the batches
    # still in flight (SQLite runs the same list in one thread). Nothing may be created twice, and no link
    # stored twice (its unique key would fail).
    import threading

    from volnet.risk.models import HouseholdRrnHash

    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (3,))
    third_planned, real_plan = threading.Event(), importer.Importer.plan

    def plan(self, batch):
        out = real_plan(self, batch)
        if out.seq == 3:
            third_planned.set()
        return out

    monkeypatch.setattr(importer.Importer, "plan", plan)
    waited = _settle_first_batch_after(monkeypatch, third_planned)
    header = ["성명", "생년월일", "주소", "상세주소", "주민등록번호", "지표"]
    a = ["이순자", "", "경기도 의정부시 민락로 3", "", "500505-2123456", "실직"]
    b_ = ["박영수", "1950-01-01", "경기도 의정부시 송산로 201", "", "", "단전"]
    c = ["최민", "", "경기도 의정부시 송산로 301", "", "", "단수"]
    rows = [a, b_, c,                                                      # batch 1: three new households
            a,                                                             # batch 2: a duplicate of row 2
            ["", "", "", "", "500505-2123456", "단가스"],                   # the RRN of row 2
            ["박영수", "1950-01-01", "경기도 의정부시 다른로 9", "", "", "실직"],  # the name + birth of row 3
            ["최 민", "", "경기도 의정부시 송산로 301", "", "", "단전"],        # batch 3: the address of row 4
            b_]                                                            # a duplicate of row 3
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    assert waited == ([True] if db.engine.dialect.name == "postgresql" else [])
    assert (r.status, r.good_rows, r.duplicate_rows, r.created_households, r.matched_rows) == ("done", 6, 2, 3, 3)
    got = dict(db.session.execute(select(CrisisRow.row_number, CrisisRow.household_id)).all())
    match = dict(db.session.execute(select(CrisisRow.row_number, CrisisRow.match)).all())
    assert (got[6], match[6]) == (got[2], "rrn")
    assert (got[7], match[7]) == (got[3], "name_birth")
    assert (got[8], match[8]) == (got[4], "address")
    assert count(Household) == 3 and count(HouseholdRrnHash) == 1


def test_staged_rows_read_back_from_chunks_cut_anywhere():
    # A stored chunk ends anywhere in the compressed stream, so its text may end inside a character.
    import zlib

    from volnet.risk import staging

    text = "".join(f"{n},,홍길동{n},경기도 의정부시 호국로 1234번길 {n}\n" for n in range(1, 500))
    blob = zlib.compress(text.encode("utf-8"), 1)
    chunks = [blob[i:i + 7] for i in range(0, len(blob), 7)]
    rows = list(staging.staged_rows(0, lambda seq: chunks[seq] if seq < len(chunks) else None))
    assert len(rows) == 499
    assert rows[-1] == (499, False, ["홍길동499", "경기도 의정부시 호국로 1234번길 499"])


def test_a_second_worker_leaves_the_round_to_the_first(client, staff, monkeypatch):
    # RQ may deliver the job twice, even at the same time: a worker that finds the round's progress moved
    # since it started stops without writing, and nothing is imported twice.
    d, _u = staff
    r, late = _overtaken_round(client, d, monkeypatch, rows=5, batches_done_by_the_other=1)
    assert late.run() is False
    db.session.rollback()
    db.session.refresh(r)
    assert (r.done_rows, r.good_rows) == (2, 2) and count(CrisisRow) == 2 and count(Household) == 2
    r.status = "queued"
    db.session.commit()
    importer.run_import(r.id)
    db.session.refresh(r)
    assert (r.status, r.done_rows, r.good_rows, r.duplicate_rows) == ("done", 5, 5, 0)
    assert count(Household) == 5 and count(CrisisRow) == 5


def test_an_overtaken_worker_that_meets_the_other_ones_rows_stops_quietly(client, staff, monkeypatch, caplog):
    # PostgreSQL writes a batch's rows before it claims the round when the batch before is still in flight.
    # A job overtaken by another worker may so meet rows that worker stored: it stops as overtaken (no
    # failure recorded, nothing written twice), whichever of its batches finds out first.
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores one batch at a time, each after its claim")
    d, _u = staff
    r, late = _overtaken_round(client, d, monkeypatch, rows=6, batches_done_by_the_other=2)
    second_met, real_write, real_claim = threading.Event(), importer.Importer.write_new, importer.Importer._claim

    def write_new(self, p):
        try:
            return real_write(self, p)
        finally:
            if p.seq == 2:
                second_met.set()

    def claim(self, done):
        second_met.wait(timeout=20)               # batch 2 meets the other worker's rows before 1 is claimed
        return real_claim(self, done)

    monkeypatch.setattr(importer.Importer, "write_new", write_new)
    monkeypatch.setattr(importer.Importer, "_claim", claim)
    with caplog.at_level("WARNING", logger="volnet.risk.importer"):
        assert late.run() is False
    assert "stored by another worker" in caplog.text
    db.session.rollback()
    db.session.refresh(r)
    assert (r.done_rows, r.good_rows) == (4, 4) and count(CrisisRow) == 4 and count(Household) == 4


def _settle_first_batch_after(monkeypatch, event) -> list:
    """On PostgreSQL, hold batch 1 uncommitted in its writer thread until ``event`` (at most 20 s); the list
    returned records whether it came. SQLite runs no writer threads: nothing is held there."""
    import threading

    real = importer.Importer.settle
    waited: list[bool] = []

    def settle(self, p):
        if p.seq == 1 and threading.current_thread().name.startswith("risk-import-writer"):
            waited.append(event.wait(timeout=20))
        return real(self, p)

    monkeypatch.setattr(importer.Importer, "settle", settle)
    return waited


def _overtaken_round(client, d, monkeypatch, rows: int, batches_done_by_the_other: int):
    """A round of ``rows`` rows (batches of 2) and ``late``, a job that started on it at row 0 and was then
    overtaken: another worker committed ``batches_done_by_the_other`` batches and was killed."""
    real, calls = importer.Importer.plan, {"n": 0}

    def killed_at(n):
        def plan(self, batch):
            calls["n"] += 1
            if calls["n"] == n:
                raise RuntimeError("worker killed")
            return real(self, batch)
        calls["n"] = 0
        monkeypatch.setattr(importer.Importer, "plan", plan)

    killed_at(1)
    r = _upload_and_map(client, d, rb.csv_bytes([rb.person(i) for i in range(1, rows + 1)]))
    assert r.status == "failed" and r.done_rows == 0
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (2,))
    late = importer.Importer(r)
    killed_at(batches_done_by_the_other + 1)
    r.status = "queued"
    db.session.commit()
    importer.run_import(r.id)
    db.session.refresh(r)
    assert r.done_rows == 2 * batches_done_by_the_other == count(CrisisRow)
    monkeypatch.setattr(importer.Importer, "plan", real)
    return r, late


def _half_done_round(client, staff, monkeypatch, step="plan"):
    """A 10-row list whose job stopped after two batches of 3 (as a killed worker leaves it), killed while
    planning or while storing (``step``) its third batch."""
    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (3,))
    calls = {"n": 0}
    real = getattr(importer.Importer, step)

    def killed_on_the_third_batch(self, batch):
        calls["n"] += 1
        if (calls["n"] if step == "plan" else batch.seq) == 3:  # writers may store batches 3 and 4 at once
            raise RuntimeError("worker killed")
        return real(self, batch)

    monkeypatch.setattr(importer.Importer, step, killed_on_the_third_batch)
    r = _upload_and_map(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 11)]))
    assert r.status == "failed" and r.done_rows == 6 and r.error == "RuntimeError"
    monkeypatch.setattr(importer.Importer, step, real)
    return r


def test_a_stalled_import_is_resumed_by_the_sweep(client, staff, monkeypatch):
    """A worker killed mid-import (or Redis down when the job was queued) leaves the round "running" with no
    job: ten minutes later the sweep queues it again and it finishes after the rows already saved."""
    from datetime import timedelta

    from volnet.core import clock
    from volnet.notifications import services as notify

    r = _half_done_round(client, staff, monkeypatch)
    r.status, r.error = "running", ""  # the worker died before it could record anything
    db.session.commit()
    notify.sweep(clock.now() + timedelta(minutes=5))
    db.session.refresh(r)
    assert r.status == "running" and r.done_rows == 6  # not yet: a slow job may still be at work
    result = notify.sweep(clock.now() + timedelta(minutes=11))
    assert result["checks"]["volnet.risk.importer:resume_stalled"] == 1
    db.session.refresh(r)
    assert r.status == "done" and r.done_rows == 10 and r.good_rows == 10
    assert count(Household) == 10 and count(CrisisRow) == 10  # nothing twice
    assert importer.resume_stalled(clock.now() + timedelta(hours=1)) == 0  # a finished round stays finished


def test_a_failed_import_goes_on_from_the_round_page(app, client, staff, monkeypatch):
    r = _half_done_round(client, staff, monkeypatch)
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert "가져오기 이어 하기" in page
    resp = client.post(f"/risk/rounds/{r.id}/resume")
    assert resp.status_code == 302
    db.session.refresh(r)
    assert r.status == "done" and r.good_rows == 10 and count(CrisisRow) == 10
    assert "가져오기 이어 하기" not in client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    # A volunteer, or staff of another dong, cannot: the round is not theirs.
    other = app.test_client()
    b.login(other, b.user("caseworker", dongs=[b.dong()]))
    db.session.commit()
    assert other.post(f"/risk/rounds/{r.id}/resume").status_code == 404


def test_an_import_job_may_run_for_an_hour(app, staff, redis_url, monkeypatch):
    """RQ stops a job after 3 minutes unless told otherwise; a large list takes longer."""
    from rq.job import Job

    from volnet.core.queue import redis_conn

    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RUN_JOBS_INLINE", False)
    r = CrisisRound(dong_id=staff[0].id, file_hash="0" * 64, received_on=__import__("datetime").date(2026, 1, 5),
                    due_on=__import__("datetime").date(2026, 3, 5), status="queued")
    db.session.add(r)
    db.session.commit()
    job_id = importer.start(r)
    assert job_id
    job = Job.fetch(job_id, connection=redis_conn())
    try:
        assert job.timeout == importer.JOB_TIMEOUT == 3600
    finally:
        job.cancel()
        job.delete()


def test_two_lists_of_one_dong_imported_at_once_take_turns(app, client, staff, monkeypatch):
    """Two lists of one dong queued at the same moment (the electricity and the health-insurance list of a
    round, say) on two workers: the second waits until the first is stored, so a person on both lists, at a
    new address, becomes one household with one set of indicators, not two."""
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: two imports cannot overlap there")
    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (2,))
    real_start = importer.start
    monkeypatch.setattr(importer, "start", lambda r: "")  # both queued, neither job run yet
    first = rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 6)]))
    second = rb.import_file(client, d, rb.csv_bytes([rb.person(3, codes="건강보험료 체납"),
                                                     rb.person(9, codes="건강보험료 체납")]), received="2026-01-06")
    assert (first.status, second.status) == ("queued", "queued")
    monkeypatch.setattr(importer, "start", real_start)  # inline: the job runs at once

    holding, go = threading.Event(), threading.Event()
    real_settle = importer.Importer.settle

    def settle(self, p):  # the first list's first batch, stored but not committed, until told to go on
        if self.round_id == first.id and p.seq == 1:
            holding.set()
            go.wait(timeout=20)
        return real_settle(self, p)

    monkeypatch.setattr(importer.Importer, "settle", settle)

    def first_job():
        with app.app_context():
            importer.run_import(first.id)

    worker = threading.Thread(target=first_job)
    worker.start()
    try:
        assert holding.wait(timeout=20)
        importer.run_import(second.id)  # another worker: the dong is busy, the list waits its turn
        db.session.expire_all()
        assert (db.session.get(CrisisRound, second.id).status, count(CrisisRow)) == ("queued", 0)
        page = client.get(f"/risk/rounds/{second.id}").get_data(as_text=True)
        assert "이 동의 다른 명단을 가져오는 중입니다" in page
    finally:
        go.set()
        worker.join(timeout=60)
    db.session.expire_all()
    # The first job, done, queued the waiting list (inline here, as a worker would pick it up).
    statuses = [db.session.get(CrisisRound, r.id).status for r in (first, second)]
    assert statuses == ["done", "done"]
    assert count(Household) == 6 and count(CrisisRow) == 7
    row = {(x.round_id, x.row_number): x for x in db.session.scalars(select(CrisisRow))}
    person_3 = row[(first.id, 4)], row[(second.id, 2)]  # the header is row 1
    assert person_3[0].household_id == person_3[1].household_id and person_3[1].match != "created"
    assert "이 동의 다른 명단을" not in client.get(f"/risk/rounds/{second.id}").get_data(as_text=True)


def test_a_dong_is_free_again_when_its_import_ends_however_it_ends(app, monkeypatch):
    """The dong's turn is released when the job ends, fails, or cannot even release it (the connection is
    then closed rather than pooled, which releases it): no dong stays locked for the next list."""
    import contextlib

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL advisory lock (SQLite runs one writer at a time)")

    def another_worker_may() -> bool:
        with importer._dong_turn(7) as ours:
            return ours

    with importer._dong_turn(7) as ours:
        assert ours and not another_worker_may()
        with importer._dong_turn(8) as other_dong:
            assert other_dong  # other dongs are not held up
    assert another_worker_may()
    with pytest.raises(RuntimeError), importer._dong_turn(7):
        raise RuntimeError("disk full")
    assert another_worker_may()
    real_text = importer.text
    monkeypatch.setattr(importer, "text", lambda sql: real_text("SELECT 1/0" if "unlock" in sql else sql))
    with contextlib.suppress(Exception), importer._dong_turn(7):  # the release itself fails
        pass
    monkeypatch.setattr(importer, "text", real_text)
    # The server releases a closed connection's locks when its backend process exits, which takes a
    # moment after the socket closes (a busy machine once needed more than the next statement's time).
    deadline = time.monotonic() + 10
    while not another_worker_may() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert another_worker_may()


def _quick_add(app, user_id: int, dong_id: int, road: str) -> tuple[int, bool]:
    """A reporter's quick-add of a household, in a request of its own (another thread, session and connection)."""
    import threading

    from volnet.accounts.models import User
    from volnet.households import services as households

    out: dict = {}

    def request():
        with app.app_context():
            h, created = households.find_or_create(db.session.get(User, user_id), dong_id, road, "")
            out["found"] = (h.id, created)
            db.session.commit()

    t = threading.Thread(target=request)
    t.start()
    t.join(timeout=30)
    return out["found"]


def test_a_household_quick_added_during_an_import_is_joined_not_added_again(app, client, staff, monkeypatch):
    """A tong leader quick-adds a household at an address while a list is being imported, after the job read
    the dong's households: the list's row at that address later on joins that household (the rest of the
    list is planned again), and the one person does not become two households."""
    d, u = staff
    dong_id, user_id = d.id, u.id
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (2,))
    real_claim, added = importer.Importer._claim, {}

    def claim(self, done):
        if done == 2 and not added:  # batch 1 stored; persons 5 and 6 come in batch 3
            if db.engine.dialect.name == "sqlite":
                db.session.commit()  # the job has only read batch 2: a pause between batches lets others write
            added["household"] = _quick_add(app, user_id, dong_id, rb.person(5)[3])
        return real_claim(self, done)

    monkeypatch.setattr(importer.Importer, "_claim", claim)
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 7)]))
    hid, created = added["household"]
    assert created  # the import's own households were not at this address
    assert (r.status, r.good_rows, r.done_rows, r.duplicate_rows) == ("done", 6, 6, 0)
    assert (r.created_households, r.matched_rows) == (5, 1)
    assert count(Household) == 6
    row = db.session.scalar(select(CrisisRow).where(CrisisRow.round_id == r.id, CrisisRow.row_number == 6))
    assert (row.household_id, row.match) == (hid, "address")
    assert count(HouseholdIndicator) == 6  # the quick-added household has the row's indicator
    db.session.refresh(d)
    assert d.households_added == 1  # the quick-add moved it; the import's own households do not


def test_a_dong_whose_households_keep_changing_fails_the_import_resumably(client, staff, monkeypatch):
    """Planned again and again with no batch stored in between, the job gives up (the round is "failed" and
    can go on from its page) instead of running forever."""
    d, _u = staff
    tries = []

    def always_moved(self, plan):
        tries.append(plan.seq)
        raise importer.HouseholdsAddedMeanwhile(self.round_id, plan.seq)

    monkeypatch.setattr(importer.Importer, "_hold_dong_additions", always_moved)
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 4)]))
    assert len(tries) == importer.REPLANS + 1
    assert (r.status, r.error, r.done_rows) == ("failed", "HouseholdsAddedMeanwhile", 0)
    assert count(Household) == 0 and count(CrisisRow) == 0
    monkeypatch.undo()
    client.post(f"/risk/rounds/{r.id}/resume")
    db.session.refresh(r)
    assert (r.status, r.good_rows) == ("done", 3)


def test_staff_adding_or_moving_a_household_moves_the_dong_counter(client, staff):
    d, _u = staff
    form = {"dong_id": str(d.id), "road_address": "경기도 의정부시 송산로 500", "unit": "", "age_band": "unknown",
            "sex": "unknown", "status": "active", "lives_alone": ""}
    resp = client.post("/households/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    h = db.session.scalar(select(Household))
    db.session.refresh(d)
    assert d.households_added == 1
    client.post(f"/households/{h.id}/edit", data={**form, "name": "김영희"})  # same address: not moved
    db.session.refresh(d)
    assert d.households_added == 1
    client.post(f"/households/{h.id}/edit", data={**form, "unit": "201호"})
    db.session.refresh(d)
    assert d.households_added == 2


def test_a_quick_add_at_an_address_a_batch_is_storing_waits_and_finds_it(app, client, staff, monkeypatch):
    """While a batch that creates a household at an address is being stored, a reporter quick-adding that
    address waits for it and then finds that household, instead of adding a second one."""
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the quick-add cannot overlap a batch there")
    d, u = staff
    dong_id, user_id = d.id, u.id
    real_store, seen = importer.Importer._store_indicators, {}

    def store_indicators(self, pairs, fresh):  # settle, after the batch took its addresses
        result = {}
        t = threading.Thread(target=lambda: result.update(found=_quick_add(app, user_id, dong_id, rb.person(2)[3])))
        t.start()
        t.join(timeout=1.5)
        seen["waited"] = t.is_alive()  # still waiting for the batch
        seen["thread"], seen["result"] = t, result
        return real_store(self, pairs, fresh)

    monkeypatch.setattr(importer.Importer, "_store_indicators", store_indicators)
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 4)]))
    seen["thread"].join(timeout=30)
    assert seen["waited"] is True
    row = db.session.scalar(select(CrisisRow).where(CrisisRow.round_id == r.id, CrisisRow.row_number == 3))
    assert seen["result"]["found"] == (row.household_id, False)
    assert r.status == "done" and count(Household) == 3


def test_a_worker_killed_right_after_the_last_batch_leaves_the_round_done_or_resumable(client, staff, monkeypatch):
    """On PostgreSQL the last batch commits together with the round's "done" (and the staged file's
    deletion): a worker killed right after it leaves nothing "running" at 100 %. SQLite leaves the last batch
    to the job's own commit, so there the kill loses that batch and the sweep imports it again, once."""
    from datetime import timedelta

    from volnet.core import clock

    class Killed(BaseException):
        pass

    d, _u = staff
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (2,))
    real_run = importer.Importer.run

    def run_then_killed(self):
        real_run(self)
        raise Killed

    monkeypatch.setattr(importer.Importer, "run", run_then_killed)
    with pytest.raises(Killed):
        rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 6)]))
    monkeypatch.setattr(importer.Importer, "run", real_run)
    r = db.session.scalar(select(CrisisRound))
    db.session.refresh(r)
    if db.engine.dialect.name == "postgresql":
        assert (r.status, r.done_rows, r.good_rows) == ("done", 5, 5) and r.finished_at is not None
        assert count(UploadChunk) == 0
    else:
        assert (r.status, r.done_rows) == ("running", 4)
        assert importer.resume_stalled(clock.now() + timedelta(minutes=11)) == 1
        db.session.refresh(r)
        assert (r.status, r.done_rows, r.good_rows) == ("done", 5, 5)
    assert count(CrisisRow) == 5 and count(Household) == 5


def test_round_page_takes_the_same_statements_for_3_or_25_rows(client, staff):
    # The page used to commit its audit row after loading the rows, which expired them: the template
    # then read every row again, one statement each.
    d, _u = staff
    small = rb.import_file(client, d, rb.csv_bytes([rb.person(n) for n in range(1, 4)]), filename="a.csv").id
    large = rb.import_file(client, d, rb.csv_bytes([rb.person(n) for n in range(100, 125)]), filename="b.csv").id
    n_small, _html = b.page_statements(client, f"/risk/rounds/{small}")
    sent, html = b.page_sql(client, f"/risk/rounds/{large}")
    assert len(sent) == n_small
    assert "김순100" in html and "김순124" in html
    assert [s for s in sent if s.lstrip().upper().startswith("SELECT DONGS")] == []  # with the round


def test_an_address_alone_does_not_match_someone_else_s_household(client, staff):
    # DOMAIN.md: match on the keyed RRN hash, or on name + birth date + address. A row whose name or birth
    # date differs from the household recorded at its address is another person: a new household to
    # locate, shown as sharing the address (with a way to compare and merge), and nothing is added to the
    # recorded household (no indicator, no concern).
    from datetime import date

    from volnet.concerns.models import Concern
    from volnet.core import clock

    d, _u = staff
    jo = b.household(d, road="경기도 의정부시 송산로 87", unit="102동 304호", name="조병철")  # no birth date
    nam = b.household(d, road="경기도 의정부시 오목로 88", unit="지하 1층", name="남궁현주",
                      birth_date=date(1948, 3, 2))
    quick = b.household(d, road="경기도 의정부시 오목로 90", unit="", name=None)  # a tong leader's quick-add
    db.session.commit()
    header = ["성명", "생년월일", "주소", "상세주소", "연락처", "위기지표"]
    rows = [["홍길동", "1950-03-01", "경기도 의정부시 송산로 87", "102동 304호", "010-1111-2222",
             "자해·자살 시도 응급실 내원, 전기요금 체납"],                                    # 2: other name
            ["남궁현주", "1944-02-29", "경기도 의정부시 오목로 88", "지하 1층", "", "단전"],       # 3: other birth date
            ["남궁 현주", "1948-03-02", "경기도 의정부시 오목로 88", "지하 1층", "", "단수"],      # 4: her, spaced
            ["조 병철", "1941-01-01", "경기도 의정부시 송산로 87", "102동 304호", "", "단수"],     # 5: him (no date)
            ["최순자", "1950-01-01", "경기도 의정부시 오목로 90", "", "", "단전"],                 # 6: no name kept
            ["김갑", "1950-01-01", "경기도 의정부시 민락로 5", "", "", "단전"],                    # 7: new address
            ["이을", "1951-01-01", "경기도 의정부시 민락로 5", "", "", "단수"]]                    # 8: same, other name
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header), received=clock.seoul_today().isoformat())
    assert r.status == "done" and r.good_rows == 7
    got = {n: (hid, m) for n, hid, m in db.session.execute(
        select(CrisisRow.row_number, CrisisRow.household_id, CrisisRow.match))}
    assert got[4] == (nam.id, "address") and got[5] == (jo.id, "address") and got[6] == (quick.id, "address")
    assert got[2][1] == got[3][1] == "shared_addr" and got[2][0] not in (jo.id, nam.id)
    assert got[3][0] not in (jo.id, nam.id) and got[2][0] != got[3][0]
    assert got[7][1] == "created" and got[8][1] == "shared_addr" and got[7][0] != got[8][0]
    assert (r.matched_rows, r.created_households) == (3, 4)
    hong = db.session.get(Household, got[2][0])
    assert (hong.name, hong.birth_date, hong.status) == ("홍길동", date(1950, 3, 1), "to_locate")
    codes_of_jo = set(db.session.scalars(select(HouseholdIndicator.round_id).where(
        HouseholdIndicator.household_id == jo.id)))
    assert len(codes_of_jo) == 1 and count(HouseholdIndicator) == 8  # 조병철: only his own row's 단수
    # 홍길동's score crosses the line: the concern is his, not 조병철's.
    assert set(db.session.scalars(select(Concern.household_id))) == {hong.id}

    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert f'/risk/households/{jo.id}"' in page and f"/households/{jo.id}/merge?other={hong.id}" in page
    assert f"/households/{nam.id}/merge?other={got[3][0]}" in page
    assert f"/households/{got[7][0]}/merge?other={got[8][0]}" in page

    # The next list: 홍길동's row finds his own household at the shared address (no third household).
    again = [["홍길동", "", "경기도 의정부시 송산로 87", "102동 304호", "", "단가스"]]
    r2 = rb.import_file(client, d, rb.csv_bytes(again, header=header))
    row = db.session.scalar(select(CrisisRow).where(CrisisRow.round_id == r2.id))
    assert (row.household_id, row.match) == (hong.id, "address") and r2.created_households == 0


def test_a_household_with_a_lot_number_address_is_listed_as_recorded_at_the_row_s_address(client, staff):
    # The stored key of a household also holds its lot-number (지번) address: the round page still lists it
    # under "recorded at this address" for a row at its road address and unit (the rule of at_address).
    d, _u = staff
    jo = b.household(d, road="경기도 의정부시 송산로 87", unit="102동 304호", name="조병철",
                     jibun_address="경기도 의정부시 송산동 123-4")
    db.session.commit()
    header = ["성명", "생년월일", "주소", "상세주소", "연락처", "위기지표"]
    rows = [["홍길동", "1950-03-01", "경기도 의정부시 송산로 87", "102동 304호", "", "단전"]]
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    row = db.session.scalar(select(CrisisRow).where(CrisisRow.round_id == r.id))
    assert row.match == "shared_addr" and row.household_id != jo.id
    page = client.get(f"/risk/rounds/{r.id}").get_data(as_text=True)
    assert "이 주소에 등록된 가구:" in page
    assert f'/risk/households/{jo.id}"' in page and f"/households/{jo.id}/merge?other={row.household_id}" in page


def test_a_household_added_beside_another_at_its_address_is_found_again_in_later_batches(client, staff,
                                                                                         monkeypatch):
    # Batch 1 adds 홍길동 at 조병철's address; batch 2's row of 홍길동 there (no birth date) joins that new
    # household (the job's own households at an address a recorded household holds are looked up too).
    d, _u = staff
    jo = b.household(d, road="경기도 의정부시 송산로 87", unit="102동 304호", name="조병철")
    db.session.commit()
    monkeypatch.setattr(importer.Importer.__init__, "__defaults__", (1,))
    header = ["성명", "생년월일", "주소", "상세주소", "연락처", "위기지표"]
    rows = [["홍길동", "1950-03-01", "경기도 의정부시 송산로 87", "102동 304호", "", "단전"],
            ["홍길동", "", "경기도 의정부시 송산로 87", "102동 304호", "", "단수"],
            ["조병철", "", "경기도 의정부시 송산로 87", "102동 304호", "", "단수"]]
    r = rb.import_file(client, d, rb.csv_bytes(rows, header=header))
    got = {n: (hid, m) for n, hid, m in db.session.execute(
        select(CrisisRow.row_number, CrisisRow.household_id, CrisisRow.match))}
    assert got[2][1] == "shared_addr" and got[3] == (got[2][0], "address") and got[4] == (jo.id, "address")
    assert (r.created_households, r.matched_rows) == (1, 2) and count(Household) == 2


def test_the_date_a_list_arrived_is_checked_and_a_second_upload_says_which_list_it_is(client, staff):
    from datetime import timedelta

    from volnet.core import clock

    d, _u = staff
    today = clock.seoul_today()
    data = rb.csv_bytes([rb.person(1)])
    resp = rb.upload(client, d, data, received=(today + timedelta(days=2)).isoformat())
    assert resp.status_code == 400 and "미래일 수 없습니다" in resp.get_data(as_text=True)
    assert rb.upload(client, d, data, received="1900-01-01").status_code == 400
    assert count(CrisisRound) == 0
    # Uploaded but not mapped yet: a second upload with another date corrects the date.
    resp = rb.upload(client, d, data, received=(today + timedelta(days=1)).isoformat())  # a day ahead: fine
    assert resp.status_code == 302
    resp = rb.upload(client, d, data, received="2026-01-05")
    assert resp.status_code == 302 and "/map" in resp.headers["Location"]
    r = db.session.scalar(select(CrisisRound))
    db.session.refresh(r)
    assert r.received_on.isoformat() == "2026-01-05" and r.due_on.isoformat() == "2026-03-05"
    r = rb.import_file(client, d, data)
    assert r.status == "done" and count(CrisisRound) == 1
    # Imported: the same file with another date is refused with the list's own date and a link to it.
    resp = rb.upload(client, d, data, received="2026-01-06")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "2026. 1. 5.(월)" in html and "2026. 1. 6.(화)" in html
    assert f'href="/risk/rounds/{r.id}"' in html
    db.session.refresh(r)
    assert r.received_on.isoformat() == "2026-01-05" and count(CrisisRound) == 1
    # The same date: back to that list, its date written the Korean way.
    resp = rb.upload(client, d, data, received="2026-01-05")
    assert resp.status_code == 302
    assert "2026. 1. 5.(월)" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_a_file_too_large_names_the_limit_and_leads_back_to_the_upload(client, staff, app):
    d, _u = staff
    app.config["MAX_CONTENT_LENGTH"] = 3 * 1048576
    resp = rb.upload(client, d, b"a,b\n" + b"1,2\n" * 900_000)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert "3 MB" in page and 'href="/risk/rounds/new"' in page
    assert count(CrisisRound) == 0


def test_one_row_in_another_encoding_is_named(client, staff):
    """A UTF-8 list with one row pasted in from a CP949 file: the message names that row (the file looks
    fine in Excel, so 'save it as UTF-8' alone does not help)."""
    d, _u = staff
    good = rb.csv_bytes([rb.person(i) for i in range(1, 10)], encoding="utf-8")  # header + 9 rows
    data = good + ",".join(rb.person(10)).encode("cp949") + b"\r\n"
    resp = rb.upload(client, d, data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "11행" in page, page[page.find("form-error") - 200:page.find("form-error") + 400]
    assert count(CrisisRound) == 0


def test_a_list_opens_routine_concerns_due_with_its_round_except_for_suicide_risk(client, staff):
    """A list of realistic size must not fill tomorrow's queue with urgent concerns: the households it
    brings over the line get routine concerns due by the round's date (two months on), cut-offs included;
    a self-harm ER visit or suicide high-risk is urgent, on the usual urgent clock. A household whose
    concern was open already keeps its due times."""
    from datetime import date, timedelta

    from dateutil.relativedelta import relativedelta

    from volnet.concerns.models import Concern
    from volnet.core import clock
    from volnet.observations.models import Observation
    from volnet.risk.scoring import list_due_at

    d, u = staff
    known = b.household(d, road="경기도 의정부시 송산로 7", unit="", name="박옛집", birth_date=date(1940, 1, 1))
    earlier = b.observation(known, u, urgency="routine", signals=("mail_piling",))
    before = db.session.get(Concern, earlier.concern_id).ack_due_at
    db.session.commit()
    today = clock.seoul_today()
    rows = [rb.person(1, birth="1940-01-01", codes="단전, 단수"),                          # 30 + 5: crossing
            rb.person(2, birth="1940-01-01", codes="자살 고위험, 실직"),                   # 28 + 5
            rb.person(3, name="박옛집", birth="1940-01-01", road="경기도 의정부시 송산로 7", codes="단전, 단가스")]
    r = rb.import_file(client, d, rb.csv_bytes(rows), received=today.isoformat())
    assert r.status == "done" and r.concerns_raised == 3
    assert r.due_on == today + relativedelta(months=2)
    by_name = {c.household.name: c for c in db.session.scalars(select(Concern))}
    cut_off, suicide, open_before = by_name["김순1"], by_name["김순2"], by_name["박옛집"]
    assert (cut_off.urgency, cut_off.ack_due_at, cut_off.action_due_at, cut_off.next_due_at) == (
        "routine", list_due_at(r.due_on), list_due_at(r.due_on), list_due_at(r.due_on))
    assert suicide.urgency == "urgent" and suicide.ack_due_at <= clock.now() + timedelta(days=1)
    assert open_before.urgency == "routine" and open_before.ack_due_at == before
    obs = db.session.scalar(select(Observation).where(Observation.source == "crisis_list",
                                                      Observation.household_id == cut_off.household_id))
    assert obs.urgency == "routine" and "utility_cutoff" in obs.signals  # the signs are kept as they are
