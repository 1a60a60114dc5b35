"""One English msgid has one Korean translation in the merged catalogue: when two parts translate the same msgid
differently, the first part (by name) wins everywhere. "By" was the due date of a conference task (cases: 기한)
and the person who screened (risk: 작성자), so the screener's name stood under 기한 (QA round 20: F7);
"Volunteer" was a linkage sector (cases: 자원봉사) and a role (자원봉사자)."""
from datetime import date
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from tests import builders as b
from tests.cases import builders as cb
from volnet.cases import services as cases
from volnet.extensions import db
from volnet.risk.models import Screening

PARTS = Path(__file__).resolve().parents[2] / "translations" / "ko" / "parts"

# Checked: the translation the catalogue keeps (the first part's, alphabetically) reads right wherever the msgid
# is used. A msgid that comes to have two translations must be looked at, and given a msgid of its own for
# each meaning (or added here, once its first translation fits every use).
REVIEWED = {"Cancelled", "Ended", "Filter", "From", "Inactive", "Name", "No", "Nothing recorded yet.", "Outcome",
            "Overdue", "Phone", "Risk picture", "Shift cancelled", "Tier", "To locate"}


def test_a_msgid_translated_two_ways_has_been_looked_at():
    seen: dict[str, dict[str, str]] = {}
    for part in sorted(PARTS.glob("*.po")):
        with part.open("rb") as fh:
            for m in read_po(fh, locale="ko"):
                if m.id and m.string:
                    key = m.id if isinstance(m.id, str) else m.id[0]
                    seen.setdefault(key, {})[part.stem] = str(m.string)
    clashes = {k for k, by_part in seen.items() if len(set(by_part.values())) > 1}
    assert clashes - REVIEWED == set(), {k: seen[k] for k in clashes - REVIEWED}


def test_the_screener_reads_as_author_and_the_task_s_date_as_due(app, client):
    d = b.dong()
    cw = b.user("caseworker", [d], name="최은정")
    h = b.household(d, name="신현주")
    db.session.add(Screening(household_id=h.id, dong_id=d.id, kind="ucla3", answers={}, total=7, level="high",
                             by_id=cw.id))
    case = cb.case(cw, h)
    cases.add_conference(case, cw, held_on=date(2026, 3, 2), attendees="김민수", agencies=[], decisions="방문 상담",
                         tasks=[("방문 일정", "김민수", date(2026, 3, 12))])
    db.session.commit()
    b.login(client, cw)
    s = db.session.scalar(select(Screening))
    household = client.get(f"/risk/households/{h.id}").get_data(as_text=True)
    assert "<th>작성자</th>" in household and "<th>기한</th>" not in household
    screening = client.get(f"/risk/screenings/{s.id}").get_data(as_text=True)
    assert "<dt>작성자</dt><dd>최은정</dd>" in screening
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<th>할 일</th><th>담당</th><th>기한</th>" in page
    with force_locale("en"):
        assert _("Screened by") == "Screened by"


def test_a_volunteer_is_a_person_and_volunteering_a_sector(app):
    from volnet.accounts.roles import ROLE_LABELS
    from volnet.cases.models import SECTORS

    with app.test_request_context(), force_locale("ko"):
        assert str(ROLE_LABELS["volunteer"]) == "자원봉사자"
        assert str(SECTORS["volunteer"]) == "자원봉사"
