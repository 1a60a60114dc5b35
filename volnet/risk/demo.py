"""Demo data for the risk picture: indicator types, one imported public list round, screenings, tiers."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

from volnet.core import clock
from volnet.extensions import db


def build(context) -> None:
    from volnet.risk import importer, indicators, scoring, services, staging
    from volnet.risk.models import CrisisRound, CrisisRow

    indicators.seed()
    dong, users, hh, rng = context["dong"], context["users"], context["households"], context["rng"]
    cw = users["caseworker"]
    received = clock.seoul_today() - timedelta(days=20)
    # A list as it arrives: a title row, then the header; some rows match known households.
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([f"{received.year}년 {received.month}월 복지사각지대 발굴 대상자 명단"])
    w.writerow(["연번", "성명", "생년월일", "도로명주소", "상세주소", "연락처", "위기지표"])
    codes = ["단전", "전기요금 체납", "건강보험료·국민연금 체납", "단수", "실직", "공동주택 관리비 체납", "단가스",
             "통신비 체납", "장기요양 등급", "전·월세 취약"]
    n = 0
    for h in hh[60:75]:
        n += 1
        pick = ", ".join(rng.sample(codes, rng.choice([1, 1, 2, 3])))
        w.writerow([n, h.name or "", f"19{rng.randint(35, 60)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    h.road_address, h.unit, "", pick])
    for name, road in (("문옥자", "경기도 의정부시 송산로 547번길 9"), ("고병철", "경기도 의정부시 민락로 52번길 3"),
                       ("남궁현주", "경기도 의정부시 오목로 88")):
        n += 1
        w.writerow([n, name, "1948.03.02", road, "지하 1층", "010-3456-7788", "단가스, 건강보험료·국민연금 체납"])
    w.writerow([n + 1, "오류행", "2024-02-30", "경기도 의정부시 용민로 1", "", "", "단전"])
    data = buf.getvalue().encode("utf-8-sig")

    def make_round(staged):
        r = CrisisRound(dong_id=dong.id, uploaded_by_id=cw.id, filename="복지사각지대_발굴대상자.csv",
                        file_hash=hashlib.sha256(data).hexdigest(), received_on=received,
                        due_on=importer.due_date(received), status="uploaded", header=staged.header)
        db.session.add(r)
        db.session.flush()
        return r.id

    staged = staging.stage(data, "복지사각지대_발굴대상자.csv", make_round)
    r = db.session.scalar(db.select(CrisisRound).order_by(CrisisRound.id.desc()))
    r.preview, r.total_rows, r.header_row = staged.preview, staged.total_rows, staged.header_row
    r.header_signature, r.encoding = staged.signature, staged.encoding
    r.mapping = importer.guess_mapping(staged.header, indicators.lookup())
    r.status = "running"
    db.session.flush()
    importer.Importer(r).run()
    r.status, r.finished_at = "done", clock.now()
    for i, row in enumerate(db.session.scalars(db.select(CrisisRow).where(CrisisRow.round_id == r.id))):
        if i % 3 == 0:
            row.check_result = rng.choice(["supported", "no_need", "not_located"])
            row.checked_by_id, row.checked_at = cw.id, clock.now()
    # Screenings at visits, and tier decisions.
    nurse = users.get("nurse") or cw
    from volnet.risk.screening import MOHW_ITEMS

    for h, extra in ((hh[0], {"meals_skip": 2, "no_help": 1, "no_talk": 1, "contact_freq": 2, "illness_care": 1}),
                     (hh[1], {"contact_freq": 1, "no_talk": 1}),
                     (hh[2], {"meals_skip": 2, "meals_help": 1, "illness_care": 2, "illness_alone": 1,
                              "contact_freq": 2, "no_help": 1, "no_talk": 1, "suicidal_thought": 1})):
        answers = {k: 0 for k, *_r in MOHW_ITEMS} | extra
        services.record_screening(h, "mohw", answers, nurse, "방문 상담 중 조사")
    services.record_screening(hh[0], "lsns6", dict.fromkeys(
        ["family_see", "family_talk", "family_help", "friends_see", "friends_talk", "friends_help"], 1), nurse)
    services.record_screening(hh[0], "ucla3", {"companionship": 3, "left_out": 2, "isolated": 3}, nurse)
    scoring.refresh([h.id for h in hh])
    db.session.flush()
    for h in hh[:3]:
        res = scoring.evaluate(h)
        services.confirm_tier(h, res.suggested, "", cw)
    services.confirm_tier(hh[3], "relationship", "통장님 말씀으로는 자녀와 연락이 끊김", cw)
