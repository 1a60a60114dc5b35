"""QA round 20 (the first loop): invitations without a preselected role and listed with their organization and
dongs, the queue's pages and its tong filter, short household searches, the citizen form's dong, moving a
concern to another dong, and the citizen report's per-connection limit."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from tests import builders as b
from volnet.accounts.models import Invitation
from volnet.core import clock
from volnet.extensions import db


def _select(page: str, name: str) -> str:
    return re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)


# --- F9. a new invitation has no preselected role --------------------------------------------------------------

def test_a_new_invitation_has_no_preselected_role_and_admin_is_warned_about(app, client):
    d = b.dong()
    org = b.organization("real_estate", d, name="행복공인중개사")
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/invitations").get_data(as_text=True)
    roles = _select(page, "role")
    first = re.search(r"<option[^>]*>[^<]*</option>", roles).group(0)
    assert 'value=""' in first and "선택하세요" in first
    assert "selected" not in roles.replace(first, "")
    assert 'required' in roles
    # The warning line for the administrator role sits with the field (shown by the CSS when it is chosen).
    assert 'class="form-hint form-warning admin-role-warning"' in page
    assert "관리자는 모든 계정, 설정, 감사 기록을 다룰 수 있습니다" in page
    # Sent without a role: refused, nothing created, what was typed kept.
    data = {"organization_id": org.id, "dong_ids": [d.id], "note": "2층 사무실 포스터", "max_uses": 20, "days": 30}
    r = client.post("/admin/invitations", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "역할을 고르세요." in page and "2층 사무실 포스터" in page
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    # Sent with the administrator role: the page that shows the link says it is an administrator's.
    r = client.post("/admin/invitations", data={**data, "role": "admin"})
    assert r.status_code == 200 and db.session.scalar(select(Invitation.role)) == "admin"
    r = client.post("/admin/invitations", data={**data, "role": "partner"})
    assert r.status_code == 200


def test_the_admin_role_warning_is_shown_by_css_only_when_admin_is_chosen(app):
    css = open(app.static_folder + "/css/volnet.css", encoding="utf-8").read()
    assert "form:has(select[name=\"role\"]) .admin-role-warning" in css
    assert "form:has(select[name=\"role\"] option[value=\"admin\"]:checked) .admin-role-warning" in css


# --- F14. the invitation list names the organization and the dongs ---------------------------------------------

def test_the_invitation_list_shows_each_invitations_organization_and_dongs(app, client):
    d1 = b.dong(name="송산3동")
    d2 = b.dong(name="호원2동")
    shop = b.organization("real_estate", d1, name="행복공인중개사")
    office = b.organization("apartment_office", d1, name="송산주공 관리사무소")
    admin = b.user("admin")
    later = clock.now() + timedelta(days=30)
    for org, dongs in ((shop, [d1]), (office, [d1, d2]), (None, [d2])):
        db.session.add(Invitation(token_hash=Invitation.new_token()[1], role="partner", max_uses=20, note="",
                                  organization_id=org.id if org else None, dongs=dongs, expires_at=later))
    db.session.commit()
    b.login(client, admin)
    page = client.get("/admin/invitations").get_data(as_text=True)
    table = re.search(r'<table class="table table-stack invitation-table">.*?</table>', page, re.S).group(0)
    assert "<th>기관</th>" in table and "<th>동</th>" in table
    rows = re.findall(r"<tr>.*?</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 3
    by_org = {org: row for row in rows for org in ("행복공인중개사", "송산주공 관리사무소", "none") if org in row}
    assert "송산3동" in by_org["행복공인중개사"] and "호원2동" not in by_org["행복공인중개사"]
    assert "송산3동" in by_org["송산주공 관리사무소"] and "호원2동" in by_org["송산주공 관리사무소"]
    bare = [row for row in rows if "행복" not in row and "송산주공" not in row][0]
    assert "호원2동" in bare and "기관 없음" in bare
    # On a phone each row is a small card whose cells say what they are.
    assert 'data-label="기관"' in rows[0] and 'data-label="동"' in rows[0] and 'data-label="역할"' in rows[0]


# --- F12. the queue past its last page, and a tong that is no number -------------------------------------------

def _queue_world(n: int = 27):
    d = b.dong()
    cw = b.user("caseworker", [d])
    for i in range(n):
        h = b.household(d, road=f"경기도 의정부시 송산로 {100 + i}", unit="1층", tong=3 if i % 3 else 5)
        b.observation(h, cw)
    db.session.commit()
    return d, cw


def test_the_queue_past_its_last_page_leads_to_the_last_page_with_its_filters(app, client):
    from urllib.parse import parse_qs, urlsplit

    d, cw = _queue_world()
    b.login(client, cw)
    r = client.get("/concerns/?page=999")
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert loc.path == "/concerns/" and parse_qs(loc.query) == {"page": ["2"]}
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "위기 의심 건 27건" in page and page.count('href="/concerns/') >= 2
    # The filters stay (18 concerns in tong 3: one page).
    r = client.get("/concerns/?tong=3&urgency=routine&page=2")
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query) == {"tong": ["3"], "urgency": ["routine"], "page": ["1"]}
    assert "위기 의심 건 18건" in client.get(r.headers["Location"]).get_data(as_text=True)
    # Nothing at all to show: no redirect, the page says so.
    r = client.get("/concerns/?tong=9&page=3")
    assert r.status_code == 200 and "조건에 맞는 위기 의심 건이 없습니다" in r.get_data(as_text=True)


def test_a_tong_that_is_no_number_says_so_instead_of_being_ignored(app, client):
    d, cw = _queue_world(4)
    b.login(client, cw)
    r = client.get("/concerns/?tong=abc")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "통은 숫자로 적어 주세요." in page
    assert 'value="abc"' in page and 'aria-invalid="true"' in page
    assert "위기 의심 건 4건" not in page and "송산로" not in page  # the list is not shown as if unfiltered
    for bad in ("0", "-2", "3.5", "9999999999999"):
        assert client.get(f"/concerns/?tong={bad}").status_code == 400, bad
    # Written as people write it: '3통', full-width digits, spaces.
    for ok in ("3", " 3 ", "3통", "３"):
        r = client.get("/concerns/", query_string={"tong": ok})
        assert r.status_code == 200 and "위기 의심 건 2건" in r.get_data(as_text=True), ok
    assert "통은 숫자로" not in client.get("/concerns/?tong=").get_data(as_text=True)


# --- F16. a search too short to run, or by a phone number's last four digits ----------------------------------

ADD_IT = "제보 양식에서 추가할 수 있습니다"
TOO_SHORT = "두 글자 이상 입력하세요."


def _search_world():
    d = b.dong()
    for i, name in enumerate(("김영희", "김철수", "박순자")):
        b.household(d, road=f"경기도 의정부시 송산로 {200 + i}", unit="1층", tong=3, name=name,
                    phone=f"0101234{8424 + i}")
    officer = b.user("honorary", [d])
    cw = b.user("caseworker", [d])
    db.session.commit()
    return d, officer, cw


def test_a_reporters_search_too_short_to_run_says_type_more_not_add_it(app, client):
    d, officer, cw = _search_world()
    b.login(client, officer)
    for q in ("김", " 김 ", "ㄱ", "1"):
        page = client.get("/report", query_string={"q": q}).get_data(as_text=True)
        assert TOO_SHORT in page and ADD_IT not in page and "찾은 가구가 없습니다" not in page, q
        assert 'value="' + q.strip() in page or f'value="{q}"' in page
    # Two characters are searched: found, or "not found, you can add it" as before.
    assert "김영희" in client.get("/report?q=김영").get_data(as_text=True)
    page = client.get("/report?q=호국로 9").get_data(as_text=True)
    assert ADD_IT in page and TOO_SHORT not in page


def test_a_reporters_search_by_a_phones_last_four_digits_says_to_type_the_whole_number(app, client):
    d, officer, cw = _search_world()
    b.login(client, officer)
    for q in ("8424", "84-24"):
        page = client.get("/report", query_string={"q": q}).get_data(as_text=True)
        assert "전화번호 끝 네 자리로는 찾을 수 없습니다" in page and ADD_IT not in page, q
        assert "김영희" not in page
    # The whole number finds the household, as before.
    assert "김영희" in client.get("/report?q=010-1234-8424").get_data(as_text=True)


def test_caseworkers_find_a_household_by_a_phones_last_four_digits(app, client):
    d, officer, cw = _search_world()
    h = db.session.scalar(select(b.Household).where(b.Household.name == "김영희"))
    b.login(client, cw)
    for q in ("8424", "84-24", " 8424 "):
        page = client.get("/households/", query_string={"q": q}).get_data(as_text=True)
        assert f'/households/{h.id}"' in page and "김철수" not in page, q
    # One character is searched for staff (no minimum there): every 김.
    page = client.get("/households/?q=김").get_data(as_text=True)
    assert "김영희" in page and "김철수" in page and "박순자" not in page
    # The concern page's "link a household" search finds it the same way.
    from volnet.observations.models import Observation
    from volnet.observations.services import submit

    obs, _ = submit(Observation(dong_id=d.id, household_id=None, urgency="routine", signals=["mail_piling"],
                                location_text="송산로 어딘가"), cw)
    db.session.commit()
    page = client.get(f"/concerns/{obs.concern_id}?hq=8424").get_data(as_text=True)
    assert f'name="household_id" value="{h.id}"' in page


# --- F8. the citizen report's limit per connection -------------------------------------------------------------

def _citizen_post(app, client, dong, **extra):
    import time

    from itsdangerous import URLSafeTimedSerializer

    started = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="citizen-report").dumps(int(time.time()) - 60)
    data = {"dong_id": dong.id, "location_text": "호원2동 ○○빌라 뒤 2층", "signals": ["smell_insects"],
            "urgency": "routine", "subject_sex": "m", "subject_age_band": "60s", "started": started}
    data.update(extra)
    return client.post("/report-a-neighbour", data=data, environ_base={"REMOTE_ADDR": "10.9.8.7"})


def _citizen_reports() -> int:
    from volnet.observations.models import Observation

    return db.session.scalar(select(func.count()).select_from(Observation))


def test_ten_citizen_reports_an_hour_by_default_and_the_refused_one_is_kept_with_when_to_send_it(app, client):
    from volnet.settings import services as settings

    assert settings.DEFAULTS["public_report.per_hour"] == 10
    d = b.dong(name="송산3동")
    db.session.commit()
    start = clock.now()
    clock.freeze(start)
    assert _citizen_post(app, client, d, note="첫 제보").status_code == 303
    clock.advance(timedelta(minutes=5))
    for i in range(9):
        assert _citizen_post(app, client, d, note=f"{i + 2}번째 제보").status_code == 303, i
    clock.advance(timedelta(minutes=15))  # 20 minutes after the first: it leaves the hour in 40
    r = _citizen_post(app, client, d, note="문 앞에 우유가 쌓여 있어요", contact="010-2222-3333")
    page = r.get_data(as_text=True)
    assert r.status_code == 429 and _citizen_reports() == 10
    assert "이 제보는 아직 보내지 않았습니다" in page and "40분 뒤에 다시 보내 주세요" in page
    # The form again, with what was typed, ready to send.
    assert "문 앞에 우유가 쌓여 있어요</textarea>" in page and 'value="호원2동 ○○빌라 뒤 2층"' in page
    assert 'value="010-2222-3333"' in page and 'action' not in page.split('<form method="post"')[1][:5]
    assert re.search(r'<input[^>]*checked[^>]*value="smell_insects"|<input[^>]*value="smell_insects"[^>]*checked',
                     page)
    assert 'href="tel:119"' in page and 'href="tel:112"' in page and "129" in page  # the emergency numbers stay
    # Past the time it says, the same form goes through.
    clock.advance(timedelta(minutes=40, seconds=1))
    assert _citizen_post(app, client, d, note="문 앞에 우유가 쌓여 있어요").status_code == 303
    assert _citizen_reports() == 11


def test_reports_refused_for_mistakes_do_not_count_but_spam_does(app, client):
    d = b.dong(name="송산3동")
    db.session.commit()
    clock.freeze(clock.now())
    for _ in range(12):  # nothing described, no place: refused, and not counted
        assert _citizen_post(app, client, d, location_text=" ", signals=[], note="").status_code == 400
    assert _citizen_post(app, client, d, note="진짜 제보").status_code == 303
    for _ in range(9):  # the hidden field filled in (a bot): refused, and counted
        assert _citizen_post(app, client, d, note="광고", website="http://spam.example").status_code == 400
    r = _citizen_post(app, client, d, note="두 번째 진짜 제보")
    assert r.status_code == 429 and _citizen_reports() == 1


# --- F6. the citizen form's dong, and moving a concern to another dong ----------------------------------------

def test_the_citizen_form_has_no_dong_chosen_in_advance(app, client):
    b.dong(name="송산3동")
    b.dong(name="호원2동")
    db.session.commit()
    page = client.get("/report-a-neighbour").get_data(as_text=True)
    dongs = _select(page, "dong_id")
    first = re.search(r"<option[^>]*>[^<]*</option>", dongs).group(0)
    assert 'value=""' in first and "선택하세요" in first and "selected" in first
    assert dongs.count("selected") == 1
    assert "어느 동인지 잘 모르겠다면 가장 가까운 동을 고르세요. 행정복지센터에서 맞는 동으로 전달합니다." in page
    r = _citizen_post(app, client, b.Dong(id=0), dong_id="")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "동을 고르세요." in page and "제시된 항목 중에서" not in page
    assert "호원2동 ○○빌라 뒤 2층" in page and _citizen_reports() == 0


def _move_world():
    from volnet.observations.models import Observation
    from volnet.observations.services import submit

    here = b.dong(name="송산3동")
    there = b.dong(name="호원2동")
    closed = b.dong(name="폐지된동")
    closed.active = False
    cw = b.user("caseworker", [here], name="김민수")
    lead = b.user("team_lead", [here], name="박팀장")
    nurse = b.user("nurse", [here])
    cw_there = b.user("caseworker", [there], name="이서연")
    cw_there2 = b.user("caseworker", [there], name="최하늘")
    lead_there = b.user("team_lead", [there])
    obs, _ = submit(Observation(dong_id=here.id, household_id=None, source="citizen", urgency="urgent",
                                signals=["smell_insects"], location_text="호원2동 ○○빌라 뒤 2층",
                                note="냄새가 심해요"), None)
    db.session.commit()
    return {"here": here, "there": there, "closed": closed, "cw": cw, "lead": lead, "nurse": nurse,
            "cw_there": cw_there, "cw_there2": cw_there2, "lead_there": lead_there, "concern_id": obs.concern_id,
            "obs_id": obs.id}


def test_a_caseworker_moves_an_unlinked_concern_to_another_dong(app, client):
    from volnet.audit.models import AuditLog
    from volnet.concerns import services as concern_services
    from volnet.concerns.models import Concern, ConcernEvent
    from volnet.notifications.models import Outbox
    from volnet.observations.models import Observation

    w = _move_world()
    cid = w["concern_id"]
    clock.freeze(clock.now())
    concern = db.session.get(Concern, cid)
    concern_services.acknowledge(concern, w["cw"])  # looked at here first: owner 김민수
    db.session.commit()
    b.login(client, w["cw"])
    page = client.get(f"/concerns/{cid}").get_data(as_text=True)
    assert "다른 동으로 보내기" in page
    targets = _select(page, "dong_id")
    assert "호원2동" in targets and "송산3동" not in targets and "폐지된동" not in targets
    assert 'value=""' in re.search(r"<option[^>]*>", targets).group(0)
    # A reason is required, and a dong: refused with what was typed kept.
    r = client.post(f"/concerns/{cid}/move", data={"dong_id": w["there"].id, "reason": " "})
    assert r.status_code == 400 and "다른 동으로 보내는 이유를 적어 주세요." in r.get_data(as_text=True)
    r = client.post(f"/concerns/{cid}/move", data={"dong_id": "", "reason": "장소가 호원2동"})
    assert r.status_code == 400 and "장소가 호원2동" in r.get_data(as_text=True)
    for bad in (w["here"].id, w["closed"].id, 999999):
        r = client.post(f"/concerns/{cid}/move", data={"dong_id": bad, "reason": "장소가 호원2동"})
        assert r.status_code == 400, bad
    db.session.expire_all()
    assert db.session.get(Concern, cid).dong_id == w["here"].id
    clock.advance(timedelta(minutes=20))
    r = client.post(f"/concerns/{cid}/move", data={"dong_id": w["there"].id, "reason": "제보 위치가 호원2동입니다"})
    assert r.status_code == 302 and r.headers["Location"] == "/concerns/"
    page = client.get("/concerns/").get_data(as_text=True)
    assert "호원2동" in page and f'href="/concerns/{cid}"' not in page
    db.session.expire_all()
    c = db.session.get(Concern, cid)
    # In the other dong's queue as new: nobody's, due times from now, its report and timeline with it.
    assert c.dong_id == w["there"].id and c.status == "new" and c.owner_id is None and c.is_open
    assert c.acknowledged_at is None and c.first_action_at is None and c.household_id is None
    assert c.ack_due_at > clock.now() and c.next_due_at == c.ack_due_at
    assert db.session.get(Observation, w["obs_id"]).dong_id == w["there"].id
    kinds = [e.kind for e in db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == cid)
                                                .order_by(ConcernEvent.id))]
    assert kinds[:2] == ["opened", "observation"] and kinds[-1] == "moved_dong" and "acknowledged" in kinds
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "move")).all()
    assert [(a.actor_id, a.subject_type, a.subject_id) for a in audit] == [(w["cw"].id, "concern", str(cid))]
    assert "제보 위치" not in audit[0].detail  # the reason is in the timeline, not the audit log
    # The caseworkers of the other dong hear of it as of a new report; nobody else does.
    told = {o.recipient_id for o in db.session.scalars(select(Outbox).where(Outbox.channel == "inapp"))}
    assert told == {w["cw_there"].id, w["cw_there2"].id}
    inbox = db.session.scalars(select(Outbox).where(Outbox.recipient_id == w["cw_there"].id,
                                                    Outbox.channel == "inapp")).one()
    assert inbox.link == f"/concerns/{cid}" and "호원2동" in inbox.subject and "송산3동" in inbox.body
    assert "긴급" in inbox.body and "냄새" not in inbox.body and "제보 위치" not in inbox.body
    # This dong's staff no longer see it; the other dong's do, with its history and the reason.
    assert client.get(f"/concerns/{cid}").status_code == 404
    lead = app.test_client()
    b.login(lead, w["lead"])
    assert lead.get(f"/concerns/{cid}").status_code == 404
    other = app.test_client()
    b.login(other, w["cw_there"])
    page = other.get(f"/concerns/{cid}").get_data(as_text=True)
    assert "냄새가 심해요" in page and "제보 위치가 호원2동입니다" in page
    assert "다른 동으로 보냄: 송산3동 → 호원2동" in page
    assert f'href="/concerns/{cid}"' in other.get("/concerns/?status=new").get_data(as_text=True)
    # The admin's audit search names the action.
    admin = app.test_client()
    b.login(admin, b.user("admin"))
    db.session.commit()
    assert "다른 동으로 보냄" in admin.get("/admin/audit?action=move").get_data(as_text=True)


def test_only_staff_of_the_concerns_dong_may_move_it_and_only_while_no_household_is_linked(app, client):
    from volnet.concerns.models import Concern

    w = _move_world()
    cid = w["concern_id"]
    data = {"dong_id": w["there"].id, "reason": "장소가 호원2동"}
    for who in ("cw_there", "lead_there", "nurse"):  # another dong's staff, or a role that may not
        c = app.test_client()
        b.login(c, w[who])
        assert c.post(f"/concerns/{cid}/move", data=data).status_code == 404, who
        if who == "nurse":
            assert "다른 동으로 보내기" not in c.get(f"/concerns/{cid}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Concern, cid).dong_id == w["here"].id
    # A team lead of the dong may; once a household is linked, the concern follows the household instead.
    h = b.household(w["here"])
    concern = db.session.get(Concern, cid)
    from volnet.concerns import services as concern_services

    concern_services.link_household(concern, h, w["cw"])
    db.session.commit()
    b.login(client, w["lead"])
    assert "다른 동으로 보내기" not in client.get(f"/concerns/{cid}").get_data(as_text=True)
    r = client.post(f"/concerns/{cid}/move", data=data, follow_redirects=True)
    assert "가구가 연결되지 않은 건만 다른 동으로 보낼 수 있습니다" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Concern, cid).dong_id == w["here"].id


def test_a_team_lead_moves_an_emergency_and_the_other_dong_is_alerted_at_once(app, client):
    from volnet.concerns.models import Concern
    from volnet.notifications.models import Outbox

    w = _move_world()
    cid = w["concern_id"]
    concern = db.session.get(Concern, cid)
    from volnet.concerns import services as concern_services

    concern_services.set_urgency(concern, "emergency")
    db.session.commit()
    b.login(client, w["lead"])
    r = client.post(f"/concerns/{cid}/move", data={"dong_id": w["there"].id, "reason": "호원2동 주소"})
    assert r.status_code == 302
    rows = db.session.scalars(select(Outbox).where(Outbox.channel == "inapp")).all()
    assert {o.recipient_id for o in rows} == {w["cw_there"].id, w["cw_there2"].id}
    assert all(o.urgent for o in rows) and all("응급" in o.body for o in rows)
    # Moved back and forth, each move is told again.
    other = app.test_client()
    b.login(other, w["cw_there"])
    assert other.post(f"/concerns/{cid}/move", data={"dong_id": w["here"].id, "reason": "다시 확인하니 송산3동"}
                      ).status_code == 302
    assert client.post(f"/concerns/{cid}/move", data={"dong_id": w["there"].id, "reason": "아니었음"}
                       ).status_code == 302
    rows = db.session.scalars(select(Outbox).where(Outbox.channel == "inapp",
                                                   Outbox.recipient_id == w["cw_there"].id)).all()
    assert len(rows) == 2
