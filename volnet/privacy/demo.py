"""Demo data for privacy: last month's access log with a few unusual reads for the team lead's monthly
review, an earlier review already recorded, and one handled access request."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from volnet.audit.models import AuditLog, AuditReview
from volnet.core import clock
from volnet.extensions import db
from volnet.privacy.models import PrivacyRequest


def _seoul(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=clock.SEOUL).astimezone(UTC)


def build(context) -> None:
    users = context["users"]
    households = context["households"]
    rng = context["rng"]
    cw, cw2, lead, admin = users.get("caseworker"), users.get("caseworker2"), users.get("teamlead"), users.get("admin")
    if not (cw and lead and households):
        return
    today = clock.now().astimezone(clock.SEOUL).date()
    last_month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    rows = []
    # ordinary daytime reads through last month
    for i in range(60):
        day = last_month_start + timedelta(days=rng.randint(0, 27))
        h = rng.choice(households)
        who = cw if i % 3 else (cw2 or cw)
        rows.append(AuditLog(actor_id=who.id, action="view", subject_type="households", subject_id=str(h.id),
                             ip="10.10.1.23", at=_seoul(day, rng.randint(9, 17), rng.randint(0, 59))))
    # a late-night read (an emergency call-out, or not?) and a burst of reads in one afternoon
    night = last_month_start + timedelta(days=11)
    rows.append(AuditLog(actor_id=cw.id, action="view", subject_type="households",
                         subject_id=str(households[0].id), ip="10.10.1.23", at=_seoul(night, 23, 40)))
    burst = last_month_start + timedelta(days=17)
    for n, h in enumerate(households[:60]):
        rows.append(AuditLog(actor_id=(cw2 or cw).id, action="view", subject_type="households", subject_id=str(h.id),
                             ip="10.10.1.57", at=_seoul(burst, 14, 0) + timedelta(seconds=40 * n)))
    rows.append(AuditLog(actor_id=cw.id, action="denied", subject_type="households", subject_id="999999",
                         ip="10.10.1.23", at=_seoul(burst, 15, 5)))
    db.session.add_all(rows)
    two_months_ago = (last_month_start - timedelta(days=1)).strftime("%Y-%m")
    db.session.add(AuditReview(reviewer_id=lead.id, month=two_months_ago, findings=1,
                               done_at=clock.now() - timedelta(days=20),
                               note="야간 열람 1건: 119 출동 요청 건으로 확인, 이상 없음"))
    if admin is not None:
        db.session.add(PrivacyRequest(kind="access", household_id=households[1].id, handled_by_id=admin.id,
                                      reason="본인이 행정복지센터 방문, 신분증 확인 후 열람 요구",
                                      at=clock.now() - timedelta(days=9)))
    db.session.flush()
