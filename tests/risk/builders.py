"""Builders for risk tests: list files generated in the test, and a helper that imports one."""
from __future__ import annotations

import csv
import io
import re

from volnet.extensions import db
from volnet.risk import indicators

HEADER = ["연번", "성명", "생년월일", "도로명주소", "상세주소", "연락처", "위기지표"]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig", title=None) -> bytes:
    buf = io.StringIO()
    if title:
        buf.write(title + "\r\n")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("명단")
    ws.append(["2026년 1차 복지사각지대 발굴 대상자 명단"])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def person(n, name=None, birth="1950-03-01", road=None, unit="", phone="010-2000-0000", codes="단전"):
    return [str(n), name or f"김순{n}", birth, road or f"경기도 의정부시 송산로 {100 + n}", unit, phone, codes]


def seed_types():
    indicators.seed()
    db.session.flush()


def upload(client, dong, data: bytes, filename="list.csv", received="2026-01-05"):
    return client.post("/risk/rounds/new", data={"dong_id": str(dong.id), "received_on": received,
                                                  "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


COLS = re.compile(r'name="(col_\d+)"')


def import_file(client, dong, data: bytes, filename="list.csv", mapping: dict | None = None, received="2026-01-05"):
    """Upload, accept the (guessed or given) mapping, run the job inline. Returns the round."""
    from volnet.risk.models import CrisisRound

    resp = upload(client, dong, data, filename, received)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    loc = resp.headers["Location"]
    if "/map" in loc:
        page = client.get(loc)
        html = page.get_data(as_text=True)
        form = {}
        for name in COLS.findall(html):
            m = re.search(rf'name="{name}"[^>]*>(.*?)</select>', html, re.S)
            sel = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', m.group(1))
            form[name] = (sel.group(1) or sel.group(2)) if sel else ""
        if mapping is not None:
            form = {k: "" for k in form}
            form.update(mapping)
        resp = client.post(loc, data=form)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    rid = int(re.search(r"/rounds/(\d+)", loc).group(1))
    db.session.expire_all()
    return db.session.get(CrisisRound, rid)
