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
