"""QA round 2 on integrated cases: the closure request in the reader's language, what an approval says about
aftercare, withdrawing a waiting request, the owner told of the result, a returned closure on the page, the
list filter of closures awaiting approval, and the aftercare card's wording."""
from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.cases import builders as cb
from volnet.cases import services as svc
from volnet.cases.models import AftercareCheck, Case, ClosureRequest, ServiceLinkage
from volnet.core import clock
from volnet.extensions import db
from volnet.notifications import services as notes
from volnet.notifications.models import Outbox

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 Monday in Seoul


@pytest.fixture
def s(app):
    clock.freeze(T0)
    d = b.dong()
    return {
        "dong": d,
        "cw": b.user("caseworker", [d], name="김민수", locale="ko"),
        "cw2": b.user("caseworker", [d], name="이서연", locale="ko"),
        "lead": b.user("team_lead", [d], name="박지현", locale="en"),
        "household": b.household(d, name="김영희", phone="01012345678"),
    }


def _block(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return htmllib.unescape(page[start:page.index("</section>", start)])


def _outbox(kind, user):
    return db.session.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.recipient_id == user.id,
                                                   Outbox.channel == "inapp")).all()


def _inbox(client, user) -> str:
    """The user's notifications page, once the messages due are delivered."""
    notes.deliver_many(notes.due_ids(clock.now(), for_queue=False))
    client.post("/account/logout")
    b.login(client, user)
    return htmllib.unescape(client.get("/notifications").get_data(as_text=True))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- 2. the closing reason in the reader's language

def test_the_closure_request_message_names_the_reason_in_each_reader_s_language(s, client):
    case = cb.case(s["cw"], s["household"])  # 김민수's case; 이서연 asks
    db.session.commit()
    b.login(client, s["cw2"])
    client.post(f"/cases/{case.id}/close", data={"reason": "stabilised", "note": "생계 안정"})
    row = _outbox("case_closure_requested", s["lead"])[0]
    assert row.params["reason"] == "stabilised"  # the code, not a text frozen in the asker's language
    page = _inbox(client, s["lead"])  # the team lead reads English
    assert f"asked to close integrated case #{case.id} (Crisis resolved, stable)" in page
    assert "위기 해소" not in page
    page = _inbox(client, s["cw"])  # the owner reads Korean
    assert "위기 해소, 안정" in page and "Crisis resolved" not in page


def test_an_older_closure_request_message_holding_the_reason_as_text_still_reads(s):
    row = notes.notify(s["lead"], "case_closure_requested", {"case": 3, "who": "이서연", "reason": "위기 해소, 안정"},
                       dedupe_key="old")[0]
    _subject, body = notes.render(row.kind, row.params, s["lead"])
    assert "(위기 해소, 안정)" in body


# ---------------------------------------------------------------- 3. aftercare promised only when it follows

def test_approving_a_closure_without_aftercare_does_not_promise_aftercare_checks(s, client):
    case = cb.case(s["cw"], s["household"])
    svc.request_closure(case, s["cw"], "not_selected", "")
    db.session.commit()
    s["lead"].locale = "ko"
    db.session.commit()
    b.login(client, s["lead"])
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert "이 종결 사유에는 사후관리 점검이 없습니다" in block and "사후관리 점검 일정이 잡힙니다" not in block
    r = client.post(f"/cases/{case.id}/closure/approve", data={}, follow_redirects=True)
    page = htmllib.unescape(r.get_data(as_text=True))
    assert "종결을 승인했습니다" in page and "이 종결 사유에는 사후관리 점검이 없습니다" in page
    assert "사후관리 점검이 예정되었습니다" not in page
    assert _count(AftercareCheck) == 0 and db.session.get(Case, case.id).status == "closed"
    page = _inbox(client, s["cw"])
    assert f"통합사례 #{case.id}의 종결을 승인했습니다. 이 종결 사유에는 사후관리 점검이 없습니다" in page
    assert "사후관리 점검이 예정되었습니다" not in page


def test_approving_a_closure_with_aftercare_still_says_the_checks_are_scheduled(s, client):
    case = cb.case(s["cw"], s["household"])
    svc.request_closure(case, s["cw"], "goals_achieved", "")
    db.session.commit()
    b.login(client, s["lead"])  # English
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert "Close this case? Aftercare checks will be scheduled." in block
    r = client.post(f"/cases/{case.id}/closure/approve", data={}, follow_redirects=True)
    assert "Aftercare checks are scheduled." in r.get_data(as_text=True) and _count(AftercareCheck) == 2
    assert "사후관리 점검이 예정되었습니다" in _inbox(client, s["cw"])


def test_a_team_lead_closing_as_moved_is_not_told_of_aftercare_checks(s, client):
    case = cb.case(s["lead"], s["household"])
    db.session.commit()
    b.login(client, s["lead"])  # English
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert ("Aftercare checks will be scheduled, except for these closing reasons: Not selected, Deceased, "
            "Moved away.") in block
    r = client.post(f"/cases/{case.id}/close", data={"reason": "moved", "note": ""}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "No aftercare checks follow for this closing reason." in page
    assert "Aftercare checks are scheduled" not in page and _count(AftercareCheck) == 0


# ---------------------------------------------------------------- 6. the owner hears the result too

@pytest.mark.parametrize("decision", ["approve", "return"])
def test_the_owner_is_told_when_someone_else_s_closure_request_is_approved_or_returned(s, client, decision):
    case = cb.case(s["cw"], s["household"])  # 김민수's case; 이서연 asks
    svc.request_closure(case, s["cw2"], "stabilised", "생계 안정")
    db.session.commit()
    b.login(client, s["lead"])
    r = client.post(f"/cases/{case.id}/closure/{decision}", data={"note": "기초생활보장 신청 결과 확인 후 종결"})
    assert r.status_code == 302
    kind = "case_closure_approved" if decision == "approve" else "case_closure_returned"
    assert len(_outbox(kind, s["cw2"])) == 1 and len(_outbox(kind, s["cw"])) == 1
    said = "종결을 승인했습니다" if decision == "approve" else "종결을 반려했습니다"
    assert f"통합사례 #{case.id}의 {said}" in _inbox(client, s["cw"])


def test_an_owner_who_asked_is_told_once(s, client):
    case = cb.case(s["cw"], s["household"])
    svc.request_closure(case, s["cw"], "stabilised", "")
    db.session.commit()
    b.login(client, s["lead"])
    client.post(f"/cases/{case.id}/closure/return", data={"note": "연계 결과 확인"})
    assert len(_outbox("case_closure_returned", s["cw"])) == 1


# ---------------------------------------------------------------- 7. a returned closure on the case page

def test_after_a_return_the_closure_block_shows_why_by_whom_and_when_and_keeps_what_was_asked(s, client):
    case = cb.case(s["cw"], s["household"])
    link = cb.linkage(case, s["cw"], 150000, date(2026, 2, 1))
    svc.request_closure(case, s["cw2"], "stabilised", "긴급복지 생계지원 후 안정", end_linkages=True)
    db.session.commit()
    clock.freeze(T0 + timedelta(hours=2))  # 12:00 in Seoul
    b.login(client, s["lead"])
    client.post(f"/cases/{case.id}/closure/return", data={"note": "기초생활보장 신청 결과 확인 후 종결하세요."})
    client.post("/account/logout")
    b.login(client, s["cw2"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    block = _block(page, "aftercare")
    notice = block[block.index('id="closure-returned"'):block.index("<details")]
    assert "종결 반려" in notice and "박지현" in notice and "2026. 3. 2.(월) 12:00" in notice
    assert "기초생활보장 신청 결과 확인 후 종결하세요." in notice
    form = block[block.index("<details"):]
    assert "<details class=\"action-block\" open>" in form
    assert '<option selected value="stabilised">' in form and "긴급복지 생계지원 후 안정</textarea>" in form
    assert '<input checked class="check-input" id="end_linkages"' in form
    # Asked again as corrected: the notice gives way to the waiting request.
    r = client.post(f"/cases/{case.id}/close", data={"reason": "goals_achieved", "note": "수급 결정 후 안정",
                                                     "end_linkages": "y"}, follow_redirects=True)
    block = _block(r.get_data(as_text=True), "aftercare")
    assert 'id="closure-returned"' not in block and "팀장 승인 대기" in block and "수급 결정 후 안정" in block
    assert db.session.get(ServiceLinkage, link.id).status == "active"


# ---------------------------------------------------------------- 4. withdrawing a waiting closure request

def test_the_one_who_asked_withdraws_a_waiting_closure_and_asks_again_corrected(s, client):
    case = cb.case(s["cw"], s["household"])  # 김민수's case
    db.session.commit()
    b.login(client, s["cw2"])  # 이서연 asks, with the wrong reason
    client.post(f"/cases/{case.id}/close", data={"reason": "moved", "note": "전출 예정"})
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert f'action="/cases/{case.id}/closure/withdraw"' in block
    assert 'data-confirm="이 종결 요청을 철회할까요? 사례는 계속 진행됩니다."' in block
    r = client.post(f"/cases/{case.id}/closure/withdraw", data={}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "종결 요청을 철회했습니다" in page
    db.session.expire_all()
    req = db.session.scalar(select(ClosureRequest))
    assert (req.decision, req.decided_by_id) == ("withdrawn", s["cw2"].id)
    assert db.session.get(Case, case.id).status == "open"
    assert "종결 요청 철회" in _block(page, "history")
    block = _block(page, "aftercare")
    assert 'id="closure-withdrawn"' in block and "팀장 승인 대기" not in block
    assert '<option selected value="moved">' in block and "전출 예정</textarea>" in block  # to correct
    # The team lead and the owner, told of the request, are told it is withdrawn.
    assert len(_outbox("case_closure_withdrawn", s["lead"])) == 1
    assert len(_outbox("case_closure_withdrawn", s["cw"])) == 1 and not _outbox("case_closure_withdrawn", s["cw2"])
    assert "withdrew the request to close integrated case" in _inbox(client, s["lead"])
    # Asked again, corrected.
    client.post("/account/logout")
    b.login(client, s["cw2"])
    r = client.post(f"/cases/{case.id}/close", data={"reason": "stabilised", "note": "생계 안정"},
                    follow_redirects=True)
    assert "종결을 요청했습니다" in r.get_data(as_text=True)
    waiting = db.session.scalar(select(ClosureRequest).where(ClosureRequest.decided_at.is_(None)))
    assert (waiting.reason, waiting.note) == ("stabilised", "생계 안정")


def test_the_owner_may_withdraw_but_another_caseworker_may_not(s, client):
    other = b.user("caseworker", [s["dong"]], name="정하늘")
    case = cb.case(s["cw"], s["household"])  # 김민수's case
    svc.request_closure(case, s["cw2"], "stabilised", "")
    db.session.commit()
    b.login(client, other)
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert "/closure/withdraw" not in block
    r = client.post(f"/cases/{case.id}/closure/withdraw", data={}, follow_redirects=True)
    assert "종결을 요청한 사람이나 사례 담당자만" in r.get_data(as_text=True)
    assert db.session.scalar(select(ClosureRequest)).decided_at is None
    client.post("/account/logout")
    b.login(client, s["cw"])  # the owner
    assert client.post(f"/cases/{case.id}/closure/withdraw", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(ClosureRequest)).decision == "withdrawn"
    assert len(_outbox("case_closure_withdrawn", s["cw2"])) == 1  # the one who asked is told


def test_a_withdrawal_cancels_the_request_notice_not_yet_delivered(s, client):
    case = cb.case(s["cw"], s["household"])
    s["lead"].phone = "01098765432"
    svc.request_closure(case, s["cw"], "stabilised", "")
    db.session.commit()
    b.login(client, s["cw"])
    client.post(f"/cases/{case.id}/closure/withdraw", data={})
    rows = db.session.scalars(select(Outbox).where(Outbox.kind == "case_closure_requested")).all()
    assert rows and {r.state for r in rows} == {"cancelled"}
    nothing = client.post(f"/cases/{case.id}/closure/withdraw", data={}, follow_redirects=True)
    assert "승인을 기다리는 이 사례의 종결 요청이 없습니다" in nothing.get_data(as_text=True)


# ---------------------------------------------------------------- 8. the list of closures awaiting approval

def test_a_team_lead_lists_the_closures_awaiting_approval_with_their_count(s, client):
    waiting = []
    for i in range(27):
        h = b.household(s["dong"], unit=f"{i + 1}호")
        case = cb.case(s["cw"], h)
        if i < 26:
            svc.request_closure(case, s["cw"], "stabilised", "")
            waiting.append(case.id)
    returned = waiting.pop()  # returned: no longer waiting
    svc.return_closure(db.session.get(Case, returned), s["lead"], "연계 확인")
    db.session.commit()
    s["lead"].locale = "ko"
    db.session.commit()
    b.login(client, s["lead"])
    page = client.get("/cases/").get_data(as_text=True)
    assert "종결 승인 대기(25건)" in page and "종결 승인할 사례" in page and 'href="/cases/?closing=1"' in page
    first = client.get("/cases/?closing=1").get_data(as_text=True)
    assert "25건" in first and 'name="closing" value="1" checked' in first
    second = client.get("/cases/?closing=1&page=2").get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/cases/(\d+)"', first + second)}
    assert listed == set(waiting)  # 25 waiting, on one page of 25; none returned or without a request
    assert "page=2" not in first
    # A caseworker has the filter too, without the team lead's button.
    client.post("/account/logout")
    b.login(client, s["cw"])
    page = client.get("/cases/").get_data(as_text=True)
    assert "종결 승인 대기(25건)" in page and "종결 승인할 사례" not in page


def test_the_closures_awaiting_approval_filter_pages_as_the_list_does(s, client, monkeypatch):
    from volnet.cases import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    ids = []
    for i in range(3):
        case = cb.case(s["cw"], b.household(s["dong"], unit=f"{i + 1}호"))
        svc.request_closure(case, s["cw"], "stabilised", "")
        ids.append(case.id)
    cb.case(s["cw"], b.household(s["dong"], unit="9호"))  # no request
    db.session.commit()
    b.login(client, s["lead"])
    first = client.get("/cases/?closing=1").get_data(as_text=True)
    assert "closing=1" in re.search(r'<nav class="pagination".*?</nav>', first, re.S).group(0)
    second = client.get("/cases/?closing=1&page=2").get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/cases/(\d+)"', first + second)}
    assert listed == set(ids)


# ---------------------------------------------------------------- 9. the aftercare card's wording

def test_a_recorded_aftercare_check_reads_when_and_by_whom_in_korean(s, client):
    case = cb.case(s["cw"], s["household"])
    checks = svc.close_case(case, s["lead"], "stabilised", "안정")
    db.session.commit()
    clock.freeze(datetime(2026, 4, 2, 2, 29, tzinfo=UTC))  # 11:29 in Seoul
    b.login(client, s["cw2"])
    client.post(f"/cases/{case.id}/aftercare/{checks[0].id}", data={"outcome": "stable", "note": ""})
    block = _block(client.get(f"/cases/{case.id}").get_data(as_text=True), "aftercare")
    assert '<div class="card-meta"><span>기록 2026. 4. 2.(목) 11:29</span><span>이서연</span></div>' in block
    assert "기록된 내용" not in block


def test_the_selection_cannot_change_while_a_not_selected_closure_waits(s):
    """A caseworker's "not selected" waits for the team lead; recording "selected" meanwhile would leave an
    approval that closes a selected case. It is refused until the request is withdrawn or returned."""
    case = cb.case(s["cw"], s["household"])
    svc.add_need(case, s["cw"], "economy", "low", "")
    svc.record_assessment(case, s["cw"], "low")
    assert svc.record_selection(case, s["cw"], "not_selected", "") == "requested"
    with pytest.raises(svc.CaseError):
        svc.record_selection(case, s["cw"], "selected", "")
    assert case.step == "selection" and case.status == "open"
