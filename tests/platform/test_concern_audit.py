"""The audit log answers "who changed this concern, and how" (QA round 20, F7): each action on a concern is
written as itself (acknowledge, assign, contact, urgency, close, monitoring, merge, link) with a short detail
(old -> new, the outcome code), so the search page's action filter finds it, in Korean and in English; the
filter offers nothing that is never written; opening an edit form reads as that, not as a change."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests import builders as b
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.observations import services as observations
from volnet.observations.models import Observation

# action code -> (Korean label, English label)
LABELS = {
    "acknowledge": ("접수 확인됨", "Acknowledged"),
    "assign": ("담당 지정", "Assigned"),
    "contact": ("연락 기록", "Contact recorded"),
    "urgency": ("긴급도 변경", "Urgency changed"),
    "close": ("종결", "Closed"),
    "monitoring": ("정기 모니터링 전환", "Put under regular monitoring"),
    "merge": ("병합됨", "Merged"),
    "link": ("가구 연결됨", "Household linked"),
}


def _rows(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "|", r) for r in re.findall(r"<tr><td>.*?</tr>", page, re.S)]


def _unlinked(d, text):
    obs, _ = observations.submit(Observation(dong_id=d.id, source="citizen", urgency="routine",
                                             signals=["smell_insects"], location_text=text), None)
    return obs.concern_id


def test_every_concern_action_is_found_by_its_filter_in_both_languages(app, client):
    d = b.dong()
    h, h2, h3, h4 = (b.household(d, road=f"경기도 의정부시 송산로 {n}") for n in (1, 2, 3, 4))
    cw = b.user("caseworker", [d], name="김주무")
    cw2 = b.user("caseworker", [d], name="이주무")
    admin = b.user("admin")
    reporter = b.user("honorary", [d])
    first = b.observation(h, reporter).concern_id
    watched = b.observation(h2, reporter).concern_id
    for_case = b.observation(h3, reporter).concern_id
    dup, kept = _unlinked(d, "송산로 4 뒤"), _unlinked(d, "송산로 4")
    db.session.commit()
    b.login(client, cw)

    def post(url, **data):
        r = client.post(url, data=data)
        assert r.status_code == 302, (url, r.get_data(as_text=True)[:3000])

    post(f"/concerns/{first}/acknowledge")
    post(f"/concerns/{first}/assign", owner_id=cw2.id)
    post(f"/concerns/{first}/contact", outcome="no_answer", note="")
    post(f"/concerns/{first}/urgency", urgency="urgent", reason="이웃이 며칠째 못 봤다고 함")
    post(f"/concerns/{first}/close", outcome="no_concern", note="방문해 보니 딸 집에 다녀옴", confirmed="1")
    post(f"/concerns/{watched}/close", outcome="monitoring", note="", confirmed="1")
    post(f"/concerns/{dup}/merge", target_id=kept)
    post(f"/concerns/{kept}/link", household_id=h4.id)
    post(f"/cases/from-concern/{for_case}", summary="")
    case_id = _case_of(for_case)

    rows = {(r.action, r.subject_id): r.detail for r in db.session.scalars(
        select(AuditLog).where(AuditLog.subject_type == "concern"))}
    assert rows == {
        ("acknowledge", str(first)): "",
        ("assign", str(first)): f"owner {cw.id} → {cw2.id}",  # acknowledging made cw the owner
        ("contact", str(first)): "outcome=no_answer",
        ("urgency", str(first)): "routine → urgent",
        ("close", str(first)): "outcome=no_concern",
        ("monitoring", str(watched)): "outcome=monitoring",
        ("merge", str(dup)): f"into={kept}",
        ("merge", str(kept)): f"merged={dup}",
        ("link", str(kept)): f"household={h4.id}",
        ("close", str(for_case)): f"outcome=case_opened case={case_id}",
    }
    assert not any(action == "update" for action, _sid in rows)

    reader = app.test_client()
    b.login(reader, admin)
    for lang, index in (("ko", 0), ("en", 1)):
        reader.post("/lang", data={"lang": lang})
        for action, names in LABELS.items():
            page = reader.get(f"/admin/audit?action={action}&subject_type=concerns").get_data(as_text=True)
            assert f'<option value="{action}" selected>{names[index]}</option>' in page, (lang, action)
            found = _rows(page)
            expected = {sid for (a, sid) in rows if a == action}
            assert len(found) == len(expected), (lang, action, found)
            concern = "위기 의심 건" if lang == "ko" else "Concern"
            for sid in expected:
                assert any(f"|{names[index]}|" in r and f"{concern} {sid}|" in r for r in found), (lang, action, found)
    # The detail says how: the urgency's old and new, the outcome.
    page = reader.get(f"/admin/audit?subject_type=concerns&subject_id={first}").get_data(as_text=True)
    assert "routine → urgent" in page and "outcome=no_concern" in page and "outcome=no_answer" in page


def _case_of(concern_id: int) -> int:
    from volnet.cases.models import Case

    return db.session.scalar(select(Case.id).where(Case.concern_id == concern_id))


def test_the_action_filter_offers_only_what_is_written_and_an_edit_form_reads_as_opened(app, client):
    from volnet.admin.audit_labels import ACTION_LABELS

    d = b.dong()
    h = b.household(d)
    cw = b.user("caseworker", [d])
    admin = b.user("admin")
    db.session.commit()
    assert "view_own" not in ACTION_LABELS  # a reporter's look at their own report is never written
    b.login(client, cw)
    assert client.get(f"/households/{h.id}/edit").status_code == 200  # opened, not saved
    reader = app.test_client()
    b.login(reader, admin)
    page = reader.get("/admin/audit?action=edit").get_data(as_text=True)
    assert '<option value="edit" selected>수정 화면 열람</option>' in page
    assert any("|수정 화면 열람|" in r and f"가구 {h.id}|" in r for r in _rows(page))
    assert "<option value=\"edit\" selected>수정</option>" not in page
    reader.post("/lang", data={"lang": "en"})
    page = reader.get("/admin/audit?action=edit").get_data(as_text=True)
    assert '<option value="edit" selected>Edit form opened</option>' in page
